"""The graph behind a tensor as DOT text: :func:`to_dot`, pure (no graphviz, no program).

The graph is read from the op nodes (``Tensor.grad_fn`` -> ``Context.inputs``), before or
after ``backward()``: a freed node keeps its op, attributes, parents and output shape, so a
graph drawn after backward shows the gradients that flowed into the leaves.

Picture conventions:

- op nodes are boxes labelled with the op name and its ``apply`` attributes
  (``Dropout p=0.2``, ``L2Penalty λ=0.005``, ``Sum axis=1``; an op class may say how it is
  drawn with a ``graph_label(attrs)`` static method, as ``Split`` does: ``chunk 2/3 dim=1``)
  and the output's shape and dtype; regularization ops and penalties (an op class's
  ``kind``: "regularization" or "penalty", names in :data:`REGULARIZATION_OPS`) and losses
  (``kind = "loss"``, :data:`LOSS_OPS`) have their own colours, and a legend explains the
  colours present;
- tensor nodes (ellipses) are the leaves, the constants and the outputs: a name (a parameter's
  dotted name from ``params``, every name of a parameter tied under several, or
  ``Tensor.name``), else the shape; the dtype; the values of small tensors with
  ``show_data``; the gradient's norm on leaves with ``show_grad`` once a backward pass has
  filled ``.grad``. Intermediate results are not separate nodes: their shape is written on
  the op that made them;
- with ``collapse_modules``, module calls are drawn as single nodes or as clusters
  (:mod:`.graph` says which item each node holds, :mod:`.labels` what each node says).

Node ids (``n0, n1, ...``) follow a topological order of the data flow, so the same code gives
byte-identical DOT on every run. Every graph walk is iterative. A graph larger than
``max_nodes`` is refused with the node count that each ``collapse_modules`` depth would give,
so the error says which setting makes it fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._tensor import Tensor
from ..autograd import Context
from ..ops.kinds import ops_of_kind
from .graph import (
    INTERNAL_CONSTANTS,
    Call,
    Graph,
    Output,
    TooMany,
    View,
    expanded_calls,
    folder,
    outputs_of,
    param_names,
    view,
    walk,
)
from .labels import call_lines, call_name, item_lines

__all__ = ["to_dot", "GRAPH_NAME", "INTERNAL_CONSTANTS"]  # (and the two name sets, below)

# an op class's kind (its ``kind`` facet) -> the colour it is drawn in
_KIND_COLOURS = {"regularization": "reg", "penalty": "reg", "loss": "loss"}


def __getattr__(name: str) -> frozenset[str]:
    """``REGULARIZATION_OPS``: the names of the op classes drawn in the regularization colour
    (kind "regularization" or "penalty"); ``LOSS_OPS``: those drawn in the loss colour (kind
    "loss"). Read off the classes defined at the time of asking, a user's among them."""
    if name == "REGULARIZATION_OPS":
        return frozenset(c.__name__ for c in ops_of_kind("regularization", "penalty"))
    if name == "LOSS_OPS":
        return frozenset(c.__name__ for c in ops_of_kind("loss"))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


GRAPH_NAME = "tinygrad_reg"
_WALK_CAP = 50_000  # items walked at most to work out which collapse depth would fit
_RANKDIRS = ("TB", "LR", "BT", "RL")

# kind -> (legend text, node attributes)
_STYLES = {
    "op": ("op", 'shape=box, style="rounded,filled", fillcolor="#dbe8f6", color="#5b7fa6"'),
    "reg": ("regularization op",
            'shape=box, style="rounded,filled", fillcolor="#fde0b0", color="#c27c0e"'),
    "loss": ("loss", 'shape=box, style="rounded,filled", fillcolor="#f6c4c4", color="#b23b3b"'),
    "module": ("module (collapsed)",
               'shape=box3d, style=filled, fillcolor="#e4dcf2", color="#6a55a0"'),
    "param": ("leaf, requires grad",
              'shape=ellipse, style=filled, fillcolor="#d3edc9", color="#4d8a3a"'),
    "tied": ("tied parameter (several names)",
             'shape=ellipse, style=filled, fillcolor="#d3edc9", color="#4d8a3a", '
             'peripheries=2'),
    "const": ("constant", 'shape=ellipse, style="dashed,filled", fillcolor="#f2f2f2", '
                          'color="#8c8c8c", fontcolor="#555555"'),
    "output": ("output", 'shape=ellipse, style=filled, fillcolor="#fff1a8", color="#a08a00", '
                         'penwidth=2'),
}
_ORDER = ("op", "reg", "loss", "module", "param", "tied", "const", "output")


# -- DOT labels -----------------------------------------------------------------------------

# DOT quoted strings: escape backslash and quote; '&' too, because Graphviz expands HTML
# entities in every label ("&lt;" would show as "<"). Newlines become DOT line breaks; other
# control characters would corrupt the file or the SVG, so they become spaces.
_ESCAPES = {"\\": "\\\\", '"': '\\"', "&": "&amp;", "\n": "\\n", "\r": ""}
_ESCAPES.update({chr(c): " " for c in [*range(32), 127] if chr(c) not in _ESCAPES})
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def _escape(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. from os.fsdecode): written as \udc80
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.translate(_ESCAPE_TABLE)


def _label(lines: Sequence[str]) -> str:
    return '"' + "\\n".join(_escape(s) for s in lines) + '"'


# -- the size guard ------------------------------------------------------------------------

def _too_big(max_nodes: int, count: int | None, fits: list[tuple[Any, int]] | None
             ) -> ValueError:
    """The size error. ``fits``: (collapse_modules value, drawn nodes) for each setting that
    was counted (None: the graph was too big to count)."""
    size = f"more than {_WALK_CAP}" if count is None else str(count)
    head = (f"to_dot: the graph has {size} nodes, more than max_nodes={max_nodes}, too many "
            f"to lay out readably.")
    if fits is None:
        advice = ("pass collapse_modules=True (one node per call of an innermost Module) or "
                  "collapse_modules=k (one node per call of a module k levels deep), draw a "
                  "smaller part of the computation, or raise max_nodes")
    elif not fits:
        advice = ("its ops ran in no Module, so collapse_modules cannot shrink it: draw a "
                  "smaller part of the computation, or raise max_nodes")
    else:
        counts = ", ".join(f"collapse_modules={k!r} gives {n}" for k, n in fits)
        ok = [k for k, n in fits if n <= max_nodes]
        if ok:
            advice = (f"pass collapse_modules={ok[-1]!r} (the most detailed setting that fits; "
                      f"{counts} nodes), draw a smaller part, or raise max_nodes")
        else:
            advice = (f"no collapse_modules setting fits ({counts} nodes): raise max_nodes to "
                      f"{min(n for _, n in fits)} with collapse_modules="
                      f"{min(fits, key=lambda f: f[1])[0]!r}, or draw a smaller part")
    return ValueError(f"{head} To draw it, {advice}.")


# -- kinds (colours) ------------------------------------------------------------------------

def _op_kind(node: Context) -> str:
    return _KIND_COLOURS.get(node.fn.kind, "op")


def item_kind(item: Any, graph: Graph, names: dict) -> str:
    """The colour of one item drawn on its own: its op's, or output, constant, tied or
    parameter."""
    if isinstance(item, Context):
        return _op_kind(item)
    t = item.tensor if isinstance(item, Output) else item
    if id(t) in graph.outputs:
        return "output"
    if not t.requires_grad:
        return "const"
    return "tied" if len(names.get(id(t), ())) > 1 else "param"


def call_kind(node_index: int, v: View, graph: Graph) -> str:
    """A collapsed call that only regularizes (a Dropout layer) or only computes a loss
    keeps that colour; any other is a module."""
    kinds = {_op_kind(graph.items[m]) for m in v.nodes[node_index].members
             if isinstance(graph.items[m], Context)}
    return kinds.pop() if len(kinds) == 1 and kinds != {"op"} else "module"


# -- DOT ------------------------------------------------------------------------------------

def _check_options(rankdir: str, max_nodes: int, collapse_modules: Any, what: str) -> None:
    if rankdir not in _RANKDIRS:
        raise ValueError(f"{what}: rankdir must be one of {', '.join(_RANKDIRS)}, got "
                         f"{rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"{what}: max_nodes must be a positive int, got {max_nodes!r}")
    if not (isinstance(collapse_modules, bool) or (
            isinstance(collapse_modules, int) and collapse_modules >= 0)):
        raise ValueError(f"{what}: collapse_modules must be a bool or a module depth (an int "
                         f">= 0), got {collapse_modules!r}")


def _fits(graph: Graph, folds: Any) -> list[tuple[Any, int]]:
    """(collapse_modules value, drawn nodes) for each module depth the graph has, deepest
    (most detailed) last: what the size error offers."""
    deepest = max((c.depth for c in graph.calls), default=0)
    return [(k, len(view(graph, expanded_calls(graph, k), folds).nodes))
            for k in range(1, deepest + 1)]


def drawing(output: Tensor | Sequence[Tensor], params: Any, collapse_modules: bool | int,
            max_nodes: int, what: str = "to_dot") -> tuple[Graph, View, dict, dict]:
    """(graph, view, names, module names) of one drawing, after the size guard."""
    outs = outputs_of(output, what)
    names, module_names = param_names(params, what)
    try:
        graph = walk(outs, max(20 * max_nodes, _WALK_CAP))
    except TooMany:
        raise _too_big(max_nodes, None, None) from None
    folds = folder(names)
    v = view(graph, expanded_calls(graph, collapse_modules), folds)
    if len(v.nodes) > max_nodes:
        raise _too_big(max_nodes, len(v.nodes), _fits(graph, folds))
    return graph, v, names, module_names


def to_dot(output: Tensor | Sequence[Tensor], *, params: Any = None, show_data: bool = False,
           show_grad: bool = True, rankdir: str = "TB", collapse_modules: bool | int = False,
           max_nodes: int = 1000) -> str:
    """The DOT source of the graph that computed ``output`` (a Tensor or a sequence of them).

    Pure: imports no graphviz and runs no program. ``params`` (a Module, or a dict
    name -> Tensor) names the leaves by identity (a tied parameter under all its names);
    ``show_data`` prints tensors of at most 16 elements; ``show_grad`` prints ``‖grad‖`` on
    leaves whose ``.grad`` is set (after backward); ``rankdir`` is the layout direction (TB,
    LR, BT or RL).

    ``collapse_modules=True`` draws each call of an innermost Module (one that called no
    other) as one node, inside one cluster per enclosing module call; an int k draws each
    call of a module k levels deep as one node instead (1: the outermost modules, 2: their
    children, ...). Ops a module runs itself, around its children, stay single nodes in its
    cluster (two residual additions are two nodes); two calls of one module are two nodes.
    A collapsed call is labelled with its dotted name, its class and its parameter count;
    parameters and constants that only it reads are folded into it, except named model
    inputs (a name from ``params`` or ``Tensor.name``). The result is a DAG, and every edge
    of the full graph is an edge between the nodes that hold its ends or lies inside one.

    More than ``max_nodes`` drawn nodes raise ``ValueError`` (the legend does not count),
    which gives the node count of each ``collapse_modules`` setting and names the one that
    fits.
    """
    _check_options(rankdir, max_nodes, collapse_modules, "to_dot")
    graph, v, names, module_names = drawing(output, params, collapse_modules, max_nodes)
    collapse = bool(collapse_modules)
    kinds: set[str] = set()
    node_lines: list[str] = []
    for k, node in enumerate(v.nodes):
        if node.call is not None:
            kind, label = call_kind(k, v, graph), call_lines(k, v, graph, module_names)
        else:
            item = graph.items[node.members[0]]
            kind = item_kind(item, graph, names)
            label = item_lines(item, graph, names, show_data, show_grad)
        kinds.add(kind)
        style = _STYLES[kind][1]
        if node.call is not None and kind != "module":  # a module call with a reg op or loss
            style = style.replace("shape=box,", "shape=box3d,").replace('"rounded,filled"',
                                                                        "filled")
        node_lines.append(f"n{k} [label={_label(label)}, {style}]")

    lines = [f"graph [rankdir={rankdir}, fontname=Helvetica, fontsize=10, nodesep=0.3, "
             f"ranksep=0.35]",
             "node [fontname=Helvetica, fontsize=10, height=0.3]",
             'edge [color="#555555", arrowsize=0.7]']
    chains = [node.clusters if collapse else [] for node in v.nodes]
    lines.extend(_clusters(node_lines, chains, module_names))
    if collapse:
        lines.extend(f"n{a} -> n{b}" for a, b in v.edges)
    else:  # every use of an input is an edge (x * x: two edges)
        lines.extend(f"n{v.holder[p]} -> n{v.holder[i]}" for i in range(len(graph.items))
                     for p in graph.parents[i])
    lines.extend(_legend(kinds, rankdir))
    return f"digraph {GRAPH_NAME} {{\n" + "".join(f"\t{s}\n" for s in lines) + "}\n"


def _clusters(node_lines: list[str], chains: list[list[Call]], module_names: dict
              ) -> list[str]:
    """Node statements, nested in one cluster per expanded module call (built without
    recursion). Nodes outside every call sit at the top level."""
    top: list[str] = []
    children: dict[tuple, list[tuple]] = {(): []}
    members: dict[tuple, list[str]] = {(): top}
    call_of: dict[tuple, Call] = {}
    for line, chain in zip(node_lines, chains):
        path = tuple(c.index for c in chain)
        for k in range(1, len(path) + 1):
            if path[:k] not in children:
                children[path[:k]] = []
                members[path[:k]] = []
                children[path[:k - 1]].append(path[:k])
                call_of[path[:k]] = chain[k - 1]
        members[path].append(line)
    if len(children) == 1:
        return top
    cluster_no = {p: k for k, p in enumerate(call_of)}
    out: list[str] = list(top)
    stack: list[tuple[tuple, bool]] = [(p, True) for p in reversed(children[()])]
    while stack:
        path, entering = stack.pop()
        pad = "\t" * (len(path) - 1)
        if not entering:
            out.append(pad + "}")
            continue
        label = _label([call_name(call_of[path], module_names)])
        out.append(f"{pad}subgraph cluster_{cluster_no[path]} {{")
        out.append(f'{pad}\tlabel={label}; style="rounded,dashed"; color="#8f80b8"; '
                   f'fontcolor="#6a55a0"')
        out.extend(pad + "\t" + s for s in members[path])
        stack.append((path, False))
        stack.extend((p, True) for p in reversed(children[path]))
    return out


def _legend(kinds: set[str], rankdir: str) -> list[str]:
    used = [k for k in _ORDER if k in kinds]
    lines = ["subgraph cluster_legend {",
             '\tlabel="legend"; style="rounded"; color="#bbbbbb"; fontcolor="#777777"',
             "\t{rank=same; " + " ".join(f"legend_{k};" for k in used) + "}"]
    for kind in used:
        text, style = _STYLES[kind]
        lines.append(f"\tlegend_{kind} [label={_label([text])}, {style}]")
    if len(used) > 1:
        # invisible edges keep the entries in this order, read left to right or, when the
        # graph runs sideways, top to bottom (rotated, the order within a rank flips)
        chain = used[::-1] if rankdir in ("LR", "RL") else used
        lines.append("\t" + " -> ".join(f"legend_{k}" for k in chain) + " [style=invis]")
    lines.append("}")
    return lines
