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


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("matmul", lambda a, b: a @ b, np.matmul, matmul_inputs()),
    case("matmul_batched", tg.matmul, np.matmul, matmul_inputs(max_batch_dims=2)),
    case("matmul_1d_1d", tg.matmul, np.matmul, vector_inputs()),
    # ndarray @ Tensor goes to Tensor.__rmatmul__ (the constant has the tensor's dtype)
    case("rmatmul_ndarray", lambda b: _CONST.astype(b.dtype) @ b,
         lambda b: _CONST.astype(b.dtype) @ b, S.tensors((3, 2))),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)
