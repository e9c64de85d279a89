"""Regularization as graph ops: inverted dropout and the L1 / L2 / elastic-net penalties.

Each is one named node of the graph, so a rendered graph shows where it acts. The penalties
are each ONE node over all the tensors they cover (not a chain of squares and sums), and carry
their coefficients as attributes, so the data path and the penalty path visibly join at the
loss. Each backward is written in Tensor ops, so second derivatives work.

Conventions, side by side (W ranges over the weight matrices, m is the batch size):

=====================================  =====================================================
the tutorial's cost ``J + λ/(2m)·ΣW²``  ``loss + l2_penalty(model, lam=λ/m)``
PyTorch ``SGD(weight_decay=wd)``        ``l2_penalty(params, lam=wd)``: both add ``wd·W`` to
                                        the gradient, so the trajectories are identical
PyTorch ``Adam(weight_decay=wd)``       also ``l2_penalty(params, lam=wd)`` (coupled: the
                                        ``wd·W`` term is rescaled by Adam like the rest of
                                        the gradient) — which is why it is not weight decay
PyTorch ``AdamW(weight_decay=wd)``      no penalty equals it: W shrinks by ``lr·wd·W``
                                        outside Adam's rescaling (decoupled decay)
Keras ``regularizers.l2(x)`` = x·ΣW²    ``l2_penalty(params, lam=2·x)`` (Keras has no ½)
Keras ``regularizers.l1(x)`` = x·Σ|W|   ``l1_penalty(params, lam=x)``
=====================================  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd import Function, wrap
from .random import resolve

# -- dropout -----------------------------------------------------------------------------


class Dropout(Function):
    """Inverted dropout with a given bool ``mask`` (True = kept) and drop probability ``p``.

    out = x · mask / (1 - p)        dx = grad · mask / (1 - p),  mask gets no gradient.

    The op is linear and diagonal in x, so its backward is the same op applied to ``grad``
    with the same mask: differentiable any number of times. The mask is an input of the node
    (a bool constant named "mask": one byte per unit, kept by reference, never a float copy).
    p = 1 gives zeros forward and zero gradients (no division by zero, no NaN).
    Use :func:`dropout`, which draws the mask.
    """

    @staticmethod
    def forward(ctx, x, mask, p):
        keep = 1.0 - p
        if keep == 0.0:
            return np.zeros_like(x)
        out = np.multiply(x, mask)
        out /= keep  # the tutorial's x * D / keep_prob, in place: no second temporary
        return out

    @staticmethod
    def backward(ctx, grad):
        mask = ctx.inputs[1]
        return Dropout.apply(grad, mask, p=ctx.attrs["p"]), None


def _probability(value: Any, name: str, fn: str) -> float:
    """``value`` as a float in [0, 1], or ValueError naming it."""
    if type(value) is float and 0.0 <= value <= 1.0:  # the usual case, checked first and fast
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{fn}: {name} must be a number in [0, 1], got {value!r}")
    v = float(value)
    if not 0.0 <= v <= 1.0:  # also rejects NaN
        raise ValueError(f"{fn}: {name} must be in [0, 1], got {value!r}")
    return v


def drop_probability(p: Any = None, keep_prob: Any = None, fn: str = "dropout") -> float:
    """The drop probability from PyTorch's ``p`` or the tutorial's ``keep_prob`` (at most one;
    neither means 0.5), validated; ``fn`` names the caller in errors.

    keep_prob is turned into p = 1 - keep_prob written short when that is exact
    (keep_prob=0.8 gives p=0.2, not 0.19999999999999996), so graphs read well and 1 - p gives
    back exactly keep_prob.
    """
    if p is not None and keep_prob is not None:
        raise ValueError(f"{fn}: give p (probability of dropping) or keep_prob (probability "
                         f"of keeping), not both; got p={p!r}, keep_prob={keep_prob!r}")
    if keep_prob is None:
        return 0.5 if p is None else _probability(p, "p", fn)
    keep = _probability(keep_prob, "keep_prob", fn)
    p = 1.0 - keep
    short = float(f"{p:.12g}")
    return short if 1.0 - short == keep else p


def dropout(x: Tensor, p: float | None = None, *, keep_prob: float | None = None,
            training: bool = True, generator: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout: zero each unit with probability ``p`` and scale the kept ones by
    1/(1 - p), so the expected value is unchanged; backward applies the same mask and scale.

    ``p`` is the probability of dropping (PyTorch's word); ``keep_prob`` = 1 - p is the
    tutorial's (the probability of keeping). Give at most one; neither means p = 0.5.
    With p = 0 or ``training=False`` the input itself is returned: no node, no random draw.
    With p = 1 the result is zeros and the gradient is zero.

    The mask is drawn fresh on every call from ``generator`` (an ``np.random.Generator``) or,
    without one, from the package generator that :func:`tinygrad_reg.manual_seed` seeds, as
    ``rng.random(x.shape, dtype=float32) < 1 - p``. Float32 uniforms are used for every input
    dtype (twice as fast to draw as float64); their 2⁻²⁴ resolution biases the keep
    probability by less than 6e-8.
    """
    p = drop_probability(p, keep_prob)
    rng = resolve(generator)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if not training or p == 0.0:
        return x
    if x._data.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating-point tensor, got dtype {x._data.dtype}")
    keep = 1.0 - p
    if keep == 0.0:
        mask = np.zeros(x._data.shape, dtype=bool)  # everything dropped: nothing to draw
    else:
        mask = np.asarray(rng.random(x._data.shape, dtype=np.float32) < keep)  # 0-d: ndarray
    m = wrap(mask)
    m.name = "mask"
    return Dropout.apply(x, m, p=p)


# -- penalties ---------------------------------------------------------------------------


class L2Penalty(Function):
    """out = (lam/2) · Σ_i ‖W_i‖²  over all inputs W_i (Frobenius norms).

    dW_i = grad · lam · W_i — exactly lam·W for grad = 1, the term PyTorch's SGD adds for
    ``weight_decay=lam``. One node over all inputs; the output has their common dtype.
    """

    @staticmethod
    def forward(ctx, *ws, lam):
        dtype = np.result_type(*ws)
        total = 0.0
        for w in ws:
            total += np.vdot(w, w)  # BLAS dot: no squared temporary
        return np.asarray(total * (lam / 2.0), dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        s = grad * ctx.attrs["lam"]
        return tuple(s * w if need else None
                     for w, need in zip(ctx.inputs, ctx.needs_input_grad, strict=True))


class L1Penalty(Function):
    """out = lam · Σ_i Σ |W_i|  over all inputs W_i.

    dW_i = grad · lam · sign(W_i), with the convention sign(0) = 0 (an exact zero weight gets
    no push). sign is piecewise constant, so the second derivative is 0 away from 0.
    """

    @staticmethod
    def forward(ctx, *ws, lam):
        dtype = np.result_type(*ws)
        total = 0.0
        for w in ws:
            total += np.abs(w).sum()
        return np.asarray(total * lam, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        s = grad * ctx.attrs["lam"]
        return tuple(s * wrap(np.sign(w._data)) if need else None
                     for w, need in zip(ctx.inputs, ctx.needs_input_grad, strict=True))


class ElasticNetPenalty(Function):
    """out = l1 · Σ_i Σ |W_i| + (l2/2) · Σ_i ‖W_i‖², i.e. l1_penalty(l1) + l2_penalty(l2).

    dW_i = grad · (l1 · sign(W_i) + l2 · W_i), sign(0) = 0. (scikit-learn's ElasticNet
    writes the same objective as alpha·(l1_ratio·Σ|W| + (1 - l1_ratio)/2·ΣW²).)
    """

    @staticmethod
    def forward(ctx, *ws, l1, l2):
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
        return tuple(s2 * w + s1 * wrap(np.sign(w._data)) if need else None
                     for w, need in zip(ctx.inputs, ctx.needs_input_grad, strict=True))


def _coefficient(value: Any, name: str, fn: str) -> float:
    """A penalty coefficient as a finite float >= 0, or ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {value!r}")
    return v


def _weights(params: Any, fn: str) -> tuple[Tensor, ...]:
    """The tensors a penalty covers.

    A Tensor: itself. A Module (anything with ``parameters()`` or ``named_parameters()``):
    its weight matrices, i.e. parameters with ndim >= 2 (biases are not penalised, as in the
    tutorial), each once. An iterable of Tensors: exactly those.
    """
    parameters = getattr(params, "parameters", None)
    if isinstance(params, Tensor):
        found: tuple = (params,)
    elif callable(parameters) or callable(getattr(params, "named_parameters", None)):
        if callable(parameters):
            every = list(parameters())
        else:
            every = [t for _, t in params.named_parameters()]
        seen: set[int] = set()
        chosen = []
        for t in every:
            if isinstance(t, Tensor) and t._data.ndim >= 2 and id(t) not in seen:
                seen.add(id(t))
                chosen.append(t)
        if not chosen:
            raise ValueError(f"{fn}: the module {type(params).__name__} has no weight matrices "
                             f"(parameters with ndim >= 2) to penalise; pass tensors "
                             f"explicitly to penalise others (e.g. biases)")
        found = tuple(chosen)
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes, np.ndarray)):
        found = tuple(params)
        for i, t in enumerate(found):
            if not isinstance(t, Tensor):
                hint = (" (named_parameters() gives (name, tensor) pairs: pass parameters())"
                        if isinstance(t, tuple) else "")
                raise TypeError(f"{fn}: params[{i}] is a {type(t).__name__}, not a Tensor"
                                f"{hint}")
    else:
        raise TypeError(f"{fn}: params must be a Tensor, an iterable of Tensors or a Module, "
                        f"got {type(params).__name__}")
    if not found:
        raise ValueError(f"{fn}: params is empty; there is nothing to penalise")
    for t in found:
        if t._data.dtype.kind != "f":
            raise TypeError(f"{fn}: can only penalise floating-point tensors, got one of "
                            f"dtype {t._data.dtype} and shape {t.shape}")
    return found


def l2_penalty(params: Any, lam: float) -> Tensor:
    """(lam/2) · ΣW² over ``params`` (a Tensor, an iterable of Tensors, or a Module: then its
    weight matrices only), as one L2Penalty node. Gradient: lam · W.

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


def elastic_net_penalty(params: Any, l1: float, l2: float) -> Tensor:
    """l1 · Σ|W| + (l2/2) · ΣW² over ``params`` (as for :func:`l2_penalty`): the sum of
    ``l1_penalty(params, l1)`` and ``l2_penalty(params, l2)``, as one ElasticNetPenalty node.
    Gradient: l1 · sign(W) + l2 · W."""
    l1 = _coefficient(l1, "l1", "elastic_net_penalty")
    l2 = _coefficient(l2, "l2", "elastic_net_penalty")
    return ElasticNetPenalty.apply(*_weights(params, "elastic_net_penalty"), l1=l1, l2=l2)


__all__ = ["Dropout", "L1Penalty", "L2Penalty", "ElasticNetPenalty", "dropout", "l1_penalty",
           "l2_penalty", "elastic_net_penalty"]
