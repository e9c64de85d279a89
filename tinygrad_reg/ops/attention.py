"""Multi-head self-attention on a packed projection as one node: the core of
``nn.MultiheadAttention`` (and so of the transformer layers) when query, key and value are
one tensor projected by one matrix.

``x`` (N, L, 3E) holds [Q | K | V] side by side (the in-projection's output); with h heads of
d = E/h columns, head i's queries are Q's columns i·d..(i+1)·d, and so for K and V:

    Pᵢ = softmax(Qᵢ Kᵢᵀ · scale, masked)       (N, L, L) per head; mask True: -inf
    out = [P₁V₁ | … | PₕVₕ]                    (N, L, E): the heads side by side again

A row whose scores are all -inf (every key masked) gets zero weights, so its output is 0
and no nan reaches the gradients (PyTorch's ``_safe_softmax``). The composite form of the
same computation (chunk, reshape and transpose into heads, matmul, where, softmax, matmul,
transpose and reshape back) is about 15 nodes forward and as many backward; here it is one
node each way, with the heads read and written through strided views instead of copies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..autograd.modes import GRAD, mode
from ..errors import DTypeError, ShapeError
from . import onnx_rules
from .jit_rules import Lowered
from .numerics import row_max, row_sum


def _heads(a: np.ndarray, part: int, heads: int) -> np.ndarray:
    """The ``part``-th third of a (N, L, 3E) array as a (N, h, L, d) view."""
    n, length, e3 = a.shape
    e = e3 // 3
    return a[..., part * e:(part + 1) * e].reshape(n, length, heads, e // heads) \
        .transpose(0, 2, 1, 3)


def _attention_kernel(x: np.ndarray, mask: Any, heads: int, scale: float, out: np.ndarray,
                      qs: np.ndarray, kt: np.ndarray, w: np.ndarray) -> None:
    """The forward into given arrays: ``qs`` = Q·scale (N, h, L, d), ``kt`` = Kᵀ
    (N, h, d, L), ``w`` = the attention weights P (N, h, L, L), ``out`` (N, L, E); all
    C-contiguous. One function for :class:`PackedAttention`'s forward and its jit
    lowering, so the two give the same bits."""
    np.multiply(_heads(x, 0, heads), scale, out=qs)
    np.copyto(kt, _heads(x, 1, heads).transpose(0, 1, 3, 2))
    np.matmul(qs, kt, out=w)
    if mask is not None:
        np.copyto(w, -np.inf, where=mask)
    m = row_max(w)
    dead = None
    if mask is not None:
        dead = m == -np.inf
        if dead.any():  # every key masked: weights 0 (not nan)
            m[dead] = 0.0
        else:
            dead = None
    w -= m
    np.exp(w, out=w)
    s = row_sum(w)
    if dead is not None:
        s[dead] = 1.0
    w /= s
    n, length, e = out.shape
    np.matmul(w, _heads(x, 2, heads), out=out.reshape(n, length, heads, e // heads)
              .transpose(0, 2, 1, 3))


def _attention_grad_kernel(g: np.ndarray, x: np.ndarray, qs: np.ndarray, w: np.ndarray,
                           heads: int, scale: float, out: np.ndarray,
                           dp: np.ndarray, vt: np.ndarray) -> None:
    """dx (N, L, 3E) into ``out`` from the output's gradient g (N, L, E) and what the
    forward kept; ``dp`` (N, h, L, L) and ``vt`` (N, h, d, L) scratch arrays. One function for
    :class:`PackedAttentionBackward` and its jit lowering."""
    n, length, e = g.shape
    gh = g.reshape(n, length, heads, e // heads).transpose(0, 2, 1, 3)
    np.matmul(w.transpose(0, 1, 3, 2), gh, out=_heads(out, 2, heads))  # dV = Pᵀ g
    np.copyto(vt, _heads(x, 2, heads).transpose(0, 1, 3, 2))  # (numpy's batched matmul
    # is about twice as slow with a right operand whose rows are strided: copy it)
    np.matmul(gh, vt, out=dp)  # dP = g Vᵀ
    r = row_sum(np.multiply(dp, w))
    dp -= r
    dp *= w  # dS = P ⊙ (dP - Σⱼ dP ⊙ P)
    dq = _heads(out, 0, heads)
    np.matmul(dp, _heads(x, 1, heads), out=dq)  # dQ = dS K · scale
    dq *= scale
    np.matmul(dp.transpose(0, 1, 3, 2), qs, out=_heads(out, 1, heads))  # dK = dSᵀ Q·scale


def _graph_grad(grad: Any, x: Any, mask: Any, heads: int, scale: float) -> Any:
    """dx in Tensor ops (the formulas of :class:`PackedAttention`), recomputing the weights
    from x so that everything stays connected to it: for a recorded backward."""
    from .activation import softmax
    from .elementwise import where
    from .shape import cat

    n, length, e3 = x.shape
    e = e3 // 3

    def split(t: Any) -> Any:
        return t.reshape(n, length, heads, e // heads).transpose(1, 2)

    def merge(t: Any) -> Any:
        return t.transpose(1, 2).reshape(n, length, e)

    q, k, v = (split(x[..., i * e:(i + 1) * e]) for i in range(3))
    qs = q * scale
    scores = qs @ k.mT
    if mask is None:
        p = softmax(scores, -1)
    else:  # a row with every key masked: zeros (and no nan) through both wheres
        scores = where(mask, -np.inf, scores)
        dead = (scores == -np.inf).all(-1, keepdim=True)
        p = where(dead, 0.0, softmax(where(dead, 0.0, scores), -1))
    gh = split(grad)
    dp = gh @ v.mT
    ds = p * (dp - (dp * p).sum(-1, keepdim=True))
    return cat([merge((ds @ k) * scale), merge(ds.mT @ qs), merge(p.mT @ gh)], -1)


class PackedAttention(Function):
    """out = [P₁V₁ | … | PₕVₕ], Pᵢ = safe-softmax(Qᵢ Kᵢᵀ · scale with -inf where ``mask``
    is True) from the packed x = [Q | K | V] (N, L, 3E) (see the module docstring).
    Gradient, per head with dS = P ⊙ (dP - rowsum(dP ⊙ P)), dP = g Vᵀ:
    dQ = dS K · scale, dK = dSᵀ Q · scale, dV = Pᵀ g, side by side as dx (N, L, 3E);
    masked entries (P = 0) and fully masked rows pass no gradient. ``mask``: a bool array
    broadcasting against (N, h, L, L) (no gradient). The first-order backward is one node
    (:class:`PackedAttentionBackward`); a recorded backward (create_graph=True) is the
    Tensor-op form of the same formulas, differentiable again."""

    @staticmethod
    def forward(ctx, x, mask=None, *, heads, scale):
        n, length, e3 = x.shape
        e = e3 // 3
        d = e // heads
        qs = np.empty((n, heads, length, d), x.dtype)
        kt = np.empty((n, heads, d, length), x.dtype)
        w = np.empty((n, heads, length, length), x.dtype)
        out = np.empty((n, length, e), x.dtype)
        _attention_kernel(x, mask, heads, scale, out, qs, kt, w)
        if ctx.needs_input_grad and ctx.needs_input_grad[0]:
            ctx.save_for_backward(x, mask, qs, w)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, mask, qs, w = ctx.saved_tensors
        heads, scale = ctx.attrs["heads"], ctx.attrs["scale"]
        if mode() & GRAD:  # the backward is being recorded: Tensor ops
            dx = _graph_grad(grad, x, mask, heads, scale)
        else:
            dx = PackedAttentionBackward.apply(grad, x, qs, w, heads=heads, scale=scale)
        return (dx,) if mask is None else (dx, None)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        heads, e = attrs["heads"], out.shape[-1]
        shape = g.ints([0, 0, heads, e // heads])  # (0: the input's dim, the batch kept)
        q, k, v = g.node("Split", [inputs[0], g.ints([e, e, e])], outputs=3, axis=-1)
        q, k, v = (g.node("Transpose", [g.node("Reshape", [t, shape])], perm=perm)
                   for t, perm in ((q, [0, 2, 1, 3]), (k, [0, 2, 3, 1]), (v, [0, 2, 1, 3])))
        scores = g.node("MatMul", [g.node("Mul", [q, onnx_rules.scalar(
            g, attrs["scale"], out)]), k])
        if len(inputs) == 2:  # masked: -inf, and a row with every key masked gets zeros
            scores = g.node("Where", [inputs[1], onnx_rules.scalar(g, -np.inf, out), scores])
            top = g.reduce("ReduceMax", scores, (-1,), True, 4)
            dead = g.node("Equal", [top, onnx_rules.scalar(g, -np.inf, out)])
            weights = g.node("Softmax", [scores], axis=-1)  # (nan in a dead row, then 0)
            weights = g.node("Where", [dead, onnx_rules.scalar(g, 0.0, out), weights])
        else:
            weights = g.node("Softmax", [scores], axis=-1)
        heads_out = g.node("Transpose", [g.node("MatMul", [weights, v])], perm=[0, 2, 1, 3])
        return g.node("Reshape", [heads_out, g.ints([0, 0, e])])

    @staticmethod
    def lower(ins, out, attrs):
        # forward: _attention_kernel into the output and the three saved arrays
        # (Kᵀ into a scratch buffer); no lowering for a forward that saves nothing
        if "v2" not in attrs or "v3" not in attrs:
            return None
        x, qs = ins[0], attrs["v2"]
        mask = "{i1}" if len(ins) == 2 else "None"
        return Lowered((f"{{c0}}({{i0}}, {mask}, {{c1}}, {{c2}}, {{o}}, {{v2}}, {{t0}}, "
                        f"{{v3}})",), temps=((qs.shape[:2] + qs.shape[:1:-1], x.dtype),),
                       consts=(_attention_kernel, attrs["heads"], attrs["scale"]))


class PackedAttentionBackward(Function):
    """dx of :class:`PackedAttention` (its docstring has the formulas) from the output's
    gradient and what the forward kept (x, Q·scale, P), in one numpy pass. Only a
    first-order backward uses it, where no graph is recorded (a tg.jit trace records it
    as an op); a recorded backward uses the Tensor-op form. Its own backward is therefore
    never needed, and it refuses."""

    @staticmethod
    def forward(ctx, g, x, qs, w, *, heads, scale):
        out = np.empty(x.shape, np.result_type(g, x))
        dp = np.empty(w.shape, w.dtype)
        vt = np.empty(qs.shape[:2] + qs.shape[:1:-1], qs.dtype)
        _attention_grad_kernel(g, x, qs, w, heads, scale, out, dp, vt)
        return out

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("PackedAttentionBackward: a first-order kernel, used only when no "
                           "graph is recorded; differentiate PackedAttention itself (its "
                           "backward switches to Tensor ops under create_graph=True)")

    @staticmethod
    def lower(ins, out, attrs):
        # forward: _attention_grad_kernel into the output and a scratch array
        qs, w = ins[2], ins[3]
        return Lowered(("{c0}({i0}, {i1}, {i2}, {i3}, {c1}, {c2}, {o}, {t0}, {t1})",),
                       temps=((w.shape, w.dtype), (qs.shape[:2] + qs.shape[:1:-1], qs.dtype)),
                       consts=(_attention_grad_kernel, attrs["heads"], attrs["scale"]))


def packed_attention(x: Any, heads: int, scale: float, mask: Any = None) -> Any:
    """Multi-head self-attention of a packed (N, L, 3E) projection (see
    :class:`PackedAttention`); ``mask`` a bool Tensor broadcasting against (N, h, L, L),
    True where a key is masked out."""
    if x.ndim != 3 or heads < 1 or x.shape[-1] % (3 * heads):
        raise ShapeError(f"packed_attention: x must be (N, L, 3E) with E a multiple of "
                         f"heads={heads}, got shape {x.shape}")
    if mask is not None and mask.dtype != np.bool_:
        raise DTypeError(f"packed_attention: the mask must be bool (True: masked out), got "
                         f"{mask.dtype}; add a float mask to the scores with the general "
                         f"path (nn.MultiheadAttention does)")
    if mask is None:
        return PackedAttention.apply(x, heads=heads, scale=scale)
    return PackedAttention.apply(x, mask, heads=heads, scale=scale)


__all__ = ["PackedAttention", "PackedAttentionBackward", "packed_attention"]
