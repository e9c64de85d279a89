"""Property tests for the elementwise ops: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def binary(draw, a=None, b=None):
    """(a, b) of mutually broadcastable shapes; ``a``/``b``: tensors() options for each."""
    sa, sb = draw(S.broadcastable_shapes(2))
    return draw(S.tensors(sa, **(a or {}))), draw(S.tensors(sb, **(b or {})))


@st.composite
def pow_scalar(draw):
    """(x, exponent): an integer power of a base kept 0.5 away from 0, or a fractional power
    of a positive base."""
    exponent = draw(st.sampled_from([2, 3, -1, 0, 1, 0.5, -1.5, 2.5]))
    if float(exponent).is_integer():
        x = draw(S.tensors(avoid=[0.0], margin=0.5, low=-2.0, high=2.0))
    else:  # a fractional power needs a positive base
        x = draw(S.tensors(positive=True, high=2.0))
    return x, exponent


@st.composite
def clip_inputs(draw):
    """(x, lo, hi): bounds or None, and x kept 0.1 away from each bound (clip's kinks)."""
    lo = draw(st.sampled_from([-1.0, -0.5, None]))
    hi = draw(st.sampled_from([1.0, 0.5, None]))
    bounds = [b for b in (lo, hi) if b is not None]
    return draw(S.tensors(avoid=bounds, margin=0.1)), lo, hi


def _clip_ref(x, lo, hi):
    return np.minimum(np.maximum(x, -np.inf if lo is None else lo), np.inf if hi is None else hi)


# maximum/minimum: the operands come from disjoint lattices (k + [0, 0.3] and k + [0.5, 0.8]),
# so they differ by at least 0.2 wherever broadcasting pairs them: never a tie
_A = {"elements": st.tuples(st.integers(-2, 2), st.floats(0.0, 0.3)).map(lambda t: t[0] + t[1])}
_B = {"elements": st.tuples(st.integers(-2, 2), st.floats(0.5, 0.8)).map(lambda t: t[0] + t[1])}
_NONZERO = {"avoid": [0.0], "margin": 0.5}  # divisors: |b| >= 0.5


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("add", lambda a, b: a + b, np.add, S.broadcastable_tensors(2)),
    case("sub", lambda a, b: a - b, np.subtract, S.broadcastable_tensors(2)),
    case("mul", lambda a, b: a * b, np.multiply, S.broadcastable_tensors(2)),
    case("div", lambda a, b: a / b, np.divide, binary(b=_NONZERO)),
    case("rsub_scalar", lambda a: 1.5 - a, lambda a: 1.5 - a, S.tensors()),
    case("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, S.tensors(**_NONZERO)),
    case("neg", lambda a: -a, np.negative, S.tensors()),
    case("pow_scalar", lambda a, exponent: a ** exponent,
         lambda a, exponent: np.power(a, float(exponent)), pow_scalar()),
    case("pow_tensor", lambda a, b: a ** b, np.power,
         binary(a={"positive": True, "high": 2.0}, b={"low": -2.0, "high": 2.0})),
    case("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, S.tensors()),
    case("exp", tg.exp, np.exp, S.tensors()),
    case("log", tg.log, np.log, S.tensors(positive=True)),    # [0.5, 3]
    case("sqrt", tg.sqrt, np.sqrt, S.tensors(positive=True)),
    case("abs", tg.abs, np.abs, S.tensors(avoid=[0.0])),      # |x| >= 0.1: away from the kink
    case("maximum", tg.maximum, np.maximum, binary(_A, _B)),
    case("minimum", tg.minimum, np.minimum, binary(_B, _A)),
    case("where", tg.where, np.where, S.broadcastable_shapes(3).flatmap(
        lambda s: st.tuples(S.tensors(s[0], dtype=bool), S.tensors(s[1]), S.tensors(s[2])))),
    case("clip", lambda x, lo, hi: x.clip(lo, hi), _clip_ref, clip_inputs()),
    case("astype", lambda x: x.astype(np.float64).astype(x.dtype), lambda x: x, S.tensors()),
    case("sin", tg.sin, np.sin, S.tensors()),
    case("cos", tg.cos, np.cos, S.tensors()),
    case("tan", tg.tan, np.tan, S.tensors(low=-1.2, high=1.2)),  # away from the poles ±π/2
    # piecewise constant: zero gradient, checked away from the jumps (the jumps are pinned
    # by exact tests in test_ops_new.py)
    case("sign", tg.sign, np.sign, S.tensors(avoid=[0.0])),
    case("floor", tg.floor, np.floor, S.tensors(avoid=range(-3, 4))),
    case("ceil", tg.ceil, np.ceil, S.tensors(avoid=range(-3, 4))),
    case("trunc", tg.trunc, np.trunc, S.tensors(avoid=range(-3, 4))),
    case("round", tg.round, np.round, S.tensors(avoid=[k + 0.5 for k in range(-4, 4)])),
    case("round_decimals", lambda x: x.round(1), lambda x: np.round(x, 1),
         S.tensors(avoid=[k / 10 + 0.05 for k in range(-31, 31)], margin=0.01), eps=1e-7),
    case("log1p", tg.log1p, np.log1p, S.tensors(low=-0.5)),
    case("expm1", tg.expm1, np.expm1, S.tensors()),
    case("log2", tg.log2, np.log2, S.tensors(positive=True)),
    case("log10", tg.log10, np.log10, S.tensors(positive=True)),
    case("reciprocal", tg.reciprocal, np.reciprocal, S.tensors(**_NONZERO)),
    case("rsqrt", tg.rsqrt, lambda x: 1.0 / np.sqrt(x), S.tensors(positive=True)),
    case("square", tg.square, np.square, S.tensors()),
    case("erf", tg.erf, np.vectorize(math.erf, otypes=[np.float64]), S.tensors()),
    case("clamp_tensor_bounds", lambda x, lo: x.clamp(min=lo), np.maximum,
         binary(_A, _B)),
    case("masked_fill", lambda x, m: x.masked_fill(m, 0.5), lambda x, m: np.where(m, 0.5, x),
         S.broadcastable_shapes(2).filter(lambda s: np.broadcast_shapes(*s) == s[0]).flatmap(
             lambda s: st.tuples(S.tensors(s[0]), S.tensors(s[1], dtype=bool)))),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)
