"""Normalization layers with PyTorch's names, arguments, defaults, formulas and state:
``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``.

Batch normalization keeps PyTorch's state exactly, so a state dict moves between the two:
``running_mean``, ``running_var`` (the *unbiased* batch variance, though the batch is
normalized with the biased one) and ``num_batches_tracked`` (int64); ``momentum=None`` is a
cumulative average. In training mode a batch is normalized with its own statistics (and the
running ones are updated); in eval mode with the running ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import no_grad
from ..ops.normalization import batch_norm, group_norm, layer_norm
from .layers import _float_dtype, _positive_int
from .module import Module, Parameter


def _eps(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            value > 0):
        raise ValueError(f"{name}: eps must be a number > 0, got {value!r}")
    return float(value)


class _BatchNorm(Module):
    _input_dims: tuple[int, ...] = ()
    is_normalization = True  # penalties and max_norm_ skip its parameters

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        dt = self._settings(eps, momentum, affine, track_running_stats, device, dtype)
        self.num_features = c = _positive_int(num_features, "num_features",
                                              type(self).__name__)
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype=dt))
            self.bias = Parameter(np.zeros(c, dtype=dt))
        else:
            self.weight = self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(c, dtype=dt)))
            self.register_buffer("running_var", Tensor(np.ones(c, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _settings(self, eps: float, momentum: float | None, affine: bool,
                  track_running_stats: bool, device: Any, dtype: Any) -> np.dtype:
        """Check and store everything but num_features (which a lazy batch norm learns
        later); returns the dtype of the parameters and statistics."""
        name = type(self).__name__
        self.eps = _eps(eps, name)
        if momentum is not None and (isinstance(momentum, bool) or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"{name}: momentum must be in [0, 1] or None (a cumulative "
                             f"average), got {momentum!r}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        return _float_dtype(dtype, device, name)

    def forward(self, x: Any) -> Tensor:
        name = type(self).__name__
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim not in self._input_dims:
            dims = " or ".join(map(str, self._input_dims))
            raise ValueError(f"{name}: expected an input of {dims} dims (N, C, ...), got shape "
                             f"{x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: the input has {x.shape[1]} channels (dim 1 of shape "
                             f"{x.shape}) but num_features={self.num_features}")
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats, self.momentum,
                          self.eps, self.num_batches_tracked, _caller=name)

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The initial state again, in place: :meth:`reset_running_stats`, weight = 1,
        bias = 0 (PyTorch's ``reset_parameters``)."""
        self.reset_running_stats()
        if self.affine:
            with no_grad():
                self.weight.fill_(1.0)
                self.bias.zero_()

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """``nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True)`` over (N, C) or (N, C, L):
    y = (x - mean) / √(var + eps) · weight + bias, the statistics over N (and L)."""

    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """``nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True)`` over (N, C, H, W), the statistics over N, H and W."""

    _input_dims = (4,)


class LayerNorm(Module):
    """``nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``:
    y = (x - mean) / √(var + eps) · weight + bias over the trailing dims
    ``normalized_shape``; weight and bias have that shape."""

    is_normalization = True  # penalties and max_norm_ skip its parameters

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype: Any = np.float32) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else \
            tuple(normalized_shape)
        if not shape or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1
                            for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a tuple of "
                             f"them, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = _eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        dt = np.dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt)) if bias else None
        else:
            self.weight = self.bias = None

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps,
                          _caller="LayerNorm")

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """``nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)``: the channels of
    (N, C, ...) split into groups, each normalized over its channels and the spatial dims;
    weight and bias per channel."""

    is_normalization = True  # penalties and max_norm_ skip its parameters

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_groups = _positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _positive_int(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} must divide "
                             f"num_channels={num_channels}")
        self.eps = _eps(eps, "GroupNorm")
        self.affine = bool(affine)
        dt = np.dtype(dtype)
        if self.affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dt))
            self.bias = Parameter(np.zeros(num_channels, dtype=dt))
        else:
            self.weight = self.bias = None

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected an input (N, {self.num_channels}, ...), got "
                             f"shape {x.shape}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"]
