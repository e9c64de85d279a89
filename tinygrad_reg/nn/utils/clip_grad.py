"""Gradient clipping, as PyTorch's ``torch.nn.utils``: ``clip_grad_norm_`` (rescale every
gradient so that their joint norm is at most ``max_norm``) and ``clip_grad_value_`` (clamp
each gradient element), and the two halves of the first, ``get_total_norm`` and
``clip_grads_with_norm_``.

Call them between ``loss.backward()`` and ``opt.step()``. They compute with Tensor ops
under ``no_grad`` and write into the ``.grad`` arrays with in-place ops, so a step that clips
replays exactly under ``tg.jit``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...autograd import no_grad
from ...ops.reduce import total_norm as _total_norm
from ...ops.shape import stack


def _tensors(what: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    if callable(getattr(tensors, "parameters", None)):
        raise TypeError(f"{what}: expected tensors (model.parameters()), got the module "
                        f"{type(tensors).__name__} itself; pass model.parameters()")
    if not isinstance(tensors, Iterable):
        raise TypeError(f"{what}: expected a Tensor or an iterable of Tensors, got "
                        f"{type(tensors).__name__}")
    out = list(tensors)
    for i, t in enumerate(out):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: element {i} is a {type(t).__name__}, not a Tensor")
    return out


def _norm_type(what: str, norm_type: Any) -> float:
    try:
        p = float(norm_type)  # (float("inf") from the string 'inf', as PyTorch)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: norm_type must be a number or 'inf', got "
                         f"{norm_type!r}") from None
    if math.isnan(p):
        raise ValueError(f"{what}: norm_type must be a number or 'inf', got nan")
    return p


def _vector_norm(t: Tensor, p: float) -> Tensor:
    """‖t‖_p over all elements, as ``torch.linalg.vector_norm``."""
    if p == math.inf:
        return t.abs().amax()
    if p == -math.inf:
        return t.abs().amin()
    return t.norm(p)


def _stacked_norm(ts: list[Tensor], p: float) -> Tensor:
    """‖(‖t₁‖_p, ‖t₂‖_p, …)‖_p, the norms in their common dtype."""
    norms = [_vector_norm(t, p) for t in ts]
    dt = np.result_type(*[n._data.dtype for n in norms])
    return _vector_norm(stack([n if n._data.dtype == dt else n.astype(dt) for n in norms]), p)


def get_total_norm(tensors: Any, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The p-norm of the norms of ``tensors`` (gradients, usually): the norm of all of their
    elements viewed as one vector (PyTorch's ``get_total_norm``), a 0-d tensor of their dtype.
    ``norm_type`` a number or ``"inf"`` (the largest absolute value). With
    ``error_if_nonfinite`` a NaN or infinite total is a RuntimeError (which reads a value:
    refused inside a function tg.jit traces). ``foreach`` is accepted and ignored. No
    tensors give 0.0."""
    ts = _tensors("get_total_norm", tensors)
    p = _norm_type("get_total_norm", norm_type)
    if not ts:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    with no_grad():
        if p == 2 and all(t._data.dtype == ts[0]._data.dtype for t in ts) and \
                ts[0]._data.dtype.kind == "f":  # one node (not a norm per tensor, stacked)
            total = _total_norm(ts)
        else:
            total = _stacked_norm(ts, p)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           f"non-finite, so it cannot be clipped. To disable this error and "
                           f"scale the gradients by the non-finite norm anyway, set "
                           f"`error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Any, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Multiply every ``.grad`` of ``parameters`` in place by min(1, max_norm / (total_norm +
    1e-6)) (PyTorch's ``clip_grads_with_norm_``; the factor is applied even when it is 1,
    as PyTorch does, so no value is read from the norm)."""
    params = _tensors("clip_grads_with_norm_", parameters)
    max_norm = float(max_norm)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef if coef._data.dtype == g._data.dtype else coef.astype(g._data.dtype))


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients of ``parameters`` (a tensor or an iterable of them) in place so
    that their total norm is at most ``max_norm`` (PyTorch's ``clip_grad_norm_``):

    total = ‖(‖g₁‖_p, ‖g₂‖_p, …)‖_p,   g ← g · min(1, max_norm / (total + 1e-6)).

    Returns ``total``, the norm before clipping (a 0-d tensor). ``norm_type``: a number or
    ``"inf"``; ``error_if_nonfinite`` raises on a NaN or infinite total (see
    :func:`get_total_norm`). Parameters without a gradient are skipped."""
    params = _tensors("clip_grad_norm_", parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every element of every ``.grad`` of ``parameters`` to [-clip_value, clip_value],
    in place (PyTorch's ``clip_grad_value_``)."""
    params = _tensors("clip_grad_value_", parameters)
    clip_value = float(clip_value)
    with no_grad():
        for p in params:
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)


__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]
