"""Minibatches: the tutorial's loop over shuffled slices of the training set, as a generator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._tensor import Tensor
from .random import resolve


def _rows(a: Any, name: str) -> np.ndarray:
    arr = a._data if isinstance(a, Tensor) else np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"batches: {name} must have at least one axis (examples along axis "
                         f"0), got a 0-d array")
    return arr


def batches(X: Any, y: Any, batch_size: int, *, shuffle: bool = True,
            generator: np.random.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(Xb, yb)`` minibatches of one epoch; examples run along axis 0 of ``X`` and
    ``y`` (the row convention: X is (m, features)).

    The batches are **numpy arrays** (wrap them in ``Tensor`` for the graph, which costs
    nothing: the array is shared). With ``shuffle`` the order is a permutation drawn when
    ``batches`` is called, from ``generator`` (or the package generator that
    :func:`tinygrad_reg.manual_seed` seeds), and each batch is a fresh copy; without it the
    batches are consecutive slices, i.e. views of ``X`` and ``y`` (no copy). Every example is
    visited exactly once; the last batch is smaller when ``batch_size`` does not divide the
    number of examples, unless ``drop_last`` drops it.

    ValueError: ``batch_size`` not a positive int, or ``X`` and ``y`` of different lengths.
    Arguments are checked at the call, not at the first ``next()``.
    """
    Xa, ya = _rows(X, "X"), _rows(y, "y")
    if Xa.shape[0] != ya.shape[0]:
        raise ValueError(f"batches: X has {Xa.shape[0]} examples (shape {Xa.shape}) but y has "
                         f"{ya.shape[0]} (shape {ya.shape}); they must have the same length "
                         f"along axis 0")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or (
            batch_size <= 0):
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    n, bs = Xa.shape[0], int(batch_size)
    stop = n - n % bs if drop_last else n
    order = resolve(generator).permutation(n) if shuffle else None
    return _epoch(Xa, ya, bs, stop, order)


def _epoch(X: np.ndarray, y: np.ndarray, bs: int, stop: int,
           order: np.ndarray | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, stop, bs):
        if order is None:
            yield X[start:start + bs], y[start:start + bs]
        else:
            idx = order[start:start + bs]
            yield np.take(X, idx, axis=0), np.take(y, idx, axis=0)


__all__ = ["batches"]
