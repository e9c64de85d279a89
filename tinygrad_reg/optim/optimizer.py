"""The optimizer base class: parameter groups, per-parameter state, PyTorch's state_dict layout.

``step()`` updates each parameter's array in place from its ``.grad``, outside the graph
(parameters whose grad is None are skipped), and counts the write (a graph that still holds the
old value refuses to backward, see :mod:`tinygrad_reg.ops.inplace`). The arithmetic is done
with in-place numpy ops into scratch buffers that are allocated once and reused, so a step
allocates no parameter-sized temporaries.

Hyper-parameters live in ``param_groups`` (a list of dicts, each with its ``"params"``), as in
PyTorch: ``opt.param_groups[0]["lr"] = 1e-4`` takes effect at the next step, and a scheduler
changes them there. For a single group, ``opt.lr`` reads and writes the same value.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .._guard import prepare_inplace
from .._tensor import Tensor
from ..autograd import enable_grad
from ..autograd.modes import TRACE, mode
from ..nn.parameter import is_lazy
from ..trace import record, watch

# PyTorch's implementation switches: accepted in a loaded state dict at these values
_TORCH_FLAGS = {"foreach": (None, False), "capturable": (False,), "differentiable": (False,),
                "fused": (None, False), "decoupled_weight_decay": (False,)}


def _replay_update(opt: Any, p: Tensor, group: dict, g: np.ndarray) -> None:
    """One parameter's update as tg.jit replays it: the group's hyperparameters and p's state
    are read now (a scheduler may have changed the lr since the trace; the state may have
    been cleared, replaced or loaded), as :meth:`Optimizer.step` reads them."""
    state = opt.state
    st = state.get(p)
    if st is None:
        st = state[p] = {}
    opt._update(prepare_inplace(p), g, st, group)
    object.__setattr__(opt, "_opt_called", True)


def _zero_grad(p: Tensor, traced: np.ndarray) -> np.ndarray:
    """``zero_grad(set_to_none=False)`` for one parameter as tg.jit replays it: the .grad p
    holds now is zeroed in place (the array the trace zeroed is not read)."""
    g = p.grad
    if g is None:
        raise RuntimeError(f"jit: a parameter of shape {p.shape} has no .grad to zero: it was "
                           f"set to None after the step was traced with "
                           f"opt.zero_grad(set_to_none=False); call one of the two forms "
                           f"consistently")
    arr = g._data
    arr[...] = 0
    return arr


def number(value: Any, name: str, where: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return v


def nonneg(value: Any, name: str, where: str) -> float:
    v = number(value, name, where)
    if v < 0.0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value!r}")
    return v


def check_lr(lr: Any, where: str) -> float:
    v = number(lr, "lr", where)
    if v < 0.0:  # (0 is allowed, as in PyTorch: a frozen phase, or a warm-up's first step)
        raise ValueError(f"{where}: lr must be >= 0, got {lr!r}")
    return v


def flag(value: Any, name: str, where: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def unit(value: Any, name: str, where: str) -> float:
    """A number in [0, 1)."""
    v = number(value, name, where)
    if not 0.0 <= v < 1.0:
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value!r}")
    return v


class Optimizer:
    """Base class: parameter groups, per-parameter state and scratch buffers.

    ``params``: an iterable of Tensors (leaves with a float dtype), a Module (its
    ``parameters()``), or an iterable of dicts, one per group (``{"params": [...], "lr":
    ...}``), whose keys override the defaults. Empty, or one tensor twice: ValueError.
    Subclasses set ``defaults``, validate a group in ``_check(group)`` and update one
    parameter in ``_update(p, g, state, group)``; ``_state_keys`` lists their state's names.
    """

    _state_keys: dict[str, str] = {}

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        object.__setattr__(self, "defaults", dict(defaults))
        object.__setattr__(self, "param_groups", [])
        object.__setattr__(self, "state", {})
        object.__setattr__(self, "_scratch", {})
        object.__setattr__(self, "_views", {})
        object.__setattr__(self, "_opt_called", False)
        # bumped when groups are added or the state is loaded: tg.jit replays a step only
        # while this is what its trace saw
        object.__setattr__(self, "_version", 0)
        if callable(getattr(params, "parameters", None)):
            params = params.parameters()
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors (or a Module, or "
                            f"groups of them), got a single Tensor; wrap it in a list")
        if not isinstance(params, Iterable):
            raise TypeError(f"{name}: params must be an iterable of Tensors or a Module, got "
                            f"{type(params).__name__}")
        plist = list(params)
        if not plist:
            raise ValueError(f"{name}: got an empty parameter list; there is nothing to "
                             f"optimize")
        groups = plist if isinstance(plist[0], Mapping) else [{"params": plist}]
        for g in groups:
            self.add_param_group(g)

    # -- groups ----------------------------------------------------------------------------
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group: ``{"params": [...]}`` plus any hyper-parameters, the rest taken from
        the optimizer's defaults (PyTorch's ``add_param_group``)."""
        object.__setattr__(self, "_version", self._version + 1)
        name = type(self).__name__
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise TypeError(f"{name}: a parameter group is a dict with a 'params' entry, got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        if callable(getattr(params, "parameters", None)):
            params = params.parameters()
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: a parameter group with no parameters")
        seen = {id(p): (gi, i) for gi, g in enumerate(self.param_groups)
                for i, p in enumerate(g["params"])}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                hint = (" (named_parameters() gives (name, tensor) pairs: pass parameters())"
                        if isinstance(p, tuple) else "")
                raise TypeError(f"{name}: params[{i}] is a {type(p).__name__}, not a Tensor"
                                f"{hint}")
            if id(p) in seen:
                gi, j = seen[id(p)]
                where = f"params[{j}]" if gi == len(self.param_groups) else \
                    f"group {gi}'s params[{j}]"
                shape = "not known yet" if is_lazy(p) else p.shape
                raise ValueError(f"{name}: params[{i}] is the same tensor as {where} (shape "
                                 f"{shape}); give each parameter once")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: params[{i}] (shape {p.shape}) is not a leaf tensor "
                                 f"(it has grad_fn {p.grad_fn.name}); optimize the leaves")
            if p._data.dtype.kind != "f":
                raise TypeError(f"{name}: params[{i}] has dtype {p._data.dtype}; only "
                                f"floating-point tensors can be optimized")
            seen[id(p)] = (len(self.param_groups), i)
        unknown = set(param_group) - set(self.defaults) - {"params", "initial_lr", "max_lr",
                                                            "min_lr", "max_momentum",
                                                            "base_momentum"}
        if unknown:
            raise ValueError(f"{name}: unknown hyper-parameters {sorted(unknown)}; "
                             f"{name} has {sorted(self.defaults)}")
        group = {**self.defaults, **{k: v for k, v in param_group.items() if k != "params"}}
        group = {**group, **self._check(group)}
        group["params"] = params
        self.param_groups.append(group)
        self._views.clear()

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        """Validated hyper-parameters of a group (subclasses)."""
        raise NotImplementedError

    @property
    def params(self) -> list[Tensor]:
        """Every parameter, group after group."""
        return [p for g in self.param_groups for p in g["params"]]

    def __getattr__(self, name: str) -> Any:
        # opt.lr and friends: the value every group shares (PyTorch has only param_groups)
        defaults = self.__dict__.get("defaults", {})
        if name in defaults:
            values = [g[name] for g in self.__dict__["param_groups"]]
            if all(v == values[0] for v in values):
                return values[0]
            raise AttributeError(f"{type(self).__name__}.{name} differs between parameter "
                                 f"groups ({values}); read opt.param_groups[i][{name!r}]")
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__.get("defaults", {}):
            for g in self.param_groups:  # opt.lr = 0.01 sets it in every group
                g.update(self._check({**g, name: value}))
            return
        object.__setattr__(self, name, value)

    # -- the step --------------------------------------------------------------------------
    def _buffers(self, p: np.ndarray, k: int) -> list[np.ndarray]:
        """``k`` scratch arrays shaped like ``p``: views into buffers shared by all parameters
        of p's dtype, sized for the largest, allocated once (the views are cached too)."""
        key = (p.shape, p.dtype, k)
        views = self._views.get(key)
        if views is not None:
            return views
        bufs = self._scratch.setdefault(p.dtype, [])
        if len(bufs) < k or bufs[0].size < p.size:
            size = max(q._data.size for q in self.params if q._data.dtype == p.dtype)
            size = max(size, p.size)
            bufs[:] = [np.empty(size, dtype=p.dtype) for _ in range(max(k, len(bufs)))]
            self._views.clear()  # they point into the old buffers
        views = self._views[key] = [b[:p.size].reshape(p.shape) for b in bufs[:k]]
        return views

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``grad = None``, PyTorch's default), or with
        ``set_to_none=False`` fill it with zeros in place (a kernel that tg.jit replays)."""
        tracing = not set_to_none and mode() & TRACE
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    arr = p.grad._data
                    arr[...] = 0
                    if tracing:
                        record(functools.partial(_zero_grad, p), (arr,), arr,
                               ("optimizer", "zero_grad(set_to_none=False)"))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place. ``closure`` (PyTorch's: a
        function that recomputes the loss and calls backward) is run first, with grad mode
        on, and its loss returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        where = type(self).__name__
        state = self.state
        tracing = mode() & TRACE
        if tracing:  # a tracer (tg.jit) watches the optimizer's groups and state
            watch(self)
        for group in self.param_groups:
            for i, p in enumerate(group["params"]):
                g = p.grad
                if g is None:
                    continue
                g = g._data if isinstance(g, Tensor) else np.asarray(g)
                if g.shape != p._data.shape:
                    raise ValueError(f"{where}.step: params[{i}] has shape {p._data.shape} but "
                                     f"its grad has shape {g.shape}")
                st = state.get(p)
                if st is None:
                    st = state[p] = {}
                # (bumps p's version: a graph still holding the old value refuses to backward)
                self._update(prepare_inplace(p), g, st, group)
                if tracing:
                    record(functools.partial(_replay_update, self, p, group), (g,), None,
                           ("optimizer", id(self), id(p)))
        object.__setattr__(self, "_opt_called", True)
        return loss

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``{"state": {index: {name: array or number}}, "param_groups":
        [{hyper-parameters..., "params": [indices]}]}``, indices numbering the parameters
        group after group; copies of the state arrays. :func:`tinygrad_reg.save` stores it
        without pickle."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {}
        for p in self.params:
            st = self.state.get(p)
            if st:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                       for k, v in st.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state from :meth:`state_dict` (ours or
        PyTorch's layout; integer indices, as :func:`tinygrad_reg.load` gives them back).
        Everything is validated first (group sizes, indices, state names, shapes); on error
        nothing changes."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{where}: expected a mapping with keys 'state' and "
                             f"'param_groups', got {_short(state_dict)}")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: the state has {len(saved_groups)} parameter groups, "
                             f"this optimizer {len(self.param_groups)}")
        new_groups = []
        index: dict[int, Tensor] = {}
        for gi, (saved, mine) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, Mapping) or "params" not in saved:
                raise ValueError(f"{where}: param_groups[{gi}] is not a group")
            ids = [int(i) for i in saved["params"]]
            if len(ids) != len(mine["params"]):
                raise ValueError(f"{where}: param_groups[{gi}] has {len(ids)} parameters in the "
                                 f"state but {len(mine['params'])} here")
            for i, p in zip(ids, mine["params"]):
                index[i] = p
            hyper = {}
            for k, v in saved.items():
                if k == "params":
                    continue
                v = v.tolist() if isinstance(v, np.ndarray) else v
                if k in _TORCH_FLAGS:
                    if v not in _TORCH_FLAGS[k]:
                        raise ValueError(f"{where}: PyTorch option {k}={v!r} is not supported")
                    continue
                if k not in self.defaults and k not in ("initial_lr", "max_lr", "min_lr",
                                                        "max_momentum", "base_momentum"):
                    raise KeyError(f"{where}: unknown hyper-parameter {k!r}; "
                                   f"{type(self).__name__} has {sorted(self.defaults)}")
                hyper[k] = tuple(v) if isinstance(v, list) else v
            merged = {**{k: v for k, v in mine.items() if k != "params"}, **hyper}
            merged = {**merged, **self._check(merged)}
            new_groups.append(merged)
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, entries in dict(state_dict["state"]).items():
            try:
                i = int(key)
            except (TypeError, ValueError):
                raise KeyError(f"{where}: state key {key!r} is not a parameter index") from None
            if i not in index:
                raise KeyError(f"{where}: state for parameter {i}, which no group lists")
            p = index[i]._data
            st = {}
            for name, v in dict(entries).items():
                kind = self._state_keys.get(name)
                if kind is None:
                    raise KeyError(f"{where}: unknown state {name!r} for parameter {i}; "
                                   f"expected {sorted(self._state_keys)}")
                arr = np.asarray(v._data if isinstance(v, Tensor) else v)
                if kind == "step":
                    if arr.shape != () or arr.dtype.kind not in "iuf" or arr != np.floor(arr):
                        raise ValueError(f"{where}: state {i}.{name} must be a whole number, "
                                         f"got {v!r}")
                    st[name] = int(arr)
                    continue
                if arr.shape != p.shape or arr.dtype.kind != "f":
                    raise ValueError(f"{where}: state {i}.{name} has shape {arr.shape} and "
                                     f"dtype {arr.dtype}, but parameter {i} has shape "
                                     f"{p.shape} and dtype {p.dtype}")
                st[name] = arr.astype(p.dtype, copy=True)
            new_state[index[i]] = st
        for g, merged in zip(self.param_groups, new_groups):
            g.update(merged)
        object.__setattr__(self, "state", new_state)
        object.__setattr__(self, "_version", self._version + 1)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params")
        return "\n".join(lines + [")"])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


__all__ = ["Optimizer"]
