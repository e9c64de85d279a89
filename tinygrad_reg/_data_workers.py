"""DataLoader's worker processes: each holds its own copy of the dataset, is seeded, runs
``worker_init_fn``, then makes the batches it is sent; the main process hands out batch k to
worker k % num_workers and yields the results in order. :func:`get_worker_info` tells a
dataset, inside a worker, which worker it runs in. (``tg.data`` re-exports the public names.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .random import resolve

_POLL = 0.1  # seconds between checks that the workers are alive, while waiting for a batch


@dataclass(frozen=True)
class WorkerInfo:
    """Inside a DataLoader worker: which one it is (``id`` in ``range(num_workers)``), its
    ``seed`` and its own copy of the ``dataset`` (PyTorch's ``WorkerInfo``)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its :class:`WorkerInfo`; in the main process, None.
    A dataset uses it to split work or to configure its copy (``worker_init_fn``)."""
    return _worker_info


def _base_seed(generator: np.random.Generator | None) -> int:
    """A fresh seed for an epoch's workers from a child of the generator, which leaves the
    generator's own stream (the shuffle order) as it was."""
    gen = resolve(generator)
    try:
        gen = gen.spawn(1)[0]
    except (TypeError, ValueError, AttributeError):  # a bit generator without a SeedSequence
        pass
    return int(gen.integers(0, 2**62))


def _worker_loop(fetch: Callable, dataset: Any, collate_fn: Any, tasks: Any, results: Any,
                 done: Any, worker_id: int, num_workers: int, seed: int,
                 worker_init_fn: Any) -> None:
    """A worker process: seed, run ``worker_init_fn``, then make each batch it is sent
    (``fetch(dataset, collate_fn, indices)``)."""
    global _worker_info
    import pickle
    import random

    from .random import manual_seed

    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    failed = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception as err:  # noqa: BLE001 - raised again in the main process
            failed = _failure(err, worker_id, " (in worker_init_fn)")
    try:
        while True:
            task = tasks.get()
            if task is None:
                break
            epoch, number, indices = task
            if done.is_set():  # shutting down: what is still queued is not needed
                continue
            payload = failed
            if payload is None:
                try:
                    payload = pickle.dumps((True, fetch(dataset, collate_fn, indices)),
                                           protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as err:  # noqa: BLE001 - raised again in the main process
                    payload = _failure(err, worker_id)
            results.put((epoch, number, payload))
    except KeyboardInterrupt:  # the main process got it too, and will stop the workers
        pass
    results.cancel_join_thread()  # the main process reads nothing more


def _failure(err: BaseException, worker_id: int, where: str = "") -> bytes:
    """An exception of a worker, pickled: its type and the worker's traceback."""
    import pickle
    import traceback

    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    message = (f"Caught {type(err).__name__} in DataLoader worker process "
               f"{worker_id}{where}.\nOriginal {text}")
    try:
        return pickle.dumps((False, (type(err), message)))
    except Exception:  # noqa: BLE001 - an exception type that cannot be pickled
        return pickle.dumps((False, (RuntimeError, message)))


class _Message(str):
    """A KeyError's message that prints as itself (KeyError shows its argument's repr)."""

    def __repr__(self) -> str:
        return str(self)


def _rebuilt(kind: type, message: str) -> BaseException:
    """The worker's exception, of its own type when that takes one message."""
    try:
        return kind(_Message(message) if issubclass(kind, KeyError) else message)
    except Exception:  # noqa: BLE001 - a constructor with other arguments
        return RuntimeError(message)


class _Workers:
    """``num_workers`` processes, each with its own task queue, and one queue of results.
    An epoch sends batch k to worker k % num_workers, ``prefetch_factor`` per worker ahead,
    and keeps the results that arrive early until their turn."""

    def __init__(self, loader: Any, fetch: Callable, base_seed: int) -> None:
        import multiprocessing as mp

        ctx = loader.multiprocessing_context
        ctx = mp.get_context(ctx) if ctx is None or isinstance(ctx, str) else ctx
        self.n = loader.num_workers
        self.timeout = loader.timeout
        self.results = ctx.Queue()
        self.done = ctx.Event()
        self.queues: list = []
        self.procs: list = []
        self.closed = False
        self._epochs = 0
        self._buffers: dict[int, dict[int, bytes]] = {}  # epoch -> batch number -> result
        for i in range(self.n):
            tasks = ctx.Queue()
            proc = ctx.Process(target=_worker_loop, daemon=True,
                               args=(fetch, loader.dataset, loader.collate_fn, tasks, self.results,
                                     self.done, i, self.n, base_seed + i,
                                     loader.worker_init_fn))
            try:
                proc.start()
            except Exception as err:
                self.shutdown()
                raise RuntimeError(
                    f"DataLoader: worker {i} could not start with the "
                    f"{ctx.get_start_method()!r} start method ({type(err).__name__}: {err}); "
                    f"it needs the dataset, collate_fn and worker_init_fn pickled: define "
                    f"them at module level (no lambdas or local classes), or pass "
                    f"multiprocessing_context='fork' where fork is available") from err
            self.queues.append(tasks)
            self.procs.append(proc)

    def epoch(self, batches: list[np.ndarray], loader: Any,
              last: bool = False) -> Iterator[Any]:
        """The batches of one epoch, in order (or as they come, without ``in_order``)."""
        import pickle

        self._epochs += 1
        epoch, buffer = self._epochs, {}
        self._buffers[epoch] = buffer
        ahead = loader.prefetch_factor * self.n
        sent = wanted = 0
        try:
            while sent < min(ahead, len(batches)):
                self.queues[sent % self.n].put((epoch, sent, batches[sent]))
                sent += 1
            for _ in range(len(batches)):
                while not buffer or (loader.in_order and wanted not in buffer):
                    self._receive()
                number = wanted if loader.in_order else next(iter(buffer))
                try:
                    ok, value = pickle.loads(buffer.pop(number))
                except Exception as err:  # noqa: BLE001 - whatever the batch's classes raise
                    raise RuntimeError(f"DataLoader: batch {number} came from its worker but "
                                       f"cannot be unpickled here ({type(err).__name__}: "
                                       f"{err}); return arrays, Tensors and built-in types, "
                                       f"or classes defined at module level") from err
                wanted += 1
                if sent < len(batches):
                    self.queues[sent % self.n].put((epoch, sent, batches[sent]))
                    sent += 1
                if not ok:
                    raise _rebuilt(*value)
                yield value
        finally:
            del self._buffers[epoch]  # what this epoch still receives is dropped
            if last:
                self.shutdown()

    def _receive(self) -> None:
        """Wait for one result and file it under its epoch, checking that the workers live."""
        import queue
        import time

        start = time.monotonic()
        while True:
            try:
                epoch, number, payload = self.results.get(timeout=_POLL)
            except queue.Empty:
                dead = [p for p in self.procs if not p.is_alive()]
                if dead:
                    self.shutdown()
                    raise RuntimeError(
                        "DataLoader worker (" + ", ".join(
                            f"pid {p.pid}, exit code {p.exitcode}" for p in dead)
                        + ") exited unexpectedly") from None
                if self.timeout and time.monotonic() - start > self.timeout:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout:g} "
                                       f"seconds") from None
                continue
            if epoch in self._buffers:
                self._buffers[epoch][number] = payload
            return

    def shutdown(self) -> None:
        """Stop the workers (they skip what is still queued), then close the queues."""
        if self.closed:
            return
        self.closed = True
        self.done.set()
        for tasks in self.queues:
            tasks.put(None)
        for proc in self.procs:
            proc.join(timeout=5.0)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for q in (*self.queues, self.results):
            q.cancel_join_thread()
            q.close()
