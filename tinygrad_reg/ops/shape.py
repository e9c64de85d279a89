"""Ops that move elements around without arithmetic: reshape, transpose, broadcast and its
reverse (sum_to, the one place gradients are reduced over broadcast axes), indexing,
concatenate and stack.

Views, as in numpy and PyTorch: reshape, transpose, broadcast_to, squeeze, expand_dims and
basic indexing (ints, slices, None, Ellipsis) return a tensor that shares memory with its
input, and sum_to returns its input itself when the shape already matches. Writing into one's
``.data`` in place changes the other. Every other op returns new memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, share_version
from ..autograd import Function


class Reshape(Function):
    """out = x with a new ``shape`` (same elements, C order).   dx = grad reshaped back."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.inputs[0].shape)


class Transpose(Function):
    """out = x with axes permuted by ``axes``.   dx = grad permuted by the inverse permutation."""

    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.attrs["axes"]
        if axes is None:
            return grad.transpose()
        return grad.transpose(*np.argsort(axes).tolist())


class BroadcastTo(Function):
    """out = x broadcast to ``shape`` (numpy rules).   dx = sum_to(grad, x.shape)."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to(ctx.inputs[0].shape)


def _sum_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot reduce shape {x.shape} to the longer shape {shape}")
    if lead and x.shape[lead:] == shape:  # only leading axes were added (a bias's gradient)
        # summed without keepdims: a fresh array, not a reshaped view, which the engine
        # would copy before making it a leaf's .grad
        return x.sum(axis=0 if lead == 1 else tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    for i, n in enumerate(shape):
        if n != 1 and x.shape[lead + i] != n:
            raise ValueError(f"shape {x.shape} was not broadcast from {shape}")
    out = x.sum(axis=axes, keepdims=True) if axes else x
    return out.reshape(shape) if lead else out


class SumTo(Function):
    """out = x summed over the axes that broadcasting added or stretched, giving ``shape``:
    the reverse of BroadcastTo, and how every gradient is fitted to its input.
    dx = grad broadcast back to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        return _sum_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.broadcast_to(ctx.inputs[0].shape)


def _is_basic(index: Any) -> bool:
    """True if ``index`` selects each element at most once (ints, slices, None, Ellipsis)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in items)


class GetItem(Function):
    """out = x[index] (basic slicing, integer and boolean arrays, as numpy).
    dx = grad scattered back into zeros of x's shape; repeated indices accumulate."""

    @staticmethod
    def forward(ctx, x, index):
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        return ScatterAdd.apply(grad, shape=ctx.inputs[0].shape, index=ctx.attrs["index"])


class ScatterAdd(Function):
    """out = zeros(shape) with x added at ``index`` (repeats accumulate): GetItem's gradient.
    dx = grad[index]."""

    @staticmethod
    def forward(ctx, x, shape, index):
        out = np.zeros(shape, dtype=x.dtype)
        if _is_basic(index):
            out[index] = x
        else:
            np.add.at(out, index, x)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.attrs["index"]]


class Concatenate(Function):
    """out = the inputs joined along ``axis``.   dx_i = the slice of grad that x_i filled."""

    @staticmethod
    def forward(ctx, *xs, axis):
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        axis = ctx.attrs["axis"] % grad.ndim
        grads, start = [], 0
        for t, need in zip(ctx.inputs, ctx.needs_input_grad):
            stop = start + t.shape[axis]
            grads.append(grad[(slice(None),) * axis + (slice(start, stop),)] if need else None)
            start = stop
        return tuple(grads)


class Stack(Function):
    """out = the inputs stacked along a new ``axis``.   dx_i = grad taken at position i."""

    @staticmethod
    def forward(ctx, *xs, axis):
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        axis = ctx.attrs["axis"] % grad.ndim
        return tuple(grad[(slice(None),) * axis + (i,)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


# -- the functional face ----------------------------------------------------------------

def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """``x`` with a new shape (one entry may be -1); a view of x when numpy can make one.

    Both ``reshape(x, (2, 3))`` and ``x.reshape(2, 3)`` work."""
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """Permute the axes (reverse them when none are given), as numpy's ``transpose``; a view
    of x."""
    axes = _shape_arg(axes) if axes and axes != (None,) else None
    if axes is not None and sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                         f"{x.ndim} axes of shape {x.shape}")
    if axes is not None:
        axes = tuple(a % x.ndim for a in axes)
    return Transpose.apply(x, axes=axes)


def broadcast_to(x: Tensor, shape: Any) -> Tensor:
    """``x`` broadcast to ``shape`` by numpy's rules; a read-only view of x."""
    shape = _shape_arg((shape,)) if not isinstance(shape, int) else (shape,)
    if shape == x.shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def sum_to(x: Tensor, shape: Any) -> Tensor:
    """Sum ``x`` over the axes broadcasting would have added or stretched to reach x's shape
    from ``shape``: the reverse of :func:`broadcast_to`. When ``shape`` is already x's shape,
    x itself is returned (no op is recorded)."""
    shape = tuple(shape)
    if shape == x._data.shape:
        return x
    return SumTo.apply(x, shape=shape)


def squeeze(x: Tensor, axis: Any = None) -> Tensor:
    """Remove size-1 axes (all of them, or those in ``axis``); a view of x."""
    try:
        shape = np.squeeze(x._data, axis=axis).shape
    except ValueError as err:
        raise ValueError(f"squeeze: {err} (shape {x.shape}, axis={axis})") from None
    return reshape(x, shape)


def expand_dims(x: Tensor, axis: Any) -> Tensor:
    """Insert size-1 axes at ``axis``; a view of x."""
    try:
        shape = np.expand_dims(x._data, axis).shape
    except (ValueError, np.exceptions.AxisError) as err:
        raise ValueError(f"expand_dims: {err} (shape {x.shape}, axis={axis})") from None
    return reshape(x, shape)


def _plain_index(index: Any) -> Any:
    """Tensors and lists inside an index become ndarrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]``: basic slicing, integer and boolean array indexing, as numpy. Basic
    slicing gives a view of x; integer and boolean arrays give a copy."""
    index = _plain_index(index)
    if isinstance(index, np.ndarray) and index.dtype == bool:
        index = np.nonzero(index) if index.ndim else index
    elif isinstance(index, tuple) and any(isinstance(i, np.ndarray) and i.dtype == bool
                                          for i in index):
        if x.requires_grad:
            parts = []
            for i in index:
                parts.extend(np.nonzero(i) if isinstance(i, np.ndarray) and i.dtype == bool
                             else (i,))
            index = tuple(parts)
    out = GetItem.apply(x, index=index)
    if _is_basic(index):  # a view: an in-place write into it changes x
        share_version(x, out)
    return out


def concatenate(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    return Concatenate.apply(*tensors, axis=int(axis))


def stack(tensors: Any, axis: int = 0) -> Tensor:
    """Stack same-shaped tensors along a new ``axis``."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    return Stack.apply(*tensors, axis=int(axis))


__all__ = ["reshape", "transpose", "broadcast_to", "sum_to", "squeeze", "expand_dims",
           "getitem", "concatenate", "stack"]
