"""Module (PyTorch's design); the containers (Sequential, ModuleList, ModuleDict,
ParameterList, ParameterDict) are in :mod:`tinygrad_reg.nn.containers`, Parameter in
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

from collections.abc import Iterator, Mapping
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

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module (named ``prefix``, "" by default) and every
        module below it, depth first in registration order (PyTorch's signature). A module
        reached twice (shared by two parents) comes once, under the first name it is reached
        by, unless ``remove_duplicate=False``, which gives every path (as state dicts
        list them); ``memo``, a set of modules, is filled as they are given and those already
        in it are skipped. Iterative: no recursion limit."""
        seen: set[int] | None = None
        if remove_duplicate:
            seen = {id(m) for m in memo} if memo is not None else set()
        stack: list[tuple[str, Module, tuple]] = [(prefix, self, ())]
        while stack:
            name, m, path = stack.pop()
            if seen is not None:
                if id(m) in seen:
                    continue
                seen.add(id(m))
                if memo is not None:
                    memo.add(m)
            elif id(m) in path:
                raise RuntimeError(f"named_modules: the module {name!r} "
                                   f"({type(m).__name__}) contains itself; a module cannot be "
                                   f"its own descendant")
            yield name, m
            below = path + (id(m),) if seen is None else path
            kids = [(f"{name}.{k}" if name else k, c, below) for k, c in m.named_children()]
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

    def _named_members(self, kind: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        """(dotted name, member) of the ``_parameters`` or ``_buffers`` (``kind``) of this
        module (and, with ``recurse``, of every module below), as PyTorch's
        ``_named_members``: with ``remove_duplicate`` each tensor once, under its first
        name; without, every name of every path."""
        seen: set[int] = set()
        walk = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                if recurse else [(prefix, self)])
        for mname, m in walk:
            for key, t in getattr(m, kind).items():
                if t is None or id(t) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(t))
                yield (f"{mname}.{key}" if mname else key), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter), e.g. ``("layers.0.weight", W)``: a module's own parameters
        first, then its children's, in registration order; a shared (tied) parameter once,
        under its first name, unless ``remove_duplicate=False``. ``recurse=False``: this
        module's own parameters only. ``prefix`` is put before every name."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for every buffer, in the order of :meth:`named_modules`;
        ``prefix``, ``recurse`` and ``remove_duplicate`` as :meth:`named_parameters`."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer, each once (``recurse=False``: this module's own)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, each once, in the order of :meth:`named_parameters` (without
        building the names: ``l2_penalty(model)`` calls this every step);
        ``recurse=False``: this module's own."""
        seen: set[int] = set()
        for m in (self.modules() if recurse else (self,)):
            for p in m._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` (or None) as the child ``name``: ``self.name = module`` for a
        name that is not a valid attribute (PyTorch's ``add_module``; also
        ``register_module``)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"add_module: the name must be a non-empty string without '.', got "
                           f"{name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        if hasattr(type(self), name) or (name in self.__dict__ and name not in self._modules):
            raise KeyError(f"add_module: attribute {name!r} already exists")
        if module is not None:
            setattr(self, name, module)
        else:
            object.__setattr__(self, "_version", self.__dict__.get("_version", 0) + 1)
            self._modules[name] = None
            object.__setattr__(self, name, None)

    register_module = add_module

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a Parameter, or None) under ``name`` (PyTorch's
        ``register_parameter``)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_parameter: the name must be a non-empty string without "
                           f"'.', got {name!r}")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign a {type(param).__name__} as "
                            f"parameter {name!r} (a Parameter or None is required)")
        if name in self._modules or name in self._buffers or (
                name in self.__dict__ and name not in self._parameters):
            raise KeyError(f"register_parameter: attribute {name!r} already exists")
        if param is None:
            object.__setattr__(self, "_version", self.__dict__.get("_version", 0) + 1)
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path ``target`` ("" is this module), as PyTorch's
        ``get_submodule``."""
        m: Module = self
        for part in target.split(".") if target else []:
            child = m._modules.get(part)
            if child is None:
                raise AttributeError(f"get_submodule: {type(m).__name__} has no submodule "
                                     f"{part!r} (looking for {target!r})")
            m = child
        return m

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

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter (``requires_grad_(False)`` freezes the
        module: the engine gives its parameters no gradient and optimizers skip them);
        returns self, as PyTorch's."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad_: expected True or False, got {requires_grad!r}")
        for p in self.parameters():
            p.requires_grad_(bool(requires_grad))
        return self

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``, as PyTorch's default)."""
        for p in self.parameters():
            p.grad = None

    # -- state ---------------------------------------------------------------------------
    def _state_items(self) -> list[tuple[str, Tensor, bool]]:
        """(name, tensor, is_parameter) of everything in the state dict, in PyTorch's order:
        each module's parameters, then its persistent buffers, then its children's. Every
        path is listed, as PyTorch's state dicts do: a tied weight (``lm_head.weight =
        wte.weight``) or a module shared by two parents appears under each of its names."""
        items = []
        for mname, m in self.named_modules(remove_duplicate=False):
            for pname, p in m._parameters.items():
                if p is not None:
                    items.append((f"{mname}.{pname}" if mname else pname, p, True))
            for bname, b in m._buffers.items():
                if b is not None and bname not in m._non_persistent:
                    items.append((f"{mname}.{bname}" if mname else bname, b, False))
        return items

    def state_dict(self) -> dict[str, np.ndarray]:
        """name -> a copy of the array of every parameter and persistent buffer, with
        PyTorch's keys, shapes, dtypes and order (``0.weight``, ``0.bias``,
        ``1.running_mean``, ...); a tensor registered under several names (tied weights) is
        under each of them, as in PyTorch, and :meth:`load_state_dict` expects them all. A
        lazy module that has not run yet has no arrays: its
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


__all__ = ["Module", "Parameter", "IncompatibleKeys"]
