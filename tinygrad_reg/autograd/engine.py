"""The reverse-mode engine: ``backward``, ``grad`` and the walk they share.

The engine visits the recorded nodes in reverse topological order without recursion (Kahn's
algorithm on consumer counts), reduces broadcast gradients back to each input's shape (the
only place this happens), accumulates, and frees each node's saved values as soon as it has
run, so memory falls as backward proceeds. Its state lives in local variables of one call,
so threads can run backward passes of their own graphs at the same time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._tensor import OPS, Tensor, to_array
from . import anomaly
from .accumulate import Accumulator
from .function import Context, OnceDifferentiable, _freed_message, grads_of, released, wrap
from .modes import ANOMALY, GRAD, TRACE, mode, reset_mode, set_mode


def _as_tensors(x: Any, what: str) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    if isinstance(x, (list, tuple)):
        return tuple(x)
    raise TypeError(f"{what}: expected a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _root_grads(roots: tuple, grads: Any, what: str) -> list:
    grads = _as_tensors(grads, what) if grads is not None else (None,) * len(roots)
    if len(grads) != len(roots):
        raise ValueError(f"{what}: got {len(roots)} outputs but {len(grads)} gradients")
    result = []
    for i, (r, g) in enumerate(zip(roots, grads)):
        if not isinstance(r, Tensor):
            raise TypeError(f"{what}: output {i} is a {type(r).__name__}, not a Tensor")
        if not r.requires_grad:
            raise RuntimeError(f"{what}: output {i} does not require grad and has no grad_fn; "
                               f"did you compute it under no_grad() or from tensors with "
                               f"requires_grad=False?")
        if g is None:
            if r._data.size != 1:
                raise RuntimeError(
                    f"{what}: grad can be implicitly created only for one-element outputs; "
                    f"output {i} has shape {r.shape}. Pass grad= of that shape, or reduce "
                    f"the output first (e.g. .sum()).")
            g = wrap(np.ones(r._data.shape, r._data.dtype))  # (ones_like: a Python-level call)
        else:
            if not isinstance(g, Tensor):
                g = Tensor(to_array(g, r.dtype))
            if mode() & ANOMALY and g.dtype.kind == "f" and not anomaly.all_finite(g._data):
                bad, first = anomaly.nonfinite_summary(g._data)
                raise FloatingPointError(f"{what}: the gradient given for output {i} holds "
                                         f"{bad}, first at index {first}")
            if g.shape != r.shape:
                raise ValueError(f"{what}: grad has shape {g.shape} but output {i} has shape "
                                 f"{r.shape}; they must match")
            if g.dtype != r.dtype:
                g = g.astype(r.dtype)
        result.append(g)
    return result


def _fit(node: Context, g: Any, t: Tensor, upstream: Tensor, create_graph: bool) -> Tensor:
    """Make ``g`` a Tensor gradient for input ``t``: wrap, unbroadcast, cast dtype."""
    if not isinstance(g, Tensor):
        g = wrap(np.asarray(g))
        if create_graph:
            g = OnceDifferentiable.apply(upstream, *node.inputs, value=g._data, op=node.name)
    if g._data.shape != t._data.shape:
        try:
            g = OPS["sum_to"](g, t._data.shape)
        except ValueError:
            raise RuntimeError(f"{node.name}: backward returned a gradient of shape {g.shape} "
                               f"for input {_position(node.inputs, t)} of shape {t.shape}"
                               ) from None
    if g._data.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    return g


def _position(items: tuple, item: Any) -> int:
    """The index of ``item`` in ``items`` by identity (Tensor's == builds a tensor)."""
    return next(i for i, x in enumerate(items) if x is item)


def _run(roots: tuple, grads: list, retain_graph: bool, create_graph: bool,
         targets: dict | None) -> dict:
    """Backpropagate from ``roots``. Gradients go to leaves' ``.grad`` or, when ``targets``
    (id -> Tensor) is given, only into the returned dict (id -> gradient)."""
    deps, ready = _consumers(roots)
    flags = mode()
    acc = Accumulator(grads, create_graph, targets, bool(flags & TRACE))
    watch = anomaly.Checking() if flags & ANOMALY else None  # the one observer
    # grad mode as set_grad_enabled(create_graph) would set it, without its object
    token = set_mode(flags | GRAD if create_graph else flags & ~GRAD)
    try:
        for r, g in zip(roots, grads):
            if r.grad_fn is None:
                acc.to_leaf(r, g)
            else:
                acc.to_node(r.grad_fn, g)
        # Kahn's algorithm: a node runs once every consumer has passed its gradient on
        while ready:
            node = ready.pop()
            g, node._grad = node._grad, None  # what arrived at its output
            if g is not None and (acc.owned or acc.target_nodes):
                acc.took(node, g)
            inputs = node.inputs
            if g is None:  # nothing flowed in: the node only lets its inputs go
                res = (None,) * len(inputs)
            else:
                res = watch.backward(node, g) if watch else node.fn.backward(node, g)
                if type(res) is not tuple:  # one gradient, or a list of them
                    res = tuple(res) if type(res) is list else (res,)
                if len(res) != len(inputs):
                    res = grads_of(node, res)  # (raises, naming the op)
            kept = []  # what the node keeps of its inputs once freed, to be drawn
            for t, gi in zip(inputs, res):
                f = t.grad_fn
                kept.append(f if f is not None else t if t.requires_grad else released(t))
                if gi is not None and t.requires_grad:
                    # (builtin dtypes are singletons: `is not` spares a rich comparison; a
                    # false alarm only costs a _fit call that changes nothing)
                    if (type(gi) is not Tensor or gi._data.shape != t._data.shape
                            or gi._data.dtype is not t._data.dtype):
                        gi = _fit(node, gi, t, g, create_graph)
                    if f is None:
                        acc.to_leaf(t, gi)
                    else:
                        prev = f._grad
                        f._grad = gi if prev is None else acc.add(prev, gi)
                if f is not None:
                    d = deps[f] - 1
                    deps[f] = d
                    if d == 0:
                        ready.append(f)
            if not retain_graph:
                node.free(kept, g)
    finally:
        reset_mode(token)
        if watch:
            watch.done()
    return acc.captured


def _consumers(roots: tuple) -> tuple[dict, list]:
    """For each node of the graph, how many nodes of it consume its output; and the nodes
    that start the walk (the roots' nodes that no other node consumes)."""
    deps: dict[Context, int] = {}
    stack = []
    for r in roots:
        n = r.grad_fn
        if n is not None and n not in deps:
            deps[n] = 0
            stack.append(n)
    starts = stack[:]  # every other node is consumed by one of these, so starts with deps >= 1
    while stack:
        n = stack.pop()
        if n._freed:
            raise RuntimeError(_freed_message(n))
        for t in n.inputs:
            f = t.grad_fn
            if f is not None:
                if f in deps:
                    deps[f] += 1
                else:
                    deps[f] = 1
                    stack.append(f)
    return deps, [n for n in starts if deps[n] == 0]


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None, *,
             retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of every leaf that requires
    grad (``tensors[i].backward(grad_tensors[i])`` for all i in one pass)."""
    roots = _as_tensors(tensors, "backward")
    grads = _root_grads(roots, grad_tensors, "backward")
    _run(roots, grads, retain_graph or create_graph, create_graph, None)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, *, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is not
    touched. ``grad_outputs`` are the upstream gradients (default: ones for one-element
    outputs). With ``create_graph=True`` the result can be differentiated again.
    ``retain_graph`` defaults to ``create_graph``. An input the outputs do not depend on
    raises ``RuntimeError`` unless ``allow_unused=True`` (then its gradient is None)."""
    roots = _as_tensors(outputs, "grad")
    ins = _as_tensors(inputs, "grad")
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    grads = _root_grads(roots, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    captured = _run(roots, grads, retain_graph, create_graph, {id(t): t for t in ins})
    result = []
    for i, t in enumerate(ins):
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute "
                               f"the outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)


def iter_graph(outputs: Iterable[Tensor]) -> list[Context]:
    """Every op node reachable from ``outputs``, each once, outputs first (no recursion)."""
    seen: dict[Context, None] = {}
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen[n] = None
        for p in n.inputs:
            f = p if isinstance(p, Context) else p.grad_fn
            if f is not None and f not in seen:
                stack.append(f)
    return list(seen)
