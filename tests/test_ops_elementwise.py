"""Property tests for the elementwise ops: one registry entry per op (see opcheck.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from opcheck import OpCase, check_op

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def unary(draw, elements=None):
    return (draw(S.arrays(S.shapes(), elements)),), {}


@st.composite
def binary(draw, a_elements=None, b_elements=None):
    sa, sb = draw(S.broadcastable_shapes(2))
    return (draw(S.arrays(sa, a_elements)), draw(S.arrays(sb, b_elements))), {}


@st.composite
def pow_scalar(draw):
    exponent = draw(st.sampled_from([2, 3, -1, 0, 1, 0.5, -1.5, 2.5]))
    if float(exponent).is_integer():
        x = draw(S.nonzero_arrays(S.shapes(), margin=0.5, high=2.0))
    else:  # a fractional power needs a positive base
        x = draw(S.positive_arrays(S.shapes(), 0.5, 2.0))
    return (x,), {"exponent": exponent}


@st.composite
def where_inputs(draw):
    sc, sa, sb = draw(S.broadcastable_shapes(3))
    cond = draw(hnp.arrays(np.bool_, sc))
    return (cond, draw(S.arrays(sa)), draw(S.arrays(sb))), {}


@st.composite
def clip_inputs(draw):
    lo = draw(st.sampled_from([-1.0, -0.5, None]))
    hi = draw(st.sampled_from([1.0, 0.5, None]))
    bounds = [b for b in (lo, hi) if b is not None]
    return (draw(S.arrays(S.shapes(), S.away_from(bounds or [0.0], margin=0.1))),), \
        {"lo": lo, "hi": hi}


def _clip_ref(x, lo, hi):
    return np.minimum(np.maximum(x, -np.inf if lo is None else lo), np.inf if hi is None else hi)


# maximum/minimum: the operands come from disjoint lattices (k + [0, 0.3] and k + [0.5, 0.8]),
# so they differ by at least 0.2 wherever broadcasting pairs them: never a tie
_A = st.tuples(st.integers(-2, 2), st.floats(0.0, 0.3)).map(lambda t: t[0] + t[1])
_B = st.tuples(st.integers(-2, 2), st.floats(0.5, 0.8)).map(lambda t: t[0] + t[1])

CASES = [
    OpCase("add", lambda a, b: a + b, np.add, binary()),
    OpCase("sub", lambda a, b: a - b, np.subtract, binary()),
    OpCase("mul", lambda a, b: a * b, np.multiply, binary()),
    OpCase("div", lambda a, b: a / b, np.divide, binary(None, S.nonzero(0.5))),
    OpCase("rsub_scalar", lambda a: 1.5 - a, lambda a: 1.5 - a, unary()),
    OpCase("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, unary(S.nonzero(0.5))),
    OpCase("neg", lambda a: -a, np.negative, unary()),
    OpCase("pow_scalar", lambda a, exponent: a ** exponent,
           lambda a, exponent: np.power(a, float(exponent)), pow_scalar()),
    OpCase("pow_tensor", lambda a, b: a ** b, np.power,
           binary(st.floats(0.5, 2.0), st.floats(-2.0, 2.0))),
    OpCase("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, unary()),
    OpCase("exp", tg.exp, np.exp, unary()),
    OpCase("log", tg.log, np.log, unary(st.floats(0.5, 3.0))),
    OpCase("sqrt", tg.sqrt, np.sqrt, unary(st.floats(0.5, 3.0))),
    OpCase("abs", tg.abs, np.abs, unary(S.nonzero(0.1))),
    OpCase("maximum", tg.maximum, np.maximum, binary(_A, _B)),
    OpCase("minimum", tg.minimum, np.minimum, binary(_B, _A)),
    OpCase("where", tg.where, np.where, where_inputs()),
    OpCase("clip", lambda x, lo, hi: x.clip(lo, hi), _clip_ref, clip_inputs()),
    OpCase("astype", lambda x: x.astype(np.float64).astype(x.dtype), lambda x: x, unary()),
]


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_op(case, data):
    check_op(case, data)
