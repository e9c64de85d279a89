"""Activations, each in a numerically stable form."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd import Function, wrap


class ReLU(Function):
    """out = max(x, 0).   dx = grad where x > 0, with the convention relu'(0) = 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * wrap(x._data > 0)


class Sigmoid(Function):
    """out = 1 / (1 + e⁻ˣ), computed from e^(-|x|) so it never overflows.
    dx = grad · out · (1 - out)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1.0, e) / (1.0 + e)
        out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return SigmoidBackward.apply(grad, out)


class SigmoidBackward(Function):
    """out = g · y · (1 - y): Sigmoid's gradient as one node, so the first-order pass costs one
    op.   dg = grad · y(1 - y), dy = grad · g · (1 - 2y)."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return g * y * (1.0 - y)

    @staticmethod
    def backward(ctx, grad):
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad
        return ((grad * y * (1.0 - y)) if need_g else None,
                (grad * g * (1.0 - 2.0 * y)) if need_y else None)


class Tanh(Function):
    """out = tanh x.   dx = grad · (1 - out²)."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return TanhBackward.apply(grad, out)


class TanhBackward(Function):
    """out = g · (1 - y²): Tanh's gradient as one node, so the first-order pass costs one op.
    dg = grad · (1 - y²), dy = -2 · grad · g · y."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return g * (1.0 - y * y)

    @staticmethod
    def backward(ctx, grad):
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad
        return ((grad * (1.0 - y * y)) if need_g else None,
                (grad * g * y * -2.0) if need_y else None)


class Softmax(Function):
    """out = exp(x - max x) / Σ exp(x - max x) along ``axis``.
    dx = out · (grad - Σ grad · out) (sums along ``axis``)."""

    @staticmethod
    def forward(ctx, x, axis):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        return out * (grad - (grad * out).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    """out = x - logsumexp(x) along ``axis`` (stable).
    dx = grad - exp(out) · Σ grad (sum along ``axis``)."""

    @staticmethod
    def forward(ctx, x, axis):
        m = np.max(x, axis=axis, keepdims=True)
        shifted = x - m
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        return grad - out.exp() * grad.sum(axis=axis, keepdims=True)


def relu(x: Tensor) -> Tensor:
    """max(x, 0); relu'(0) = 0."""
    return ReLU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """The logistic function, stable for any x."""
    return Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh.apply(x)


def _axis(x: Tensor, axis: int, op: str) -> int:
    if not -x.ndim <= axis < max(x.ndim, 1) or x.ndim == 0:
        raise ValueError(f"{op}: axis {axis} is out of bounds for shape {x.shape}")
    return axis % x.ndim


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / Σ exp(x) along ``axis``, stable for large |x|."""
    return Softmax.apply(x, axis=_axis(x, axis, "softmax"))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x) along ``axis``, stable for large |x|."""
    return LogSoftmax.apply(x, axis=_axis(x, axis, "log_softmax"))


__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax"]
