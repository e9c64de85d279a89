"""Containers: modules that hold other modules or parameters and register them under
names, so that ``parameters()``, ``state_dict()`` and optimizers see them (a plain Python list
or dict is not registered). As PyTorch's: :class:`Sequential` and :class:`ModuleList` name
their children "0", "1", ...; :class:`ModuleDict` and :class:`ParameterDict` use the keys;
:class:`ParameterList` names its parameters "0", "1", ...
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .._tensor import Tensor
from .module import Module
from .parameter import Parameter


def _check_module(m: Any, where: str) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{where}: expected a Module, got {type(m).__name__}")
    return m


class ModuleList(Module):
    """A list of modules, registered as children "0", "1", ... (a plain Python list is not
    registered: its parameters would be invisible to optimizers and state dicts)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _items(self) -> list[Module]:
        return list(self._modules.values())

    def _reset(self, items: list[Module]) -> None:
        for k in list(self._modules):
            object.__delattr__(self, k)
        self._modules.clear()
        object.__setattr__(self, "_version", self._version + 1)
        for i, m in enumerate(items):
            setattr(self, str(i), m)

    def _index(self, i: int) -> int:
        n = len(self._modules)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"{type(self).__name__} indices must be integers or slices, got "
                            f"{type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__} index {i} is out of range for length {n}")
        return int(i) % n

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self._modules)), _check_module(module, "append"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = self._items()
        items.insert(index, _check_module(module, "insert"))
        self._reset(items)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return type(self)(self._items()[i])
        return self._items()[self._index(i)]

    def __setitem__(self, i: int, module: Module) -> None:
        setattr(self, str(self._index(i)), _check_module(module, "__setitem__"))

    def __delitem__(self, i: int | slice) -> None:
        items = self._items()
        if isinstance(i, slice):
            del items[i]
        else:
            del items[self._index(i)]
        self._reset(items)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward: iterate over it in your "
                                  "module's forward, or use Sequential")


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(Linear(200, 100), ReLU(), ...)(x)``.
    Children are named "0", "1", ...; indexing, slicing (a new Sequential sharing the
    modules), ``len``, iteration and ``append`` work as for a list."""

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return Sequential(*self._items()[i])
        return self._items()[self._index(i)]

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x


def _pairs(what: str, items: Any) -> list[tuple[str, Any]]:
    """(key, value) pairs of a mapping or of an iterable of pairs (``update``'s argument)."""
    if isinstance(items, Mapping) or (isinstance(items, Module) and hasattr(items, "items")):
        return list(items.items())  # (a ModuleDict or ParameterDict too)
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{what}.update: expected a mapping or an iterable of (key, value) "
                        f"pairs, got {type(items).__name__}")
    pairs = []
    for i, kv in enumerate(items):
        if not isinstance(kv, (tuple, list)) or len(kv) != 2:
            raise TypeError(f"{what}.update: element {i} of the iterable should be a "
                            f"(key, value) pair, got {kv!r}")
        pairs.append((kv[0], kv[1]))
    return pairs


def _key(what: str, owner: Module, key: Any) -> str:
    """``key`` checked as a name to register under (PyTorch's messages)."""
    if not isinstance(key, str):
        raise TypeError(f"{what}: keys must be strings, got {type(key).__name__} {key!r}")
    if "." in key:
        raise KeyError(f"{what}: module name can't contain \".\", got: {key}")
    if not key:
        raise KeyError(f"{what}: module name can't be empty string \"\"")
    if hasattr(type(owner), key):
        raise KeyError(f"{what}: attribute {key!r} already exists (a method of {what}); "
                       f"choose another key")
    return key


class ModuleDict(Module):
    """Modules held under string keys, each registered as the child of that name (PyTorch's
    ``nn.ModuleDict``): ``d["wte"]`` and ``d.wte`` give the same module, in insertion order
    for iteration (over the keys), ``keys()``, ``values()``, ``items()``, ``update()``,
    ``pop()`` and ``clear()``."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(_key("ModuleDict", self, key), _check_module(module, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        self[key]  # (KeyError for a missing key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def update(self, modules: Any) -> None:
        """Add (or replace) the modules of a mapping or of (key, module) pairs, in order."""
        for key, module in _pairs("ModuleDict", modules):
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward: call its modules in your "
                                  "module's forward")


def _as_parameter(what: str, value: Any) -> Any:
    """A Tensor that is not a Parameter becomes one (PyTorch's ParameterList and
    ParameterDict do the same); a Parameter or any other object is kept as it is."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _repr_parameters(owner: Module, items: Iterable[tuple[Any, Any]]) -> str:
    """PyTorch's repr of a ParameterList or ParameterDict: one line per entry."""
    lines = [f"    ({k}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
             if isinstance(p, Tensor) else f"    ({k}): {p!r}" for k, p in items]
    return f"{type(owner).__name__}(" + ("\n" + "\n".join(lines) + "\n" if lines else "") + ")"


class ParameterList(Module):
    """Parameters in a list, registered as "0", "1", ... (PyTorch's ``nn.ParameterList``):
    ``append``, ``extend``, indexing (a slice gives a new ParameterList of the same
    parameters), assignment, ``len`` and iteration. A Tensor that is not a Parameter is
    made one."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def _index(self, i: Any) -> int:
        n = self._size
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"ParameterList indices must be integers or slices, got "
                            f"{type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"ParameterList index {i} is out of range for length {n}")
        return int(i) % n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return ParameterList([self[k] for k in range(self._size)[i]])
        return getattr(self, str(self._index(i)))

    def __setitem__(self, i: Any, value: Any) -> None:
        setattr(self, str(self._index(i)), _as_parameter("ParameterList", value))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter([self[k] for k in range(self._size)])

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        n = self._size
        object.__setattr__(self, "_size", n + 1)
        setattr(self, str(n), _as_parameter("ParameterList", value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got "
                            f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def __repr__(self) -> str:
        return _repr_parameters(self, enumerate(self))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterList has no forward: use its parameters in your "
                                  "module's forward")


class ParameterDict(Module):
    """Parameters under string keys (PyTorch's ``nn.ParameterDict``): ``d["scale"]`` and
    ``d.scale`` give the same Parameter; iteration over the keys, ``keys()``, ``values()``,
    ``items()``, ``update()``, ``pop()``, ``clear()``. A Tensor that is not a Parameter is
    made one."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(f"ParameterDict has no key {key!r}; keys: {list(self._keys)}")
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._keys[_key("ParameterDict", self, key)] = None
        setattr(self, key, _as_parameter("ParameterDict", value))

    def __delitem__(self, key: str) -> None:
        self[key]
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> list[str]:
        return list(self._keys)

    def values(self) -> list[Any]:
        return [self[k] for k in self._keys]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self._keys]

    def update(self, parameters: Any) -> None:
        """Add (or replace) the parameters of a mapping or of (key, value) pairs: in order
        for pairs, an OrderedDict or a ParameterDict, in sorted key order for another
        mapping (as PyTorch's ``ParameterDict.update``)."""
        pairs = _pairs("ParameterDict", parameters)
        if isinstance(parameters, Mapping) and not isinstance(parameters, (OrderedDict,
                                                                         ParameterDict)):
            pairs.sort(key=lambda kv: kv[0])
        for key, value in pairs:
            self[key] = value

    def pop(self, key: str) -> Any:
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def __repr__(self) -> str:
        return _repr_parameters(self, self.items())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterDict has no forward: use its parameters in your "
                                  "module's forward")


__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
