"""Ops that pick or place elements by position (diagonal, diag, one_hot): values and
gradients through ``tg.testing.check_op`` against numpy, and their conventions and errors
pinned against PyTorch 2.13's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
import tinygrad_reg.nn.functional as F
from tinygrad_reg.testing import strategies as S


@st.composite
def diagonal_inputs(draw):
    """(x, offset, dim1, dim2): x of 2 to 4 dims, two different dims, any offset that fits
    (and one past it: an empty diagonal)."""
    x = draw(S.tensors(S.shapes(min_dims=2, max_dims=4)))
    d1, d2 = draw(st.permutations(range(-x.ndim, 0)))[:2]
    offset = draw(st.integers(-x.shape[d1], x.shape[d2]))
    return x, offset, d1, d2


def _np_diag(x, k):
    return np.diag(x, k).copy()


def test_diagonal():
    tg.testing.check_op(lambda x, k, a, b: x.diagonal(k, a, b), diagonal_inputs(),
                        ref=lambda x, k, a, b: np.diagonal(x, k, a, b), name="diagonal")


@pytest.mark.parametrize("ndim", [1, 2])
def test_diag(ndim):
    @st.composite
    def inputs(draw):
        x = draw(S.tensors(S.shapes(min_dims=ndim, max_dims=ndim)))
        return x, draw(st.integers(-3, 3))

    tg.testing.check_op(lambda x, k: tg.diag(x, k), inputs(), ref=_np_diag, out_shape=None,
                        name=f"diag{ndim}d")


def test_diagonal_and_diag_values():
    x = tg.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(x.diagonal().numpy(), [0, 5, 10])
    np.testing.assert_array_equal(x.diagonal(1).numpy(), [1, 6, 11])
    np.testing.assert_array_equal(x.diagonal(-1).numpy(), [4, 9])
    np.testing.assert_array_equal(tg.diag(tg.tensor([1, 2]), 1).numpy(),
                                  [[0, 1, 0], [0, 0, 2], [0, 0, 0]])
    # the diagonal of (dim1, dim2) goes last, as PyTorch
    assert tg.ones(2, 3, 4, 5).diagonal(0, 1, 3).shape == (2, 4, 3)


def test_diagonal_errors():
    with pytest.raises(RuntimeError, match="dim1 and dim2 must differ"):
        tg.ones(3, 3).diagonal(dim1=0, dim2=0)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        tg.ones(3, 3).diagonal(dim1=0, dim2=2)
    with pytest.raises(RuntimeError, match="1-d or 2-d"):
        tg.diag(tg.ones(2, 2, 2))


def test_one_hot():
    # PyTorch 2.13: one_hot([1, 2, 4], 6) and, without num_classes, largest index + 1
    out = F.one_hot(tg.tensor([1, 2, 4]), 6)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(6, dtype=np.int64)[[1, 2, 4]])
    data = [[[1, 2, 3], [0, 3, 5]], [[1, 2, 3], [0, 3, 5]]]
    np.testing.assert_array_equal(F.one_hot(tg.tensor(data)).numpy(),
                                  np.eye(6, dtype=np.int64)[data])
    assert F.one_hot(tg.tensor(data), 8).shape == (2, 2, 3, 8)


def test_one_hot_errors():
    with pytest.raises(TypeError, match="must hold integers"):
        F.one_hot(tg.tensor([1.0]), 3)
    with pytest.raises(RuntimeError, match="index 3 is out of range for 3 classes"):
        F.one_hot(tg.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="index -1 is out of range"):
        F.one_hot(tg.tensor([-1, 0]))
    with pytest.raises(ValueError, match="empty tensor"):
        F.one_hot(tg.tensor([], dtype=tg.int64))
