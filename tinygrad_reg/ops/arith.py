"""More elementwise arithmetic with PyTorch's names: ``lerp``.

Broadcasting follows numpy, and the engine reduces each gradient to its input's shape, as for
every elementwise op (see :mod:`tinygrad_reg.ops.elementwise`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from .common import operand, operands


class Lerp(Function):
    """out = start + w · (end - start), computed as PyTorch does: start + w·(end - start) where
    |w| < 0.5, else end - (end - start)·(1 - w) (exact at both ends).
    dstart = grad · (1 - w), dend = grad · w, dw = grad · (end - start)."""

    @staticmethod
    def forward(ctx, start, end, weight):
        need_s, need_e, need_w = ctx.needs_input_grad or (False, False, False)
        ctx.save_for_backward(start if need_w else None, end if need_w else None,
                              weight if need_s or need_e else None)
        diff = end - start
        return np.where(np.abs(weight) < 0.5, start + weight * diff,
                        end - diff * (1 - weight)).astype(diff.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        start, end, weight = ctx.saved_tensors
        need_s, need_e, need_w = ctx.needs_input_grad
        return ((grad * (1.0 - weight) if need_s else None),
                (grad * weight if need_e else None),
                (grad * (end - start) if need_w else None))


def lerp(start: Any, end: Any, weight: Any) -> Tensor:
    """start + weight · (end - start), elementwise with broadcasting; ``weight`` a number or
    a tensor (PyTorch's ``lerp``)."""
    start, end = operands(start, end)
    if not isinstance(weight, Tensor):
        weight = operand(weight, start)
    return Lerp.apply(start, end, weight)


__all__ = ["lerp"]
