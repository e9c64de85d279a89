"""Guards that keep a gradient from silently using a value changed after the forward pass.

Graph nodes save what their backward reads. Two mechanisms keep those values intact, or
make backward refuse:

* **Version counters.** A tensor and its views (and ``detach()``-ed aliases) share one
  :class:`Version`; every sanctioned in-place write (the Tensor's in-place methods,
  optimizer steps) increments it. A node records its inputs' versions and refuses to run
  backward if a value it saved has moved on (PyTorch's rule).
* **Read-only arrays.** A leaf's array (which the user may hold: the ndarray the tensor was
  made from, or the base it is a slice of) is made read-only from the first node that saves
  it until the last one has run backward or been dropped; an op result's array is made
  read-only when the user reaches it (``numpy()``, ``np.asarray``, a ``detach()``-ed alias)
  while the node that made it is alive. A raw numpy write then fails at the line that does
  it. One array may be guarded for several tensors and nodes: :data:`_LOCKS` counts the
  holders of each array and gives it back its write flag when the last one lets go. That
  table is the one piece of process-wide state here, as the flag it counts is process-wide
  too; a mutex keeps threads that share arrays consistent.
* **``.data``.** PyTorch's door around autograd is, here, ``detach()`` under its older
  name: the tensor it gives shares the version counter, so a write through it (``p.data -=
  lr * p.grad``) counts as an in-place write like any other.

Arrays that were read-only before (a broadcast, a read-only memory map) are never touched.
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
    """What most tensors never need: the version counter; for a leaf, how many live nodes
    saved it, the locks they share, and whether its array is memory the user holds too (an
    ndarray it was made from: ``shared``); for a ``detach()``-ed alias, the tensor whose
    memory it shares; the arrays ``t.data = ...`` replaced (weak references: a node that
    saved one must not take the new array for it); what freed graph nodes keep of this
    constant (``autograd.Released``)."""

    __slots__ = ("version", "holds", "locks", "shared", "source", "replaced", "released")

    def __init__(self) -> None:
        self.version = None
        self.holds = 0
        self.locks = None
        self.shared = False
        self.source = None
        self.replaced = None
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


def version_of(t: Any) -> Version:
    """``t``'s :class:`Version`, made on first use."""
    a = aux(t)
    if a.version is None:
        a.version = Version()
    return a.version


def share_version(base: Any, view: Any) -> None:
    """Make ``view`` (whose array is a view of ``base``'s) share base's version counter."""
    aux(view).version = version_of(base)


# -- read-only locks, counted per array --------------------------------------------------

#: id(array) -> [array, count]: the arrays guards made read-only, and how many holders each
#: has (the entry keeps its array alive, so an id is never reused while it is listed).
_LOCKS: dict[int, list] = {}
_MUTEX = threading.Lock()


def lock(arr: np.ndarray, into: list) -> None:
    """Make ``arr`` and every array it is a view of read-only, counting one more holder of
    each; append the arrays counted to ``into`` (give that list to :func:`unlock` later)."""
    with _MUTEX:
        a = arr
        while isinstance(a, np.ndarray):
            entry = _LOCKS.get(id(a))
            if entry is not None and entry[0] is a:
                entry[1] += 1
                if a.flags.writeable:  # an in-place write made it writable meanwhile
                    _set_writeable(a, False)
                into.append(a)
            elif a.flags.writeable:
                a.flags.writeable = False
                _LOCKS[id(a)] = [a, 1]
                into.append(a)
            a = a.base


def unlock(arrays: list) -> None:
    """One holder fewer for each of ``arrays`` (from :func:`lock`); an array nobody holds
    any more gets its write flag back. Bases first, so that their views can follow."""
    with _MUTEX:
        for a in reversed(arrays):
            entry = _LOCKS.get(id(a))
            if entry is None or entry[0] is not a:
                continue
            entry[1] -= 1
            if entry[1] <= 0:
                del _LOCKS[id(a)]
                _set_writeable(a, True)


def _set_writeable(a: np.ndarray, flag: bool) -> None:
    try:
        a.flags.writeable = flag
    except ValueError:  # a base another holder still guards: stays read-only
        pass


def is_locked(arr: np.ndarray) -> bool:
    """Whether a guard holds ``arr``."""
    entry = _LOCKS.get(id(arr))
    return entry is not None and entry[0] is arr


# -- leaves: held by the nodes that save them --------------------------------------------

def hold(t: Any) -> None:
    """One more live node saved leaf ``t``. If the user may hold its memory (the ndarray it
    was made from, or a base it is a view of), that array is read-only from now until
    :func:`release` has been called as often; memory the library made (a dropout mask, a
    number turned into a tensor) is guarded only once the user reaches it (:func:`expose`)."""
    a = aux(t)
    arr = t._data
    if (a.shared or arr.base is not None) and (not a.locks or a.locks[0] is not arr):
        if a.locks is None:
            a.locks = []
        lock(arr, a.locks)
    a.holds += 1


def release(t: Any) -> None:
    """A node that saved leaf ``t`` has run backward or been dropped."""
    a = t._aux
    a.holds -= 1
    if a.holds <= 0:
        release_all(t)


def release_all(t: Any) -> None:
    """No live node holds leaf ``t`` any more: give its arrays back their write flag."""
    a = t._aux
    a.holds = 0
    locks, a.locks = a.locks, None
    if locks:
        unlock(locks)


# -- sanctioned in-place writes ------------------------------------------------------------

def overlapping(arr: np.ndarray) -> bool:
    """Whether several elements of ``arr`` share one memory location (an expanded view)."""
    return any(s == 0 and n > 1 for s, n in zip(arr.strides, arr.shape))


def prepare_inplace(t: Any, op: str = "in-place write") -> np.ndarray:
    """Before a sanctioned in-place write into ``t`` (an in-place method, an optimizer step):
    bump its version, so graphs that saved the old value refuse to backward, and make its
    array writable if a guard made it read-only. Returns the array to write into.

    A tensor whose elements share memory (``expand``, ``broadcast_to``) is refused, as in
    PyTorch: the write would land on one location several times."""
    arr = t._data
    if 0 in arr.strides and overlapping(arr):
        raise RuntimeError(
            f"{op}: more than one element of the written-to tensor (shape {arr.shape}, "
            f"strides {arr.strides}) refers to a single memory location, as after expand() "
            f"or broadcast_to(); clone() the tensor before writing into it")
    version_of(t).value += 1
    if not arr.flags.writeable:
        # read-only because a guard holds it (or its base: t may be a view of a guarded
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


# -- reaching an array through a tensor ---------------------------------------------------

def expose(t: Any) -> None:
    """``t``'s array is being handed to the user (``numpy()``, ``np.asarray``):
    guard it for as long as a graph may read it. An op result's array is guarded by the node
    that made its memory (following views and ``detach()`` back to it, since that node
    outlives every node that saved the array); a leaf's view, by the leaf while nodes hold
    it."""
    arr = t._data
    root = view_root(t)
    if root is None:
        return
    node = root.grad_fn
    if node is not None:
        if not node._freed:
            node.expose(arr)
        return
    a = root._aux
    if a is not None and a.holds > 0 and arr.flags.writeable:
        if a.locks is None:
            a.locks = []
        lock(arr, a.locks)


def view_root(t: Any) -> Any:
    """The tensor whose memory ``t`` shares: back through ``detach()`` and through ops whose
    result is a view of their first input (None if a detached source is gone)."""
    a = t._aux
    if a is not None and a.source is not None:
        t = a.source()
        if t is None:
            return None
    node = t.grad_fn
    while node is not None and not node._freed and node.inputs:
        src = node.inputs[0]
        base = t._data.base
        if base is None or not (base is src._data or base is src._data.base):
            break
        t = src
        node = t.grad_fn
    return t
