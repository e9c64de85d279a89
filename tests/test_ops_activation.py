"""Property tests for the activations: one registry entry per op (see opcheck.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opcheck import OpCase, check_op

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def unary(draw, elements=None):
    return (draw(S.arrays(S.shapes(), elements)),), {}


@st.composite
def along_axis(draw):
    x = draw(S.arrays(S.shapes(min_dims=1), st.floats(-5.0, 5.0)))
    return (x,), {"axis": draw(st.integers(-x.ndim, x.ndim - 1))}


def _softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


CASES = [
    OpCase("relu", tg.relu, lambda x: np.maximum(x, 0.0), unary(S.nonzero(0.1))),
    OpCase("sigmoid", tg.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)),
           unary(st.floats(-6.0, 6.0))),
    OpCase("tanh", tg.tanh, np.tanh, unary()),
    OpCase("softmax", lambda x, axis: x.softmax(axis), _softmax, along_axis()),
    OpCase("log_softmax", lambda x, axis: x.log_softmax(axis), _log_softmax, along_axis()),
]


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_op(case, data):
    check_op(case, data)
