"""Lazy layers: PyTorch's ``nn.LazyLinear``, ``nn.LazyConv1d``/``2d`` and
``nn.LazyBatchNorm1d``/``2d``, which learn their input size at their first call.

Until then their parameters (and BatchNorm's running statistics) are placeholders
(:class:`~tinygrad_reg.nn.UninitializedParameter`, :class:`~tinygrad_reg.nn.UninitializedBuffer`)
with PyTorch's semantics: ``parameters()`` and ``state_dict()`` list them, an optimizer can be
built over them, and any use of their values is refused. The first call infers the size from
the input (the last dim for Linear, dim 1 for Conv and BatchNorm), turns the placeholders
into Parameters *in place* (so an optimizer built before holds the real ones), draws the
eager layer's initial values from its generator, and the module becomes the eager class
(``type(layer) is nn.Linear`` afterwards, as in PyTorch), so later calls cost nothing extra.
``load_state_dict`` before the first call takes the shapes of the state instead; the first
call then checks that the input fits them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from . import init as _init
from .conv import Conv1d, Conv2d
from .layers import Linear, _float_dtype, _positive_int
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import UninitializedBuffer, UninitializedParameter, is_lazy


def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(x._data.shape if isinstance(x, Tensor) else np.shape(x))


class LazyModuleMixin:
    """What the lazy layers share (PyTorch's ``nn.modules.lazy.LazyModuleMixin``): the first
    call runs :meth:`initialize_parameters` on the input, then the module becomes
    ``cls_to_become`` and runs as that class."""

    cls_to_become: type | None = None
    _size_name = ""  # the size the first call infers (in_features, in_channels, num_features)

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer of this module is still a placeholder."""
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Learn the sizes from the first input and materialize the placeholders."""
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def reset_parameters(self) -> None:
        """The eager layer's ``reset_parameters`` once the sizes are known; before, nothing
        (as in PyTorch)."""
        if not self.has_uninitialized_params() and getattr(self, self._size_name) != 0:
            super().reset_parameters()

    def _check_loaded(self, expected: dict[str, tuple[int, ...]]) -> None:
        """Placeholders that load_state_dict gave a shape must have the shape the input
        implies; all or none of them may be placeholders still."""
        name = type(self).__name__
        tensors = {**self._parameters, **self._buffers}
        lazy = [k for k in expected if is_lazy(tensors[k])]
        if lazy and len(lazy) != len(expected):
            raise RuntimeError(f"{name}: {sorted(lazy)} are still uninitialized but "
                               f"{sorted(set(expected) - set(lazy))} were loaded by "
                               f"load_state_dict; load all of the module's entries or none")
        for k, shape in expected.items():
            if not is_lazy(tensors[k]) and tensors[k]._data.shape != shape:
                raise ValueError(f"{name}: the first input implies a {k} of shape {shape}, but "
                                 f"the {k} loaded by load_state_dict has shape "
                                 f"{tensors[k]._data.shape}")

    def _materialize(self, expected: dict[str, tuple[int, ...]]) -> None:
        tensors = {**self._parameters, **self._buffers}
        if all(is_lazy(tensors[k]) for k in expected):
            for k, shape in expected.items():
                tensors[k].materialize(shape)
            self.reset_parameters()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self.initialize_parameters(*args, **kwargs)
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        self.__class__ = self.cls_to_become  # from now on the eager layer, at its speed
        return self.forward(*args, **kwargs)


class LazyLinear(LazyModuleMixin, Linear):
    """``nn.LazyLinear(out_features, bias=True, device=None, dtype=None)``: a
    :class:`~tinygrad_reg.nn.Linear` whose in_features is the last dim of its first input
    (``in_features`` is 0 until then, as in PyTorch). Takes Linear's ``init`` and
    ``generator``; the initial values are Linear's."""

    cls_to_become = Linear
    _size_name = "in_features"

    def __init__(self, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None, *, init: str | _init.Initialiser = "pytorch",
                 generator: np.random.Generator | None = None) -> None:
        Module.__init__(self)
        self.in_features = 0
        self.out_features = _positive_int(out_features, "out_features", "LazyLinear")
        dt = _float_dtype(dtype, device, "LazyLinear")
        _init.get(init)  # an unknown name fails here
        self._init = init
        self._generator = generator
        self.weight = UninitializedParameter(dtype=dt)
        self.bias = UninitializedParameter(dtype=dt) if bias else None

    def initialize_parameters(self, x: Any) -> None:  # type: ignore[override]
        shape = _shape_of(x)
        if not shape or shape[-1] < 1:
            raise ValueError(f"LazyLinear: the first input must have at least one dim with a "
                             f"positive size (..., in_features) to infer in_features from, "
                             f"got shape {shape}")
        n = shape[-1]
        expected = {"weight": (self.out_features, n)}
        if self.bias is not None:
            expected["bias"] = (self.out_features,)
        self._check_loaded(expected)
        self.in_features = n
        self._materialize(expected)


class _LazyConvNd(LazyModuleMixin):
    _size_name = "in_channels"

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None, *,
                 init: Any = "pytorch", generator: np.random.Generator | None = None) -> None:
        Module.__init__(self)
        dt = self._settings(out_channels, kernel_size, stride, padding, dilation, groups,
                            padding_mode, device, dtype, init, generator)
        self.in_channels = 0
        self.weight = UninitializedParameter(dtype=dt)
        self.bias = UninitializedParameter(dtype=dt) if bias else None

    def initialize_parameters(self, x: Any) -> None:  # type: ignore[override]
        name = type(self).__name__
        shape = _shape_of(x)
        d = self._dims
        if len(shape) != d + 2:
            raise ValueError(f"{name}: expected an input of {d + 2} dims (N, C, "
                             f"{', '.join('HW'[2 - d:])}), got shape {shape}")
        c = self._in_channels(shape[1])
        expected = {"weight": (self.out_channels, c // self.groups) + self.kernel_size}
        if self.bias is not None:
            expected["bias"] = (self.out_channels,)
        self._check_loaded(expected)
        self.in_channels = c
        self._materialize(expected)


class LazyConv1d(_LazyConvNd, Conv1d):
    """``nn.LazyConv1d(out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode="zeros", device=None, dtype=None)``: a
    :class:`~tinygrad_reg.nn.Conv1d` whose in_channels is dim 1 of its first (N, C, L)
    input."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """``nn.LazyConv2d(out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode="zeros", device=None, dtype=None)``: a
    :class:`~tinygrad_reg.nn.Conv2d` whose in_channels is dim 1 of its first (N, C, H, W)
    input."""

    cls_to_become = Conv2d


class _LazyBatchNorm(LazyModuleMixin):
    _size_name = "num_features"

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        Module.__init__(self)
        dt = self._settings(eps, momentum, affine, track_running_stats, device, dtype)
        self.num_features = 0
        if self.affine:
            self.weight = UninitializedParameter(dtype=dt)
            self.bias = UninitializedParameter(dtype=dt)
        else:
            self.weight = self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", UninitializedBuffer(dtype=dt))
            self.register_buffer("running_var", UninitializedBuffer(dtype=dt))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def initialize_parameters(self, x: Any) -> None:  # type: ignore[override]
        name = type(self).__name__
        shape = _shape_of(x)
        if len(shape) not in self._input_dims:
            dims = " or ".join(map(str, self._input_dims))
            raise ValueError(f"{name}: expected an input of {dims} dims (N, C, ...), got shape "
                             f"{shape}")
        c = _positive_int(shape[1], "the number of channels (dim 1 of the input)", name)
        names = (("weight", "bias") if self.affine else ()) + \
            (("running_mean", "running_var") if self.track_running_stats else ())
        expected = {k: (c,) for k in names}
        self._check_loaded(expected)
        self.num_features = c
        self._materialize(expected)


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """``nn.LazyBatchNorm1d(eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
    device=None, dtype=None)``: a :class:`~tinygrad_reg.nn.BatchNorm1d` whose num_features
    is dim 1 of its first (N, C) or (N, C, L) input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """``nn.LazyBatchNorm2d(eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
    device=None, dtype=None)``: a :class:`~tinygrad_reg.nn.BatchNorm2d` whose num_features
    is dim 1 of its first (N, C, H, W) input."""

    cls_to_become = BatchNorm2d


__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyBatchNorm1d",
           "LazyBatchNorm2d"]
