"""Convolution, transposed convolution and pooling over 1, 2 or 3 spatial dims, PyTorch's
layouts: input (N, C, *spatial), weight (out_channels, in_channels / groups, *kernel) (for a
transposed convolution (in_channels, out_channels / groups, *kernel)). As in PyTorch, an
input without the batch dim, (C, *spatial), is one sample: the result drops the batch dim
again.

Convolution is three ops, each the adjoint of another, so that every backward is written in
the others and is itself differentiable (double backward works):

- :class:`Conv` (``Conv1d``/``Conv2d`` in graphs), y = x ⋆ w (+ b);
- :class:`ConvInputGrad`, its gradient with respect to x: the transposed convolution of the
  upstream gradient with w (and, named :class:`ConvTranspose`, PyTorch's ``conv_transpose``);
- :class:`ConvWeightGrad`, its gradient with respect to w: the correlation of x with the
  upstream gradient.

No Python loop runs over the batch, the channels or the pixels: a strided view of the padded
input holds every window (im2col), one batched matrix product (over the groups) does the
arithmetic, and scattering windows back (col2im) is one strided add per kernel offset.

Pooling (:class:`MaxPool`, :class:`AvgPool`) uses the same windows; both are linear in x once
the per-window weights are fixed (1/k for the average, the position of the maximum for max,
split evenly between tied maxima, as every max in the project), so their backward is
:class:`WindowScatter` and its backward :class:`WindowGather`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import OPS, Tensor
from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from . import onnx_rules
from . import windows as W
from .common import mixed_dtypes
from .indexing import Scatter
from .jit_rules import Lowered, order_of

# -- geometry (the kernels live in .windows) ----------------------------------------------------

_out_size = W.out_size
_lowest = W.lowest


# -- convolution ---------------------------------------------------------------------------------

class Conv(Function):
    """y = x ⋆ w (+ b): y[n, o, i] = Σ_{c, k} x_pad[n, g(o)·C/g + c, i·stride + k·dilation] ·
    w[o, c, k] + b[o], over the C/g input channels of o's group and the kernel offsets k
    (PyTorch's cross-correlation).
    dx = ConvInputGrad(grad, w), dw = ConvWeightGrad(x, grad), db = Σ grad over N and space."""

    @staticmethod
    def forward(ctx, x, w, b=None, *, stride, padding, dilation, groups):
        need = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(x if need[1] else None, w if need[0] else None)
        y, cols = W.conv_forward(x, w, b, stride, padding, dilation, groups)
        if need[1] and cols is not None:
            ctx.cols = cols  # for the weight gradient (x is saved: it cannot change meanwhile)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors  # (x saved iff w's gradient is needed, w iff x's)
        geo = _geometry(ctx.attrs)
        need = ctx.needs_input_grad
        x_shape, w_shape = ctx.inputs[0].shape, ctx.inputs[1].shape
        dx = ConvInputGrad.apply(grad, w, x_shape=x_shape, **geo) if need[0] else None
        dw = ConvWeightGrad.apply(x, grad, w_shape=w_shape, _cols=ctx.__dict__.get("cols"),
                                  **geo) if need[1] else None
        if len(need) == 2:
            return dx, dw
        db = grad.sum(axis=(0,) + tuple(range(2, grad.ndim))) if need[2] else None
        return dx, dw, db

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Conv", inputs, kernel_shape=list(arrays[1].shape[2:]),
                      strides=list(attrs["stride"]), pads=onnx_rules.pads(attrs["padding"]),
                      dilations=list(attrs["dilation"]), group=int(attrs["groups"]))

    @staticmethod
    def lower(ins, out, attrs):
        # forward: windows.conv_forward, into the output buffer, the columns into the
        # array the weight gradient reads (or a scratch buffer) and x's channel-major copy
        x, w = ins[0], ins[1]
        geo = _geo_consts(attrs)
        if out.dtype != np.result_type(x, w) or not W.to_cm(out).flags.c_contiguous:
            return None
        q = out.shape[2:]
        temps = []
        if "e_cols" in attrs:
            cols = "{e_cols}"
        else:
            cols = _temp(temps, W.cols_buffer_shape(x.shape, w.shape, q, attrs["groups"],
                                                    x.dtype.itemsize), x.dtype)
        xp = "None"
        if W.needs_cm_copy(x, attrs["padding"]):
            xp = _temp(temps, _cm_shape(x.shape, attrs["padding"]), x.dtype)
        bias = "{i2}" if len(ins) > 2 else "None"
        return Lowered((f"{{c0}}({{i0}}, {{i1}}, {bias}, {geo}, {{o}}, {cols}, {xp})",),
                       temps=tuple(temps), consts=(W.conv_forward, *_geometry(attrs).values()))


class Conv1d(Conv):
    """:class:`Conv` over one spatial dim (its name in graphs)."""


class Conv2d(Conv):
    """:class:`Conv` over two spatial dims (its name in graphs)."""


class Conv3d(Conv):
    """:class:`Conv` over three spatial dims (its name in graphs)."""


def _geometry(attrs: dict) -> dict:
    return {k: attrs[k] for k in ("stride", "padding", "dilation", "groups")}


# -- pieces of the lowerings: the kernels of .windows called with buffers --------------------


def _geo_consts(attrs: dict, first: int = 1) -> str:
    """The source of the geometry arguments (stride, padding, dilation, groups) as constants
    ``{c<first>}``... (the rule passes ``_geometry(attrs).values()`` in that order)."""
    return ", ".join(f"{{c{first + i}}}" for i in range(4))


def _temp(temps: list, shape: tuple, dtype: Any, order: Any = "C") -> str:
    """Add a scratch buffer to a lowering's temps; its name in the lines."""
    temps.append((tuple(shape), np.dtype(dtype), order))
    return f"{{t{len(temps) - 1}}}"


def _cm_shape(shape: tuple, padding: tuple) -> tuple:
    """The channel-major padded copy (C, *padded, N) of an (N, C, *spatial) array."""
    return (shape[1], *W.padded_size(shape[2:], padding), shape[0])


def _grad_buffer(temps: list, g: np.ndarray) -> str:
    """A channel-major copy of the upstream gradient when it is not so laid out."""
    if not W.needs_cm_copy(g, ((0, 0),) * (g.ndim - 2)):
        return "None"
    return _temp(temps, _cm_shape(g.shape, ((0, 0),) * (g.ndim - 2)), g.dtype)


class ConvInputGrad(Function):
    """dx = the transposed convolution of g with w, for x of shape ``x_shape``:
    dx[n, c, j] = Σ_{o, k: i·stride + k·dilation = j} g[n, o, i] · w[o, c, k] (then the padding
    dropped). Linear in g and in w: dg = Conv(u, w), dw = ConvWeightGrad(u, g)."""

    @staticmethod
    def forward(ctx, g, w, *, x_shape, stride, padding, dilation, groups):
        need_g, need_w = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(g if need_w else None, w if need_g else None)
        return W.conv_input_grad(g, w, x_shape, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, u):
        g, w = ctx.saved_tensors
        geo = _geometry(ctx.attrs)
        need_g, need_w = ctx.needs_input_grad
        dg = _fit(_conv_apply(u, w, None, geo), ctx.inputs[0].shape) if need_g else None
        dw = ConvWeightGrad.apply(u, g, w_shape=ctx.inputs[1].shape, **geo) if need_w else None
        return dg, dw

    @staticmethod
    def lower(ins, out, attrs):
        # forward: windows.conv_input_grad, the columns in a scratch buffer
        g, w = ins
        dtype = np.result_type(g, w)
        if out.dtype != dtype or not W.to_cm(out).flags.c_contiguous:
            return None
        temps = []
        gbuf = _grad_buffer(temps, g)
        cols = _temp(temps, W.input_cols_shape(out.shape, w.shape, g.shape[2:], attrs["groups"],
                                               dtype.itemsize), dtype)
        return Lowered((f"{{c0}}({{i0}}, {{i1}}, {{c5}}, {_geo_consts(attrs)}, {{o}}, {gbuf}, "
                        f"{cols})",), temps=tuple(temps),
                       consts=(W.conv_input_grad, *_geometry(attrs).values(),
                               tuple(attrs["x_shape"])))


class ConvWeightGrad(Function):
    """dw = the correlation of x's windows with g, for w of shape ``w_shape``:
    dw[o, c, k] = Σ_{n, i} x_pad[n, g(o)·C/g + c, i·stride + k·dilation] · g[n, o, i].
    Linear in x and in g: dx = ConvInputGrad(g, u), dg = Conv(x, u)."""

    @staticmethod
    def forward(ctx, x, g, *, w_shape, stride, padding, dilation, groups, _cols=None):
        need_x, need_g = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(x if need_g else None, g if need_x else None)
        return W.conv_weight_grad(x, g, w_shape, stride, padding, dilation, groups, _cols)

    @staticmethod
    def backward(ctx, u):
        x, g = ctx.saved_tensors
        geo = _geometry(ctx.attrs)
        need_x, need_g = ctx.needs_input_grad
        dx = ConvInputGrad.apply(g, u, x_shape=ctx.inputs[0].shape, **geo) if need_x else None
        dg = _fit(_conv_apply(x, u, None, geo), ctx.inputs[1].shape) if need_g else None
        return dx, dg

    @staticmethod
    def lower(ins, out, attrs):
        # forward: windows.conv_weight_grad, reading the forward's columns when it kept them
        x, g = ins
        if not out.flags.c_contiguous:
            return None
        temps = []
        gbuf = _grad_buffer(temps, g)
        cols = attrs.get("_cols")
        xp = colsbuf = "None"
        if cols is None:
            colsbuf = _temp(temps, W.cols_buffer_shape(x.shape, out.shape, g.shape[2:],
                                                       attrs["groups"], x.dtype.itemsize),
                            x.dtype)
            if W.needs_cm_copy(x, attrs["padding"]):
                xp = _temp(temps, _cm_shape(x.shape, attrs["padding"]), x.dtype)
            cols_src = "None"
        else:
            cols_src = "{a__cols}"
        w_shape = tuple(attrs["w_shape"])
        groups = attrs["groups"]
        prod_dtype = np.result_type(cols if cols is not None else x, g)
        if out.dtype != prod_dtype:
            return None
        prod_shape = (groups, math.prod(w_shape[1:]), w_shape[0] // groups)
        prod, part = _temp(temps, prod_shape, prod_dtype), _temp(temps, prod_shape, prod_dtype)
        return Lowered((f"{{c0}}({{i0}}, {{i1}}, {{c5}}, {_geo_consts(attrs)}, {cols_src}, "
                        f"{{o}}, {gbuf}, {xp}, {colsbuf}, {prod}, {part})",), temps=tuple(temps),
                       consts=(W.conv_weight_grad, *_geometry(attrs).values(), w_shape))


class ConvTranspose(ConvInputGrad):
    """PyTorch's transposed convolution (``conv_transpose1d/2d/3d``): y = the adjoint of the
    convolution with w, y[n, c, i·stride + k·dilation - padding] += x[n, o, i] · w[o, c, k];
    exactly :class:`ConvInputGrad` with x in the role of the upstream gradient (so dx is a
    convolution of grad with w, dw the correlation of grad with x), named for graphs."""


def _fit(y: Tensor, shape: tuple) -> Tensor:
    """y without its trailing positions beyond ``shape``: with an output_padding of at least
    the stride (allowed below the dilation), convolving a transposed convolution's output
    gradient back gives one more position per dim than its input has, matching no input
    element."""
    if y.shape == tuple(shape):
        return y
    return y[(Ellipsis,) + tuple(slice(0, n) for n in shape[2:])]


def _conv_apply(x: Tensor, w: Tensor, b: Tensor | None, geo: dict) -> Tensor:
    op = {3: Conv1d, 4: Conv2d, 5: Conv3d}.get(w.ndim, Conv)
    if b is None:
        return op.apply(x, w, **geo)
    return op.apply(x, w, b, **geo)


# -- pooling -------------------------------------------------------------------------------------

class WindowGather(Function):
    """y[n, c, i] = Σ_k x_pad[n, c, i·stride + k·dilation] · s[k, ..., i] for per-window
    weights s of shape (*kernel, *rest), rest broadcasting against (N, C, *out): the
    arithmetic of pooling.   dx = WindowScatter(grad, s); s gets none (a constant)."""

    @staticmethod
    def forward(ctx, x, s, *, kernel, stride, padding, dilation, pad_value):
        ctx.save_for_backward(s)
        return W.window_gather(x, s, kernel, stride, padding, dilation, pad_value)

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        a = ctx.attrs
        return WindowScatter.apply(grad, s, x_shape=ctx.inputs[0].shape, kernel=a["kernel"],
                                   stride=a["stride"], padding=a["padding"],
                                   dilation=a["dilation"], _cm=W.is_cm(ctx.inputs[0]._data)), None

    @staticmethod
    def lower(ins, out, attrs):
        return _gather_lowering(ins, out, attrs, attrs["pad_value"])


def _gather_lowering(ins: list, out: np.ndarray, attrs: dict, pad_value: Any) -> Lowered | None:
    """windows.window_gather into the output buffer, the later terms in a scratch buffer
    laid out as the output, x's padded copy in one laid out as x."""
    x, s = ins
    if out.dtype != np.result_type(x, s):
        return None
    temps = []
    xp = term = "None"
    if not W._unpadded(attrs["padding"]):
        shape = x.shape[:2] + W.padded_size(x.shape[2:], attrs["padding"])
        xp = _temp(temps, shape, x.dtype, W.memory_order(x))
    if math.prod(attrs["kernel"]) > 1:
        term = _temp(temps, out.shape, out.dtype, order_of(out))
    return Lowered((f"{{c0}}({{i0}}, {{i1}}, {{c1}}, {{c2}}, {{c3}}, {{c4}}, {{c5}}, {{o}}, {xp}, "
                    f"{term})",), temps=tuple(temps),
                   consts=(W.window_gather, *(attrs[k] for k in (
                       "kernel", "stride", "padding", "dilation")), pad_value))


class WindowScatter(Function):
    """dx[n, c, j] = Σ_{i, k: i·stride + k·dilation = j} g[n, c, i] · s[k, ..., i], then the
    padding dropped: pooling's gradient (a col2im of g ⊗ s).
    dg = WindowGather(u, s) (the adjoint); s gets none. ``_cm``: lay dx out channel-major
    (as the pooled input was; a hint for speed, the values are the same)."""

    @staticmethod
    def forward(ctx, g, s, *, x_shape, kernel, stride, padding, dilation, _cm=False):
        ctx.save_for_backward(s)
        return W.window_scatter(g, s, x_shape, kernel, stride, padding, dilation, cm=_cm)

    @staticmethod
    def backward(ctx, u):
        (s,) = ctx.saved_tensors
        a = ctx.attrs
        return WindowGather.apply(u, s, kernel=a["kernel"], stride=a["stride"],
                                  padding=a["padding"], dilation=a["dilation"],
                                  pad_value=0.0), None

    @staticmethod
    def lower(ins, out, attrs):
        # forward: windows.window_scatter into the output buffer (laid out as g, or
        # channel-major), the terms that are added (overlapping windows) and g's
        # channel-major copy (when it makes one) in scratch buffers
        g, s = ins
        dtype = np.result_type(g, s)
        laid_out = W.is_cm(out) if attrs.get("_cm") else W.memory_order(out) == W.memory_order(g)
        if out.dtype != dtype or not laid_out:
            return None
        geo = [attrs[k] for k in ("kernel", "stride", "padding", "dilation")]
        disjoint, _ = W.covers_once(out.shape[2:], *geo[:2], geo[3], geo[2], g.shape[2:])
        temps = []
        gcm = "None"
        order = order_of(g)
        if W.needs_g_copy(g, out):  # g copied channel-major first
            order = W.cm_axes(g.ndim)
            gcm = _temp(temps, g.shape, g.dtype, order)
        same = W.per_window(s, attrs["kernel"]) is not None  # (g · s₀ into term)
        term = "None" if disjoint and not same else _temp(temps, g.shape, dtype, order)
        return Lowered((f"{{c0}}({{i0}}, {{i1}}, {{c1}}, {{c2}}, {{c3}}, {{c4}}, {{c5}}, {{o}}, "
                        f"{term}, False, {gcm})",), temps=tuple(temps),
                       consts=(W.window_scatter, tuple(attrs["x_shape"]), *geo))


class MaxPool(Function):
    """y[n, c, i] = max over window i of x (padding counts as -inf).
    dx = grad at each window's maximum, split evenly between tied maxima of one window (the
    project's tie rule; PyTorch gives it to the first); an element that is the maximum of
    several overlapping windows gets the sum. The per-window split s (1/ties at the maxima,
    0 elsewhere; shape (*kernel, N, C, *out); a boolean mask when no window has a tie) is
    made in forward; backward is WindowScatter(grad, s)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation):
        xp = W.padded_like(x, padding, _lowest(x.dtype))
        out = _out_size(xp.shape[2:], kernel, stride, dilation)
        parts = [xp[index] for _, index in W.offsets(kernel, stride, dilation, out)]
        y = parts[0].copy()
        for part in parts[1:]:
            np.maximum(y, part, out=y)
        share = np.empty((len(parts),) + y.shape, dtype=bool)
        for i, part in enumerate(parts):
            np.equal(part, y, out=share[i])
        ties = share.sum(axis=0, dtype=np.int8 if len(parts) < 128 else np.int64)
        if not (ties == 1).all():  # a tie (or a NaN window): split the gradient
            with np.errstate(invalid="ignore", divide="ignore"):
                share = (share / ties).astype(x.dtype)
        ctx.save_for_backward(share.reshape(kernel + y.shape))
        return y

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        x = ctx.inputs[0]
        a = ctx.attrs
        return WindowScatter.apply(grad, share, x_shape=x.shape, kernel=a["kernel"],
                                   stride=a["stride"], padding=a["padding"],
                                   dilation=a["dilation"], _cm=W.is_cm(x._data))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("MaxPool", inputs, kernel_shape=list(attrs["kernel"]),
                      strides=list(attrs["stride"]), pads=onnx_rules.pads(attrs["padding"]),
                      dilations=list(attrs["dilation"]))


class MaxPool1d(MaxPool):
    """:class:`MaxPool` over one spatial dim."""


class MaxPool2d(MaxPool):
    """:class:`MaxPool` over two spatial dims."""


class MaxPool3d(MaxPool):
    """:class:`MaxPool` over three spatial dims."""


class MaxPoolIndex(Function):
    """Where each window's maximum is: its position in the flattened spatial dims of x
    (int64), PyTorch's ``return_indices``; the first of tied maxima in the window's order, a
    nan counting as the maximum. No gradient (the values come from :class:`MaxPool`)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation):
        xp = W.padded_like(x, padding, _lowest(x.dtype))
        out = _out_size(xp.shape[2:], kernel, stride, dilation)
        parts = np.stack([xp[index] for _, index in W.offsets(kernel, stride, dilation, out)])
        best = parts.argmax(0)  # (the first maximum; numpy's argmax stops at a nan too)
        offset = np.unravel_index(best, kernel)  # the kernel offset of each window's maximum
        flat = np.zeros(best.shape, dtype=np.int64)
        sizes = x.shape[2:]
        for axis, (k, st, dl, (lo, _)) in enumerate(zip(offset, stride, dilation, padding)):
            shape = [1] * best.ndim
            shape[2 + axis] = -1
            start = np.arange(best.shape[2 + axis]).reshape(shape) * st
            flat = flat * sizes[axis] + (start + k * dl - lo)
        return flat

    @staticmethod
    def backward(ctx, grad):
        return None


class AvgPool(Function):
    """y[n, c, i] = Σ over window i of x · s with s = 1/divisor per window (a constant input):
    the kernel's size with ``count_include_pad`` (padding counts as 0), else the number of
    real elements in the window (or ``divisor_override``).   dx = WindowScatter(grad, s)."""

    @staticmethod
    def forward(ctx, x, s, *, kernel, stride, padding, dilation):
        return WindowGather.forward(ctx, x, s, kernel=kernel, stride=stride, padding=padding,
                                    dilation=dilation, pad_value=0.0)

    @staticmethod
    def lower(ins, out, attrs):
        return _gather_lowering(ins, out, attrs, 0.0)

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors  # (saved by WindowGather.forward)
        a = ctx.attrs
        return WindowScatter.apply(grad, s, x_shape=ctx.inputs[0].shape, kernel=a["kernel"],
                                   stride=a["stride"], padding=a["padding"],
                                   dilation=a["dilation"], _cm=W.is_cm(ctx.inputs[0]._data)), None

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        kernel = tuple(attrs["kernel"])
        # the sum over each window (an average counting the zero padding, times its size),
        # then the op's own divisor per window (1/count, the same for every kernel offset)
        mean = g.node("AveragePool", [inputs[0]], kernel_shape=list(kernel),
                      strides=list(attrs["stride"]), pads=onnx_rules.pads(attrs["padding"]),
                      count_include_pad=1)
        s = np.asarray(arrays[1])[(0,) * len(kernel)] * math.prod(kernel)
        return g.node("Mul", [mean, g.const(s.astype(out.dtype))])


class AvgPool1d(AvgPool):
    """:class:`AvgPool` over one spatial dim."""


class AvgPool2d(AvgPool):
    """:class:`AvgPool` over two spatial dims."""


class AvgPool3d(AvgPool):
    """:class:`AvgPool` over three spatial dims."""


# -- the functional face -------------------------------------------------------------------------

def _tuple(value: Any, d: int, name: str, fn: str, minimum: int) -> tuple[int, ...]:
    values = (value,) * d if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != d or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                               for v in values):
        raise ArgumentError(f"{fn}: {name} must be an int or {d} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ArgumentError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _conv_padding(padding: Any, d: int, kernel: tuple, stride: tuple, dilation: tuple,
                  fn: str) -> tuple:
    """((lo, hi) per spatial dim) from an int, ints, "valid" or "same" (stride 1 only, the
    extra pixel of an even total after, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ArgumentError(f"{fn}: padding='same' needs stride 1 (as PyTorch), got "
                                    f"stride={stride}")
            total = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ArgumentError(f"{fn}: padding must be an int, a tuple, 'valid' or 'same', got "
                            f"{padding!r}")
    p = _tuple(padding, d, "padding", fn, 0)
    return tuple((v, v) for v in p)


def _check_input(x: Any, d: int, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.ndim != d + 2:
        raise ShapeError(f"{fn}: expected an input of {d + 2} dims (N, C, "
                         f"{', '.join('DHW'[3 - d:])}) or {d + 1} (C, "
                         f"{', '.join('DHW'[3 - d:])}: one unbatched sample), got shape "
                         f"{x.shape}")
    return x


def _unbatched(d: int, x: Any, *more: Any) -> tuple | None:
    """PyTorch's unbatched call: an input of d + 1 dims (C, *spatial) (with ``more`` tensors
    of its shape, such as unpooling's indices) becomes a batch of one; None otherwise."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.ndim != d + 1:
        return None
    return (x.unsqueeze(0),) + tuple(
        (m if isinstance(m, Tensor) else Tensor(np.asarray(m))).unsqueeze(0) for m in more)


def _drop_batch(out: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)


def _conv(d: int, x: Any, weight: Tensor, bias: Any, stride: Any, padding: Any,
          dilation: Any, groups: int, caller: str | None = None) -> Tensor:
    fn = caller or f"conv{d}d"
    if (one := _unbatched(d, x)) is not None:
        return _drop_batch(_conv(d, one[0], weight, bias, stride, padding, dilation, groups,
                                 caller))
    x = _check_input(x, d, fn)
    if not isinstance(weight, Tensor):
        weight = Tensor(weight)
    if weight.ndim != d + 2:
        raise ShapeError(f"{fn}: weight must have {d + 2} dims (out_channels, in_channels / "
                         f"groups, *kernel), got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ArgumentError(f"{fn}: groups must be a positive int, got {groups!r}")
    if x._data.dtype != weight._data.dtype:
        raise mixed_dtypes(fn, x, weight)
    n, c = x.shape[:2]
    o, cg = weight.shape[:2]
    if c % groups or o % groups:
        raise ShapeError(f"{fn}: groups={groups} must divide both the input's {c} channels and "
                         f"the {o} output channels")
    if cg * groups != c:
        raise ShapeError(f"{fn}: the input has {c} channels but the weight of shape "
                         f"{weight.shape} expects {cg * groups} ({cg} per group × {groups} "
                         f"groups)")
    kernel = weight.shape[2:]
    stride = _tuple(stride, d, "stride", fn, 1)
    dilation = _tuple(dilation, d, "dilation", fn, 1)
    pads = _conv_padding(padding, d, kernel, stride, dilation, fn)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    if any(p < s for p, s in zip(padded, span)):
        raise ShapeError(f"{fn}: the kernel {kernel} (dilation {dilation}: spanning {span}) is "
                         f"larger than the padded input {padded} (input shape {x.shape}, "
                         f"padding {pads})")
    if bias is not None:
        if not isinstance(bias, Tensor):
            bias = Tensor(np.asarray(bias, dtype=weight.dtype))
        if bias.shape != (o,):
            raise ShapeError(f"{fn}: bias must have shape ({o},), got {bias.shape}")
        if bias._data.dtype != weight._data.dtype:
            raise mixed_dtypes(fn, weight, bias)
    geo = {"stride": stride, "padding": pads, "dilation": dilation, "groups": int(groups)}
    return _conv_apply(x, weight, bias, geo)


def conv1d(input: Any, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
           stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
           _caller: str | None = None) -> Tensor:
    """1-D convolution (PyTorch's cross-correlation): input (N, C, L), weight (O, C/groups,
    k), bias (O,) or None; ``padding`` an int, "valid" or "same"."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, _caller)


def conv2d(input: Any, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
           stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
           _caller: str | None = None) -> Tensor:
    """2-D convolution (PyTorch's cross-correlation): input (N, C, H, W), weight
    (O, C/groups, kH, kW), bias (O,) or None; ``stride``, ``padding`` (ints, "valid" or
    "same"), ``dilation`` an int or a pair."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, _caller)


def conv3d(input: Any, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
           stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
           _caller: str | None = None) -> Tensor:
    """3-D convolution: input (N, C, D, H, W), weight (O, C/groups, kD, kH, kW), as
    :func:`conv2d`."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, _caller)


def _conv_transpose(d: int, x: Any, weight: Tensor, bias: Any, stride: Any, padding: Any,
                    output_padding: Any, groups: int, dilation: Any,
                    caller: str | None = None) -> Tensor:
    fn = caller or f"conv_transpose{d}d"
    if (one := _unbatched(d, x)) is not None:
        return _drop_batch(_conv_transpose(d, one[0], weight, bias, stride, padding,
                                           output_padding, groups, dilation, caller))
    x = _check_input(x, d, fn)
    if not isinstance(weight, Tensor):
        weight = Tensor(weight)
    if weight.ndim != d + 2:
        raise ShapeError(f"{fn}: weight must have {d + 2} dims (in_channels, out_channels / "
                         f"groups, *kernel), got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ArgumentError(f"{fn}: groups must be a positive int, got {groups!r}")
    if x._data.dtype != weight._data.dtype:
        raise mixed_dtypes(fn, x, weight)
    c_in = x.shape[1]
    if weight.shape[0] != c_in or c_in % groups:
        raise ShapeError(f"{fn}: the input has {c_in} channels but the weight of shape "
                         f"{weight.shape} expects {weight.shape[0]} (its first dim), divisible "
                         f"by groups={groups}")
    kernel = weight.shape[2:]
    stride = _tuple(stride, d, "stride", fn, 1)
    dilation = _tuple(dilation, d, "dilation", fn, 1)
    pad = _tuple(padding, d, "padding", fn, 0)
    extra = _tuple(output_padding, d, "output_padding", fn, 0)
    if any(e >= max(s, dl) for e, s, dl in zip(extra, stride, dilation)):
        raise ArgumentError(f"{fn}: output_padding {extra} must be smaller than the stride "
                            f"{stride} or the dilation {dilation} (as PyTorch)")
    size = tuple((n - 1) * s - 2 * p + dl * (k - 1) + e + 1 for n, s, p, dl, k, e in zip(
        x.shape[2:], stride, pad, dilation, kernel, extra))
    if any(n <= 0 for n in size):
        raise ShapeError(f"{fn}: the output would have size {size} for input shape {x.shape}, "
                         f"kernel {kernel}, stride {stride} and padding {pad}")
    out_shape = (x.shape[0], weight.shape[1] * groups) + size
    y = ConvTranspose.apply(x, weight, x_shape=out_shape, stride=stride,
                            padding=tuple((p, p) for p in pad), dilation=dilation,
                            groups=int(groups))
    if bias is None:
        return y
    if not isinstance(bias, Tensor):
        bias = Tensor(np.asarray(bias, dtype=weight.dtype))
    if bias.shape != (out_shape[1],):
        raise ShapeError(f"{fn}: bias must have shape ({out_shape[1]},), got {bias.shape}")
    return y + bias.reshape((-1,) + (1,) * d)


def conv_transpose1d(input: Any, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1, *,
                     _caller: str | None = None) -> Tensor:
    """The transposed 1-D convolution (the gradient of :func:`conv1d` with respect to its
    input, PyTorch's ``conv_transpose1d``): input (N, C_in, L), weight (C_in, C_out/groups,
    k); the output length is (L - 1)·stride - 2·padding + dilation·(k - 1) + output_padding
    + 1."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, _caller)


def conv_transpose2d(input: Any, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1, *,
                     _caller: str | None = None) -> Tensor:
    """The transposed 2-D convolution: input (N, C_in, H, W), weight (C_in, C_out/groups,
    kH, kW), as :func:`conv_transpose1d` per spatial dim."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, _caller)


def conv_transpose3d(input: Any, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1, *,
                     _caller: str | None = None) -> Tensor:
    """The transposed 3-D convolution, as :func:`conv_transpose1d` per spatial dim."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, _caller)


def _pool_geometry(d: int, x: Tensor, kernel_size: Any, stride: Any, padding: Any,
                   dilation: Any, ceil_mode: bool, fn: str) -> dict:
    kernel = _tuple(kernel_size, d, "kernel_size", fn, 1)
    stride = kernel if stride is None or stride == () else _tuple(stride, d, "stride", fn, 1)
    pad = _tuple(padding, d, "padding", fn, 0)
    dilation = _tuple(dilation, d, "dilation", fn, 1)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ArgumentError(f"{fn}: padding {pad} must be at most half the kernel {kernel} (as "
                            f"PyTorch), so that every window holds an input element")
    sizes = x.shape[2:]
    pads = []
    for n, k, s, p, dl in zip(sizes, kernel, stride, pad, dilation):
        span = dl * (k - 1) + 1
        if n + 2 * p < span:
            raise ShapeError(f"{fn}: the kernel {kernel} (spanning {span}) is larger than the "
                             f"padded input {n + 2 * p} (input shape {x.shape}, padding {pad})")
        if ceil_mode:
            out = -(-(n + 2 * p - span) // s) + 1
            if (out - 1) * s >= n + p:  # the last window must start inside the input
                out -= 1
        else:
            out = (n + 2 * p - span) // s + 1
        hi = max((out - 1) * s + span - n - p, p)  # ceil_mode: extra padding after
        pads.append((p, hi))
    return {"kernel": kernel, "stride": stride, "padding": tuple(pads), "dilation": dilation}


def _max_pool(d: int, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, return_indices: bool, caller: str | None = None) -> Any:
    fn = caller or f"max_pool{d}d"
    if (one := _unbatched(d, x)) is not None:
        return _drop_batch(_max_pool(d, one[0], kernel_size, stride, padding, dilation,
                                     ceil_mode, return_indices, caller))
    x = _check_input(x, d, fn)
    geo = _pool_geometry(d, x, kernel_size, stride, padding, dilation, ceil_mode, fn)
    op = {1: MaxPool1d, 2: MaxPool2d, 3: MaxPool3d}[d]
    y = op.apply(x, **geo)
    if return_indices:
        return y, MaxPoolIndex.apply(x, **geo)
    return y


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, _caller: str | None = None) -> Tensor:
    """Max over windows of (N, C, L); stride defaults to the kernel size."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, _caller)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, _caller: str | None = None) -> Tensor:
    """Max over windows of (N, C, H, W); stride defaults to the kernel size; ``ceil_mode``
    keeps a last partial window (when it starts inside the input). Tied maxima of a window
    share its gradient evenly."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, _caller)


def max_pool3d(input: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, _caller: str | None = None) -> Tensor:
    """Max over windows of (N, C, D, H, W), as :func:`max_pool2d`."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, _caller)


def _max_unpool(d: int, x: Any, indices: Any, kernel_size: Any, stride: Any, padding: Any,
                output_size: Any, caller: str | None = None) -> Tensor:
    fn = caller or f"max_unpool{d}d"
    if output_size is not None:
        if len(tuple(output_size)) not in (d, d + 2):
            raise ArgumentError(f"{fn}: output_size must have {d} or {d + 2} entries (the "
                                f"batch and channel sizes are ignored), got {output_size!r}")
        output_size = tuple(output_size)[-d:]
    if (one := _unbatched(d, x, indices)) is not None:
        return _drop_batch(_max_unpool(d, one[0], one[1], kernel_size, stride, padding,
                                       output_size, caller))
    x = _check_input(x, d, fn)
    idx = indices if isinstance(indices, Tensor) else Tensor(np.asarray(indices))
    if idx.dtype.kind not in "iu" or idx.shape != x.shape:
        raise ShapeError(f"{fn}: indices must be integers of the input's shape {x.shape}, got "
                         f"dtype {idx.dtype} and shape {idx.shape}")
    kernel = _tuple(kernel_size, d, "kernel_size", fn, 1)
    stride = kernel if stride is None or stride == () else _tuple(stride, d, "stride", fn, 1)
    pad = _tuple(padding, d, "padding", fn, 0)
    if output_size is None:
        size = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[2:], stride, pad,
                                                                   kernel))
    else:
        size = _tuple(tuple(output_size)[-d:], d, "output_size", fn, 0)
    n, c = x.shape[:2]
    total = int(np.prod(size))
    if idx.numel() and (idx._data.min() < 0 or idx._data.max() >= total):
        raise IndexError(f"{fn}: indices must lie in [0, {total}) for the output size {size}, "
                         f"got [{idx._data.min()}, {idx._data.max()}]")
    base = Tensor(np.zeros((), dtype=x.dtype)).broadcast_to((n, c, total))
    flat = Scatter.apply(base, idx.reshape(n, c, -1), x.reshape(n, c, -1), axis=2)
    return flat.reshape((n, c) + size)


def max_unpool1d(input: Any, indices: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of :func:`max_pool1d` with ``return_indices=True``: each value put
    back at its index, zeros elsewhere (PyTorch's ``max_unpool1d``); the gradient gathers
    from those positions."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Any, indices: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of :func:`max_pool2d` with ``return_indices=True`` (PyTorch's
    ``max_unpool2d``): output (H - 1)·stride - 2·padding + kernel per dim unless
    ``output_size`` (its last two entries) is given."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Any, indices: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The partial inverse of :func:`max_pool3d` with ``return_indices=True``."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


def _avg_pool(d: int, x: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, divisor_override: Any, caller: str | None = None) -> Tensor:
    fn = caller or f"avg_pool{d}d"
    if (one := _unbatched(d, x)) is not None:
        return _drop_batch(_avg_pool(d, one[0], kernel_size, stride, padding, ceil_mode,
                                     count_include_pad, divisor_override, caller))
    x = _check_input(x, d, fn)
    geo = _pool_geometry(d, x, kernel_size, stride, padding, 1, ceil_mode, fn)
    kernel, stride_, pads = geo["kernel"], geo["stride"], geo["padding"]
    out = _out_size(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)), kernel,
                    stride_, (1,) * d)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(
                divisor_override, (int, np.integer)) or divisor_override <= 0:
            raise ArgumentError(f"{fn}: divisor_override must be a positive int, got "
                                f"{divisor_override!r}")
        counts = np.full(out, float(divisor_override))
    else:
        # the real elements per window along each dim; with count_include_pad, the explicit
        # padding counts too (but not ceil_mode's extra padding), as PyTorch
        per_dim = []
        for n, k, s, (lo, _), o, p in zip(x.shape[2:], kernel, stride_, pads, out,
                                           _tuple(padding, d, "padding", fn, 0)):
            starts = np.arange(o) * s - lo
            ends = starts + k
            if count_include_pad:
                per_dim.append(np.minimum(ends, n + p) - np.maximum(starts, -p))
            else:
                per_dim.append(np.minimum(ends, n) - np.maximum(starts, 0))
        counts = np.ones(out)
        for axis, c in enumerate(per_dim):
            shape = [1] * d
            shape[axis] = -1
            counts = counts * c.reshape(shape)
    weights = np.broadcast_to(1.0 / counts, kernel + out)  # (*kernel, *out)
    s = Tensor(np.ascontiguousarray(weights, dtype=x.dtype), name="1/count")
    op = {1: AvgPool1d, 2: AvgPool2d, 3: AvgPool3d}[d]
    return op.apply(x, s, **geo)


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, *, _caller: str | None = None) -> Tensor:
    """Average over windows of (N, C, L)."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     _caller)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None, *,
               _caller: str | None = None) -> Tensor:
    """Average over windows of (N, C, H, W): with ``count_include_pad`` (the default) the
    padding's zeros count in the average, else only the input's elements."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, _caller)


def avg_pool3d(input: Any, kernel_size: Any, stride: Any = None,  # noqa: A002
               padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None, *,
               _caller: str | None = None) -> Tensor:
    """Average over windows of (N, C, D, H, W), as :func:`avg_pool2d`."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, _caller)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:  # noqa: A002
    """Average over the windows that split (H, W) into ``output_size`` (an int or a pair;
    None keeps a dim): window i of n inputs for m outputs spans [⌊i·n/m⌋, ⌈(i+1)·n/m⌉), as
    PyTorch. Output 1 is the global average; sizes that divide the input are one avg_pool2d;
    others are one average per output cell."""
    if (one := _unbatched(2, input)) is not None:
        return _drop_batch(adaptive_avg_pool2d(one[0], output_size))
    x = _check_input(input, 2, "adaptive_avg_pool2d")
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(size) != 2:
        raise ArgumentError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got "
                            f"{output_size!r}")
    size = tuple(n if m is None else m for m, n in zip(size, x.shape[2:]))
    if any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1 for m in size):
        raise ArgumentError(f"adaptive_avg_pool2d: output sizes must be positive ints, got "
                            f"{output_size!r}")
    (h, w), (oh, ow) = x.shape[2:], size
    if (oh, ow) == (1, 1):
        return x.mean(dim=(2, 3), keepdim=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(x, (h // oh, w // ow))
    rows = []
    for i in range(oh):
        r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        cells = [x[:, :, r0:r1, (j * w) // ow:-(-((j + 1) * w) // ow)].mean(dim=(2, 3))
                 for j in range(ow)]
        rows.append(OPS["stack"](cells, -1))
    return OPS["stack"](rows, -2)


__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "max_pool1d", "max_pool2d", "max_pool3d", "max_unpool1d",
           "max_unpool2d", "max_unpool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool2d"]
