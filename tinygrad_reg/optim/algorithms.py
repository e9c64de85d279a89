"""The update rules, PyTorch's algorithms (g is the gradient, negated first with
``maximize``; p the parameter; wd the weight decay):

=========  ==============================================================================
SGD        g += wd·p;  with momentum μ: b = g at the first step, then b = μ·b + (1 - dampening)·g;
           g = g + μ·b (nesterov) or b;  p -= lr·g
Adam       g += wd·p (coupled: the same as ``loss + l2_penalty(p, wd)``);  t += 1;
           m = β₁·m + (1-β₁)·g;  v = β₂·v + (1-β₂)·g²  (amsgrad: v̂ = max(v̂, v));
           p -= lr/(1-β₁ᵗ) · m / (√v / √(1-β₂ᵗ) + eps)
AdamW      p -= lr·wd·p (decoupled: no penalty on the loss equals it), then Adam on g
RMSprop    g += wd·p;  s = α·s + (1-α)·g²;  centered: a = α·a + (1-α)·g, d = √(s - a²) + eps,
           else d = √s + eps;  with momentum μ: b = μ·b + g/d, p -= lr·b;  else p -= lr·g/d
Adagrad    t += 1;  g += wd·p;  lr_t = lr / (1 + (t-1)·lr_decay);  S += g²;
           p -= lr_t · g / (√S + eps)
=========  ==============================================================================

Each keeps PyTorch's state names (``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``,
``max_exp_avg_sq``, ``square_avg``, ``grad_avg``, ``sum``, ``step``), so a state dict reads
the same in both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, check_lr, flag, nonneg, number, unit


def _grad(g: np.ndarray, p: np.ndarray, group: dict, s: np.ndarray) -> np.ndarray:
    """g with maximize's sign and the coupled weight decay, into scratch ``s`` if it
    changes."""
    wd = group["weight_decay"]
    if group["maximize"]:
        np.negative(g, out=s)
        g = s
    if wd:
        if g is s:
            s += p * wd
        else:
            np.multiply(p, wd, out=s)
            s += g
        g = s
    return g


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's rule (see the module doc): ``lr``,
    ``momentum=0``, ``dampening=0``, ``weight_decay=0``, ``nesterov=False``,
    ``maximize=False``. ``weight_decay=wd`` gives exactly the trajectory of plain SGD on
    ``loss + l2_penalty(params, wd)``. Nesterov needs momentum > 0 and dampening 0."""

    _state_keys = {"momentum_buffer": "array"}

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check(self, h: dict[str, Any]) -> dict[str, Any]:
        momentum = nonneg(h["momentum"], "momentum", "SGD")
        dampening = number(h["dampening"], "dampening", "SGD")
        nesterov = flag(h["nesterov"], "nesterov", "SGD")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening 0, got "
                             f"momentum={momentum!r}, dampening={dampening!r}")
        return dict(lr=check_lr(h["lr"], "SGD"), momentum=momentum, dampening=dampening,
                    nesterov=nesterov,
                    weight_decay=nonneg(h["weight_decay"], "weight_decay", "SGD"),
                    maximize=flag(h["maximize"], "maximize", "SGD"))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        mu, lr = group["momentum"], group["lr"]
        (s,) = self._buffers(p, 1)
        if not (mu or group["weight_decay"] or group["maximize"]):  # plain: p -= lr·g
            np.multiply(g, -lr, out=s)
            p += s
            return
        d = _grad(g, p, group, s)
        if mu:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = d.copy()
            else:
                b *= mu
                damp = group["dampening"]
                if damp:
                    b += d * (1.0 - damp)
                else:
                    b += d
            if group["nesterov"]:  # p -= lr·(d + μ·b), as two in-place steps
                np.multiply(d, -lr, out=s)
                p += s
                np.multiply(b, -lr * mu, out=s)
                p += s
                return
            d = b
        np.multiply(d, -lr, out=s)
        p += s


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's rule (see the module doc): ``lr=1e-3``,
    ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0`` (coupled: an L2 term in the
    gradient, rescaled like the rest of it, the same as ``loss + l2_penalty(params, wd)``),
    ``amsgrad=False``, ``maximize=False``."""

    _state_keys = {"step": "step", "exp_avg": "array", "exp_avg_sq": "array",
                   "max_exp_avg_sq": "array"}
    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _check(self, h: dict[str, Any]) -> dict[str, Any]:
        name = type(self).__name__
        try:
            b1, b2 = h["betas"]
        except (TypeError, ValueError):
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got "
                             f"{h['betas']!r}") from None
        return dict(lr=check_lr(h["lr"], name),
                    betas=(unit(b1, "betas[0]", name), unit(b2, "betas[1]", name)),
                    eps=nonneg(h["eps"], "eps", name),
                    weight_decay=nonneg(h["weight_decay"], "weight_decay", name),
                    amsgrad=flag(h["amsgrad"], "amsgrad", name),
                    maximize=flag(h["maximize"], "maximize", name))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        s, u = self._buffers(p, 2)
        b1, b2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        t = state["step"] = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if self._decoupled and wd:
            p *= 1.0 - lr * wd
        if group["maximize"]:
            np.negative(g, out=s)
            g = s
        if wd and not self._decoupled:
            if g is s:
                s += p * wd
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
        if group["amsgrad"]:
            vmax = state.setdefault("max_exp_avg_sq", np.zeros_like(p))
            np.maximum(vmax, v, out=vmax)
            v = vmax
        np.sqrt(v, out=u)
        u /= math.sqrt(1.0 - b2 ** t)
        u += group["eps"]
        np.divide(m, u, out=u)
        u *= -lr / (1.0 - b1 ** t)
        p += u


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW
    (``weight_decay=1e-2``): p = p - lr·wd·p first, then the Adam step on the gradient alone.
    Unlike Adam's coupled decay, the shrinkage is not rescaled by Adam, so no penalty on the
    loss equals it."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop with PyTorch's rule (see the module doc): ``lr=1e-2``, ``alpha=0.99``,
    ``eps=1e-8``, ``weight_decay=0``, ``momentum=0``, ``centered=False``,
    ``maximize=False``."""

    _state_keys = {"step": "step", "square_avg": "array", "momentum_buffer": "array",
                   "grad_avg": "array"}

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check(self, h: dict[str, Any]) -> dict[str, Any]:
        alpha = nonneg(h["alpha"], "alpha", "RMSprop")
        if alpha > 1.0:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {h['alpha']!r}")
        return dict(lr=check_lr(h["lr"], "RMSprop"), alpha=alpha,
                    eps=nonneg(h["eps"], "eps", "RMSprop"),
                    weight_decay=nonneg(h["weight_decay"], "weight_decay", "RMSprop"),
                    momentum=nonneg(h["momentum"], "momentum", "RMSprop"),
                    centered=flag(h["centered"], "centered", "RMSprop"),
                    maximize=flag(h["maximize"], "maximize", "RMSprop"))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        s, u = self._buffers(p, 2)
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        g = _grad(g, p, group, s)
        alpha = group["alpha"]
        sq = state["square_avg"]
        sq *= alpha
        np.multiply(g, g, out=u)
        u *= 1.0 - alpha
        sq += u
        if group["centered"]:
            ga = state.setdefault("grad_avg", np.zeros_like(p))
            ga *= alpha
            ga += g * (1.0 - alpha)
            np.multiply(ga, ga, out=u)
            np.subtract(sq, u, out=u)
            np.sqrt(u, out=u)
        else:
            np.sqrt(sq, out=u)
        u += group["eps"]
        np.divide(g, u, out=u)  # g / avg
        lr = group["lr"]
        if group["momentum"] > 0:
            b = state.setdefault("momentum_buffer", np.zeros_like(p))
            b *= group["momentum"]
            b += u
            np.multiply(b, -lr, out=u)
        else:
            u *= -lr
        p += u


class Adagrad(Optimizer):
    """Adagrad with PyTorch's rule (see the module doc): ``lr=1e-2``, ``lr_decay=0``,
    ``weight_decay=0``, ``initial_accumulator_value=0``, ``eps=1e-10``, ``maximize=False``."""

    _state_keys = {"step": "step", "sum": "array"}

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _check(self, h: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=check_lr(h["lr"], "Adagrad"),
                    lr_decay=nonneg(h["lr_decay"], "lr_decay", "Adagrad"),
                    weight_decay=nonneg(h["weight_decay"], "weight_decay", "Adagrad"),
                    initial_accumulator_value=nonneg(h["initial_accumulator_value"],
                                                     "initial_accumulator_value", "Adagrad"),
                    eps=nonneg(h["eps"], "eps", "Adagrad"),
                    maximize=flag(h["maximize"], "maximize", "Adagrad"))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        s, u = self._buffers(p, 2)
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
        t = state["step"] = state["step"] + 1
        g = _grad(g, p, group, s)
        clr = group["lr"] / (1.0 + (t - 1) * group["lr_decay"])
        acc = state["sum"]
        np.multiply(g, g, out=u)
        acc += u
        np.sqrt(acc, out=u)
        u += group["eps"]
        np.divide(g, u, out=u)
        u *= -clr
        p += u


__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]
