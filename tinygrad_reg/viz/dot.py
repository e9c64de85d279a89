"""The graph behind a tensor as DOT text: :func:`to_dot`, pure (no graphviz, no program).

The graph is read from the op nodes (``Tensor.grad_fn`` -> ``Context.inputs``), before or
after ``backward()``: a freed node keeps its op, attributes, parents and output shape, so a
graph drawn after backward shows the gradients that flowed into the leaves.

Picture conventions:

- op nodes are boxes labelled with the op name and its ``apply`` attributes
  (``Dropout p=0.2``, ``L2Penalty λ=0.005``, ``Sum axis=1``; an op class may say how it is
  drawn with a ``graph_label(attrs)`` static method, as ``Split`` does: ``chunk 2/3 dim=1``)
  and the output's shape and dtype; regularization ops (:data:`REGULARIZATION_OPS`) and losses
  (:data:`LOSS_OPS`) have their own colours, and a legend explains the colours present;
- tensor nodes (ellipses) are the leaves, the constants and the outputs: a name (a parameter's
  dotted name from ``params``, every name of a parameter tied under several, or
  ``Tensor.name``), else the shape; the dtype; the values of small tensors with
  ``show_data``; the gradient's norm on leaves with ``show_grad`` once a backward pass has
  filled ``.grad``. Intermediate results are not separate nodes: their shape is written on
  the op that made them;
- with ``collapse_modules``, module calls are drawn as single nodes or as clusters
  (:mod:`.graph` says which item each node holds).

Node ids (``n0, n1, ...``) follow a topological order of the data flow, so the same code gives
byte-identical DOT on every run. Every graph walk is iterative. A graph larger than
``max_nodes`` is refused with the node count that each ``collapse_modules`` depth would give,
so the error says which setting makes it fit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Context, Released
from .graph import Call, Graph, Output, TooMany, View, expanded_calls, view, walk

__all__ = ["to_dot", "REGULARIZATION_OPS", "LOSS_OPS", "GRAPH_NAME"]

#: Op names drawn in the regularization colour.
REGULARIZATION_OPS = frozenset({"Dropout", "Dropout1d", "Dropout2d", "DropConnect",
                                "GaussianDropout", "AlphaDropout", "GaussianNoise", "L1Penalty",
                                "L2Penalty", "ElasticNetPenalty", "ActivityL1", "ActivityL2"})
#: Op names drawn in the loss colour (the ops of ``tinygrad_reg.nn.losses``).
LOSS_OPS = frozenset({"BinaryCrossEntropyWithLogits", "WeightedBinaryCrossEntropyWithLogits",
                      "BinaryCrossEntropy", "CrossEntropy", "NegativeLogLikelihood",
                      "MeanSquaredError", "AbsoluteError", "Huber", "SmoothL1"})

GRAPH_NAME = "tinygrad_reg"
_WALK_CAP = 50_000  # items walked at most to work out which collapse depth would fit
_RANKDIRS = ("TB", "LR", "BT", "RL")
_SMALL = 16  # show_data prints tensors with at most this many elements
_RENAMED_ATTRS = {"lam": "λ"}

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
#: Names the package gives the constants it makes inside an op (regularization masks and
#: noise, average pooling's 1/count weights): internal to a collapsed module, never inputs.
INTERNAL_CONSTANTS = frozenset({"mask", "noise", "1/count"})


# -- labels ---------------------------------------------------------------------------------

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


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _fmt_number(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return format(float(v), ".4g")


def _fmt_value(v: Any, depth: int = 0) -> str:
    """A short, deterministic text for an op attribute (big arrays become dtype[shape])."""
    if isinstance(v, (bool, int, float, np.number, np.bool_)):
        return _fmt_number(v)
    if isinstance(v, str):
        return _short(v, 24)
    if isinstance(v, np.ndarray):
        if v.size <= 4 and v.ndim <= 1:
            return "[" + ", ".join(_fmt_number(x) for x in v.tolist()) + "]"
        return f"{v.dtype}[{'×'.join(map(str, v.shape))}]"
    if isinstance(v, slice):
        parts = ["" if p is None else _fmt_value(p, depth + 1) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if v.step is not None else "")
    if v is Ellipsis:
        return "..."
    if isinstance(v, (tuple, list)) and depth < 2:
        if len(v) > 6:
            return f"{type(v).__name__}[{len(v)}]"
        inner = ", ".join(_fmt_value(x, depth + 1) for x in v)
        return f"({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) else f"[{inner}]"
    if isinstance(v, (Tensor, Context)) or depth >= 2:
        return type(v).__name__
    name = getattr(v, "__name__", None)  # functions, ufuncs
    return _short(name if isinstance(name, str) else type(v).__name__, 24)


def _op_text(ctx: Context) -> str:
    """``Name attr=value ...``; None and False attributes (the defaults) are left out. An op
    class with a ``graph_label(attrs)`` static method says it itself."""
    label = getattr(ctx.fn, "graph_label", None)
    if label is not None:
        return label(ctx.attrs)
    parts = [ctx.name]
    for key, value in ctx.attrs.items():
        if value is None or value is False or isinstance(value, np.random.Generator) or \
                key[0] == "_":
            continue  # defaults, random generators and private caches say nothing here
        parts.append(f"{_RENAMED_ATTRS.get(key, key)}={_fmt_value(value)}")
    text = " ".join(parts)
    return text if len(text) <= 40 else "\n".join(parts)


@functools.lru_cache(maxsize=256)  # big graphs repeat a few shapes many times
def _shape_text(shape: tuple | None, dtype: Any) -> str:
    if shape is None:
        return ""
    s = "scalar" if shape == () else "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1
                                                                         else "") + ")"
    return f"{s} {np.dtype(dtype)}" if dtype is not None else s


def _data_text(a: np.ndarray) -> str:
    if a.ndim == 0:
        return _fmt_number(a.item()) if a.dtype.kind in "biuf" else str(a.item())
    return np.array2string(a, precision=4, separator=", ", max_line_width=40,
                           threshold=_SMALL, suppress_small=True)


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


# -- names ---------------------------------------------------------------------------------

def _as_outputs(output: Any, what: str = "to_dot") -> list[Tensor]:
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


def _param_names(params: Any, what: str = "to_dot") -> tuple[dict[int, list[str]],
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


def _names_of(t: Any, names: dict) -> list[str]:
    got = names.get(id(t))
    if got:
        return got
    return [] if t.name is None else [str(t.name)]


def _is_param(item: Any) -> bool:
    return isinstance(item, Tensor) and item.requires_grad and item.grad_fn is None


def _folder(names: dict) -> Any:
    """Which leaves fold into the one collapsed module call that reads them: parameters,
    and constants that are not named model inputs (unnamed ones, and those the package
    names itself: masks, noise)."""
    def folds(item: Any) -> bool:
        if _is_param(item):
            return True
        own = _names_of(item, names)
        return not own or (len(own) == 1 and own[0] in INTERNAL_CONSTANTS)
    return folds


def call_name(call: Call, module_names: dict) -> str:
    """``h.0.attn: CausalSelfAttention`` (the class alone for the root or an unnamed
    module), with ``(call 2/3)`` when the drawing holds several calls of the module."""
    cls = type(call.module).__name__
    name = module_names.get(id(call.module))
    text = f"{name}: {cls}" if name else cls
    return text + (f" (call {call.number}/{call.of})" if call.of > 1 else "")


def fmt_count(n: int) -> str:
    """``28.3k params``: three significant digits, k/M/G."""
    if n < 1000:
        return f"{n} param" + ("" if n == 1 else "s")
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{format(n / div, '.3g')}{unit} params"
    return f"{n} params"  # (not reached)


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
            if _is_param(leaf):
                seen[id(leaf)] = int(leaf._data.size)
    return sum(seen.values())


# -- node labels ----------------------------------------------------------------------------

def _op_kind(name: str) -> str:
    return "reg" if name in REGULARIZATION_OPS else "loss" if name in LOSS_OPS else "op"


def _grad_norm(t: Tensor) -> float | None:
    g = t.grad
    if g is None:
        return None
    g = np.asarray(g._data if isinstance(g, Tensor) else g)
    return math.sqrt(float(np.sum(np.abs(g.astype(np.float64)) ** 2)))


def _tensor_kind(t: Any, graph: Graph, names: dict) -> str:
    if id(t) in graph.outputs:
        return "output"
    if not t.requires_grad:
        return "const"
    return "tied" if len(names.get(id(t), ())) > 1 else "param"


def _tensor_node(t: Tensor | Released, kind: str, names: dict, show_data: bool,
                 show_grad: bool) -> list[str]:
    own = _names_of(t, names)
    lines = [_short(n, 60) for n in own[:3]]
    if len(own) > 3:
        lines.append(f"+ {len(own) - 3} more names")
    if len(own) > 1:
        lines.append(f"tied: one tensor, {len(own)} names")
    if isinstance(t, Released):  # a constant whose array backward has let go of
        return lines + [_shape_text(t.shape, t.dtype)]
    lines.append(_shape_text(t._data.shape, t._data.dtype))
    # show_data prints small tensors; an unnamed scalar constant always shows its value,
    # since its value is all there is to say about it (the 2 in x * 2), and so does a
    # one-element output (the loss)
    if (show_data and t._data.size <= _SMALL) or (kind == "output" and t._data.size == 1) or (
            kind == "const" and not own and t._data.size == 1):
        lines.extend(_data_text(t._data).split("\n"))
    if show_grad and t.grad_fn is None:
        norm = _grad_norm(t)
        if norm is not None:
            lines.append(f"‖grad‖ = {_fmt_number(norm)}")
    return lines


def _out_shape(ctx: Context, made: dict) -> str:
    out = made.get(id(ctx))
    if out is not None:
        return _shape_text(out._data.shape, out._data.dtype)
    # a freed node records its output's shape only if a gradient reached it
    return _shape_text(getattr(ctx, "out_shape", None), getattr(ctx, "out_dtype", None))


def _item_node(item: Any, graph: Graph, names: dict, show_data: bool,
               show_grad: bool) -> tuple[str, list[str]]:
    """(kind, label lines) of one item drawn on its own."""
    if not isinstance(item, Context):
        t = item.tensor if isinstance(item, Output) else item
        kind = _tensor_kind(t, graph, names)
        return kind, _tensor_node(t, kind, names, show_data, show_grad)
    lines = _op_text(item).split("\n")
    shape = _out_shape(item, graph.made)
    out = graph.made.get(id(item))
    if out is not None and out.name is not None and id(out) not in graph.outputs:
        shape = f"{_short(str(out.name), 40)}: {shape}"
    return _op_kind(item.name), lines + ([shape] if shape else [])


def _exits(node_index: int, members: list[int], graph: Graph, v: View) -> list[int]:
    """The members whose value leaves the node (read by another node)."""
    return [m for m in members if isinstance(graph.items[m], Context) and
            any(v.holder[c] != node_index for c in graph.consumers[m])]


def _call_node(node_index: int, v: View, graph: Graph, module_names: dict
               ) -> tuple[str, list[str]]:
    """(kind, label lines) of a collapsed module call: its dotted name and class, the op it
    ran (with its attributes) or the names of its ops, its parameter count and the shape
    of what leaves it. A call that only regularizes (a Dropout layer) or only computes a
    loss keeps that colour; any other is a module."""
    node = v.nodes[node_index]
    call = node.call
    ops = [graph.items[m] for m in node.members if isinstance(graph.items[m], Context)]
    op_names = list(dict.fromkeys(ctx.name for ctx in ops))
    kinds = {_op_kind(n) for n in op_names}
    kind = kinds.pop() if len(kinds) == 1 and kinds != {"op"} else "module"
    lines = [call_name(call, module_names)]
    if len(ops) == 1:
        text = _op_text(ops[0]).split("\n")
        if text != [type(call.module).__name__]:  # "0: Linear" running Linear says it once
            lines += text
    else:
        summary = " · ".join(op_names)
        lines.append(summary if len(summary) <= 40 else f"{len(ops)} ops")
    count = call_params(call, graph, node.members)
    if count:
        lines.append(fmt_count(count))
    exits = _exits(node_index, node.members, graph, v)
    shapes = list(dict.fromkeys(_out_shape(graph.items[m], graph.made) for m in exits))
    if len(exits) == 1:
        lines += [s for s in shapes if s]
    elif exits:
        text = f"{len(exits)} outputs: " + ", ".join(shapes)
        lines.append(text if len(shapes) == 1 or len(text) <= 40 else f"{len(exits)} outputs")
    return kind, lines


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
    outs = _as_outputs(output, what)
    names, module_names = _param_names(params, what)
    try:
        graph = walk(outs, max(20 * max_nodes, _WALK_CAP))
    except TooMany:
        raise _too_big(max_nodes, None, None) from None
    folds = _folder(names)
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
            kind, label = _call_node(k, v, graph, module_names)
        else:
            kind, label = _item_node(graph.items[node.members[0]], graph, names, show_data,
                                     show_grad)
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
