"""Losses with PyTorch's names, arguments and formulas: each one fused node (named after what it
computes, so a rendered graph shows it), computed in a numerically stable form, and the
``nn.*Loss`` modules around them.

``reduction`` is "mean", "sum" or "none" (the per-element losses). The mean is over all
elements, except where PyTorch weighs it: ``cross_entropy``/``nll_loss`` with class indices
divide by the total weight of the non-ignored targets (their number without ``weight``).
Prediction and target of the elementwise losses must have the same shape: (m, 1) against
(m,) is a ValueError, never a silent broadcast to (m, m) (PyTorch only warns).
Every backward is written in Tensor ops, so second derivatives work; each loss also gives a
gradient to a float target that requires grad.

====================================  =====================  ============================
function                              module                 graph node
====================================  =====================  ============================
``mse_loss``                          ``MSELoss``            MeanSquaredError
``l1_loss``                           ``L1Loss``             AbsoluteError
``huber_loss(delta=1)``               ``HuberLoss``          Huber
``smooth_l1_loss(beta=1)``            ``SmoothL1Loss``       SmoothL1
``binary_cross_entropy``              ``BCELoss``            BinaryCrossEntropy
``binary_cross_entropy_with_logits``  ``BCEWithLogitsLoss``  BinaryCrossEntropyWithLogits
``cross_entropy``                     ``CrossEntropyLoss``   CrossEntropy
``nll_loss``                          ``NLLLoss``            NegativeLogLikelihood
====================================  =====================  ============================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import OPS, Tensor
from ..autograd import Function, wrap
from ..autograd.modes import GRAD, mode
from ..errors import DTypeError, ShapeError
from ..ops import jit_rules, numerics
from ..ops.elementwise import where
from ..ops.jit_rules import Lowered
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")
_LOG_MIN = -100.0  # binary_cross_entropy's clamp on each log (PyTorch's choice too)
_DENOM_MIN = 1e-12  # ... and on p(1-p) in its gradient


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(loss.sum() / loss.size, dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=loss.dtype)
    return loss


def _scale(grad: Tensor, reduction: str, n: int) -> Tensor:
    """The upstream gradient of a reduction, per element (broadcasting does the rest)."""
    return grad / float(n) if reduction == "mean" else grad


# -- binary cross-entropy ------------------------------------------------------------------

class BinaryCrossEntropyWithLogits(Function):
    """loss = max(z, 0) - z·y + log(1 + e^(-|z|))  (= -[y log σ(z) + (1-y) log(1-σ(z))]),
    finite for any finite logit z.   dz = grad · (σ(z) - y),  dy = -grad · z
    (each divided by n for "mean": dz is exactly (σ(z) - y)/m for the mean over m).
    dz is one node, BinaryCrossEntropyWithLogitsBackward, so a training step pays for one op.
    (With ``weight`` or ``pos_weight``, :class:`WeightedBinaryCrossEntropyWithLogits`.)"""
    kind = "loss"

    @staticmethod
    def forward(ctx, z, y, reduction):
        ctx.save_for_backward(z, y)
        # (not softplus(z) - z·y: for a confident right answer, z = 40 and y = 1, softplus(z)
        # rounds to z and the loss e⁻⁴⁰ would be lost; max(z, 0) - z·y is exact first)
        loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        z, y = ctx.saved_tensors
        reduction = ctx.attrs["reduction"]
        n = z._data.size if reduction == "mean" else 1
        need_z, need_y = ctx.needs_input_grad
        dz = BinaryCrossEntropyWithLogitsBackward.apply(z, y, grad, n=n) if need_z else None
        dy = -z * _scale(grad, reduction, z._data.size) if need_y else None
        return dz, dy

    @staticmethod
    @jit_rules.assigning
    def lower(ins, out, attrs):
        # forward: loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), then the mean
        # (np.asarray(loss.sum() / loss.size, dtype)) or the sum
        z, y = ins
        reduction = attrs["reduction"]
        if z.shape != y.shape or z.dtype != y.dtype or reduction not in ("mean", "sum"):
            return None
        total = "{t0}.sum() / {c0}" if reduction == "mean" else "{t0}.sum()"
        return Lowered(("maximum({i0}, 0, out={t0})", "multiply({i0}, {i1}, out={t1})",
                        "subtract({t0}, {t1}, out={t0})", "absolute({i0}, out={t1})",
                        "negative({t1}, out={t1})", "exp({t1}, out={t1})",
                        "log1p({t1}, out={t1})", "add({t0}, {t1}, out={t0})",
                        "{o} = asarray(" + total + ", {c1})"),
                       temps=((z.shape, z.dtype), (z.shape, z.dtype)), consts=(z.size, z.dtype),
                       assigns=True)


class BinaryCrossEntropyWithLogitsBackward(Function):
    """out = (σ(z) - y) · g / n: the logits' gradient as one node (g the upstream gradient,
    n the mean's count or 1).   dz = grad · g · σ(z)(1 - σ(z)) / n,  dy = -grad · g / n,
    dg = grad · (σ(z) - y) / n (summed to g's shape by the engine)."""

    @staticmethod
    def forward(ctx, z, y, g, n):
        ctx.save_for_backward(z, y, g)
        out = numerics.sigmoid(z)
        out -= y
        out *= g
        if n != 1:
            out /= n  # divided last, so that for g = 1 this is exactly (σ(z) - y)/n
        return out

    @staticmethod
    def backward(ctx, grad):
        z, y, g = ctx.saved_tensors
        n = float(ctx.attrs["n"])
        need_z, need_y, need_g = ctx.needs_input_grad
        s = z.sigmoid()
        gn = grad * g / n
        return ((gn * s * (1.0 - s)) if need_z else None,
                (-gn) if need_y else None,
                (grad * (s - y) / n) if need_g else None)

    @staticmethod
    def lower(ins, out, attrs):
        # forward: out = numerics.sigmoid(z), then out -= y; out *= g; out /= n when n != 1
        z, y, g = ins
        if not (z.shape == y.shape == out.shape and z.dtype == y.dtype == out.dtype):
            return None
        lines = ["{c1}({i0}, {o})", "subtract({o}, {i1}, out={o})",
                 "multiply({o}, {i2}, out={o})"]
        if attrs["n"] != 1:
            lines.append("true_divide({o}, {c0}, out={o})")
        return Lowered(tuple(lines), consts=(attrs["n"], numerics.sigmoid))


class WeightedBinaryCrossEntropyWithLogits(Function):
    """loss = w · [(1 - y) · softplus(z) + p · y · softplus(-z)], PyTorch's
    ``binary_cross_entropy_with_logits`` with ``weight`` w (per element, broadcast) and
    ``pos_weight`` p (per class, broadcast along the last dim); softplus(z) = log(1 + eᶻ).
    dz = grad · w · [(1 - y) σ(z) - p · y · σ(-z)],
    dy = grad · w · [p · softplus(-z) - softplus(z)]; w and p get none."""
    kind = "loss"

    @staticmethod
    def forward(ctx, z, y, w, p, reduction):
        ctx.save_for_backward(z, y, w, p)
        loss = w * ((1.0 - y) * numerics.softplus(z) + p * y * numerics.softplus(-z))
        return _reduce(loss.astype(z.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        z, y, w, p = ctx.saved_tensors
        g = _scale(grad, ctx.attrs["reduction"], z._data.size) * w
        need_z, need_y = ctx.needs_input_grad[:2]
        dz = g * ((1.0 - y) * z.sigmoid() - p * y * (-z).sigmoid()) if need_z else None
        dy = None
        if need_y:
            dy = g * (p * OPS["softplus"](-z) - OPS["softplus"](z))
        return dz, dy, None, None


def _clamped_logs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max(log p, -100) and max(log(1 - p), -100), without warnings at p = 0 or 1."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), _LOG_MIN), np.maximum(np.log1p(-p), _LOG_MIN)


def _clamped_log(q: Tensor) -> Tensor:
    """max(log q, -100) in Tensor ops, with zero gradient where the clamp holds (and no inf
    anywhere, so second derivatives stay finite)."""
    inside = q > math.exp(_LOG_MIN)
    return where(inside, where(inside, q, 1.0).log(), _LOG_MIN)


class BinaryCrossEntropy(Function):
    """loss = -w · [y · max(log p, -100) + (1-y) · max(log(1-p), -100)] on probabilities p
    (``weight`` w per element, broadcast; 1 without).

    The clamp (PyTorch's convention) keeps p = 0 or 1 finite: each element's loss is at most
    100·w. dp = grad · w · (p - y) / max(p(1-p), 1e-12) — the exact derivative wherever
    p(1-p) > 1e-12, finite everywhere on [0, 1]; dy = grad · w · (max(log(1-p), -100) -
    max(log p, -100)). Prefer the logits form: when σ(z) rounds to 0 or 1 the gradient
    through σ vanishes.
    """
    kind = "loss"

    @staticmethod
    def forward(ctx, p, y, w, reduction):
        ctx.save_for_backward(p, y, w)
        log_p, log_1mp = _clamped_logs(p)
        loss = -(y * log_p + (1.0 - y) * log_1mp) * w
        return _reduce(loss.astype(p.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        p, y, w = ctx.saved_tensors
        s = _scale(grad, ctx.attrs["reduction"], p._data.size) * w
        need_p, need_y = ctx.needs_input_grad[:2]
        dp = dy = None
        if need_p:
            dp = s * (p - y) / (p * (1.0 - p)).maximum(_DENOM_MIN)
        if need_y:
            dy = s * (_clamped_log(1.0 - p) - _clamped_log(p))
        return dp, dy, None


# -- cross-entropy and negative log-likelihood -------------------------------------------------

class CrossEntropy(Function):
    """loss_n = -Σ_c a_{n,c} · log softmax(z_n)_c over the class dim (dim 1, or 0 for one
    unbatched example), computed with the maximum subtracted, so finite for any finite z.
    ``a`` is the target distribution the forward pass builds, PyTorch's formulas:

    - class indices y (``weight`` w, 1 without; ``label_smoothing`` ε over C classes):
      a_{n,c} = (1-ε) · w_{y_n} · [c = y_n] + (ε/C) · w_c, and 0 for ``ignore_index``;
    - class probabilities t: a_{n,c} = w_c · ((1-ε) · t_{n,c} + ε/C).

    "mean" divides the sum by Σ_n w_{y_n} over the non-ignored targets for indices, by the
    number of examples (N·d1·…) for probabilities. dz_n = g_n · (A_n · softmax(z_n) - a_n)
    with A_n = Σ_c a_{n,c} (so softmax(z) - onehot(y), over N, in the plain case); a
    probability target gets dt = -g · w · (1-ε) · log softmax(z); indices get none.

    Logits of -inf (masked classes), PyTorch's conventions: with indices the loss is
    (1-ε) · (-w_{y_n} log p_{y_n}) + (ε/C) · (-Σ_c w_c log p_c) (reduced term by term), so
    without smoothing a -inf logit off the target costs nothing (finite loss), with
    smoothing the loss is inf, and an ignored target is 0 whatever its logits. With
    probabilities every class enters: a zero probability on a -inf logit gives 0 · -inf =
    nan. The gradient is finite in all these cases, 0 at a -inf logit without smoothing.
    An ignored target's row gets gradient 0; when "mean" has nothing to divide by (every
    target ignored, or of weight 0) the loss is nan and the rows that were not ignored get
    nan, as PyTorch. For (N, C) logits with indices, no weight and no smoothing (the common
    case) the forward is :func:`_plain_index_target` (the same bits, fewer passes) and keeps
    softmax(z) for a first-order backward."""
    kind = "loss"

    @staticmethod
    def forward(ctx, z, target, weight, reduction, label_smoothing, ignore_index, probs):
        cdim = 1 if z.ndim > 1 else 0
        eps = label_smoothing
        if not probs and not eps and weight.ndim == 0 and z.ndim == 2 and z.shape[1]:
            need = bool(ctx.needs_input_grad and ctx.needs_input_grad[0])
            a, denom, keep, terms, p = _plain_index_target(z, target, ignore_index, need)
            ctx.save_for_backward(z, a, np.asarray(denom, dtype=z.dtype), keep,
                                  *((p,) if need else ()))
            return _reduce_terms(terms, [1.0, 0.0], reduction, denom, z.dtype)
        shifted = z - numerics.max_keep(z, cdim)
        logp = shifted - np.log(numerics.sum_keep(np.exp(shifted), cdim))
        if probs:
            a, denom, keep = _probs_target(z, target, weight, eps, cdim)
            terms, coefs = [-(a * logp).sum(axis=cdim)], [1.0]
        else:
            a, denom, keep, terms = _index_target(logp, target, weight, eps, ignore_index,
                                                  cdim)
            coefs = [1.0 - eps, eps / z.shape[cdim]]
        # (the denominator is saved as an array, not an attribute: a traced step replays it;
        # a probability target and the weights are read again by backward)
        ctx.save_for_backward(z, a, np.asarray(denom, dtype=z.dtype), keep,
                              *((target, weight) if probs else ()))
        return _reduce_terms(terms, coefs, reduction, denom, z.dtype)

    @staticmethod
    def backward(ctx, grad):
        z, a, denom, keep, *rest = ctx.saved_tensors
        at = ctx.attrs
        cdim = 1 if z.ndim > 1 else 0
        if at["reduction"] == "mean":
            g = grad / denom
        elif at["reduction"] == "sum":
            g = grad
        else:
            g = grad.unsqueeze(cdim)
        need_z, need_t = ctx.needs_input_grad[:2]
        eps = at["label_smoothing"]
        if at["probs"]:  # a from the target tensor, so the second derivative reaches it
            t, w = rest
            wb = w if w.ndim == 0 else w.reshape(_class_shape(z.ndim, w))
            a = (t * (1.0 - eps) + eps / z.shape[cdim]) * wb
        else:  # an ignored row gets exactly 0, even where g is inf (nothing to divide by)
            g = where(keep, g, 0.0)
        dz = None
        if need_z:  # log_softmax's backward of -a·g, in PyTorch's order (so inf·0 = nan alike)
            ag = a * g
            # (the forward's softmax, a constant, when it kept one and no graph is recorded)
            p = rest[0] if rest and not at["probs"] and not mode() & GRAD else z.softmax(cdim)
            dz = p * ag.sum(cdim, keepdims=True) - ag
        dt = None
        if need_t and at["probs"]:
            dt = -(z.log_softmax(cdim) * (wb * (1.0 - eps))) * g
        return dz, dt, None


def _class_shape(ndim: int, w: Tensor) -> tuple[int, ...]:
    """Weights of shape (C,) as (1, C, 1, …) for logits of ``ndim`` dims."""
    if ndim <= 1:
        return (w.shape[0],)
    return (1, w.shape[0]) + (1,) * (ndim - 2)


def _probs_target(z: np.ndarray, target: np.ndarray, weight: np.ndarray, eps: float,
                  cdim: int) -> tuple[np.ndarray, float, np.ndarray]:
    """For class probabilities: (a, the mean's denominator, an all-true keep mask)."""
    c = z.shape[cdim]
    w = (np.ones(c, dtype=z.dtype) if weight.ndim == 0 else weight.astype(z.dtype, copy=False))
    wb = w.reshape((c,) if z.ndim == 1 else (1, c) + (1,) * (z.ndim - 2))
    a = wb * ((1.0 - eps) * target + eps / c)
    return a.astype(z.dtype, copy=False), float(z.size // c), np.ones((1,) * z.ndim, bool)


def _plain_index_target(z: np.ndarray, target: np.ndarray, ignore_index: int, softmax: bool
                        ) -> tuple[np.ndarray, float, np.ndarray, list[np.ndarray], Any]:
    """:func:`_index_target`'s results, the same bits, for (N, C) logits, no weight and no
    smoothing, without the whole log softmax: log p_y = (z_y - max) - log Σ_c e^(z_c - max)
    at the targets only (the same float operations on the same values as there), a = the
    one-hot rows of the kept targets written directly. Three passes over z (shift, exp,
    BLAS row sum) instead of about ten (0.11 ms against 0.33 ms for (1024, 64) float32).
    With ``softmax``, also softmax(z) = e^(z - max) / Σ (the bits of :class:`Softmax`'s
    forward, one pass more), which a first-order backward reads instead of recomputing it
    (else None)."""
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    rows = np.arange(len(safe))
    e = np.subtract(z, numerics.max_keep(z, 1))
    picked = e[rows, safe]
    np.exp(e, out=e)
    total = numerics.sum_keep(e, 1)
    picked = picked - np.log(total).reshape(-1)
    a = np.zeros(z.shape, z.dtype)
    a[rows, safe] = keep
    terms = [np.where(keep, -picked, 0.0)]
    p = np.divide(e, total, out=e) if softmax else None
    return a, float(np.count_nonzero(keep)), keep[:, None], terms, p


def _index_target(logp: np.ndarray, target: np.ndarray, weight: np.ndarray, eps: float,
                  ignore_index: int, cdim: int
                  ) -> tuple[np.ndarray, float, np.ndarray, list[np.ndarray]]:
    """For class indices: (a, the mean's denominator, where the target is kept (bool, a's
    shape with the class dim of size 1), PyTorch's per-target terms). See
    :class:`CrossEntropy`. The terms are [-w_y · logp_y] and, with smoothing,
    [-Σ_c w_c · logp_c], each 0 where ignored; the first reads only the target's
    log-probability, so a -inf elsewhere (a masked class) does not enter it."""
    c = logp.shape[cdim]
    dtype = logp.dtype
    w = np.ones(c, dtype=dtype) if weight.ndim == 0 else weight.astype(dtype, copy=False)
    wb = w.reshape((c,) if logp.ndim == 1 else (1, c) + (1,) * (logp.ndim - 2))
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    onehot = np.eye(c, dtype=dtype)[safe]
    if logp.ndim > 1:
        onehot = np.moveaxis(onehot, -1, cdim)
    keep_b = np.expand_dims(keep, cdim)
    w_y = w[safe]
    w_target = w_y * keep  # w_{y_n}, 0 where ignored
    a = ((1.0 - eps) * np.expand_dims(w_target, cdim) * onehot + (eps / c) * wb * keep_b)
    if logp.ndim == 2:  # (fancy indexing is several times faster than take_along_axis)
        picked = logp[np.arange(len(safe)), safe]
    else:
        picked = np.take_along_axis(logp, np.expand_dims(safe, cdim), axis=cdim).squeeze(cdim)
    terms = [np.where(keep, -w_y * picked, 0.0)]
    if eps:
        terms.append(np.where(keep, -(logp * wb).sum(axis=cdim), 0.0))
    return a.astype(dtype, copy=False), float(w_target.sum()), keep_b, terms


def _reduce_terms(terms: list[np.ndarray], coefs: list[float], reduction: str, denom: float,
                  dtype: np.dtype) -> np.ndarray:
    """Σ_k coef_k · reduce(term_k), each term reduced on its own (as PyTorch does), the mean
    dividing by ``denom`` (0 there gives nan, or inf, as PyTorch)."""
    if reduction == "none":
        out = sum(k * t for k, t in zip(coefs, terms))
    else:
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as PyTorch
            sums = [t.sum() / denom if reduction == "mean" else t.sum() for t in terms]
            out = sum(k * v for k, v in zip(coefs, sums))
    return np.asarray(out, dtype=dtype)


class NegativeLogLikelihood(Function):
    """loss_n = -w_{y_n} · x_{n, y_n} for log-probabilities x (N, C, …) and class indices y
    (``weight`` w, 1 without; 0 for ``ignore_index``); "mean" divides the sum by
    Σ_n w_{y_n} over the non-ignored targets, as PyTorch. Only x at the target is read, so a
    -inf elsewhere (a masked class) leaves the loss finite, and an ignored target gives 0
    whatever its row holds (PyTorch's convention).
    dx = -g · w_{y_n} at (n, y_n), exactly 0 elsewhere (also when "mean" has nothing to
    divide by: then the loss is nan and so is dx at the non-ignored targets); y gets none."""
    kind = "loss"

    @staticmethod
    def forward(ctx, x, target, weight, reduction, ignore_index):
        cdim = 1 if x.ndim > 1 else 0
        a, denom, keep, terms = _index_target(x, target, weight, 0.0, ignore_index, cdim)
        classes = np.arange(x.shape[cdim]).reshape((-1,) + (1,) * (x.ndim - 1 - cdim))
        hit = keep & (np.expand_dims(target, cdim) == classes)  # (n, y_n), not ignored
        ctx.save_for_backward(a, np.asarray(denom, dtype=x.dtype), hit)
        return _reduce_terms(terms, [1.0], reduction, denom, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, denom, hit = ctx.saved_tensors
        cdim = 1 if ctx.inputs[0].ndim > 1 else 0
        r = ctx.attrs["reduction"]
        g = grad / denom if r == "mean" else grad if r == "sum" else grad.unsqueeze(cdim)
        return where(hit, -a * g, 0.0), None, None


# -- regression losses -------------------------------------------------------------------

class MeanSquaredError(Function):
    """loss = (x - y)² elementwise, then reduced.   dx = grad · 2(x - y),  dy = -dx
    (divided by n for "mean")."""
    kind = "loss"

    @staticmethod
    def forward(ctx, x, y, reduction):
        ctx.save_for_backward(x, y)
        d = x - y
        d *= d
        return _reduce(d, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        n = x._data.size
        s = grad * (2.0 / n) if ctx.attrs["reduction"] == "mean" else grad * 2.0
        dx = (x - y) * s
        return (dx if need_x else None), (-dx if need_y else None)


class AbsoluteError(Function):
    """loss = |x - y| elementwise, then reduced (``l1_loss``).
    dx = grad · sign(x - y) with sign(0) = 0 (PyTorch's convention),  dy = -dx."""
    kind = "loss"

    @staticmethod
    def forward(ctx, x, y, reduction):
        ctx.save_for_backward(x, y)
        return _reduce(np.abs(x - y), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        dx = _scale(grad, ctx.attrs["reduction"], x._data.size) * (x - y).sign()
        return (dx if need_x else None), (-dx if need_y else None)


class Huber(Function):
    """loss = ½ d² if |d| <= delta else delta · (|d| - ½ delta), d = x - y.
    dx = grad · d if |d| <= delta else grad · delta · sign(d) (both give ±delta at |d| =
    delta; the quadratic branch is taken there, as PyTorch),  dy = -dx."""
    kind = "loss"

    @staticmethod
    def forward(ctx, x, y, reduction, delta):
        ctx.save_for_backward(x, y)
        d = x - y
        a = np.abs(d)
        loss = np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        delta = ctx.attrs["delta"]
        d = x - y
        g = _scale(grad, ctx.attrs["reduction"], x._data.size)
        dx = where(d.abs() <= delta, g * d, g * d.sign() * delta)
        need_x, need_y = ctx.needs_input_grad
        return (dx if need_x else None), (-dx if need_y else None)


class SmoothL1(Function):
    """loss = ½ d² / beta if |d| < beta else |d| - ½ beta, d = x - y (beta = 0: |d|).
    dx = grad · d / beta if |d| < beta else grad · sign(d) (the linear branch at |d| = beta,
    PyTorch's strict test),  dy = -dx."""
    kind = "loss"

    @staticmethod
    def forward(ctx, x, y, reduction, beta):
        ctx.save_for_backward(x, y)
        d = x - y
        a = np.abs(d)
        if beta == 0:
            loss = a
        else:
            loss = np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        beta = ctx.attrs["beta"]
        d = x - y
        g = _scale(grad, ctx.attrs["reduction"], x._data.size)
        dx = g * d.sign() if beta == 0 else where(d.abs() < beta, g * d / beta, g * d.sign())
        need_x, need_y = ctx.needs_input_grad
        return (dx if need_x else None), (-dx if need_y else None)


# -- the functional face -----------------------------------------------------------------

def _check_reduction(reduction: Any, fn: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of 'mean', 'sum', 'none'; "
                         f"got {reduction!r}")
    return reduction


def _as_float(pred: Any, fn: str, name: str) -> Tensor:
    if not isinstance(pred, Tensor):
        pred = Tensor(pred)
    if pred._data.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be floating point, got dtype {pred._data.dtype}")
    return pred


def _pair(pred: Any, target: Any, fn: str, pred_name: str) -> tuple[Tensor, Tensor]:
    """Prediction and target as float Tensors of one shape and the prediction's dtype."""
    pred = _as_float(pred, fn, pred_name)
    dtype = pred._data.dtype
    if isinstance(target, Tensor):
        if target._data.dtype != dtype:
            # a float target stays differentiable; labels given as ints/bools become constants
            target = (target.astype(dtype) if target._data.dtype.kind == "f"
                      else wrap(target._data.astype(dtype)))
    else:
        target = wrap(np.asarray(target, dtype=dtype))
        target.name = "target"  # how the constant reads in a rendered graph
    if target._data.shape != pred._data.shape:
        raise ValueError(f"{fn}: {pred_name} has shape {pred.shape} but target has shape "
                         f"{target.shape}; they must match (no broadcasting; reshape one of "
                         f"them, e.g. target.reshape{pred.shape})")
    return pred, target


def _constant(value: Any, like: Tensor, fn: str, name: str) -> Tensor:
    """An optional weight as a constant of ``like``'s dtype (1 when None)."""
    if value is None:
        return wrap(np.asarray(1.0, dtype=like._data.dtype))
    arr = value._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name} must hold numbers, got dtype {arr.dtype}")
    t = wrap(arr.astype(like._data.dtype, copy=False))
    t.name = name
    return t


def binary_cross_entropy_with_logits(logits: Tensor, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against ``target`` in [0, 1], computed from the
    logits: finite loss and gradient for any finite logit (±1000 included). The gradient wrt
    the logits is (sigmoid(z) - y)/m for the mean over m elements. ``weight`` rescales each
    element's loss; ``pos_weight`` (one per class, along the last dim) weighs the positive
    term, as PyTorch."""
    if isinstance(weight, str) and reduction == "mean":  # (logits, target, "sum"): the old order
        weight, reduction = None, weight
    fn = "binary_cross_entropy_with_logits"
    reduction = _check_reduction(reduction, fn)
    z, y = _pair(logits, target, fn, "logits")
    if weight is None and pos_weight is None:
        return BinaryCrossEntropyWithLogits.apply(z, y, reduction=reduction)
    w = _constant(weight, z, fn, "weight")
    p = _constant(pos_weight, z, fn, "pos_weight")
    for t, name in ((w, "weight"), (p, "pos_weight")):
        try:
            fits = np.broadcast_shapes(t.shape, z.shape) == z.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{fn}: {name} of shape {t.shape} does not broadcast to the logits' "
                             f"shape {z.shape}")
    return WeightedBinaryCrossEntropyWithLogits.apply(z, y, w, p, reduction=reduction)


def binary_cross_entropy(probs: Tensor, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``probs`` (in [0, 1]) against ``target``, as in
    the tutorial. Each log is clamped at -100, so probabilities of exactly 0 or 1 give a finite
    loss (at most 100 per element) and a finite gradient. Probabilities outside [0, 1]:
    ValueError. Prefer :func:`binary_cross_entropy_with_logits`, which is exact and keeps a
    useful gradient where sigmoid saturates."""
    if isinstance(weight, str) and reduction == "mean":
        weight, reduction = None, weight
    fn = "binary_cross_entropy"
    reduction = _check_reduction(reduction, fn)
    p, y = _pair(probs, target, fn, "probs")
    if p._data.size and (p._data.min() < 0.0 or p._data.max() > 1.0):
        raise ValueError(f"binary_cross_entropy: probs must lie in [0, 1], got values in "
                         f"[{p._data.min()}, {p._data.max()}]; pass logits to "
                         f"binary_cross_entropy_with_logits instead")
    return BinaryCrossEntropy.apply(p, y, _constant(weight, p, fn, "weight"), reduction=reduction)


def _class_target(fn: str, logits: Tensor, target: Any, weight: Any,
                  allow_probs: bool) -> tuple[Tensor, bool, Tensor]:
    """(target tensor, whether it holds probabilities, weight constant), all checked."""
    shape = logits.shape
    if len(shape) == 0:
        raise ValueError(f"{fn}: logits must have a class dim: (C,), (N, C) or (N, C, d1, ...), "
                         f"got a 0-d tensor")
    cdim = 1 if len(shape) > 1 else 0
    c = shape[cdim]
    t = target if isinstance(target, Tensor) else None
    arr = target._data if isinstance(target, Tensor) else np.asarray(target)
    index_shape = shape[:cdim] + shape[cdim + 1:]
    probs = arr.dtype.kind == "f" and arr.shape == shape and allow_probs
    if not probs:
        if arr.dtype.kind not in "iu":
            hint = ""
            if arr.dtype.kind == "f" and arr.shape == index_shape and np.all(arr == np.round(arr)):
                hint = (" The values are whole numbers: call .long() on the target (or "
                        "target.astype(np.int64)) to use them as class indices.")
            elif arr.dtype.kind == "f" and allow_probs:
                hint = (f" A float target must have the logits' shape {shape} (class "
                        f"probabilities).")
            raise DTypeError(f"{fn}: target must be integer class indices of shape "
                             f"{index_shape}, got dtype {arr.dtype} and shape {arr.shape}.{hint}")
        if arr.shape != index_shape:
            raise ShapeError(f"{fn}: expected logits of shape (N, C, ...) and class indices of "
                             f"the same shape without the class dim, got logits {shape} and "
                             f"target {arr.shape} (want {index_shape})")
    w = wrap(np.asarray(1.0, dtype=logits._data.dtype)) if weight is None else None
    if weight is not None:
        warr = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
        if warr.shape != (c,):
            raise ValueError(f"{fn}: weight must have one entry per class, shape ({c},), got "
                             f"{warr.shape}")
        w = wrap(warr.astype(logits._data.dtype))
        w.name = "weight"
    if probs:
        target_t = t if t is not None and t._data.dtype == logits._data.dtype else (
            t.astype(logits._data.dtype) if t is not None else wrap(arr.astype(
                logits._data.dtype)))
    else:
        target_t = t if t is not None else wrap(arr)
    if target_t.name is None and t is None:
        target_t.name = "target" if probs else "labels"
    return target_t, probs, w


def _check_indices(fn: str, target: Tensor, c: int, ignore_index: int) -> None:
    lab = target._data
    bad = (lab != ignore_index) & ((lab < 0) | (lab >= c))
    if bad.any():
        raise IndexError(f"{fn}: label {lab[bad].flat[0]} is out of range for {c} classes "
                         f"(0..{c - 1}; ignore_index={ignore_index})")


def cross_entropy(logits: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of ``logits`` (N, C), (N, C, d1, …) or (C,) against class
    indices (int, the shape without the class dim) or class probabilities (float, the
    logits' shape), with PyTorch's ``weight``, ``ignore_index``, ``reduction`` and
    ``label_smoothing`` (see :class:`CrossEntropy` for the formulas). One fused node,
    computed stably from the logits. Labels out of range: IndexError (as PyTorch); float
    labels that hold whole numbers: a TypeError that says to call ``.long()``."""
    if isinstance(weight, str) and reduction == "mean" and weight in _REDUCTIONS:
        weight, reduction = None, weight  # (logits, labels, "sum"): the positional old order
    fn = "cross_entropy"
    reduction = _check_reduction(reduction, fn)
    z = _as_float(logits, fn, "logits")
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    t, probs, w = _class_target(fn, z, target, weight, allow_probs=True)
    if not probs:
        _check_indices(fn, t, z.shape[1 if z.ndim > 1 else 0], ignore_index)
    return CrossEntropy.apply(z, t, w, reduction=reduction, label_smoothing=eps,
                              ignore_index=int(ignore_index), probs=probs)


def nll_loss(log_probs: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C, …) at class indices, with
    PyTorch's ``weight``, ``ignore_index`` and weighted mean: ``nll_loss(log_softmax(z, 1),
    y)`` equals ``cross_entropy(z, y)``."""
    fn = "nll_loss"
    reduction = _check_reduction(reduction, fn)
    x = _as_float(log_probs, fn, "log_probs")
    t, _, w = _class_target(fn, x, target, weight, allow_probs=False)
    _check_indices(fn, t, x.shape[1 if x.ndim > 1 else 0], ignore_index)
    return NegativeLogLikelihood.apply(x, t, w, reduction=reduction,
                                       ignore_index=int(ignore_index))


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (pred - target)², averaged (or summed, or per element)."""
    reduction = _check_reduction(reduction, "mse_loss")
    x, y = _pair(pred, target, "mse_loss", "pred")
    return MeanSquaredError.apply(x, y, reduction=reduction)


def l1_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Absolute error |pred - target|, averaged (or summed, or per element)."""
    reduction = _check_reduction(reduction, "l1_loss")
    x, y = _pair(pred, target, "l1_loss", "pred")
    return AbsoluteError.apply(x, y, reduction=reduction)


def _positive(value: Any, name: str, fn: str, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            math.isfinite(value)) or value < 0 or (value == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{fn}: {name} must be a finite number {need}, got {value!r}")
    return float(value)


def huber_loss(pred: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: quadratic within ``delta`` of the target, linear beyond (robust to
    outliers); ``delta`` > 0."""
    reduction = _check_reduction(reduction, "huber_loss")
    x, y = _pair(pred, target, "huber_loss", "pred")
    return Huber.apply(x, y, reduction=reduction, delta=_positive(delta, "delta", "huber_loss"))


def smooth_l1_loss(pred: Tensor, target: Any, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Smooth L1 loss: huber_loss / beta (quadratic below ``beta``, then |d| - beta/2);
    ``beta`` >= 0 (0 is the plain L1 loss)."""
    reduction = _check_reduction(reduction, "smooth_l1_loss")
    x, y = _pair(pred, target, "smooth_l1_loss", "pred")
    return SmoothL1.apply(x, y, reduction=reduction,
                          beta=_positive(beta, "beta", "smooth_l1_loss", allow_zero=True))


# -- the modules -------------------------------------------------------------------------------

class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(reduction, type(self).__name__)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """``nn.MSELoss(reduction="mean")``: :func:`mse_loss` as a module."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002 - PyTorch's names
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """``nn.L1Loss(reduction="mean")``: :func:`l1_loss` as a module."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """``nn.HuberLoss(reduction="mean", delta=1.0)``: :func:`huber_loss` as a module."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = _positive(delta, "delta", "HuberLoss")

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """``nn.SmoothL1Loss(reduction="mean", beta=1.0)``: :func:`smooth_l1_loss` as a module."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = _positive(beta, "beta", "SmoothL1Loss", allow_zero=True)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class _WeightedLoss(_Loss):
    """A loss whose ``weight`` (and ``pos_weight``) are buffers, as in PyTorch: in the state
    dict, and moved by ``to()``."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else _buffer(weight))


def _buffer(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=np.float32))


class BCELoss(_WeightedLoss):
    """``nn.BCELoss(weight=None, reduction="mean")``: :func:`binary_cross_entropy` on
    probabilities as a module."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """``nn.BCEWithLogitsLoss(weight=None, reduction="mean", pos_weight=None)``:
    :func:`binary_cross_entropy_with_logits` as a module."""

    def __init__(self, weight: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", None if pos_weight is None else _buffer(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """``nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction="mean",
    label_smoothing=0.0)``: :func:`cross_entropy` as a module."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = int(ignore_index)
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if super().extra_repr() else []
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)


class NLLLoss(_WeightedLoss):
    """``nn.NLLLoss(weight=None, ignore_index=-100, reduction="mean")``: :func:`nll_loss` as a
    module."""

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = int(ignore_index)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


__all__ = ["BinaryCrossEntropyWithLogits", "WeightedBinaryCrossEntropyWithLogits",
           "BinaryCrossEntropy", "CrossEntropy", "NegativeLogLikelihood", "MeanSquaredError",
           "AbsoluteError", "Huber", "SmoothL1", "binary_cross_entropy_with_logits",
           "binary_cross_entropy", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
           "huber_loss", "smooth_l1_loss", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss",
           "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"]
