"""Parametrizations, as PyTorch's ``torch.nn.utils.parametrize``: a module's tensor (say
``weight``) is replaced by a function of other tensors that are the ones trained,

    module.weight = f(original)          (recomputed at every access),

with ``original`` kept at ``module.parametrizations.weight.original`` (or ``original0``,
``original1``, ... when ``f``'s ``right_inverse`` splits the value in several tensors, as
weight normalisation does). The names are PyTorch's, so a parametrized model's state_dict
has PyTorch's keys.

As in PyTorch, registering changes the module's class to a subclass (``ParametrizedLinear``)
whose ``weight`` is a property; :func:`remove_parametrizations` changes it back.
"""

from __future__ import annotations

import copy
from typing import Any

from ..._tensor import Tensor
from ...autograd import no_grad
from ...errors import ArgumentError
from ..containers import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter


def _originals(value: Any) -> tuple:
    return value if isinstance(value, (tuple, list)) else (value,)


def _parameter(t: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(t.numpy().copy()).requires_grad_(requires_grad)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor (applied in order) and the tensor(s) they start
    from: ``original``, or ``original0``, ``original1``, ... when the first one's
    ``right_inverse`` returns several tensors."""

    def __init__(self, modules: list[Module], original: Parameter | Tensor,
                 unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = bool(unsafe)
        new = original
        with no_grad():
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    new = m.right_inverse(new)
        parts = _originals(new)
        self.is_tensor = not isinstance(new, (tuple, list))
        self.ntensors = len(parts)
        if self.is_tensor:
            # the same Parameter object stays the trained tensor (an optimizer built before
            # keeps working), holding the right inverse's value
            if new is not original:
                original.data = new.data if isinstance(new, Tensor) else new
            self._keep("original", original)
        else:
            for i, part in enumerate(parts):
                data = part.detach() if isinstance(part, Tensor) else Tensor(part)
                self._keep(f"original{i}", _parameter(data, original.requires_grad)
                           if isinstance(original, Parameter) else data)

    def _keep(self, name: str, t: Tensor) -> None:
        if isinstance(t, Parameter):
            setattr(self, name, t)
        else:
            self.register_buffer(name, t)

    def right_inverse(self, value: Tensor) -> None:
        """Write ``value`` into the originals through each parametrization's right_inverse
        (what ``module.weight = value`` does)."""
        with no_grad():
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    value = m.right_inverse(value)
            parts = _originals(value)
            names = ["original"] if self.is_tensor else [f"original{i}"
                                                         for i in range(self.ntensors)]
            if len(parts) != len(names):
                raise ArgumentError(f"ParametrizationList: right_inverse returned {len(parts)} "
                                    f"tensors, expected {len(names)}")
            for name, part in zip(names, parts):
                getattr(self, name).copy_(part if isinstance(part, Tensor) else Tensor(part))

    def forward(self) -> Tensor:
        """The parametrized value: f_n(...f_1(original))."""
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _property(name: str) -> property:
    def get(self: Module) -> Tensor:
        return self.parametrizations[name]()

    def set_(self: Module, value: Any) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, set_, doc=f"the parametrized {name!r}")


def _parametrized_class(module: Module) -> type:
    """The module's own subclass, which carries the properties of its parametrized names (one
    class per module: registering or removing on one module never touches another)."""
    cls = type(module)
    if getattr(cls, "_is_parametrized_class", False):
        return cls
    return type(f"Parametrized{cls.__name__}", (cls,), {"_is_parametrized_class": True,
                                                       "_original_class": cls,
                                                       "__deepcopy__": _deepcopy})


def _deepcopy(self: Module, memo: dict) -> Module:
    """A deep copy with a class of its own, holding the same properties. (PyTorch's copy
    shares the class, so removing a parametrization from the original deletes the property
    under the copy too, whose ``weight`` then raises AttributeError.)"""
    cls = type(self)
    attrs = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    replica = object.__new__(type(cls.__name__, cls.__bases__, attrs))
    memo[id(self)] = replica
    replica.__dict__.update(copy.deepcopy(self.__dict__, memo))
    return replica


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization (on ``tensor_name``, if given)."""
    plist = module.__dict__.get("parametrizations")
    if plist is None or not isinstance(plist, ModuleDict):
        return False
    return tensor_name is None or tensor_name in plist


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Replace ``module.<tensor_name>`` by ``parametrization(original)`` (PyTorch's
    ``register_parametrization``); a second call on the same name appends to the list. The
    tensor moves to ``module.parametrizations.<tensor_name>.original`` (a parameter stays a
    parameter, a buffer a buffer). Returns ``module``."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be a Module, "
                        f"got {type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is "
                         f"None; there is nothing to parametrize")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        module.parametrizations = ModuleDict()
        cls = _parametrized_class(module)
        object.__setattr__(module, "__class__", cls)
    module.parametrizations[tensor_name] = plist
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo :func:`register_parametrization` on ``tensor_name`` (PyTorch's
    ``remove_parametrizations``): ``module.<tensor_name>`` becomes a plain parameter again,
    holding the parametrized value (``leave_parametrized=True``) or the original tensor.
    When no parametrization is left the module gets its own class back."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
        if plist.is_tensor:  # the original Parameter object keeps its identity, as PyTorch
            new = plist.original
            new.data = value.numpy().copy()
        else:
            new = _parameter(value, plist.original0.requires_grad)
    else:
        if not plist.is_tensor:
            raise ValueError("remove_parametrizations: cannot leave unparametrized "
                             "(leave_parametrized=False) a tensor that is parametrized in "
                             "terms of a sequence of tensors")
        new = plist.original
    del module.parametrizations[tensor_name]
    delattr(type(module), tensor_name)
    if isinstance(new, Parameter):
        module.register_parameter(tensor_name, new)
    else:
        module.register_buffer(tensor_name, new)
    if not len(module.parametrizations):
        del module.parametrizations
        object.__setattr__(module, "__class__", type(module)._original_class)
    return module


__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "ParametrizationList"]
