"""More elementwise arithmetic with PyTorch's names: division that rounds (``div`` with
``rounding_mode``, ``//``), remainders (``%``/``remainder`` and ``fmod``), ``lerp``, ``exp2``,
``copysign``, ``logaddexp``, and the tests ``isinf``, ``isnan``, ``isfinite``, ``isclose``.

Broadcasting follows numpy, and the engine reduces each gradient to its input's shape, as for
every elementwise op (see :mod:`tinygrad_reg.ops.elementwise`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import OPS, Tensor
from ..autograd import Function
from ..errors import ArgumentError
from .common import cast, operand, operands

_FLOAT = np.dtype(np.float32)


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


class Exp2(Function):
    """out = 2ˣ.   dx = grad · out · ln 2."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp2(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * float(np.log(2.0))


class CopySign(Function):
    """out = |a| with the sign bit of b (-0.0 counts as negative, as in C and PyTorch).
    da = grad · out / a, and 0 where a = 0 (PyTorch's rule; nan where a is ±inf, as
    PyTorch); db = 0."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.copysign(a, b)
        if ctx.needs_input_grad and ctx.needs_input_grad[0]:
            ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        da = None
        if need_a:
            a, out = ctx.saved_tensors
            safe = OPS["where"](a == 0.0, 1.0, a)
            da = grad * OPS["where"](a == 0.0, 0.0, out / safe)
        return da, (grad * 0.0 if need_b else None)


class LogAddExp(Function):
    """out = ln(eᵃ + eᵇ), computed as max(a, b) + ln(1 + e^-|a - b|) (numpy's logaddexp:
    finite for any finite a, b).   da = grad · σ(a - b), db = grad · σ(b - a) (each operand's
    softmax weight; nan where a = b = ±inf, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.logaddexp(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return ((grad * (a - b).sigmoid() if need_a else None),
                (grad * (b - a).sigmoid() if need_b else None))


class IsValue(Function):
    """A test of each element, as bool: ``test`` "inf" (±inf), "posinf", "neginf", "nan" or
    "finite". No gradient."""

    tests = {"inf": np.isinf, "posinf": np.isposinf, "neginf": np.isneginf, "nan": np.isnan,
             "finite": np.isfinite}

    @staticmethod
    def forward(ctx, x, test):
        return IsValue.tests[test](x)

    @staticmethod
    def backward(ctx, grad):
        return None


def _tested(x: Any, test: str) -> Tensor:
    return IsValue.apply(x if isinstance(x, Tensor) else Tensor(x), test=test)


def isinf(x: Any) -> Tensor:
    """True where x is +inf or -inf (bool)."""
    return _tested(x, "inf")


def isposinf(x: Any) -> Tensor:
    """True where x is +inf (bool)."""
    return _tested(x, "posinf")


def isneginf(x: Any) -> Tensor:
    """True where x is -inf (bool)."""
    return _tested(x, "neginf")


def isnan(x: Any) -> Tensor:
    """True where x is nan (bool)."""
    return _tested(x, "nan")


def isfinite(x: Any) -> Tensor:
    """True where x is neither inf nor nan (bool; always for integers)."""
    return _tested(x, "finite")


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|a - b| <= atol + rtol · |b| elementwise, as bool (PyTorch's ``isclose``, not
    symmetric in a and b): infinities are close only to themselves, nan to nothing unless
    ``equal_nan``."""
    a, b = operands(a, b)
    same = a == b
    if a._data.dtype.kind in "biu" and b._data.dtype.kind in "biu" and rtol == 0 == atol:
        return same
    af, bf = (cast(t, _FLOAT) if t._data.dtype.kind in "biu" else t for t in (a, b))
    finite = isfinite(af) & isfinite(bf)
    a0, b0 = OPS["where"](finite, af, 0.0), OPS["where"](finite, bf, 0.0)  # (no inf - inf)
    close = same | (finite & ((a0 - b0).abs() <= atol + rtol * b0.abs()))
    if equal_nan:
        close = close | (isnan(af) & isnan(bf))
    return close


def exp2(x: Any) -> Tensor:
    """2ˣ elementwise (an integer tensor gives float32)."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return Exp2.apply(cast(x, _FLOAT) if x._data.dtype.kind in "biu" else x)


def copysign(a: Any, b: Any) -> Tensor:
    """|a| with the sign of b elementwise (integers give float32, as PyTorch)."""
    a, b = operands(a, b)
    if a._data.dtype.kind in "biu" and b._data.dtype.kind in "biu":
        a, b = cast(a, _FLOAT), cast(b, _FLOAT)
    return CopySign.apply(a, b)


def logaddexp(a: Any, b: Any) -> Tensor:
    """ln(eᵃ + eᵇ) elementwise, without overflow."""
    return LogAddExp.apply(*operands(a, b))


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


__all__ = ["lerp", "rounded_div", "floor_divide", "remainder", "fmod", "exp2", "copysign",
           "logaddexp", "isinf", "isposinf", "isneginf", "isnan", "isfinite", "isclose"]
