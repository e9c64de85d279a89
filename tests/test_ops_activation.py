"""Property tests for the activations: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.nn import functional as F
from tinygrad_reg.testing import strategies as S

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])


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
    case("softmax_0d", lambda x: x.softmax(), lambda x: np.ones_like(x),
         S.tensors(shape=())),
    case("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
         S.tensors(avoid=[0.0])),
    case("elu", lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)),
         S.tensors(avoid=[0.0])),
    case("celu", lambda x: F.celu(x, 0.7),
         lambda x: np.maximum(x, 0) + np.minimum(0, 0.7 * np.expm1(x / 0.7)),
         S.tensors(avoid=[0.0])),
    case("selu", F.selu, lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(x)),
         S.tensors(avoid=[0.0])),
    case("gelu", F.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), S.tensors()),
    case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
         lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
         S.tensors()),
    case("silu", F.silu, lambda x: x / (1 + np.exp(-x)), S.tensors()),
    case("mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), S.tensors()),
    case("softplus", lambda x: F.softplus(x, beta=2.0, threshold=4.0),
         lambda x: np.where(2 * x > 4, x, np.log1p(np.exp(2 * x)) / 2),
         S.tensors(avoid=[2.0])),  # the switch to the linear tail at beta·x = threshold
    case("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), S.tensors(avoid=[0.0])),
    case("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0),
         S.tensors(avoid=[-0.5, 1.0])),
    case("relu6", F.relu6, lambda x: np.clip(x, 0, 6), S.tensors(avoid=[0.0, 6.0], high=8.0)),
    case("hardsigmoid", F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1),
         S.tensors(avoid=[-3.0, 3.0], low=-5.0, high=5.0)),
    case("hardswish", F.hardswish, lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
         S.tensors(avoid=[-3.0, 3.0], low=-5.0, high=5.0)),
    case("logsigmoid", F.logsigmoid, lambda x: -np.log1p(np.exp(-x)), S.tensors()),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)
