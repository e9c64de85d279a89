"""Helpers shared by the op families: operand conversion and axis bookkeeping."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, to_array
from ..autograd import wrap


def operand(x: Any, like: Tensor) -> Tensor:
    """``x`` as a constant Tensor for an op with ``like``.

    A Python number takes ``like``'s float dtype, so a float32 tensor times 2.5 stays float32
    (NumPy 2's NEP 50 rule for weak scalars); anything else follows :func:`to_array`.
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)) and like._data.dtype.kind in "fc":
        return wrap(np.asarray(x, dtype=like._data.dtype))
    return wrap(to_array(x))


def operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as Tensors (at least one of them is a Tensor)."""
    if not isinstance(a, Tensor):
        b = operand(b, a) if not isinstance(b, Tensor) else b
        a = operand(a, b)
    elif not isinstance(b, Tensor):
        b = operand(b, a)
    return a, b


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of bounds for a tensor of {ndim} dims")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(result))


def keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` gives with ``keepdims=True``."""
    axes = normalize_axis(axis, len(shape), "reduce")
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def unreduce(grad: Tensor, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Tensor:
    """Broadcast the gradient of a reduction back to the input's ``shape`` (Tensor ops)."""
    if not keepdims and shape:
        grad = grad.reshape(keepdims_shape(shape, axis))
    return grad.broadcast_to(shape)
