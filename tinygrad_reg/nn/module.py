"""Module and the containers Sequential and ModuleList (PyTorch's design); Parameter is in
:mod:`tinygrad_reg.nn.parameter`.

A Module registers every :class:`Parameter` and sub-Module assigned to one of its attributes,
in assignment order; containers name their children "0", "1", .... From that registry come
``named_parameters()`` (dotted names such as ``layers.0.weight``, which rendered graphs use as
labels), ``train()``/``eval()``, ``zero_grad()`` and the state dict. Calling a module runs its
``forward`` with the module pushed on the recording scope (what
:class:`tinygrad_reg.autograd.module_scope` does), so every op node records the modules it ran
in (a rendered graph can draw one cluster per module).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._guard import prepare_inplace
from .._tensor import Tensor, _is_dtype_name
from ..autograd.modes import GRAD as _GRAD
from ..autograd.modes import TRACE as _TRACE
from ..autograd.modes import mode as _mode
from ..autograd.modes import reset_scope as _reset_scope
from ..autograd.modes import scope as _scope
from ..autograd.modes import set_scope as _set_scope
from ..trace import watch as _watch
from .parameter import Parameter, is_lazy


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model. Subclasses call ``super().__init__()`` first,
    assign Parameters and sub-Modules as attributes, and define ``forward``; ``module(x)`` calls
    it. ``training`` is True until :meth:`eval` (it switches dropout off)."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)
        # how often an attribute (a parameter, buffer, sub-module, or a setting such as a
        # dropout rate) was assigned anew or removed: tg.jit replays a step only while this is
        # what its trace saw
        object.__setattr__(self, "_version", 0)

    # -- registration ------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        # Registered objects also live in __dict__, so reading self.weight in forward is a
        # plain attribute lookup (no __getattr__ on the hot path).
        try:
            params, modules = self.__dict__["_parameters"], self.__dict__["_modules"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning attributes in __init__") from None
        if value is not self.__dict__.get(name, self):  # (m.w *= 2 assigns m.w again)
            object.__setattr__(self, "_version", self.__dict__.get("_version", 0) + 1)
        if isinstance(value, Parameter):
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"{type(self).__name__}.{name} is a Parameter; assign a "
                                f"Parameter (or None), not a {type(value).__name__}. To change "
                                f"its values, write into .data")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}.{name} is a sub-module; assign a Module "
                                f"(or None), not a {type(value).__name__}")
            modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}.{name} is a buffer; assign a Tensor (or "
                                f"None), not a {type(value).__name__}")
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__setattr__(self, "_version", self.__dict__.get("_version", 0) + 1)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register ``tensor`` as a buffer called ``name``: state that is not a parameter (no
        gradient, not optimized), such as BatchNorm's running statistics. Persistent buffers
        are in :meth:`state_dict`, as in PyTorch. ``self.name = tensor`` later replaces it."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: name must be a non-empty string without '.', got "
                           f"{name!r}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {name!r} is already a parameter or sub-module")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: expected a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._buffers[name] = tensor
        object.__setattr__(self, "_version", self.__dict__.get("_version", 0) + 1)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # What autograd.module_scope does, inlined: this runs for every layer of every step.
        flags = _mode()
        if not flags & (_GRAD | _TRACE):  # nothing is recorded, so no scope to record
            return self.forward(*args, **kwargs)
        if flags & _TRACE:  # a tracer (tg.jit) watches every module called, op or not
            _watch(self)
        token = _set_scope(_scope().enter(self))
        try:
            return self.forward(*args, **kwargs)
        finally:
            _reset_scope(token)

    # -- traversal -----------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module, in registration order."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module (named ``prefix``, "" by default) and every
        module below it, depth first in registration order, each module once (a shared module
        under the first name it is reached by). Iterative: no recursion limit."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, each once, in the order of
        :meth:`named_modules` (without building the names: this is on the training path)."""
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield m
            if m._modules:  # most modules are leaves: skip building an empty list for them
                stack.extend(reversed([c for c in m._modules.values() if c is not None]))

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter), e.g. ``("layers.0.weight", W)``: a module's own parameters
        first, then its children's, in registration order; a shared parameter once."""
        seen: set[int] = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for every buffer, in the order of :meth:`named_modules`."""
        seen: set[int] = set()
        for mname, m in self.named_modules(prefix):
            for bname, b in m._buffers.items():
                if b is not None and id(b) not in seen:
                    seen.add(id(b))
                    yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self) -> Iterator[Tensor]:
        """Every buffer, each once."""
        for _, b in self.named_buffers():
            yield b

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, each once, in the order of :meth:`named_parameters` (without
        building the names: ``l2_penalty(model)`` calls this every step)."""
        seen: set[int] = set()
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def apply(self, fn: Any) -> Module:
        """Call ``fn(module)`` on every sub-module, children before their parent, and last on
        this module; returns self (PyTorch's ``apply``, typically an initialiser:
        ``model.apply(init_weights)``). As in PyTorch, a module reached twice (shared by two
        parents) is visited twice, but once per parent even if the parent holds it under two
        names; the walk is iterative (no recursion limit)."""
        if not callable(fn):
            raise TypeError(f"apply: fn must be callable (fn(module)), got "
                            f"{type(fn).__name__}")
        # post-order: a module is emitted after all of its children
        stack: list[tuple[Module, bool]] = [(self, False)]
        while stack:
            m, expanded = stack.pop()
            if expanded:
                fn(m)
                continue
            stack.append((m, True))
            kids = list({id(c): c for c in m.children()}.values())
            stack.extend((c, False) for c in reversed(kids))
        return self

    # -- mode and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and every
        module below it; returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"train: mode must be True or False, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): dropout passes its input through unchanged."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``, as PyTorch's default)."""
        for p in self.parameters():
            p.grad = None

    # -- state ---------------------------------------------------------------------------
    def _state_items(self) -> list[tuple[str, Tensor, bool]]:
        """(name, tensor, is_parameter) of everything in the state dict, in PyTorch's order:
        each module's parameters, then its persistent buffers, then its children's."""
        items = []
        seen: set[int] = set()
        for mname, m in self.named_modules():
            for pname, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    items.append((f"{mname}.{pname}" if mname else pname, p, True))
            for bname, b in m._buffers.items():
                if b is not None and bname not in m._non_persistent and id(b) not in seen:
                    seen.add(id(b))
                    items.append((f"{mname}.{bname}" if mname else bname, b, False))
        return items

    def state_dict(self) -> dict[str, np.ndarray]:
        """name -> a copy of the array of every parameter and persistent buffer, with
        PyTorch's keys, shapes, dtypes and order (``0.weight``, ``0.bias``,
        ``1.running_mean``, ...). A lazy module that has not run yet has no arrays: its
        entries are its :class:`~tinygrad_reg.nn.UninitializedParameter` placeholders
        themselves, as in PyTorch (``tg.save`` refuses them)."""
        return {name: (t if is_lazy(t) else t._data.copy())
                for name, t, _ in self._state_items()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``state`` (name -> array or Tensor) into the parameters and buffers, in place.

        Everything is checked before anything is written, so on any error the module is
        unchanged. KeyError: with ``strict``, a key missing from ``state`` or a key of
        ``state`` that names nothing here. ValueError: a shape that differs, or a dtype of a
        different kind (an integer array for a float parameter); float64 into a float32
        parameter (and back) is converted. Returns the missing and unexpected keys (both empty
        when ``strict``).

        A lazy module that has not run yet takes the shapes of the state it is given (its
        placeholders become Parameters of those shapes, as in PyTorch); the input of its
        first call must then fit them. An uninitialized entry of ``state`` (from a lazy model
        that never ran) loads nothing into a placeholder and is refused for an initialized
        parameter.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping name -> array, got "
                            f"{type(state).__name__}")
        own = {name: t for name, t, _ in self._state_items()}
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = []
        if strict and (missing or unexpected):
            if missing:
                problems.append(f"missing keys {missing}")
            if unexpected:
                problems.append(f"unexpected keys {unexpected}")
        arrays = {}
        for name, p in own.items():
            if name not in state:
                continue
            value = state[name]
            if is_lazy(value):
                if not is_lazy(p):
                    problems.append(f"{name!r}: the state holds an uninitialized parameter (its "
                                    f"lazy module had not run when the state was taken) but "
                                    f"the parameter here has shape {p._data.shape}; call that "
                                    f"model once on a batch before taking its state_dict()")
                continue
            arr = value._data if isinstance(value, Tensor) else np.asarray(value)
            if is_lazy(p):  # takes the state's shape
                if arr.dtype.kind != "f":
                    problems.append(f"{name!r}: the state has dtype {arr.dtype} but the "
                                    f"parameter is a float placeholder of a lazy module")
                arrays[name] = arr
                continue
            if arr.shape != p._data.shape:
                problems.append(f"{name!r}: the state has shape {arr.shape} but the parameter "
                                f"has shape {p._data.shape}")
            elif arr.dtype.kind != p._data.dtype.kind:
                problems.append(f"{name!r}: the state has dtype {arr.dtype} (shape "
                                f"{arr.shape}) but the parameter has dtype {p._data.dtype} "
                                f"(shape {p._data.shape})")
            arrays[name] = arr
        if problems:
            err = KeyError if strict and (missing or unexpected) else ValueError
            raise err(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems)
                      + ". Nothing was loaded.")
        for name, arr in arrays.items():
            if is_lazy(own[name]):
                own[name].materialize(arr.shape)
            np.copyto(prepare_inplace(own[name]), arr, casting="same_kind")
        return IncompatibleKeys(missing, unexpected)

    # -- dtype ---------------------------------------------------------------------------
    def to(self, *args: Any, dtype: Any = None, **kwargs: Any) -> Module:
        """Convert every floating-point parameter and buffer to ``dtype`` in place, as
        PyTorch's ``to`` (``"cpu"`` is accepted and changes nothing); returns self."""
        target = dtype
        for a in args:
            if isinstance(a, str) and (a == "cpu" or a.startswith("cpu:")):
                continue
            if isinstance(a, str) and not _is_dtype_name(a):
                raise ValueError(f"to: tinygrad_reg runs on the CPU with numpy; device "
                                 f"{str(a)!r} is not available (use 'cpu')")
            target = a
        kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        if target is None:
            return self
        dt = np.dtype(target)
        if dt.kind != "f":
            raise TypeError(f"to: modules convert to a float dtype, got {dt}")
        for _, t, _ in self._state_items():
            if t._data.dtype.kind == "f" and t._data.dtype != dt:
                t.data = t._data.astype(dt)
                t.grad = None
        return self

    def float(self) -> Module:
        """Every floating-point parameter and buffer to float32 (in place)."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Every floating-point parameter and buffer to float64 (in place)."""
        return self.to(np.float64)

    # -- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (layers override it)."""
        return ""

    def __repr__(self) -> str:
        kids = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in
                self.named_children()]
        extra = self.extra_repr()
        if not kids:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + kids
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


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


__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "IncompatibleKeys"]
