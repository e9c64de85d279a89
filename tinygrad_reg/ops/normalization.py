"""Normalization: x̂ = (x - mean) / √(var + eps) over some axes, the core of batch, layer and
group normalization (their affine parts are plain multiplications and additions, and the
running statistics live in the modules of :mod:`tinygrad_reg.nn.normalization`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from . import jit_rules, onnx_rules
from .jit_rules import Lowered
from .numerics import trailing_mean


def _stats(x: np.ndarray, axes: tuple, eps: float, xc: Any = None, mean: Any = None,
           inv: Any = None, sq: Any = None) -> tuple:
    """(x - μ, μ, 1/σ) over ``axes`` (keepdims), σ = √(mean((x - μ)²) + eps): the arithmetic
    of :class:`Normalize`'s forward, written into the buffers given (any may be None)."""
    mean = trailing_mean(x, axes, mean)
    xc = np.subtract(x, mean, out=xc)
    sq = np.multiply(xc, xc, out=sq)
    inv = trailing_mean(sq, axes, inv)
    np.add(inv, eps, out=inv)
    np.sqrt(inv, out=inv)
    np.divide(1.0, inv, out=inv)
    return xc, mean, inv


def normalize_kernel(x: np.ndarray, axes: tuple, eps: float, out: Any = None, mean: Any = None,
                     inv: Any = None, sq: Any = None, moments: Any = None) -> tuple:
    """(x̂, μ, 1/σ): x̂ = (x - μ) · (1/σ), into ``out`` (and the statistics into ``mean`` and
    ``inv``, (x - μ)² into ``sq``) when given. With ``moments`` (:func:`moments_kernel`'s
    result for this x: its mean and biased variance, the very bits computed here otherwise),
    two passes over x instead of five. One function for :class:`Normalize`'s forward and its
    jit lowering, so the two give the same bits."""
    if moments is None:
        xc, mean, inv = _stats(x, axes, eps, out, mean, inv, sq)
    else:
        keep = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        if mean is None:
            mean = moments[0].reshape(keep).copy()
        else:
            np.copyto(mean, moments[0].reshape(keep))
        inv = np.add(moments[2].reshape(keep), eps, out=inv)
        np.sqrt(inv, out=inv)
        np.divide(1.0, inv, out=inv)
        if out is None:
            out = np.empty_like(x)
        xr, orr = _rows(x, axes), _rows(out, axes)
        if xr is not None and orr is not None:  # block by block of rows: the same bits
            k = xr.shape[0]
            mr, ir = mean.reshape(k, 1), inv.reshape(k, 1)
            for b in _row_blocks(*xr.shape):
                np.multiply(np.subtract(xr[b], mr[b], out=orr[b]), ir[b], out=orr[b])
            return out, mean, inv
        xc = np.subtract(x, mean, out=out)
    return np.multiply(xc, inv, out=xc), mean, inv


def normalize_grad_kernel(g: np.ndarray, x: np.ndarray, axes: tuple, eps: float,
                          mean: Any = None, inv: Any = None, out: Any = None, xc: Any = None,
                          gx: Any = None, gm: Any = None, dot: Any = None,
                          xm: Any = None) -> np.ndarray:
    """dx = (g - mean(g) - x̂ · mean(g · x̂)) / σ, computed as
    (g - mean(g)) · (1/σ) - (x - μ) · (c / σ³), c = mean(g · (x - μ)) - mean(g) · mean(x - μ):
    nine passes over x's size. The second term of c is zero in exact arithmetic, but μ is
    rounded, and without it that rounding, times 1/σ³, shows in dx (for a constant g, where
    dx is exactly 0, as noise that finite differences magnify). ``mean`` and ``inv`` (μ and
    1/σ) are the forward's when given, else recomputed alike (with ``xc`` and ``gx`` as
    scratch); the other arguments are buffers (x's shape: ``out``, ``xc``, ``gx``; the
    statistics' shape: ``gm``, ``dot``, ``xm``) written when given."""
    if mean is None or inv is None:
        xc, mean, inv = _stats(x, axes, eps, xc, sq=gx)
    else:
        xc = np.subtract(x, mean, out=xc)
    gm = trailing_mean(g, axes, gm)
    t = np.multiply(g, xc, out=gx)
    k = trailing_mean(t, axes, dot)  # c, then c / σ³
    xm = trailing_mean(xc, axes, xm)
    np.multiply(xm, gm, out=xm)
    np.subtract(k, xm, out=k)
    for _ in range(3):
        np.multiply(k, inv, out=k)
    np.multiply(xc, k, out=xc)
    out = np.subtract(g, gm, out=out)
    np.multiply(out, inv, out=out)
    return np.subtract(out, xc, out=out)


def _rows(a: np.ndarray, axes: tuple) -> np.ndarray | None:
    """a as a C-contiguous (K, M) view, one row per element of the statistics (the axes not
    in ``axes``, outermost in memory) and the M reduced elements along it, when a is so laid
    out (a channel-major (N, C, H, W) array over (0, 2, 3), a C-order (N, D) over (1,));
    else None."""
    if a.size == 0:
        return None
    keep = [i for i in range(a.ndim) if i not in axes]
    v = a.transpose(keep + sorted(axes, key=lambda i: -a.strides[i]))  # (memory order)
    if not v.flags.c_contiguous:
        return None
    return v.reshape(math.prod(a.shape[i] for i in keep), -1)


_ONES: dict = {}


def _ones(m: int, dtype: Any) -> np.ndarray:
    """A read-only (1, m, 1) array of ones (kept: the last few lengths asked for)."""
    key = (m, np.dtype(dtype))
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 8:
            _ONES.clear()
        ones = _ONES[key] = np.ones((1, m, 1), dtype)
        ones.flags.writeable = False
    return ones


#: Elements per block of rows (about 256 KB of float32): a kernel of several passes runs
#: them block by block, so that every pass after the first reads from the cache (LeNet's
#: first batch norm: 6 rows of 73728; its gradient in 0.50 ms instead of 0.95 ms).
_BLOCK = 1 << 16


def _row_blocks(k: int, m: int):
    """Slices of k rows of m elements, about :data:`_BLOCK` elements each (a row at least)."""
    step = max(1, _BLOCK // max(m, 1))
    for a in range(0, k, step):
        yield slice(a, a + step)


def normalize_grad_from_output(g: np.ndarray, xh: np.ndarray, axes: tuple, inv: np.ndarray,
                               out: Any = None, t: Any = None) -> np.ndarray:
    """dx = (g - mean(g)) · s - x̂ · (mean(g · x̂) - mean(g) · mean(x̂)) · s from the forward's
    own x̂ and s = 1/σ (``inv``, the statistics' shape): :class:`NormalizeBackward`'s
    arithmetic without computing x - μ again; mean(x̂) (0 but for rounding) keeps the
    result exactly 0 for a constant g. When the arrays lie as rows per statistic (a
    channel-major batch: :func:`_rows`), Σ g·x̂ and Σ x̂ are batched dot products (the same
    summation order for both, so that for g = c the two terms cancel exactly, and no
    product is written), and the passes run block by block of rows (:data:`_BLOCK`): the
    same bits whatever the blocks. ``out`` and ``t`` (x's shape) are buffers written when
    given."""
    if out is None:
        out = np.empty_like(g)
    rows = [_rows(a, axes) for a in (g, xh, out)]
    tr = None if t is None else _rows(t, axes)
    if all(r is not None for r in rows) and (t is None or tr is not None):
        gr, xr, orr = rows
        k, m = gr.shape
        invr, ones = inv.reshape(k, 1), _ones(m, gr.dtype)
        for b in _row_blocks(k, m):
            _grad_rows(gr[b], xr[b], invr[b], orr[b], None if tr is None else tr[b], ones)
        return out
    n = math.prod(g.shape[i] for i in axes)
    gm = np.add.reduce(g, axis=axes, keepdims=True) / n  # (n a Python int: g's dtype)
    gx = np.add.reduce(np.multiply(g, xh, out=t), axis=axes, keepdims=True)
    xs = np.add.reduce(xh, axis=axes, keepdims=True)
    c = (gx / n - gm * (xs / n)) * inv
    np.subtract(g, gm, out=out)
    np.multiply(out, inv, out=out)
    return np.subtract(out, np.multiply(xh, c, out=t), out=out)


def _grad_rows(g: np.ndarray, xh: np.ndarray, inv: np.ndarray, out: np.ndarray,
               t: np.ndarray | None, ones: np.ndarray) -> None:
    """:func:`normalize_grad_from_output` on (r, m) rows (``inv`` (r, 1))."""
    n = g.shape[1]
    gm = np.add.reduce(g, axis=1, keepdims=True) / n
    gx = np.matmul(xh[:, None, :], g[:, :, None]).reshape(-1, 1)
    xs = np.matmul(xh[:, None, :], ones).reshape(-1, 1)
    c = (gx / n - gm * (xs / n)) * inv
    np.subtract(g, gm, out=out)
    np.multiply(out, inv, out=out)
    np.subtract(out, np.multiply(xh, c, out=t), out=out)


def _mean(t: Tensor, axes: tuple) -> Tensor:
    return t.mean(axis=axes, keepdims=True)


class Normalize(Function):
    """x̂ = (x - μ) / σ with μ = mean(x), σ = √(var(x) + eps) over ``axes`` (the biased
    variance, as every normalization layer uses), computed as (x - μ) · (1/σ).
    dx = (g - mean(g) - x̂ · mean(g · x̂)) / σ (means over ``axes``): exact through the
    statistics, as one node (:class:`NormalizeBackward`, whose own backward is in Tensor
    ops, so derivatives of any order are exact). Named BatchNorm, LayerNorm or GroupNorm in
    graphs."""

    #: whether the backward reads x̂ (this op's output, saved) instead of computing x - μ
    #: again: batch norm's (:func:`normalize_grad_from_output`)
    _grad_from_output = False

    @staticmethod
    def forward(ctx, x, axes, eps, _moments=None):
        y, mean, inv = normalize_kernel(x, axes, eps, moments=_moments)
        y = y.astype(x.dtype, copy=False)
        need = ctx.needs_input_grad and ctx.needs_input_grad[0]
        ctx.save_for_backward(x, y if need and ctx.fn._grad_from_output else None)
        if need:
            ctx.mean, ctx.inv = mean, inv  # the statistics, for the backward's one pass
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        d = ctx.__dict__
        if y is not None:
            return NormalizeBackward.apply(g, x, axes=ctx.attrs["axes"], eps=ctx.attrs["eps"],
                                           _mean=d.get("mean"), _inv=d.get("inv"),
                                           _xhat=y._data)
        return NormalizeBackward.apply(g, x, axes=ctx.attrs["axes"], eps=ctx.attrs["eps"],
                                       _mean=d.get("mean"), _inv=d.get("inv"))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        axes, nd = tuple(attrs["axes"]), arrays[0].ndim
        d = g.node("Sub", [inputs[0], g.reduce("ReduceMean", inputs[0], axes, True, nd)])
        var = g.reduce("ReduceMean", g.node("Mul", [d, d]), axes, True, nd)
        std = g.node("Sqrt", [g.node("Add", [var, onnx_rules.scalar(g, attrs["eps"], out)])])
        return g.node("Div", [d, std])

    @staticmethod
    def lower(ins, out, attrs):
        # forward: normalize_kernel into the output buffer, the statistics into the arrays
        # the backward reads (or scratch buffers), (x - μ)² into a scratch buffer
        (x,) = ins
        if x.dtype not in _FLOATS or out.dtype != x.dtype or out.shape != x.shape:
            return None
        temps = []
        stat = tuple(1 if i in attrs["axes"] else n for i, n in enumerate(x.shape))
        names = []
        for key in ("e_mean", "e_inv"):
            if key in attrs:
                names.append("{" + key + "}")
            else:
                temps.append((stat, x.dtype))
                names.append(f"{{t{len(temps) - 1}}}")
        if attrs.get("_moments") is None:
            temps.append((x.shape, x.dtype, jit_rules.order_of(out)))
            rest = f"{{t{len(temps) - 1}}}"
        else:  # (the moments' array, read from its slot)
            rest = "None, {a__moments}"
        return Lowered((f"{{c0}}({{i0}}, {{c1}}, {{c2}}, {{o}}, {names[0]}, {names[1]}, "
                        f"{rest})",), temps=tuple(temps),
                       consts=(normalize_kernel, tuple(attrs["axes"]), attrs["eps"]))


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class NormalizeBackward(Function):
    """dx = (g - mean(g) - x̂ · mean(g · x̂)) · s, :class:`Normalize`'s gradient as one node
    (x̂ = (x - μ) · s, s = 1/σ, means over ``axes``; ``_mean``, ``_inv``: the forward's μ and
    s, a cache). The map g ↦ dx is s·P with P = I - mean - x̂ mean(x̂ ·) symmetric, so
    dg = NormalizeBackward(u, x); through x,
    dx' = -s · mean(g · dg) · x̂ - s · NormalizeBackward(mean(g · x̂) · u + mean(u · x̂) · g, x)
    for the upstream gradient u (δs = -s² mean(x̂ δ), δx̂ = s P δ)."""

    @staticmethod
    def forward(ctx, g, x, *, axes, eps, _mean=None, _inv=None, _xhat=None):
        need_g, need_x = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(g if need_x else None, x if need_g or need_x else None)
        if _xhat is not None and _inv is not None and _xhat.dtype == g.dtype:
            return normalize_grad_from_output(g, _xhat, axes, _inv)
        return normalize_grad_kernel(g, x, axes, eps, _mean, _inv).astype(
            np.result_type(g, x), copy=False)

    @staticmethod
    def backward(ctx, u):
        g, x = ctx.saved_tensors
        axes, eps = ctx.attrs["axes"], ctx.attrs["eps"]
        need_g, need_x = ctx.needs_input_grad
        dg = NormalizeBackward.apply(u, x, axes=axes, eps=eps)
        if not need_x:
            return dg, None
        xc = x - _mean(x, axes)
        s = (_mean(xc * xc, axes) + eps).rsqrt()
        xh = xc * s
        v = _mean(g * xh, axes) * u + _mean(u * xh, axes) * g
        dx = -(s * _mean(g * dg, axes)) * xh - s * NormalizeBackward.apply(v, x, axes=axes,
                                                                           eps=eps)
        return (dg if need_g else None), dx

    @staticmethod
    def lower(ins, out, attrs):
        # forward: normalize_grad_kernel into the output buffer, with the forward's
        # statistics (an array attribute) when it kept them, and scratch buffers
        g, x = ins
        if not (g.dtype == x.dtype == out.dtype and x.dtype in _FLOATS
                and g.shape == x.shape == out.shape):
            return None
        order = jit_rules.order_of(out)
        stat = tuple(1 if i in attrs["axes"] else n for i, n in enumerate(x.shape))
        xhat = attrs.get("_xhat")
        if xhat is not None and attrs.get("_inv") is not None and xhat.dtype == g.dtype:
            return Lowered(("{c0}({i0}, {a__xhat}, {c1}, {a__inv}, {o}, {t0})",),
                           temps=((x.shape, x.dtype, order),),
                           consts=(normalize_grad_from_output, tuple(attrs["axes"])))
        cached = attrs.get("_mean") is not None and attrs.get("_inv") is not None
        stats = "{a__mean}, {a__inv}" if cached else "None, None"
        return Lowered((f"{{c0}}({{i0}}, {{i1}}, {{c1}}, {{c2}}, {stats}, {{o}}, {{t0}}, {{t1}}, "
                        f"{{t2}}, {{t3}}, {{t4}})",),
                       temps=((x.shape, x.dtype, order), (x.shape, x.dtype, order),
                              (stat, x.dtype), (stat, x.dtype), (stat, x.dtype)),
                       consts=(normalize_grad_kernel, tuple(attrs["axes"]), attrs["eps"]))


def moments_kernel(x: np.ndarray, axes: tuple, out: Any = None, sq: Any = None) -> np.ndarray:
    """[mean, unbiased variance, biased variance] of x over ``axes`` as a (3, C) array (C: the
    elements of the other axes), the same bits as ``np.mean``, ``np.var(ddof=1)`` and
    ``np.var`` give (the mean, the squared deviations, their sum over n - 1 and over n), in
    four passes instead of their eight; into ``out`` (and the squared deviations into
    ``sq``, x's shape) when given. The biased variance is the one batch norm normalizes
    with (:func:`normalize_kernel` reads it), the unbiased one goes into its running
    statistics."""
    keep = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    n = np.intp(math.prod(x.shape[i] for i in axes))
    if out is None:
        out = np.empty((3, math.prod(keep)), np.result_type(x, 1.0))
    mean, var, biased = (out[i].reshape(keep) for i in range(3))
    if sq is None:
        sq = np.empty_like(x)
    xr, sqr = _rows(x, axes), _rows(sq, axes)
    if xr is not None and sqr is not None and out.dtype == x.dtype:  # block by block of rows
        # (a row's mean and sum are the bits of the whole array's over those axes: numpy
        # reduces a channel's contiguous block alike)
        for b in _row_blocks(*xr.shape):
            m = np.mean(xr[b], axis=1, keepdims=True, out=out[0, b, None])
            d = np.subtract(xr[b], m, out=sqr[b])
            np.square(d, out=d)
            np.sum(d, axis=1, keepdims=True, out=out[2, b, None])
    else:
        np.mean(x, axis=axes, keepdims=True, out=mean)
        sq = np.subtract(x, mean, out=sq)
        np.square(sq, out=sq)
        np.sum(sq, axis=axes, keepdims=True, out=biased)
    np.true_divide(biased, np.maximum(n - 1, 0), out=var, casting="unsafe")
    np.true_divide(biased, n, out=biased, casting="unsafe")
    return out


class BatchMoments(Function):
    """out = [mean(x), Σ (x - mean(x))² / (n - 1), Σ (x - mean(x))² / n] over ``axes``,
    stacked (3, C): the batch statistics a batch norm layer folds into its running ones
    (under no_grad), in one op; the normalization reads the mean and the biased variance
    from it too (``_moments``) rather than computing them again. Not differentiable: its
    backward raises."""

    @staticmethod
    def forward(ctx, x, *, axes):
        with np.errstate(divide="ignore", invalid="ignore"):  # (n = 1: nan, as np.var)
            return moments_kernel(x, axes)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("BatchMoments (batch norm's running statistics) is not "
                           "differentiable: compute x.mean() and x.var() for a gradient")

    @staticmethod
    def lower(ins, out, attrs):
        # forward: moments_kernel into the output buffer, the squared deviations into a
        # scratch buffer laid out as x
        (x,) = ins
        if x.dtype not in _FLOATS or out.dtype != x.dtype or not out.flags.c_contiguous:
            return None
        return Lowered(("{c0}({i0}, {c1}, {o}, {t0})",), consts=(
            moments_kernel, tuple(attrs["axes"])),
            temps=((x.shape, x.dtype, jit_rules.order_of(x)),))


class BatchNorm(Normalize):
    """:class:`Normalize` over the batch and spatial axes (its name in graphs); its backward
    reads the saved x̂ (:func:`normalize_grad_from_output`)."""
    _grad_from_output = True


class LayerNorm(Normalize):
    """:class:`Normalize` over the trailing ``normalized_shape`` axes (its name in graphs)."""


class GroupNorm(Normalize):
    """:class:`Normalize` over each group of channels and the spatial axes (its name in
    graphs)."""


def normalize(x: Tensor, axes: Any, eps: float, kind: type[Normalize] = Normalize,
              moments: np.ndarray | None = None) -> Tensor:
    """``kind``.apply(x): x̂ over ``axes`` (a tuple of non-negative axes); ``moments``: x's
    :func:`moments_kernel` over those axes, when already computed."""
    axes = tuple(int(a) for a in axes)
    if moments is None:
        return kind.apply(x, axes=axes, eps=float(eps))
    return kind.apply(x, axes=axes, eps=float(eps), _moments=moments)


def channel_dot_kernel(g: np.ndarray, x: np.ndarray, axes: tuple,
                       out: Any = None, t: Any = None) -> np.ndarray:
    """Σ g·x over ``axes`` (the statistics' shape, C for batch norm), into ``out`` when
    given: one batched dot product per row when g and x lie as rows per channel (reading
    both once, writing no product), else the product (into ``t``) summed."""
    gr, xr = _rows(g, axes), _rows(x, axes)
    keep = tuple(n for i, n in enumerate(g.shape) if i not in axes)
    if gr is not None and xr is not None:
        prod = np.matmul(gr[:, None, :], xr[:, :, None])
        if out is None:
            return prod.reshape(keep)
        np.copyto(out, prod.reshape(keep))
        return out
    return np.add.reduce(np.multiply(g, x, out=t), axis=axes, out=out)


class ChannelDot(Function):
    """out[c] = Σ g·x over ``axes`` (all but the channel dim): an affine batch norm's weight
    gradient Σ g·x̂ without writing the product. dg = u·x, dx = u·g (u broadcast back)."""

    @staticmethod
    def forward(ctx, g, x, *, axes):
        return channel_dot_kernel(g, x, axes)

    @staticmethod
    def backward(ctx, u):
        g, x = ctx.inputs
        ub = u.reshape(_channel_shape(g.ndim))
        need_g, need_x = ctx.needs_input_grad
        return (ub * x if need_g else None), (ub * g if need_x else None)

    @staticmethod
    def lower(ins, out, attrs):
        # forward: channel_dot_kernel into the output buffer (a product buffer laid out as g)
        g, x = ins
        if not (g.dtype == x.dtype == out.dtype and g.shape == x.shape
                and out.flags.c_contiguous):
            return None
        return Lowered(("{c0}({i0}, {i1}, {c1}, {o}, {t0})",),
                       temps=((g.shape, g.dtype, jit_rules.order_of(g)),),
                       consts=(channel_dot_kernel, tuple(attrs["axes"])))


def _channel_shape(ndim: int) -> tuple:
    return (1, -1) + (1,) * (ndim - 2)


class ChannelAffine(Function):
    """y = x · w[c] + b[c] for (N, C, ...) x and per-channel w, b (batch norm's affine part as
    one node). dx = g · w, dw = ChannelDot(g, x), db = Σ g over all but the channel dim."""

    @staticmethod
    def forward(ctx, x, w, b):
        shape = _channel_shape(x.ndim)
        y = np.multiply(x, w.reshape(shape))
        return np.add(y, b.reshape(shape), out=y)

    @staticmethod
    def backward(ctx, g):
        x, w, _ = ctx.inputs
        axes = (0,) + tuple(range(2, x.ndim))
        need_x, need_w, need_b = ctx.needs_input_grad
        return ((g * w.reshape(_channel_shape(x.ndim))) if need_x else None,
                ChannelDot.apply(g, x, axes=axes) if need_w else None,
                g.sum(axis=axes) if need_b else None)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        shape = g.ints(list(_channel_shape(arrays[0].ndim)))
        y = g.node("Mul", [inputs[0], g.node("Reshape", [inputs[1], shape])])
        return g.node("Add", [y, g.node("Reshape", [inputs[2], shape])])

    @staticmethod
    def lower(ins, out, attrs):
        # forward: x * w.reshape(...) into the output buffer, then + b.reshape(...)
        x, w, b = ins
        if not (x.dtype == w.dtype == b.dtype == out.dtype and out.shape == x.shape):
            return None
        return Lowered(("multiply({i0}, {i1}.reshape({c0}), out={o})",
                        "add({o}, {i2}.reshape({c0}), out={o})"),
                       consts=(_channel_shape(x.ndim),), inplace=(0,))


def _affine(y: Tensor, weight: Any, bias: Any, shape: tuple) -> Tensor:
    if weight is not None:
        y = y * (weight if isinstance(weight, Tensor) else Tensor(weight)).reshape(shape)
    if bias is not None:
        y = y + (bias if isinstance(bias, Tensor) else Tensor(bias)).reshape(shape)
    return y


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float | None = 0.1, eps: float = 1e-5,
               num_batches_tracked: Tensor | None = None, *,
               _caller: str = "batch_norm") -> Tensor:
    """PyTorch's ``F.batch_norm`` over (N, C, ...): in training, normalize with the batch's
    statistics and, when the running tensors are given, update them in place
    (running = (1 - m)·running + m·batch, with the unbiased batch variance; ``momentum=None``
    and ``num_batches_tracked`` give the cumulative average); otherwise normalize with the
    running statistics. Per-channel ``weight`` and ``bias``."""
    from ..autograd import no_grad

    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{_caller}: expected an input (N, C, ...), got shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training or running_mean is None:
        moments = None
        n = x.numel() // x.shape[1]
        if training and n <= 1:
            raise ValueError(f"{_caller}: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape} (as PyTorch; a "
                             f"(1, C, H, W) batch with H·W > 1 is fine)")
        if training and running_mean is not None:
            with no_grad():
                m = momentum
                if num_batches_tracked is not None:
                    num_batches_tracked.add_(1)
                elif m is None:
                    raise ValueError("batch_norm: momentum=None needs num_batches_tracked")
                if x.dtype in _FLOATS:  # both in one op, the same bits
                    stats = BatchMoments.apply(x, axes=axes)
                    mean, var = stats[0], stats[1]
                    moments = stats._data  # (the normalization's statistics too)
                else:
                    mean, var = x.mean(dim=axes), x.var(dim=axes, correction=1)
                if mean.dtype != running_mean.dtype:  # (an op less per layer when alike)
                    mean = mean.astype(running_mean.dtype)
                if var.dtype != running_var.dtype:
                    var = var.astype(running_var.dtype)
                if m is None:  # the cumulative average: m = 1/n
                    # computed from the count with ops (kernels a tg.jit replay runs again),
                    # rounded as the Python float 1.0 / n would be
                    inv = 1.0 / num_batches_tracked.astype(np.float64)
                    for run, stat in ((running_mean, mean), (running_var, var)):
                        run.mul_((1.0 - inv).astype(run.dtype)).add_(stat * inv.astype(
                            run.dtype))
                else:
                    running_mean.mul_(1.0 - m).add_(mean, alpha=m)
                    running_var.mul_(1.0 - m).add_(var, alpha=m)
        y = normalize(x, axes, eps, BatchNorm, moments)
        if isinstance(weight, Tensor) and isinstance(bias, Tensor) and \
                weight.shape == bias.shape == (x.shape[1],) and \
                weight.dtype == bias.dtype == y.dtype:  # (one node, its gradient fused)
            return ChannelAffine.apply(y, weight, bias)
    else:
        y = (x - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    return _affine(y, weight, bias, shape)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Any = None,  # noqa: A002
               bias: Any = None, eps: float = 1e-5, *, _caller: str = "layer_norm") -> Tensor:
    """PyTorch's ``F.layer_norm``: normalize over the trailing dims ``normalized_shape``,
    then multiply by ``weight`` and add ``bias`` (of that shape)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"{_caller}: expected an input whose last {k} dims are {shape} "
                         f"(normalized_shape), got shape {x.shape}")
    y = normalize(x, range(x.ndim - k, x.ndim), eps, LayerNorm)
    return _affine(y, weight, bias, shape)


def group_norm(input: Tensor, num_groups: int, weight: Any = None,  # noqa: A002
               bias: Any = None, eps: float = 1e-5, *, _caller: str = "group_norm") -> Tensor:
    """PyTorch's ``F.group_norm``: the channels of (N, C, ...) in ``num_groups`` groups, each
    normalized over its channels and the spatial dims; per-channel ``weight`` and ``bias``."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"{_caller}: num_groups={num_groups} must divide the channels (dim 1)"
                         f" of the input, got shape {x.shape}")
    grouped = x.reshape(x.shape[0], num_groups, -1)
    y = normalize(grouped, (2,), eps, GroupNorm).reshape(x.shape)
    return _affine(y, weight, bias, (1, -1) + (1,) * (x.ndim - 2))


__all__ = ["Normalize", "NormalizeBackward", "BatchMoments", "ChannelAffine", "ChannelDot",
           "channel_dot_kernel", "moments_kernel",
           "normalize_kernel", "normalize_grad_kernel", "normalize_grad_from_output",
           "BatchNorm", "LayerNorm", "GroupNorm", "normalize", "batch_norm",
           "layer_norm", "group_norm"]
