"""The regularizers of sequence models and deep residual networks, each one named node:

- :func:`locked_dropout` (variational dropout, Gal & Ghahramani 2016): one mask per sequence,
  shared by every time step;
- :func:`embedding_dropout` (Gal & Ghahramani 2016; Merity et al. 2017): whole rows of the
  embedding matrix dropped, i.e. every occurrence of a word;
- :func:`weight_drop` (DropConnect on a recurrent ``weight_hh``, Merity et al. 2017's
  AWD-LSTM): one mask per forward pass, shared by every time step;
- :func:`zoneout` (Krueger et al. 2017): each unit of the state keeps its previous value with
  probability p;
- :func:`drop_path` (stochastic depth, Huang et al. 2016): a whole residual branch dropped,
  per sample.

As the rest of the dropout family (:mod:`.noise`), each draws its mask fresh at every call from
``generator`` or the package generator, is linear in its inputs for a fixed mask (so its
backward is the same op applied to the gradient: differentiable any number of times), and is
the identity with ``training=False`` (no node, no draw) — except zoneout, whose eval form is
the expectation of its training form, p·h_prev + (1 - p)·h_new.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from ..errors import ArgumentError
from ..ops.elementwise import where
from ..random import resolve
from .noise import (
    DropConnect,
    Dropout,
    _drawn,
    _float_input,
    _mask,
    _probability,
    drop_probability,
)


class LockedDropout(Dropout):
    """Variational ("locked") dropout (Gal & Ghahramani 2016): x (T, N, C) is multiplied by ONE
    mask m (1, N, C) shared by every time step: out[t] = x[t] ⊙ m / (1 - p).
    dx[t] = grad[t] ⊙ m / (1 - p). The time axis is the mask's axis of size 1 (axis 1 for a
    batch-first (N, T, C) input)."""


class EmbeddingDropout(Dropout):
    """Embedding dropout (Gal & Ghahramani 2016, as Merity et al. 2017 use it): the embedding
    matrix W (V, E) loses whole rows, W' = W ⊙ m / (1 - p) with m (V, 1), so every occurrence
    of a dropped word in the batch embeds to zeros.   dW = grad ⊙ m / (1 - p)."""


class WeightDrop(DropConnect):
    """Weight drop (Merity et al. 2017, AWD-LSTM): DropConnect (Wan et al. 2013) on a recurrent
    weight_hh, W' = W ⊙ m / (1 - p), with one mask per forward pass that every time step
    shares.   dW = grad ⊙ m / (1 - p) (the steps' gradients, summed, masked once)."""


class DropPath(Dropout):
    """Stochastic depth (Huang et al. 2016), torchvision's ``stochastic_depth``: a residual
    branch x (N, ...) is dropped per sample, out = x ⊙ m / (1 - p) with m (N, 1, ..., 1)
    (mode "row"; mode "batch": one m for the whole batch).   dx = grad ⊙ m / (1 - p)."""


class Zoneout(Function):
    """Zoneout (Krueger et al. 2017): each unit of a recurrent state keeps its previous value
    with probability p instead of taking the new one.

    out = m ⊙ prev + (1 - m) ⊙ new,  m ~ Bernoulli(p) (a bool constant "mask") in training,
    m = p in eval mode (the expectation): out = p·prev + (1 - p)·new.
    dprev = grad ⊙ m,  dnew = grad ⊙ (1 - m).

    ``p`` is one rate, or one per row of the leading axis (``(p_h, p_c)`` for the LSTM state
    [h; c]). In training the op selects (np.where), so a kept unit is bit for bit the previous
    value."""
    kind = "regularization"

    @staticmethod
    def forward(ctx, prev, new, mask=None, *, p):
        if mask is not None:
            if ctx.needs_input_grad:
                ctx.save_for_backward(mask)
            return np.where(mask, prev, new)
        keep = _rates(p, prev.ndim, prev.dtype)
        return keep * prev + (1.0 - keep) * new

    @staticmethod
    def backward(ctx, grad):
        if len(ctx.inputs) == 3:
            (mask,) = ctx.saved_tensors
            return where(mask, grad, 0.0), where(mask, 0.0, grad), None
        keep = _rates(ctx.attrs["p"], grad.ndim, grad.dtype)
        return grad * keep, grad * (1.0 - keep)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        if len(inputs) == 3:  # a training-mode trace: the drawn mask selects
            return g.node("Where", [inputs[2], inputs[0], inputs[1]])
        keep = _rates(attrs["p"], out.ndim, out.dtype)
        a = g.node("Mul", [inputs[0], g.const(keep)])
        return g.node("Add", [a, g.node("Mul", [inputs[1], g.const(1.0 - keep)])])


def _rates(p: Any, ndim: int, dtype: Any) -> np.ndarray:
    """p as an array that broadcasts against the state: one value, or one per leading row."""
    if isinstance(p, tuple):
        return np.asarray(p, dtype=dtype).reshape((len(p),) + (1,) * (ndim - 1))
    return np.asarray(p, dtype=dtype)


# -- the functional face --------------------------------------------------------------------

def locked_dropout(x: Tensor, p: float | None = None, training: bool = True, *,
                   batch_first: bool = False, keep_prob: float | None = None,
                   generator: np.random.Generator | None = None) -> Tensor:
    """Variational dropout on a sequence x (T, N, ...) (or (N, T, ...) with
    ``batch_first``): one mask per sequence, drawn once and applied at every time step,
    out[t] = x[t] ⊙ m / (1 - p) (a :class:`LockedDropout` node). p defaults to 0.5. Identity
    with ``training=False`` or p = 0 (no node, no draw)."""
    p = drop_probability(p, keep_prob, "locked_dropout")
    x = _float_input(x, "locked_dropout")
    resolve(generator)
    if x.ndim < 2:
        raise ArgumentError(f"locked_dropout: expected a sequence (T, N, ...) or (T, C), got "
                            f"shape {x.shape}")
    if not training or p == 0.0:
        return x
    shape = list(x.shape)
    shape[1 if batch_first else 0] = 1
    return LockedDropout.apply(x, _mask(generator, tuple(shape), 1.0 - p), p=p)


def embedding_dropout(weight: Tensor, p: float | None = None, training: bool = True, *,
                      keep_prob: float | None = None,
                      generator: np.random.Generator | None = None) -> Tensor:
    """The embedding matrix ``weight`` (V, E) with whole rows dropped with probability p and
    the kept ones scaled by 1/(1 - p) (an :class:`EmbeddingDropout` node); look it up with
    ``F.embedding(index, embedding_dropout(emb.weight, p))``. p defaults to 0.1 (Merity et
    al.'s). Identity with ``training=False`` or p = 0."""
    p = drop_probability(p, keep_prob, "embedding_dropout", default=0.1)
    w = _float_input(weight, "embedding_dropout")
    resolve(generator)
    if w.ndim != 2:
        raise ArgumentError(f"embedding_dropout: expected an embedding matrix (V, E), got "
                            f"shape {w.shape}")
    if not training or p == 0.0:
        return w
    return EmbeddingDropout.apply(w, _mask(generator, (w.shape[0], 1), 1.0 - p), p=p)


def weight_drop(weight: Tensor, p: float | None = None, training: bool = True, *,
                keep_prob: float | None = None,
                generator: np.random.Generator | None = None) -> Tensor:
    """DropConnect on a recurrent weight (a :class:`WeightDrop` node): each entry zeroed with
    probability p, the kept ones scaled by 1/(1 - p); call it once per forward pass and use
    the result at every time step (AWD-LSTM). p defaults to 0.5. Identity with
    ``training=False`` or p = 0."""
    p = drop_probability(p, keep_prob, "weight_drop")
    w = _float_input(weight, "weight_drop")
    resolve(generator)
    if not training or p == 0.0:
        return w
    return WeightDrop.apply(w, _mask(generator, w._data.shape, 1.0 - p), p=p)


def drop_path(x: Tensor, p: float, training: bool = True, mode: str = "row", *,
              generator: np.random.Generator | None = None) -> Tensor:
    """Stochastic depth (torchvision's ``stochastic_depth``): with mode "row", each sample of
    x (N, ...) is zeroed with probability p and the kept ones scaled by 1/(1 - p); with mode
    "batch", the whole batch at once (a :class:`DropPath` node). Use it on a residual branch:
    ``x + drop_path(block(x), p)``. Identity with ``training=False`` or p = 0; p = 1 gives
    zeros."""
    p = _probability(p, "p", "drop_path")
    if mode not in ("row", "batch"):
        raise ArgumentError(f"drop_path: mode has to be either 'batch' or 'row', but got "
                            f"{mode!r}")
    x = _float_input(x, "drop_path")
    resolve(generator)
    if not training or p == 0.0:
        return x
    if x.ndim == 0:
        raise ArgumentError("drop_path: expected a batch (N, ...), got a 0-d tensor")
    shape = (x.shape[0] if mode == "row" else 1,) + (1,) * (x.ndim - 1)
    return DropPath.apply(x, _mask(generator, shape, 1.0 - p), p=p)


def _zoneout_rates(p: Any, state_rows: int) -> float | tuple:
    if isinstance(p, (tuple, list)):
        rates = tuple(_probability(v, "p", "zoneout") for v in p)
        if len(rates) != state_rows:
            raise ArgumentError(f"zoneout: {len(rates)} rates for a state with {state_rows} "
                                f"rows on its leading axis; give one rate, or one per row "
                                f"((p_h, p_c) for an LSTM state [h; c])")
        return rates if len(set(rates)) > 1 else rates[0]
    return _probability(p, "p", "zoneout")


def _draw_zoneout(generator: Any, shape: tuple, p: Any) -> np.ndarray:
    """True (keep the previous value) with probability p, per unit; one rate per leading row
    when p is a tuple."""
    gen = resolve(generator)
    if isinstance(p, tuple):
        return np.stack([gen.random(shape[1:], dtype=np.float32) < q for q in p])
    return np.asarray(gen.random(shape, dtype=np.float32) < p)


def zoneout(prev: Tensor, new: Tensor, p: Any, training: bool = True, *,
            generator: np.random.Generator | None = None) -> Tensor:
    """Zoneout between two recurrent states of one shape: in training each unit keeps
    ``prev`` with probability p, else takes ``new`` (a :class:`Zoneout` node with a drawn
    mask); in eval mode the expectation, p·prev + (1 - p)·new (a :class:`Zoneout` node
    without one). ``p``: one rate, or one per row of the leading axis (``(p_h, p_c)`` for the
    LSTM state [h; c] of :class:`tinygrad_reg.nn.LSTM`). p = 0 returns ``new``."""
    prev = _float_input(prev, "zoneout")
    new = _float_input(new, "zoneout")
    if prev.shape != new.shape or prev.dtype != new.dtype:
        raise ArgumentError(f"zoneout: prev and new must have one shape and dtype, got "
                            f"{prev.shape} {prev.dtype} and {new.shape} {new.dtype}")
    rows = prev.shape[0] if prev.ndim else 1
    p = _zoneout_rates(p, rows)
    resolve(generator)
    if p == 0.0:
        return new
    if not training:
        return Zoneout.apply(prev, new, p=p)
    mask = _drawn(_draw_zoneout, (generator, prev._data.shape, p), "mask")
    return Zoneout.apply(prev, new, mask, p=p)


__all__ = ["LockedDropout", "EmbeddingDropout", "WeightDrop", "DropPath", "Zoneout",
           "locked_dropout", "embedding_dropout", "weight_drop", "drop_path", "zoneout"]
