"""The checker is tested too: wrong backwards must fail it, with a message that says where."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.autograd import wrap
from tinygrad_reg.testing import GradcheckError, gradcheck, gradgradcheck
from tinygrad_reg.testing import strategies as S


def t64(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


class Square(tg.Function):
    """x², right in every way."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * 2.0


class SquareHalfGrad(tg.Function):
    """x² with a backward off by a factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


class DoubleFlipped(tg.Function):
    """2x, whose backward reverses the gradient's elements: right for an all-ones upstream
    gradient (what `.sum()` would give), wrong for any other."""

    @staticmethod
    def forward(ctx, x):
        return 2.0 * x

    @staticmethod
    def backward(ctx, grad):
        return grad[::-1] * 2.0


class SquareOnce(tg.Function):
    """x² with a numpy backward: right once, not differentiable again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2.0 * grad.numpy() * x.numpy()


class SquareDetachedX(tg.Function):
    """x² whose backward treats x as a constant: first derivative right, second zero."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * wrap(2.0 * x.numpy())


class SquareDetachedGrad(tg.Function):
    """x² whose backward cuts the upstream gradient off the graph: d/dv of the VJP is lost."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return wrap(grad.numpy()) * x * 2.0


class MulWrongB(tg.Function):
    """a·b with b's gradient wrong at one element only."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        bump = np.zeros(a.shape)
        bump[1, 2] = 0.5
        return grad * b, grad * a + wrap(bump)


# -- passing --------------------------------------------------------------------------------

def test_correct_op_passes_both_checks():
    x = t64(rand(3, 4))
    assert gradcheck(Square.apply, [x]) is True
    assert gradgradcheck(Square.apply, [x]) is True


def test_checks_several_inputs_and_outputs_and_constants():
    a, b = t64(rand(2, 3)), t64(rand(3, seed=1))
    mask = tg.Tensor(np.array([True, False, True]))  # a non-float input passes through

    def fn(x, y, m):
        return tg.where(m, x * y, x.exp()), (x @ y.reshape(3, 1)).tanh()

    assert gradcheck(fn, [a, b, mask])
    assert gradgradcheck(fn, [a, b, mask])


def test_unused_input_has_zero_gradient_and_passes():
    x, y = t64(rand(3)), t64(rand(3, seed=1))
    assert gradcheck(lambda a, b: a * 2.0, [x, y])
    assert gradgradcheck(lambda a, b: a * a, [x, y])


def test_does_not_touch_inputs_or_their_grad():
    data = rand(2, 3)
    x = t64(data.copy())
    gradcheck(Square.apply, [x])
    gradgradcheck(Square.apply, [x])
    np.testing.assert_array_equal(x.numpy(), data)
    assert x.grad is None


def test_a_single_tensor_is_accepted_as_inputs():
    assert gradcheck(tg.tanh, t64(rand(3)))


# -- failing --------------------------------------------------------------------------------

def test_wrong_backward_fails_with_location_values_and_tolerances():
    x = t64(rand(3, 4))
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareHalfGrad.apply, [x])
    err = info.value
    assert isinstance(err, AssertionError)
    assert err.input_index == 0 and err.atol == 1e-5 and err.rtol == 1e-3
    i = err.index
    assert len(i) == 2
    # the numeric value is the true derivative 2x·v, the analytic one x·v: half of it
    assert err.analytic == pytest.approx(err.numeric / 2, rel=1e-6)
    msg = str(err)
    for part in ("gradcheck", "input 0", "shape (3, 4)", f"index {i}", repr(err.analytic),
                 "atol 1e-05", "rtol 0.001", "analytic:", "numeric:"):
        assert part in msg, part


def test_worst_element_and_input_are_the_wrong_ones():
    a, b = t64(rand(2, 3)), t64(rand(2, 3, seed=1))
    with pytest.raises(GradcheckError) as info:
        gradcheck(MulWrongB.apply, [a, b])
    assert info.value.input_index == 1
    assert info.value.index == (1, 2)
    assert info.value.analytic - info.value.numeric == pytest.approx(0.5, abs=1e-6)
    assert "1 of 6 elements" in str(info.value)


def test_random_upstream_gradient_catches_what_sum_would_miss():
    x = t64(rand(5))
    # with an all-ones upstream gradient the flipped backward is right:
    (g,) = tg.grad(DoubleFlipped.apply(x), [x], tg.Tensor(np.ones(5)))
    np.testing.assert_array_equal(g.numpy(), np.full(5, 2.0))
    with pytest.raises(GradcheckError):
        gradcheck(DoubleFlipped.apply, [x])


def test_detached_output_fails():
    x = t64(rand(3))
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: tg.Tensor(a.numpy() * 2.0), [x])
    assert info.value.analytic == 0.0 and abs(info.value.numeric) > 1e-3


def test_gradcheck_result_does_not_depend_on_seed_for_a_right_op():
    x = t64(rand(4))
    assert all(gradcheck(tg.sigmoid, [x], seed=s) for s in range(3))


def test_once_differentiable_backward_fails_gradgradcheck_naming_the_op():
    x = t64(rand(3))
    assert gradcheck(SquareOnce.apply, [x])
    with pytest.raises(RuntimeError, match="SquareOnce.*once-differentiable"):
        gradgradcheck(SquareOnce.apply, [x])


def test_second_derivative_through_a_detached_saved_value_fails():
    x = t64(rand(3))
    assert gradcheck(SquareDetachedX.apply, [x])
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(SquareDetachedX.apply, [x])
    assert info.value.input_index == 0
    assert "gradgradcheck" in str(info.value) and "second derivative" in str(info.value)


def test_second_derivative_wrt_upstream_gradient_is_checked():
    x = t64(rand(3))
    assert gradcheck(SquareDetachedGrad.apply, [x])
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(SquareDetachedGrad.apply, [x])
    assert info.value.input_index == 1  # past the inputs: the upstream gradient of output 0
    assert "upstream gradient of output 0" in str(info.value)


def test_fn_that_mutates_its_input_is_reported():
    def bad(x):
        x.data[0] += 1.0
        return x * 2.0

    with pytest.raises(GradcheckError, match="in place"):
        gradcheck(bad, [t64(rand(3))])


# -- dtypes and arguments -------------------------------------------------------------------

def test_float32_input_is_refused_with_a_clear_type_error():
    x = tg.Tensor(rand(3).astype(np.float32), requires_grad=True)
    with pytest.raises(TypeError, match=r"gradcheck: input 0 has dtype float32.*float64"):
        gradcheck(tg.tanh, [x])
    with pytest.raises(TypeError, match=r"gradgradcheck: input 0 has dtype float32"):
        gradgradcheck(tg.tanh, [x])


def test_float32_output_is_refused():
    x = t64(rand(3))
    with pytest.raises(TypeError, match=r"output 0 has dtype float32"):
        gradcheck(lambda a: a.astype(np.float32), [x])


def test_float32_constant_input_is_passed_through():
    x, c = t64(rand(3)), tg.Tensor(rand(3, seed=1).astype(np.float32))
    assert gradcheck(lambda a, b: a * b.astype(np.float64), [x, c])


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(tg.tanh, [t64(rand(3), grad=False)])


def test_fn_must_return_tensors():
    with pytest.raises(TypeError, match="output 0 is a ndarray"):
        gradcheck(lambda a: a.numpy(), [t64(rand(3))])


# -- strategies -----------------------------------------------------------------------------

def test_import_tinygrad_reg_does_not_import_hypothesis():
    code = ("import sys, tinygrad_reg as tg; tg.testing.gradcheck; "
            "assert 'hypothesis' not in sys.modules, 'hypothesis imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@given(st.data())
def test_strategies_keep_their_margins(data):
    shape = data.draw(S.shapes())
    assert len(shape) <= 3 and all(1 <= n <= 3 for n in shape)
    x = data.draw(S.nonzero_arrays(shape, margin=0.2, high=2.0))
    assert x.dtype == np.float64 and x.shape == shape
    assert np.all((np.abs(x) >= 0.2) & (np.abs(x) <= 2.0))
    y = data.draw(S.arrays(shape, S.away_from([-1.0, 0.5], margin=0.1)))
    tol = 1e-12  # interval ends such as 0.5 - 0.1 are rounded
    assert np.all((np.abs(y + 1.0) >= 0.1 - tol) & (np.abs(y - 0.5) >= 0.1 - tol))
    assert np.all((y >= -3.0) & (y <= 3.0))
    z = data.draw(S.distinct_arrays(shape, gap=0.05)).ravel()
    gaps = np.abs(z[:, None] - z[None, :]) + np.eye(z.size)
    assert np.all(gaps >= 0.05 - 1e-12)
    assert np.all(data.draw(S.positive_arrays(shape, 0.5, 3.0)) >= 0.5)


@given(S.broadcastable_shapes(2).flatmap(lambda s: st.tuples(
    S.lattice_arrays(s[0], (0.0, 0.3)), S.lattice_arrays(s[1], (0.5, 0.8)))))
def test_lattice_arrays_with_disjoint_phases_never_tie(pair):
    a, b = pair
    assert np.all(np.abs(a - b) >= 0.2 - 1e-12)  # broadcasting pairs every combination


def test_strategies_reject_impossible_requests():
    with pytest.raises(ValueError):
        S.nonzero(margin=0.0)
    with pytest.raises(ValueError):
        S.away_from([0.0], margin=5.0, low=-1.0, high=1.0)
    with pytest.raises(ValueError):
        S.positive_arrays((2,), low=-1.0)
