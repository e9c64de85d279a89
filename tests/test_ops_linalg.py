"""Property tests for matmul: 1-D, 2-D and batched with broadcast batch dims (see opcheck.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opcheck import OpCase, check_op

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def matmul_inputs(draw, max_batch_dims=1):
    # numpy's own signature "(n?,k),(k,m?)->(n?,m?)": optional dims give the 1-D cases
    sa, sb = draw(S.broadcastable_shapes(signature=np.matmul.signature, min_dims=0,
                                         max_dims=max_batch_dims))
    return (draw(S.arrays(sa)), draw(S.arrays(sb))), {}


@st.composite
def vector_inputs(draw):
    n = draw(st.integers(1, 4))
    return (draw(S.arrays((n,))), draw(S.arrays((n,)))), {}


_CONST = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])

CASES = [
    OpCase("matmul", lambda a, b: a @ b, np.matmul, matmul_inputs()),
    OpCase("matmul_batched", tg.matmul, np.matmul, matmul_inputs(max_batch_dims=2)),
    OpCase("matmul_1d_1d", tg.matmul, np.matmul, vector_inputs()),
    # ndarray @ Tensor goes to Tensor.__rmatmul__ (the constant has the tensor's dtype)
    OpCase("rmatmul_ndarray", lambda b: _CONST.astype(b.dtype) @ b,
           lambda b: _CONST.astype(b.dtype) @ b, S.arrays((3, 2)).map(lambda b: ((b,), {}))),
]


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_op(case, data):
    check_op(case, data)
