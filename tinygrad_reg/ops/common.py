"""Helpers shared by the op families: operand conversion and axis bookkeeping."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, to_array
from ..autograd import wrap
from ..errors import ArgumentError, DimError


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
    """Both operands of a binary op as Tensors. A Python number beside a tensor takes the
    tensor's dtype (see :func:`operand`); two Python numbers take PyTorch's default dtype of
    the wider kind (float32 if either is a float, else int64, else bool)."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            return _python_pair(a, b)
        a = operand(a, b)
    elif not isinstance(b, Tensor):
        b = operand(b, a)
    return a, b


def _python_pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    kinds = {type(v) for v in (a, b)}
    if kinds <= {bool, int, float}:
        dtype = (np.float32 if float in kinds else np.int64 if int in kinds else np.bool_)
        return wrap(np.asarray(a, dtype=dtype)), wrap(np.asarray(b, dtype=dtype))
    return wrap(to_array(a)), wrap(to_array(b))


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if ndim == 0 and all(a in (0, -1) for a in axes):
        return ()  # PyTorch: dim 0 (or -1) of a 0-d tensor reduces nothing
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise DimError(f"{op}: dim {a} is out of range for a tensor of {ndim} dims "
                           f"(expected -{max(ndim, 1)}..{max(ndim, 1) - 1})")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ArgumentError(f"{op}: dim {axis} names a dim more than once")
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


def dim_args(fn: str, dim: Any, axis: Any, keepdim: Any = None,
             keepdims: Any = None) -> tuple[Any, bool]:
    """The one place PyTorch's ``dim``/``keepdim`` and numpy's ``axis``/``keepdims`` meet:
    returns (axis, keepdims). Giving both spellings of one argument is a TypeError."""
    if dim is not None and axis is not None:
        raise TypeError(f"{fn}: got both dim={dim!r} (PyTorch's name) and axis={axis!r} "
                        f"(numpy's); give one")
    if keepdim is not None and keepdims is not None:
        raise TypeError(f"{fn}: got both keepdim={keepdim!r} (PyTorch's name) and "
                        f"keepdims={keepdims!r} (numpy's); give one")
    d = axis if dim is None else dim
    if isinstance(d, list):
        d = tuple(d)
    k = keepdims if keepdim is None else keepdim
    return d, bool(k)


def one_axis(fn: str, axis: Any, ndim: int) -> int:
    """``axis`` as a single non-negative axis of an ``ndim``-d tensor (:class:`DimError`, an
    IndexError and a ValueError, otherwise; a 0-d tensor takes 0 and -1, as PyTorch)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{fn}: dim must be an int, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise DimError(f"{fn}: dim {axis} is out of range for a tensor of {ndim} dims "
                       f"(expected -{max(ndim, 1)}..{max(ndim, 1) - 1})")
    return int(axis) % max(ndim, 1)
