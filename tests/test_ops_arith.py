"""More elementwise arithmetic (lerp, ...): values and first and second derivatives through
``tg.testing.check_op`` against numpy, and PyTorch's values pinned where its formula
matters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


def _lerp(a, b, w):
    return a + w * (b - a)


@st.composite
def remainder_inputs(draw):
    """(a, b) with |b| in [0.5, 2] and a / b = k + f, k an integer, f in [0.1, 0.9]: away
    from the multiples of b, where remainder, fmod and the rounded quotients jump."""
    shape = draw(S.shapes())
    b = draw(S.tensors(shape, avoid=[0.0], margin=0.5, low=-2.0, high=2.0))
    q = draw(hnp.arrays(np.float64, shape, elements=st.tuples(
        st.integers(-3, 3), st.floats(0.1, 0.9)).map(lambda t: t[0] + t[1])))
    return tg.Tensor(q * b.numpy(), requires_grad=True), b


CASES = [
    case("remainder", lambda a, b: a % b, np.remainder, remainder_inputs()),
    case("fmod", tg.fmod, np.fmod, remainder_inputs()),
    case("floor_divide", lambda a, b: a // b, np.floor_divide, remainder_inputs()),
    case("div_trunc", lambda a, b: tg.div(a, b, rounding_mode="trunc"),
         lambda a, b: np.trunc(a / b), remainder_inputs()),
    case("exp2", tg.exp2, np.exp2, S.tensors()),
    case("copysign", tg.copysign, np.copysign, S.broadcastable_tensors(2, avoid=[0.0])),
    case("logaddexp", tg.logaddexp, np.logaddexp, S.broadcastable_tensors(2)),
    case("lerp", tg.lerp, _lerp, S.broadcastable_tensors(3)),
    case("lerp_number", lambda a, b, w: a.lerp(b, w), _lerp, S.broadcastable_tensors(2),
         st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0, -1.5])),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, ref_rtol=1e-9, **options)


def test_lerp_is_exact_at_both_ends():
    # PyTorch's two-branch formula: weight 1 gives end exactly, where a + w·(b - a) rounds
    a, b = tg.tensor([1e8, 0.1]), tg.tensor([1.0, 0.7])
    np.testing.assert_array_equal(a.lerp(b, 1.0).numpy(), b.numpy())
    np.testing.assert_array_equal(a.lerp(b, 0.0).numpy(), a.numpy())
    assert a.lerp(b, 0.5).dtype == np.float32


def test_integer_division_and_remainders_pin_pytorchs_values():
    # PyTorch 2.13 on a = [-4, 7, 5, 4, -7, 8, -9], b = [2, -3, 8, -2, 3, 5, -5]
    a, b = tg.tensor([-4, 7, 5, 4, -7, 8, -9]), tg.tensor([2, -3, 8, -2, 3, 5, -5])
    np.testing.assert_array_equal((a % b).numpy(), [0, -2, 5, 0, 2, 3, -4])
    np.testing.assert_array_equal(tg.fmod(a, b).numpy(), [0, 1, 5, 0, -1, 3, -4])
    np.testing.assert_array_equal((a // b).numpy(), [-2, -3, 0, -2, -3, 1, 1])
    np.testing.assert_array_equal(tg.div(a, b, rounding_mode="trunc").numpy(),
                                  [-2, -2, 0, -2, -2, 1, 1])
    for t in (a % b, a // b, tg.div(a, b, rounding_mode="floor")):
        assert t.dtype == np.int64
    np.testing.assert_array_equal((100 % a.clamp(min=1)).numpy(), [0, 2, 0, 0, 0, 4, 0])
    np.testing.assert_allclose((100.5 % a.double()).numpy(), [-3.5, 2.5, 0.5, 0.5, -4.5, 4.5,
                                                             -7.5])


def test_remainder_gradients_pin_pytorchs():
    # d/db of a % b is -floor(a / b), of fmod -trunc(a / b) (PyTorch 2.13, which gives -0.
    # where the quotient is 0)
    a = tg.tensor([-4.5, 7.25, 5.0, 4.0, -7.5], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([2.0, -3.0, 8.0, -2.5, 3.0], dtype=tg.float64, requires_grad=True)
    (a % b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones(5))
    np.testing.assert_array_equal(b.grad.numpy(), [3.0, 3.0, 0.0, 2.0, 3.0])
    a.grad = b.grad = None
    tg.fmod(a, b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0, 0.0, 1.0, 2.0])


def test_rounding_mode_errors():
    with pytest.raises(RuntimeError, match="rounding_mode must be None, 'trunc' or 'floor'"):
        tg.div(tg.tensor([5]), tg.tensor([0]), rounding_mode="typo")
    with pytest.raises(RuntimeError, match="integer division by zero"):
        tg.tensor([5]) % 0


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf / inf: nan, as PyTorch
def test_copysign_and_logaddexp_pins():
    # PyTorch 2.13: d/da copysign(a, b) is out / a, 0 at a = ±0, nan at a = ±inf; -0.0 is
    # negative; d/db = 0
    a = tg.tensor([-1.0, -0.0, 0.0, 1.0, np.inf, -np.inf, np.nan], dtype=tg.float64,
                  requires_grad=True)
    b = tg.tensor(-2.0, dtype=tg.float64, requires_grad=True)
    y = tg.copysign(a, b)
    np.testing.assert_array_equal(y.numpy(), [-1.0, -0.0, -0.0, -1.0, -np.inf, -np.inf, np.nan])
    assert np.signbit(y.numpy()[1:3]).all()
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0, 0.0, -1.0, np.nan, np.nan, np.nan])
    assert b.grad.item() == 0.0
    assert np.signbit(tg.copysign(tg.tensor([2.0]), -0.0).item())
    # logaddexp: finite where exp overflows; each operand's gradient its softmax weight
    x = tg.tensor([-100.0, 1.0, 2000.0, -np.inf], requires_grad=True)
    z = tg.tensor([-1.0, -1.0, 2.0, -np.inf], requires_grad=True)
    out = tg.logaddexp(x, z)
    np.testing.assert_allclose(out.numpy()[:3], [-1.0, 1.1269279718399048, 2000.0], rtol=1e-7)
    assert out.numpy()[3] == -np.inf
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[:3], [0.0, 0.8807970285415649, 1.0], atol=1e-7)
    assert np.isnan(x.grad.numpy()[3]) and np.isnan(z.grad.numpy()[3])


def test_value_tests_and_isclose():
    v = tg.tensor([-np.inf, 0.0, np.inf, np.nan, 1.1])
    np.testing.assert_array_equal(tg.isinf(v).numpy(), [True, False, True, False, False])
    np.testing.assert_array_equal(v.isnan().numpy(), [False, False, False, True, False])
    np.testing.assert_array_equal(v.isfinite().numpy(), [False, True, False, False, True])
    np.testing.assert_array_equal(tg.isposinf(v).numpy(), [False, False, True, False, False])
    np.testing.assert_array_equal(tg.isneginf(v).numpy(), [True, False, False, False, False])
    assert tg.isfinite(tg.tensor([1, 2])).numpy().all()
    # PyTorch 2.13's isclose: |a - b| <= atol + rtol·|b|; inf close only to itself; nan to
    # nothing unless equal_nan
    a = tg.tensor([1e-7, 1e-8, 1e-9, np.inf, np.inf, np.nan, 1.0])
    b = tg.tensor([0.0, 0.0, 0.0, np.inf, -np.inf, np.nan, 1.0 + 1e-7])
    np.testing.assert_array_equal(tg.isclose(a, b).numpy(),
                                  [False, True, True, True, False, False, True])
    assert tg.isclose(tg.tensor([np.nan]), tg.tensor([np.nan]), equal_nan=True).item()
    np.testing.assert_array_equal(tg.tensor([1, 2]).isclose(tg.tensor([1, 3])).numpy(),
                                  [True, False])
    np.testing.assert_array_equal(tg.tensor([1.0, 1.5]).isclose(1.0).numpy(), [True, False])
    np.testing.assert_array_equal(tg.isclose(tg.tensor([1.0]), tg.tensor([1.01]),
                                             rtol=0.02).numpy(), [True])
