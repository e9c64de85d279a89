"""Parameter, and the placeholders of lazy modules: UninitializedParameter, UninitializedBuffer.

A lazy module (``nn.LazyLinear(10)``) does not know its input size until it is first called,
so its parameters start as placeholders with a dtype but no shape, as in PyTorch: they are
listed by ``parameters()`` and ``state_dict()``, an optimizer may be built over them (it
holds the same objects, which become ordinary Parameters in place at the module's first call),
and any use of their values is refused with a message saying what to do. ``shape`` raises a
RuntimeError as PyTorch's does; other uses raise a ValueError (PyTorch's types).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._device import device as _device
from .._tensor import Tensor, to_array


class Parameter(Tensor):
    """A Tensor that a Module registers as one of its parameters; it always requires grad.

    ``Parameter(data, dtype=None, name=None)``: ``data`` is an ndarray (kept as is, sharing
    memory), a Tensor (its array is shared) or a Python number/list (float32). Only
    floating-point data is accepted (TypeError otherwise). ``requires_grad_(False)`` freezes
    it: the engine then gives it no gradient and optimizers skip it.
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        arr = to_array(data, dtype)
        if arr.dtype.kind != "f":
            raise TypeError(f"Parameter: only floating-point data can be a parameter, got dtype "
                            f"{arr.dtype}; e.g. Parameter(data.astype(np.float32))")
        super().__init__(arr, requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_HOW = ("it belongs to a lazy module (nn.LazyLinear, nn.LazyConv2d, nn.LazyBatchNorm2d, ...) "
        "that has not been called yet; call the model once on a batch (model(x)) to infer the "
        "shapes, then use the parameters")


class _NoValues(np.ndarray):
    """The array behind a placeholder: empty, with the dtype the parameter will have, and
    refusing every numpy computation (so an op given a placeholder fails loudly instead of
    computing on an empty array)."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise ValueError(f"an uninitialized parameter was used in numpy's {ufunc.__name__}: "
                         f"{_HOW}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise ValueError(f"an uninitialized parameter was used in numpy's {func.__name__}: "
                         f"{_HOW}")


def _no_values(dtype: Any) -> np.ndarray:
    dt = np.dtype(np.float32 if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"an uninitialized parameter or buffer must have a float dtype, got "
                        f"{dt}")
    return np.empty(0, dtype=dt).view(_NoValues)


class _Uninitialized:
    """What UninitializedParameter and UninitializedBuffer share (PyTorch's
    ``UninitializedTensorMixin``): a dtype, no shape, :meth:`materialize`."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give the placeholder ``shape`` (filled with zeros) and turn it, in place, into
        the class it stands for (:class:`Parameter` or :class:`Tensor`): every reference to
        it (an optimizer's, a state dict's) now holds the real thing. ``dtype`` defaults to
        the placeholder's."""
        if device is not None:
            _device(device)
            if str(device) != "cpu" and not str(device).startswith("cpu:"):
                raise ValueError(f"materialize: tinygrad_reg runs on the CPU with numpy; device "
                                 f"{str(device)!r} is not available (use 'cpu')")
        dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0
               for n in dims):
            raise ValueError(f"materialize: shape must be a tuple of ints >= 0, got {shape!r}")
        dt = self._data.dtype if dtype is None else _no_values(dtype).dtype
        self._data = np.zeros(tuple(int(n) for n in dims), dtype=dt)
        self.grad = None
        self.__class__ = type(self).cls_to_become

    # The array is a placeholder: .data gives an empty tensor of the dtype, as PyTorch's
    # .data of an uninitialized parameter does, so that a fill written before the first call
    # (layer.weight.data.normal_(0, 0.01)) changes nothing, as in PyTorch: the module draws
    # its initial values when it learns its shape. Assigning an array changes only the dtype.
    @property
    def data(self) -> Tensor:
        return Tensor(np.empty(0, dtype=self._data.dtype))

    @data.setter
    def data(self, value: Any) -> None:
        self._data = _no_values(np.asarray(value._data if isinstance(value, Tensor)
                                           else value).dtype)

    @property
    def shape(self) -> Any:
        raise RuntimeError(f"Can't access the shape of an uninitialized parameter or buffer: "
                           f"{_HOW}. (This also happens in load_state_dict when the state "
                           f"holds an uninitialized parameter and the model an initialized "
                           f"one.)")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _refusal(name: str) -> Any:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{type(self).__name__}: cannot use {name} of an uninitialized "
                         f"parameter or buffer: {_HOW}")

    refuse.__name__ = name
    return refuse


def _shape_refusal(name: str) -> Any:
    return property(lambda self: _Uninitialized.shape.fget(self), doc=f"refused ({name})")


# Everything a Tensor offers that reads values or a shape is refused on a placeholder; kept:
# identity, dtype, device, the grad bookkeeping, requires_grad_ and the Python object protocol.
_KEEP = {"dtype", "device", "is_leaf", "requires_grad_", "zero_grad", "data", "shape",
         "grad", "requires_grad", "grad_fn", "name", "__init__", "__repr__", "__hash__",
         "__slots__", "__weakref__", "__module__", "__doc__", "__qualname__",
         "__array_ufunc__", "__annotations__", "_aux", "_data"}
for _name, _value in list(vars(Tensor).items()):
    if _name in _KEEP or _name in vars(_Uninitialized):
        continue
    if isinstance(_value, property):
        setattr(_Uninitialized, _name, _shape_refusal(_name))
    elif callable(_value):
        setattr(_Uninitialized, _name, _refusal(_name))
del _name, _value


class UninitializedParameter(_Uninitialized, Parameter):
    """A :class:`Parameter` whose shape is not known yet (PyTorch's
    ``nn.UninitializedParameter``): what a lazy module holds until its first call, which
    :meth:`materialize` s it into a Parameter in place.

    ``UninitializedParameter(requires_grad=True, device=None, dtype=None)``: ``dtype`` (float32
    by default) is the dtype it will have. It can be listed, given to an optimizer, put in a
    state dict and converted to another dtype (``module.to(tg.float64)``); reading its shape
    is a RuntimeError and any other use a ValueError saying to call the model first."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        if device is not None:
            _device(device)
        Tensor.__init__(self, np.empty(0, dtype=np.float32), requires_grad=requires_grad)
        self._data = _no_values(dtype)


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer (state that is not a parameter, such as BatchNorm's running statistics) whose
    shape is not known yet: PyTorch's ``nn.UninitializedBuffer``, materialized into a plain
    Tensor at the lazy module's first call. ``UninitializedBuffer(requires_grad=False,
    device=None, dtype=None)``."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        if device is not None:
            _device(device)
        Tensor.__init__(self, np.empty(0, dtype=np.float32), requires_grad=requires_grad)
        self._data = _no_values(dtype)


def is_lazy(t: Any) -> bool:
    """Whether ``t`` is an :class:`UninitializedParameter` or :class:`UninitializedBuffer`
    (PyTorch's ``torch.nn.parameter.is_lazy``)."""
    return isinstance(t, _Uninitialized)


__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]
