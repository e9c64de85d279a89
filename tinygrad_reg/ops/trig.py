"""Inverse trigonometric and hyperbolic functions, with PyTorch's names: asin, acos, atan,
atan2, sinh, cosh, asinh, acosh, atanh (sin, cos and tan are in
:mod:`tinygrad_reg.ops.elementwise`).

Outside their domains (|x| > 1 for asin, acos and atanh, x < 1 for acosh) they give nan, as
numpy and PyTorch do, and so do their gradients; at the domain's edge (x = ±1) the gradient is
infinite. An integer tensor gives float32 (PyTorch's default dtype).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from .common import cast, operands

_FLOAT = np.dtype(np.float32)


def _keep_x(ctx: Any, f: Any, x: np.ndarray) -> np.ndarray:
    """f(x), nan outside the domain without a warning; x is saved (the gradients read it)."""
    ctx.save_for_backward(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return f(x)


class Asin(Function):
    """out = arcsin x.   dx = grad / √(1 - x²)."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.arcsin, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (1.0 - x * x).rsqrt()


class Acos(Function):
    """out = arccos x.   dx = -grad / √(1 - x²)."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.arccos, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * (1.0 - x * x).rsqrt()


class Atan(Function):
    """out = arctan x.   dx = grad / (1 + x²)."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.arctan, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x * x + 1.0)


class Sinh(Function):
    """out = sinh x.   dx = grad · cosh x."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.sinh, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cosh()


class Cosh(Function):
    """out = cosh x.   dx = grad · sinh x."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.cosh, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sinh()


class Asinh(Function):
    """out = arsinh x = ln(x + √(x² + 1)).   dx = grad / √(x² + 1)."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.arcsinh, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x * x + 1.0).rsqrt()


class Acosh(Function):
    """out = arcosh x = ln(x + √(x² - 1)), x >= 1.   dx = grad / √((x - 1)(x + 1))."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.arccosh, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x - 1.0) * (x + 1.0)).rsqrt()


class Atanh(Function):
    """out = artanh x = ½ ln((1 + x) / (1 - x)), |x| < 1.   dx = grad / (1 - x²)."""

    @staticmethod
    def forward(ctx, x):
        return _keep_x(ctx, np.arctanh, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 - x * x)


class Atan2(Function):
    """out = the angle of the point (b, a): arctan(a / b) in the right quadrant, in (-π, π]
    (numpy's arctan2(a, b), PyTorch's atan2(input, other)).
    da = grad · b / (a² + b²), db = -grad · a / (a² + b²) (nan at the origin, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        r2 = a * a + b * b
        return (grad * b / r2 if need_a else None), (-grad * a / r2 if need_b else None)


def _floating(x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return cast(x, _FLOAT) if x._data.dtype.kind in "biu" else x


def _function(cls: type[Function]) -> Any:
    def fn(x: Any) -> Tensor:
        return cls.apply(_floating(x))

    fn.__name__ = fn.__qualname__ = cls.__name__.lower()
    fn.__doc__ = cls.__doc__.split(".   ")[0].strip() + " elementwise (see the op " + \
        cls.__name__ + ")."
    return fn


asin = _function(Asin)
acos = _function(Acos)
atan = _function(Atan)
sinh = _function(Sinh)
cosh = _function(Cosh)
asinh = _function(Asinh)
acosh = _function(Acosh)
atanh = _function(Atanh)


def atan2(a: Any, b: Any) -> Tensor:
    """The angle of (b, a) elementwise, in (-π, π] (PyTorch's ``atan2(input, other)``)."""
    a, b = operands(a, b)
    return Atan2.apply(_floating(a), _floating(b))


__all__ = ["asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh"]
