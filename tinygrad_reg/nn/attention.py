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
from ..errors import ArgumentError, DTypeError, ShapeError
from ..ops.activation import softmax
from ..ops.attention import packed_attention
from ..ops.linalg import linear
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


def _mask(mask: Any, name: str, caller: str) -> Tensor | None:
    if mask is None:
        return None
    m = _as_tensor(mask)
    if m.dtype != np.bool_ and not np.issubdtype(m.dtype, np.floating):
        raise DTypeError(f"{caller}: only bool and floating types of {name} are "
                         f"supported (as PyTorch), got {m.dtype}; pass mask.bool() (True: "
                         f"masked out) or a float mask added to the scores")
    return m


def _masks(attn_mask: Any, key_padding_mask: Any, n: int, h: int, L: int, S: int,
           batched: bool, caller: str) -> list[Tensor]:
    """attn_mask ((L, S) or (n·h, L, S)) and key_padding_mask ((n, S)), each reshaped to
    broadcast against the scores (n, h, L, S)."""
    masks = []
    am = _mask(attn_mask, "attn_mask", caller)
    if am is not None:
        if am.ndim == 2 and am.shape != (L, S):
            raise ShapeError(f"{caller}: the shape of the 2D attn_mask is "
                             f"{am.shape}, but should be {(L, S)} (target length, source length)")
        if am.ndim == 3:
            if am.shape != (n * h, L, S):
                raise ShapeError(f"{caller}: the shape of the 3D attn_mask is "
                                 f"{am.shape}, but should be {(n * h, L, S)} (batch · "
                                 f"num_heads, target length, source length)")
            am = am.reshape(n, h, L, S)
        elif am.ndim != 2:
            raise ShapeError(f"{caller}: attn_mask's dimension {am.ndim} is not "
                             f"supported; give (L, S) or (batch · num_heads, L, S)")
        masks.append(am)
    kpm = _mask(key_padding_mask, "key_padding_mask", caller)
    if kpm is not None:
        want = (n, S) if batched else (S,)
        if kpm.shape != want:
            raise ShapeError(f"{caller}: expecting key_padding_mask shape of {want} "
                             f"(batch, source length), but got {kpm.shape}")
        masks.append(kpm.reshape(n, 1, 1, S))
    return masks


def _check_qkv(query: Tensor, key: Tensor, value: Tensor, embed_dim: int, batch_dim: int,
               caller: str) -> bool:
    """Whether the inputs are batched; ShapeError for shapes that do not fit."""
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ShapeError(f"{caller}: query, key and value must all be 3-D (batched) or all 2-D "
                         f"(unbatched), got shapes {query.shape}, {key.shape}, {value.shape}")
    if query.shape[-1] != embed_dim or key.shape[-1] != embed_dim or \
            value.shape[-1] != embed_dim:
        raise ShapeError(f"{caller}: was expecting embedding dimension of {embed_dim}, but got "
                         f"query, key, value shapes {query.shape}, {key.shape}, {value.shape}")
    if key.shape[:-1] != value.shape[:-1]:
        raise ShapeError(f"{caller}: key shape {key.shape} does not match value shape "
                         f"{value.shape}")
    if query.ndim == 3 and query.shape[batch_dim] != key.shape[batch_dim]:
        raise ShapeError(f"{caller}: query and key have different batch sizes, "
                         f"{query.shape[batch_dim]} and {key.shape[batch_dim]} (shapes "
                         f"{query.shape}, {key.shape}; the batch is dim {batch_dim})")
    return query.ndim == 3


def _in_projection(query: Tensor, key: Tensor, value: Tensor, w: Tensor, b: Tensor | None,
                   num_heads: int) -> tuple[Tensor, ...]:
    """Q, K, V as (N, h, L, d) from (N, L, E) inputs: one matmul for self-attention."""
    E = query.shape[-1]
    if query is key and key is value:
        q, k, v = OPS["chunk"](linear(query, w, b), 3, -1)
    else:
        bs = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        q, k, v = (linear(x, w[i * E:(i + 1) * E], bs[i])
                   for i, x in enumerate((query, key, value)))
    n, d = query.shape[0], E // num_heads
    return tuple(t.reshape(n, t.shape[1], num_heads, d).transpose(1, 2) for t in (q, k, v))


def attend(query: Any, key: Any, value: Any, num_heads: int, in_proj_weight: Tensor,
           in_proj_bias: Tensor | None, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
           dropout_p: float, key_padding_mask: Any, need_weights: bool, attn_mask: Any,
           average_attn_weights: bool, is_causal: bool, batch_first: bool,
           caller: str) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on (L, N, E) inputs, or (N, L, E) with ``batch_first``, or (L, E):
    what :func:`multi_head_attention_forward` and ``nn.MultiheadAttention`` compute."""
    query, key, value = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    E = in_proj_weight.shape[1]
    batched = _check_qkv(query, key, value, E, 0 if batch_first else 1, caller)
    if is_causal and attn_mask is None:
        raise ArgumentError(f"{caller}: need attn_mask if specifying the is_causal hint (as "
                            f"PyTorch): a causal mask, True above the diagonal, e.g. "
                            f"tg.ones(L, L, dtype=bool).triu(1)")
    if not batched:
        query, key, value = (t.unsqueeze(0) for t in (query, key, value))
    elif not batch_first:
        query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    n, L, S = query.shape[0], query.shape[1], key.shape[1]
    masks = _masks(attn_mask, key_padding_mask, n, num_heads, L, S, batched, caller)
    if query is key and key is value and not need_weights and not dropout_p > 0 and \
            len(masks) <= 1 and all(m.dtype == np.bool_ for m in masks):
        # self-attention, one bool mask at most: the packed projection's one-node form
        x = linear(query, in_proj_weight, in_proj_bias)
        out = packed_attention(x, num_heads, math.sqrt(1.0 / (E // num_heads)),
                               masks[0] if masks else None)
        return linear(out, out_proj_weight, out_proj_bias), None  # (batched, batch_first)
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, num_heads)
    scores = (q * math.sqrt(1.0 / (E // num_heads))) @ k.mT
    for m in masks:  # bool True: masked out (-inf); float: added
        scores = OPS["where"](m, -np.inf, scores) if m.dtype == np.bool_ else scores + m
    weights = softmax(scores, -1) if need_weights or not masks else safe_softmax(scores)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    out = linear((weights @ v).transpose(1, 2).reshape(n, L, E), out_proj_weight, out_proj_bias)
    out = out.squeeze(0) if not batched else out if batch_first else out.transpose(0, 1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(1)
    return out, (weights if batched else weights.squeeze(0))


def multi_head_attention_forward(query: Any, key: Any, value: Any, embed_dim_to_check: int,
                                 num_heads: int, in_proj_weight: Tensor,
                                 in_proj_bias: Tensor | None, bias_k: Any, bias_v: Any,
                                 add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask: Any = None,
                                 need_weights: bool = True, attn_mask: Any = None,
                                 use_separate_proj_weight: bool = False,
                                 q_proj_weight: Any = None, k_proj_weight: Any = None,
                                 v_proj_weight: Any = None, static_k: Any = None,
                                 static_v: Any = None, average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """PyTorch's ``F.multi_head_attention_forward``, the function behind
    ``nn.MultiheadAttention``, on (L, N, E) inputs (or unbatched (L, E)):

        [Q | K | V] = inputs · in_proj_weightᵀ + in_proj_bias,  split into h heads of d = E/h
        headᵢ = softmax(Qᵢ Kᵢᵀ / √d + masks) Vᵢ,   out = [head₁ | … | headₕ] Woᵀ + bo

    Masks (True = masked out, float added): ``attn_mask`` (L, S) or (N·h, L, S),
    ``key_padding_mask`` (N, S). ``dropout_p`` applies to the weights when ``training``.
    Returns ``(out, weights)`` as :meth:`MultiheadAttention.forward`; differentiable in every
    tensor. ``bias_k``/``bias_v``, ``add_zero_attn``, separate projection weights and
    ``static_k``/``static_v`` are not built and are refused."""
    caller = "multi_head_attention_forward"
    unbuilt = [name for name, v in (("bias_k", bias_k), ("bias_v", bias_v),
                                    ("add_zero_attn", add_zero_attn or None),
                                    ("use_separate_proj_weight", use_separate_proj_weight or None),
                                    ("static_k", static_k), ("static_v", static_v))
               if v is not None]
    if unbuilt:
        raise NotImplementedError(f"{caller}: {', '.join(unbuilt)} are not built here; "
                                  f"leave them None/False (one packed in_proj_weight)")
    if in_proj_weight.shape != (3 * embed_dim_to_check, embed_dim_to_check) or \
            num_heads <= 0 or embed_dim_to_check % num_heads:
        raise ShapeError(f"{caller}: in_proj_weight must be (3·E, E) = "
                         f"{(3 * embed_dim_to_check, embed_dim_to_check)} with E divisible by "
                         f"num_heads={num_heads}, got {tuple(in_proj_weight.shape)}")
    return attend(query, key, value, num_heads, in_proj_weight, in_proj_bias, out_proj_weight,
                  out_proj_bias, dropout_p if training else 0.0, key_padding_mask, need_weights,
                  attn_mask, average_attn_weights, is_causal, False, caller)


__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]
