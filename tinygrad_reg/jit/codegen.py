"""A plan's replay as one generated Python function, with the common ops lowered.

A plan is a list of steps over numbered slots: op forwards, backward ops, the engine's sums
and copies, optimizer updates, random draws. Replaying it as a loop of closures costs a few
Python calls per step on top of the numpy call, and every forward allocates its result.
Here the steps become the lines of one function whose locals are the slots (``s12``), and
the common ops are *lowered*: written as the numpy calls their forward makes, into a buffer
allocated once per thread (``add(s3, b1, out=b4)``) instead of a call of the forward. The
plan (:mod:`.plan`) moves each lowered kernel next to its first reader and shares buffers
between arrays whose lives do not overlap.

A lowering computes exactly what the op's forward computes — the same ufuncs on the same
operands in the same order, into an array of the same dtype, shape and memory order — so a
replay stays bitwise equal to eager mode (tests/test_jit_codegen.py checks each lowering
against its forward). A lowering is an op class's ``lower`` facet (see
:mod:`tinygrad_reg.ops.jit_rules`), found along the class's MRO but used only while the op
keeps the forward of the class that defines it: a subclass that keeps its parent's forward
(Dropout2d) shares the lowering, one that overrides it does not. Ops without a lowering (a
user's Function without ``lower`` among them) are called as they are; the engine's sums and
accumulations and plain SGD updates, which are not ops, are lowered here.

A buffer holds only an array that never leaves the replay: not a result of the function, not
a leaf's ``.grad``, not read by an optimizer update or a user's in-place kernel (which might
keep it), and no view of such an array. Those are allocated afresh on every replay, as in
eager mode, so nothing the caller holds is overwritten by the next replay.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..autograd.accumulate import _iadd
from ..ops.jit_rules import Lowered, dense_order
from ..optim import SGD
from ..optim.optimizer import _replay_update

# the numpy functions the lowered lines call, by the names they use
NUMPY = {name: getattr(np, name) for name in (
    "add", "subtract", "multiply", "true_divide", "negative", "absolute", "tanh", "exp",
    "log1p", "maximum", "greater", "greater_equal", "matmul", "dot", "vdot", "copyto",
    "asarray", "empty")}


def rule_for(cls: type) -> Any:
    """The ``lower`` facet of op class ``cls`` (its own or a base class's), or None: also
    None when ``cls`` overrides the ``forward`` of the class that defines the lowering (its
    lines reproduce that forward, not another)."""
    for base in cls.__mro__:
        if "lower" in base.__dict__:
            rule = base.lower
            return rule if rule is not None and cls.forward is base.forward else None
    return None


# the engine's kernels (recorded functions, not ops), compared by identity
_SUM = Lowered(("add({i0}, {i1}, out={o})",), inplace=(0, 1))  # np.add: a sum of gradients
_ACCUMULATE = Lowered(("add({i0}, {i1}, out={i0})",))  # _iadd: added into a pending sum
_PURE_FNS = (np.add, _iadd, np.copy)  # engine kernels: they keep no reference to an input


def is_inplace(fn: Any) -> bool:
    """Whether a recorded function kernel is the engine's in-place accumulation."""
    return fn is _iadd


def lower(step: Any, ins: list, out: Any, more: dict | None = None) -> Lowered | None:
    """The lowering of one plan step, given the arrays of its traced call, or None.
    ``more``: the traced arrays of an op step's array attributes (by name) and of what its
    forward saved or set on ctx (``v0``... by position, ``e_<name>`` by name). ``step`` is
    the plan's OpStep or FnStep."""
    if step.kind == "op":
        rule = rule_for(step.cls)
        if rule is None:
            return None
        more = more or {}
        made = [f"v{p}" for p, _ in step.saved] + [f"e_{k}" for k, _ in step.extra]
        attrs = step.attrs
        if step.dyn or made:  # array attributes (a cache such as Conv's columns) and what the
            # forward saves or sets: the rule sees their traced arrays by name
            attrs = {**attrs, **{k: more.get(k) for k, _ in step.dyn},
                     **{name: more.get(name) for name in made}}
        if getattr(rule, "assigns", False):  # no buffer: no checks of the traced output
            if step.dyn or made:
                return None
            return rule(ins, out, attrs) if isinstance(ins[0], np.ndarray) else None
        if not own_dense(out, ins):
            return None
        if not all(isinstance(a, np.ndarray) for a in ins):
            return None
        if any(not own_dense(more.get(name), ins) for name in made):
            return None
        low = rule(ins, out, attrs)
        if low is None:
            return None
        text = "\n".join(low.lines)
        # every array the forward saves or sets must be written by the lines (a later
        # backward op reads it); an array attribute is read through its name
        if any("{" + name + "}" not in text for name in made):
            return None
        return low
    fn = step.fn
    if fn is _iadd:
        return _ACCUMULATE
    if isinstance(fn, functools.partial) and fn.func is _replay_update and \
            type(fn.args[0]) is SGD and isinstance(ins[0], np.ndarray):
        return _sgd(fn, ins[0])
    if fn is not np.add or not isinstance(out, np.ndarray) or out.base is not None:
        return None
    return _SUM if dense_order(out) is not None else None


def own_dense(a: Any, ins: list) -> bool:
    """Whether ``a`` is an array a buffer can stand for: dense (its elements fill one block
    of memory, in some order of the axes: :func:`dense_order`) and sharing no memory with
    an input (not a view of one, which later writes through the input would have to
    reach)."""
    if not isinstance(a, np.ndarray) or dense_order(a) is None:
        return False
    return not any(isinstance(i, np.ndarray) and np.may_share_memory(a, i) for i in ins)


def alloc(shape: tuple, dtype: Any, order: Any = "C") -> np.ndarray:
    """An uninitialised array of ``shape`` whose memory order is ``order`` (see
    :func:`~tinygrad_reg.ops.jit_rules.dense_order`)."""
    if isinstance(order, str):
        return np.empty(shape, dtype, order=order)
    inner = np.empty(tuple(shape[i] for i in order), dtype)
    return inner.transpose(np.argsort(order))


def _sgd(update: functools.partial, g: np.ndarray) -> Lowered:
    """One parameter's SGD update: plain SGD inline (``p -= lr·g`` as SGD writes it, into a
    scratch buffer and in place), the group's hyper-parameters read at every replay;
    momentum, weight decay or maximize set since the trace take the optimizer's own path."""
    opt, p, group = update.args
    return Lowered((
        'if {c0}["momentum"] or {c0}["weight_decay"] or {c0}["maximize"]:',
        "    {c1}({i0})",
        "else:",
        "    pa = prep({c2})",
        '    multiply({i0}, -{c0}["lr"], out={t0})',
        "    add(pa, {t0}, out=pa)",
        '    {c3}.__dict__["_opt_called"] = True'),
        temps=((g.shape, g.dtype),), consts=(group, update, p, opt))


def is_pure(fn: Any) -> bool:
    """Whether a recorded function kernel is one of the engine's, which keep no reference to
    their inputs (anything else may store what it reads, so what it reads is never a
    buffer)."""
    return any(fn is f for f in _PURE_FNS)


def layout(a: np.ndarray) -> tuple:
    """(shape, dtype, order) of an array a buffer must reproduce (``order``: see
    :func:`dense_order`)."""
    return (a.shape, a.dtype, dense_order(a) or "C")


__all__ = ["Lowered", "NUMPY", "lower", "rule_for", "is_pure", "is_inplace", "layout",
           "alloc", "dense_order", "own_dense"]
