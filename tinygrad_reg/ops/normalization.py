"""Normalization: x̂ = (x - mean) / √(var + eps) over some axes, the core of batch, layer and
group normalization (their affine parts are plain multiplications and additions, and the
running statistics live in the modules of :mod:`tinygrad_reg.nn.normalization`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from . import onnx_rules


class Normalize(Function):
    """x̂ = (x - μ) / σ with μ = mean(x), σ = √(var(x) + eps) over ``axes`` (the biased
    variance, as every normalization layer uses).
    dx = (g - mean(g) - x̂ · mean(g · x̂)) / σ (means over ``axes``): exact through the
    statistics, and written in Tensor ops (the statistics recomputed from x), so second
    derivatives are exact too. Named BatchNorm, LayerNorm or GroupNorm in graphs."""

    @staticmethod
    def forward(ctx, x, axes, eps):
        ctx.save_for_backward(x)
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        xc *= 1.0 / np.sqrt(var + eps)
        return xc.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, eps = ctx.attrs["axes"], ctx.attrs["eps"]
        xc = x - x.mean(axis=axes, keepdims=True)
        inv = ((xc * xc).mean(axis=axes, keepdims=True) + eps).rsqrt()
        xh = xc * inv
        gm = g.mean(axis=axes, keepdims=True)
        gxm = (g * xh).mean(axis=axes, keepdims=True)
        return (g - gm - xh * gxm) * inv

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        axes, nd = tuple(attrs["axes"]), arrays[0].ndim
        d = g.node("Sub", [inputs[0], g.reduce("ReduceMean", inputs[0], axes, True, nd)])
        var = g.reduce("ReduceMean", g.node("Mul", [d, d]), axes, True, nd)
        std = g.node("Sqrt", [g.node("Add", [var, onnx_rules.scalar(g, attrs["eps"], out)])])
        return g.node("Div", [d, std])


class BatchNorm(Normalize):
    """:class:`Normalize` over the batch and spatial axes (its name in graphs)."""


class LayerNorm(Normalize):
    """:class:`Normalize` over the trailing ``normalized_shape`` axes (its name in graphs)."""


class GroupNorm(Normalize):
    """:class:`Normalize` over each group of channels and the spatial axes (its name in
    graphs)."""


def normalize(x: Tensor, axes: Any, eps: float, kind: type[Normalize] = Normalize) -> Tensor:
    """``kind``.apply(x): x̂ over ``axes`` (a tuple of non-negative axes)."""
    return kind.apply(x, axes=tuple(int(a) for a in axes), eps=float(eps))


def _affine(y: Tensor, weight: Any, bias: Any, shape: tuple) -> Tensor:
    if weight is not None:
        y = y * (weight if isinstance(weight, Tensor) else Tensor(weight)).reshape(shape)
    if bias is not None:
        y = y + (bias if isinstance(bias, Tensor) else Tensor(bias)).reshape(shape)
    return y


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float | None = 0.1, eps: float = 1e-5,
               num_batches_tracked: Tensor | None = None, *,
               _caller: str = "batch_norm") -> Tensor:
    """PyTorch's ``F.batch_norm`` over (N, C, ...): in training, normalize with the batch's
    statistics and, when the running tensors are given, update them in place
    (running = (1 - m)·running + m·batch, with the unbiased batch variance; ``momentum=None``
    and ``num_batches_tracked`` give the cumulative average); otherwise normalize with the
    running statistics. Per-channel ``weight`` and ``bias``."""
    from ..autograd import no_grad

    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{_caller}: expected an input (N, C, ...), got shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training or running_mean is None:
        n = x.numel() // x.shape[1]
        if training and n <= 1:
            raise ValueError(f"{_caller}: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape} (as PyTorch; a "
                             f"(1, C, H, W) batch with H·W > 1 is fine)")
        if training and running_mean is not None:
            with no_grad():
                m = momentum
                if num_batches_tracked is not None:
                    num_batches_tracked.add_(1)
                elif m is None:
                    raise ValueError("batch_norm: momentum=None needs num_batches_tracked")
                mean = x.mean(dim=axes).astype(running_mean.dtype)
                var = x.var(dim=axes, correction=1).astype(running_var.dtype)
                if m is None:  # the cumulative average: m = 1/n
                    # computed from the count with ops (kernels a tg.jit replay runs again),
                    # rounded as the Python float 1.0 / n would be
                    inv = 1.0 / num_batches_tracked.astype(np.float64)
                    for run, stat in ((running_mean, mean), (running_var, var)):
                        run.mul_((1.0 - inv).astype(run.dtype)).add_(stat * inv.astype(
                            run.dtype))
                else:
                    running_mean.mul_(1.0 - m).add_(mean, alpha=m)
                    running_var.mul_(1.0 - m).add_(var, alpha=m)
        y = normalize(x, axes, eps, BatchNorm)
    else:
        y = (x - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    return _affine(y, weight, bias, shape)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Any = None,  # noqa: A002
               bias: Any = None, eps: float = 1e-5, *, _caller: str = "layer_norm") -> Tensor:
    """PyTorch's ``F.layer_norm``: normalize over the trailing dims ``normalized_shape``,
    then multiply by ``weight`` and add ``bias`` (of that shape)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"{_caller}: expected an input whose last {k} dims are {shape} "
                         f"(normalized_shape), got shape {x.shape}")
    y = normalize(x, range(x.ndim - k, x.ndim), eps, LayerNorm)
    return _affine(y, weight, bias, shape)


def group_norm(input: Tensor, num_groups: int, weight: Any = None,  # noqa: A002
               bias: Any = None, eps: float = 1e-5, *, _caller: str = "group_norm") -> Tensor:
    """PyTorch's ``F.group_norm``: the channels of (N, C, ...) in ``num_groups`` groups, each
    normalized over its channels and the spatial dims; per-channel ``weight`` and ``bias``."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"{_caller}: num_groups={num_groups} must divide the channels (dim 1)"
                         f" of the input, got shape {x.shape}")
    grouped = x.reshape(x.shape[0], num_groups, -1)
    y = normalize(grouped, (2,), eps, GroupNorm).reshape(x.shape)
    return _affine(y, weight, bias, (1, -1) + (1,) * (x.ndim - 2))


__all__ = ["Normalize", "BatchNorm", "LayerNorm", "GroupNorm", "normalize", "batch_norm",
           "layer_norm", "group_norm"]
