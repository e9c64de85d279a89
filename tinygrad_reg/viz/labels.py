"""The text of a drawn node (shared by the DOT of :mod:`.dot` and the page of :mod:`.html`).

- an op: its name and the attributes it was applied with (``Dropout p=0.2``; an op class
  with a ``graph_label(attrs)`` static method says it itself, as ``Split``'s ``chunk 2/3
  dim=1``), then its output's shape and dtype;
- a tensor: its names (every name of a tied parameter), its shape and dtype, small values,
  ``‖grad‖``;
- a collapsed module call: its dotted name and class, the op or ops it ran, its parameter
  count, the shape of what leaves it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Context, Released
from .graph import Call, Graph, Output, View, call_params, names_of

SMALL = 16  # show_data prints tensors with at most this many elements
RENAMED_ATTRS = {"lam": "λ"}


def short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def fmt_number(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return format(float(v), ".4g")


def fmt_value(v: Any, depth: int = 0) -> str:
    """A short, deterministic text for an op attribute (big arrays become dtype[shape])."""
    if isinstance(v, (bool, int, float, np.number, np.bool_)):
        return fmt_number(v)
    if isinstance(v, str):
        return short(v, 24)
    if isinstance(v, np.ndarray):
        if v.size <= 4 and v.ndim <= 1:
            return "[" + ", ".join(fmt_number(x) for x in v.tolist()) + "]"
        return f"{v.dtype}[{'×'.join(map(str, v.shape))}]"
    if isinstance(v, slice):
        parts = ["" if p is None else fmt_value(p, depth + 1) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if v.step is not None else "")
    if v is Ellipsis:
        return "..."
    if isinstance(v, (tuple, list)) and depth < 2:
        if len(v) > 6:
            return f"{type(v).__name__}[{len(v)}]"
        inner = ", ".join(fmt_value(x, depth + 1) for x in v)
        return f"({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) else f"[{inner}]"
    if isinstance(v, (Tensor, Context)) or depth >= 2:
        return type(v).__name__
    name = getattr(v, "__name__", None)  # functions, ufuncs
    return short(name if isinstance(name, str) else type(v).__name__, 24)


def op_text(ctx: Context) -> str:
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
        parts.append(f"{RENAMED_ATTRS.get(key, key)}={fmt_value(value)}")
    text = " ".join(parts)
    return text if len(text) <= 40 else "\n".join(parts)


@functools.lru_cache(maxsize=256)  # big graphs repeat a few shapes many times
def shape_text(shape: tuple | None, dtype: Any) -> str:
    if shape is None:
        return ""
    s = "scalar" if shape == () else "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1
                                                                         else "") + ")"
    return f"{s} {np.dtype(dtype)}" if dtype is not None else s


def data_text(a: np.ndarray) -> str:
    if a.ndim == 0:
        return fmt_number(a.item()) if a.dtype.kind in "biuf" else str(a.item())
    return np.array2string(a, precision=4, separator=", ", max_line_width=40,
                           threshold=SMALL, suppress_small=True)


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


def grad_norm(t: Tensor) -> float | None:
    g = t.grad
    if g is None:
        return None
    g = np.asarray(g._data if isinstance(g, Tensor) else g)
    return math.sqrt(float(np.sum(np.abs(g.astype(np.float64)) ** 2)))


def tensor_lines(t: Tensor | Released, graph: Graph, names: dict, show_data: bool,
                 show_grad: bool) -> list[str]:
    """A leaf, a constant or an output: its names (a tied parameter says so), shape and
    dtype, values (``show_data``; always for an unnamed one-element constant, its value
    being all there is to say about it, the 2 in x * 2, and for a one-element output, the
    loss), ``‖grad‖`` (``show_grad``, once backward has filled ``.grad``)."""
    own = names_of(t, names)
    lines = [short(n, 60) for n in own[:3]]
    if len(own) > 3:
        lines.append(f"+ {len(own) - 3} more names")
    if len(own) > 1:
        lines.append(f"tied: one tensor, {len(own)} names")
    if isinstance(t, Released):  # a constant whose array backward has let go of
        return lines + [shape_text(t.shape, t.dtype)]
    lines.append(shape_text(t._data.shape, t._data.dtype))
    one = t._data.size == 1
    if (show_data and t._data.size <= SMALL) or (one and id(t) in graph.outputs) or (
            one and not own and not t.requires_grad):
        lines.extend(data_text(t._data).split("\n"))
    if show_grad and t.grad_fn is None:
        norm = grad_norm(t)
        if norm is not None:
            lines.append(f"‖grad‖ = {fmt_number(norm)}")
    return lines


def out_shape(ctx: Context, made: dict) -> str:
    out = made.get(id(ctx))
    if out is not None:
        return shape_text(out._data.shape, out._data.dtype)
    # a freed node records its output's shape only if a gradient reached it
    return shape_text(getattr(ctx, "out_shape", None), getattr(ctx, "out_dtype", None))


def item_lines(item: Any, graph: Graph, names: dict, show_data: bool,
               show_grad: bool) -> list[str]:
    """The label of one item drawn on its own: an op (a named result names itself on the
    op that made it, ``h: (3,) float64``) or a tensor."""
    if not isinstance(item, Context):
        t = item.tensor if isinstance(item, Output) else item
        return tensor_lines(t, graph, names, show_data, show_grad)
    lines = op_text(item).split("\n")
    shape = out_shape(item, graph.made)
    out = graph.made.get(id(item))
    if out is not None and out.name is not None and id(out) not in graph.outputs:
        shape = f"{short(str(out.name), 40)}: {shape}"
    return lines + ([shape] if shape else [])


def exits(node_index: int, members: list[int], graph: Graph, v: View) -> list[int]:
    """The members whose value leaves the node (read by another node)."""
    return [m for m in members if isinstance(graph.items[m], Context) and
            any(v.holder[c] != node_index for c in graph.consumers[m])]


def call_lines(node_index: int, v: View, graph: Graph, module_names: dict) -> list[str]:
    """The label of a collapsed module call: its dotted name and class, the op it ran (with
    its attributes) or the names of its ops, its parameter count and the shape of what
    leaves it."""
    node = v.nodes[node_index]
    call = node.call
    ops = [graph.items[m] for m in node.members if isinstance(graph.items[m], Context)]
    lines = [call_name(call, module_names)]
    if len(ops) == 1:
        text = op_text(ops[0]).split("\n")
        if text != [type(call.module).__name__]:  # "0: Linear" running Linear says it once
            lines += text
    else:
        summary = " · ".join(dict.fromkeys(ctx.name for ctx in ops))
        lines.append(summary if len(summary) <= 40 else f"{len(ops)} ops")
    count = call_params(call, graph, node.members)
    if count:
        lines.append(fmt_count(count))
    leaving = exits(node_index, node.members, graph, v)
    shapes = list(dict.fromkeys(out_shape(graph.items[m], graph.made) for m in leaving))
    if len(leaving) == 1:
        lines += [s for s in shapes if s]
    elif leaving:
        text = f"{len(leaving)} outputs: " + ", ".join(shapes)
        lines.append(text if len(shapes) == 1 or len(text) <= 40 else
                     f"{len(leaving)} outputs")
    return lines
