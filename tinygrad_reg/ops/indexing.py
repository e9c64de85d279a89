"""Ops that pick or place elements by position: diagonals, one-hot encodings.

Each comes with its adjoint, so that every backward is written in ops that have backwards of
their own: :class:`Diagonal` reads a diagonal and :class:`DiagonalEmbed` writes one into
zeros, each the gradient of the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from .common import one_axis


def _diagonal_index(shape: tuple, offset: int, axis1: int, axis2: int) -> tuple:
    """The positions of the ``offset``-th diagonal of dims (axis1, axis2) once those dims are
    moved last: (rows, cols), each of the diagonal's length."""
    n1, n2 = shape[axis1], shape[axis2]
    length = max(0, min(n1 - max(-offset, 0), n2 - max(offset, 0)))
    rows = np.arange(length) + max(-offset, 0)
    return rows, rows - max(-offset, 0) + max(offset, 0)


class Diagonal(Function):
    """out[..., i] = x[..., i + max(-offset, 0), ..., i + max(offset, 0), ...] over dims
    (axis1, axis2), the diagonal appended as the last dim (numpy's and PyTorch's layout; a
    copy here, not a view).   dx = DiagonalEmbed(grad): grad on the same diagonal of zeros."""

    @staticmethod
    def forward(ctx, x, offset, axis1, axis2):
        return np.diagonal(x, offset, axis1, axis2).copy()

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return DiagonalEmbed.apply(grad, shape=ctx.inputs[0].shape, offset=a["offset"],
                                   axis1=a["axis1"], axis2=a["axis2"])


class DiagonalEmbed(Function):
    """out = zeros(``shape``) with x's last dim written on the ``offset``-th diagonal of dims
    (axis1, axis2): the adjoint of :class:`Diagonal`.   dx = Diagonal(grad)."""

    @staticmethod
    def forward(ctx, x, shape, offset, axis1, axis2):
        out = np.zeros(shape, dtype=x.dtype)
        rows, cols = _diagonal_index(shape, offset, axis1, axis2)
        np.moveaxis(out, (axis1, axis2), (-2, -1))[..., rows, cols] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return Diagonal.apply(grad, offset=a["offset"], axis1=a["axis1"], axis2=a["axis2"])


def _int(fn: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an int, got {value!r}")
    return int(value)


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of dims ``dim1`` and ``dim2`` (above the main one for
    offset > 0), appended as the last dim, as PyTorch's ``diagonal`` (a copy, not a view)."""
    if x.ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dims, got shape {x.shape}")
    d1, d2 = one_axis("diagonal", dim1, x.ndim), one_axis("diagonal", dim2, x.ndim)
    if d1 == d2:
        raise ArgumentError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2} (both "
                            f"dim {d1} of shape {x.shape})")
    return Diagonal.apply(x, offset=_int("diagonal", "offset", offset), axis1=d1, axis2=d2)


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """PyTorch's ``diag``: a 1-d x becomes the square matrix with x on its ``diagonal``-th
    diagonal (size n + |diagonal|); a 2-d x gives that diagonal of it."""
    k = _int("diag", "diagonal", diagonal)
    if x.ndim == 1:
        n = x.shape[0] + abs(k)
        return DiagonalEmbed.apply(x, shape=(n, n), offset=k, axis1=0, axis2=1)
    if x.ndim == 2:
        return Diagonal.apply(x, offset=k, axis1=0, axis2=1)
    raise ShapeError(f"diag: expects a 1-d or 2-d tensor, got shape {x.shape}; for the "
                     f"diagonals of a batch use diagonal(x, dim1=-2, dim2=-1)")


class OneHot(Function):
    """out[..., c] = 1 where index == c, else 0, for c < ``num_classes`` (int64). No
    gradient: the index holds integers."""

    @staticmethod
    def forward(ctx, index, num_classes):
        return (index[..., None] == np.arange(num_classes)).astype(np.int64)

    @staticmethod
    def backward(ctx, grad):
        return None


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """An int64 tensor with a new last dim of ``num_classes``, 1 at each index and 0 elsewhere
    (PyTorch's ``F.one_hot``). ``num_classes=-1`` takes the largest index + 1. Indices must be
    integers in [0, num_classes)."""
    idx = tensor if isinstance(tensor, Tensor) else Tensor(np.asarray(tensor))
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: the index must hold integers, got dtype {idx.dtype}"
                         + ("; call .long() on it" if idx.dtype.kind == "f" else ""))
    k = _int("one_hot", "num_classes", num_classes)
    data = idx._data
    if k == -1:
        if data.size == 0:
            raise ArgumentError("one_hot: cannot infer num_classes from an empty tensor; "
                                "give num_classes")
        k = int(data.max()) + 1
    elif k < 0:
        raise ArgumentError(f"one_hot: num_classes must be >= 0 or -1 (infer it), got {k}")
    if data.size and (data.min() < 0 or data.max() >= k):
        bad = data[(data < 0) | (data >= k)].flat[0]
        raise ArgumentError(f"one_hot: index {bad} is out of range for {k} classes; indices "
                            f"must lie in [0, {k})")
    return OneHot.apply(idx, num_classes=k)


__all__ = ["diagonal", "diag", "one_hot"]
