"""Ops that move elements around without arithmetic: reshape, transpose/permute, broadcast
and its reverse (sum_to, the one place gradients are reduced over broadcast axes), indexing,
gather, concatenate/stack/split, flip, roll, pad, repeat, tril/triu.

Views, as in numpy and PyTorch: reshape/view, transpose/permute, broadcast_to/expand,
squeeze/unsqueeze, flatten (when numpy can) and basic indexing (ints, slices, None,
Ellipsis) return a tensor that shares memory (and the version counter) with its input, and
sum_to returns its input itself when the shape already matches. Every other op returns new
memory.

PyTorch's names and meanings: ``transpose(d0, d1)`` swaps two dims (numpy's ``transpose()``
and ``transpose(axes)`` permute all of them), ``squeeze(dim)`` leaves a dim that is not 1
alone, ``repeat`` tiles, ``expand`` takes -1 for "keep".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._guard import share_version
from .._tensor import OPS, Tensor
from ..autograd import Function
from ..errors import ArgumentError, DimError, NotSupportedError, ShapeError
from ..trace import index_read
from . import jit_rules, onnx_rules
from .common import dim_args, normalize_axis, one_axis
from .jit_rules import Lowered
from .numerics import ones_vector


class Reshape(Function):
    """out = x with a new ``shape`` (same elements, C order).   dx = grad reshaped back."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.inputs[0].shape)

    @staticmethod
    @onnx_rules.follows_batch
    def to_onnx(g, inputs, attrs, arrays, out):
        shape = list(attrs["shape"])
        if "shape" in g.batch_dependent:
            other = list(g.batch_dependent["shape"])
            differ = [i for i, (p, q) in enumerate(zip(shape, other)) if p != q]
            if differ != [0] or not g.in_batched[0] or arrays[0].shape[0] != out.shape[0]:
                raise onnx_rules.ExportError(
                    f"onnx.export: Reshape to {tuple(shape)} mixes the batch dim with others; a "
                    f"symbolic batch cannot follow it: export with dynamic_batch=False")
            shape[0] = 0  # ONNX: copy the input's dim 0
        return g.node("Reshape", [inputs[0], g.ints(shape)])


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
        return grad.permute(*np.argsort(axes).tolist())

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Transpose", inputs, perm=[int(p) for p in attrs["axes"]])

    @staticmethod
    @jit_rules.assigning
    def lower(ins, out, attrs):
        return Lowered(("{o} = {i0}.transpose({c0})",), consts=(attrs["axes"],), assigns=True)


class BroadcastTo(Function):
    """out = x broadcast to ``shape`` (numpy rules).   dx = sum_to(grad, x.shape)."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to(ctx.inputs[0].shape)

    @staticmethod
    @onnx_rules.follows_batch
    def to_onnx(g, inputs, attrs, arrays, out):
        shape = list(attrs["shape"])
        if "shape" in g.batch_dependent:
            if len(shape) != arrays[0].ndim or not g.in_batched[0]:
                raise onnx_rules.ExportError(
                    "onnx.export: BroadcastTo a batch-sized shape from an input without the "
                    "batch: export with dynamic_batch=False")
            shape[0] = 1  # Expand keeps the input's dim where the target says 1
        return g.node("Expand", [inputs[0], g.ints(shape)])


def _blas_sum(x: np.ndarray, shape: tuple, lead: int) -> bool:
    """Whether :func:`_sum_to` sums ``x``'s ``lead`` leading axes as one BLAS product (a
    C-contiguous float32/float64 x): ones(m) @ x seen as (m, rest), several times faster
    than numpy's reduction over leading axes (0.05 ms against 0.004 ms for (32, 32, 64))."""
    return lead > 0 and x.shape[lead:] == shape and x.flags.c_contiguous and x.size > 0 and \
        (x.dtype == np.float32 or x.dtype == np.float64)


def _sum_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ShapeError(f"cannot reduce shape {x.shape} to the longer shape {shape}")
    if _blas_sum(x, shape, lead):
        m = x.size // max(math.prod(shape), 1)
        out = np.empty(shape, x.dtype)
        np.dot(ones_vector(m, x.dtype), x.reshape(m, -1), out=out.reshape(-1))
        return out
    if lead and x.shape[lead:] == shape:  # only leading axes were added (a bias's gradient)
        # summed without keepdims: a fresh array, not a reshaped view, which the engine
        # would copy before making it a leaf's .grad
        return x.sum(axis=0 if lead == 1 else tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    for i, n in enumerate(shape):
        if n != 1 and x.shape[lead + i] != n:
            raise ShapeError(f"shape {x.shape} was not broadcast from {shape}")
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

    @staticmethod
    def lower(ins, out, attrs):
        # forward's common case: only leading axes were added -> x.sum(axis=leading axes)
        (x,) = ins
        shape = tuple(attrs["shape"])
        lead = x.ndim - len(shape)
        if lead <= 0 or x.shape[lead:] != shape or x.dtype.kind != "f" or out.dtype != x.dtype:
            return None
        if _blas_sum(x, shape, lead):  # as the forward chooses
            if not out.flags.c_contiguous:
                return None
            m = x.size // max(math.prod(shape), 1)
            return Lowered(("dot({c0}, {i0}.reshape({c1}, -1), out={o}.reshape(-1))",),
                           consts=(ones_vector(m, x.dtype), m))
        axis = 0 if lead == 1 else tuple(range(lead))
        return Lowered(("add.reduce({i0}, axis={c0}, out={o})",), consts=(axis,))


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

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        """Basic indexing (ints, slices, None, Ellipsis) as Slice, Squeeze and Unsqueeze, and
        one integer array on one axis as Gather; a boolean mask has a data-dependent shape."""
        index = attrs["index"]
        index = index if isinstance(index, tuple) else (index,)
        shape = arrays[0].shape
        nd = len(shape)
        if any(isinstance(i, np.ndarray) and i.dtype == bool for i in index):
            raise onnx_rules.ExportError("onnx.export: indexing with a boolean mask gives a shape "
                                         "that depends on the data; use tg.where instead")
        used = sum(1 for i in index if i is not None and i is not Ellipsis)
        expanded: list = []
        for i in index:
            expanded += [slice(None)] * (nd - used) if i is Ellipsis else [i]
        expanded += [slice(None)] * (nd - sum(1 for i in expanded if i is not None))
        index_arrays = [i for i in expanded if isinstance(i, (np.ndarray, list))]
        if len(index_arrays) > 1 or (index_arrays and any(i is None for i in expanded)):
            raise onnx_rules.ExportError(
                "onnx.export: indexing with several integer arrays, or with an array and None, "
                "has no ONNX mapping here; index in steps")
        starts, ends, axes, steps, squeeze, new_axes = [], [], [], [], [], []
        gather = None
        in_ax = out_ax = 0
        for i in expanded:
            if i is None:
                new_axes.append(out_ax)
                out_ax += 1
                continue
            batch = g.dynamic_batch and in_ax == 0 and g.in_batched[0]
            if isinstance(i, slice):
                st, en, sp = i.indices(shape[in_ax])
                if (st, en, sp) != (0, shape[in_ax], 1):
                    if batch:
                        raise onnx_rules.ExportError(
                            "onnx.export: slicing the batch dim; a symbolic batch cannot follow "
                            "it: export with dynamic_batch=False")
                    starts.append(st)
                    ends.append(-onnx_rules.INT64_MAX if sp < 0 and en < 0 else en)
                    axes.append(in_ax)
                    steps.append(sp)
                out_ax += 1
            elif isinstance(i, (int, np.integer)):
                if batch:
                    raise onnx_rules.ExportError("onnx.export: an integer index on the batch "
                                                 "dim; export with dynamic_batch=False")
                k = int(i) % shape[in_ax]
                starts.append(k)
                ends.append(k + 1)
                axes.append(in_ax)
                steps.append(1)
                squeeze.append(in_ax)
            else:
                idx = np.asarray(i, dtype=np.int64)
                gather = (in_ax, idx)
                out_ax += idx.ndim
            in_ax += 1
        src = inputs[0]
        if starts:
            src = g.node("Slice", [src, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
        if gather is not None:
            ax, idx = gather
            src = g.node("Gather", [src, g.const(idx)], axis=ax)
            squeeze = [s + idx.ndim - 1 if s > ax else s for s in squeeze]
        if squeeze:
            src = g.node("Squeeze", [src, g.ints(squeeze)])
        if new_axes:
            src = g.node("Unsqueeze", [src, g.ints(new_axes)])
        return src


class Split(GetItem):
    """One piece of ``split``/``chunk``: out = x[index], the slice of x along ``dim`` that is
    piece ``piece`` ("2/3") of what the function ``fn`` ("split" or "chunk") returned; a view
    of x. :class:`GetItem` under the name the user wrote: a drawn graph shows ``chunk 2/3
    dim=1`` (:meth:`graph_label`).   dx = grad scattered back into zeros of x's shape."""

    @staticmethod
    def forward(ctx, x, index, fn, piece, dim):
        return x[index]

    @staticmethod
    def graph_label(attrs: dict) -> str:
        """The text a rendered graph shows for this op (instead of its class name and every
        attribute): the function, the piece and the dim."""
        return f"{attrs['fn']} {attrs['piece']} dim={attrs['dim']}"


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

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Concat", [onnx_rules.typed(g, n, arr, out.dtype)
                                 for n, arr in zip(inputs, arrays)], axis=int(attrs["axis"]))


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

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        axis = int(attrs["axis"]) % out.ndim
        parts = [g.node("Unsqueeze", [onnx_rules.typed(g, n, arr, out.dtype), g.ints([axis])])
                 for n, arr in zip(inputs, arrays)]
        return g.node("Concat", parts, axis=axis)

class Flip(Function):
    """out = x reversed along ``axes``.   dx = grad reversed along the same axes."""

    @staticmethod
    def forward(ctx, x, axes):
        return np.flip(x, axis=axes).copy()

    @staticmethod
    def backward(ctx, grad):
        return grad.flip(ctx.attrs["axes"])

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        axes = onnx_rules.axes_tuple(attrs["axes"], arrays[0].ndim)
        n = len(axes)
        return g.node("Slice", [inputs[0], g.ints([-1] * n), g.ints([-onnx_rules.INT64_MAX] * n),
                                g.ints(axes), g.ints([-1] * n)])


class Roll(Function):
    """out = x shifted by ``shifts`` along ``axes`` (elements that fall off one end come back
    at the other; numpy's and PyTorch's ``roll``).   dx = grad rolled back."""

    @staticmethod
    def forward(ctx, x, shifts, axes):
        if axes is None:
            return np.roll(x, shifts)
        return np.roll(x, shifts, axis=axes)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        back = tuple(-s for s in a["shifts"]) if isinstance(a["shifts"], tuple) else -a["shifts"]
        return grad.roll(back, a["axes"])

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        shifts, axes = attrs["shifts"], attrs["axes"]
        src = inputs[0]
        if axes is None:  # numpy's roll of the flattened array
            src = g.node("Reshape", [src, g.ints([-1])])
            shifts, axes, sizes = (shifts,), (0,), (arrays[0].size,)
        else:
            shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
            axes = onnx_rules.axes_tuple(axes, arrays[0].ndim)
            sizes = tuple(arrays[0].shape[ax] for ax in axes)
        for s_, ax, n in zip(shifts, axes, sizes):
            k = int(s_) % n if n else 0
            if k:
                tail = g.node("Slice", [src, g.ints([n - k]), g.ints([n]), g.ints([ax])])
                head = g.node("Slice", [src, g.ints([0]), g.ints([n - k]), g.ints([ax])])
                src = g.node("Concat", [tail, head], axis=int(ax))
        if attrs["axes"] is None:
            src = g.node("Reshape", [src, g.ints(arrays[0].shape)])
        return src


class Tri(Function):
    """out = x with the elements above (``upper=False``: tril) or below (``upper=True``:
    triu) the ``diagonal``-th diagonal of the last two axes set to 0.
    dx = grad with the same elements set to 0."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        return np.triu(x, diagonal) if upper else np.tril(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return Tri.apply(grad, diagonal=a["diagonal"], upper=a["upper"])

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        k = g.const(np.asarray(int(attrs["diagonal"]), np.int64))
        return g.node("Trilu", [inputs[0], k], upper=int(bool(attrs["upper"])))


class Gather(Function):
    """out[..., j, ...] = x[..., index[..., j, ...], ...] along ``axis`` (``torch.gather``,
    numpy's ``take_along_axis``).   dx = grad added into zeros at the gathered positions
    (repeated indices accumulate); index gets none."""

    @staticmethod
    def forward(ctx, x, index, axis):
        ctx.save_for_backward(index)
        return np.take_along_axis(x, index, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return (ScatterAlong.apply(grad, index, shape=ctx.inputs[0].shape,
                                   axis=ctx.attrs["axis"]), None)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        index = onnx_rules.typed(g, inputs[1], arrays[1], np.int64)
        return g.node("GatherElements", [inputs[0], index], axis=int(attrs["axis"]))


class ScatterAlong(Function):
    """out = zeros(shape) with x added at ``index`` along ``axis`` (repeats accumulate):
    Gather's gradient.   dx = gather(grad, index)."""

    @staticmethod
    def forward(ctx, x, index, shape, axis):
        ctx.save_for_backward(index)
        out = np.zeros(shape, dtype=x.dtype)
        full = list(np.indices(index.shape, sparse=True))
        full[axis] = index
        np.add.at(out, tuple(full), x)
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return Gather.apply(grad, index, axis=ctx.attrs["axis"]), None


class IndexSelect(Function):
    """out = x taken at the 1-d ``index`` along ``axis`` (``torch.index_select``, numpy's
    ``take``).   dx = grad added into zeros at those positions (repeats accumulate)."""

    @staticmethod
    def forward(ctx, x, index, axis):
        ctx.save_for_backward(index)
        return np.take(x, index, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        return IndexAdd.apply(grad, index, size=ctx.inputs[0].shape[axis], axis=axis), None

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        index = onnx_rules.typed(g, inputs[1], arrays[1], np.int64)
        return g.node("Gather", [inputs[0], index], axis=int(attrs["axis"]))


class IndexAdd(Function):
    """out = zeros with ``size`` along ``axis``, and x's slices added at ``index`` along it
    (repeats accumulate): IndexSelect's gradient.   dx = index_select(grad, index)."""

    @staticmethod
    def forward(ctx, x, index, size, axis):
        ctx.save_for_backward(index)
        shape = list(x.shape)
        shape[axis] = size
        out = np.zeros(shape, dtype=x.dtype)
        moved = np.moveaxis(out, axis, 0)
        _add_rows(moved, index, np.moveaxis(x, axis, 0))
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return IndexSelect.apply(grad, index, axis=ctx.attrs["axis"]), None


def _add_rows(out: np.ndarray, index: np.ndarray, rows: np.ndarray) -> None:
    """out[index[i]] += rows[i] for every i, repeats accumulating (np.add.at's meaning).
    For many rows: sorted by index (stably), each run of equal indices summed by one
    add.reduceat and written once, about 4x as fast as np.add.at (0.1 ms against 0.45 ms
    for a (1024, 64) embedding gradient)."""
    index = np.asarray(index)
    if index.ndim != 1 or index.size < 64 or index.dtype.kind not in "iu":
        np.add.at(out, index, rows)
        return
    n = out.shape[0]
    if index.min() < -n or index.max() >= n:
        np.add.at(out, index, rows)  # (numpy's IndexError, naming the bad index)
        return
    index = np.where(index < 0, index + n, index)  # (-1 and n - 1 are one row)
    order = np.argsort(index, kind="stable")
    ranked = index[order]
    starts = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
    out[ranked[starts]] += np.add.reduceat(rows[order], starts, axis=0)


class Repeat(Function):
    """out = x tiled ``reps`` times along each axis (PyTorch's ``repeat``, numpy's ``tile``;
    leading reps add axes).   dx = the sum of grad's tiles."""

    @staticmethod
    def forward(ctx, x, reps):
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, grad):
        reps = ctx.attrs["reps"]
        shape = (1,) * (len(reps) - ctx.inputs[0].ndim) + ctx.inputs[0].shape
        split = [d for pair in zip(reps, shape) for d in pair]  # (r0, s0, r1, s1, ...)
        g = grad.reshape(*split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(ctx.inputs[0].shape)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        reps = [int(r) for r in attrs["reps"]]
        src = inputs[0]
        if len(reps) > arrays[0].ndim:
            lead = [1] * (len(reps) - arrays[0].ndim)
            src = g.node("Reshape", [src, g.ints(lead + list(arrays[0].shape))])
        return g.node("Tile", [src, g.ints(reps)])


class Pad(Function):
    """out = x padded by ``widths`` ((before, after) per axis) with ``mode``: "constant"
    (``value``), "reflect" (mirrored, edge not repeated), "replicate" (edge repeated) or
    "circular" (wrapped).   dx = the centre of grad, plus (for reflect, replicate and
    circular) the border gradients added back onto the elements they copied."""

    @staticmethod
    def forward(ctx, x, widths, mode, value):
        if mode == "constant":
            return np.pad(x, widths, mode="constant", constant_values=value)
        return np.pad(x, widths, mode={"reflect": "reflect", "replicate": "edge",
                                       "circular": "wrap"}[mode])

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        g = grad
        for axis, (lo, hi) in enumerate(a["widths"]):
            if lo == 0 and hi == 0:
                continue
            n = g.shape[axis] - lo - hi
            g = _unpad_axis(g, axis, lo, hi, n, a["mode"])
        return g

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                "circular": "wrap"}[attrs["mode"]]
        if mode == "wrap" and g.opset < 19:
            raise onnx_rules.ExportError("onnx.export: circular padding needs opset 19 (Pad mode "
                                         "'wrap')")
        value = onnx_rules.scalar(g, attrs.get("value", 0.0) or 0.0, out)
        return g.node("Pad", [inputs[0], g.ints(onnx_rules.pads(attrs["widths"])), value],
                      mode=mode)


def _take(t: Tensor, axis: int, start: int, stop: int) -> Tensor:
    return t[(slice(None),) * axis + (slice(start, stop),)]


def _unpad_axis(g: Tensor, axis: int, lo: int, hi: int, n: int, mode: str) -> Tensor:
    """The gradient of padding one axis by (lo, hi) around n elements (Tensor ops)."""
    centre = _take(g, axis, lo, lo + n)
    if mode == "constant" or (lo == 0 and hi == 0):
        return centre
    parts = [centre]
    if mode == "replicate":
        if lo:
            edge = _take(g, axis, 0, lo).sum(axis, keepdims=True)
            parts.append(OPS["pad"](edge, _pad_spec(g.ndim, axis, 0, n - 1)))
        if hi:
            edge = _take(g, axis, lo + n, lo + n + hi).sum(axis, keepdims=True)
            parts.append(OPS["pad"](edge, _pad_spec(g.ndim, axis, n - 1, 0)))
    elif mode == "reflect":  # before: x[lo], ..., x[1] mirrored; after: x[n-2], ..., x[n-1-hi]
        if lo:
            left = _take(g, axis, 0, lo).flip(axis)  # now for x[1], ..., x[lo]
            parts.append(OPS["pad"](left, _pad_spec(g.ndim, axis, 1, n - 1 - lo)))
        if hi:
            right = _take(g, axis, lo + n, lo + n + hi).flip(axis)  # x[n-1-hi], ..., x[n-2]
            parts.append(OPS["pad"](right, _pad_spec(g.ndim, axis, n - 1 - hi, 1)))
    else:  # circular: before copies x[n-lo:], after copies x[:hi]
        if lo:
            parts.append(OPS["pad"](_take(g, axis, 0, lo), _pad_spec(g.ndim, axis, n - lo, 0)))
        if hi:
            parts.append(OPS["pad"](_take(g, axis, lo + n, lo + n + hi),
                                    _pad_spec(g.ndim, axis, 0, n - hi)))
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _pad_spec(ndim: int, axis: int, lo: int, hi: int) -> tuple:
    """A PyTorch-order pad tuple that pads only ``axis`` by (lo, hi) with zeros."""
    spec = [0, 0] * (ndim - axis)
    spec[-2], spec[-1] = lo, hi
    return tuple(spec)


class Embedding(Function):
    """out[..., :] = weight[index[...], :] (a table lookup; index holds integers).
    dweight = grad's rows added at their indices (repeats accumulate), except at
    ``padding_idx``, whose row never gets a gradient (PyTorch's rule); index gets none."""

    @staticmethod
    def forward(ctx, weight, index, padding_idx):
        ctx.save_for_backward(index)
        return weight[index]

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        weight = ctx.inputs[0]
        dim = weight.shape[1]
        flat = index.reshape(-1)
        g = grad.reshape(-1, dim)
        pad = ctx.attrs["padding_idx"]
        if pad is not None:
            g = g * (flat != pad).astype(g.dtype).unsqueeze(1)
        return IndexAdd.apply(g, flat, size=weight.shape[0], axis=0), None

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        index = onnx_rules.typed(g, inputs[1], arrays[1], np.int64)
        return g.node("Gather", [inputs[0], index], axis=0)


class Clone(Function):
    """out = a copy of x (new memory).   dx = grad."""
    to_onnx = onnx_rules.simple("Identity")

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Contiguous(Clone):
    """out = x copied into C-contiguous memory: what ``x.contiguous()`` records when x is not
    contiguous already. :class:`Clone` under the name the user wrote.   dx = grad."""


# -- the functional face ----------------------------------------------------------------

def _ints(fn: str, values: Any) -> tuple[int, ...]:
    """Sizes or dims given as ``f(2, 3)`` or ``f((2, 3))`` (also a list or a torch-style
    Size), as a tuple of ints."""
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = tuple(values[0])
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{fn}: expected ints, got {v!r} in {values!r}")
        out.append(int(v))
    return tuple(out)


def _shape_arg(shape: tuple) -> tuple:
    return _ints("reshape", shape)


def _resolve_shape(fn: str, x: Tensor, shape: tuple) -> tuple[int, ...]:
    """``shape`` with its one -1 worked out; ValueError naming both shapes if it cannot fit."""
    size = x._data.size
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1 or any(n < -1 for n in shape):
        raise ArgumentError(f"{fn}: shape {shape} may hold one -1 and otherwise sizes >= 0")
    known = int(np.prod([n for n in shape if n != -1]))
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"{fn}: cannot reshape a tensor of shape {x.shape} ({size} "
                             f"elements) into {shape}")
        shape = shape[:unknown[0]] + (size // known,) + shape[unknown[0] + 1:]
    elif known != size:
        raise ShapeError(f"{fn}: cannot reshape a tensor of shape {x.shape} ({size} elements) "
                         f"into {shape} ({known} elements)")
    return shape


def _reshape_without_copy(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` reshaped as a view, or ValueError/AttributeError if that needs a copy."""
    try:
        return np.reshape(a, shape, copy=False)
    except TypeError:  # numpy < 2.1 has no copy=: assigning .shape never copies
        v = a.view()
        v.shape = shape
        return v


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """``x`` with a new shape (one entry may be -1); a view of x when numpy can make one, a
    copy otherwise. Both ``reshape(x, (2, 3))`` and ``x.reshape(2, 3)`` work."""
    shape = _resolve_shape("reshape", x, _ints("reshape", shape))
    if shape == x._data.shape:
        return x
    return Reshape.apply(x, shape=shape)


class BitCast(Function):
    """out = x's bytes read as ``dtype`` (numpy's ``view(dtype)``, PyTorch's ``view(dtype)``):
    the last dim scales by the ratio of the item sizes. No gradient."""

    @staticmethod
    def forward(ctx, x, dtype):
        return np.ascontiguousarray(x).view(dtype)

    @staticmethod
    def backward(ctx, grad):
        return None


def _is_dtype(value: Any) -> bool:
    if isinstance(value, (int, np.integer, tuple, list)) or value is None:
        return False
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def view(x: Tensor, *shape: Any) -> Tensor:
    """:func:`reshape` that always shares memory with x, as PyTorch's ``view``; a shape
    that needs a copy (x not contiguous in the right way) is a RuntimeError that says to use
    ``reshape``. ``view(dtype)`` reinterprets the bytes as ``dtype`` (no gradient; the last
    dim scales by the ratio of the item sizes)."""
    if len(shape) == 1 and _is_dtype(shape[0]):
        dtype = np.dtype(shape[0])
        if x.ndim == 0 and dtype.itemsize != x.dtype.itemsize:
            raise ShapeError(f"view: a 0-d tensor of {x.dtype} cannot be viewed as {dtype} "
                             f"(another item size)")
        if x.ndim and (x.shape[-1] * x.dtype.itemsize) % dtype.itemsize:
            raise ShapeError(f"view: the last dim of shape {x.shape} ({x.dtype}) does not hold "
                             f"a whole number of {dtype} items")
        return BitCast.apply(x, dtype=dtype)
    shape = _resolve_shape("view", x, _ints("view", shape))
    try:
        _reshape_without_copy(x._data, shape)
    except (AttributeError, ValueError):
        raise RuntimeError(f"view: a tensor of shape {x.shape} with strides "
                           f"{x._data.strides} cannot be viewed as {shape} without copying; "
                           f"use .reshape(...) instead") from None
    return reshape(x, shape)


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """With two dims, ``transpose(x, d0, d1)`` swaps them (PyTorch). Otherwise the numpy
    meaning: no axes reverse them all, a tuple (or three or more dims) is the full
    permutation. A view of x."""
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                              for a in axes):
        d0, d1 = (one_axis("transpose", a, x.ndim) for a in axes)
        perm = list(range(x.ndim))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return Transpose.apply(x, axes=tuple(perm)) if d0 != d1 else x
    perm = _ints("transpose", axes) if axes and axes != (None,) else None
    return _permute("transpose", x, perm)


def _permute(fn: str, x: Tensor, perm: tuple | None) -> Tensor:
    if perm is not None:
        if len(perm) == x.ndim:
            normalize_axis(perm, x.ndim, fn)  # (out of range: DimError; repeated: ArgumentError)
            perm = tuple(int(a) % x.ndim for a in perm)
        if len(perm) != x.ndim or sorted(perm) != list(range(x.ndim)):
            raise ArgumentError(f"{fn}: dims {perm} are not a permutation of the {x.ndim} dims "
                                f"of shape {x.shape}")
    return Transpose.apply(x, axes=perm)


def permute(x: Tensor, *dims: Any) -> Tensor:
    """The dims of x in the order ``dims`` (a full permutation, as PyTorch); a view of x."""
    return _permute("permute", x, _ints("permute", dims))


def t(x: Tensor) -> Tensor:
    """The transpose of a matrix (PyTorch's ``t``: at most 2 dims; a vector or a 0-d tensor
    is returned as is); a view of x."""
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor of at most 2 dims, got shape {x.shape}; use "
                         f"transpose(d0, d1) or mT")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def unflatten(x: Tensor, dim: int, sizes: Any) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one of them may be -1), PyTorch's ``unflatten``; a
    view of x when numpy can make one."""
    d = one_axis("unflatten", dim, x.ndim)
    sizes = _ints("unflatten", (sizes,))
    n = x.shape[d]
    known = int(np.prod([k for k in sizes if k != -1]))
    if sizes.count(-1) > 1 or (-1 not in sizes and known != n) or (
            -1 in sizes and (known == 0 or n % known)):
        raise ShapeError(f"unflatten: sizes {sizes} do not split dim {dim} of size {n} "
                         f"(shape {x.shape})")
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def swap_last(x: Tensor) -> Tensor:
    """x with its last two dims swapped (PyTorch's ``.mT``); a view of x."""
    if x.ndim < 2:
        raise ShapeError(f"mT: needs at least 2 dims, got shape {x.shape}")
    return transpose(x, -2, -1)


def broadcast_to(x: Tensor, shape: Any) -> Tensor:
    """``x`` broadcast to ``shape`` by numpy's rules; a read-only view of x."""
    shape = _ints("broadcast_to", (shape,)) if not isinstance(shape, int) else (shape,)
    if shape == x.shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """x broadcast to ``sizes`` (PyTorch's ``expand``): -1 keeps a dim's size, new dims may be
    added in front; a read-only view of x."""
    sizes = _ints("expand", sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes given for a tensor of {x.ndim} dims "
                         f"(shape {x.shape}); give at least {x.ndim}")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n
                  for i, n in enumerate(sizes))
    if any(n < 0 for n in shape):
        raise ArgumentError(f"expand: -1 is only allowed for an existing dim, got {sizes}")
    try:
        np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ShapeError(f"expand: a tensor of shape {x.shape} cannot be expanded to {shape} "
                         f"(only dims of size 1 stretch)") from None
    return broadcast_to(x, shape)


def sum_to(x: Tensor, shape: Any) -> Tensor:
    """Sum ``x`` over the axes broadcasting would have added or stretched to reach x's shape
    from ``shape``: the reverse of :func:`broadcast_to`. When ``shape`` is already x's shape,
    x itself is returned (no op is recorded)."""
    shape = tuple(shape)
    if shape == x._data.shape:
        return x
    return SumTo.apply(x, shape=shape)


def squeeze(x: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """Remove size-1 dims: all of them, or those in ``dim`` (an int or a tuple). As in
    PyTorch, a named dim whose size is not 1 is left alone; a view of x."""
    d, _ = dim_args("squeeze", dim, axis)
    if d is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = normalize_axis(d, x.ndim, "squeeze")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """x with a new size-1 dim at ``dim`` (``-x.ndim - 1 <= dim <= x.ndim``); a view of x."""
    dim, _ = dim_args("unsqueeze", dim, axis)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"unsqueeze: dim must be an int, got {dim!r}")
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise DimError(f"unsqueeze: dim {dim} is out of range for a tensor of {x.ndim} dims "
                       f"(expected {-x.ndim - 1}..{x.ndim})")
    d = int(dim) % (x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand_dims(x: Tensor, axis: Any) -> Tensor:
    """Insert size-1 axes at ``axis`` (numpy's name; one int or a tuple); a view of x."""
    try:
        shape = np.expand_dims(x._data, axis).shape
    except (ValueError, np.exceptions.AxisError) as err:
        raise DimError(f"expand_dims: {err} (shape {x.shape}, axis={axis})") from None
    return reshape(x, shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` … ``end_dim`` into one (PyTorch's ``flatten``; all of them by
    default). A 0-d tensor becomes shape (1,). A view of x when numpy can make one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s = one_axis("flatten", start_dim, x.ndim)
    e = one_axis("flatten", end_dim, x.ndim)
    if s > e:
        raise ArgumentError(f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for "
                            f"shape {x.shape}")
    return reshape(x, x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


def _plain_index(index: Any) -> Any:
    """Tensors and lists inside an index become ndarrays of their own: the index is kept for
    backward, so a later write into the caller's index must not change it."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        index_read(index, "x[t] with a tensor t in the index")
        return index._data.copy()
    if isinstance(index, (list, np.ndarray)):
        return np.array(index)
    return index


def _is_mask(i: Any) -> bool:
    return isinstance(i, np.ndarray) and i.dtype == bool


def _check_masks(fn: str, shape: tuple[int, ...], index: Any) -> None:
    """Raise IndexError unless every boolean mask in ``index`` has exactly the shape of the
    dims it indexes (numpy and PyTorch refuse the rest; converted to positions, a short mask
    would silently pick fewer rows)."""
    items = index if isinstance(index, tuple) else (index,)
    used = [0 if i is None or i is Ellipsis else i.ndim if _is_mask(i) else 1 for i in items]
    pos = 0
    for i, k in zip(items, used):
        if i is Ellipsis:  # it stands for the dims no other item uses
            pos += len(shape) - sum(used)
            continue
        if _is_mask(i) and i.ndim and i.shape != tuple(shape[pos:pos + k]):
            if pos + k > len(shape):
                what = (f"indexes {k} dim{'s' * (k != 1)} from dim {pos}, but the tensor "
                        f"has {max(len(shape) - pos, 0)} there")
            else:
                dims = f"dim {pos}" if k == 1 else f"dims {pos}..{pos + k - 1}"
                what = f"does not match the indexed {dims} of shape {tuple(shape[pos:pos + k])}"
            raise IndexError(f"{fn}: a boolean mask of shape {i.shape} {what} (tensor shape "
                             f"{tuple(shape)}); a mask must have the shape of the dims it "
                             f"indexes")
        pos += k


def _is_int(i: Any) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def split_ints(index: Any) -> tuple | None:
    """PyTorch's placement for an index that mixes ints with array indices: the ints are
    basic indexing, applied first, so ``x[0, :, idx]`` of x (3, 4, 5) is (4, len(idx)) where
    numpy (counting the int as an array index, separated from idx by the slice) gives
    (len(idx), 4). Returns (ints and slices, the rest) to apply one after the other, or None
    when numpy's placement already is PyTorch's."""
    if not isinstance(index, tuple):
        return None
    # a 0-d integer tensor indexes as an int does (PyTorch's rule)
    index = tuple(i.item() if isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in
                  "iu" else i for i in index)
    arrays = [isinstance(i, np.ndarray) or isinstance(i, tuple) for i in index]
    if not any(arrays) or not any(_is_int(i) for i in index):
        return None
    first, then = [], []
    for i, is_array in zip(index, arrays):
        if is_array:  # a mask of k dims stands for k dims in the first step
            width = i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else 1
            first.extend([slice(None)] * width)
            then.append(i)
        elif _is_int(i):
            first.append(i)
        else:  # a slice, None or Ellipsis: applied first; its dim is whole in the second step
            first.append(i)
            then.append(Ellipsis if i is Ellipsis else slice(None))
    return tuple(first), tuple(then)


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]``: basic slicing, integer and boolean array indexing, as numpy, and where
    ints and array indices mix, PyTorch's placement (the ints index first: ``x[0, :, idx]``
    is ``x[0][:, idx]``). Basic slicing gives a view of x; integer and boolean arrays give a
    copy. A boolean mask must have the shape of the dims it indexes, else IndexError (as
    numpy and PyTorch)."""
    index = _plain_index(index)
    steps = split_ints(index)
    if steps is not None:
        return getitem(getitem(x, steps[0]), steps[1])
    if _is_mask(index) or (isinstance(index, tuple) and any(_is_mask(i) for i in index)):
        _check_masks("getitem", x.shape, index)
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


def _tensor_list(fn: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{fn}: expected a sequence of tensors, got a single Tensor; wrap it "
                        f"in a list")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ArgumentError(f"{fn}: need at least one tensor")
    return tensors


def concatenate(tensors: Any, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing ``dim`` (default 0). ``tg.cat`` is this function."""
    d, _ = dim_args("cat", dim, axis)
    tensors = _tensor_list("cat", tensors)
    d = one_axis("cat", 0 if d is None else d, tensors[0].ndim)
    return Concatenate.apply(*tensors, axis=d)


cat = concatenate


def stack(tensors: Any, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Stack same-shaped tensors along a new ``dim`` (default 0)."""
    d, _ = dim_args("stack", dim, axis)
    tensors = _tensor_list("stack", tensors)
    d = 0 if d is None else d
    if not -tensors[0].ndim - 1 <= d <= tensors[0].ndim:
        raise DimError(f"stack: dim {d} is out of range for tensors of {tensors[0].ndim} "
                       f"dims")
    return Stack.apply(*tensors, axis=int(d) % (tensors[0].ndim + 1))


def split(x: Tensor, split_size_or_sections: Any, dim: int | None = None, *,
          axis: int | None = None) -> tuple[Tensor, ...]:
    """Split x along ``dim`` into pieces of ``split_size_or_sections`` elements (an int: the
    last piece may be smaller) or of the listed sizes (which must add up to the dim's size),
    as PyTorch's ``split``; the pieces are views of x."""
    dim = _dim_or("split", dim, axis, 0)
    d = one_axis("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(
            split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ArgumentError(f"split: split_size must be a positive int, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = list(_ints("split", (split_size_or_sections,)))
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(f"split: sections {sizes} must be >= 0 and add up to {n}, the size "
                             f"of dim {dim} of shape {x.shape}")
    return _pieces(x, sizes, d, "split")


def _pieces(x: Tensor, sizes: list[int], d: int, fn: str) -> tuple[Tensor, ...]:
    """The views of x along dim ``d`` of the given sizes, each a :class:`Split` node."""
    out, start = [], 0
    for k, size in enumerate(sizes):
        piece = Split.apply(x, index=(slice(None),) * d + (slice(start, start + size),),
                            fn=fn, piece=f"{k + 1}/{len(sizes)}", dim=d)
        share_version(x, piece)  # a view: an in-place write into it changes x
        out.append(piece)
        start += size
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int | None = None, *,
          axis: int | None = None) -> tuple[Tensor, ...]:
    """Split x into ``chunks`` pieces along ``dim``, as PyTorch's ``chunk``: each of
    ceil(size / chunks) elements, the last smaller (so there may be fewer pieces)."""
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be a positive int, got {chunks!r}")
    dim = _dim_or("chunk", dim, axis, 0)
    d = one_axis("chunk", dim, x.ndim)
    n = x.shape[d]
    size = max(-(-n // int(chunks)), 1)
    return _pieces(x, [size] * (n // size) + ([n % size] if n % size else []), d, "chunk")


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of x along ``dim``, with that dim removed (PyTorch's ``unbind``): a tuple
    of x.shape[dim] views of x.   dx: each slice's gradient scattered back into its place."""
    if x.ndim == 0:
        raise DimError("unbind: a 0-d tensor has no dim to unbind (as PyTorch)")
    d = one_axis("unbind", dim, x.ndim)
    n = x.shape[d]
    out = []
    for k in range(n):
        piece = Split.apply(x, index=(slice(None),) * d + (k,), fn="unbind",
                            piece=f"{k + 1}/{n}", dim=d)
        share_version(x, piece)
        out.append(piece)
    return tuple(out)


def flip(x: Tensor, *dims: Any) -> Tensor:
    """x reversed along ``dims`` (PyTorch's ``flip``: ``x.flip(0)`` or ``x.flip((0, 1))``)."""
    axes = normalize_axis(_ints("flip", dims), x.ndim, "flip")
    return Flip.apply(x, axes=axes) if axes else x


def roll(x: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """x rolled by ``shifts`` along ``dims`` (both ints, or tuples of one length); without
    dims, the flattened tensor is rolled and reshaped back (one shift, also as ``(1,)``)."""
    if dims is None:
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:
                raise ArgumentError(f"roll: without dims, give one shift (the flattened "
                                    f"tensor is rolled), got shifts={tuple(shifts)}")
            shifts = shifts[0]
        if isinstance(shifts, bool) or not isinstance(shifts, (int, np.integer)):
            raise TypeError(f"roll: shifts must be ints, got {shifts!r}")
        return Roll.apply(x, shifts=int(shifts), axes=None)
    if isinstance(shifts, (int, np.integer)) and isinstance(dims, (int, np.integer)):
        return Roll.apply(x, shifts=int(shifts), axes=one_axis("roll", dims, x.ndim))
    shifts, dims = _ints("roll", (shifts,)), _ints("roll", (dims,))
    if len(shifts) != len(dims):
        raise ArgumentError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return Roll.apply(x, shifts=shifts, axes=tuple(one_axis("roll", d, x.ndim) for d in dims))


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _crop(x: Tensor, crops: list) -> Tensor:
    """x without ``crops[axis] = (before, after)`` elements at each end of each axis."""
    if not any(lo or hi for lo, hi in crops):
        return x
    return x[tuple(slice(lo, n - hi) for (lo, hi), n in zip(crops, x.shape))]


def pad(x: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) widths starting from the LAST dim,
    e.g. ``(1, 1)`` pads the last dim, ``(1, 1, 2, 2)`` the last two. ``mode``: "constant"
    (with ``value``, 0 by default), "reflect", "replicate" or "circular". A negative width
    crops, as PyTorch: for reflect and replicate after padding (what is mirrored or repeated
    is the whole input), for circular before (the cropped input wraps around)."""
    widths = _ints("pad", (pad,))
    if len(widths) % 2 or len(widths) // 2 > x.ndim:
        raise ArgumentError(f"pad: needs an even number of widths, a (before, after) pair per "
                            f"dim from the last, at most 2 per dim; got {widths} for shape "
                            f"{x.shape}")
    if mode not in _PAD_MODES:
        raise NotSupportedError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                                f"'circular', got {mode!r}")
    grow, crop = [(0, 0)] * x.ndim, [(0, 0)] * x.ndim
    for k in range(len(widths) // 2):
        lo, hi = widths[2 * k], widths[2 * k + 1]
        axis = x.ndim - 1 - k
        n = x.shape[axis]
        if n + lo + hi < 0:
            raise ShapeError(f"pad: widths ({lo}, {hi}) would leave a negative size for dim "
                             f"{axis} of size {n} (shape {x.shape})")
        grow[axis], crop[axis] = (max(lo, 0), max(hi, 0)), (max(-lo, 0), max(-hi, 0))
        if mode == "circular":
            n -= crop[axis][0] + crop[axis][1]
        _check_pad(mode, axis, grow[axis], n, x.shape)
    if mode == "circular":
        x = _crop(x, crop)
    out = Pad.apply(x, widths=tuple(grow), mode=mode,  # (new memory, also for no padding)
                    value=float(value or 0.0) if mode == "constant" else None)
    return out if mode == "circular" else _crop(out, crop)


def _check_pad(mode: str, axis: int, widths: tuple, n: int, shape: tuple) -> None:
    lo, hi = widths
    if mode == "reflect" and (lo >= n or hi >= n) and (lo or hi):
        raise ShapeError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the size {n} "
                         f"of dim {axis} (shape {shape})")
    if mode in ("replicate", "circular") and n == 0 and (lo or hi):
        raise ShapeError(f"pad: cannot {mode}-pad the empty dim {axis} of shape {shape}")
    if mode == "circular" and (lo > n or hi > n):
        raise ShapeError(f"pad: circular padding ({lo}, {hi}) must be at most the size {n} of "
                         f"dim {axis} (shape {shape}, after cropping)")


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements above the ``diagonal`` zeroed)."""
    if x.ndim < 2:
        raise ShapeError(f"tril: needs at least 2 dims, got shape {x.shape}")
    return Tri.apply(x, diagonal=int(diagonal), upper=False)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements below the ``diagonal`` zeroed)."""
    if x.ndim < 2:
        raise ShapeError(f"triu: needs at least 2 dims, got shape {x.shape}")
    return Tri.apply(x, diagonal=int(diagonal), upper=True)


def _index_tensor(fn: str, index: Any) -> Tensor:
    idx = index if isinstance(index, Tensor) else Tensor(np.asarray(index))
    if idx._data.dtype.kind not in "iu":
        raise TypeError(f"{fn}: index must hold integers, got dtype {idx._data.dtype}"
                        + ("; call .long() on it" if idx._data.dtype.kind == "f" else ""))
    return idx


def _dim_or(fn: str, dim: Any, axis: Any, default: int) -> Any:
    d, _ = dim_args(fn, dim, axis)
    return default if d is None else d


def gather(x: Tensor, dim: int | None = None, index: Any = None, *,
           axis: int | None = None) -> Tensor:
    """``out[i][j] = x[i][index[i][j]]`` for dim=1 (PyTorch's ``gather``): ``index`` has x's
    number of dims, and along ``dim`` picks positions of x."""
    dim = _dim_or("gather", dim, axis, None)
    if dim is None or index is None:
        raise TypeError("gather: give dim (or axis) and index")
    d = one_axis("gather", dim, x.ndim)
    idx = _index_tensor("gather", index)
    if idx.ndim != x.ndim:
        raise ShapeError(f"gather: index must have as many dims as the input, got index "
                         f"shape {idx.shape} for input shape {x.shape}")
    bad = [i for i in range(x.ndim) if i != d and idx.shape[i] > x.shape[i]]
    if bad:
        raise ShapeError(f"gather: index shape {idx.shape} exceeds input shape {x.shape} in "
                         f"dim {bad[0]}")
    if idx._data.size and (idx._data.min() < -x.shape[d] or idx._data.max() >= x.shape[d]):
        raise IndexError(f"gather: index values must lie in [{-x.shape[d]}, {x.shape[d]}) for "
                         f"dim {dim} of shape {x.shape}; got [{idx._data.min()}, "
                         f"{idx._data.max()}]")
    if any(idx.shape[i] != x.shape[i] for i in range(x.ndim) if i != d):
        x = x[tuple(slice(0, idx.shape[i]) if i != d else slice(None) for i in range(x.ndim))]
    return Gather.apply(x, idx, axis=d)


def index_select(x: Tensor, dim: int | None = None, index: Any = None, *,
                 axis: int | None = None) -> Tensor:
    """x taken at the positions ``index`` (1-d integers) along ``dim``."""
    dim = _dim_or("index_select", dim, axis, None)
    if dim is None or index is None:
        raise TypeError("index_select: give dim (or axis) and index")
    d = one_axis("index_select", dim, x.ndim)
    idx = _index_tensor("index_select", index)
    if idx.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-d, got shape {idx.shape}")
    n = x.shape[d] if x.ndim else 1
    if idx._data.size and (idx._data.min() < -n or idx._data.max() >= n):
        raise IndexError(f"index_select: index values must lie in [{-n}, {n}) for dim {dim} "
                         f"of shape {x.shape}")
    return IndexSelect.apply(x, idx, axis=d)


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """x tiled ``sizes`` times per dim (PyTorch's ``repeat``): at least x.ndim sizes; extra
    leading sizes add dims."""
    reps = _ints("repeat", sizes)
    if len(reps) < x.ndim:
        raise ShapeError(f"repeat: give at least {x.ndim} sizes for shape {x.shape}, got "
                         f"{reps}")
    if any(r < 0 for r in reps):
        raise ArgumentError(f"repeat: sizes must be >= 0, got {reps}")
    return Repeat.apply(x, reps=reps)


def embedding(index: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """``weight[index]``: rows of the table for integer ``index`` of any shape; the row
    ``padding_idx`` gets no gradient. As PyTorch: an index outside [0, num_embeddings) is an
    IndexError (a negative index does not count from the end), while a negative
    ``padding_idx`` does count from the end (-1 is the last row)."""
    idx = index if isinstance(index, Tensor) else Tensor(np.asarray(index))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}"
                        + ("; call .long() on them" if idx.dtype.kind == "f" else ""))
    n = weight.shape[0]
    if idx.numel():
        bad = idx._data[(idx._data < 0) | (idx._data >= n)]
        if bad.size:
            raise IndexError(f"embedding: index {bad.flat[0]} is out of range for a table of "
                             f"{n} rows (num_embeddings): indices must lie in [0, {n}), and "
                             f"a negative index does not count from the end")
    return Embedding.apply(weight, idx, padding_idx=_padding_index("embedding", padding_idx, n))


def _padding_index(fn: str, padding_idx: Any, n: int) -> int | None:
    """``padding_idx`` as a row number in [0, n): a negative one counts from the end (as
    PyTorch); outside [-n, n): ValueError."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{fn}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -n <= padding_idx < n:
        raise ValueError(f"{fn}: padding_idx={padding_idx} must be within num_embeddings={n} "
                         f"(in [{-n}, {n}); a negative one counts from the end)")
    return int(padding_idx) % n


def clone(x: Tensor) -> Tensor:
    """A copy of x in new memory, in the graph (its gradient passes through)."""
    return Clone.apply(x)


def contiguous(x: Tensor) -> Tensor:
    """x itself if its array is C-contiguous, else :func:`clone`."""
    return x if x._data.flags.c_contiguous else Contiguous.apply(x)


__all__ = ["unbind", "reshape", "view", "transpose", "t", "unflatten", "permute", "swap_last",
           "broadcast_to", "expand", "sum_to", "squeeze", "unsqueeze", "expand_dims", "flatten",
           "getitem",
           "concatenate", "cat", "stack", "split", "chunk", "flip", "roll", "pad", "tril",
           "triu", "gather", "index_select", "repeat", "clone", "contiguous", "embedding"]
