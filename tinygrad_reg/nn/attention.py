"""Attention: ``scaled_dot_product_attention``, PyTorch's ``F.scaled_dot_product_attention``,
composed of differentiable ops (matmul, softmax, masks, dropout), so it is differentiable any
number of times.

attention(q, k, v) = softmax(q kᵀ · scale + mask) v, scale = 1/√(q's last dim) by default;
query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import OPS, Tensor
from ..errors import ArgumentError, ShapeError
from ..ops.activation import softmax
from ..regularization import dropout


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dim, except that a row whose scores are all -inf gives zeros
    instead of nan (PyTorch's ``_safe_softmax``). Those rows are set to 0 before the softmax
    and their weights to 0 after it, so the gradient there is 0, not nan."""
    dead = (scores == -np.inf).all(-1, keepdim=True)
    weights = softmax(OPS["where"](dead, 0.0, scores), -1)
    return OPS["where"](dead, 0.0, weights)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Any = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None, *,
                                 enable_gqa: bool = False, generator: Any = None) -> Tensor:
    """softmax(q kᵀ · scale + mask) v over the last two dims (PyTorch's
    ``F.scaled_dot_product_attention``): ``attn_mask`` a bool tensor (True: attend; False
    scores become -inf) or a float tensor added to the scores, broadcast to (..., L, S);
    ``is_causal`` masks the upper triangle (query i attends to keys 0..i; not together with
    attn_mask); ``dropout_p`` drops attention weights (as :func:`F.dropout`, scaled by
    1/(1 - p)); ``enable_gqa`` lets key and value have fewer heads (dim -3) than the query,
    each shared by a group of query heads. A query whose scores are all -inf (a fully masked
    row) gets zero weights, so its output row is 0 and no nan reaches the gradients, as
    PyTorch 2.13 (which computes this softmax with its ``_safe_softmax``)."""
    q, k, v = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"scaled_dot_product_attention: query, key and value need at least 2 "
                         f"dims, got shapes {q.shape}, {k.shape}, {v.shape}")
    if is_causal and attn_mask is not None:
        raise ArgumentError("scaled_dot_product_attention: give attn_mask or is_causal=True, "
                            "not both (as PyTorch)")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        heads, kv_heads = q.shape[-3], k.shape[-3]
        if kv_heads == 0 or heads % kv_heads or v.shape[-3] != kv_heads:
            raise ShapeError(f"scaled_dot_product_attention: with enable_gqa the query's "
                             f"{heads} heads must be a multiple of the key's and value's "
                             f"({k.shape[-3]}, {v.shape[-3]})")
        k = OPS["repeat_interleave"](k, heads // kv_heads, k.ndim - 3)
        v = OPS["repeat_interleave"](v, heads // kv_heads, v.ndim - 3)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ k.mT) * s
    L, S = q.shape[-2], k.shape[-2]
    if is_causal:
        attn_mask = Tensor(np.tril(np.ones((L, S), dtype=bool)))
    if attn_mask is not None:
        mask = _as_tensor(attn_mask)
        if mask.dtype == np.bool_:
            scores = OPS["where"](mask, scores, -np.inf)
        else:
            scores = scores + mask
        weights = safe_softmax(scores)
    else:  # (a causal mask leaves key 0 to every query: no row is fully masked)
        weights = softmax(scores, -1)
    if dropout_p:
        weights = dropout(weights, dropout_p, training=True, generator=generator)
    return weights @ v


__all__ = ["scaled_dot_product_attention"]
