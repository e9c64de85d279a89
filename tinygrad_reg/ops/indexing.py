"""Ops that pick or place elements by position: diagonals, sliding windows (``unfold``),
scatters (``scatter``, ``scatter_add``, ``scatter_reduce``), ``masked_select``, ``nonzero``,
``repeat_interleave``, ``meshgrid``, one-hot encodings.

Each comes with its adjoint, so that every backward is written in ops that have backwards of
their own: :class:`Diagonal` reads a diagonal and :class:`DiagonalEmbed` writes one into
zeros, :class:`Unfold` reads windows and :class:`FoldWindows` adds them back; a scatter's
gradients are gathers (and its own kind of scatter), so all are differentiable again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import OPS, Tensor
from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..trace import index_read
from .common import one_axis
from .shape import ScatterAlong, gather, index_select


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


# -- sliding windows ------------------------------------------------------------------------

def _window_count(n: int, size: int, step: int) -> int:
    return (n - size) // step + 1


class Unfold(Function):
    """out[..., i, ..., k] = x[..., i·step + k, ...] along ``axis``: every window of ``size``
    elements ``step`` apart, the window as a new last dim (PyTorch's ``unfold``; a copy here,
    not a view).   dx = FoldWindows(grad): each window's gradient added back where it came
    from (overlaps accumulate)."""

    @staticmethod
    def forward(ctx, x, axis, size, step):
        count = _window_count(x.shape[axis], size, step)
        shape = x.shape[:axis] + (count,) + x.shape[axis + 1:] + (size,)
        strides = x.strides[:axis] + (x.strides[axis] * step,) + x.strides[axis + 1:] + (
            x.strides[axis],)
        return as_strided(x, shape, strides, writeable=False).copy()

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return FoldWindows.apply(grad, shape=ctx.inputs[0].shape, axis=a["axis"],
                                 size=a["size"], step=a["step"])


class FoldWindows(Function):
    """out = zeros(``shape``) with each window of x (its last dim) added where :class:`Unfold`
    took it from: Unfold's adjoint.   dx = Unfold(grad)."""

    @staticmethod
    def forward(ctx, x, shape, axis, size, step):
        out = np.zeros(shape, dtype=x.dtype)
        count = x.shape[axis]
        for k in range(size):
            where = (slice(None),) * axis + (slice(k, k + step * (count - 1) + 1, step),)
            out[where] += x[..., k]
        return out

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return Unfold.apply(grad, axis=a["axis"], size=a["size"], step=a["step"])


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Windows of ``size`` elements, one every ``step``, along ``dimension``, as a new last
    dim (PyTorch's ``Tensor.unfold``): a (8,) tensor unfolded (0, 2, 1) is (7, 2)."""
    size, step = _int("unfold", "size", size), _int("unfold", "step", step)
    if x.ndim == 0:
        return unfold(x.reshape(1), 0, size, step)[0]
    d = one_axis("unfold", dimension, x.ndim)
    n = x.shape[d]
    if size < 0 or size > n:
        raise ShapeError(f"unfold: size {size} must lie in [0, {n}], the size of dim "
                         f"{dimension} (shape {x.shape})")
    if step <= 0:
        raise ArgumentError(f"unfold: step must be > 0, got {step}")
    return Unfold.apply(x, axis=d, size=size, step=step)


# -- scatters --------------------------------------------------------------------------------

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _positions(index: np.ndarray, axis: int) -> tuple:
    """The full index tuple of an along-axis index: position i of ``index`` names element
    (i_0, ..., index[i], ..., i_n)."""
    full = list(np.indices(index.shape, sparse=True))
    full[axis] = index
    return tuple(full)


def _identity(reduce: str, dtype: np.dtype) -> Any:
    """The value a reduction starts from where the scatter excludes the tensor's own."""
    if reduce == "amax":
        return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min
    if reduce == "amin":
        return np.inf if dtype.kind == "f" else np.iinfo(dtype).max
    return 1 if reduce == "prod" else 0


class Scatter(Function):
    """out = x with src written at ``index`` along ``axis`` (PyTorch's ``scatter``:
    ``out[i][index[i][j]] = src[i][j]`` for axis 1; of repeated positions the last write
    wins).
    dx = grad with the written positions zeroed; dsrc = grad gathered at ``index`` (PyTorch's
    formula, also for writes that a later one overwrote)."""

    @staticmethod
    def forward(ctx, x, index, src, axis):
        ctx.save_for_backward(index)
        out = x.copy()
        out[_positions(index, axis)] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        need_x, _, need_src = ctx.needs_input_grad
        dx = Scatter.apply(grad, index, Tensor(np.zeros((), grad.dtype)).broadcast_to(
            index.shape), axis=axis) if need_x else None
        dsrc = gather(grad, axis, index) if need_src else None
        return dx, None, dsrc


class ScatterReduce(Function):
    """out = x with src combined into it at ``index`` along ``axis`` by ``reduce``: "sum",
    "prod", "mean", "amax" or "amin" (PyTorch's ``scatter_reduce``); with
    ``include_self=False`` the positions written forget x's own value; a position nothing is
    written to keeps x's. An integer mean is floor-divided, as PyTorch.

    Gradients (PyTorch's): sum: dx = grad (or 0 where written, without self), dsrc = grad at
    index; mean: the same divided by each position's count; amax/amin: the gradient goes
    evenly to every element equal to the result (x's own value counts among them even with
    ``include_self=False``, as in PyTorch, which then gives it none: the written elements
    share less than the whole gradient there); prod: each factor gets grad times the product
    of the others (exact with zeros: a zero is masked to 1 and the product taken again, as
    PyTorch; with two zeros of src at one position the second derivative between them is 0
    where the product of the rest would be exact)."""

    @staticmethod
    def forward(ctx, x, index, src, axis, reduce, include_self):
        pos = _positions(index, axis)
        touched = np.zeros(x.shape, dtype=bool)
        touched[pos] = True
        out = x.copy()
        if not include_self:
            out[touched] = _identity(reduce, x.dtype)
        counts = None
        if reduce in ("sum", "mean"):
            np.add.at(out, pos, src)
            if reduce == "mean":
                counts = touched * int(include_self) + np.zeros(x.shape, np.int64)
                np.add.at(counts, pos, 1)
                div = np.floor_divide if x.dtype.kind in "iu" else np.true_divide
                out = np.where(touched, div(out, np.maximum(counts, 1)), x).astype(x.dtype)
        else:
            ufunc = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
            ufunc.at(out, pos, src)
        values = reduce in ("prod", "amax", "amin")  # (the sums do not read the values)
        ctx.save_for_backward(x if values else None, index, src if values else None, touched,
                              counts, out if values else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, index, src, touched, counts, out = ctx.saved_tensors
        a = ctx.attrs
        axis, reduce, inc = a["axis"], a["reduce"], a["include_self"]
        kept = 1.0 - touched.astype(grad.dtype)  # (positions nothing was written to)
        if reduce == "sum":
            return (grad if inc else grad * kept), None, gather(grad, axis, index)
        if reduce == "mean":
            share = grad / OPS["maximum"](counts, 1).astype(grad.dtype)
            dx = grad * kept + share * (1.0 - kept) if inc else grad * kept
            return dx, None, gather(share, axis, index)
        if reduce in ("amax", "amin"):
            # (PyTorch counts x's own value among the ties also with include_self=False,
            # and then gives x nothing where src was written: followed here)
            hit_x = (x == out).astype(grad.dtype)
            hit_src = (src == gather(out, axis, index)).astype(grad.dtype)
            n = hit_x + ScatterAlong.apply(hit_src, index, shape=x.shape, axis=axis)
            share = grad / OPS["where"](n > 0.0, n, 1.0)
            dx = share * hit_x if inc else share * hit_x * kept
            return dx, None, gather(share, axis, index) * hit_src
        # prod (PyTorch's formula): a factor's gradient is grad times the product of the
        # others; zeros are masked to 1 and the product taken again, so it is exact with
        # zeros and differentiable again
        where = OPS["where"]
        keep = dict(axis=axis, reduce="prod", include_self=inc)
        if inc:
            masked = where(x == 0.0, 1.0, x)
            dx = grad * ScatterReduce.apply(masked, index, src, **keep) / masked
        else:
            dx = grad * kept
        zero = src == 0.0
        per_target = ScatterAlong.apply(zero.astype(grad.dtype), index, shape=x.shape,
                                        axis=axis)
        single = zero & (gather(per_target, axis, index) == 1.0)
        without = ScatterReduce.apply(x, index, where(single, 1.0, src), **keep)
        dsrc = where(single, gather(grad * without, axis, index),
                     gather(grad * out, axis, index) / where(zero, 1.0, src))
        return dx, None, dsrc


def _scatter_args(fn: str, x: Tensor, dim: Any, index: Any, src: Any) -> tuple:
    """(axis, index, src cut to index's shape), checked as PyTorch checks them."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    d = one_axis(fn, dim, x.ndim)
    idx = index if isinstance(index, Tensor) else Tensor(np.asarray(index))
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{fn}: index must hold integers, got dtype {idx.dtype}")
    if not isinstance(src, Tensor):
        if isinstance(src, (bool, int, float, np.number)):
            src = Tensor(np.asarray(src, dtype=x.dtype)).broadcast_to(idx.shape)
        else:
            src = Tensor(np.asarray(src))
    if src.dtype != x.dtype:
        raise DTypeError(f"{fn}: src has dtype {src.dtype} but the tensor has {x.dtype}; they "
                         f"must match (PyTorch's rule): convert src first, e.g. "
                         f"src.to(x.dtype)")
    if not idx.ndim == x.ndim == src.ndim and idx.numel():
        raise ShapeError(f"{fn}: index (shape {idx.shape}), the tensor (shape {x.shape}) and "
                         f"src (shape {src.shape}) must have the same number of dims")
    bad = [i for i in range(idx.ndim) if idx.shape[i] > src.shape[i] or (
        i != d and idx.shape[i] > x.shape[i])]
    if bad:
        raise ShapeError(f"{fn}: index of shape {idx.shape} is larger than src (shape "
                         f"{src.shape}) or, outside dim {dim}, the tensor (shape {x.shape}) "
                         f"in dim {bad[0]}")
    n = x.shape[d]
    if idx.numel() and (idx._data.min() < 0 or idx._data.max() >= n):
        raise IndexError(f"{fn}: index values must lie in [0, {n}) for dim {dim} of shape "
                         f"{x.shape}; got [{idx._data.min()}, {idx._data.max()}]")
    if src.shape != idx.shape:
        src = src[tuple(slice(0, k) for k in idx.shape)]
    return x, d, idx, src


def scatter(x: Tensor, dim: int, index: Any, src: Any = None, value: Any = None, *,
            reduce: str | None = None) -> Tensor:
    """x with ``src`` (a tensor, or the number ``value``) written at ``index`` along ``dim``
    (PyTorch's ``scatter``): for dim 1, ``out[i][index[i][j]] = src[i][j]``. Of repeated
    positions the last write wins. ``reduce="add"`` or ``"multiply"`` combines instead
    (:func:`scatter_reduce` with "sum" or "prod")."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a tensor or a number) or value, one of them")
    x, d, idx, src = _scatter_args("scatter", x, dim, index, src if value is None else value)
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ArgumentError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return ScatterReduce.apply(x, idx, src, axis=d, reduce=modes[reduce], include_self=True)
    return Scatter.apply(x, idx, src, axis=d)


def scatter_add(x: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """x with ``src`` added at ``index`` along ``dim`` (repeats accumulate), PyTorch's
    ``scatter_add``."""
    x, d, idx, src = _scatter_args("scatter_add", x, dim, index, src)
    return ScatterReduce.apply(x, idx, src, axis=d, reduce="sum", include_self=True)


def scatter_reduce(x: Tensor, dim: int, index: Any, src: Any, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """x with ``src`` combined into it at ``index`` along ``dim`` by ``reduce`` ("sum",
    "prod", "mean", "amax", "amin"), PyTorch's ``scatter_reduce`` (see
    :class:`ScatterReduce`)."""
    if reduce not in _REDUCTIONS:
        raise ArgumentError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCTIONS)}, "
                            f"got {reduce!r}")
    x, d, idx, src = _scatter_args("scatter_reduce", x, dim, index, src)
    return ScatterReduce.apply(x, idx, src, axis=d, reduce=reduce,
                               include_self=bool(include_self))


# -- selections --------------------------------------------------------------------------------

def masked_select(x: Tensor, mask: Any) -> Tensor:
    """The elements of x where ``mask`` (bool, broadcast with x) is True, as a 1-d tensor in
    C order (PyTorch's ``masked_select``); the gradient goes back to them."""
    m = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}; "
                         f"compare first (e.g. x > 0)")
    index_read(m, "masked_select's mask")
    shape = np.broadcast_shapes(x.shape, m.shape)
    xb = x if x.shape == shape else x.broadcast_to(shape)
    return xb[(m if m.shape == shape else m.broadcast_to(shape)).numpy()]


class Nonzero(Function):
    """The int64 positions of x's nonzero elements, one row (of x.ndim entries) per element,
    in C order. No gradient."""

    @staticmethod
    def forward(ctx, x):
        return np.argwhere(x).astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return None


def nonzero(x: Tensor, *, as_tuple: bool = False) -> Any:
    """The positions of x's nonzero elements: an int64 (count, x.ndim) tensor, or with
    ``as_tuple`` one 1-d tensor per dim (numpy's ``nonzero``), as PyTorch."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    rows = Nonzero.apply(x)
    if not as_tuple:
        return rows
    if x.ndim == 0:  # (PyTorch: one index tensor, [0] or empty)
        return (Tensor(np.zeros(rows.shape[0], dtype=np.int64)),)
    return tuple(rows[:, i] for i in range(x.ndim))


def repeat_interleave(x: Tensor, repeats: Any, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times along ``dim`` (a count, or one count per
    element); without dim, of the flattened tensor (PyTorch's ``repeat_interleave``, numpy's
    ``repeat``). The gradient sums the copies."""
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = one_axis("repeat_interleave", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    reps = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if reps.dtype.kind not in "iu" or reps.ndim > 1 or (reps.ndim == 1 and reps.size not in (
            1, n)) or (reps < 0).any():
        raise ArgumentError(f"repeat_interleave: repeats must be a count >= 0 or one count per "
                            f"element ({n} along dim {dim}), got {repeats!r}")
    idx = np.repeat(np.arange(n), np.broadcast_to(reps, (n,)))
    if output_size is not None and output_size != idx.size:
        raise ShapeError(f"repeat_interleave: output_size={output_size} but the repeats give "
                         f"{idx.size}")
    return index_select(x.reshape(1) if x.ndim == 0 else x, d, Tensor(idx.astype(np.int64)))


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-d (or 0-d) tensors, PyTorch's ``meshgrid``: with
    ``indexing="ij"`` output k varies along dim k; with ``"xy"`` the first two dims are
    swapped (Cartesian, as numpy's default). The outputs are broadcast views (read-only)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if any(t.ndim > 1 for t in ts):
        raise ShapeError(f"meshgrid: expects 0-d or 1-d tensors, got shapes "
                         f"{[t.shape for t in ts]}")
    sizes = [t.numel() for t in ts]
    order = list(range(len(ts)))
    if indexing == "xy" and len(ts) > 1:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[k] for k in order)
    out = []
    for k, t in enumerate(ts):
        at = order.index(k)
        view = [1] * len(ts)
        view[at] = sizes[k]
        out.append(t.reshape(*view).broadcast_to(shape))
    return tuple(out)


__all__ = ["diagonal", "diag", "one_hot", "unfold", "scatter", "scatter_add", "scatter_reduce",
           "masked_select", "nonzero", "repeat_interleave", "meshgrid"]
