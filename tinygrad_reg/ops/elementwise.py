"""Elementwise ops. Broadcasting follows numpy; the engine reduces gradients to each input's
shape, so no op here deals with broadcasting in its backward."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function, wrap
from .common import operand, operands


class Add(Function):
    """out = a + b.   da = grad, db = grad."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """out = a - b.   da = grad, db = -grad."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """out = a * b.   da = grad * b, db = grad * a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """out = a / b.   da = grad / b, db = -grad * a / b²  (b = 0 is a pole: inf/nan as numpy)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad / b if need_a else None), (-grad * a / (b * b) if need_b else None)


class Neg(Function):
    """out = -x.   dx = -grad."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """out = x ** exponent for a constant number ``exponent``.
    dx = grad · exponent · x^(exponent-1)."""

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        return x ** exponent

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        c = ctx.attrs["exponent"]
        if c == 0:
            return grad * 0.0
        return grad * c * x ** (c - 1)


class PowTensor(Function):
    """out = a ** b for two tensors.   da = grad · b · a^(b-1), db = grad · out · log(a) (a > 0)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return ((grad * b * a ** (b - 1.0)) if need_a else None,
                (grad * out * a.log()) if need_b else None)


class Exp(Function):
    """out = eˣ.   dx = grad · out."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """out = ln x.   dx = grad / x  (x = 0 gives -inf and an infinite gradient, as numpy)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Function):
    """out = √x.   dx = grad / (2·out)."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (out * 2.0)


class Abs(Function):
    """out = |x|.   dx = grad · sign(x), with the convention abs'(0) = 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * wrap(np.sign(x._data))


def _tie_split(win: np.ndarray, tie: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.where(win, 1.0, np.where(tie, 0.5, 0.0)).astype(dtype, copy=False)


class Maximum(Function):
    """out = max(a, b) elementwise.   da = grad where a > b, db = grad where b > a; at a tie
    (a == b) each gets grad / 2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = wrap(_tie_split(a._data > b._data, a._data == b._data, grad.dtype))
        return grad * share, grad * (1.0 - share)


class Minimum(Function):
    """out = min(a, b) elementwise.   da = grad where a < b, db = grad where b < a; at a tie
    (a == b) each gets grad / 2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = wrap(_tie_split(a._data < b._data, a._data == b._data, grad.dtype))
        return grad * share, grad * (1.0 - share)


class Where(Function):
    """out = a where cond else b.   da = grad · cond, db = grad · (not cond); cond gets none."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        c = cond._data.astype(bool, copy=False)
        need_a, need_b = ctx.needs_input_grad[1:]
        return None, (grad * wrap(c) if need_a else None), (grad * wrap(~c) if need_b else None)


class Clip(Function):
    """out = min(max(x, lo), hi).   dx = grad strictly inside (lo, hi), 0 at and beyond the
    bounds (a bound of None is no bound)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        if lo is None and hi is None:
            return x.copy()
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.attrs["lo"], ctx.attrs["hi"]
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x._data > lo
        if hi is not None:
            inside &= x._data < hi
        return grad * wrap(inside)


class AsType(Function):
    """out = x converted to ``dtype``.   dx = grad converted back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.save_for_backward(x)
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad.astype(x.dtype)


# -- the functional face ----------------------------------------------------------------

def add(a: Any, b: Any) -> Tensor:
    """a + b with numpy broadcasting."""
    return Add.apply(*operands(a, b))


def sub(a: Any, b: Any) -> Tensor:
    """a - b with numpy broadcasting."""
    return Sub.apply(*operands(a, b))


def mul(a: Any, b: Any) -> Tensor:
    """a * b with numpy broadcasting."""
    return Mul.apply(*operands(a, b))


def div(a: Any, b: Any) -> Tensor:
    """a / b with numpy broadcasting."""
    return Div.apply(*operands(a, b))


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg.apply(x)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - the operator's own name
    """a ** b. A number exponent is an attribute of one Pow node; a tensor exponent uses
    PowTensor (differentiable in both)."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return Pow.apply(a, exponent=b)
    return PowTensor.apply(*operands(a, b))


def exp(x: Tensor) -> Tensor:
    """eˣ elementwise."""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm elementwise."""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """Square root elementwise."""
    return Sqrt.apply(x)


def abs(x: Tensor) -> Tensor:  # noqa: A001
    """|x| elementwise; abs'(0) = 0."""
    return Abs.apply(x)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum; ties split the gradient evenly."""
    return Maximum.apply(*operands(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum; ties split the gradient evenly."""
    return Minimum.apply(*operands(a, b))


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (numpy broadcasting; cond gets no gradient)."""
    a, b = operands(a, b)
    c = cond if isinstance(cond, Tensor) else wrap(np.asarray(cond))
    if c._data.dtype != bool:
        c = wrap(c._data.astype(bool))
    return Where.apply(c, a, b)


def clip(x: Tensor, lo: float | None = None, hi: float | None = None) -> Tensor:
    """Clamp to [lo, hi]; the gradient passes only strictly inside (lo, hi)."""
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
    return Clip.apply(x, lo=lo, hi=hi)


def astype(x: Tensor, dtype: Any) -> Tensor:
    """A copy of ``x`` converted to ``dtype``; differentiable between float dtypes."""
    dtype = np.dtype(dtype)
    if x.requires_grad and dtype.kind not in "fc":
        return wrap(x._data.astype(dtype))
    return AsType.apply(x, dtype=dtype)


def compare(a: Any, b: Any, ufunc: np.ufunc) -> Tensor:
    """A comparison (``<``, ``==``, ...): a bool tensor with no gradient."""
    a, b = operands(a, b)
    try:
        return wrap(ufunc(a._data, b._data))
    except ValueError as err:
        raise ValueError(f"{ufunc.__name__}: {err} (shapes {a.shape}, {b.shape})") from err


__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "maximum",
           "minimum", "where", "clip", "astype", "compare", "operand"]
