"""Optimizers: SGD (with momentum and Nesterov), Adam and AdamW, with PyTorch's update rules.

``step()`` updates each parameter's ``.data`` in place from its ``.grad``, outside the graph;
parameters whose grad is None are skipped. The arithmetic is done with in-place numpy ops into
scratch buffers that are allocated once and reused, so a step allocates no parameter-sized
temporaries (no page faults from handing large arrays back to the OS and faulting them in
again). Hyper-parameters are plain attributes (``opt.lr = 1e-4`` changes the learning rate).

Weight decay, side by side (g is the gradient, p the parameter):

=========  ================================================  ==============================
SGD        g ← g + wd·p                                      = ``loss + l2_penalty(p, wd)``
Adam       g ← g + wd·p, then Adam's rescaling (coupled)     = ``loss + l2_penalty(p, wd)``
AdamW      p ← p - lr·wd·p, then Adam on g (decoupled)       equals no penalty
=========  ================================================  ==============================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ._tensor import Tensor, prepare_inplace


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return v


def _check_lr(lr: Any, where: str) -> float:
    v = _number(lr, "lr", where)
    if v < 0.0:  # (0 is allowed, as in PyTorch: a frozen phase, or a warm-up's first step)
        raise ValueError(f"{where}: lr must be >= 0, got {lr!r}")
    return v


def _check_nonneg(value: Any, name: str, where: str) -> float:
    v = _number(value, name, where)
    if v < 0.0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value!r}")
    return v


def _check_betas(betas: Any, where: str) -> tuple[float, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}") from None
    out = []
    for i, b in enumerate((b1, b2)):
        v = _number(b, f"betas[{i}]", where)
        if not 0.0 <= v < 1.0:
            raise ValueError(f"{where}: betas[{i}] must be in [0, 1), got {b!r} "
                             f"(betas={tuple(betas)!r})")
        out.append(v)
    return out[0], out[1]


class Optimizer:
    """Base class: holds the parameters, per-parameter state and scratch buffers.

    ``params``: an iterable of Tensors (leaves with a float dtype), or a Module (its
    ``parameters()`` are used). Empty, or the same tensor twice: ValueError. Subclasses define
    ``_update(p, g, state)`` and list their hyper-parameters in ``_hyper``.
    """

    _hyper: tuple[str, ...] = ()

    def __init__(self, params: Any) -> None:
        name = type(self).__name__
        if callable(getattr(params, "parameters", None)):
            params = params.parameters()
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors (or a Module), "
                            f"got a single Tensor; wrap it in a list")
        if not isinstance(params, Iterable):
            raise TypeError(f"{name}: params must be an iterable of Tensors or a Module, got "
                            f"{type(params).__name__}")
        plist = list(params)
        if not plist:
            raise ValueError(f"{name}: got an empty parameter list; there is nothing to "
                             f"optimize")
        seen: dict[int, int] = {}
        for i, p in enumerate(plist):
            if not isinstance(p, Tensor):
                hint = (" (named_parameters() gives (name, tensor) pairs: pass parameters())"
                        if isinstance(p, tuple) else "")
                raise TypeError(f"{name}: params[{i}] is a {type(p).__name__}, not a Tensor"
                                f"{hint}")
            if id(p) in seen:
                raise ValueError(f"{name}: params[{i}] is the same tensor as "
                                 f"params[{seen[id(p)]}] (shape {p.shape}); give each "
                                 f"parameter once")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: params[{i}] (shape {p.shape}) is not a leaf tensor "
                                 f"(it has grad_fn {p.grad_fn.name}); optimize the leaves")
            if p._data.dtype.kind != "f":
                raise TypeError(f"{name}: params[{i}] has dtype {p._data.dtype}; only "
                                f"floating-point tensors can be optimized")
            seen[id(p)] = i
        self.params: list[Tensor] = plist
        self.state: list[dict[str, Any]] = [{} for _ in plist]
        self._scratch: dict[np.dtype, list[np.ndarray]] = {}
        self._views: dict[tuple, list[np.ndarray]] = {}

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

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        where = type(self).__name__
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            g = g._data if isinstance(g, Tensor) else np.asarray(g)
            if g.shape != p._data.shape:
                raise ValueError(f"{where}.step: params[{i}] has shape {p._data.shape} but its "
                                 f"grad has shape {g.shape}")
            # (bumps p's version: a graph still holding the old value refuses to backward)
            self._update(prepare_inplace(p), g, self.state[i])

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------------
    def _check(self, hyper: Mapping[str, Any]) -> dict[str, Any]:
        """Validated hyper-parameters (subclasses)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """``{"hyperparams": {name: value}, "state": {"<i>": {name: array or int}}}`` with
        copies of the state arrays of parameter i (in the order the optimizer was given).
        Every leaf is a number or an array, so :func:`tinygrad_reg.save` stores it as npz."""
        return {
            "hyperparams": {k: getattr(self, k) for k in self._hyper},
            "state": {str(i): {k: (v.copy() if isinstance(v, np.ndarray) else v)
                               for k, v in st.items()}
                      for i, st in enumerate(self.state) if st},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state from :meth:`state_dict` (or from
        :func:`tinygrad_reg.load`, whose numbers come back as 0-d arrays). Everything is
        validated first (keys, parameter indices, shapes); on error nothing changes."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping) or set(state) - {"hyperparams", "state"}:
            raise ValueError(f"{where}: expected a mapping with keys 'hyperparams' and "
                             f"'state', got {state!r:.200}")
        hyper = dict(state.get("hyperparams", {}))
        unknown = set(hyper) - set(self._hyper)
        if unknown:
            raise KeyError(f"{where}: unknown hyper-parameters {sorted(unknown)}; "
                           f"{type(self).__name__} has {list(self._hyper)}")
        merged = {k: getattr(self, k) for k in self._hyper}
        merged.update({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                       for k, v in hyper.items()})
        merged = self._check(merged)
        new_state: list[dict[str, Any]] = [{} for _ in self.params]
        for key, entries in dict(state.get("state", {})).items():
            try:
                i = int(key)
            except ValueError:
                raise KeyError(f"{where}: state key {key!r} is not a parameter index") from None
            if not 0 <= i < len(self.params):
                raise KeyError(f"{where}: state for parameter {i}, but the optimizer has "
                               f"{len(self.params)} parameters")
            p = self.params[i]._data
            for name, v in dict(entries).items():
                if name not in self._state_keys:
                    raise KeyError(f"{where}: unknown state {name!r} for parameter {i}; "
                                   f"expected {list(self._state_keys)}")
                arr = np.asarray(v)
                if self._state_keys[name] == "int":
                    if arr.shape != () or arr.dtype.kind not in "iu":
                        raise ValueError(f"{where}: state {key}.{name} must be an integer, "
                                         f"got {v!r}")
                    new_state[i][name] = int(arr)
                    continue
                if arr.shape != p.shape or arr.dtype.kind != "f":
                    raise ValueError(f"{where}: state {key}.{name} has shape {arr.shape} and "
                                     f"dtype {arr.dtype}, but parameter {i} has shape "
                                     f"{p.shape} and dtype {p.dtype}")
                new_state[i][name] = arr.astype(p.dtype, copy=True)
        for k, v in merged.items():
            setattr(self, k, v)
        self.state = new_state

    _state_keys: dict[str, str] = {}

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyper)
        return f"{type(self).__name__}({len(self.params)} tensors, {hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's rules (dampening 0):

    d = g + wd·p;  with momentum μ > 0:  b = d at the first step, then b = μ·b + d;
    d = d + μ·b if nesterov else b;  p = p - lr·d.

    ``weight_decay=wd`` gives exactly the trajectory of plain SGD on ``loss +
    l2_penalty(params, wd)``. Nesterov needs momentum > 0.
    """

    _hyper = ("lr", "momentum", "nesterov", "weight_decay")
    _state_keys = {"momentum_buffer": "array"}

    def __init__(self, params: Any, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        hyper = self._check(dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                 weight_decay=weight_decay))
        super().__init__(params)
        for k, v in hyper.items():
            setattr(self, k, v)

    def _check(self, h: Mapping[str, Any]) -> dict[str, Any]:
        momentum = _check_nonneg(h["momentum"], "momentum", "SGD")
        nesterov = h["nesterov"]
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and momentum <= 0.0:
            raise ValueError(f"SGD: nesterov=True needs momentum > 0, got momentum={momentum!r}")
        return dict(lr=_check_lr(h["lr"], "SGD"), momentum=momentum, nesterov=bool(nesterov),
                    weight_decay=_check_nonneg(h["weight_decay"], "weight_decay", "SGD"))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        (s,) = self._buffers(p, 1)
        d = g
        if self.weight_decay:
            np.multiply(p, self.weight_decay, out=s)
            s += g
            d = s
        mu = self.momentum
        if mu:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = d.copy()
            else:
                b *= mu
                b += d
            if self.nesterov:  # p -= lr·(d + μ·b), as two in-place steps
                np.multiply(d, -self.lr, out=s)
                p += s
                np.multiply(b, -self.lr * mu, out=s)
                p += s
                return
            d = b
        np.multiply(d, -self.lr, out=s)
        p += s


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's rules; ``weight_decay`` is coupled (an L2 term in the
    gradient, rescaled like the rest of it — the same as ``loss + l2_penalty(params, wd)``):

    g = g + wd·p;  m = β₁·m + (1-β₁)·g;  v = β₂·v + (1-β₂)·g²;  t = t + 1;
    p = p - (lr / (1-β₁ᵗ)) · m / (√v / √(1-β₂ᵗ) + eps).
    """

    _hyper = ("lr", "betas", "eps", "weight_decay")
    _state_keys = {"step": "int", "exp_avg": "array", "exp_avg_sq": "array"}
    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        hyper = self._check(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        super().__init__(params)
        for k, v in hyper.items():
            setattr(self, k, v)

    def _check(self, h: Mapping[str, Any]) -> dict[str, Any]:
        name = type(self).__name__
        return dict(lr=_check_lr(h["lr"], name), betas=_check_betas(h["betas"], name),
                    eps=_check_nonneg(h["eps"], "eps", name),
                    weight_decay=_check_nonneg(h["weight_decay"], "weight_decay", name))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        s, u = self._buffers(p, 2)
        b1, b2 = self.betas
        lr, wd = self.lr, self.weight_decay
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        t = state["step"] = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if wd:
            if self._decoupled:
                p *= 1.0 - lr * wd
            else:
                np.multiply(p, wd, out=s)
                s += g
                g = s
        m *= b1
        np.multiply(g, 1.0 - b1, out=u)
        m += u
        v *= b2
        np.multiply(g, g, out=u)
        u *= 1.0 - b2
        v += u
        np.sqrt(v, out=u)
        u /= math.sqrt(1.0 - b2 ** t)
        u += self.eps
        np.divide(m, u, out=u)
        u *= -lr / (1.0 - b1 ** t)
        p += u


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW:
    p = p - lr·wd·p first, then the Adam step on the gradient alone. Unlike Adam's coupled
    decay, the shrinkage is not rescaled by Adam, so no penalty on the loss equals it."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]
