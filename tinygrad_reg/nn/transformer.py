"""Multi-head attention and the transformer, as PyTorch's ``nn.MultiheadAttention``,
``nn.TransformerEncoderLayer``/``TransformerEncoder``, ``nn.TransformerDecoderLayer``/
``TransformerDecoder`` and ``nn.Transformer``: the same arguments, defaults, parameter names
and shapes (a PyTorch ``state_dict`` loads strictly), and the same values.

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


def _activation(activation: Any, who: str) -> Callable[[Tensor], Tensor]:
    """"relu", "gelu" or a callable, as PyTorch's layers take it."""
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ArgumentError(f"{who}: activation should be relu/gelu, not {activation}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise ArgumentError(f"{who}: activation must be 'relu', 'gelu' or a callable, got "
                            f"{type(activation).__name__}")
    return activation


def _copies(layer: Any, num_layers: Any, who: str) -> ModuleList:
    """``num_layers`` deep copies of ``layer`` (each starting from the same values)."""
    if not isinstance(layer, Module):
        raise ArgumentError(f"{who}: the layer must be a Module, got {type(layer).__name__}")
    if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or \
            num_layers < 0:
        raise ArgumentError(f"{who}: num_layers must be an int >= 0, got {num_layers!r}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


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
        activation = _activation(activation, "TransformerEncoderLayer")
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
        self.layers = _copies(encoder_layer, num_layers, "TransformerEncoder")
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


class TransformerDecoderLayer(Module):
    """``nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    device=None, dtype=None)``: self-attention over the target, attention from the target to
    the encoder's output (``memory``), and a feed-forward block, each with a residual
    connection and a LayerNorm (``norm1``, ``norm2``, ``norm3``)::

        post-norm (default): x = norm1(x + sa(x));  x = norm2(x + mha(x, m));  x = norm3(x + ff(x))
        norm_first:          x = x + sa(norm1(x));  x = x + mha(norm2(x), m);  x = x + ff(norm3(x))
        sa(x)     = dropout1(self_attn(x, x, x)[0])
        mha(x, m) = dropout2(multihead_attn(x, m, m)[0])
        ff(x)     = dropout3(linear2(dropout(act(linear1(x)))))

    Parameter names as PyTorch's (``self_attn.*``, ``multihead_attn.*``, ``linear1``,
    ``linear2``, ``norm1``..``norm3``)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        activation = _activation(activation, "TransformerDecoderLayer")
        dt = _float_dtype(dtype, device, "TransformerDecoderLayer")
        kw = dict(dropout=dropout, bias=bias, batch_first=batch_first, dtype=dt,
                  generator=generator)
        self.self_attn = MultiheadAttention(d_model, nhead, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dt, generator=generator)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dt, generator=generator)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = activation

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any,
                  is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any,
                   is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        """``tgt`` (T, N, E) and ``memory`` (S, N, E) ((N, T, E), (N, S, E) with
        ``batch_first``; or unbatched); ``tgt_mask`` (T, T) and ``memory_mask`` (T, S) as
        :meth:`MultiheadAttention.forward`'s ``attn_mask``, the key padding masks (N, T) and
        (N, S) as its ``key_padding_mask`` (True = masked out)."""
        x, mem = _as_tensor(tgt), _as_tensor(memory)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), mem, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, mem, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))


class TransformerDecoder(Module):
    """``nn.TransformerDecoder(decoder_layer, num_layers, norm=None)``: ``num_layers`` deep
    copies of ``decoder_layer`` (``layers.0``, ...), each on the previous one's output with
    the same ``memory`` and masks, then ``norm`` if given."""

    def __init__(self, decoder_layer: Module, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _copies(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        """See :meth:`TransformerDecoderLayer.forward`."""
        x, mem = _as_tensor(tgt), _as_tensor(memory)
        for layer in self.layers:
            x = layer(x, mem, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """``nn.Transformer(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
    dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
    custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    device=None, dtype=None)``: the encoder-decoder of "Attention Is All You Need"::

        memory = encoder(src)             # TransformerEncoder, final LayerNorm encoder.norm
        out    = decoder(tgt, memory)     # TransformerDecoder, final LayerNorm decoder.norm

    As PyTorch, every parameter with more than one dim is then re-drawn xavier-uniform (the
    attention projections, the feed-forward weights); biases and norms keep their start.
    Keys as PyTorch's (``encoder.layers.0.self_attn.in_proj_weight``, ``decoder.norm.weight``,
    ...), so its ``state_dict`` loads strictly."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        dt = _float_dtype(dtype, device, "Transformer")
        kw = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                  layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                  norm_first=norm_first, bias=bias, dtype=dt, generator=generator)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(d_model, nhead, **kw), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(d_model, nhead, **kw), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt))
        for p in self.parameters():
            if p.ndim > 1:
                _init.xavier_uniform_(p, generator=generator)
        self.d_model, self.nhead, self.batch_first = int(d_model), int(nhead), bool(batch_first)

    def forward(self, src: Any, tgt: Any, src_mask: Any = None, tgt_mask: Any = None,
                memory_mask: Any = None, src_key_padding_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        """``src`` (S, N, E), ``tgt`` (T, N, E) ((N, S, E), (N, T, E) with ``batch_first``;
        or unbatched (S, E), (T, E)) to the decoder's output, shaped as ``tgt``. Masks as
        :meth:`TransformerDecoderLayer.forward` (True = masked out); ``src_mask`` (S, S)."""
        src, tgt = _as_tensor(src), _as_tensor(tgt)
        if src.ndim != tgt.ndim:
            raise ArgumentError(f"Transformer: src and tgt must both be batched (3 dims) or "
                                f"both unbatched (2 dims), got shapes {src.shape} and "
                                f"{tgt.shape}")
        n = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[n] != tgt.shape[n]:
            raise ArgumentError(f"Transformer: the batch number of src and tgt must be equal, "
                                f"got shapes {src.shape} and {tgt.shape} (batch_first="
                                f"{self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ArgumentError(f"Transformer: the feature number of src and tgt must be equal "
                                f"to d_model={self.d_model}, got shapes {src.shape} and "
                                f"{tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None,
                                        dtype: Any = None) -> Tensor:
        """The causal mask for a sequence of ``sz``: (sz, sz), 0 on and below the diagonal
        and -inf above it (float32 unless ``dtype``), to add to attention scores so that
        position i attends to positions up to i only."""
        if isinstance(sz, bool) or not isinstance(sz, (int, np.integer)) or sz < 0:
            raise ArgumentError(f"generate_square_subsequent_mask: sz must be an int >= 0, "
                                f"got {sz!r}")
        dt = _float_dtype(dtype, device, "Transformer.generate_square_subsequent_mask")
        return Tensor(np.triu(np.full((sz, sz), -np.inf, dtype=dt), 1))


__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]
