"""Property tests for the fused recurrent steps (LSTMStep, GRUStep, RNNStep), each through the
public ``tg.testing.check_op`` against a numpy reference written from PyTorch's equations:
values, first derivatives (the fused numpy kernel of a plain backward) and second derivatives
(the Tensor-op form a recorded backward uses), with and without biases, in float64, plus the
float32 contract. Exact tests pin the conventions: relu'(0) = 0, an LSTM input given as a
state (2, N, I) reads its h and gets no gradient on its c."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.ops.recurrent import (
    GRUStep,
    LSTMLayer,
    LSTMStep,
    RNNStep,
    ZeroState,
    gru_step,
    lstm_layer,
    lstm_step,
    rnn_step,
)
from tinygrad_reg.testing import check_op
from tinygrad_reg.testing import strategies as S


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _lin(x, w, b):
    return x @ w.T + (0.0 if b is None else b)


def lstm_ref(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """PyTorch's LSTM equations, gate order (i, f, g, o)."""
    xin = x[0] if x.ndim == 3 else x
    h, c = state
    n = h.shape[-1]
    z = _lin(xin, w_ih, b_ih) + _lin(h, w_hh, b_hh)
    i, f, g, o = _sig(z[:, :n]), _sig(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), _sig(z[:, 3 * n:])
    c2 = f * c + i * g
    return np.stack([o * np.tanh(c2), c2])


def gru_ref(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """PyTorch's GRU equations, gate order (r, z, n), the reset gate on W_hn h + b_hn."""
    n = h.shape[-1]
    a, b = _lin(x, w_ih, b_ih), _lin(h, w_hh, b_hh)
    r = _sig(a[:, :n] + b[:, :n])
    z = _sig(a[:, n:2 * n] + b[:, n:2 * n])
    new = np.tanh(a[:, 2 * n:] + r * b[:, 2 * n:])
    return (1.0 - z) * new + z * h


def rnn_ref(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    a = _lin(x, w_ih, b_ih) + _lin(h, w_hh, b_hh)
    return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)


@st.composite
def step_inputs(draw, gates, state_rows=1, bias=True, x_as_state=False):
    """(x, state, w_ih, w_hh[, b_ih, b_hh]) of small random sizes."""
    n, i, h = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    lead = (state_rows,) if state_rows > 1 else ()
    x = draw(S.tensors(((2,) if x_as_state else ()) + (n, i), low=-2.0, high=2.0))
    state = draw(S.tensors(lead + (n, h), low=-2.0, high=2.0))
    ws = [draw(S.tensors((gates * h, i), low=-1.5, high=1.5)),
          draw(S.tensors((gates * h, h), low=-1.5, high=1.5))]
    if bias:
        ws += [draw(S.tensors((gates * h,), low=-1.0, high=1.0)) for _ in range(2)]
    return (x, state, *ws)


@st.composite
def relu_step_inputs(draw):
    """RNNStep inputs whose pre-activations are all at least 0.2 away from relu's kink: the
    bias b_ih is chosen, per unit, to put every row of the batch on one side of 0."""
    x, h, w_ih, w_hh, b_ih, b_hh = draw(step_inputs(1))
    base = _lin(x.numpy(), w_ih.numpy(), None) + _lin(h.numpy(), w_hh.numpy(), b_hh.numpy())
    units = base.shape[1]
    sign = np.array(draw(st.lists(st.booleans(), min_size=units, max_size=units)))
    gap = np.array(draw(st.lists(st.floats(0.2, 1.5), min_size=units, max_size=units)))
    b = np.where(sign, gap - base.min(axis=0), -gap - base.max(axis=0))
    return x, h, w_ih, w_hh, tg.tensor(b, requires_grad=True), b_hh


def lstm_layer_ref(x, state, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """The steps of lstm_ref over the sequence: every step's state, (T, 2, N, H)."""
    out = np.empty((x.shape[0],) + state.shape)
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        out[t] = state = lstm_ref(x[t], state, w_ih, w_hh, b_ih, b_hh)
    return out


@st.composite
def layer_inputs(draw, bias=True):
    """(x (T, N, I), state (2, N, H), w_ih, w_hh[, b_ih, b_hh]), T from 1 to 3."""
    x, state, *ws = draw(step_inputs(4, 2, bias))
    steps = draw(st.integers(1, 3))
    seq = draw(S.tensors((steps,) + x.shape, low=-2.0, high=2.0))
    return (seq, state, *ws)


def _state_shape(*shapes):
    return shapes[1]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_lstm_step(bias):
    check_op(LSTMStep, step_inputs(4, 2, bias), ref=lstm_ref, out_shape=_state_shape)


def test_lstm_step_reading_the_state_of_the_layer_below():
    check_op(LSTMStep, step_inputs(4, 2, True, x_as_state=True), ref=lstm_ref,
             out_shape=_state_shape)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_lstm_layer(bias, reverse):
    check_op(lambda *a: LSTMLayer.apply(*a, reverse=reverse), layer_inputs(bias),
             ref=lambda *a: lstm_layer_ref(*a, reverse=reverse),
             out_shape=lambda x, s, *w: (x[0],) + s, name=f"LSTMLayer_{reverse}_{bias}")


def test_lstm_layer_is_its_steps_bit_for_bit_forward():
    rng = np.random.default_rng(3)
    args = [tg.tensor(rng.standard_normal(s)) for s in
            [(4, 3, 2), (2, 3, 5), (20, 2), (20, 5), (20,), (20,)]]
    for reverse in (False, True):
        out = lstm_layer(*args, reverse=reverse)
        state = args[1]
        for t in (range(3, -1, -1) if reverse else range(4)):
            state = lstm_step(args[0][t], state, *args[2:])
            np.testing.assert_allclose(out.numpy()[t], state.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_gru_step(bias):
    check_op(GRUStep, step_inputs(3, 1, bias), ref=gru_ref, out_shape=_state_shape)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_rnn_step_tanh(bias):
    check_op(RNNStep, step_inputs(1, 1, bias), ref=rnn_ref, out_shape=_state_shape)


def test_rnn_step_relu():
    check_op(lambda *a: RNNStep.apply(*a, nonlinearity="relu"), relu_step_inputs(),
             ref=lambda *a: rnn_ref(*a, nonlinearity="relu"), out_shape=_state_shape,
             name="RNNStep_relu")


def test_relu_step_has_zero_slope_at_the_kink():
    # relu'(0) = 0, as the relu op: a pre-activation of exactly 0 passes no gradient
    x = tg.zeros(2, 3, dtype=tg.float64, requires_grad=True)
    h = tg.zeros(2, 2, dtype=tg.float64, requires_grad=True)
    w_ih = tg.ones(2, 3, dtype=tg.float64, requires_grad=True)
    w_hh = tg.ones(2, 2, dtype=tg.float64, requires_grad=True)
    out = rnn_step(x, h, w_ih, w_hh, nonlinearity="relu")
    out.sum().backward()
    assert np.array_equal(out.numpy(), np.zeros((2, 2)))
    for t in (x, h, w_ih, w_hh):
        assert np.array_equal(t.grad.numpy(), np.zeros(t.shape))


def test_lstm_input_given_as_a_state_gets_no_gradient_on_its_c_half():
    rng = np.random.default_rng(0)
    below = tg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    state = tg.tensor(rng.standard_normal((2, 3, 5)))
    w_ih, w_hh = tg.tensor(rng.standard_normal((20, 4))), tg.tensor(rng.standard_normal((20, 5)))
    out = lstm_step(below, state, w_ih, w_hh)
    np.testing.assert_allclose(out.numpy(), lstm_ref(below.numpy()[0], state.numpy(),
                                                     w_ih.numpy(), w_hh.numpy()), rtol=1e-12)
    out.sum().backward()
    assert np.array_equal(below.grad.numpy()[1], np.zeros((3, 4)))
    assert np.abs(below.grad.numpy()[0]).min() > 0


def test_a_step_is_one_node_with_the_step_name():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = tg.tensor(rng.standard_normal((2, 4)))
    w_ih, w_hh = tg.tensor(rng.standard_normal((12, 3))), tg.tensor(rng.standard_normal((12, 4)))
    out = gru_step(x, h, w_ih, w_hh)
    assert out.grad_fn is not None and out.grad_fn.fn is GRUStep
    assert out.grad_fn.inputs[0] is x


@pytest.mark.parametrize("make, message", [
    (lambda r: lstm_step(r(3, 4), r(3, 5), r(20, 4), r(20, 5)),
     "LSTMStep: the state must have shape (2, 'N', 'H'), got (3, 5)"),
    (lambda r: gru_step(r(3, 4), r(2, 5), r(15, 4), r(15, 5)),
     "GRUStep: x must have shape (N, input_size) with N = 2 (the state's batch), got (3, 4)"),
    (lambda r: gru_step(r(3, 4), r(3, 5), r(12, 4), r(15, 5)),
     "GRUStep: w_ih must have shape (15, 4) (gates x hidden, inputs) for x (3, 4) and state "
     "(3, 5), got (12, 4)"),
    (lambda r: lstm_layer(r(3, 4), r(2, 3, 5), r(20, 4), r(20, 5)),
     "LSTMLayer: x must be a sequence (T, N, input_size), got shape (3, 4)"),
    (lambda r: lstm_layer(r(6, 3, 4), r(2, 3, 5), r(20, 4), r(16, 5)),
     "LSTMLayer: w_hh must have shape (20, 5)"),
    (lambda r: rnn_step(r(3, 4), r(3, 5), r(5, 4), r(5, 5), r(5), None),
     "RNNStep: give both biases b_ih and b_hh, or neither"),
    (lambda r: rnn_step(r(3, 4), r(3, 5), r(5, 4), r(5, 5), nonlinearity="sigmoid"),
     "RNNStep: unknown nonlinearity 'sigmoid'; use 'tanh' or 'relu'"),
])
def test_bad_step_arguments_are_refused_with_the_shapes(make, message):
    rng = np.random.default_rng(2)

    def r(*shape):
        return tg.tensor(rng.standard_normal(shape))

    with pytest.raises((ValueError, TypeError)) as err:
        make(r)
    assert message in str(err.value)


@pytest.mark.parametrize("lead,axis", [((), 0), ((2,), 1), ((3,), 0)])
def test_zero_state(lead, axis):
    # zeros lead + (N, 5) with N read from x's axis, x's dtype; no gradient reaches x
    def ref(x):
        return np.zeros(lead + (x.shape[axis], 5), dtype=x.dtype)

    check_op(lambda x: ZeroState.apply(x, lead=lead, hidden=5, axis=axis),
             S.tensors(shape=S.shapes(min_dims=2, max_dims=3)), ref=ref, out_shape=None,
             name="ZeroState")
    x = tg.ones(4, 3, 2, dtype=tg.float64, requires_grad=True)
    z = ZeroState.apply(x, lead=lead, hidden=5, axis=axis)
    assert z.shape == lead + (x.shape[axis], 5) and z.dtype == np.float64
    (z.sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 3, 2)))
