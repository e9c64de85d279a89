"""Elementwise ops. Broadcasting follows numpy; the engine reduces gradients to each input's
shape, so no op here deals with broadcasting in its backward."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function, wrap
from ..creation import _cpu, _drawn, _dtype, _size
from ..creation import _normal as _standard_normal
from ..errors import ArgumentError, DTypeError
from . import _erf, jit_rules, onnx_rules
from .arith import rounded_div
from .common import cast, operand, operands

_FLOAT = np.dtype(np.float32)  # PyTorch's default dtype


class Add(Function):
    """out = a + b.   da = grad, db = grad."""
    to_onnx = onnx_rules.simple("Add")
    lower = jit_rules.ufunc("add", 2)

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """out = a - b.   da = grad, db = -grad."""
    to_onnx = onnx_rules.simple("Sub")
    lower = jit_rules.ufunc("subtract", 2)

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """out = a * b.   da = grad * b, db = grad * a  (each factor saved only if the other's
    gradient is needed)."""
    to_onnx = onnx_rules.simple("Mul")
    lower = jit_rules.ufunc("multiply", 2)

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """out = a / b.   da = grad / b, db = -grad * a / b²  (b = 0 is a pole: inf/nan as numpy;
    a is saved only if b's gradient is needed)."""
    to_onnx = onnx_rules.simple("Div")
    lower = jit_rules.ufunc("true_divide", 2)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1:] == (True,) else None, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad / b if need_a else None), (-grad * a / (b * b) if need_b else None)


class Neg(Function):
    """out = -x.   dx = -grad."""
    to_onnx = onnx_rules.simple("Neg")
    lower = jit_rules.ufunc("negative", 1)

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """out = x ** exponent for a constant number ``exponent``.
    dx = grad · (exponent · x^(exponent-1)), and exactly 0 for exponent = 0 (PyTorch's
    convention, also at x = 0, where 0·x⁻¹ would be nan). At x = 0 the rest follows the
    formula: exponent 1 gives 1, exponent > 1 gives 0, exponent in (0, 1) gives ±inf."""

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
        return grad * (c * x ** (c - 1))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Pow", [inputs[0], onnx_rules.scalar(g, attrs["exponent"], out)])


class PowTensor(Function):
    """out = a ** b for two tensors (also a number ** tensor, the number as a constant a).

    da = grad · (b · a^(b-1)), and 0 where b = 0;
    db = grad · out · log a, and 0 where a = 0 and b >= 0.

    These are PyTorch's conventions at a = 0: d(aᵇ)/db there is 0 for b >= 0 (its limit as
    a -> 0⁺) and -inf for b < 0 (out · log a = inf · -inf); for a < 0, log a is nan, so db is
    nan (also where aᵇ itself is finite, as (-2)²). The second derivatives are those of these
    expressions, as PyTorch's (so at a = 0 several are nan, and d²/da db is 0 where b = 0)."""
    to_onnx = onnx_rules.simple("Pow")

    @staticmethod
    def forward(ctx, a, b):
        if b.dtype.kind in "iu" and a.dtype.kind in "iu":
            out = _integer_power(a, b)
        else:
            out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        da = db = None
        if need_a:
            da = where(b == 0.0, 0.0, grad * (b * a ** (b - 1.0)))
        if need_b:
            db = grad * where((a == 0.0) & (b >= 0.0), 0.0, out * a.log())
        return da, db


def _integer_power(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a ** b for integer arrays, with PyTorch's result where b < 0 (numpy refuses): 1 for
    a = 1, ±1 for a = -1 (by b's parity), else 0 (0 ** -1 included)."""
    neg = b < 0
    if not neg.any():
        return a ** b
    out = a ** np.where(neg, 0, b)
    one = np.ones((), dtype=out.dtype)
    at_neg = np.where(a == 1, one, np.where(a == -1, np.where(b % 2 == 0, one, -one), 0))
    return np.where(neg, at_neg, out).astype(out.dtype, copy=False)


class Exp(Function):
    """out = eˣ.   dx = grad · out."""
    to_onnx = onnx_rules.simple("Exp")

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
    to_onnx = onnx_rules.simple("Log")

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
    to_onnx = onnx_rules.simple("Sqrt")

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
    to_onnx = onnx_rules.simple("Abs")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sign()


def _tie_split(win: np.ndarray, tie: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.where(win, 1.0, np.where(tie, 0.5, 0.0)).astype(dtype, copy=False)


class Maximum(Function):
    """out = max(a, b) elementwise.   da = grad where a > b, db = grad where b > a; at a tie
    (a == b) each gets grad / 2."""
    to_onnx = onnx_rules.simple("Max")

    @staticmethod
    def forward(ctx, a, b):
        out = np.maximum(a, b)
        if ctx.needs_input_grad:  # a's share of the gradient, made here (a traced kernel)
            ctx.save_for_backward(_tie_split(a > b, a == b, out.dtype))
        return out

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return grad * share, grad * (1.0 - share)


class Minimum(Function):
    """out = min(a, b) elementwise.   da = grad where a < b, db = grad where b < a; at a tie
    (a == b) each gets grad / 2."""
    to_onnx = onnx_rules.simple("Min")

    @staticmethod
    def forward(ctx, a, b):
        out = np.minimum(a, b)
        if ctx.needs_input_grad:
            ctx.save_for_backward(_tie_split(a < b, a == b, out.dtype))
        return out

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return grad * share, grad * (1.0 - share)


class Where(Function):
    """out = a where cond else b.   da = grad · cond, db = grad · (not cond); cond gets none."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors  # (bool: where() converts it)
        need_a, need_b = ctx.needs_input_grad[1:]
        return None, (grad * cond if need_a else None), (grad * ~cond if need_b else None)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        cond = onnx_rules.typed(g, inputs[0], arrays[0], bool)
        return g.node("Where", [cond, onnx_rules.typed(g, inputs[1], arrays[1], out.dtype),
                                onnx_rules.typed(g, inputs[2], arrays[2], out.dtype)])


class MaskedFill(Where):
    """out = value where mask else x: ``x.masked_fill(mask, value)``, recorded as
    :class:`Where` (inputs mask, value, x) under the name the user wrote, so a drawn graph
    and an error say MaskedFill.   dvalue = grad · mask, dx = grad · (not mask)."""


class Clip(Function):
    """out = min(max(x, lo), hi) for numbers lo, hi (None: no bound on that side); nan stays
    nan, and a nan bound gives nan everywhere.   dx = grad where lo <= x <= hi, else 0:
    a value equal to a bound passes the gradient (PyTorch's ``clamp``; its ``hardtanh`` does
    not, see :class:`~tinygrad_reg.ops.activation.Hardtanh`). With lo > hi, out = hi
    everywhere and dx = 0 everywhere, as PyTorch."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        if ctx.needs_input_grad:  # where the gradient passes, made here (a traced kernel)
            if lo is None:
                passes = x <= hi
            else:
                passes = x >= lo if hi is None else (x >= lo) & (x <= hi)
            ctx.save_for_backward(passes)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (passes,) = ctx.saved_tensors
        return grad * passes

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        lo = "" if attrs.get("lo") is None else onnx_rules.scalar(g, attrs["lo"], out)
        hi = "" if attrs.get("hi") is None else onnx_rules.scalar(g, attrs["hi"], out)
        return g.node("Clip", [inputs[0], lo, hi])


class ClampTensor(Function):
    """out = min(max(x, lo), hi) with tensor bounds (broadcast together); ``given`` says which
    bounds follow x: "min", "max" or "both". nan in x or a bound gives nan there.

    PyTorch's gradient rule: dx = grad where lo <= x <= hi; dlo = grad where x < lo (and
    lo < hi when both are given); dhi = grad where x > hi (or hi < lo). So a value equal to a
    bound passes the gradient to x; with lo > hi (out = hi) all of it goes to hi; with
    lo = hi and x < lo, none goes anywhere."""

    @staticmethod
    def forward(ctx, x, *bounds, given):
        lo = bounds[0] if given != "max" else None
        hi = bounds[-1] if given != "min" else None
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        if ctx.needs_input_grad:  # each input's mask, made here (a traced kernel)
            masks = []
            if lo is None:
                masks.append(x <= hi)
            elif hi is None:
                masks += [x >= lo, x < lo]
            else:
                masks += [(x >= lo) & (x <= hi), (x < lo) & (lo < hi)]
            if hi is not None:
                masks.append((x > hi) | (hi < lo) if lo is not None else x > hi)
            ctx.save_for_backward(*masks)
        return out

    @staticmethod
    def backward(ctx, grad):
        return tuple(grad * m if need else None
                     for m, need in zip(ctx.saved_tensors, ctx.needs_input_grad))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        y = onnx_rules.typed(g, inputs[0], arrays[0], out.dtype)
        bounds = [onnx_rules.typed(g, n, arr, out.dtype) for n, arr in zip(inputs[1:], arrays[1:])]
        if attrs["given"] != "max":
            y = g.node("Max", [y, bounds[0]])
        return y if attrs["given"] == "min" else g.node("Min", [y, bounds[-1]])


class AsType(Function):
    """out = x converted to ``dtype``.   dx = grad converted back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.source_dtype = x.dtype  # (the values are not needed)
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.source_dtype)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.cast(inputs[0], out.dtype)


class Sin(Function):
    """out = sin x.   dx = grad · cos x."""
    to_onnx = onnx_rules.simple("Sin")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Function):
    """out = cos x.   dx = -grad · sin x."""
    to_onnx = onnx_rules.simple("Cos")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Tan(Function):
    """out = tan x.   dx = grad · (1 + out²)  (poles at π/2 + kπ give inf, as numpy)."""
    to_onnx = onnx_rules.simple("Tan")

    @staticmethod
    def forward(ctx, x):
        out = np.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out * out + 1.0)


class _Piecewise(Function):
    """Base of the piecewise-constant ops (sign, floor, ceil, round, trunc): the gradient is 0
    everywhere, including at their jumps (PyTorch's convention)."""

    @staticmethod
    def backward(ctx, grad):
        return grad * 0.0


class Sign(_Piecewise):
    """out = sign x (-1, 0 or 1).   dx = 0."""
    to_onnx = onnx_rules.simple("Sign")

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)


class Floor(_Piecewise):
    """out = ⌊x⌋.   dx = 0."""
    to_onnx = onnx_rules.simple("Floor")

    @staticmethod
    def forward(ctx, x):
        return np.floor(x)


class Ceil(_Piecewise):
    """out = ⌈x⌉.   dx = 0."""
    to_onnx = onnx_rules.simple("Ceil")

    @staticmethod
    def forward(ctx, x):
        return np.ceil(x)


class Round(_Piecewise):
    """out = x rounded to ``decimals`` decimals, halves to even (numpy's and PyTorch's rule).
    dx = 0."""

    @staticmethod
    def forward(ctx, x, decimals):
        return np.round(x, decimals)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        d = attrs.get("decimals", 0) or 0
        if d == 0:
            return g.node("Round", inputs)
        k = onnx_rules.scalar(g, 10.0 ** d, out)
        return g.node("Div", [g.node("Round", [g.node("Mul", [inputs[0], k])]), k])


class Trunc(_Piecewise):
    """out = x rounded toward 0.   dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return np.trunc(x)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Mul", [g.node("Sign", inputs), g.node("Floor", [g.node("Abs", inputs)])])


class Log1p(Function):
    """out = ln(1 + x), exact for tiny x.   dx = grad / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1.0)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Log", [g.node("Add", [inputs[0], onnx_rules.scalar(g, 1.0, out)])])


class Expm1(Function):
    """out = eˣ - 1, exact for tiny x.   dx = grad · (out + 1)."""

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1.0)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Sub", [g.node("Exp", inputs), onnx_rules.scalar(g, 1.0, out)])


class Log2(Function):
    """out = log₂ x.   dx = grad / (x · ln 2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x * math.log(2.0))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Div", [g.node("Log", inputs), onnx_rules.scalar(g, math.log(2.0), out)])


class Log10(Function):
    """out = log₁₀ x.   dx = grad / (x · ln 10)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log10(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x * math.log(10.0))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Div", [g.node("Log", inputs), onnx_rules.scalar(g, math.log(10.0), out)])


class Reciprocal(Function):
    """out = 1 / x.   dx = -grad · out²."""
    to_onnx = onnx_rules.simple("Reciprocal")

    @staticmethod
    def forward(ctx, x):
        out = np.reciprocal(x) if x.dtype.kind == "f" else 1.0 / x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -grad * out * out


class Rsqrt(Function):
    """out = 1 / √x.   dx = -grad · out³ / 2."""

    @staticmethod
    def forward(ctx, x):
        out = 1.0 / np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * out * out * -0.5

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Reciprocal", [g.node("Sqrt", inputs)])


class Square(Function):
    """out = x².   dx = grad · 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.square(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * 2.0

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Mul", [inputs[0], inputs[0]])


class Erf(Function):
    """out = erf x = (2/√π) ∫₀ˣ e^(-t²) dt (scipy.special.erf if installed, else a numpy
    implementation accurate to about 4e-15; see ops/_erf.py).
    dx = grad · (2/√π) · e^(-x²)."""
    to_onnx = onnx_rules.simple("Erf")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf.erf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x * x * -1.0).exp() * (2.0 / math.sqrt(math.pi))


class Compare(Function):
    """A comparison (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``): a bool tensor, no
    gradient. An op (not a bare numpy call) so that traces and exports see it."""

    ufuncs = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
              "eq": np.equal, "ne": np.not_equal}

    @staticmethod
    def forward(ctx, a, b, op):
        return Compare.ufuncs[op](a, b)

    @staticmethod
    def backward(ctx, grad):
        return None, None

    onnx_ops = {"lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual",
                "eq": "Equal"}

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        dt = np.result_type(*arrays)
        args = [onnx_rules.typed(g, n, arr, dt) for n, arr in zip(inputs, arrays)]
        if attrs["op"] == "ne":
            return g.node("Not", [g.node("Equal", args)])
        return g.node(Compare.onnx_ops[attrs["op"]], args)


class Logical(Function):
    """``&``, ``|``, ``^`` and ``~`` of bool (or integer, bitwise) tensors; no gradient."""

    ufuncs = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}

    @staticmethod
    def forward(ctx, *xs, op):
        if op == "not":
            return np.invert(xs[0])
        return Logical.ufuncs[op](xs[0], xs[1])

    @staticmethod
    def backward(ctx, grad):
        return (None,) * len(ctx.inputs)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        args = [onnx_rules.typed(g, n, arr, bool) for n, arr in zip(inputs, arrays)]
        op = {"and": "And", "or": "Or", "xor": "Xor", "not": "Not"}[attrs["op"]]
        return onnx_rules.typed(g, g.node(op, args), np.empty(0, bool), out.dtype)


class Normal(Function):
    """A normal sample with the given means and standard deviations, PyTorch's
    ``torch.normal(mean, std)``: out = mean + std · ε, with ε ~ N(0, 1) drawn per element of
    the broadcast shape (a constant input named "noise").

    Gradient: zero for ``mean`` and ``std``, PyTorch's convention (a sample is not
    differentiated through the parameters of its distribution; for the reparameterized
    gradient, 1 and ε, write ``mean + std * tg.randn(shape)``)."""

    @staticmethod
    def forward(ctx, mean, std, noise):
        out = std * noise
        out += mean
        return out

    @staticmethod
    def backward(ctx, grad):
        zero = wrap(np.zeros(grad.shape, dtype=grad.dtype))  # a constant: no graph to build
        need_mean, need_std = ctx.needs_input_grad[:2]
        return (zero if need_mean else None), (zero if need_std else None), None


# -- the functional face ----------------------------------------------------------------

def add(a: Any, b: Any) -> Tensor:
    """a + b with numpy broadcasting."""
    if type(a) is type(b) is Tensor and a._data.dtype is b._data.dtype:  # (the common case)
        return Add.apply(a, b)
    return Add.apply(*operands(a, b))


def sub(a: Any, b: Any) -> Tensor:
    """a - b with numpy broadcasting."""
    if type(a) is type(b) is Tensor and a._data.dtype is b._data.dtype:  # (the common case)
        return Sub.apply(a, b)
    return Sub.apply(*operands(a, b))


def mul(a: Any, b: Any) -> Tensor:
    """a * b with numpy broadcasting."""
    if type(a) is type(b) is Tensor and a._data.dtype is b._data.dtype:  # (the common case)
        return Mul.apply(a, b)
    return Mul.apply(*operands(a, b))


def div(a: Any, b: Any, *, rounding_mode: str | None = None) -> Tensor:
    """a / b with numpy broadcasting: true division, so integers give float32 (PyTorch's
    default dtype). ``rounding_mode="trunc"`` or ``"floor"`` rounds the quotient toward 0 or
    down, keeping integer dtypes (see :func:`~tinygrad_reg.ops.arith.rounded_div`)."""
    if rounding_mode is not None:
        return rounded_div(a, b, rounding_mode)
    if type(a) is type(b) is Tensor and a._data.dtype is b._data.dtype and \
            a._data.dtype.kind in "fc":  # (the common case)
        return Div.apply(a, b)
    a, b = operands(a, b)
    if a._data.dtype.kind in "biu" and b._data.dtype.kind in "biu":
        a, b = cast(a, _FLOAT), cast(b, _FLOAT)
    return Div.apply(a, b)


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg.apply(x)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - the operator's own name
    """a ** b with PyTorch's dtypes: an integer tensor to an integer power stays an integer
    (a negative number power is refused, as PyTorch: write ``x.float() ** -2``; a negative
    tensor exponent gives PyTorch's integer result: 1 for a base of 1, ±1 for -1, else 0), to
    a float power it becomes float32. A number exponent is an attribute of one Pow node; a
    tensor exponent uses PowTensor (differentiable in both)."""
    if isinstance(a, Tensor) and isinstance(b, (int, float, np.integer, np.floating)) and \
            not isinstance(b, (bool, np.bool_)):
        kind = a._data.dtype.kind
        if kind in "biu":
            if isinstance(b, (float, np.floating)):
                a = cast(a, _FLOAT)
            elif b < 0:
                raise ArgumentError(f"pow: an integer tensor (dtype {a.dtype}) cannot be "
                                    f"raised to the negative integer power {b} (PyTorch's "
                                    f"rule); convert it first, e.g. x.float() ** {b}")
            elif kind == "b":
                a = cast(a, np.dtype(np.int64))
        return Pow.apply(a, exponent=b.item() if isinstance(b, np.generic) else b)
    return PowTensor.apply(*operands(a, b))


def exp(x: Tensor) -> Tensor:
    """eˣ elementwise (an integer tensor gives float32)."""
    return Exp.apply(_floating(x))


def log(x: Tensor) -> Tensor:
    """Natural logarithm elementwise (an integer tensor gives float32)."""
    return Log.apply(_floating(x))


def sqrt(x: Tensor) -> Tensor:
    """Square root elementwise (an integer tensor gives float32)."""
    return Sqrt.apply(_floating(x))


def _floating(x: Any) -> Tensor:
    """x as a float tensor: an integer or bool one becomes float32, PyTorch's default dtype
    (what exp, log, sin and the like give for integers)."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return cast(x, _FLOAT) if x._data.dtype.kind in "biu" else x


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
    """``a`` where ``cond`` is true, else ``b`` (numpy broadcasting; cond gets no gradient).
    ``a`` and ``b`` may be tensors or Python numbers (two numbers: int64 or float32, as
    PyTorch)."""
    return _where(Where, cond, a, b)


def _where(op: type, cond: Any, a: Any, b: Any) -> Tensor:
    a, b = operands(a, b)
    c = cond if isinstance(cond, Tensor) else wrap(np.asarray(cond))
    if c._data.dtype != bool:
        c = AsType.apply(c, dtype=np.dtype(bool)) if not c.requires_grad else \
            wrap(c._data.astype(bool))
    return op.apply(c, a, b)


def _bound(value: Any, name: str) -> Any:
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"clamp: {name} must be a number, a Tensor or None, got {value!r}")
    return float(value) if isinstance(value, float) else value


def clip(x: Tensor, lo: Any = None, hi: Any = None, *, min: Any = None,  # noqa: A002
         max: Any = None) -> Tensor:  # noqa: A002
    """Clamp to [lo, hi] (also spelled ``min``/``max``, PyTorch's ``clamp``); one bound may be
    None, not both. Bounds may be numbers or tensors (broadcast with x).

    PyTorch's conventions: the gradient passes where lo <= x <= hi, so a value *equal* to a
    bound passes it; nan gives nan and gradient 0. With lo > hi the result is hi everywhere
    and x gets no gradient (tensor bounds: hi gets it all). See :class:`Clip` and
    :class:`ClampTensor`."""
    if (lo is not None and min is not None) or (hi is not None and max is not None):
        raise TypeError("clamp: give lo/hi or min/max, not both")
    lo = _bound(lo if lo is not None else min, "min")
    hi = _bound(hi if hi is not None else max, "max")
    if lo is None and hi is None:
        raise ArgumentError("clamp: give min, max or both (at least one bound), as PyTorch; "
                            "for a copy of x, use x.clone()")
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        bounds = [operand(b, x) for b in (lo, hi) if b is not None]
        given = "both" if len(bounds) == 2 else "min" if lo is not None else "max"
        return ClampTensor.apply(x, *bounds, given=given)
    return Clip.apply(x, lo=lo, hi=hi)


clamp = clip


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """x with ``value`` where ``mask`` (bool, broadcast to x's shape) is True; the gradient of
    x passes where the mask is False."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}; "
                        f"compare first (e.g. x > 0)")
    if not isinstance(value, Tensor):
        value = operand(value, x)
    return _where(MaskedFill, wrap(m) if not isinstance(mask, Tensor) else mask, value, x)


def astype(x: Tensor, dtype: Any) -> Tensor:
    """A copy of ``x`` converted to ``dtype``; differentiable between float dtypes."""
    dtype = np.dtype(dtype)
    if x.requires_grad and dtype.kind not in "fc":
        return wrap(x._data.astype(dtype))
    return AsType.apply(x, dtype=dtype)


_COMPARE_NAMES = {np.less: "lt", np.less_equal: "le", np.greater: "gt",
                  np.greater_equal: "ge", np.equal: "eq", np.not_equal: "ne"}


def compare(a: Any, b: Any, op: Any) -> Tensor:
    """A comparison: ``op`` is "lt", "le", "gt", "ge", "eq" or "ne" (or the numpy ufunc); a
    bool tensor with no gradient."""
    op = _COMPARE_NAMES.get(op, op)
    a, b = operands(a, b)
    try:
        return Compare.apply(a, b, op=op)
    except ValueError as err:
        raise ValueError(f"{op}: {err} (shapes {a.shape}, {b.shape})") from err


def logical(op: str, a: Any, b: Any = None) -> Tensor:
    """``&``, ``|``, ``^`` (op "and", "or", "xor") or ``~`` ("not") of bool or integer
    tensors (bitwise), without gradient; a float is a
    :class:`~tinygrad_reg.errors.DTypeError` (TypeError and RuntimeError), as in PyTorch."""
    if op == "not":
        a = a if isinstance(a, Tensor) else Tensor(a)
        ts = (a,)
    else:
        a, b = operands(a, b)
        ts = (a, b)
    for t in ts:
        if t._data.dtype.kind not in "biu":
            raise DTypeError(f"bitwise {op}: needs bool or integer tensors, got dtype "
                             f"{t._data.dtype} (shape {t._data.shape}); for the truth values "
                             f"of floats use logical_{op}")
    return Logical.apply(*ts, op=op)


def _normal_parameter(value: Any, name: str) -> Tensor | float:
    if isinstance(value, Tensor):
        if value._data.dtype.kind != "f":
            raise TypeError(f"normal: {name} must be a floating-point tensor, got dtype "
                            f"{value._data.dtype}; convert it first ({name}.float())")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"normal: {name} must be a number or a Tensor, got "
                        f"{type(value).__name__} {value!r}")
    return float(value)


def _check_std(std: Any) -> None:
    values = std._data if isinstance(std, Tensor) else np.float64(std)
    if not (values >= 0).all():  # (nan fails too)
        bad = values if np.ndim(values) == 0 else values[~(values >= 0)].flat[0]
        raise ValueError(f"normal: std must be >= 0 everywhere, got {float(bad)!r}"
                         + (" in the std tensor" if np.ndim(values) else ""))


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *,
           generator: np.random.Generator | None = None, requires_grad: bool = False,
           dtype: Any = None, device: Any = None) -> Tensor:
    """Draws from normal distributions, with PyTorch's four forms of ``torch.normal``:

    - ``normal(mean, std, size)`` with numbers: a tensor of ``size`` (float32 unless
      ``dtype``; ``requires_grad`` makes it a leaf that requires grad);
    - ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)``,
      ``normal(mean_tensor, std_tensor)``: one draw per element of the broadcast shape of
      the tensors, in their float dtype; the result takes part in the graph with zero
      gradient for mean and std (see :class:`Normal`). These take no ``size``, ``dtype``
      or ``requires_grad``, as in PyTorch.

    out = mean + std · ε, ε ~ N(0, 1) from ``generator`` (default: the package generator).
    A negative or nan std is a ValueError."""
    _cpu(device, "normal")
    mean = _normal_parameter(mean, "mean")
    std = _normal_parameter(std, "std")
    _check_std(std)
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal: with a number mean and std, give the size: "
                            "normal(mean, std, size), e.g. normal(0.0, 0.01, (200, 1)) (or "
                            "pass mean or std as a tensor)")
        dt = _dtype(dtype, np.float32, "normal")
        if dt.kind != "f":
            raise TypeError(f"normal: dtype must be a float dtype, got {dt}")
        shape = _size("normal", (size,) if isinstance(size, (int, np.integer)) else (size,))
        arr = _drawn("normal", _affine_normal, generator, shape, dt, mean, std)
        if requires_grad:
            return Tensor(arr, requires_grad=True)
        return Tensor(arr)
    if size is not None or dtype is not None or requires_grad:
        raise TypeError("normal: with a tensor mean or std, the shape and dtype come from "
                        "the tensors (PyTorch's normal(mean, std) takes no size, dtype or "
                        "requires_grad); give numbers for mean and std to pass a size")
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    dt = np.result_type(*(t._data.dtype for t in tensors))
    try:
        shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    except ValueError:
        raise ValueError(f"normal: the shapes of mean {np.shape(_array(mean))} and std "
                         f"{np.shape(_array(std))} do not broadcast") from None
    mean_t = mean if isinstance(mean, Tensor) else wrap(np.asarray(mean, dtype=dt))
    std_t = std if isinstance(std, Tensor) else wrap(np.asarray(std, dtype=dt))
    noise = wrap(_drawn("normal", _standard_normal, generator, shape, dt))
    noise.name = "noise"
    return Normal.apply(mean_t, std_t, noise)


def _array(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


def _affine_normal(generator: Any, shape: tuple, dt: np.dtype, mean: float,
                   std: float) -> np.ndarray:
    """mean + std·N(0, 1) of ``shape`` in ``dt`` (drawn in dt for float32/float64)."""
    out = _standard_normal(generator, shape, dt)
    out *= dt.type(std)
    out += dt.type(mean)
    return out


def _unary(cls: type[Function], floating: bool = True) -> Any:
    """The functional face of a one-input op; with ``floating``, an integer or bool input is
    converted to float32 first (PyTorch's dtype for sin(int) and the like)."""
    def fn(x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if floating and x._data.dtype.kind in "biu":
            x = cast(x, _FLOAT)
        return cls.apply(x)

    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = cls.__doc__.split(".   ")[0].strip() + " elementwise (see the op " + \
        cls.__name__ + ")."
    return fn


sin = _unary(Sin)
cos = _unary(Cos)
tan = _unary(Tan)
sign = _unary(Sign, floating=False)
floor = _unary(Floor, floating=False)
ceil = _unary(Ceil, floating=False)
trunc = _unary(Trunc, floating=False)
log1p = _unary(Log1p)
expm1 = _unary(Expm1)
log2 = _unary(Log2)
log10 = _unary(Log10)
reciprocal = _unary(Reciprocal)
rsqrt = _unary(Rsqrt)
square = _unary(Square, floating=False)
erf = _unary(Erf)


def round(x: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001
    """x rounded to ``decimals`` decimals, halves to even; zero gradient."""
    return Round.apply(x, decimals=int(decimals))


__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "maximum",
           "minimum", "where", "clip", "clamp", "masked_fill", "astype", "compare", "logical",
           "operand", "sin", "cos", "tan", "sign", "floor", "ceil", "round", "trunc", "log1p",
           "expm1", "log2", "log10", "reciprocal", "rsqrt", "square", "erf", "normal"]
