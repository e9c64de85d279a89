"""Reductions and scans over ``dim`` (None, an int or a tuple): sums, means, extremes, variance,
products, norms, cumulative sums and products, argmax.

Every function takes PyTorch's ``dim``/``keepdim`` and, as aliases (PyTorch accepts them
too), numpy's ``axis``/``keepdims`` (one spelling per argument; both at once is a
TypeError). ``x.max(dim)`` and ``x.max(axis=dim)`` return ``(values, indices)`` as PyTorch
does, ``x.max()`` the value, ``x.amax(dims)`` the values over several dims; ``var``/``std``
default to the unbiased estimator (PyTorch's ``correction=1``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import return_types
from .._tensor import OPS, Tensor
from ..autograd import Function
from ..errors import ArgumentError, DTypeError
from . import onnx_rules
from .common import cast, dim_args, keepdims_shape, normalize_axis, one_axis, unreduce


class Sum(Function):
    """out = Σ x over ``axis``.   dx = grad broadcast back to x's shape."""
    to_onnx = onnx_rules.reducer("ReduceSum")

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        return unreduce(grad, ctx.inputs[0].shape, a["axis"], a["keepdims"])


class Mean(Function):
    """out = (1/n) Σ x over ``axis`` (n elements reduced).   dx = grad / n, broadcast back."""
    to_onnx = onnx_rules.reducer("ReduceMean")

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
    hit = (x == out.reshape(keepdims_shape(x.shape, a["axis"]))).astype(grad.dtype)
    share = hit / hit.sum(axis=a["axis"], keepdims=True)
    return unreduce(grad, x.shape, a["axis"], a["keepdims"]) * share


class Max(Function):
    """out = max x over ``axis``.   dx = grad at the maximum; k tied maxima get grad / k each
    (PyTorch's ``max(dim)`` sends it all to the index it returns instead)."""
    to_onnx = onnx_rules.reducer("ReduceMax")

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        out = np.asarray(np.max(x, axis=axis, keepdims=keepdims))
        ctx.save_for_backward(x, out)
        return out

    backward = staticmethod(_extreme_backward)


class Min(Function):
    """out = min x over ``axis``.   dx = grad at the minimum; k tied minima get grad / k each."""
    to_onnx = onnx_rules.reducer("ReduceMin")

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        out = np.asarray(np.min(x, axis=axis, keepdims=keepdims))
        ctx.save_for_backward(x, out)
        return out

    backward = staticmethod(_extreme_backward)


class Var(Function):
    """out = Σ (x - mean)² / (n - correction) over ``axis`` (numpy's ``var``: with
    n - correction <= 0 it divides by 0, so inf, or nan where all n values are equal or one
    is nan; one sample with the unbiased default is nan, as PyTorch).
    dx = (2 / (n - correction)) · grad · (x - mean), PyTorch's formula, also at its edge:
    over all elements (axis None) with n - correction <= 0 the factor is +inf, so dx is inf,
    nan where x equals the mean (one sample: nan); over an axis the factor is 2/(n -
    correction) as it comes (inf at 0, negative below)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, correction):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.var(x, axis=axis, keepdims=keepdims, ddof=correction)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        a = ctx.attrs
        n = int(np.prod([x.shape[i] for i in normalize_axis(a["axis"], x.ndim, "var")]))
        dof = n - a["correction"]
        g = unreduce(grad, x.shape, a["axis"], a["keepdims"])
        if dof <= 0 and (a["axis"] is None or x.ndim == 0):
            return g * OPS["where"](x == x.mean(), float("nan"), float("inf"))
        scale = 2.0 / dof if dof != 0 else float("inf")
        return scale * g * (x - x.mean(axis=a["axis"], keepdims=True))

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        nd = arrays[0].ndim
        axes = onnx_rules.axes_tuple(attrs["axis"], nd)
        # (the module's any, max and sum are the ops', not the builtins)
        if g.dynamic_batch and g.in_batched[0] and 0 in {int(ax) % nd for ax in axes}:
            raise onnx_rules.ExportError("onnx.export: Var over the batch dim needs the batch "
                                         "size as a constant: export with dynamic_batch=False")
        n = math.prod(arrays[0].shape[int(ax) % nd] for ax in axes)
        d = g.node("Sub", [inputs[0], g.reduce("ReduceMean", inputs[0], axes, True, nd)])
        ms = g.reduce("ReduceMean", g.node("Mul", [d, d]), axes, attrs["keepdims"], nd)
        c = attrs.get("correction", 0) or 0
        if not c:
            return ms
        return g.node("Mul", [ms, onnx_rules.scalar(g, n / (n - c) if n > c else np.inf, out)])


class LogSumExp(Function):
    """out = log Σ exp(x) over ``axis``, computed as m + log Σ exp(x - m) with m = max x, so
    it is finite for any finite x.   dx = grad · exp(x - out) (the softmax).
    -inf entries drop out (gradient 0 there); a slice that is all -inf gives -inf, with a nan
    gradient (exp(-inf - -inf)), as PyTorch."""
    to_onnx = onnx_rules.reducer("ReduceLogSumExp")

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


class Prod(Function):
    """out = Π x over ``axis``.   dx_i = grad · Π_{j≠i} x_j, exact with zeros: without zeros
    that is out / x_i; with one zero in a slice, only the zero gets a gradient (the product of
    the others); with two or more, none does. Written with cumulative products (no division,
    no branch on the values), so it is differentiable again."""
    to_onnx = onnx_rules.reducer("ReduceProd")

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.save_for_backward(x)
        return np.asarray(np.prod(x, axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        a = ctx.attrs
        g = unreduce(grad, x.shape, a["axis"], a["keepdims"])
        # product of the others = exclusive cumulative products from both ends, over the
        # reduced axes flattened into one (moved last); no branch on the values, so a traced
        # step replays it for any input
        axes = normalize_axis(a["axis"], x.ndim, "prod")
        if not axes:
            return g
        keep = [i for i in range(x.ndim) if i not in axes]
        moved = x.permute(*keep, *axes)
        flat = moved.reshape(*moved.shape[:len(keep)], -1)
        others = _exclusive_cumprod(flat, reverse=False) * _exclusive_cumprod(flat, reverse=True)
        others = others.reshape(moved.shape).permute(*np.argsort(keep + list(axes)).tolist())
        return g * others


def _exclusive_cumprod(x: Tensor, reverse: bool) -> Tensor:
    """Π of the elements before each one along the last axis (after it, with ``reverse``):
    1 for the first; no division, so zeros are exact."""
    if reverse:
        x = x.flip(-1)
    ones = Tensor(np.ones(x.shape[:-1] + (1,), dtype=x.dtype))
    shifted = ones if x.shape[-1] == 1 else OPS["concatenate"]([ones, x[..., :-1]], -1)
    out = shifted.cumprod(-1)
    return out.flip(-1) if reverse else out


class CumSum(Function):
    """out_i = Σ_{j<=i} x_j along ``axis``.   dx_j = Σ_{i>=j} grad_i (a reversed cumsum)."""

    @staticmethod
    def forward(ctx, x, axis):
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        axis = ctx.attrs["axis"]
        return grad.flip(axis).cumsum(axis).flip(axis)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        axis = g.const(np.asarray(int(attrs["axis"]), np.int64))
        return g.node("CumSum", [inputs[0], axis])


class CumProd(Function):
    """out_i = Π_{j<=i} x_j along ``axis``.
    dx_k = Σ_{i>=k} grad_i · Π_{j<=i, j≠k} x_j = L_k · S_k with L_k = Π_{j<k} x_j (an
    exclusive cumulative product) and S_k = grad_k + x_{k+1} · S_{k+1} (a reversed
    :class:`LinearScan`): exact with zeros, no division and no branch on the values, and
    differentiable again (the scan's backward is made of scans)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.save_for_backward(x)
        return np.cumprod(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        last = x.ndim - 1
        if axis != last:
            x, grad = x.transpose(axis, last), grad.transpose(axis, last)
        suffix = LinearScan.apply(grad, x, reverse=True)
        gx = _exclusive_cumprod(x, reverse=False) * suffix
        return gx.transpose(axis, last) if axis != last else gx


class LinearScan(Function):
    """A first-order linear recurrence along the last axis:
    forward, out_0 = g_0 and out_k = g_k + c_k · out_(k-1);
    ``reverse``, out_(n-1) = g_(n-1) and out_k = g_k + c_(k+1) · out_(k+1).
    The gradients are scans too: dg = the opposite scan of grad with the same coefficients
    (r), and dc_k = r_k · out_(k-1) (forward) or r_(k-1) · out_k (reverse), 0 where c is not
    used. A Python loop over the scanned axis (each step one numpy op over the others)."""

    @staticmethod
    def forward(ctx, g, c, reverse):
        out = np.array(g, dtype=np.result_type(g, c), copy=True)
        n = out.shape[-1]
        if reverse:
            for k in range(n - 2, -1, -1):
                out[..., k] += c[..., k + 1] * out[..., k + 1]
        else:
            for k in range(1, n):
                out[..., k] += c[..., k] * out[..., k - 1]
        ctx.save_for_backward(c, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        c, out = ctx.saved_tensors
        reverse = ctx.attrs["reverse"]
        need_g, need_c = ctx.needs_input_grad
        r = LinearScan.apply(grad, c, reverse=not reverse)
        dc = None
        if need_c:
            if out.shape[-1] == 1:
                dc = c * 0.0
            elif reverse:  # dc_k = r_(k-1) · out_k, 0 at k = 0
                dc = OPS["pad"](r[..., :-1], (1, 0)) * out
            else:  # dc_k = r_k · out_(k-1), 0 at k = 0
                dc = r * OPS["pad"](out[..., :-1], (1, 0))
        return (r if need_g else None), dc


class Norm(Function):
    """out = (Σ |x|^p)^(1/p) over ``axis`` for p != 0 (``p=2`` the Euclidean or Frobenius
    norm; a negative p as PyTorch's vector norm); p = 0 counts the nonzero elements.
    dx = grad · sign(x) · |x|^(p-1) / out^(p-1) (x / out for p = 2), with the convention that
    a slice whose norm is 0 gets gradient 0 (PyTorch's; for p < 0 that is any slice holding a
    zero); p = 0 has no gradient."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, p):
        ctx.save_for_backward(x)
        if p == 0:
            return np.asarray(np.count_nonzero(x, axis=axis, keepdims=keepdims), dtype=x.dtype)
        if p == 2:
            out = np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
        else:
            with np.errstate(divide="ignore"):  # p < 0 with a zero: norm 0
                out = np.sum(np.abs(x) ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)
        out = np.asarray(out, dtype=x.dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a = ctx.attrs
        p = a["p"]
        if p == 0:
            return None
        x, out = ctx.saved_tensors
        out_k = out.reshape(keepdims_shape(x.shape, a["axis"]))
        # where the norm is 0 every x is 0, so x / 1 gives the convention's 0
        safe = OPS["where"](out_k > 0.0, out_k, 1.0)
        if p == 2:
            scale = x / safe
        elif p > 0:
            scale = x.sign() * x.abs() ** (p - 1) / safe ** (p - 1)
        else:  # a slice holding a zero has norm 0, and (PyTorch's convention) gradient 0
            xs = OPS["where"](x == 0.0, 1.0, x)
            scale = OPS["where"](out_k > 0.0, xs.sign() * xs.abs() ** (p - 1) * safe ** (1 - p),
                                 0.0)
        return unreduce(grad, x.shape, a["axis"], a["keepdims"]) * scale

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        p, nd, axis, keep = attrs["p"], arrays[0].ndim, attrs["axis"], attrs["keepdims"]
        if p == 2:
            return g.reduce("ReduceL2", inputs[0], axis, keep, nd)
        if p == 1:
            return g.reduce("ReduceL1", inputs[0], axis, keep, nd)
        if p == np.inf:
            return g.reduce("ReduceMax", g.node("Abs", inputs), axis, keep, nd)
        powered = g.node("Pow", [g.node("Abs", inputs), onnx_rules.scalar(g, p, out)])
        total = g.reduce("ReduceSum", powered, axis, keep, nd)
        return g.node("Pow", [total, onnx_rules.scalar(g, 1.0 / p, out)])


class ArgExtreme(Function):
    """The index of the maximum (``largest=True``) or minimum along ``axis`` (None: of the
    flattened tensor), as int64; the first one at a tie, as numpy and PyTorch. No gradient."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, largest):
        fn = np.argmax if largest else np.argmin
        if axis is None:
            out = np.asarray(fn(x), dtype=np.int64)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return np.asarray(fn(x, axis=axis, keepdims=keepdims), dtype=np.int64)

    @staticmethod
    def backward(ctx, grad):
        return None

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        op = "ArgMax" if attrs["largest"] else "ArgMin"
        if attrs["axis"] is None:
            flat = g.node("Reshape", [inputs[0], g.ints([-1])])
            res = g.node(op, [flat], axis=0, keepdims=0)
            if attrs["keepdims"]:
                res = g.node("Reshape", [res, g.ints([1] * arrays[0].ndim)])
            return res
        return g.node(op, inputs, axis=int(attrs["axis"]), keepdims=int(attrs["keepdims"]))


class Truth(Function):
    """``any`` (``every=False``) or ``all`` of x != 0 over ``axis``, as bool. No gradient."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, every):
        return np.asarray((np.all if every else np.any)(x, axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        return None

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        as_int = g.cast(g.cast(inputs[0], bool), np.int32)
        red = g.reduce("ReduceMin" if attrs["every"] else "ReduceMax", as_int, attrs["axis"],
                       attrs["keepdims"], arrays[0].ndim)
        return g.cast(red, bool)


# -- the functional face ----------------------------------------------------------------

def _axis(fn: type[Function] | str, x: Tensor, axis: Any) -> Any:
    name = fn if isinstance(fn, str) else fn.__name__
    if axis is not None:
        axis = normalize_axis(axis, x.ndim, name)
        axis = axis[0] if len(axis) == 1 else axis
    return axis


def _reduce(fn: type[Function], x: Tensor, axis: Any, keepdims: bool, **extra: Any) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return fn.apply(x, axis=_axis(fn, x, axis), keepdims=bool(keepdims), **extra)


def _accumulator(x: Any, dtype: Any) -> Tensor:
    """x converted for a sum or product: to ``dtype`` if given, else integers and bools to
    int64 (PyTorch's rule; numpy would keep unsigned ints unsigned)."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if dtype is not None:
        return cast(x, np.dtype(dtype))
    if x._data.dtype.kind in "bu" or (x._data.dtype.kind == "i" and x._data.dtype.itemsize < 8):
        return cast(x, np.dtype(np.int64))
    return x


def sum(x: Tensor, dim: Any = None, keepdim: bool | None = None, *,  # noqa: A001
        dtype: Any = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Σ x over ``dim`` (None: all). Integers and bools are summed as int64 (PyTorch's
    rule); ``dtype`` converts x first (``x.sum(dtype=tg.float64)``)."""
    axis, keepdims = dim_args("sum", dim, axis, keepdim, keepdims)
    return _reduce(Sum, _accumulator(x, dtype), axis, keepdims)


def mean(x: Tensor, dim: Any = None, keepdim: bool | None = None, *, dtype: Any = None,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Mean over ``dim`` (None: all), of a float tensor (or of x converted to ``dtype``); an
    integer or bool tensor is refused, as PyTorch does: write ``x.float().mean()``."""
    axis, keepdims = dim_args("mean", dim, axis, keepdim, keepdims)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if dtype is not None:
        x = cast(x, np.dtype(dtype))
    if x._data.dtype.kind not in "fc":
        raise DTypeError(f"mean: needs a floating-point tensor, got dtype {x._data.dtype} "
                         f"(PyTorch refuses integers and bools too); write x.float().mean() "
                         f"or x.mean(dtype=tg.float32)")
    return _reduce(Mean, x, axis, keepdims)


def _extreme(fn: type[Function], name: str, x: Tensor, dim: Any, keepdim: Any, axis: Any,
             keepdims: Any) -> Any:
    if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
        if keepdim is not None or axis is not None or keepdims is not None:
            raise TypeError(f"{name}(tensor, other): the elementwise form takes no dim")
        return OPS["maximum" if fn is Max else "minimum"](x, dim)
    axis_, keep = dim_args(name, dim, axis, keepdim, keepdims)
    if isinstance(axis_, tuple):
        raise TypeError(f"{name}: dim must be one int, as {name} returns (values, indices) "
                        f"over one dim (PyTorch's rule); for the values over several dims "
                        f"write a{name}(x, dim={axis_})")
    values = _reduce(fn, x, axis_, keep)
    if axis_ is None:  # x.max(): the value
        return values
    indices = ArgExtreme.apply(x, axis=one_axis(name, axis_, x.ndim), keepdims=keep,
                               largest=fn is Max)
    return (return_types.max if fn is Max else return_types.min)(values, indices)


def max(x: Tensor, dim: Any = None, keepdim: bool | None = None, *,  # noqa: A001
        axis: Any = None, keepdims: bool | None = None) -> Any:
    """The maximum. ``max(x)`` gives the value (tied maxima share the gradient evenly);
    ``max(x, dim)`` (also spelled ``axis=``, as PyTorch accepts) gives ``(values, indices)``;
    ``max(x, y)`` with a tensor y is the elementwise :func:`maximum`. For the values over
    several dims use :func:`amax`."""
    return _extreme(Max, "max", x, dim, keepdim, axis, keepdims)


def min(x: Tensor, dim: Any = None, keepdim: bool | None = None, *,  # noqa: A001
        axis: Any = None, keepdims: bool | None = None) -> Any:
    """The minimum, as :func:`max`."""
    return _extreme(Min, "min", x, dim, keepdim, axis, keepdims)


def amax(x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """The maximum values over ``dim`` (None, an int or a tuple; PyTorch's ``amax``: never
    indices); tied maxima share the gradient evenly."""
    axis, keepdims = dim_args("amax", dim, axis, keepdim, keepdims)
    return _reduce(Max, x, axis, keepdims)


def amin(x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """The minimum values over ``dim``, as :func:`amax`."""
    axis, keepdims = dim_args("amin", dim, axis, keepdim, keepdims)
    return _reduce(Min, x, axis, keepdims)


def _correction(fn: str, unbiased: Any, correction: Any, ddof: Any) -> float:
    given = [(n, v) for n, v in (("unbiased", unbiased), ("correction", correction),
                                 ("ddof", ddof)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{fn}: give one of unbiased, correction (PyTorch) or ddof (numpy), got "
                        f"{', '.join(f'{n}={v!r}' for n, v in given)}")
    if unbiased is not None:
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{fn}: unbiased must be True or False, got {unbiased!r}")
        return 1 if unbiased else 0
    value = correction if correction is not None else ddof if ddof is not None else 1
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or value < 0:
        raise ValueError(f"{fn}: correction must be a number >= 0, got {value!r}")
    return value


def var(x: Tensor, dim: Any = None, unbiased: bool | None = None,
        keepdim: bool | None = None, *, correction: float | None = None,
        ddof: float | None = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Variance over ``dim``: Σ (x - mean)² / (n - correction), unbiased by default
    (PyTorch's ``correction=1``; numpy's default is ``ddof=0``). ``unbiased=False``,
    ``correction=0`` and ``ddof=0`` all give the population variance."""
    c = _correction("var", unbiased, correction, ddof)
    axis, keepdims = dim_args("var", dim, axis, keepdim, keepdims)
    return _reduce(Var, x, axis, keepdims, correction=c)


def std(x: Tensor, dim: Any = None, unbiased: bool | None = None,
        keepdim: bool | None = None, *, correction: float | None = None,
        ddof: float | None = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Standard deviation √var over ``dim`` (unbiased by default, as :func:`var`), with
    PyTorch's values at the edges: nan where the variance is nan (a nan among the values, or
    one sample with the unbiased default; one sample with ``correction=0`` gives 0).
    d std = d var / (2·std), and 0 where std = 0 (PyTorch's convention; the derivative of √
    is infinite there); nan where std is nan."""
    v = var(x, dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
            keepdims=keepdims)
    zero = v == 0.0
    return OPS["where"](zero, 0.0, OPS["where"](zero, 1.0, v).sqrt())


def var_mean(x: Tensor, dim: Any = None, unbiased: bool | None = None,
             keepdim: bool | None = None, *, correction: float | None = None,
             ddof: float | None = None, axis: Any = None,
             keepdims: bool | None = None) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim`` in one call (PyTorch's ``var_mean``; the variance
    unbiased by default, as :func:`var`)."""
    v = var(x, dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
            keepdims=keepdims)
    return v, mean(x, dim, keepdim, axis=axis, keepdims=keepdims)


def std_mean(x: Tensor, dim: Any = None, unbiased: bool | None = None,
             keepdim: bool | None = None, *, correction: float | None = None,
             ddof: float | None = None, axis: Any = None,
             keepdims: bool | None = None) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim`` in one call (PyTorch's ``std_mean``)."""
    s = std(x, dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
            keepdims=keepdims)
    return s, mean(x, dim, keepdim, axis=axis, keepdims=keepdims)


def logsumexp(x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
              keepdims: bool | None = None) -> Tensor:
    """log Σ exp(x) over ``dim``, stable for large |x|."""
    axis, keepdims = dim_args("logsumexp", dim, axis, keepdim, keepdims)
    return _reduce(LogSumExp, x, axis, keepdims)


def prod(x: Tensor, dim: Any = None, keepdim: bool | None = None, *, dtype: Any = None,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Π x over ``dim``; the gradient is exact where x has zeros (see :class:`Prod`).
    Integers and bools multiply as int64; ``dtype`` converts x first."""
    axis, keepdims = dim_args("prod", dim, axis, keepdim, keepdims)
    return _reduce(Prod, _accumulator(x, dtype), axis, keepdims)


def _scan_axis(fn: str, x: Tensor, dim: Any, axis: Any) -> int:
    d, _ = dim_args(fn, dim, axis)
    if d is None:
        raise TypeError(f"{fn}: give dim (the axis to accumulate along)")
    return one_axis(fn, d, x.ndim)


def cumsum(x: Tensor, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """Cumulative sum along ``dim`` (a 0-d tensor takes dim 0 or -1, as PyTorch); integers
    and bools accumulate as int64, ``dtype`` converts x first."""
    x = _accumulator(x, dtype)
    d = _scan_axis("cumsum", x, dim, axis)
    if x.ndim == 0:
        return CumSum.apply(x.reshape(1), axis=0).reshape(())
    return CumSum.apply(x, axis=d)


def cumprod(x: Tensor, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """Cumulative product along ``dim``; the gradient is exact where x has zeros."""
    x = _accumulator(x, dtype)
    d = _scan_axis("cumprod", x, dim, axis)
    if x.ndim == 0:
        return CumProd.apply(x.reshape(1), axis=0).reshape(())
    return CumProd.apply(x, axis=d)


class TotalNorm(Function):
    """out = ‖(‖x₁‖, ‖x₂‖, …)‖, the Euclidean norm of the Euclidean norms of several tensors:
    the norm of all their elements taken as one vector (``clip_grad_norm_``'s total norm),
    as one node. Each norm is computed as :class:`Norm` computes it (√Σx², in the inputs'
    dtype), so the result is the bits of stacking the norms and taking the norm of that.
    dxᵢ = grad · xᵢ / out, with the convention that all-zero inputs (norm 0) get gradient 0
    (as :class:`Norm`'s)."""

    @staticmethod
    def forward(ctx, *xs):
        dtype = np.result_type(*xs)
        norms = np.array([np.sqrt(np.sum(x * x)) for x in xs], dtype=dtype)
        out = np.asarray(np.sqrt(np.sum(norms * norms)), dtype=dtype)
        ctx.save_for_backward(*xs, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        *xs, out = ctx.saved_tensors
        scale = grad / OPS["where"](out > 0.0, out, 1.0)
        return tuple(x * scale for x in xs)


def total_norm(xs: list) -> Tensor:
    """‖(‖x₁‖, ‖x₂‖, …)‖ over a list of float tensors of one dtype (:class:`TotalNorm`)."""
    return TotalNorm.apply(*xs)


def norm(x: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool | None = None, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """The p-norm over ``dim`` (None: all elements, as a vector): ``p=2`` or ``"fro"``
    (Euclidean/Frobenius, the default), any p != 0, (Σ |x|^p)^(1/p) (a negative p too, as
    PyTorch's vector norm), ``inf`` (max |x|), ``-inf`` (min |x|), 0 (the number of
    nonzeros). At a zero norm the gradient is 0."""
    axis, keepdims = dim_args("norm", dim, axis, keepdim, keepdims)
    if p == "fro":
        p = 2
    if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or np.isnan(p):
        raise ArgumentError(f"norm: p must be 'fro', inf, -inf or a number, got {p!r}")
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if p == np.inf:
        return amax(x.abs(), axis, keepdims)
    if p == -np.inf:
        return amin(x.abs(), axis, keepdims)
    if p == 1:
        return sum(x.abs(), axis, keepdims)
    return _reduce(Norm, x, axis, keepdims, p=float(p) if not float(p).is_integer() else int(p))


def normalize(x: Tensor, p: Any = 2.0, dim: Any = None, eps: float = 1e-12, *,
              axis: Any = None) -> Tensor:
    """x / max(‖x‖_p, eps), the p-norm taken over ``dim`` (1 by default) and kept for
    broadcasting: PyTorch's ``F.normalize``. The gradient passes through the norm except
    where it is below ``eps`` (then x is only divided by eps)."""
    d, _ = dim_args("normalize", dim, axis)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    n = norm(x, p, 1 if d is None else d, True)
    return x / n.clamp(min=float(eps))


def _arg(largest: bool, x: Tensor, dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> Tensor:
    name = "argmax" if largest else "argmin"
    axis_, keep = dim_args(name, dim, axis, keepdim, keepdims)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if axis_ is not None:
        axis_ = one_axis(name, axis_, x.ndim)
        if x.ndim == 0:
            axis_ = None
    return ArgExtreme.apply(x, axis=axis_, keepdims=keep, largest=largest)


def argmax(x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """The index (int64) of the maximum along ``dim``; None: of the flattened tensor. The
    first one wins a tie."""
    return _arg(True, x, dim, keepdim, axis, keepdims)


def argmin(x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """The index (int64) of the minimum along ``dim``, as :func:`argmax`."""
    return _arg(False, x, dim, keepdim, axis, keepdims)


def any(x: Tensor, dim: Any = None, keepdim: bool | None = None, *,  # noqa: A001
        axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Whether any element (over ``dim``) is nonzero, as a bool tensor."""
    axis, keepdims = dim_args("any", dim, axis, keepdim, keepdims)
    return _reduce(Truth, x, axis, keepdims, every=False)


def all(x: Tensor, dim: Any = None, keepdim: bool | None = None, *,  # noqa: A001
        axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Whether every element (over ``dim``) is nonzero, as a bool tensor."""
    axis, keepdims = dim_args("all", dim, axis, keepdim, keepdims)
    return _reduce(Truth, x, axis, keepdims, every=True)


__all__ = ["sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp", "prod",
           "cumsum", "cumprod", "norm", "normalize", "var_mean", "std_mean", "argmax",
           "argmin", "any", "all"]
