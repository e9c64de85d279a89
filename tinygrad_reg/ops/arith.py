"""More elementwise arithmetic with PyTorch's names: division that rounds (``div`` with
``rounding_mode``, ``//``), remainders (``%``/``remainder`` and ``fmod``), ``lerp``.

Broadcasting follows numpy, and the engine reduces each gradient to its input's shape, as for
every elementwise op (see :mod:`tinygrad_reg.ops.elementwise`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from ..errors import ArgumentError
from .common import operand, operands


def _no_zero_divisor(fn: str, b: np.ndarray) -> None:
    if b.dtype.kind in "biu" and not np.all(b):
        raise ArgumentError(f"{fn}: integer division by zero (PyTorch's ZeroDivisionError)")


class RoundedDiv(Function):
    """out = a / b rounded toward 0 (``mode="trunc"``) or down (``"floor"``, Python's ``//``:
    numpy's floor_divide, exact where floor(a / b) would round wrongly). Integers stay
    integers. da = db = 0 (piecewise constant, PyTorch's convention)."""

    @staticmethod
    def forward(ctx, a, b, mode):
        _no_zero_divisor("div", b)
        if mode == "floor":
            return np.floor_divide(a, b)
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":
            q = np.floor_divide(a, b)
            return q + ((np.remainder(a, b) != 0) & ((a < 0) != (b < 0))).astype(q.dtype)
        return np.trunc(a / b)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0.0, grad * 0.0


class Remainder(Function):
    """out = a - b · floor(a / b), with the sign of b (Python's ``%``, ``torch.remainder``;
    numpy's remainder). da = grad, db = -grad · floor(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        _no_zero_divisor("remainder", b)
        if ctx.needs_input_grad and ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return np.remainder(a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        db = None
        if need_b:
            a, b = ctx.saved_tensors
            db = -grad * RoundedDiv.apply(a, b, mode="floor")
        return (grad if need_a else None), db


class Fmod(Function):
    """out = a - b · trunc(a / b), with the sign of a (C's fmod, ``torch.fmod``).
    da = grad, db = -grad · trunc(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        _no_zero_divisor("fmod", b)
        if ctx.needs_input_grad and ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return np.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        db = None
        if need_b:
            a, b = ctx.saved_tensors
            db = -grad * RoundedDiv.apply(a, b, mode="trunc")
        return (grad if need_a else None), db


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


def rounded_div(a: Any, b: Any, rounding_mode: str) -> Tensor:
    """a / b rounded toward 0 (``"trunc"``) or down (``"floor"``), PyTorch's
    ``div(a, b, rounding_mode=...)``: integers stay integers (division by zero is refused),
    floats stay floats; the gradient is 0."""
    if rounding_mode not in ("trunc", "floor"):
        raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                            f"{rounding_mode!r}")
    return RoundedDiv.apply(*operands(a, b), mode=rounding_mode)


def floor_divide(a: Any, b: Any) -> Tensor:
    """a // b: the quotient rounded down (Python's and PyTorch's ``//``); integers stay
    integers."""
    return RoundedDiv.apply(*operands(a, b), mode="floor")


def remainder(a: Any, b: Any) -> Tensor:
    """a % b with the sign of b (Python's ``%``, PyTorch's ``remainder``)."""
    return Remainder.apply(*operands(a, b))


def fmod(a: Any, b: Any) -> Tensor:
    """The remainder of a / b with the sign of a (C's ``fmod``, PyTorch's ``fmod``)."""
    return Fmod.apply(*operands(a, b))


__all__ = ["lerp", "rounded_div", "floor_divide", "remainder", "fmod"]
