"""Where the engine puts gradients: summing the contributions a tensor receives, and handing
each leaf a ``.grad`` of its own.

Two rules keep this both fast and safe:

* **A leaf's .grad is its own array.** Optimizers and users may change ``.grad`` in place,
  but the engine passes arrays through (Add hands one gradient to both inputs, Reshape
  returns a view), so a gradient that is a view, or was already handed out, is copied
  before it becomes a ``.grad``.
* **Sums are written in place only into arrays the pass owns.** An array this pass
  allocated for a sum of gradients (or a leaf's private copy), and that one slot holds (a
  leaf's ``.grad`` or a node's pending gradient), takes later contributions with ``+=``;
  any other is summed out of place. A node's array stops being owned when the node takes
  it, as its backward may hand it on.

Under ``create_graph`` every sum is an op (so it can be differentiated) and nothing is
written in place. Under a tg.jit trace each sum and copy is recorded as a kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..trace import record, tracer
from .function import Context, wrap
from .hooks import LEAF_HOOKS, run_leaf_hooks


def _iadd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a += b
    return a


class Accumulator:
    """The gradients of one backward pass: the leaves' ``.grad`` (or, for ``tg.grad``, the
    ``captured`` dict of the requested inputs' gradients) and the sums on the way."""

    def __init__(self, root_grads: list, create_graph: bool, targets: dict | None,
                 tracing: bool) -> None:
        self.create_graph = create_graph
        self.targets = targets
        self.tracing = tracing
        self.captured: dict[int, Tensor] = {}
        self.target_nodes: dict[Context, int] = {}
        if targets is not None:
            self.target_nodes = {t.grad_fn: k for k, t in targets.items()
                                 if t.grad_fn is not None}
        self.handed_out = {id(g._data) for g in root_grads}
        self.owned: set[int] = set()

    def took(self, node: Context, g: Tensor) -> None:
        """``node`` took ``g``, the gradient that arrived at its output: the pass no longer
        owns its array (the node's backward may hand it on), and tg.grad may want it.
        (The engine calls it only when the pass owns arrays or tg.grad wants nodes'.)"""
        self.owned.discard(id(g._data))
        if node in self.target_nodes:
            self.captured[self.target_nodes[node]] = g

    def add(self, prev: Tensor, g: Tensor) -> Tensor:
        """prev + g, in place when the pass owns prev's array."""
        if self.create_graph:
            return prev + g
        if id(prev._data) in self.owned:
            prev._data += g._data
            if self.tracing:
                record(_iadd, (prev._data, g._data), prev._data, "accumulate")
            return prev
        total = wrap(prev._data + g._data)
        if self.tracing:
            record(np.add, (prev._data, g._data), total._data, "sum")
        self.owned.add(id(total._data))
        return total

    def to_node(self, node: Context, g: Tensor) -> None:
        """Add ``g`` to what ``node``'s output has received so far."""
        prev = node._grad
        node._grad = g if prev is None else self.add(prev, g)

    def to_leaf(self, t: Tensor, g: Tensor) -> None:
        """Add ``g`` to leaf ``t``'s ``.grad`` (or to the captured gradient, for tg.grad),
        after the hooks ``t.register_hook`` gave it, if any."""
        if LEAF_HOOKS and id(t) in LEAF_HOOKS:
            g = run_leaf_hooks(t, g)
        if self.targets is not None:
            k = id(t)
            if k in self.targets:
                prev = self.captured.get(k)
                self.captured[k] = g if prev is None else prev + g
            return
        if t.grad is None:
            if not self.create_graph and (g._data.base is not None
                                          or id(g._data) in self.handed_out):
                src = g._data
                g = wrap(src.copy())
                if self.tracing:
                    record(np.copy, (src,), g._data, "copy")
                self.owned.add(id(g._data))
            self.handed_out.add(id(g._data))
            t.grad = g
            if self.tracing:
                _tell_tracer(t)
        else:
            if self.tracing:
                _tell_tracer(t, t.grad._data)  # (the gradient it adds to)
            t.grad = self.add(t.grad, g)


def _tell_tracer(t: Tensor, previous: Any = None) -> None:
    leaf = getattr(tracer(), "leaf_grad", None)
    if leaf is not None:
        if previous is None:
            leaf(t)
        else:
            leaf(t, previous)
