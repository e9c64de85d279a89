"""Reductions over ``axis`` (None, an int or a tuple) with numpy's ``keepdims``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function, wrap
from .common import keepdims_shape, normalize_axis, unreduce


class Sum(Function):
    """out = Σ x over ``axis``.   dx = grad broadcast back to x's shape."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return unreduce(grad, ctx.inputs[0].shape, a["axis"], a["keepdims"])


class Mean(Function):
    """out = (1/n) Σ x over ``axis`` (n elements reduced).   dx = grad / n, broadcast back."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return np.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        shape = ctx.inputs[0].shape
        n = int(np.prod([shape[i] for i in normalize_axis(a["axis"], len(shape), "mean")]))
        return unreduce(grad, shape, a["axis"], a["keepdims"]) / float(n)


def _extreme_backward(ctx, grad):
    """Shared by Max and Min: the gradient goes to the extreme elements, split evenly
    among ties."""
    (x, out) = ctx.saved_tensors
    a = ctx.attrs
    out_k = out._data.reshape(keepdims_shape(x.shape, a["axis"]))
    hit = x._data == out_k
    share = hit / hit.sum(axis=a["axis"], keepdims=True)
    return unreduce(grad, x.shape, a["axis"], a["keepdims"]) * wrap(share.astype(grad.dtype))


class Max(Function):
    """out = max x over ``axis``.   dx = grad at the maximum; k tied maxima get grad / k each."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        out = np.max(x, axis=axis, keepdims=keepdims)
        out = np.asarray(out)
        ctx.save_for_backward(x, out)
        return out

    backward = staticmethod(_extreme_backward)


class Min(Function):
    """out = min x over ``axis``.   dx = grad at the minimum; k tied minima get grad / k each."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        out = np.asarray(np.min(x, axis=axis, keepdims=keepdims))
        ctx.save_for_backward(x, out)
        return out

    backward = staticmethod(_extreme_backward)


class Var(Function):
    """out = Σ (x - mean)² / (n - ddof) over ``axis``.   dx = grad · 2(x - mean) / (n - ddof)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof):
        ctx.save_for_backward(x)
        return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        a = ctx.attrs
        n = int(np.prod([x.shape[i] for i in normalize_axis(a["axis"], x.ndim, "var")]))
        centered = x - x.mean(axis=a["axis"], keepdims=True)
        scale = 2.0 / (n - a["ddof"])
        return unreduce(grad, x.shape, a["axis"], a["keepdims"]) * centered * scale


class LogSumExp(Function):
    """out = log Σ exp(x) over ``axis``, computed as m + log Σ exp(x - m) with m = max x, so
    it is finite for any finite x.   dx = grad · exp(x - out) (the softmax)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            out = out.reshape(()) if axis is None else np.squeeze(out, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        a = ctx.attrs
        out_k = out.reshape(keepdims_shape(x.shape, a["axis"]))
        return unreduce(grad, x.shape, a["axis"], a["keepdims"]) * (x - out_k).exp()


def _reduce(fn: type[Function], x: Tensor, axis: Any, keepdims: bool, **extra: Any) -> Tensor:
    if axis is not None:
        axis = normalize_axis(axis, x.ndim, fn.__name__)
        axis = axis[0] if len(axis) == 1 else axis
    return fn.apply(x, axis=axis, keepdims=bool(keepdims), **extra)


def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Σ x over ``axis`` (None: all)."""
    return _reduce(Sum, x, axis, keepdims)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (None: all)."""
    return _reduce(Mean, x, axis, keepdims)


def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    return _reduce(Max, x, axis, keepdims)


def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    return _reduce(Min, x, axis, keepdims)


def var(x: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis`` with numpy's ``ddof`` (0: population variance, numpy's default;
    PyTorch's default is ddof=1)."""
    return _reduce(Var, x, axis, keepdims, ddof=int(ddof))


def logsumexp(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) over ``axis``, stable for large |x|."""
    return _reduce(LogSumExp, x, axis, keepdims)


__all__ = ["sum", "mean", "max", "min", "var", "logsumexp"]
