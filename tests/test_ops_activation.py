"""Property tests for the activations: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def along_axis(draw):
    """(x, axis): a tensor of at least one dim and a (possibly negative) axis of it."""
    x = draw(S.tensors(S.shapes(min_dims=1), low=-5.0, high=5.0))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


def _softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("relu", tg.relu, lambda x: np.maximum(x, 0.0), S.tensors(avoid=[0.0])),  # the kink
    case("sigmoid", tg.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)),
         S.tensors(low=-6.0, high=6.0)),
    case("tanh", tg.tanh, np.tanh, S.tensors()),
    case("softmax", lambda x, axis: x.softmax(axis), _softmax, along_axis()),
    case("log_softmax", lambda x, axis: x.log_softmax(axis), _log_softmax, along_axis()),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)
