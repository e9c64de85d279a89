"""Anomaly mode: the first op that makes a NaN or an infinity is named, forward or backward,
with the line of the caller's code that created it."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn

HERE = __file__


def _line_after() -> int:
    """The number of the line after the caller's."""
    return inspect.currentframe().f_back.f_lineno + 1


@pytest.fixture(autouse=True)
def _quiet_numpy():
    # the ops under test divide by zero on purpose; numpy's warnings are noise here
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        yield


class LogModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        h = self.fc(x).relu()
        self.line = _line_after()
        return tg.log(h).sum()


def _dead_relu_model() -> LogModel:
    model = LogModel()
    with tg.no_grad():
        model.fc.weight.data[...] = -1.0  # relu(...) = 0 for positive inputs: log(0) = -inf
        model.fc.bias.data[...] = 0.0
    return model


def test_forward_log_of_zero_in_a_model_names_op_and_line():
    model = _dead_relu_model()
    x = tg.Tensor(np.ones((4, 3), dtype=np.float32))
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        model(x)
    msg = str(info.value)
    assert msg.startswith("Log produced -inf at 8 of 8 elements of its output (shape (4, 2))")
    assert "input 0 = 0.0" in msg
    assert "input shapes: (4, 2)" in msg
    assert f'File "{HERE}", line {model.line}, in forward' in msg
    assert "return tg.log(h).sum()" in msg


def test_outside_the_mode_the_same_model_runs_and_records_no_site():
    model = _dead_relu_model()
    loss = model(tg.Tensor(np.ones((4, 3), dtype=np.float32)))
    assert loss.item() == -np.inf
    assert "_site" not in loss.grad_fn.__dict__
    assert not tg.is_anomaly_enabled()


def test_forward_message_names_attributes_and_every_input_shape():
    x = tg.Tensor(np.array([[1.0, 0.0, 2.0]]), requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        line = _line_after()
        x ** -1
    msg = str(info.value)
    assert msg.startswith("Pow produced inf at 1 of 3 elements of its output (shape (1, 3)), "
                          "first at index (0, 1) (there: input 0 = 0.0)")
    assert "attributes: exponent=-1" in msg
    assert f"line {line}" in msg


def test_forward_nan_from_two_broadcast_inputs():
    a = tg.Tensor(np.zeros((2, 1)), requires_grad=True)
    b = tg.Tensor(np.array([0.0, 1.0, 2.0]))
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        a / b
    msg = str(info.value)
    assert msg.startswith("Div produced nan at 2 of 6 elements of its output (shape (2, 3)), "
                          "first at index (0, 0) (there: input 0 = 0.0, input 1 = 0.0)")
    assert "input shapes: (2, 1), (3,)" in msg


def test_forward_is_checked_under_no_grad_too():
    with tg.detect_anomaly(), tg.no_grad(), pytest.raises(FloatingPointError, match="^Log "):
        tg.log(tg.Tensor([0.0, 1.0]))


def test_a_non_finite_input_is_said_to_come_from_upstream():
    x = tg.Tensor(np.array([np.nan, 1.0]), requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        x * 2.0
    assert "Input 0 already held non-finite values" in str(info.value)


def test_backward_only_nan_sqrt_at_zero_is_reported_on_the_backward_side():
    y = tg.Tensor(np.array([0.0, 1.0, 4.0]), requires_grad=True)
    with tg.detect_anomaly():
        line = _line_after()
        z = tg.sqrt(y)                   # sqrt(0) = 0: forward is fine
        loss = (z * 2.0).sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    msg = str(info.value)
    assert msg.startswith("Sqrt.backward produced inf at 1 of 3 elements of the gradient for "
                          "its input 0 (shape (3,)), first at index (0,) (there: input 0 = 0.0)")
    assert "the gradient arriving at its output was finite" in msg
    assert f'File "{HERE}", line {line}, in ' in msg
    assert "z = tg.sqrt(y)" in msg


def test_backward_only_nan_goes_unnoticed_outside_the_mode():
    y = tg.Tensor(np.array([0.0, 1.0, 4.0]), requires_grad=True)
    (tg.sqrt(y) * 2.0).sum().backward()
    assert y.grad.numpy()[0] == np.inf


def test_backward_nan_through_tg_grad_names_the_op():
    y = tg.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with tg.detect_anomaly():
        out = tg.sqrt(y).sum()
        with pytest.raises(FloatingPointError, match=r"^Sqrt\.backward produced inf"):
            tg.grad(out, y)


def test_an_op_made_by_a_backward_is_traced_to_the_op_whose_backward_made_it():
    x = tg.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with tg.detect_anomaly():
        forward_line = _line_after()
        z = x ** 1.5                     # d/dx = 1.5·x^0.5 (a Pow made in backward), fine at 0
        grad_line = _line_after()
        (g,) = tg.grad(z.sum(), x, create_graph=True)
        np.testing.assert_array_equal(g.numpy(), [0.0, 1.5])
        with pytest.raises(FloatingPointError) as info:
            g.sum().backward()           # d²/dx² = 0.75·x^-0.5: inf at 0
    msg = str(info.value)
    assert msg.startswith("Pow.backward produced inf")
    assert "attributes: exponent=0.5" in msg
    assert f"line {grad_line}" in msg
    assert "during the backward of Pow, which was created at:" in msg
    assert f"line {forward_line}" in msg


def test_a_non_finite_root_gradient_is_reported():
    y = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with tg.detect_anomaly():
        z = y * 3.0
        with pytest.raises(FloatingPointError) as info:
            z.backward(tg.Tensor([1.0, np.nan]))
    assert str(info.value) == ("backward: the gradient given for output 0 holds nan at 1 of 2 "
                               "elements, first at index (1,)")


def test_gradients_that_sum_to_an_overflow_are_reported_where_they_meet():
    y = tg.Tensor(np.array([1e-300, 2e-300]), requires_grad=True)
    with tg.detect_anomaly():
        line = _line_after()
        z = y * 1.0
        # two finite branches, each sending z a gradient of 1e308: their sum overflows
        loss = (z * 1e308).sum() + (z * 1e308).sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    msg = str(info.value)
    assert msg.startswith("the gradient arriving at the output of Mul (shape (2,)) holds inf "
                          "at 2 of 2 elements")
    assert f"line {line}" in msg


def test_an_overflowing_sum_under_create_graph_is_reported_the_same_way():
    # the engine's own sum of gradients is then an Add op; it must not be reported as a
    # forward op of the user's code, but where the gradients meet, as without create_graph
    y = tg.Tensor(np.array([1e-300, 2e-300]), requires_grad=True)
    with tg.detect_anomaly():
        line = _line_after()
        z = y * 1.0
        loss = (z * 1e308).sum() + (z * 1e308).sum()
        with pytest.raises(FloatingPointError) as info:
            tg.grad(loss, y, create_graph=True)
    msg = str(info.value)
    assert msg.startswith("the gradient arriving at the output of Mul (shape (2,)) holds inf "
                          "at 2 of 2 elements")
    assert f"line {line}" in msg


class BadSquare(tg.Function):
    """x², with a numpy backward that is wrong (inf) where x = 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x = ctx.inputs[0].numpy()
        with np.errstate(divide="ignore"):
            return grad.numpy() * 2.0 * x / (x != 1.0)


class NaNMaker(tg.Function):
    @staticmethod
    def forward(ctx, x, fill):
        return np.full_like(x, fill)

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_a_users_own_ops_are_named_forward_and_backward():
    x = tg.Tensor(np.array([2.0, 1.0]), requires_grad=True)
    with tg.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            NaNMaker.apply(x, fill=np.nan)
        assert str(info.value).startswith("NaNMaker produced nan")
        assert "attributes: fill=nan" in str(info.value)
        y = BadSquare.apply(x)
        with pytest.raises(FloatingPointError, match=r"^BadSquare\.backward produced inf at 1 "
                                                     r"of 2 elements.*index \(1,\)"):
            y.sum().backward()


def test_a_graph_built_before_the_mode_says_no_site_was_recorded():
    y = tg.Tensor(np.array([0.0]), requires_grad=True)
    z = tg.sqrt(y).sum()
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        z.backward()
    assert "(not recorded: the op was created while anomaly mode was off)" in str(info.value)


def test_a_whole_training_step_is_unchanged_by_the_mode():
    def step(anomaly: bool) -> list[np.ndarray]:
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1))
        x = tg.Tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4))
        y = tg.Tensor(np.array([[0.0], [1.0], [1.0], [0.0], [1.0]], dtype=np.float32))
        with tg.set_grad_enabled(True):
            tg.set_anomaly_enabled(anomaly)
            try:
                loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
                loss = loss + tg.regularization.l2_penalty(model.parameters(), 0.1)
                loss.backward()
            finally:
                tg.set_anomaly_enabled(False)
        return [p.grad.numpy() for p in model.parameters()]

    for plain, checked in zip(step(False), step(True), strict=True):
        np.testing.assert_array_equal(plain, checked)


def test_mode_switches_nest_and_restore():
    assert not tg.is_anomaly_enabled()
    with tg.detect_anomaly():
        assert tg.is_anomaly_enabled()
        tg.set_anomaly_enabled(False)
        assert not tg.is_anomaly_enabled()
        with tg.detect_anomaly():
            assert tg.is_anomaly_enabled()
        assert not tg.is_anomaly_enabled()
    assert not tg.is_anomaly_enabled()
    with pytest.raises(KeyError), tg.detect_anomaly():
        raise KeyError("an error inside the block")
    assert not tg.is_anomaly_enabled()
    tg.set_anomaly_enabled(True)
    try:
        assert tg.is_anomaly_enabled()
    finally:
        tg.set_anomaly_enabled(False)


def test_as_a_decorator():
    @tg.detect_anomaly()
    def f(x):
        assert tg.is_anomaly_enabled()
        return tg.log(x)

    with pytest.raises(FloatingPointError, match="^Log produced -inf"):
        f(tg.Tensor([0.0]))
    assert not tg.is_anomaly_enabled()


def test_a_masked_away_infinity_is_reported_and_the_safe_form_is_not():
    # docs/debugging.md: where(x > 0, log(x), 0) stops in anomaly mode (and its gradient at
    # 0 is NaN anyway); log(where(x > 0, x, 1)) passes, with gradient 0 there
    x = tg.Tensor(np.array([0.0, 2.0]), requires_grad=True)
    tg.where(x > 0, tg.log(x), 0.0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])
    x.grad = None
    with tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match="^Log produced -inf"):
            tg.where(x > 0, tg.log(x), 0.0)
        tg.log(tg.where(x > 0, x, 1.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5])
