"""Matrix products."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import operands


def _swap(t: Tensor) -> Tensor:
    """Swap the last two axes."""
    axes = list(range(t.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return t.transpose(*axes)


class MatMul(Function):
    """out = a @ b with numpy's semantics (1-D vectors, 2-D matrices, batched with broadcast
    batch axes).   da = grad @ bᵀ, db = aᵀ @ grad, each reduced to its input's shape."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without reshapes
            return (grad @ b.T if need_a else None), (a.T @ grad if need_b else None)
        # promote vectors to matrices as numpy does, then undo the promotion
        a2 = a.reshape(1, a.shape[0]) if a.ndim == 1 else a
        b2 = b.reshape(b.shape[0], 1) if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:
            g = g.expand_dims(-2)
        if b.ndim == 1:
            g = g.expand_dims(-1)
        ga = gb = None
        if need_a:
            ga = g @ _swap(b2)
            ga = ga.sum_to(a2.shape).reshape(a.shape)
        if need_b:
            gb = _swap(a2) @ g
            gb = gb.sum_to(b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b with numpy's semantics (1-D, 2-D and batched)."""
    a, b = operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMul: both operands need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    return MatMul.apply(a, b)


__all__ = ["matmul"]
