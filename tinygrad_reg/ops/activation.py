"""Activations, each in a numerically stable form, with PyTorch's names, defaults and
constants; each docstring gives the formula, the gradient and the convention at kinks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import OPS, Tensor
from ..autograd import Function
from . import _erf, jit_rules, numerics, onnx_rules
from .common import dim_args, one_axis
from .elementwise import Clip, _floating
from .jit_rules import Lowered
from .numerics import SELU_ALPHA, SELU_SCALE


class ReLU(Function):
    """out = max(x, 0).   dx = grad where x > 0, with the convention relu'(0) = 0 (read from
    the output, out > 0 exactly where x > 0, so the input is not kept)."""
    to_onnx = onnx_rules.simple("Relu")

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return ReLUBackward.apply(grad, out)

    @staticmethod
    def lower(ins, out, attrs):
        return Lowered(("maximum({i0}, 0, out={o})",), inplace=(0,))  # forward: np.maximum(x, 0)


class ReLUBackward(Function):
    """out = g where x > 0, else 0 (x: ReLU's input or its output, positive at the same
    places): ReLU's gradient as one node (an op, so a traced step replays it).
    dg = grad where x > 0; x gets none (piecewise constant)."""

    @staticmethod
    def forward(ctx, g, x):
        ctx.save_for_backward(x)
        return g * (x > 0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ReLUBackward.apply(grad, x), None

    @staticmethod
    def lower(ins, out, attrs):  # forward: g * (x > 0)
        return Lowered(("greater({i1}, 0, out={t0})", "multiply({i0}, {t0}, out={o})"),
                       temps=((ins[1].shape, np.dtype(bool)),), inplace=(0, 1))


class Sigmoid(Function):
    """out = 1 / (1 + e⁻ˣ), as PyTorch computes it (0 where e⁻ˣ overflows, below -88.7 in
    float32: :func:`~tinygrad_reg.ops.numerics.sigmoid`).   dx = grad · out · (1 - out)."""
    to_onnx = onnx_rules.simple("Sigmoid")

    @staticmethod
    def forward(ctx, x):
        out = numerics.sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return SigmoidBackward.apply(grad, out)

    @staticmethod
    def lower(ins, out, attrs):
        # forward: numerics.sigmoid(x), here into the output buffer
        (x,) = ins
        if x.dtype.kind != "f" or out.dtype != x.dtype or out.shape != x.shape:
            return None
        return Lowered(("{c0}({i0}, {o})",), consts=(numerics.sigmoid,), inplace=(0,))


class SigmoidBackward(Function):
    """out = g · y · (1 - y): Sigmoid's gradient as one node, so the first-order pass costs one
    op.   dg = grad · y(1 - y), dy = grad · g · (1 - 2y)."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        if g.shape == y.shape and g.dtype == y.dtype:  # (by blocks: numerics.sigmoid_grad)
            return numerics.sigmoid_grad(g, y)
        out = g * y
        out *= 1.0 - y  # (in place: one fresh array of the activation's size fewer)
        return out

    @staticmethod
    def backward(ctx, grad):
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad
        return ((grad * y * (1.0 - y)) if need_g else None,
                (grad * g * (1.0 - 2.0 * y)) if need_y else None)

    @staticmethod
    def lower(ins, out, attrs):
        # forward: numerics.sigmoid_grad, (g * y) * (1.0 - y), into the output buffer
        g, y = ins
        if not (g.shape == y.shape == out.shape and g.dtype == y.dtype == out.dtype):
            return None
        return Lowered(("{c0}({i0}, {i1}, {o}, {t0})",), consts=(numerics.sigmoid_grad,),
                       temps=((y.shape, y.dtype, jit_rules.order_of(out)),), inplace=(0, 1))


class Tanh(Function):
    """out = tanh x.   dx = grad · (1 - out²)."""
    to_onnx = onnx_rules.simple("Tanh")
    lower = jit_rules.ufunc("tanh", 1)

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

    @staticmethod
    def lower(ins, out, attrs):
        # forward: g * (1.0 - y * y); the intermediate lives in the output buffer
        g, y = ins
        if not (g.shape == y.shape == out.shape and g.dtype == y.dtype == out.dtype):
            return None
        return Lowered(("multiply({i1}, {i1}, out={o})", "subtract(1.0, {o}, out={o})",
                        "multiply({i0}, {o}, out={o})"), inplace=(1,))  # (g is read last)


class Softmax(Function):
    """out = exp(x - max x) / Σ exp(x - max x) along ``axis``.
    dx = out · (grad - Σ grad · out) (sums along ``axis``).
    A -inf entry (a masked position) gets 0 with gradient 0; a slice that is all -inf is nan
    (0/0), with a nan gradient, as PyTorch."""

    @staticmethod
    def forward(ctx, x, axis):
        e = np.exp(x - numerics.max_keep(x, axis))
        out = e / numerics.sum_keep(e, axis)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        return out * (grad - (grad * out).sum(axis=axis, keepdims=True))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Softmax", inputs, axis=int(attrs["axis"]))


class LogSoftmax(Function):
    """out = x - logsumexp(x) along ``axis`` (stable).
    dx = grad - exp(out) · Σ grad (sum along ``axis``).
    A -inf entry gives -inf (and passes its upstream gradient, as exp(-inf) = 0); a slice
    that is all -inf is nan, with a nan gradient, as PyTorch."""

    @staticmethod
    def forward(ctx, x, axis):
        shifted = x - numerics.max_keep(x, axis)
        out = shifted - np.log(numerics.sum_keep(np.exp(shifted), axis))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        return grad - out.exp() * grad.sum(axis=axis, keepdims=True)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("LogSoftmax", inputs, axis=int(attrs["axis"]))


class Hardtanh(Clip):
    """out = min(max(x, lo), hi) for numbers lo <= hi (``hardtanh``, ``relu6``).
    dx = grad strictly inside (lo, hi), 0 at and beyond the bounds: PyTorch's hardtanh
    convention (its ``clamp``, :class:`~tinygrad_reg.ops.elementwise.Clip`, passes it at the
    bounds). As PyTorch's, a nan x passes its gradient (it is not at or beyond a bound)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        if ctx.needs_input_grad:  # where the gradient passes, made here (a traced kernel)
            ctx.save_for_backward(~((x <= lo) | (x >= hi)))
        return np.clip(x, lo, hi)


class LeakyReLU(Function):
    """out = x if x > 0 else negative_slope · x.
    dx = grad if x > 0 else negative_slope · grad; at 0 the slope (PyTorch's convention, the
    same ``x > 0`` test as relu'(0) = 0)."""

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return OPS["where"](x > 0.0, grad, grad * ctx.attrs["negative_slope"])

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("LeakyRelu", inputs, alpha=float(attrs["negative_slope"]))


class ELU(Function):
    """out = x if x > 0 else alpha · (eˣ - 1).
    dx = grad if x > 0 else grad · (out + alpha) (= alpha·eˣ); at 0: alpha."""

    @staticmethod
    def forward(ctx, x, alpha):
        out = np.where(x > 0, x, np.expm1(np.minimum(x, 0)) * alpha).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return OPS["where"](x > 0.0, grad, grad * (out + ctx.attrs["alpha"]))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Elu", inputs, alpha=float(attrs["alpha"]))


class CELU(Function):
    """out = max(0, x) + min(0, alpha · (e^(x/alpha) - 1)).
    dx = grad if x > 0 else grad · e^(x/alpha) (= out/alpha + 1); at 0: 1."""

    @staticmethod
    def forward(ctx, x, alpha):
        neg = np.expm1(np.minimum(x, 0) / alpha) * alpha
        out = np.where(x > 0, x, neg).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return OPS["where"](x > 0.0, grad, grad * (out / ctx.attrs["alpha"] + 1.0))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Celu", inputs, alpha=float(attrs["alpha"]))


class SELU(Function):
    """out = scale · (x if x > 0 else alpha · (eˣ - 1)) with PyTorch's alpha ≈ 1.6733 and
    scale ≈ 1.0507.   dx = grad · scale if x > 0 else grad · (out + scale · alpha); at 0 the
    second."""
    to_onnx = onnx_rules.simple("Selu", alpha=SELU_ALPHA, gamma=SELU_SCALE)

    @staticmethod
    def forward(ctx, x):
        out = np.where(x > 0, x, np.expm1(np.minimum(x, 0)) * SELU_ALPHA) * SELU_SCALE
        out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return OPS["where"](x > 0.0, grad * SELU_SCALE, grad * (out + SELU_SCALE * SELU_ALPHA))


_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# Φ(x) = ½ (1 + tanh(x · H(x²))) with H(s) = Σ h_k s^k, a degree-6 fit of atanh(erf(x/√2))/x:
# weighted least squares with Lawson's reweighting (toward the minimax fit) on 40,000 points
# of [0, 5.6], each point weighted by how much an error in the argument of tanh moves GELU and
# its gradient against float32 tolerances (3e-7 + 2e-6·|value|). H's leading coefficient is
# positive and x·H(x²) grows past 10 for every |x| beyond the fit (numpy's float32 tanh is ±1
# there), so no clamp is needed; huge |x| overflow to ±inf inside, which tanh takes to ±1.
_H32 = tuple(np.float32(h) for h in (
    0.7978843552646468, 0.036334562904522014, -3.347214337820181e-05, -5.5128714781718194e-05,
    3.954175064885049e-06, -1.3257931036700908e-07, 1.7877249751288254e-09))


def _gelu_kernel(x: np.ndarray, out: Any = None, cdf: Any = None, temp: Any = None) -> tuple:
    """(x · Φ(x), Φ(x)) for a float32 x, Φ(x) = ½ (1 + tanh(x · H(x²))) (H: the fit above):
    18 passes in float32, into ``out``, ``cdf`` and the scratch buffer ``temp`` when given
    (x's shape). Measured on every 37th float32 of [-12, 12] against float64: Φ within
    1.5e-7, GELU and its gradient within 0.6 of 3e-7 + 2e-6·|value|; x·Φ(x) is x from
    x = 6 on and -0 far left, nan stays nan. One function for :class:`GELU`'s forward and
    its jit lowering, so the two give the same bits."""
    h = _H32
    with np.errstate(over="ignore"):
        s = np.multiply(x, x, out=temp)
        acc = np.multiply(s, h[6], out=cdf)
        for k in (5, 4, 3, 2, 1):
            acc += h[k]
            acc *= s
        acc += h[0]
        acc *= x
    np.tanh(acc, out=acc)
    acc += 1.0
    acc *= 0.5
    return np.multiply(x, acc, out=out), acc


def _gelu_grad_kernel(g: np.ndarray, x: np.ndarray, cdf: np.ndarray, out: Any = None) -> Any:
    """g · (Φ(x) + x · φ(x)), φ(x) = e^(-x²/2)/√(2π), with Φ(x) given: seven passes, into
    ``out`` when given. One function for :class:`GELUBackward` and its jit lowering."""
    t = np.multiply(x, x, out=out)
    t *= -0.5
    np.exp(t, out=t)
    t *= x
    t *= _INV_SQRT_2PI
    t += cdf
    t *= g
    return t


class GELU(Function):
    """out = x · Φ(x) = ½ x (1 + erf(x/√2)) (``approximate="none"``), or
    ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))) (``approximate="tanh"``).
    dx = grad · (Φ(x) + x · φ(x)) with φ the standard normal density (for "tanh": the
    derivative of that formula). Smooth: no kink. The exact form computes x · Φ(x) with
    Φ(x) = (erf(x/√2) + 1) · ½ (for float32 in float32, :func:`_gelu_kernel`) and keeps Φ(x)
    for the backward, one node (:class:`GELUBackward`). As PyTorch's, Φ(x) loses its
    relative accuracy far in the negative tail (1 + erf cancels: GELU(-5) in float32 is
    -1.34e-6 here, -1.19e-6 in PyTorch, -1.43e-6 exactly)."""

    @staticmethod
    def forward(ctx, x, approximate):
        if approximate == "tanh":
            ctx.save_for_backward(x)
            u = np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)
            return (0.5 * x * (1.0 + np.tanh(u))).astype(x.dtype, copy=False)
        if x.dtype == np.float32 and x.ndim:  # (numpy makes 0-d results scalars)
            out, cdf = _gelu_kernel(x)
        else:
            cdf = (_erf.erf(x * _INV_SQRT2) + 1.0) * 0.5
            out = (x * cdf).astype(x.dtype, copy=False)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, cdf)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.attrs["approximate"] == "tanh":
            (x,) = ctx.saved_tensors
            k = math.sqrt(2.0 / math.pi)
            t = ((x + x * x * x * 0.044715) * k).tanh()
            du = (x * x * (3 * 0.044715) + 1.0) * k
            return grad * ((t + 1.0) * 0.5 + x * (1.0 - t * t) * du * 0.5)
        x, cdf = ctx.saved_tensors
        return GELUBackward.apply(grad, x, cdf)

    @staticmethod
    def lower(ins, out, attrs):
        # forward: _gelu_kernel into the output buffer, Φ(x) into the saved array
        # (or a scratch buffer when nothing is saved)
        (x,) = ins
        if attrs["approximate"] != "none" or x.dtype != np.float32 or not x.ndim:
            return None
        if out.dtype != x.dtype or out.shape != x.shape:
            return None
        temp = (x.shape, x.dtype, jit_rules.order_of(out))
        cdf = "{v1}" if "v1" in attrs else "{t1}"
        return Lowered((f"{{c0}}({{i0}}, {{o}}, {cdf}, {{t0}})",), consts=(_gelu_kernel,),
                       temps=(temp,) if "v1" in attrs else (temp, temp))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        x = inputs[0]
        half = g.node("Mul", [x, onnx_rules.scalar(g, 0.5, out)])
        if attrs.get("approximate", "none") == "tanh":
            cube = g.node("Mul", [g.node("Mul", [x, x]), x])
            inner = g.node("Add", [x, g.node("Mul", [cube, onnx_rules.scalar(g, 0.044715, out)])])
            t = g.node("Tanh", [g.node("Mul", [inner, onnx_rules.scalar(g, math.sqrt(2 / math.pi),
                                                                        out)])])
        else:
            t = g.node("Erf", [g.node("Div", [x, onnx_rules.scalar(g, math.sqrt(2.0), out)])])
        return g.node("Mul", [half, g.node("Add", [t, onnx_rules.scalar(g, 1.0, out)])])


class GELUBackward(Function):
    """out = g · (Φ(x) + x · φ(x)): the exact GELU's gradient as one node, Φ(x) (``cdf``,
    the forward's, a constant) given. dg = grad · (Φ(x) + x · φ(x)),
    dx = grad · g · φ(x) · (2 - x²) (φ' = -x φ), both in Tensor ops of x (Φ recomputed
    there, so derivatives of any order are exact); no gradient for cdf."""

    @staticmethod
    def forward(ctx, g, x, cdf):
        if x.dtype == np.float32 and g.dtype == np.float32 and g.shape == x.shape and x.ndim:
            out = _gelu_grad_kernel(g, x, cdf)
        else:
            out = (g * (cdf + x * np.exp(x * x * -0.5) * _INV_SQRT_2PI))
        if ctx.needs_input_grad and any(ctx.needs_input_grad):
            ctx.save_for_backward(g, x)
        return out.astype(np.result_type(g, x), copy=False)

    @staticmethod
    def backward(ctx, grad):
        g, x = ctx.saved_tensors
        need_g, need_x = ctx.needs_input_grad[:2]
        pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
        dg = dx = None
        if need_g:
            dg = grad * (((x * _INV_SQRT2).erf() + 1.0) * 0.5 + x * pdf)
        if need_x:
            dx = grad * g * pdf * (2.0 - x * x)
        return dg, dx, None

    @staticmethod
    def lower(ins, out, attrs):
        g, x, cdf = ins
        if not (g.shape == x.shape == cdf.shape == out.shape and x.ndim and
                g.dtype == x.dtype == cdf.dtype == out.dtype == np.float32):
            return None
        return Lowered(("{c0}({i0}, {i1}, {i2}, {o})",), consts=(_gelu_grad_kernel,))


class SiLU(Function):
    """out = x · σ(x) (also called swish).   dx = grad · σ(x) · (1 + x · (1 - σ(x)))."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * numerics.sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad * s * (x * (1.0 - s) + 1.0)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Mul", [inputs[0], g.node("Sigmoid", inputs)])


class Mish(Function):
    """out = x · tanh(softplus(x)).   dx = grad · (tanh(sp) + x · (1 - tanh²(sp)) · σ(x)),
    sp = softplus(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * np.tanh(numerics.softplus(x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = softplus(x).tanh()
        return grad * (t + x * (1.0 - t * t) * x.sigmoid())

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Mul", [inputs[0], g.node("Tanh", [g.node("Softplus", inputs)])])


class Softplus(Function):
    """out = (1/beta) · log(1 + e^(beta·x)), and x itself where beta·x > threshold
    (PyTorch's linear tail, for speed and exactness).
    dx = grad · σ(beta·x), and grad where beta·x > threshold; at beta·x = threshold the
    first (PyTorch's test is ``beta·x > threshold``)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        bx = x * beta
        out = np.where(bx > threshold, x, numerics.softplus(bx) / beta)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.attrs["beta"], ctx.attrs["threshold"]
        bx = x * beta
        return OPS["where"](bx > threshold, grad, grad * bx.sigmoid())

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        beta, threshold = float(attrs["beta"]), float(attrs["threshold"])
        x = inputs[0]
        bx = x if beta == 1.0 else g.node("Mul", [x, onnx_rules.scalar(g, beta, out)])
        soft = g.node("Softplus", [bx])
        if beta != 1.0:
            soft = g.node("Div", [soft, onnx_rules.scalar(g, beta, out)])
        above = g.node("Greater", [bx, onnx_rules.scalar(g, threshold, out)])
        return g.node("Where", [above, x, soft])


class Softsign(Function):
    """out = x / (1 + |x|).   dx = grad / (1 + |x|)² (continuous; its own derivative has a
    kink at 0, where abs'(0) = 0)."""
    to_onnx = onnx_rules.simple("Softsign")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1.0 + np.abs(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        d = x.abs() + 1.0
        return grad / (d * d)


class Hardsigmoid(Function):
    """out = 0 if x <= -3, 1 if x >= 3, else x/6 + 1/2.
    dx = grad / 6 strictly inside (-3, 3), 0 elsewhere (PyTorch's convention at ±3)."""
    to_onnx = onnx_rules.simple("HardSigmoid", alpha=1.0 / 6.0, beta=0.5)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = (x > -3.0) & (x < 3.0)
        return OPS["where"](inside, grad * (1.0 / 6.0), grad * 0.0)


class Hardswish(Function):
    """out = x · hardsigmoid(x) = 0 if x <= -3, x if x >= 3, else x (x + 3) / 6.
    dx = 0 if x <= -3, grad · (x/3 + 1/2) if -3 < x < 3, grad if x >= 3 (PyTorch's values at
    the kinks: 0 at -3 and 1 at 3)."""
    to_onnx = onnx_rules.simple("HardSwish")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x * np.clip(x / 6.0 + 0.5, 0.0, 1.0)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        middle = OPS["where"](x >= 3.0, grad, grad * (x * (1.0 / 3.0) + 0.5))
        return OPS["where"](x <= -3.0, grad * 0.0, middle)


class LogSigmoid(Function):
    """out = log σ(x) = min(x, 0) - log(1 + e^(-|x|)), finite for any x.
    dx = grad · (1 - σ(x)) = grad · σ(-x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-x).sigmoid()

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        return g.node("Neg", [g.node("Softplus", [g.node("Neg", inputs)])])


def relu(x: Tensor) -> Tensor:
    """max(x, 0); relu'(0) = 0."""
    return ReLU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """The logistic function, stable for any x (an integer tensor gives float32, as
    PyTorch)."""
    if type(x) is not Tensor or x._data.dtype.kind in "biu":  # (a float tensor: no call)
        x = _floating(x)
    return Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent (an integer tensor gives float32, as PyTorch)."""
    if type(x) is not Tensor or x._data.dtype.kind in "biu":  # (a float tensor: no call)
        x = _floating(x)
    return Tanh.apply(x)


def _softmax_like(cls: type[Function], name: str, x: Tensor, dim: Any, axis: Any) -> Tensor:
    d, _ = dim_args(name, dim, axis)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.ndim == 0:  # PyTorch: softmax of a scalar is 1 (log_softmax 0), gradient 0
        if d not in (None, 0, -1):
            one_axis(name, d, 0)
        return cls.apply(x.reshape(1), axis=0).reshape(())
    return cls.apply(x, axis=one_axis(name, -1 if d is None else d, x.ndim))


def softmax(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """exp(x) / Σ exp(x) along ``dim`` (default the last), stable for large |x|."""
    return _softmax_like(Softmax, "softmax", x, dim, axis)


def log_softmax(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """log softmax(x) along ``dim`` (default the last), stable for large |x|."""
    return _softmax_like(LogSoftmax, "log_softmax", x, dim, axis)


def softmin(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """softmax(-x) along ``dim`` (default the last): the weights favour small values."""
    return softmax(-(x if isinstance(x, Tensor) else Tensor(x)), dim, axis=axis)


def _number(value: Any, name: str, fn: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            math.isfinite(value)) or (positive and value <= 0):
        need = "a finite number > 0" if positive else "a finite number"
        raise ValueError(f"{fn}: {name} must be {need}, got {value!r}")
    return float(value)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope · x."""
    return LeakyReLU.apply(x, negative_slope=_number(negative_slope, "negative_slope",
                                                     "leaky_relu"))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha · (eˣ - 1)."""
    return ELU.apply(x, alpha=_number(alpha, "alpha", "elu"))


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha · (e^(x/alpha) - 1)); alpha > 0."""
    return CELU.apply(x, alpha=_number(alpha, "alpha", "celu", positive=True))


def selu(x: Tensor) -> Tensor:
    """scale · elu(x, alpha) with SELU's constants (self-normalizing networks)."""
    return SELU.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x · Φ(x) (the exact erf form), or its tanh approximation with
    ``approximate="tanh"``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def silu(x: Tensor) -> Tensor:
    """x · σ(x)."""
    return SiLU.apply(x)


def mish(x: Tensor) -> Tensor:
    """x · tanh(softplus(x))."""
    return Mish.apply(x)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/beta) · log(1 + e^(beta·x)), linear where beta·x > threshold."""
    return Softplus.apply(x, beta=_number(beta, "beta", "softplus", positive=True),
                          threshold=_number(threshold, "threshold", "softplus"))


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return Softsign.apply(x)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clamped to [min_val, max_val] (:class:`Hardtanh`): the gradient passes strictly
    inside, 0 at the bounds (PyTorch's hardtanh convention; ``clamp`` passes it there)."""
    lo, hi = _number(min_val, "min_val", "hardtanh"), _number(max_val, "max_val", "hardtanh")
    if lo > hi:
        raise ValueError(f"hardtanh: min_val={lo} is greater than max_val={hi}")
    return Hardtanh.apply(x, lo=lo, hi=hi)


def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)`` (the gradient passes strictly inside)."""
    return Hardtanh.apply(x, lo=0.0, hi=6.0)


def hardsigmoid(x: Tensor) -> Tensor:
    """relu6(x + 3) / 6, as one op."""
    return Hardsigmoid.apply(x)


def hardswish(x: Tensor) -> Tensor:
    """x · relu6(x + 3) / 6, as one op."""
    return Hardswish.apply(x)


def logsigmoid(x: Tensor) -> Tensor:
    """log σ(x), stable for any x."""
    return LogSigmoid.apply(x)


__all__ = ["relu", "sigmoid", "tanh", "softmax", "softmin", "log_softmax", "leaky_relu", "elu",
           "celu", "selu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "relu6",
           "hardsigmoid", "hardswish", "logsigmoid", "SELU_ALPHA", "SELU_SCALE"]
