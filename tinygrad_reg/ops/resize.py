"""``interpolate``: resizing the spatial dims of (N, C, *spatial), PyTorch's
``F.interpolate`` with its coordinate conventions, built from differentiable ops.

No op of its own: each spatial dim is resized in turn (the modes here are separable) by
gathering input positions along it (``index_select``) and, for the linear modes, blending
the two neighbours with fixed weights, so every gradient comes from those ops and is
differentiable again.

Where output position j of a dim of n inputs and m outputs reads (scale = n/m, or 1/
scale_factor when that is given):

- ``nearest``: ⌊j·scale⌋; ``nearest-exact``: ⌊(j + ½)·scale⌋ (both clipped to n - 1);
- ``linear``/``bilinear``/``trilinear`` (3, 4 or 5 input dims): source s = (j + ½)·scale - ½,
  at least 0, or with ``align_corners=True`` s = j·(n - 1)/(m - 1); the output is
  x[⌊s⌋]·(1 - λ) + x[⌊s⌋ + 1]·λ with λ = s - ⌊s⌋ (the upper neighbour clipped to n - 1).

Integer tensors are resized in float32 and rounded half up (PyTorch's uint8 bilinear kernel
uses fixed-point weights, so its values can differ from these by one).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..errors import ArgumentError, NotSupportedError, ShapeError
from .common import cast
from .shape import index_select

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _sizes(x: Tensor, size: Any, scale_factor: Any, d: int) -> tuple[tuple, tuple]:
    """(output sizes, coordinate scales) per spatial dim."""
    if (size is None) == (scale_factor is None):
        raise ArgumentError("interpolate: give exactly one of size and scale_factor")
    inputs = x.shape[2:]
    if size is not None:
        sizes = (size,) * d if isinstance(size, (int, np.integer)) else tuple(size)
        if len(sizes) != d or any(not isinstance(n, (int, np.integer)) or n <= 0
                                  for n in sizes):
            raise ArgumentError(f"interpolate: size must be a positive int or {d} of them for "
                                f"input shape {x.shape}, got {size!r}")
        return tuple(int(n) for n in sizes), tuple(n / m for n, m in zip(inputs, sizes))
    factors = (scale_factor,) * d if isinstance(scale_factor, (int, float)) else tuple(
        scale_factor)
    if len(factors) != d or any(f <= 0 for f in factors):
        raise ArgumentError(f"interpolate: scale_factor must be a positive number or {d} of "
                            f"them, got {scale_factor!r}")
    sizes = tuple(int(math.floor(n * f)) for n, f in zip(inputs, factors))
    return sizes, tuple(1.0 / f for f in factors)


def _nearest(x: Tensor, axis: int, m: int, scale: float, exact: bool) -> Tensor:
    n = x.shape[axis]
    j = np.arange(m, dtype=np.float64)
    src = np.floor((j + 0.5) * scale if exact else j * scale).astype(np.int64)
    return index_select(x, axis, Tensor(np.minimum(src, n - 1)))


def _linear(x: Tensor, axis: int, m: int, scale: float, align_corners: bool) -> Tensor:
    n = x.shape[axis]
    j = np.arange(m, dtype=np.float64)
    if align_corners:
        src = j * ((n - 1) / (m - 1)) if m > 1 else np.zeros(m)
    else:
        src = np.maximum((j + 0.5) * scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    lam = (src - lo).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = m
    lam = Tensor(lam.reshape(shape))
    return index_select(x, axis, Tensor(lo)) * (1.0 - lam) + \
        index_select(x, axis, Tensor(hi)) * lam


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,  # noqa: A002
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of ``input`` (N, C, *spatial) to ``size`` or by
    ``scale_factor`` (PyTorch's ``F.interpolate``): ``mode`` "nearest", "nearest-exact",
    "linear" (3-d input), "bilinear" (4-d) or "trilinear" (5-d), with ``align_corners`` for
    the linear modes. See the module docstring for the coordinates."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 3:
        raise ShapeError(f"interpolate: expects an input (N, C, *spatial) of 3 to 5 dims, got "
                         f"shape {x.shape}")
    d = x.ndim - 2
    if mode not in ("nearest", "nearest-exact", *_LINEAR):
        raise NotSupportedError(f"interpolate: mode must be 'nearest', 'nearest-exact', "
                                f"'linear', 'bilinear' or 'trilinear', got {mode!r}")
    if mode in _LINEAR and _LINEAR[mode] != d:
        raise NotSupportedError(f"interpolate: mode {mode!r} needs {_LINEAR[mode] + 2}-d input, "
                                f"got shape {x.shape}")
    if align_corners is not None and mode not in _LINEAR:
        raise ArgumentError(f"interpolate: align_corners applies to the linear modes only, not "
                            f"{mode!r}")
    if antialias:
        raise NotSupportedError("interpolate: antialias=True is not supported")
    sizes, scales = _sizes(x, size, scale_factor, d)
    if recompute_scale_factor:
        scales = tuple(n / m for n, m in zip(x.shape[2:], sizes))
    dtype = x.dtype
    if mode in _LINEAR and dtype.kind in "biu":
        x = cast(x, np.dtype(np.float32))
    for k, (m, scale) in enumerate(zip(sizes, scales)):
        axis = 2 + k
        if mode in _LINEAR:
            x = _linear(x, axis, m, scale, bool(align_corners))
        else:
            x = _nearest(x, axis, m, scale, mode == "nearest-exact")
    if x.dtype != dtype:  # an integer image resized linearly: rounded half up
        x = cast((x + 0.5).floor(), dtype)
    return x


__all__ = ["interpolate"]
