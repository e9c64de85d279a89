"""Sorting along a dim: ``sort``, ``argsort`` and ``topk``, with PyTorch's names, defaults and
``(values, indices)`` results.

One op finds the order (:class:`ArgSort`, int64 positions, no gradient); the values are
gathered at those positions, and that gather carries the gradient (each value's gradient goes
back to the element it came from), so sorting is differentiable any number of times. The order
is always stable: equal values keep their original order, in both directions (PyTorch's
``stable=True``; its default may order ties differently). nan sorts as the largest value, as
in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from .._tensor import Tensor
from ..autograd import Function
from ..errors import ArgumentError
from .common import dim_args, one_axis
from .shape import gather


class ArgSort(Function):
    """The int64 positions that sort x along ``axis``, ascending or ``descending``, stable:
    equal values keep their order in either direction (descending sorts the reversed input
    ascending and reverses back). nan counts as the largest value. No gradient."""

    @staticmethod
    def forward(ctx, x, axis, descending):
        if not descending:
            return np.argsort(x, axis=axis, kind="stable").astype(np.int64, copy=False)
        n = x.shape[axis]
        order = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
        return (n - 1 - np.flip(order, axis)).astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return None


def _order(fn: str, x: Any, dim: Any, axis: Any,
           descending: bool) -> tuple[Tensor, Tensor, int]:
    """x (at least 1-d), the positions that sort it along the resolved dim, and that dim."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    d, _ = dim_args(fn, dim, axis)
    d = one_axis(fn, -1 if d is None else d, x.ndim)
    if x.ndim == 0:
        x = x.reshape(1)
    return x, ArgSort.apply(x, axis=d, descending=bool(descending)), d


def argsort(x: Any, dim: int | None = None, descending: bool = False,
            stable: bool = False, *, axis: int | None = None) -> Tensor:
    """The int64 positions that sort x along ``dim`` (the last by default). Always stable:
    equal values keep their order (``stable`` is accepted for PyTorch's signature)."""
    _, order, _ = _order("argsort", x, dim, axis, descending)
    return order.reshape(()) if isinstance(x, Tensor) and x.ndim == 0 else order


def sort(x: Any, dim: int | None = None, descending: bool = False, stable: bool = False,
         *, axis: int | None = None) -> Any:
    """``(values, indices)``: x sorted along ``dim`` (ascending unless ``descending``) and
    where each value came from (int64), stable (equal values keep their order). The gradient
    of each value goes back to the element it came from."""
    x1, order, d = _order("sort", x, dim, axis, descending)
    values = gather(x1, d, order)
    if isinstance(x, Tensor) and x.ndim == 0:
        return return_types.sort(values.reshape(()), order.reshape(()))
    return return_types.sort(values, order)


def topk(x: Any, k: int, dim: int | None = None, largest: bool = True,
         sorted: bool = True, *, axis: int | None = None) -> Any:  # noqa: A002
    """``(values, indices)`` of the ``k`` largest elements along ``dim`` (the smallest with
    ``largest=False``), in sorted order (also with ``sorted=False``); among equal values the
    earlier positions come first. ``k`` must lie in [0, size of dim], else
    :class:`~tinygrad_reg.errors.ArgumentError`."""
    x1, order, d = _order("topk", x, dim, axis, largest)
    n = x1.shape[d]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ArgumentError(f"topk: k={k!r} is out of range for dim {d} of size {n} (shape "
                            f"{x1.shape}); k must lie in [0, {n}]")
    order = order[(slice(None),) * d + (slice(0, int(k)),)]
    values = gather(x1, d, order)
    if isinstance(x, Tensor) and x.ndim == 0:
        return return_types.topk(values.reshape(()), order.reshape(()))
    return return_types.topk(values, order)


__all__ = ["argsort", "sort", "topk"]
