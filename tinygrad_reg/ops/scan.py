"""Scans beyond cumsum and cumprod (which are in :mod:`tinygrad_reg.ops.reduce`): running
maxima and minima with their positions (``cummax``, ``cummin``) and the running log-sum-exp
(``logcumsumexp``), with PyTorch's names, results and conventions.

The running extremes are found by one op (:class:`CumExtremeIndex`, int64 positions, no
gradient) and gathered from x at those positions, so each value's gradient goes to the
element it came from (PyTorch's rule: a tie goes to the latest position, no splitting).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from .._tensor import OPS, Tensor
from ..autograd import Function
from .common import dim_args, one_axis
from .shape import gather


class CumExtremeIndex(Function):
    """The position of the running maximum (``largest``) or minimum of x along ``axis``:
    for each i, the latest j <= i holding the extreme of x[..j] (a later tie takes over, as
    PyTorch); once a nan is met it is the running extreme, at the latest nan. No gradient."""

    @staticmethod
    def forward(ctx, x, axis, largest):
        run = (np.maximum if largest else np.minimum).accumulate(x, axis=axis)
        hit = x == run
        if x.dtype.kind in "fc":
            hit |= np.isnan(x) & np.isnan(run)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        pos = np.arange(x.shape[axis], dtype=np.int64).reshape(shape)
        return np.maximum.accumulate(np.where(hit, pos, 0), axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return None


class LogCumSumExp(Function):
    """out_i = ln Σ_{j<=i} exp(x_j) along ``axis``, accumulated with logaddexp (finite for any
    finite x).   dx_j = Σ_{i>=j} grad_i · exp(x_j - out_i), computed as PyTorch does in log
    space from the positive and negative parts of grad (reversed logcumsumexps), so it never
    overflows and is differentiable again."""

    @staticmethod
    def forward(ctx, x, axis):
        out = np.logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        axis = ctx.attrs["axis"]
        # log 0 stands in as a very negative finite number: sums of a few of them (in this
        # backward's own backward) stay finite, so no inf - inf (nan) appears in a 2nd pass
        lowest = float(np.finfo(grad.dtype).min) / 8
        log_abs = grad.abs().clamp(min=np.finfo(grad.dtype).tiny).log()

        def reverse(t: Tensor) -> Tensor:
            return LogCumSumExp.apply(t.flip(axis), axis=axis).flip(axis)

        pos = reverse(OPS["where"](grad > 0.0, log_abs, lowest) - out)
        neg = reverse(OPS["where"](grad < 0.0, log_abs, lowest) - out)
        return (pos + x).exp() - (neg + x).exp()


def _scan_dim(fn: str, x: Tensor, dim: Any, axis: Any) -> int:
    d, _ = dim_args(fn, dim, axis)
    if d is None:
        raise TypeError(f"{fn}: give dim (the dim to accumulate along)")
    return one_axis(fn, d, x.ndim)


def _extreme(fn: str, x: Any, dim: Any, axis: Any, largest: bool) -> Any:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    d = _scan_dim(fn, x, dim, axis)
    x1 = x.reshape(1) if x.ndim == 0 else x
    index = CumExtremeIndex.apply(x1, axis=d, largest=largest)
    values = gather(x1, d, index)
    if x.ndim == 0:
        return getattr(return_types, fn)(values.reshape(()), index.reshape(()))
    return getattr(return_types, fn)(values, index)


def cummax(x: Any, dim: int | None = None, *, axis: int | None = None) -> Any:
    """``(values, indices)``: the running maximum along ``dim`` and where it is (int64; a tie
    takes the later position, as PyTorch). Each value's gradient goes to that position."""
    return _extreme("cummax", x, dim, axis, True)


def cummin(x: Any, dim: int | None = None, *, axis: int | None = None) -> Any:
    """``(values, indices)``: the running minimum along ``dim``, as :func:`cummax`."""
    return _extreme("cummin", x, dim, axis, False)


def logcumsumexp(x: Any, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """ln Σ_{j<=i} exp(x_j) along ``dim``, without overflow."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    d = _scan_dim("logcumsumexp", x, dim, axis)
    if x.ndim == 0:
        return LogCumSumExp.apply(x.reshape(1), axis=0).reshape(())
    return LogCumSumExp.apply(x, axis=d)


__all__ = ["cummax", "cummin", "logcumsumexp"]
