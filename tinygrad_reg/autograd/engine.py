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
from .function import Context, OnceDifferentiable, _freed_message, released, wrap
from .hooks import LEAF_HOOKS, run_leaf_hooks
from .modes import (
    ANOMALY,
    GRAD,
    TRACE,
    mode,
    record,
    reset_backward_of,
    reset_mode,
    set_backward_of,
    set_mode,
    tracer,
)


def _iadd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a += b
    return a


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
    # 1. count, for each node, how many nodes of this graph consume its output
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

    flags = mode()
    checking = bool(flags & ANOMALY)
    tracing = bool(flags & TRACE)
    captured: dict[int, Tensor] = {}
    target_nodes = {}
    if targets is not None:
        target_nodes = {t.grad_fn: k for k, t in targets.items() if t.grad_fn is not None}

    # Each leaf's .grad must be its own array (optimizers and users may change it in place),
    # but the engine passes arrays through (Add hands the same grad to both inputs, Reshape
    # returns a view): copy a gradient that is a view or was already handed out.
    handed_out = set()
    for g in grads:
        handed_out.add(id(g._data))
    # Arrays this pass allocated for a sum of gradients (or a leaf's private copy) and that
    # only one slot holds (a leaf's .grad, or a node's pending _grad): later gradients are
    # added into them in place. A node's array leaves the set when the node consumes it, as
    # its backward may hand it on.
    owned: set[int] = set()

    def accumulate(prev: Tensor, g: Tensor) -> Tensor:
        if create_graph:
            return prev + g
        if id(prev._data) in owned:
            prev._data += g._data
            if tracing:
                record(_iadd, (prev._data, g._data), prev._data, "accumulate")
            return prev
        total = wrap(prev._data + g._data)
        if tracing:
            record(np.add, (prev._data, g._data), total._data, "sum")
        owned.add(id(total._data))
        return total

    def deliver(t: Tensor, g: Tensor) -> None:
        if LEAF_HOOKS and id(t) in LEAF_HOOKS:  # (a leaf's register_hook; none by default)
            g = run_leaf_hooks(t, g)
        if targets is None:
            if t.grad is None:
                if not create_graph and (g._data.base is not None or id(g._data) in handed_out):
                    src = g._data
                    g = wrap(src.copy())
                    if tracing:
                        record(np.copy, (src,), g._data, "copy")
                    owned.add(id(g._data))
                handed_out.add(id(g._data))
                t.grad = g
                if tracing:
                    leaf = getattr(tracer(), "leaf_grad", None)
                    if leaf is not None:
                        leaf(t)
            else:
                if tracing:
                    leaf = getattr(tracer(), "leaf_grad", None)
                    if leaf is not None:
                        leaf(t, t.grad._data)  # (the gradient it adds to)
                t.grad = accumulate(t.grad, g)
        elif id(t) in targets:
            k = id(t)
            captured[k] = g if k not in captured else captured[k] + g

    # 2. Kahn's algorithm: a node runs once every consumer has passed its gradient on.
    # Grad mode is set as set_grad_enabled(create_graph) would, without its object.
    # In anomaly mode, the node being processed is marked, so that what the engine itself
    # records for it under create_graph (its backward's ops, unbroadcasting, sums of
    # gradients) is attributed to it and checked here, not as user-level forward ops.
    mode_token = set_mode(flags | GRAD if create_graph else flags & ~GRAD)
    of_token = set_backward_of(None) if checking else None
    try:
        for r, g in zip(roots, grads):
            if r.grad_fn is None:
                deliver(r, g)
            else:
                prev = r.grad_fn._grad
                r.grad_fn._grad = g if prev is None else prev + g
        ready = [n for n in starts if deps[n] == 0]
        while ready:
            node = ready.pop()
            if checking:
                set_backward_of(node)
            g = node._grad
            node._grad = None
            if owned and g is not None:
                owned.discard(id(g._data))
            if target_nodes and g is not None and node in target_nodes:
                captured[target_nodes[node]] = g
            inputs = node.inputs
            if g is None:  # nothing flowed into this node: just release its parents
                res = (None,) * len(inputs)
            else:
                res = anomaly.checked_backward(node, g) if checking else node.fn.backward(node, g)
                if type(res) is not tuple:
                    res = tuple(res) if isinstance(res, list) else (res,)
                if len(res) != len(inputs):
                    raise RuntimeError(f"{node.name}: backward returned {len(res)} gradients "
                                       f"for {len(inputs)} inputs")
            parents = []  # what the node keeps of its inputs once freed
            for t, gi in zip(inputs, res):
                f = t.grad_fn
                if f is None:
                    # a freed node keeps the leaves that require grad (parameters); of a
                    # constant (a batch, a mask) only a description
                    if t.requires_grad:
                        parents.append(t)
                    else:
                        a = t._aux
                        r = a.released if a is not None else None
                        parents.append(r if r is not None else released(t))
                else:
                    parents.append(f)
                if gi is not None and t.requires_grad:
                    # (builtin dtypes are singletons: `is not` spares a rich comparison; a
                    # false alarm only costs a _fit call that changes nothing)
                    if (type(gi) is not Tensor or gi._data.shape != t._data.shape
                            or gi._data.dtype is not t._data.dtype):
                        gi = _fit(node, gi, t, g, create_graph)
                    if f is None:
                        deliver(t, gi)
                    else:
                        prev = f._grad
                        f._grad = gi if prev is None else accumulate(prev, gi)
                if f is not None:
                    d = deps[f] - 1
                    deps[f] = d
                    if d == 0:
                        ready.append(f)
            if not retain_graph:
                node.free(tuple(parents))
                if g is not None:
                    node.out_shape = g._data.shape
                    node.out_dtype = g._data.dtype
    finally:
        reset_mode(mode_token)
        if of_token is not None:
            reset_backward_of(of_token)
    return captured


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
