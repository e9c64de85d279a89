"""Multi-head attention and the transformer encoder, as PyTorch's ``nn.MultiheadAttention``,
``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder``: the same arguments, defaults,
parameter names and shapes (a PyTorch ``state_dict`` loads strictly), and the same values.

Multi-head attention with h heads of width d = E / h, on query (L, E), key (S, E), value (S, E):

    [Q | K | V] = [query Wqᵀ + bq | key Wkᵀ + bk | value Wvᵀ + bv]   (W = in_proj_weight, (3E, E))
    headᵢ = softmax(Qᵢ Kᵢᵀ / √d + mask) Vᵢ                           (Qᵢ: the i-th d columns)
    out = [head₁ | … | headₕ] Woᵀ + bo                                 (out_proj)

Masks follow PyTorch's module convention, the OPPOSITE of ``F.scaled_dot_product_attention``'s:
a bool ``attn_mask`` or ``key_padding_mask`` marks with True the positions NOT to attend to; a
float mask is added to the scores (-inf excludes).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..errors import ArgumentError
from ..ops.activation import gelu, relu
from . import init as _init
from .attention import attend
from .containers import ModuleList
from .dropout import Dropout
from .layers import Linear, _float_dtype
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class MultiheadAttention(Module):
    """``nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
    add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None, batch_first=False,
    device=None, dtype=None)``: see the module docstring for the formula.

    Parameters (PyTorch's names and initial values): ``in_proj_weight`` (3E, E),
    xavier-uniform; ``in_proj_bias`` (3E,), zeros; ``out_proj`` a :class:`Linear` (E, E)
    (PyTorch's ``NonDynamicallyQuantizableLinear``) whose bias starts at zero. ``dropout``
    drops attention weights while training. Inputs are (L, N, E), or (N, L, E) with
    ``batch_first``, or unbatched (L, E). ``add_bias_kv``, ``add_zero_attn`` and a
    ``kdim``/``vdim`` other than ``embed_dim`` are not built and are refused.
    ``generator``: the ``np.random.Generator`` the initial values are drawn from."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None,
                 dtype: Any = None, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentError(f"MultiheadAttention: embed_dim and num_heads must be greater "
                                f"than 0, got embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ArgumentError(f"MultiheadAttention: embed_dim must be divisible by num_heads, "
                                f"got embed_dim={embed_dim}, num_heads={num_heads}")
        for flag, what in ((add_bias_kv, "add_bias_kv=True"), (add_zero_attn,
                                                                "add_zero_attn=True")):
            if flag:
                raise NotImplementedError(f"MultiheadAttention: {what} is not built here; "
                                          f"leave it False")
        if kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError(f"MultiheadAttention: kdim/vdim other than embed_dim "
                                      f"({kdim}, {vdim} vs {embed_dim}; separate q/k/v "
                                      f"projections) are not built here; project key and "
                                      f"value to embed_dim first")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.vdim = self.embed_dim
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        dt = _float_dtype(dtype, device, "MultiheadAttention")
        E = self.embed_dim
        self.in_proj_weight = Parameter(np.zeros((3 * E, E), dtype=dt))
        self.in_proj_bias = Parameter(np.zeros(3 * E, dtype=dt)) if bias else None
        self.out_proj = Linear(E, E, bias=bias, dtype=dt, generator=generator)
        _init.xavier_uniform_(self.in_proj_weight, generator=generator)
        if bias:
            _init.zeros_(self.out_proj.bias)

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """Returns ``(out, weights)``: ``out`` shaped as ``query``; ``weights`` the attention
        weights (N, L, S) averaged over heads (``average_attn_weights``) or (N, h, L, S), or
        None when ``need_weights=False``. ``attn_mask`` (L, S) or (N·h, L, S) and
        ``key_padding_mask`` (N, S): bool True = masked out, or float added to the scores.
        ``is_causal`` is a hint, as PyTorch: ``attn_mask`` must still be given (and causal).

        A query with every key masked out gets nan weights and a nan output row when
        ``need_weights=True``, and zero weights (output row = ``out_proj.bias``) when
        ``need_weights=False``, which is what PyTorch 2.13 computes on its ordinary path
        (training, or gradients on). PyTorch's inference fast path (eval mode, no gradients,
        ``batch_first``) gives nan in both cases."""
        return attend(query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
                      self.out_proj.weight, self.out_proj.bias,
                      self.dropout if self.training else 0.0, key_padding_mask, need_weights,
                      attn_mask, average_attn_weights, is_causal, self.batch_first,
                      "MultiheadAttention")

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": relu, "gelu": gelu}


class TransformerEncoderLayer(Module):
    """``nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    device=None, dtype=None)``: self-attention and a feed-forward block, each with a residual
    connection and a LayerNorm (``norm1``, ``norm2``)::

        post-norm (default): x = norm1(x + sa(x));    x = norm2(x + ff(x))
        norm_first:          x = x + sa(norm1(x));    x = x + ff(norm2(x))
        sa(x) = dropout1(self_attn(x, x, x)[0])
        ff(x) = dropout2(linear2(dropout(act(linear1(x)))))

    ``activation``: "relu", "gelu" or a callable. Parameter names as PyTorch's
    (``self_attn.in_proj_weight``, ``linear1.weight``, ``norm1.weight``, ...)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ArgumentError(f"TransformerEncoderLayer: activation should be relu/gelu, "
                                    f"not {activation}")
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise ArgumentError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or "
                                f"a callable, got {type(activation).__name__}")
        dt = _float_dtype(dtype, device, "TransformerEncoderLayer")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dt,
                                            generator=generator)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dt, generator=generator)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dt, generator=generator)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any,
                  is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        """``src`` (L, N, E), (N, L, E) with ``batch_first``, or (L, E); ``src_mask`` and
        ``src_key_padding_mask`` as :meth:`MultiheadAttention.forward`'s ``attn_mask`` and
        ``key_padding_mask`` (True = masked out)."""
        x = _as_tensor(src)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerEncoder(Module):
    """``nn.TransformerEncoder(encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
    mask_check=True)``: ``num_layers`` deep copies of ``encoder_layer`` (``layers.0``,
    ``layers.1``, ...; each starts from the same values, as PyTorch's), applied in turn, then
    ``norm`` if given. ``enable_nested_tensor`` (a PyTorch inference speed-up) and
    ``mask_check`` are accepted and change nothing here."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise ArgumentError(f"TransformerEncoder: encoder_layer must be a Module (a "
                                f"TransformerEncoderLayer), got {type(encoder_layer).__name__}")
        if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or \
                num_layers < 0:
            raise ArgumentError(f"TransformerEncoder: num_layers must be an int >= 0, got "
                                f"{num_layers!r}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor = bool(enable_nested_tensor)
        self.mask_check = bool(mask_check)

    def forward(self, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        """Each layer on the previous one's output with the same ``mask`` and
        ``src_key_padding_mask`` (True = masked out), then ``norm``."""
        x = _as_tensor(src)
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x


__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]
