"""Sequence helpers at PyTorch's path ``nn.utils.rnn``: :func:`pad_sequence`."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ...errors import ArgumentError, ShapeError
from ...ops.shape import pad, stack


def pad_sequence(sequences: Any, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths L_i (each (L_i, *), one trailing shape) into one
    tensor (T, B, *) with T = max L_i — (B, T, *) with ``batch_first`` — filling the missing
    steps with ``padding_value`` after each sequence (``padding_side="right"``) or before it
    ("left"). PyTorch's ``pad_sequence``: the result has the first sequence's dtype (the
    others are cast to it, and so is ``padding_value``); differentiable (each sequence is
    padded, then stacked: the gradient of a sequence is its slice of the result's)."""
    if padding_side not in ("left", "right"):
        raise ArgumentError(f"pad_sequence: Expected padding_side to be one of left or right, "
                            f"but got {padding_side}.")
    seqs = [s if isinstance(s, Tensor) else Tensor(s) for s in sequences]
    if not seqs:
        raise ArgumentError("pad_sequence: received an empty list of sequences")
    first = seqs[0]
    if any(s.ndim == 0 for s in seqs):
        raise ShapeError("pad_sequence: every sequence needs a time axis (shape (L, *)); got a "
                         "0-d tensor")
    trailing = first.shape[1:]
    for i, s in enumerate(seqs):
        if s.shape[1:] != trailing:
            raise ShapeError(f"pad_sequence: sequence {i} has shape {s.shape}, but sequence 0 "
                             f"has {first.shape}; every sequence must be (L_i, "
                             f"{', '.join(map(str, trailing)) or '...'})")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        if s.dtype != first.dtype:
            s = s.to(first.dtype)
        missing = longest - s.shape[0]
        if missing:
            where = (0, missing) if padding_side == "right" else (missing, 0)
            s = pad(s, (0, 0) * len(trailing) + where, value=padding_value)
        padded.append(s)
    return stack(padded, dim=1 if not batch_first else 0)


__all__ = ["pad_sequence"]
