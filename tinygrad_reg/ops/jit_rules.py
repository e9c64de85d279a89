"""The pieces an op's jit lowering is written with: its ``lower`` facet.

``tg.jit`` replays a traced step as one generated Python function; an op that can be
*lowered* is written there as the numpy calls its forward makes, into a buffer allocated once
(``add(s3, b1, out=b4)``), instead of a call of its forward. An op class says how with a
static method in its body::

    class ReLU(Function):
        ...
        @staticmethod
        def lower(ins, out, attrs):
            return Lowered(("maximum({i0}, 0, out={o})",), inplace=(0,))

``ins`` are the traced input arrays, ``out`` the traced output and ``attrs`` the op's
keyword attributes; the result is a :class:`Lowered`, or None for a call that the lines
would not reproduce exactly (another dtype, a broadcast). The lines must compute exactly
what the forward computes — the same ufuncs on the same operands in the same order, into
an array of the same dtype, shape and memory order — so that a replay stays bitwise equal
to eager mode. A lowering is used only while the op keeps the ``forward`` of the class that
defines it: a subclass that overrides ``forward`` does not inherit it.

This module is the ground floor of that facet (numpy only): ops never import the jit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class Lowered(NamedTuple):
    """Source lines for one step: ``{o}`` is the output, ``{i0}``, ``{i1}``... the inputs,
    ``{t0}``... temporary buffers of the given (shape, dtype) or (shape, dtype, order) (an
    order as :func:`tinygrad_reg.jit.codegen.dense_order` gives it: "C", "F" or a tuple of
    axes), ``{c0}``... constants. An op whose forward keeps arrays for its backward writes
    them too, into buffers of their traced layout: ``{v0}``... what it saved (by position in
    ``save_for_backward``), ``{e_<name>}`` what it set as ``ctx.<name>``; an array attribute
    (a private cache such as ``_cols``) is read as ``{a_<name>}`` (the rule gets its traced
    array in ``attrs``). ``assigns``: the lines assign ``{o}`` themselves (a view of an
    input, or a small fresh result such as a loss), so it takes no buffer. ``inplace``: the
    inputs whose buffer may also be the output's (the lines read them before, or only
    where, they write ``{o}``), used when that input is read for the last time here."""

    lines: tuple[str, ...]
    temps: tuple[tuple, ...] = ()
    consts: tuple[Any, ...] = ()
    assigns: bool = False
    inplace: tuple[int, ...] = ()


Rule = Callable[[list, np.ndarray, dict], "Lowered | None"]


def ufunc(name: str, arity: int) -> Rule:
    """The lowering of an op whose forward is the numpy ufunc ``name`` of its ``arity``
    inputs (``a + b`` is ``add``): the ufunc into the output buffer, which may be any
    input's."""
    args = ", ".join(f"{{i{k}}}" for k in range(arity))
    low = Lowered((f"{name}({args}, out={{o}})",), inplace=tuple(range(arity)))

    def rule(ins: list, out: np.ndarray, attrs: dict) -> Lowered:
        return low
    rule.__qualname__ = f"ufunc({name!r})"
    return rule


def dense_order(a: np.ndarray) -> Any:
    """The memory order of a dense array: "C", "F", or the tuple of its axes from the
    slowest-varying in memory to the fastest (a channel-major (N, C, H, W) array, a view of
    a C-contiguous (C, H, W, N) one, gives (1, 2, 3, 0)); None when it has gaps or
    overlaps."""
    if a.flags.c_contiguous:
        return "C"
    if a.flags.f_contiguous:
        return "F"
    perm = tuple(sorted(range(a.ndim), key=lambda i: (-a.strides[i], i)))
    step = a.itemsize
    for i in reversed(perm):
        if a.shape[i] != 1 and a.strides[i] != step:
            return None
        step *= a.shape[i]
    return perm


def order_of(a: np.ndarray) -> Any:
    """The order for a temporary buffer laid out like ``a`` (:func:`dense_order`; "C" for
    an array with gaps)."""
    return dense_order(a) or "C"


def assigning(rule: Rule) -> Rule:
    """Mark a lowering whose lines assign ``{o}`` themselves (``Lowered(assigns=True)``): it
    takes no buffer, so the traced output is not checked to be one the replay could
    allocate; the rule is asked only when the first input is an array."""
    rule.assigns = True
    return rule


__all__ = ["Lowered", "ufunc", "assigning", "dense_order", "order_of"]
