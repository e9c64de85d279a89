"""Property tests for matmul: 1-D, 2-D and batched with broadcast batch dims, each run through
the public ``tg.testing.check_op`` against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def matmul_inputs(draw, max_batch_dims=1):
    # numpy's own signature "(n?,k),(k,m?)->(n?,m?)": optional dims give the 1-D cases
    sa, sb = draw(S.broadcastable_shapes(signature=np.matmul.signature, min_dims=0,
                                         max_dims=max_batch_dims))
    return draw(S.tensors(sa)), draw(S.tensors(sb))


@st.composite
def vector_inputs(draw):
    n = draw(st.integers(1, 4))
    return draw(S.tensors((n,))), draw(S.tensors((n,)))


_CONST = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


@st.composite
def linear_inputs(draw, bias=True):
    """(x, weight[, bias]): x (..., in) with 0 to 2 leading dims, weight (out, in)."""
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    x, w = draw(S.tensors(lead + (n_in,))), draw(S.tensors((n_out, n_in)))
    return (x, w, draw(S.tensors((n_out,)))) if bias else (x, w)


def _ref_linear(x, w, b=None):
    return x @ w.T + (0.0 if b is None else b)


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("matmul", lambda a, b: a @ b, np.matmul, matmul_inputs()),
    case("matmul_batched", tg.matmul, np.matmul, matmul_inputs(max_batch_dims=2)),
    case("matmul_1d_1d", tg.matmul, np.matmul, vector_inputs()),
    # ndarray @ Tensor goes to Tensor.__rmatmul__ (the constant has the tensor's dtype)
    case("rmatmul_ndarray", lambda b: _CONST.astype(b.dtype) @ b,
         lambda b: _CONST.astype(b.dtype) @ b, S.tensors((3, 2))),
    # the fused Linear node of nn.Linear: x @ weight.T + bias, batched or 1-D x
    case("linear", tg.nn.functional.linear, _ref_linear, linear_inputs(), out_shape=None),
    case("linear_no_bias", tg.nn.functional.linear, _ref_linear, linear_inputs(bias=False),
         out_shape=None),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)
