"""Guards that keep a gradient from silently using a value changed after the forward pass.

Two mechanisms, both on the ground floor beside :mod:`tinygrad_reg._tensor`:

* **Version counters.** A tensor and its views (and ``detach()``-ed aliases) share one
  counter; every sanctioned in-place write (the Tensor's in-place methods, optimizer steps)
  increments it. A graph node records its inputs' versions and refuses to run backward if
  a value it saved has moved on (PyTorch's rule).
* **Read-only arrays.** Every array a live graph node saved for backward that the user can
  reach (an input's array, the node's output, a view of either, and the arrays those are
  views of) is made read-only until the node has run backward or been dropped, so a raw
  numpy write into it fails at the line that does it. The same array may be saved by many
  nodes: a count per array (:data:`_LOCKS`) gives it back its write flag when the last one
  lets go. That table is the one piece of process-wide state here, as the flag it counts is
  process-wide too; a mutex keeps threads that share arrays consistent.
* **Handed-out arrays.** ``Tensor.data`` is the door around autograd (PyTorch's): it hands
  out the array writable even while nodes hold it, after taking a snapshot of the values
  they saved. A node whose saved values no longer match refuses to run backward, so a
  retained graph never silently backpropagates values that changed after its forward.

Arrays that were read-only before a graph saved them (a broadcast, a read-only memory map)
are never touched.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class Version:
    """A version counter, shared by a tensor and every view of it."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Aux:
    """What most tensors never need: the version counter, and what freed graph nodes keep of
    this constant (``autograd.Released``)."""

    __slots__ = ("version", "released")

    def __init__(self) -> None:
        self.version = None
        self.released = None


def aux(t: Any) -> Aux:
    """``t``'s :class:`Aux`, made on first use."""
    a = t._aux
    if a is None:
        a = t._aux = Aux()
    return a


def version(t: Any) -> int:
    """How many sanctioned in-place writes ``t`` (or a view sharing its memory) has had."""
    a = t._aux
    return 0 if a is None or a.version is None else a.version.value


def share_version(base: Any, view: Any) -> None:
    """Make ``view`` (whose array is a view of ``base``'s) share base's version counter."""
    a = aux(base)
    if a.version is None:
        a.version = Version()
    aux(view).version = a.version


# -- read-only locks, counted per array --------------------------------------------------


class Lock:
    """The guard of one array that live graph nodes saved: how many hold it, and, once
    ``.data`` has handed it out for writing, a snapshot of the values they saved.

    ``epoch`` moves on when a node saves the array after such a write changed it: the nodes
    that saved it before then hold stale values, and refuse to run backward."""

    __slots__ = ("arr", "count", "snap", "epoch")

    def __init__(self, arr: np.ndarray) -> None:
        self.arr = arr
        self.count = 0
        self.snap = None
        self.epoch = 0


#: id(array) -> Lock: the arrays graph nodes made read-only (the Lock keeps its array alive,
#: so an id is never reused while it is listed).
_LOCKS: dict[int, Lock] = {}
_MUTEX = threading.Lock()
#: How many times an array that nodes saved was handed out for writing through ``.data``:
#: while it has not moved since a node saved, the node's values are intact.
handouts = 0


def lock(arr: np.ndarray, into: list) -> None:
    """Make ``arr`` and every array it is a view of read-only, counting one more holder of
    each; append ``(Lock, epoch)`` for each to ``into`` (give that list to :func:`unlock`
    later, and to :func:`changed` to ask whether the values moved)."""
    global handouts
    with _MUTEX:
        a = arr
        while isinstance(a, np.ndarray):
            entry = _LOCKS.get(id(a))
            if entry is None:
                if not a.flags.writeable:  # read-only for another reason: not ours to count
                    a = a.base
                    continue
                a.flags.writeable = False
                entry = _LOCKS[id(a)] = Lock(a)
            elif entry.snap is not None:  # handed out through .data: guard it again
                if not _same(a, entry.snap):
                    entry.epoch += 1  # the earlier holders saved values that are gone
                    handouts += 1
                entry.snap = None
                try:
                    a.flags.writeable = False
                except ValueError:
                    pass
            entry.count += 1
            into.append((entry, entry.epoch))
            a = a.base


def unlock(held: list) -> None:
    """One holder fewer for each Lock in ``held`` (from :func:`lock`); an array nobody holds
    any more gets its write flag back. Bases first, so that their views can follow."""
    with _MUTEX:
        for entry, _ in reversed(held):
            entry.count -= 1
            if entry.count <= 0 and _LOCKS.get(id(entry.arr)) is entry:
                del _LOCKS[id(entry.arr)]
                try:
                    entry.arr.flags.writeable = True
                except ValueError:  # a base another holder still guards: stays read-only
                    pass


def hand_out(arr: np.ndarray) -> None:
    """``arr`` is about to be handed out for writing (``Tensor.data``): if graph nodes hold
    it read-only, snapshot the values they saved and make it writable (unless a base of it
    is guarded too: then it stays read-only)."""
    global handouts
    entry = _LOCKS.get(id(arr))
    if entry is None or entry.arr is not arr or entry.snap is not None:
        return
    with _MUTEX:
        try:
            arr.flags.writeable = True
        except ValueError:
            return
        entry.snap = arr.copy()
        handouts += 1


def changed(held: list, arr: np.ndarray) -> bool:
    """Whether the values of ``arr`` that a node saved (its ``held`` list from :func:`lock`)
    were changed since, through an array handed out by :func:`hand_out`."""
    for entry, epoch in held:
        if entry.arr is arr:
            return entry.epoch != epoch or (entry.snap is not None
                                            and not _same(arr, entry.snap))
    return False


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit equal (NaN payloads and signed zeros included)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8).tobytes() == \
        np.ascontiguousarray(b).reshape(-1).view(np.uint8).tobytes()


def is_locked(arr: np.ndarray) -> bool:
    """Whether a live graph node holds ``arr`` read-only."""
    entry = _LOCKS.get(id(arr))
    return entry is not None and entry.arr is arr and entry.snap is None


def overlapping(arr: np.ndarray) -> bool:
    """Whether several elements of ``arr`` share one memory location (an expanded view)."""
    return any(s == 0 and n > 1 for s, n in zip(arr.strides, arr.shape))


def prepare_inplace(t: Any, op: str = "in-place write") -> np.ndarray:
    """Before a sanctioned in-place write into ``t`` (an in-place method, an optimizer step):
    bump its version, so graphs that saved the old value refuse to backward, and make its
    array writable if a graph made it read-only. Returns the array to write into.

    A tensor whose elements share memory (``expand``, ``broadcast_to``) is refused, as in
    PyTorch: the write would land on one location several times."""
    arr = t._data
    if overlapping(arr):
        raise RuntimeError(
            f"{op}: more than one element of the written-to tensor (shape {arr.shape}, "
            f"strides {arr.strides}) refers to a single memory location, as after expand() "
            f"or broadcast_to(); clone() the tensor before writing into it")
    a = aux(t)
    if a.version is None:
        a.version = Version()
    a.version.value += 1
    if not arr.flags.writeable:
        # read-only because a graph guards it (or its base: t may be a view of a guarded
        # array), or for another reason (a read-only memory map): make the chain writable
        # from its base down, or refuse
        chain = [arr]
        while isinstance(chain[-1].base, np.ndarray):
            chain.append(chain[-1].base)
        try:
            for b in reversed(chain):
                if not b.flags.writeable:
                    b.flags.writeable = True
        except ValueError:
            raise RuntimeError(f"{op}: the array of this tensor (shape {arr.shape}) is "
                               f"read-only and cannot be made writable (it is a view of "
                               f"read-only memory); write into a copy (t.clone())") from None
    return arr
