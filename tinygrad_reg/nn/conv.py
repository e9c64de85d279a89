"""Convolution and pooling layers with PyTorch's names, arguments, defaults and parameter
layouts (so a state dict has PyTorch's keys and shapes): ``Conv1d/2d/3d``,
``ConvTranspose1d/2d/3d``, ``MaxPool1d/2d/3d``, ``MaxUnpool1d/2d/3d``, ``AvgPool1d/2d/3d``,
``AdaptiveAvgPool2d``. The arithmetic and its gradients are in :mod:`tinygrad_reg.ops.conv`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._guard import prepare_inplace
from .._tensor import Tensor
from ..ops import conv as C
from ..ops.shape import pad as _pad
from ..random import resolve
from . import init as _init
from .layers import _float_dtype, _positive_int
from .module import Module, Parameter


class _ConvNd(Module):
    _dims = 2
    _fn: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None, *,
                 init: Any = "pytorch", generator: np.random.Generator | None = None) -> None:
        super().__init__()
        dt = self._settings(out_channels, kernel_size, stride, padding, dilation, groups,
                            padding_mode, device, dtype, init, generator)
        self.in_channels = self._in_channels(in_channels)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        w, b = self._initial_values(shape, dt, bias)
        self.weight = Parameter(w)
        self.bias = Parameter(b) if bias else None

    def _settings(self, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                  dilation: Any, groups: int, padding_mode: str, device: Any, dtype: Any,
                  init: Any, generator: Any) -> np.dtype:
        """Check and store everything but in_channels (which a lazy conv learns later);
        returns the parameters' dtype."""
        name = type(self).__name__
        d = self._dims
        self.out_channels = _positive_int(out_channels, "out_channels", name)
        self.groups = _positive_int(groups, "groups", name)
        if out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide out_channels={out_channels}")
        self.kernel_size = C._tuple(kernel_size, d, "kernel_size", name, 1)
        self.stride = C._tuple(stride, d, "stride", name, 1)
        self.dilation = C._tuple(dilation, d, "dilation", name, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride="
                                 f"{self.stride}")
            self.padding = padding
        else:
            self.padding = C._tuple(padding, d, "padding", name, 0)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        self.padding_mode = padding_mode
        _init.get(init)  # an unknown name fails here
        self._init = init
        self._generator = generator
        return _float_dtype(dtype, device, name)

    def _in_channels(self, in_channels: int) -> int:
        name = type(self).__name__
        n = _positive_int(in_channels, "in_channels", name)
        if n % self.groups:
            raise ValueError(f"{name}: groups={self.groups} must divide in_channels={n} and "
                             f"out_channels={self.out_channels}")
        return n

    def _initial_values(self, shape: tuple[int, ...], dt: np.dtype,
                        bias: bool) -> tuple[np.ndarray, Any]:
        w = np.asarray(_init.get(self._init)(shape, generator=self._generator, dtype=dt))
        if w.shape != shape:
            raise ValueError(f"{type(self).__name__}: the initialiser {self._init!r} returned "
                             f"shape {w.shape}, expected {shape}")
        if not bias:
            return w.astype(dt, copy=False), None
        # PyTorch: the bias from U(±1/√fan_in), the weight's fan_in
        fan_in = shape[1] * math.prod(self.kernel_size)
        return w.astype(dt, copy=False), _init.bias_uniform(
            self.out_channels, fan_in, generator=self._generator, dtype=dt)

    def reset_parameters(self) -> None:
        """Draw the initial values again, in place: PyTorch's, weight and bias from
        U(±1/√fan_in), fan_in = in_channels/groups · kernel size (``init=`` gives the weight
        another initialiser; the bias keeps PyTorch's)."""
        w, b = self._initial_values(tuple(self.weight._data.shape), self.weight._data.dtype,
                                    self.bias is not None)
        np.copyto(prepare_inplace(self.weight), w)
        if b is not None:
            np.copyto(prepare_inplace(self.bias), b)

    def forward(self, x: Any) -> Tensor:
        if self.padding_mode != "zeros" and self.padding != "valid":
            pads = C._conv_padding(self.padding, self._dims, self.kernel_size, self.stride,
                                   self.dilation, type(self).__name__)
            widths = tuple(v for lo_hi in reversed(pads) for v in lo_hi)
            x = _pad(x if isinstance(x, Tensor) else Tensor(x), widths, self.padding_mode)
            return type(self)._fn(x, self.weight, self.bias, self.stride, 0, self.dilation,
                                  self.groups, _caller=type(self).__name__)
        return type(self)._fn(x, self.weight, self.bias, self.stride, self.padding,
                              self.dilation, self.groups, _caller=type(self).__name__)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding not in ((0,) * self._dims, "valid"):
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv1d(_ConvNd):
    """``nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True, padding_mode="zeros")``: weight (out, in/groups, k), bias (out,),
    both from PyTorch's default U(±1/√fan_in) (``init=`` takes another initialiser)."""

    _dims = 1
    _fn = staticmethod(C.conv1d)


class Conv2d(_ConvNd):
    """``nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True, padding_mode="zeros")``: weight (out, in/groups, kH, kW), bias
    (out,), both from PyTorch's default U(±1/√fan_in) (``init=`` takes another
    initialiser). ``padding`` may be "same" (stride 1) or "valid"."""

    _dims = 2
    _fn = staticmethod(C.conv2d)


class Conv3d(_ConvNd):
    """``nn.Conv3d(in_channels, out_channels, kernel_size, ...)``: weight (out, in/groups, kD,
    kH, kW), as :class:`Conv2d`."""

    _dims = 3
    _fn = staticmethod(C.conv3d)


class _ConvTransposeNd(Module):
    _dims = 2
    _fn: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", *, init: Any = "pytorch",
                 generator: np.random.Generator | None = None, dtype: Any = np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        d = self._dims
        self.in_channels = _positive_int(in_channels, "in_channels", name)
        self.out_channels = _positive_int(out_channels, "out_channels", name)
        self.groups = _positive_int(groups, "groups", name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (as PyTorch), got "
                             f"{padding_mode!r}")
        self.kernel_size = C._tuple(kernel_size, d, "kernel_size", name, 1)
        self.stride = C._tuple(stride, d, "stride", name, 1)
        self.padding = C._tuple(padding, d, "padding", name, 0)
        self.output_padding = C._tuple(output_padding, d, "output_padding", name, 0)
        self.dilation = C._tuple(dilation, d, "dilation", name, 1)
        self.padding_mode = padding_mode
        dt = np.dtype(dtype)
        # PyTorch's layout: (in, out / groups, *kernel); its fan_in is dim 1 times the kernel
        shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.asarray(_init.get(init)(shape, generator=generator,
                                                           dtype=dt), dtype=dt))
        if bias:
            bound = 1.0 / np.sqrt(shape[1] * np.prod(self.kernel_size))
            b = resolve(generator).uniform(-bound, bound, self.out_channels)
            self.bias = Parameter(b.astype(dt))
        else:
            self.bias = None

    def forward(self, x: Any, output_size: Any = None) -> Tensor:
        extra = self.output_padding
        if output_size is not None:  # PyTorch: the output_padding that reaches output_size
            x = x if isinstance(x, Tensor) else Tensor(x)
            want = tuple(output_size)[-self._dims:]
            base = tuple((n - 1) * s - 2 * p + dl * (k - 1) + 1 for n, s, p, dl, k in zip(
                x.shape[-self._dims:], self.stride, self.padding, self.dilation, self.kernel_size))
            extra = tuple(w - b for w, b in zip(want, base))
        return type(self)._fn(x, self.weight, self.bias, self.stride, self.padding, extra,
                              self.groups, self.dilation, _caller=type(self).__name__)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    """``nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1)``: weight (in, out/groups, k) and bias
    (out,) from PyTorch's default U(±1/√fan_in); ``forward(x, output_size=None)``."""

    _dims = 1
    _fn = staticmethod(C.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """``nn.ConvTranspose2d(...)``: weight (in, out/groups, kH, kW), as
    :class:`ConvTranspose1d`."""

    _dims = 2
    _fn = staticmethod(C.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """``nn.ConvTranspose3d(...)``: weight (in, out/groups, kD, kH, kW)."""

    _dims = 3
    _fn = staticmethod(C.conv_transpose3d)


class _Pool(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, **kw: Any) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self._kw = kw

    def extra_repr(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._kw.items())
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}{extra}")


class MaxPool1d(_Pool):
    """``nn.MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation=dilation, ceil_mode=ceil_mode,
                         return_indices=return_indices)

    def forward(self, x: Tensor) -> Any:
        return C.max_pool1d(x, self.kernel_size, self.stride, self.padding, **self._kw,
                     _caller=type(self).__name__)


class MaxPool2d(_Pool):
    """``nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)``;
    tied maxima of a window share its gradient evenly."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation=dilation, ceil_mode=ceil_mode,
                         return_indices=return_indices)

    def forward(self, x: Tensor) -> Any:
        return C.max_pool2d(x, self.kernel_size, self.stride, self.padding, **self._kw,
                     _caller=type(self).__name__)


class MaxPool3d(_Pool):
    """``nn.MaxPool3d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
    ceil_mode=False)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation=dilation, ceil_mode=ceil_mode,
                         return_indices=return_indices)

    def forward(self, x: Tensor) -> Any:
        return C.max_pool3d(x, self.kernel_size, self.stride, self.padding, **self._kw,
                            _caller=type(self).__name__)


class _MaxUnpool(Module):
    _fn: Any = None

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return type(self)._fn(x, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """``nn.MaxUnpool1d(kernel_size, stride=None, padding=0)``: ``forward(x, indices,
    output_size=None)`` puts each value back at its index from ``MaxPool1d(...,
    return_indices=True)``, zeros elsewhere."""

    _fn = staticmethod(C.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """``nn.MaxUnpool2d(kernel_size, stride=None, padding=0)``, as :class:`MaxUnpool1d`."""

    _fn = staticmethod(C.max_unpool2d)


class MaxUnpool3d(_MaxUnpool):
    """``nn.MaxUnpool3d(kernel_size, stride=None, padding=0)``, as :class:`MaxUnpool1d`."""

    _fn = staticmethod(C.max_unpool3d)


class AvgPool1d(_Pool):
    """``nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        return C.avg_pool1d(x, self.kernel_size, self.stride, self.padding, **self._kw,
                     _caller=type(self).__name__)


class AvgPool2d(_Pool):
    """``nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)

    def forward(self, x: Tensor) -> Tensor:
        return C.avg_pool2d(x, self.kernel_size, self.stride, self.padding, **self._kw,
                     _caller=type(self).__name__)


class AvgPool3d(_Pool):
    """``nn.AvgPool3d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)

    def forward(self, x: Tensor) -> Tensor:
        return C.avg_pool3d(x, self.kernel_size, self.stride, self.padding, **self._kw,
                            _caller=type(self).__name__)


class AdaptiveAvgPool2d(Module):
    """``nn.AdaptiveAvgPool2d(output_size)``: average pooling to a fixed output size (1: the
    global average of each channel)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return C.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d",
           "MaxUnpool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool2d"]
