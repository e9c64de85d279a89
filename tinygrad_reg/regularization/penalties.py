"""Penalties as graph ops: L1, L2 and elastic net on weights, L1 and L2 on activations.

Each is ONE node over all the tensors it covers (not a chain of squares and sums), and carries
its coefficients as attributes, so the data path and the penalty path visibly join at the
loss, and :func:`~tinygrad_reg.regularization.penalty_breakdown` can find it. Each backward is
written in Tensor ops, so second derivatives work.

Which tensors a penalty covers: given a Tensor or a plain list of Tensors, exactly those.
Given a Module, or ``named_parameters()`` pairs, its *weights*: every parameter except
biases (a name ending in ``bias``), one-dimensional parameters, and the parameters of
normalization layers (BatchNorm, LayerNorm, GroupNorm), as weight decay is usually set up
(penalizing a bias or a normalization scale constrains nothing useful). To penalize others,
pass the list yourself, e.g. ``l2_penalty(list(model.parameters()), lam)``;
:func:`penalized_parameters` gives the default list to start from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from ..ops import jit_rules
from ..ops.jit_rules import Lowered
from ..ops.kinds import ops_of_kind

# -- penalties ---------------------------------------------------------------------------


def _save_needed(ctx, ws: tuple) -> None:
    """Save each weight whose gradient is needed (its gradient reads it); None for the rest."""
    need = ctx.needs_input_grad
    if need:
        ctx.save_for_backward(*[w if n else None for w, n in zip(ws, need)])


class L2Penalty(Function):
    """out = (lam/2) · Σ_i ‖W_i‖²  over all inputs W_i (Frobenius norms).

    dW_i = grad · lam · W_i — exactly lam·W for grad = 1, the term PyTorch's SGD adds for
    ``weight_decay=lam``. One node over all inputs; the output has their common dtype.
    """
    kind = "penalty"

    @staticmethod
    def forward(ctx, *ws, lam):
        _save_needed(ctx, ws)
        dtype = np.result_type(*ws)
        total = 0.0
        for w in ws:
            total += np.vdot(w, w)  # BLAS dot: no squared temporary
        return np.asarray(total * (lam / 2.0), dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        s = grad * ctx.attrs["lam"]
        return tuple(s * w if need else None
                     for w, need in zip(ctx.saved_tensors, ctx.needs_input_grad, strict=True))

    @staticmethod
    @jit_rules.assigning
    def lower(ins, out, attrs):
        # forward: total = 0.0; total += np.vdot(w, w) for each w; asarray(total * (lam / 2.0))
        total = "0.0" + "".join(f" + vdot({{i{k}}}, {{i{k}}})" for k in range(len(ins)))
        return Lowered((f"{{o}} = asarray(({total}) * {{c0}}, {{c1}})",),
                       consts=(attrs["lam"] / 2.0, np.result_type(*ins)), assigns=True)


class L1Penalty(Function):
    """out = lam · Σ_i Σ |W_i|  over all inputs W_i.

    dW_i = grad · lam · sign(W_i), with the convention sign(0) = 0 (an exact zero weight gets
    no push). sign is piecewise constant, so the second derivative is 0 away from 0.
    """
    kind = "penalty"

    @staticmethod
    def forward(ctx, *ws, lam):
        _save_needed(ctx, ws)
        dtype = np.result_type(*ws)
        total = 0.0
        for w in ws:
            total += np.abs(w).sum()
        return np.asarray(total * lam, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        s = grad * ctx.attrs["lam"]
        return tuple(s * w.sign() if need else None
                     for w, need in zip(ctx.saved_tensors, ctx.needs_input_grad, strict=True))


class ElasticNetPenalty(Function):
    """out = l1 · Σ_i Σ |W_i| + (l2/2) · Σ_i ‖W_i‖², i.e. l1_penalty(l1) + l2_penalty(l2).

    dW_i = grad · (l1 · sign(W_i) + l2 · W_i), sign(0) = 0. (scikit-learn's ElasticNet
    writes the same objective as alpha·(l1_ratio·Σ|W| + (1 - l1_ratio)/2·ΣW²).)
    """
    kind = "penalty"

    @staticmethod
    def forward(ctx, *ws, l1, l2):
        _save_needed(ctx, ws)
        dtype = np.result_type(*ws)
        total1 = total2 = 0.0
        for w in ws:
            total1 += np.abs(w).sum()
            total2 += np.vdot(w, w)
        return np.asarray(total1 * l1 + total2 * (l2 / 2.0), dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        s1 = grad * ctx.attrs["l1"]
        s2 = grad * ctx.attrs["l2"]
        return tuple(s2 * w + s1 * w.sign() if need else None
                     for w, need in zip(ctx.saved_tensors, ctx.needs_input_grad, strict=True))


class ActivityL1(Function):
    """out = (lam / N) · Σ |x| for activations x of N examples (dim 0): lam times the mean
    over the batch of each example's L1 norm (Keras's activity regularizer, which divides by
    the batch size too).   dx = grad · (lam / N) · sign(x), sign(0) = 0."""
    kind = "penalty"

    @staticmethod
    def forward(ctx, x, lam, batch):
        ctx.save_for_backward(x)
        return np.asarray(np.abs(x).sum() * (lam / batch), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (ctx.attrs["lam"] / ctx.attrs["batch"]) * x.sign()


class ActivityL2(Function):
    """out = (lam / 2N) · Σ x² for activations x of N examples: lam/2 times the mean over the
    batch of each example's squared L2 norm (the ½ as in :class:`L2Penalty`).
    dx = grad · (lam / N) · x."""
    kind = "penalty"

    @staticmethod
    def forward(ctx, x, lam, batch):
        ctx.save_for_backward(x)
        return np.asarray(np.vdot(x, x) * (lam / (2.0 * batch)), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (ctx.attrs["lam"] / ctx.attrs["batch"]) * x


def _coefficient(value: Any, name: str, fn: str) -> float:
    """A penalty coefficient as a finite float >= 0, or ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {value!r}")
    return v


def _is_weight(name: str, t: Tensor) -> bool:
    return t._data.ndim >= 2 and not name.rsplit(".", 1)[-1].endswith("bias")


def penalized_parameters(module: Any) -> list[Tensor]:
    """The parameters a penalty (or :func:`~tinygrad_reg.regularization.max_norm_`) covers
    when given ``module``, each once: all but biases, one-dimensional parameters and the
    parameters of normalization layers (modules that set ``is_normalization = True``:
    BatchNorm, LayerNorm, GroupNorm). Accepts a Module, ``named_parameters()`` pairs, or any
    object with ``parameters()`` (then: the parameters with two or more dims)."""
    chosen: list[Tensor] = []
    seen: set[int] = set()

    def take(name: str, t: Any) -> None:
        if isinstance(t, Tensor) and id(t) not in seen and _is_weight(name, t):
            seen.add(id(t))
            chosen.append(t)

    if callable(getattr(module, "modules", None)) and hasattr(module, "_parameters"):
        # one walk over the modules (this runs at every step that adds a penalty)
        mods = list(module.modules())
        for m in mods:
            if getattr(m, "is_normalization", False):
                seen.update(id(t) for t in m._parameters.values())
        for m in mods:
            for name, t in m._parameters.items():
                if t is not None:
                    take(name, t)
    elif callable(getattr(module, "named_modules", None)):
        skip = set()
        for _, m in module.named_modules():
            if getattr(m, "is_normalization", False):
                skip.update(id(t) for t in m.parameters())
        for name, t in module.named_parameters():
            if id(t) not in skip:
                take(name, t)
    elif callable(getattr(module, "named_parameters", None)):
        for name, t in module.named_parameters():
            take(name, t)
    elif callable(getattr(module, "parameters", None)):
        for t in module.parameters():
            take("", t)
    else:  # (name, tensor) pairs
        for item in module:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise TypeError(f"penalized_parameters: expected a Module or (name, Tensor) "
                                f"pairs, got an item {type(item).__name__}")
            take(*item)
    return chosen


def _weights(params: Any, fn: str) -> tuple[Tensor, ...]:
    """The tensors a penalty covers: a Tensor itself; a Module or (name, Tensor) pairs:
    :func:`penalized_parameters`; an iterable of Tensors: exactly those."""
    if isinstance(params, Tensor):
        found: tuple = (params,)
    elif callable(getattr(params, "parameters", None)) or \
            callable(getattr(params, "named_parameters", None)):
        found = tuple(penalized_parameters(params))
        if not found:
            raise ValueError(f"{fn}: the module {type(params).__name__} has no weights to "
                             f"penalise (biases, 1-D and normalization parameters are skipped); "
                             f"pass tensors explicitly to penalise those")
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes, np.ndarray)):
        items = list(params)
        if not items:
            raise ValueError(f"{fn}: params is empty; there is nothing to penalise")
        if all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in items):
            found = tuple(penalized_parameters(items))  # named_parameters() pairs
            if not found:
                raise ValueError(f"{fn}: the named parameters hold no weights to penalise "
                                 f"(biases and 1-D parameters are skipped); pass tensors "
                                 f"explicitly to penalise those")
        else:
            for i, t in enumerate(items):
                if not isinstance(t, Tensor):
                    raise TypeError(f"{fn}: params[{i}] is a {type(t).__name__}, not a Tensor")
            found = tuple(items)
    else:
        raise TypeError(f"{fn}: params must be a Tensor, an iterable of Tensors, "
                        f"named_parameters() pairs or a Module, got {type(params).__name__}")
    for t in found:
        if t._data.dtype.kind != "f":
            raise TypeError(f"{fn}: can only penalise floating-point tensors, got one of "
                            f"dtype {t._data.dtype} and shape {t.shape}")
    return found


def l2_penalty(params: Any, lam: float) -> Tensor:
    """(lam/2) · ΣW² over ``params`` (a Tensor or an iterable of Tensors: exactly those; a
    Module or ``named_parameters()`` pairs: its weights, without biases and normalization
    parameters, see :func:`penalized_parameters`), as one L2Penalty node. Gradient: lam · W.

    The tutorial's cost ``J + λ/(2m)·ΣW²`` is ``loss + l2_penalty(model, lam=λ/m)``;
    ``l2_penalty(params, lam)`` equals PyTorch's coupled ``weight_decay=lam`` of SGD (and of
    Adam), not AdamW's decoupled decay; Keras's ``l2(x)`` (x·ΣW², no ½) is ``lam = 2x``.
    lam < 0 or non-finite: ValueError.
    """
    lam = _coefficient(lam, "lam", "l2_penalty")
    return L2Penalty.apply(*_weights(params, "l2_penalty"), lam=lam)


def l1_penalty(params: Any, lam: float) -> Tensor:
    """lam · Σ|W| over ``params`` (as for :func:`l2_penalty`), as one L1Penalty node.
    Gradient: lam · sign(W), 0 at exactly 0. Keras's ``l1(x)`` is ``lam = x``."""
    lam = _coefficient(lam, "lam", "l1_penalty")
    return L1Penalty.apply(*_weights(params, "l1_penalty"), lam=lam)


def _activations(x: Any, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(f"{fn}: expected floating-point activations, got dtype {x._data.dtype}")
    if x.ndim == 0:
        raise ValueError(f"{fn}: expected activations with a batch dim (N, ...), got a scalar")
    if x.shape[0] == 0:
        raise ValueError(f"{fn}: the batch is empty (shape {x.shape})")
    return x


def activity_l1(x: Tensor, lam: float) -> Tensor:
    """(lam / N) · Σ|x| on activations x (N, ...): an ActivityL1 node that pushes the layer's
    outputs towards sparsity. Gradient: (lam / N) · sign(x), 0 at exactly 0."""
    lam = _coefficient(lam, "lam", "activity_l1")
    x = _activations(x, "activity_l1")
    return ActivityL1.apply(x, lam=lam, batch=int(x.shape[0]))


def activity_l2(x: Tensor, lam: float) -> Tensor:
    """(lam / 2N) · Σx² on activations x (N, ...): an ActivityL2 node that keeps the layer's
    outputs small. Gradient: (lam / N) · x."""
    lam = _coefficient(lam, "lam", "activity_l2")
    x = _activations(x, "activity_l2")
    return ActivityL2.apply(x, lam=lam, batch=int(x.shape[0]))


def elastic_net_penalty(params: Any, l1: float, l2: float) -> Tensor:
    """l1 · Σ|W| + (l2/2) · ΣW² over ``params`` (as for :func:`l2_penalty`): the sum of
    ``l1_penalty(params, l1)`` and ``l2_penalty(params, l2)``, as one ElasticNetPenalty node.
    Gradient: l1 · sign(W) + l2 · W."""
    l1 = _coefficient(l1, "l1", "elastic_net_penalty")
    l2 = _coefficient(l2, "l2", "elastic_net_penalty")
    return ElasticNetPenalty.apply(*_weights(params, "elastic_net_penalty"), l1=l1, l2=l2)


def __getattr__(name: str) -> tuple[type, ...]:
    """``PENALTY_OPS``: the op classes whose ``kind`` is "penalty" (these five, their
    subclasses, and a user's penalty ops), read off the classes when asked."""
    if name == "PENALTY_OPS":
        return ops_of_kind("penalty")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["L1Penalty", "L2Penalty", "ElasticNetPenalty", "ActivityL1", "ActivityL2",
           "penalized_parameters", "l1_penalty", "l2_penalty",
           "elastic_net_penalty", "activity_l1", "activity_l2"]
