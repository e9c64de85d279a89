"""Losses, each one fused node (named after the loss, so a rendered graph shows it), computed
in a numerically stable form.

``reduction`` is "mean" (the average over all elements; for cross_entropy, over the N
examples), "sum", or "none" (the per-element losses). Prediction and target must have the
same shape: (m, 1) against (m,) is a ValueError, never a silent broadcast to (m, m).
Every backward is written in Tensor ops, so second derivatives work; each loss also gives a
gradient to a float target that requires grad.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function, wrap
from ..ops.elementwise import where

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


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) from e^(-|z|), never overflowing (the same formula as the Sigmoid op)."""
    e = np.exp(-np.abs(z))
    return (np.where(z >= 0, 1.0, e) / (1.0 + e)).astype(z.dtype, copy=False)


class BinaryCrossEntropyWithLogits(Function):
    """loss = max(z, 0) - z·y + log(1 + e^(-|z|))  (= -[y log σ(z) + (1-y) log(1-σ(z))]),
    finite for any finite logit z.   dz = grad · (σ(z) - y),  dy = -grad · z
    (each divided by n for "mean": dz is exactly (σ(z) - y)/m for the mean over m).
    dz is one node, BinaryCrossEntropyWithLogitsBackward, so a training step pays for one op."""

    @staticmethod
    def forward(ctx, z, y, reduction):
        loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        z, y = ctx.inputs
        reduction = ctx.attrs["reduction"]
        n = z.size if reduction == "mean" else 1
        need_z, need_y = ctx.needs_input_grad
        dz = BinaryCrossEntropyWithLogitsBackward.apply(z, y, grad, n=n) if need_z else None
        dy = -z * _scale(grad, reduction, z.size) if need_y else None
        return dz, dy


class BinaryCrossEntropyWithLogitsBackward(Function):
    """out = (σ(z) - y) · g / n: the logits' gradient as one node (g the upstream gradient,
    n the mean's count or 1).   dz = grad · g · σ(z)(1 - σ(z)) / n,  dy = -grad · g / n,
    dg = grad · (σ(z) - y) / n (summed to g's shape by the engine)."""

    @staticmethod
    def forward(ctx, z, y, g, n):
        out = _sigmoid(z)
        out -= y
        out *= g
        if n != 1:
            out /= n  # divided last, so that for g = 1 this is exactly (σ(z) - y)/n
        return out

    @staticmethod
    def backward(ctx, grad):
        z, y, g = ctx.inputs
        n = float(ctx.attrs["n"])
        need_z, need_y, need_g = ctx.needs_input_grad
        s = z.sigmoid()
        gn = grad * g / n
        return ((gn * s * (1.0 - s)) if need_z else None,
                (-gn) if need_y else None,
                (grad * (s - y) / n) if need_g else None)


def _clamped_logs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max(log p, -100) and max(log(1 - p), -100), without warnings at p = 0 or 1."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), _LOG_MIN), np.maximum(np.log1p(-p), _LOG_MIN)


def _clamped_log(q: Tensor) -> Tensor:
    """max(log q, -100) in Tensor ops, with zero gradient where the clamp holds (and no inf
    anywhere, so second derivatives stay finite)."""
    with np.errstate(divide="ignore"):
        inside = wrap(np.log(q._data) > _LOG_MIN)
    return where(inside, where(inside, q, 1.0).log(), _LOG_MIN)


class BinaryCrossEntropy(Function):
    """loss = -[y · max(log p, -100) + (1-y) · max(log(1-p), -100)] on probabilities p.

    The clamp (PyTorch's convention) keeps p = 0 or 1 finite: each element's loss is at most
    100. dp = grad · (p - y) / max(p(1-p), 1e-12) — the exact derivative wherever p(1-p) >
    1e-12, finite everywhere on [0, 1]; dy = grad · (max(log(1-p), -100) - max(log p, -100)).
    Prefer the logits form: when σ(z) rounds to 0 or 1 the gradient through σ vanishes.
    """

    @staticmethod
    def forward(ctx, p, y, reduction):
        log_p, log_1mp = _clamped_logs(p)
        loss = -(y * log_p + (1.0 - y) * log_1mp)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.inputs
        s = _scale(grad, ctx.attrs["reduction"], p.size)
        need_p, need_y = ctx.needs_input_grad
        dp = dy = None
        if need_p:
            dp = s * (p - y) / (p * (1.0 - p)).maximum(_DENOM_MIN)
        if need_y:
            dy = s * (_clamped_log(1.0 - p) - _clamped_log(p))
        return dp, dy


class CrossEntropy(Function):
    """loss_i = logsumexp(z_i) - z_i[label_i] for logits z of shape (N, C) and integer labels
    of shape (N,); computed with the row maximum subtracted, so finite for any finite z.
    dz_i = grad_i · (softmax(z_i) - onehot(label_i))  (divided by N for "mean"); labels get no
    gradient. One fused node rather than log_softmax + gather: one op in the graph, and the
    (N, C) log-probabilities are never materialised in backward."""

    @staticmethod
    def forward(ctx, z, labels, reduction):
        shifted = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=1))
        loss = lse - shifted[np.arange(z.shape[0]), labels]
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        z, labels = ctx.inputs
        reduction = ctx.attrs["reduction"]
        n = z.shape[0]
        onehot = np.zeros(z.shape, dtype=z.dtype)
        onehot[np.arange(n), labels._data] = 1.0
        g = grad.reshape(n, 1) if reduction == "none" else _scale(grad, reduction, n)
        return (z.softmax(axis=1) - wrap(onehot)) * g, None


class MSELoss(Function):
    """loss = (x - y)² elementwise, then reduced.   dx = grad · 2(x - y),  dy = -dx
    (divided by n for "mean")."""

    @staticmethod
    def forward(ctx, x, y, reduction):
        d = x - y
        d *= d
        return _reduce(d, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.inputs
        need_x, need_y = ctx.needs_input_grad
        s = grad * (2.0 / x.size) if ctx.attrs["reduction"] == "mean" else grad * 2.0
        dx = (x - y) * s
        return (dx if need_x else None), (-dx if need_y else None)


# -- the functional face -----------------------------------------------------------------

def _check_reduction(reduction: Any, fn: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of 'mean', 'sum', 'none'; "
                         f"got {reduction!r}")
    return reduction


def _pair(pred: Any, target: Any, fn: str, pred_name: str) -> tuple[Tensor, Tensor]:
    """Prediction and target as float Tensors of one shape and the prediction's dtype."""
    if not isinstance(pred, Tensor):
        pred = Tensor(pred)
    if pred._data.dtype.kind != "f":
        raise TypeError(f"{fn}: {pred_name} must be floating point, got dtype {pred._data.dtype}")
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


def binary_cross_entropy_with_logits(logits: Tensor, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against ``target`` in [0, 1], computed from the
    logits: finite loss and gradient for any finite logit (±1000 included). The gradient wrt
    the logits is (sigmoid(z) - y)/m for the mean over m elements."""
    reduction = _check_reduction(reduction, "binary_cross_entropy_with_logits")
    z, y = _pair(logits, target, "binary_cross_entropy_with_logits", "logits")
    return BinaryCrossEntropyWithLogits.apply(z, y, reduction=reduction)


def binary_cross_entropy(probs: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``probs`` (in [0, 1]) against ``target``, as in
    the tutorial. Each log is clamped at -100, so probabilities of exactly 0 or 1 give a finite
    loss (at most 100 per element) and a finite gradient. Probabilities outside [0, 1]:
    ValueError. Prefer :func:`binary_cross_entropy_with_logits`, which is exact and keeps a
    useful gradient where sigmoid saturates."""
    reduction = _check_reduction(reduction, "binary_cross_entropy")
    p, y = _pair(probs, target, "binary_cross_entropy", "probs")
    if p._data.size and (p._data.min() < 0.0 or p._data.max() > 1.0):
        raise ValueError(f"binary_cross_entropy: probs must lie in [0, 1], got values in "
                         f"[{p._data.min()}, {p._data.max()}]; pass logits to "
                         f"binary_cross_entropy_with_logits instead")
    return BinaryCrossEntropy.apply(p, y, reduction=reduction)


def cross_entropy(logits: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of ``logits`` (N, C) against integer class ``labels`` (N,) in
    [0, C): the mean (or sum, or per-example) of -log softmax(logits)[i, labels[i]], computed
    stably from the logits. Labels out of range: IndexError (as PyTorch)."""
    fn = "cross_entropy"
    reduction = _check_reduction(reduction, fn)
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    if logits._data.dtype.kind != "f":
        raise TypeError(f"{fn}: logits must be floating point, got dtype {logits._data.dtype}")
    lab = labels._data if isinstance(labels, Tensor) else np.asarray(labels)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"{fn}: labels must be integer class indices, got dtype {lab.dtype}")
    if logits.ndim != 2 or lab.shape != logits.shape[:1]:
        raise ValueError(f"{fn}: expected logits of shape (N, C) and labels of shape (N,), got "
                         f"logits {logits.shape} and labels {lab.shape}")
    n, c = logits.shape
    if n and (lab.min() < 0 or lab.max() >= c):
        bad = lab[(lab < 0) | (lab >= c)][0]
        raise IndexError(f"{fn}: label {bad} is out of range for {c} classes (0..{c - 1})")
    if isinstance(labels, Tensor):
        lab_t = labels
    else:
        lab_t = wrap(lab)
        lab_t.name = "labels"  # how the constant reads in a rendered graph
    return CrossEntropy.apply(logits, lab_t, reduction=reduction)


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (pred - target)², averaged (or summed, or per element)."""
    reduction = _check_reduction(reduction, "mse_loss")
    x, y = _pair(pred, target, "mse_loss", "pred")
    return MSELoss.apply(x, y, reduction=reduction)


__all__ = ["BinaryCrossEntropyWithLogits", "BinaryCrossEntropy", "CrossEntropy", "MSELoss",
           "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy",
           "mse_loss"]
