"""Minibatches: the tutorial's loop over shuffled slices of the training set (:func:`batches`,
numpy in, numpy out), and PyTorch's ``Dataset``, ``TensorDataset``, ``DataLoader`` (Tensors
out, in this process or in worker processes), ``default_collate`` and ``get_worker_info``."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ._data_workers import WorkerInfo, _base_seed, _Workers, get_worker_info
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
    """Stack a list of examples into one batch, as PyTorch's ``default_collate``:

    - Tensors and numpy arrays (or numpy scalars) of one shape: stacked into a Tensor with a
      new dim 0 (their dtype kept);
    - Python numbers: a Tensor of int64 for ints, float64 for floats, bool for bools (ints
      mixed with floats: float32, as ``torch.tensor`` infers);
    - strings and bytes (file names, labels): kept as they are, the batch's own list (a
      tuple for a field of tuple examples, as PyTorch's transposition gives);
    - dicts: a dict of batches, key by key; namedtuples: the same namedtuple of batches;
      tuples and lists: a **list** of batches, field by field (PyTorch returns a list for
      tuple examples too).

    RuntimeError: arrays of different shapes (pad them in the dataset or pass a
    ``collate_fn``), or sequences of different lengths. TypeError: anything else (None, an
    array of strings or objects, an arbitrary object): pass ``collate_fn=``."""
    first = samples[0]
    if isinstance(first, (str, bytes)):
        return samples
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return _stack(samples)
    if isinstance(first, (bool, int, float)):
        return _numbers(samples)
    if isinstance(first, Mapping):
        for i, s in enumerate(samples):
            if not isinstance(s, Mapping) or set(s) != set(first):
                raise KeyError(f"default_collate: example {i} has keys "
                               f"{sorted(map(str, s)) if isinstance(s, Mapping) else s!r} but "
                               f"example 0 has {sorted(map(str, first))}; pass collate_fn=")
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
        return type(first)(*(default_collate(c) for c in _columns(samples)))
    if isinstance(first, Sequence):
        return [default_collate(c) for c in _columns(samples)]
    raise TypeError(_unbatchable(type(first).__name__))


def _unbatchable(what: str) -> str:
    return (f"default_collate: batch must contain tensors, numpy arrays, numbers, strings, "
            f"dicts or lists; found {what}; pass collate_fn= to batch it yourself")


def _columns(samples: list[Any]) -> list[tuple]:
    n = len(samples[0])
    for i, s in enumerate(samples):
        if len(s) != n:  # zip would drop the extra fields silently
            raise RuntimeError(f"default_collate: each element in list of batch should be of "
                               f"equal size; example 0 has {n} fields but example {i} has "
                               f"{len(s)}; pass collate_fn=")
    return list(zip(*samples))


def _stack(samples: Sequence[Any]) -> Tensor:
    arrays = [s._data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
    for a in arrays:
        if a.dtype.kind in "SaUOV":
            raise TypeError(_unbatchable(f"an array of dtype {a.dtype}"))
    for i, a in enumerate(arrays):
        if a.shape != arrays[0].shape:
            raise RuntimeError(f"default_collate: stack expects each example to be of equal "
                               f"size, but got {arrays[0].shape} at entry 0 and {a.shape} at "
                               f"entry {i}; pad them to one shape in the dataset, or pass "
                               f"collate_fn=")
    return Tensor(np.stack(arrays))


def _numbers(samples: Sequence[Any]) -> Tensor:
    if not all(isinstance(s, (bool, int, float)) for s in samples):
        bad = next(s for s in samples if not isinstance(s, (bool, int, float)))
        raise TypeError(_unbatchable(f"{type(bad).__name__} among numbers"))
    if isinstance(samples[0], float):
        return Tensor(np.array(samples, dtype=np.float64))
    if all(isinstance(s, bool) for s in samples):
        return Tensor(np.array(samples, dtype=bool))
    if any(isinstance(s, float) for s in samples):  # torch.tensor([1, 2.5]) is float32
        return Tensor(np.array(samples, dtype=np.float32))
    big = [s for s in samples if not -2**63 <= s < 2**63]
    if big:
        raise OverflowError(f"default_collate: the int {big[0]} does not fit in int64, the "
                            f"dtype of a batch of ints; pass collate_fn=")
    return Tensor(np.array(samples, dtype=np.int64))


def _fetch(dataset: Any, collate_fn: Any, indices: np.ndarray) -> Any:
    """One batch: a :class:`TensorDataset` under the default collate is indexed once per
    tensor (no per-example Python loop); anything else example by example."""
    if isinstance(dataset, TensorDataset) and collate_fn is default_collate:
        return [Tensor(np.take(t._data, indices, axis=0)) for t in dataset.tensors]
    return collate_fn([dataset[int(i)] for i in indices])


class DataLoader:
    """Batches of a dataset, PyTorch's ``DataLoader``: ``batch_size=1``, ``shuffle=False``
    (True: a fresh permutation each time you iterate, drawn from ``generator`` or the package
    generator), ``drop_last=False``, ``collate_fn`` (:func:`default_collate`). ``len(loader)``
    is the number of batches. A :class:`TensorDataset` is batched by indexing each tensor
    with the batch's indices (no per-example Python loop); its batches are lists of Tensors,
    as PyTorch's.

    ``num_workers > 0`` runs that many worker processes, as PyTorch does, because a dataset
    whose ``__getitem__`` does real work in Python (decoding files, augmenting) is then
    that many times faster, and because code written for PyTorch passes it. Each worker holds
    its own copy of the dataset; batch k of an epoch is made by worker ``k % num_workers``
    (collated there) and the batches are yielded in order (``in_order=False``: as they come),
    so a deterministic dataset gives **the same batches in the same order as**
    ``num_workers=0``. Worker ``i`` seeds the package generator (:func:`tinygrad_reg.manual_seed`),
    Python's ``random`` and numpy's legacy global generator with ``base_seed + i``, a new
    ``base_seed`` each epoch (once, with ``persistent_workers``), drawn from a child of the
    loader's generator (``Generator.spawn``), so the shuffle order does not depend on
    ``num_workers``; then it calls ``worker_init_fn(i)``. Inside a worker,
    :func:`get_worker_info` says which worker it is (its id, ``num_workers``, seed and dataset
    copy); in the main process it returns None. A dataset that draws random numbers draws them
    from the workers' generators, so its values differ from ``num_workers=0``'s, as in PyTorch.
    ``prefetch_factor`` (default 2) batches per worker are requested ahead;
    ``persistent_workers=True`` keeps the workers from one epoch to the next; ``timeout``
    (seconds, 0: none) bounds the wait for one batch; ``multiprocessing_context`` picks the
    start method ("fork", "spawn", "forkserver"; with the last two, the dataset,
    ``collate_fn`` and ``worker_init_fn`` must be picklable). An exception in a worker is
    raised again in the main process, with the worker's traceback; a worker that dies is a
    RuntimeError. ``pin_memory`` is accepted and does nothing (there is no GPU memory here).
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool | None = None, *,
                 num_workers: int = 0, collate_fn: Any = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 multiprocessing_context: Any = None,
                 generator: np.random.Generator | None = None,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, **unknown: Any) -> None:
        if unknown:
            raise TypeError(f"DataLoader: unexpected arguments {sorted(unknown)}")
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
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                       multiprocessing_context, worker_init_fn)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn or default_collate
        self.num_workers = int(num_workers)
        self.timeout = float(timeout)
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = (2 if prefetch_factor is None and num_workers
                                else prefetch_factor)
        self.persistent_workers = bool(persistent_workers)
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.in_order = bool(in_order)
        self._workers: _Workers | None = None  # kept across epochs with persistent_workers

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batches(self) -> list[np.ndarray]:
        n = len(self.dataset)
        order = resolve(self.generator).permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        return [order[start:start + self.batch_size]
                for start in range(0, stop, self.batch_size)]

    def __iter__(self) -> Iterator[Any]:
        batches = self._batches()
        if not self.num_workers:
            return (_fetch(self.dataset, self.collate_fn, idx) for idx in batches)
        if self.persistent_workers:
            if self._workers is None or self._workers.closed:
                self._workers = _Workers(self, _fetch, _base_seed(self.generator))
                weakref.finalize(self, self._workers.shutdown)
            return self._workers.epoch(batches, self)
        workers = _Workers(self, _fetch, _base_seed(self.generator))
        epoch = workers.epoch(batches, self, last=True)
        weakref.finalize(epoch, workers.shutdown)  # (an epoch dropped before it started)
        return epoch


def _check_workers(num_workers: Any, timeout: Any, prefetch_factor: Any,
                   persistent_workers: Any, context: Any, worker_init_fn: Any) -> None:
    """PyTorch's checks of the worker arguments, with its messages."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or (
            num_workers < 0):
        raise ValueError(f"DataLoader: num_workers option should be a non-negative int, got "
                         f"{num_workers!r}; use num_workers=0 to disable multiprocessing")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                         "multiprocessing: let num_workers > 0 to enable multiprocessing, "
                         "otherwise set prefetch_factor to None")
    if prefetch_factor is not None and (isinstance(prefetch_factor, bool) or not isinstance(
            prefetch_factor, (int, np.integer)) or prefetch_factor < 1):
        raise ValueError(f"DataLoader: prefetch_factor must be a positive int, got "
                         f"{prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if context is not None:
        import multiprocessing as mp

        if num_workers == 0:
            raise ValueError(f"DataLoader: multiprocessing_context can only be used with "
                             f"multi-process loading (num_workers > 0), but got "
                             f"num_workers={num_workers}")
        if isinstance(context, str) and context not in mp.get_all_start_methods():
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a "
                             f"valid start method in {mp.get_all_start_methods()!r}, but got "
                             f"multiprocessing_context={context!r}")
        if not isinstance(context, str) and not callable(getattr(context, "Process", None)):
            raise TypeError(f"DataLoader: multiprocessing_context option must be a start "
                            f"method's name or a multiprocessing context, got "
                            f"{type(context).__name__}")
    if worker_init_fn is not None and not callable(worker_init_fn):
        raise TypeError(f"DataLoader: worker_init_fn must be callable, got "
                        f"{type(worker_init_fn).__name__}")


__all__ = ["batches", "Dataset", "TensorDataset", "DataLoader", "default_collate",
           "get_worker_info", "WorkerInfo"]
