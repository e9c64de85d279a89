"""Inverse trigonometric and hyperbolic functions: values, first and second derivatives through
``tg.testing.check_op`` against numpy inside each domain, and the edges pinned (nan outside
the domain, float32 for integers)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


_INSIDE = {"low": -0.9, "high": 0.9}  # asin, acos, atanh: away from ±1 (infinite slope)

CASES = [
    case("asin", tg.asin, np.arcsin, S.tensors(**_INSIDE)),
    case("acos", lambda x: x.acos(), np.arccos, S.tensors(**_INSIDE)),
    case("atan", tg.atan, np.arctan, S.tensors()),
    case("sinh", lambda x: x.sinh(), np.sinh, S.tensors()),
    case("cosh", tg.cosh, np.cosh, S.tensors()),
    case("asinh", tg.asinh, np.arcsinh, S.tensors()),
    case("acosh", lambda x: x.acosh(), np.arccosh, S.tensors(low=1.2, high=4.0)),
    case("atanh", tg.atanh, np.arctanh, S.tensors(**_INSIDE)),
    # atan2 is smooth away from the origin: b kept away from 0 (its cut along b < 0, a = 0 is
    # a jump of 2π, so a away from 0 too)
    case("atan2", tg.atan2, np.arctan2, S.broadcastable_tensors(2, avoid=[0.0], margin=0.3)),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)


def test_outside_the_domain_is_nan_without_a_warning():
    x = tg.tensor([-2.0, 2.0, 0.5], requires_grad=True)
    with np.errstate(all="raise"):
        y = x.asin()
    assert np.isnan(y.numpy()[:2]).all() and y.numpy()[2] == np.float32(np.arcsin(0.5))
    assert np.isnan(tg.acosh(tg.tensor([0.5])).item())
    np.testing.assert_array_equal(tg.atanh(tg.tensor([1.0, -1.0])).numpy(), [np.inf, -np.inf])


def test_integers_give_float32():
    # PyTorch 2.13: torch.asin(torch.tensor([0, 1])) is float32
    for f in (tg.asin, tg.acos, tg.atan, tg.sinh, tg.cosh, tg.asinh, tg.acosh, tg.atanh):
        assert f(tg.tensor([0, 1])).dtype == np.float32
    assert tg.atan2(tg.tensor([1]), tg.tensor([2])).dtype == np.float32
