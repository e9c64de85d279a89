"""The graph behind a tensor as DOT text: :func:`to_dot`, pure (no graphviz, no program).

The graph is read from the op nodes (``Tensor.grad_fn`` -> ``Context.inputs``), before or
after ``backward()``: a freed node keeps its op, attributes, parents and output shape, so a
graph drawn after backward shows the gradients that flowed into the leaves.

Picture conventions:

- op nodes are boxes labelled with the op name and its ``apply`` attributes
  (``Dropout p=0.2``, ``L2Penalty λ=0.005``, ``Sum axis=1``) and the output's shape and dtype;
  regularization ops (:data:`REGULARIZATION_OPS`) and losses (:data:`LOSS_OPS`) have their own
  colours, and a legend explains the colours present;
- tensor nodes (ellipses) are the leaves, the constants and the outputs: a name (a parameter's
  dotted name from ``params``, or ``Tensor.name``), else the shape; the dtype; the values of
  small tensors with ``show_data``; the gradient's norm on leaves with ``show_grad`` once a
  backward pass has filled ``.grad``. Intermediate results are not separate nodes: their shape
  is written on the op that made them.

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
    "const": ("constant", 'shape=ellipse, style="dashed,filled", fillcolor="#f2f2f2", '
                          'color="#8c8c8c", fontcolor="#555555"'),
    "output": ("output", 'shape=ellipse, style=filled, fillcolor="#fff1a8", color="#a08a00", '
                         'penwidth=2'),
}
_ORDER = ("op", "reg", "loss", "module", "param", "const", "output")


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
    """``Name attr=value ...``; None and False attributes (the defaults) are left out."""
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


# -- the walk -------------------------------------------------------------------------------

class _Output:
    """A root of the drawing: an output tensor that some op made."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor


class _TooMany(Exception):
    """The walk passed its cap."""


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


def _walk(outputs: Sequence[Tensor], limit: int | None) -> tuple[list, list, dict]:
    """Post-order DFS from the outputs, without recursion, so producers come before their
    consumers (a topological order that depends only on the graph's structure).

    Returns (items, parents: for each item the positions of its inputs' items, made:
    id(op node) -> the tensor it produced, while that is still known). An item is an op node
    (Context), a leaf or constant Tensor (or what a freed node keeps of a constant, a
    :class:`~tinygrad_reg.autograd.Released`), or an :class:`_Output`. Raises
    :class:`_TooMany` as soon as more than ``limit`` items have been found, so a huge graph
    is refused without being walked."""
    order: list = []
    parents: list[list[int]] = []
    position: dict[int, int] = {}
    made: dict[int, Tensor] = {}
    found: set[int] = set()

    def children(item: Any) -> list:
        if isinstance(item, _Output):
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
        root = _Output(t) if t.grad_fn is not None else t
        if id(root) in found:
            continue  # an output leaf already reached from an earlier output
        found.add(id(root))
        if limit is not None and len(found) > limit:
            raise _TooMany
        stack = [(root, children(root), 0)]
        while stack:
            item, kids, i = stack.pop()
            if i < len(kids):
                stack.append((item, kids, i + 1))
                kid = kids[i]
                if id(kid) not in found:
                    found.add(id(kid))
                    if limit is not None and len(found) > limit:
                        raise _TooMany
                    stack.append((kid, children(kid), 0))
                continue
            position[id(item)] = len(order)
            order.append(item)
            parents.append([position[id(k)] for k in kids])
    return order, parents, made


def _scope(item: Any, depth: int | None) -> tuple:
    """The modules an op node ran in, outermost first, cut to ``depth`` (None: all)."""
    if not isinstance(item, Context):
        return ()
    return tuple(getattr(item, "scope", None) or ())[:depth]


def _collapse(order: list, parents: list[list[int]], depth: int | None) -> list[int]:
    """For each item, the position of the item that represents it in the drawing.

    Op nodes that ran inside the same module call are merged: same scope (cut to ``depth``)
    and joined by an edge (union-find, iterative). Everything else represents itself."""
    rep = list(range(len(order)))
    keys = [tuple(id(m) for m in _scope(x, depth)) for x in order]

    def find(i: int) -> int:
        while rep[i] != i:
            rep[i] = rep[rep[i]]
            i = rep[i]
        return i

    for i, key in enumerate(keys):
        if not key:
            continue
        for p in parents[i]:
            if keys[p] == key:
                a, b = find(p), find(i)
                if a != b:
                    rep[max(a, b)] = min(a, b)  # the earliest member names the group
    return [find(i) for i in range(len(order))]


def _as_outputs(output: Any) -> list[Tensor]:
    if isinstance(output, Tensor):
        outs = [output]
    elif isinstance(output, (list, tuple)) and output:
        outs = list(output)
    else:
        raise TypeError(f"to_dot: expected a Tensor or a non-empty sequence of Tensors, got "
                        f"{type(output).__name__}")
    for i, t in enumerate(outs):
        if not isinstance(t, Tensor):
            raise TypeError(f"to_dot: output {i} is a {type(t).__name__}, not a Tensor")
    return list({id(t): t for t in outs}.values())  # an output given twice is drawn once


def _param_names(params: Any) -> tuple[dict[int, str], dict[int, str]]:
    """(id(tensor) -> name, id(module) -> name) from a Module or a dict name -> Tensor.
    Identity lookups are safe here: ``params`` keeps every named object alive meanwhile."""
    if params is None:
        return {}, {}
    modules: dict[int, str] = {}
    if hasattr(params, "named_parameters"):
        pairs = list(params.named_parameters())
        if hasattr(params, "named_modules"):
            for name, m in params.named_modules():
                modules.setdefault(id(m), name)
    elif isinstance(params, Mapping):
        pairs = list(params.items())
    else:
        raise TypeError(f"to_dot: params must be a Module (with named_parameters()) or a dict "
                        f"name -> Tensor, got {type(params).__name__}")
    names: dict[int, str] = {}
    for name, t in pairs:
        if not isinstance(t, Tensor):
            raise TypeError(f"to_dot: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        names.setdefault(id(t), str(name))
    return names, modules


# -- node labels ----------------------------------------------------------------------------

def _op_kind(name: str) -> str:
    return "reg" if name in REGULARIZATION_OPS else "loss" if name in LOSS_OPS else "op"


def _grad_norm(t: Tensor) -> float | None:
    g = t.grad
    if g is None:
        return None
    g = np.asarray(g._data if isinstance(g, Tensor) else g)
    return math.sqrt(float(np.sum(np.abs(g.astype(np.float64)) ** 2)))


def _tensor_node(t: Tensor | Released, kind: str, names: dict, show_data: bool,
                 show_grad: bool) -> list[str]:
    lines = []
    name = names.get(id(t), t.name)
    if name is not None:
        lines.append(_short(str(name), 60))
    if isinstance(t, Released):  # a constant whose array backward has let go of
        return lines + [_shape_text(t.shape, t.dtype)]
    lines.append(_shape_text(t._data.shape, t._data.dtype))
    # show_data prints small tensors; an unnamed scalar constant always shows its value,
    # since its value is all there is to say about it (the 2 in x * 2), and so does a
    # one-element output (the loss)
    if (show_data and t._data.size <= _SMALL) or (kind == "output" and t._data.size == 1) or (
            kind == "const" and name is None and t._data.size == 1):
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


def _module_name(module: Any, module_names: dict) -> str:
    cls = type(module).__name__
    name = module_names.get(id(module))
    return f"{name}: {cls}" if name else cls


def _folded_lines(folded: list, module: Any, names: dict, module_names: dict) -> list[str]:
    """The parameters folded into a module's box: up to three as a line each (name relative
    to the module's own name, and shape), more as one summary line."""
    if len(folded) > 3:
        values = sum(t._data.size for t in folded)
        return [f"{len(folded)} parameters ({values:,} values)"]
    prefix = module_names.get(id(module)) if module is not None else None
    lines = []
    for t in folded:
        name = names.get(id(t), t.name) or "param"
        if prefix and name.startswith(prefix + "."):
            name = name[len(prefix) + 1:]
        lines.append(_short(f"{name} {_shape_text(t._data.shape, None)}", 40))
    return lines


def _node(group: list, collapsed: bool, module: Any, made: dict, names: dict,
          module_names: dict, out_ids: set, show_data: bool,
          show_grad: bool, folded: list) -> tuple[str, list[str]]:
    """(kind, label lines) of one drawn node; ``group`` holds the items it stands for. A
    collapsed group is labelled with its ``module``, or with its ops only when it sits in its
    module's own cluster (``module`` None), and lists the parameters ``folded`` into it."""
    item = group[0]
    if not isinstance(item, Context):
        t = item.tensor if isinstance(item, _Output) else item
        kind = "output" if id(t) in out_ids else "param" if t.requires_grad else "const"
        return kind, _tensor_node(t, kind, names, show_data, show_grad)
    if not collapsed:
        lines = _op_text(item).split("\n")
        shape = _out_shape(item, made)
        out = made.get(id(item))
        if out is not None and out.name is not None and id(out) not in out_ids:
            shape = f"{_short(str(out.name), 40)}: {shape}"
        return _op_kind(item.name), lines + ([shape] if shape else [])
    ops = list(dict.fromkeys(ctx.name for ctx in group))
    # a module call that only regularizes (a Dropout layer) or only computes a loss keeps
    # that colour; a mixed one (a block with a dropout inside) is just a module
    kinds = {_op_kind(n) for n in ops}
    kind = kinds.pop() if len(kinds) == 1 and kinds != {"op"} else (
        "op" if module is None else "module")
    # one op shows its attributes (Dropout p=0.2); several are listed by name
    lines = _op_text(item).split("\n") if len(group) == 1 else [_short(" · ".join(ops), 40)]
    if module is not None:
        head = _module_name(module, module_names)
        if lines == [type(module).__name__]:
            lines = []  # "0: Linear" running the Linear op says it once
        lines.insert(0, head)
    lines += _folded_lines(folded, module, names, module_names)
    shape = _out_shape(group[-1], made)
    return kind, lines + ([shape] if shape else [])


def _group(order: list, parents: list[list[int]], collapse: bool, depth: int | None
           ) -> tuple[dict[int, list], dict[int, list], list[int]]:
    """(groups: representative -> the items one drawn node stands for, folded:
    representative -> parameters folded into it, rep: each item's representative).

    Without ``collapse`` every item is its own node. With it, the ops of one module call
    merge (see :func:`_collapse`), and a parameter (a leaf that requires grad) whose every
    consumer lies in one such merged module call is folded into that node."""
    if not collapse:
        return {i: [x] for i, x in enumerate(order)}, {}, list(range(len(order)))
    rep = _collapse(order, parents, depth)
    in_module = {rep[i] for i, x in enumerate(order) if _scope(x, depth)}
    consumers: dict[int, set[int]] = {}
    for i, ps in enumerate(parents):
        for p in ps:
            consumers.setdefault(p, set()).add(rep[i])
    groups: dict[int, list] = {}
    folded: dict[int, list] = {}
    for i, x in enumerate(order):
        if isinstance(x, Tensor) and x.requires_grad and x.grad_fn is None:
            users = consumers.get(i, set())
            if len(users) == 1 and next(iter(users)) in in_module:
                r = rep[i] = next(iter(users))
                folded.setdefault(r, []).append(x)
                continue
        groups.setdefault(rep[i], []).append(x)
    # the order of groups decides node numbers: by representative (a topological order)
    return dict(sorted(groups.items())), folded, rep


def _fits(order: list, parents: list[list[int]]) -> list[tuple[Any, int]]:
    """(collapse_modules value, drawn nodes) for each module depth the graph has, deepest
    (most detailed) last: what the size error offers."""
    deepest = max((len(_scope(x, None)) for x in order), default=0)
    return [(k, len(_group(order, parents, True, k)[0])) for k in range(1, deepest + 1)]


# -- DOT ------------------------------------------------------------------------------------

def to_dot(output: Tensor | Sequence[Tensor], *, params: Any = None, show_data: bool = False,
           show_grad: bool = True, rankdir: str = "TB", collapse_modules: bool | int = False,
           max_nodes: int = 1000) -> str:
    """The DOT source of the graph that computed ``output`` (a Tensor or a sequence of them).

    Pure: imports no graphviz and runs no program. ``params`` (a Module, or a dict
    name -> Tensor) names the leaves by identity; ``show_data`` prints tensors of at most 16
    elements; ``show_grad`` prints ``‖grad‖`` on leaves whose ``.grad`` is set (after
    backward); ``rankdir`` is the layout direction (TB, LR, BT or RL). With
    ``collapse_modules=True`` each call of an innermost Module becomes one node (its ops are
    listed in it) inside one cluster per enclosing module; an int k collapses each call of a
    module k levels deep instead (1: the outermost modules, 2: their children, ...); a
    parameter that only one module call uses is folded into that call's box. More than
    ``max_nodes`` drawn nodes raise ``ValueError`` (the legend does not count), which gives
    the node count of each ``collapse_modules`` setting and names the one that fits.
    """
    if rankdir not in _RANKDIRS:
        raise ValueError(f"to_dot: rankdir must be one of {', '.join(_RANKDIRS)}, got "
                         f"{rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"to_dot: max_nodes must be a positive int, got {max_nodes!r}")
    if isinstance(collapse_modules, bool) or collapse_modules is None:
        depth = None
    elif isinstance(collapse_modules, int) and collapse_modules >= 0:
        depth = collapse_modules
    else:
        raise ValueError(f"to_dot: collapse_modules must be a bool or a module depth (an int "
                         f">= 0), got {collapse_modules!r}")
    collapse = bool(collapse_modules)
    outs = _as_outputs(output)
    names, module_names = _param_names(params)
    try:
        order, parents, made = _walk(outs, max(20 * max_nodes, _WALK_CAP))
    except _TooMany:
        raise _too_big(max_nodes, None, None) from None
    groups, folded, rep = _group(order, parents, collapse, depth)
    if len(groups) > max_nodes:
        raise _too_big(max_nodes, len(groups), _fits(order, parents))
    # groups are keyed by their earliest member, so numbering them in key order keeps the
    # topological order of the walk
    number = {r: f"n{k}" for k, r in enumerate(groups)}
    out_ids = {id(t) for t in outs}

    # A collapsed group is drawn as its innermost module, inside one cluster per enclosing
    # module; ops a module runs itself, around its children, sit inside its own cluster.
    scopes = {r: _scope(g[0], depth) for r, g in groups.items() if collapse
              and _scope(g[0], depth)}
    cluster_paths = {tuple(id(m) for m in sc[:k]) for sc in scopes.values()
                     for k in range(1, len(sc))}
    kinds: set[str] = set()
    node_lines: dict[int, str] = {}
    for r, group in groups.items():
        collapsed = r in scopes
        module = None
        if collapsed and tuple(id(m) for m in scopes[r]) not in cluster_paths:
            module = scopes[r][-1]
            scopes[r] = scopes[r][:-1]
        kind, label = _node(group, collapsed, module, made, names, module_names, out_ids,
                            show_data, show_grad, folded.get(r, []))
        kinds.add(kind)
        style = _STYLES[kind][1]
        if module is not None and kind != "module":  # a module call with a reg op or a loss
            style = style.replace("shape=box,", "shape=box3d,").replace('"rounded,filled"',
                                                                        "filled")
        node_lines[r] = f"{number[r]} [label={_label(label)}, {style}]"

    lines = [f"graph [rankdir={rankdir}, fontname=Helvetica, fontsize=10, nodesep=0.3, "
             f"ranksep=0.35]",
             "node [fontname=Helvetica, fontsize=10, height=0.3]",
             'edge [color="#555555", arrowsize=0.7]']
    lines.extend(_clusters(node_lines, scopes, module_names))
    if collapse:
        edges = dict.fromkeys((rep[p], rep[i]) for i in range(len(order)) for p in parents[i])
        lines.extend(f"{number[a]} -> {number[b]}" for a, b in edges if a != b)
    else:
        lines.extend(f"n{p} -> n{i}" for i in range(len(order)) for p in parents[i])
    lines.extend(_legend(kinds, rankdir))
    return f"digraph {GRAPH_NAME} {{\n" + "".join(f"\t{s}\n" for s in lines) + "}\n"


def _clusters(node_lines: dict[int, str], scopes: dict[int, tuple],
              module_names: dict) -> list[str]:
    """Node statements, nested in one cluster per enclosing module (built without
    recursion). Nodes without a scope sit at the top level."""
    top: list[str] = []
    children: dict[tuple, list[tuple]] = {(): []}
    members: dict[tuple, list[str]] = {(): top}
    module_of: dict[tuple, Any] = {}
    for r, line in node_lines.items():
        scope = scopes.get(r, ())
        path = tuple(id(m) for m in scope)
        for k in range(1, len(path) + 1):
            if path[:k] not in children:
                children[path[:k]] = []
                members[path[:k]] = []
                children[path[:k - 1]].append(path[:k])
                module_of[path[:k]] = scope[k - 1]
        members[path].append(line)
    if len(children) == 1:
        return top
    cluster_no = {p: k for k, p in enumerate(module_of)}
    out: list[str] = list(top)
    stack: list[tuple[tuple, bool]] = [(p, True) for p in reversed(children[()])]
    while stack:
        path, entering = stack.pop()
        pad = "\t" * (len(path) - 1)
        if not entering:
            out.append(pad + "}")
            continue
        label = _label([_module_name(module_of[path], module_names)])
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
