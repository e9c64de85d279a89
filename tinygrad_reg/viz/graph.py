"""What a drawing of a graph is made of, before any label, DOT or HTML (pure).

- :func:`walk` reads the graph behind some outputs: its *items* (op nodes, leaves,
  constants, outputs) in a topological order, and the module *calls* the ops ran in
  (:class:`Call`, read from the scope each op node recorded; one object per call, so two
  calls of one module are two calls).
- :func:`view` says which drawn node holds each item when some calls are *expanded*
  (drawn as a cluster of their contents) and the others collapsed (drawn as one node):
  an op is held by the outermost collapsed call it ran in, or stands alone; a parameter
  or an internal constant that only one collapsed call reads is folded into it
  (:func:`folder`; named model inputs stay).

A collapsed view is a DAG: a call is one stretch of time, and the drawn nodes of a view
are disjoint stretches (sibling calls, or single ops run between them), so every edge
goes from an earlier node to a later one. :func:`view` numbers the nodes in a
topological order all the same (Kahn's algorithm, earliest member first).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._tensor import Tensor
from ..autograd import Context

__all__ = ["Output", "Call", "Graph", "Node", "View", "TooMany", "walk", "expanded_calls",
           "view", "outputs_of", "param_names", "names_of", "is_param", "folder",
           "call_params", "INTERNAL_CONSTANTS"]


class Output:
    """A root of the drawing: an output tensor that some op made."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor


class TooMany(Exception):
    """The walk passed its cap."""


class Call:
    """One call of a module: ``module``, the call it ran in (``parent``, None at the top),
    its ``depth`` (1 for an outermost call), the calls it made (``children``), its position
    among the graph's calls (``index``, callers first) and among the calls of the same
    module (``number`` of ``of``: call 2 of 2)."""

    __slots__ = ("module", "parent", "depth", "index", "children", "number", "of")

    def __init__(self, module: Any, parent: Call | None, index: int) -> None:
        self.module = module
        self.parent = parent
        self.depth = 1 if parent is None else parent.depth + 1
        self.index = index
        self.children: list[Call] = []
        self.number = 1
        self.of = 1
        if parent is not None:
            parent.children.append(self)

    def chain(self) -> list[Call]:
        """The calls this one ran in and itself, outermost first."""
        out = []
        c: Call | None = self
        while c is not None:
            out.append(c)
            c = c.parent
        return out[::-1]

    def __repr__(self) -> str:
        return f"<Call {type(self.module).__name__} depth={self.depth} #{self.index}>"


class Graph:
    """The items of a graph (:func:`walk`): ``items`` in a topological order, ``parents``
    (for each item the positions of its inputs), ``consumers`` (the reverse), ``made``
    (id(op node) -> the tensor it produced, while known), ``calls`` (callers first) and
    ``call_of`` (for each item the innermost call it ran in, None for tensors and for ops
    run outside any module), ``outputs`` (ids of the output tensors)."""

    __slots__ = ("items", "parents", "consumers", "made", "calls", "call_of", "outputs")


def walk(outputs: Sequence[Tensor], limit: int | None) -> Graph:
    """Post-order DFS from the outputs, without recursion, so producers come before their
    consumers (a topological order that depends only on the graph's structure).

    An item is an op node (Context), a leaf or constant Tensor (or what a freed node keeps
    of a constant, a :class:`~tinygrad_reg.autograd.Released`), or an :class:`Output`.
    Raises :class:`TooMany` as soon as more than ``limit`` items have been found, so a huge
    graph is refused without being walked."""
    order: list = []
    parents: list[list[int]] = []
    position: dict[int, int] = {}
    made: dict[int, Tensor] = {}
    found: set[int] = set()

    def children(item: Any) -> list:
        if isinstance(item, Output):
            made[id(item.tensor.grad_fn)] = item.tensor
            return [item.tensor.grad_fn]
        if isinstance(item, Context):
            kids = []
            for p in item.inputs:  # Tensors before backward; parent Contexts after it
                if isinstance(p, Tensor) and p.grad_fn is not None:
                    made.setdefault(id(p.grad_fn), p)
                    p = p.grad_fn
                kids.append(p)
            return kids
        return []

    for t in outputs:
        root = Output(t) if t.grad_fn is not None else t
        if id(root) in found:
            continue  # an output leaf already reached from an earlier output
        found.add(id(root))
        if limit is not None and len(found) > limit:
            raise TooMany
        stack = [(root, children(root), 0)]
        while stack:
            item, kids, i = stack.pop()
            if i < len(kids):
                stack.append((item, kids, i + 1))
                kid = kids[i]
                if id(kid) not in found:
                    found.add(id(kid))
                    if limit is not None and len(found) > limit:
                        raise TooMany
                    stack.append((kid, children(kid), 0))
                continue
            position[id(item)] = len(order)
            order.append(item)
            parents.append([position[id(k)] for k in kids])
    g = Graph()
    g.items, g.parents, g.made = order, parents, made
    g.consumers = [[] for _ in order]
    for i, ps in enumerate(parents):
        for p in ps:
            g.consumers[p].append(i)
    g.outputs = {id(t) for t in outputs}
    g.calls, g.call_of = _calls(order)
    return g


def _calls(items: list) -> tuple[list[Call], list[Call | None]]:
    """The module calls the op items ran in, from the scopes they recorded. A scope made by
    a module call (``autograd.modes.Scope``) names that call and, through ``outer``, the
    calls around it; a plain tuple (a scope set by hand) can only name its modules, so
    equal plain scopes count as one call."""
    calls: list[Call] = []
    by_key: dict[Any, Call] = {}
    call_of: list[Call | None] = []
    for item in items:
        scope = getattr(item, "scope", None) if isinstance(item, Context) else None
        if not scope:
            call_of.append(None)
            continue
        call = by_key.get(_key(scope))
        if call is None:
            # the scopes from the outermost call down to this one
            chain = [scope]
            while len(chain[-1]) > 1:
                outer = getattr(chain[-1], "outer", None)
                chain.append(outer if outer is not None and len(outer) == len(chain[-1]) - 1
                             else tuple(chain[-1][:-1]))
            parent = None
            for s in reversed(chain):
                call = by_key.get(_key(s))
                if call is None:
                    call = by_key[_key(s)] = Call(s[-1], parent, len(calls))
                    calls.append(call)
                parent = call
        call_of.append(call)
    counts: dict[int, list[Call]] = {}
    for c in calls:
        counts.setdefault(id(c.module), []).append(c)
    for same in counts.values():
        for k, c in enumerate(same, 1):
            c.number, c.of = k, len(same)
    return calls, call_of


def _key(scope: tuple) -> Any:
    # a Scope stands for one call; the graph's nodes keep it alive, so its id is unique
    return id(scope) if type(scope) is not tuple else tuple(id(m) for m in scope)


def expanded_calls(graph: Graph, collapse: bool | int) -> set[int]:
    """The calls (by index) drawn as clusters for a ``collapse_modules`` setting: False (or
    0) every call, True every call that made calls of its own (a call that made none, an
    innermost one, is one node), an int k those of them less than k levels deep (each call
    k levels deep is one node, and so is an innermost call above that depth)."""
    if collapse is False or (collapse is not True and collapse == 0):
        return {c.index for c in graph.calls}
    return {c.index for c in graph.calls
            if c.children and (collapse is True or c.depth < collapse)}


class Node:
    """One drawn node: the positions of the items it holds (``members``, earliest first),
    the collapsed ``call`` it stands for (None: a single item), and the expanded calls
    around it (``clusters``, outermost first)."""

    __slots__ = ("members", "call", "clusters")

    def __init__(self, members: list[int], call: Call | None, clusters: list[Call]) -> None:
        self.members = members
        self.call = call
        self.clusters = clusters


class View:
    """One drawing: ``nodes`` in a topological order, ``holder`` (for each item the index of
    the node that holds it) and ``edges`` (pairs of node indices, each once, in the order of
    the items they come from)."""

    __slots__ = ("nodes", "holder", "edges")


def view(graph: Graph, expanded: set[int], folds: Callable[[Any], bool]) -> View:
    """The drawing of ``graph`` with the calls in ``expanded`` drawn as clusters and the
    others collapsed. An op is held by the outermost collapsed call it ran in, else stands
    alone (in the cluster of its innermost call). A leaf for which ``folds(leaf)`` (a
    parameter, an internal constant) is folded into the collapsed call that holds all its
    readers if there is one, else drawn in the innermost cluster around them; other leaves
    (named inputs) and the outputs are drawn outside every cluster."""
    items, call_of = graph.items, graph.call_of
    group: list[Any] = [None] * len(items)  # a Call, or the item's own position
    clusters: dict[Any, list[Call]] = {}
    for i, call in enumerate(call_of):
        if call is None:
            if isinstance(items[i], Context):
                group[i] = i  # an op run outside every module
            continue
        chain = call.chain()
        for k, c in enumerate(chain):
            if c.index not in expanded:
                group[i] = c
                clusters[c] = chain[:k]
                break
        else:
            group[i] = i
            clusters[i] = chain
    for i, item in enumerate(items):
        if group[i] is not None:
            continue
        group[i] = i
        if isinstance(item, Output) or id(item) in graph.outputs or not folds(item):
            continue  # outputs and named inputs: drawn, outside every cluster
        readers = {id(group[j]) if isinstance(group[j], Call) else -1 - group[j]
                   for j in graph.consumers[i]}
        c = group[graph.consumers[i][0]] if graph.consumers[i] else None
        if len(readers) == 1 and isinstance(c, Call):
            group[i] = c
        else:  # drawn in the innermost cluster that holds all its readers
            chains = [clusters.get(group[j], []) for j in graph.consumers[i]]
            common = chains[0] if chains else []
            for chain in chains[1:]:
                k = 0
                while k < min(len(common), len(chain)) and common[k] is chain[k]:
                    k += 1
                common = common[:k]
            clusters[i] = common
    members: dict[Any, list[int]] = {}
    for i, g in enumerate(group):
        members.setdefault(g, []).append(i)
    keys = list(members)  # in order of each group's earliest member
    number = {id(k) if isinstance(k, Call) else -1 - k: n for n, k in enumerate(keys)}
    holder = [number[id(g) if isinstance(g, Call) else -1 - g] for g in group]
    pairs: dict[tuple[int, int], None] = {}
    for i, ps in enumerate(graph.parents):
        b = holder[i]
        for p in ps:
            a = holder[p]
            if a != b:
                pairs[(a, b)] = None
    order = _topological(len(keys), list(pairs))
    rank = {old: new for new, old in enumerate(order)}
    v = View()
    v.nodes = [Node(members[keys[old]], keys[old] if isinstance(keys[old], Call) else None,
                    clusters.get(keys[old], [])) for old in order]
    v.holder = [rank[h] for h in holder]
    v.edges = [(rank[a], rank[b]) for a, b in pairs]
    return v


def _topological(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """0..n-1 in a topological order of ``edges``, the smallest available first (so an
    order that is topological already is kept). Should a cycle ever exist, its nodes follow
    in their own order rather than vanish."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for a, b in edges:
        succ[a].append(b)
        indegree[b] += 1
    ready = [i for i in range(n) if indegree[i] == 0]
    heapq.heapify(ready)
    out: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        out.append(i)
        for j in succ[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                heapq.heappush(ready, j)
    if len(out) < n:
        done = set(out)
        out.extend(i for i in range(n) if i not in done)
    return out


# -- what the caller passed: outputs, names, which leaves fold --------------------------------

#: Names the package gives the constants it makes inside an op (regularization masks and
#: noise, average pooling's 1/count weights): internal to a module call, never model inputs.
INTERNAL_CONSTANTS = frozenset({"mask", "noise", "1/count"})


def outputs_of(output: Any, what: str = "to_dot") -> list[Tensor]:
    """The output tensors to draw, each once, or TypeError naming ``what`` was given."""
    if isinstance(output, Tensor):
        outs = [output]
    elif isinstance(output, (list, tuple)) and output:
        outs = list(output)
    else:
        raise TypeError(f"{what}: expected a Tensor or a non-empty sequence of Tensors, got "
                        f"{type(output).__name__}")
    for i, t in enumerate(outs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: output {i} is a {type(t).__name__}, not a Tensor")
    return list({id(t): t for t in outs}.values())  # an output given twice is drawn once


def param_names(params: Any, what: str = "to_dot") -> tuple[dict[int, list[str]],
                                                              dict[int, str]]:
    """(id(tensor) -> its names, id(module) -> name) from a Module or a dict name -> Tensor.
    A tensor registered under several names (a tied weight, ``lm_head.weight =
    wte.weight``) gets all of them, first the one ``named_parameters()`` gives. Identity
    lookups are safe here: ``params`` keeps every named object alive meanwhile."""
    if params is None:
        return {}, {}
    modules: dict[int, str] = {}
    if hasattr(params, "named_parameters"):
        pairs = list(params.named_parameters())
        if hasattr(params, "named_modules"):
            for name, m in params.named_modules():
                modules.setdefault(id(m), name)
                own = getattr(m, "_parameters", None)  # every name, duplicates too
                if isinstance(own, Mapping):
                    pairs.extend((f"{name}.{k}" if name else k, t) for k, t in own.items()
                                 if t is not None)
    elif isinstance(params, Mapping):
        pairs = list(params.items())
    else:
        raise TypeError(f"{what}: params must be a Module (with named_parameters()) or a dict "
                        f"name -> Tensor, got {type(params).__name__}")
    names: dict[int, list[str]] = {}
    for name, t in pairs:
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        known = names.setdefault(id(t), [])
        if str(name) not in known:
            known.append(str(name))
    return names, modules


def names_of(t: Any, names: dict) -> list[str]:
    """A leaf's names: those from ``params``, else its own ``name``, else none."""
    got = names.get(id(t))
    if got:
        return got
    return [] if t.name is None else [str(t.name)]


def is_param(item: Any) -> bool:
    """A leaf that requires grad."""
    return isinstance(item, Tensor) and item.requires_grad and item.grad_fn is None


def folder(names: dict) -> Any:
    """Which leaves fold into the one collapsed module call that reads them: parameters,
    and constants that are not named model inputs (unnamed ones, and those the package
    names itself: masks, noise)."""
    def folds(item: Any) -> bool:
        if is_param(item):
            return True
        own = names_of(item, names)
        return not own or (len(own) == 1 and own[0] in INTERNAL_CONSTANTS)
    return folds


def call_params(call: Call, graph: Graph, members: list[int]) -> int:
    """The parameter count of a collapsed call: its module's ``parameters()`` (each once),
    or, for an object that has none, the values of the parameters its ops read."""
    params = getattr(call.module, "parameters", None)
    if callable(params):
        return sum(int(p._data.size) for p in params())
    seen: dict[int, int] = {}
    for m in members:
        for p in graph.parents[m]:
            leaf = graph.items[p]
            if is_param(leaf):
                seen[id(leaf)] = int(leaf._data.size)
    return sum(seen.values())
