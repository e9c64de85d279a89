"""Minibatches: the tutorial's loop over shuffled slices of the training set (:func:`batches`,
numpy in, numpy out), and PyTorch's ``TensorDataset`` and ``DataLoader`` (Tensors out)."""

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


class Dataset:
    """A map-style dataset: ``len(ds)`` and ``ds[i]`` (PyTorch's protocol). Subclass it, or
    pass any object with those two methods to :class:`DataLoader`."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Examples along dim 0 of one or more tensors (or arrays) of the same length:
    ``ds[i]`` is the tuple ``(t[i] for t in tensors)``."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        arrays = []
        for i, t in enumerate(tensors):
            _rows(t, f"TensorDataset: tensors[{i}]")  # at least one dim
            arrays.append(t if isinstance(t, Tensor) else Tensor(np.asarray(t)))
        n = arrays[0].shape[0]
        for i, t in enumerate(arrays):
            if t.shape[0] != n:
                raise ValueError(f"TensorDataset: tensors[0] has {n} examples but tensors[{i}] "
                                 f"has {t.shape[0]} (shapes {arrays[0].shape} and {t.shape}); "
                                 f"they must have the same length along dim 0")
        self.tensors = tuple(arrays)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def default_collate(samples: list[Any]) -> Any:
    """Stack a list of examples into one batch, as PyTorch's default: Tensors, arrays and
    numbers into a Tensor with a new dim 0 (numbers: int64 or float32, as ``tg.tensor``),
    and tuples, lists and dicts element by element."""
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor(np.stack([s._data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic)):
        return Tensor(np.stack(samples))
    if isinstance(first, bool):
        return Tensor(np.array(samples, dtype=bool))
    if isinstance(first, int):
        return Tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, float):
        return Tensor(np.array(samples, dtype=np.float32))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(column)) for column in zip(*samples)) \
            if isinstance(first, tuple) else [default_collate(list(c)) for c in zip(*samples)]
    raise TypeError(f"default_collate: cannot batch examples of type {type(first).__name__}; "
                    f"pass collate_fn=")


class DataLoader:
    """Batches of a dataset, PyTorch's ``DataLoader`` (single process): ``batch_size=1``,
    ``shuffle=False`` (True: a fresh permutation each time you iterate, drawn from
    ``generator`` or the package generator), ``drop_last=False``, ``collate_fn``
    (:func:`default_collate`). ``len(loader)`` is the number of batches. A
    :class:`TensorDataset` is batched by indexing each tensor with the batch's indices (no
    per-example Python loop)."""

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, *,
                 drop_last: bool = False, generator: np.random.Generator | None = None,
                 collate_fn: Any = None, **ignored: Any) -> None:
        unknown = set(ignored) - {"num_workers", "pin_memory", "persistent_workers",
                                  "prefetch_factor", "timeout"}
        if unknown:
            raise TypeError(f"DataLoader: unexpected arguments {sorted(unknown)}")
        if ignored.get("num_workers", 0):
            raise ValueError("DataLoader: num_workers > 0 is not supported (batches are made "
                             "in this process)")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: the dataset must have __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or (
                batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got "
                             f"{batch_size!r}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn or default_collate

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = resolve(self.generator).permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for start in range(0, stop, self.batch_size):
            idx = order[start:start + self.batch_size]
            if fast:
                yield tuple(Tensor(np.take(t._data, idx, axis=0)) for t in self.dataset.tensors)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])


__all__ = ["batches", "Dataset", "TensorDataset", "DataLoader", "default_collate"]
