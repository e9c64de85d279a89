"""The graph as one self-contained interactive HTML page: :func:`to_html`, :func:`save_html`.

The page holds the whole graph (every op, leaf and output, with the module calls the ops ran
in) as JSON, and a script (``page.js``, inline) that draws a view of it as SVG: module calls
collapsed to one node or expanded to a cluster, by the same rules as
:func:`~tinygrad_reg.viz.to_dot` (:mod:`.graph`), laid out in layers by the script itself (no
Graphviz, no ``dot`` program). Click a collapsed module to expand it, a cluster's title to
collapse it, any node to see its op, attributes, output shape and dtype (and a parameter's
gradient norm) in the side panel; drag to pan, scroll to zoom. Nothing is fetched: no
network, no CDN.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Context
from . import labels as L
from .dot import _STYLES, _check_options, item_kind
from .graph import (
    Graph,
    Output,
    TooMany,
    call_params,
    expanded_calls,
    folder,
    names_of,
    outputs_of,
    param_names,
    view,
    walk,
)

__all__ = ["to_html", "save_html", "GraphPage", "PAGE_MAX_NODES"]

#: The default ``max_nodes`` of a page: the items of the whole graph (every op, leaf and
#: output), however the page first shows them.
PAGE_MAX_NODES = 20_000
_AUTO_NODES = 150  # the first view of a page: the most detailed depth with at most this many
_HERE = Path(__file__).resolve().parent


def _attrs(ctx: Context) -> list[list[str]]:
    """Every public attribute of an op, formatted as in a drawn label (None and False too:
    the side panel lists them all)."""
    out = []
    for key, value in ctx.attrs.items():
        if key[0] == "_" or isinstance(value, np.random.Generator):
            continue
        out.append([L.RENAMED_ATTRS.get(key, key), "None" if value is None
                    else L.fmt_value(value)])
    return out


def _item(item: Any, graph: Graph, names: dict, show_data: bool, show_grad: bool,
          folds: Any) -> dict:
    """What the page knows of one item of the graph."""
    kind = item_kind(item, graph, names)
    d: dict[str, Any] = {"k": kind, "l": L.item_lines(item, graph, names, show_data, show_grad)}
    if isinstance(item, Context):
        text = L.op_text(item)
        d["op"] = item.name
        d["t"] = text
        d["a"] = _attrs(item)
        out = graph.made.get(id(item))
        shape = out._data.shape if out is not None else getattr(item, "out_shape", None)
        dtype = out._data.dtype if out is not None else getattr(item, "out_dtype", None)
        d["s"] = L.out_shape(item, graph.made)
    else:
        t = item.tensor if isinstance(item, Output) else item
        shape = t.shape if not isinstance(t, Tensor) else t._data.shape
        dtype = t.dtype if not isinstance(t, Tensor) else t._data.dtype
        own = names_of(t, names)
        if own:
            d["n"] = own
        if isinstance(t, Tensor) and t.grad_fn is None:
            norm = L.grad_norm(t)
            if norm is not None:
                d["g"] = L.fmt_number(norm)
        if isinstance(t, Tensor) and t._data.size <= L.SMALL and (show_data or
                                                                  kind not in ("param", "tied")):
            d["v"] = L.data_text(t._data)
        # named inputs and outputs stay outside clusters; the rest may fold
        d["f"] = int(id(t) not in graph.outputs and folds(t))
    if shape is not None:
        d["sh"] = "scalar" if tuple(shape) == () else str(tuple(shape))
    if dtype is not None:
        d["dt"] = str(np.dtype(dtype))
    return d


def _first_view(graph: Graph, folds: Any, collapse_modules: bool | int | None) -> list[int]:
    """The calls the page starts with expanded: those of ``collapse_modules``, or (None) of
    the most detailed depth that draws at most a few hundred nodes."""
    if collapse_modules is not None:
        return sorted(expanded_calls(graph, collapse_modules))
    deepest = max((c.depth for c in graph.calls), default=0)
    chosen = sorted(expanded_calls(graph, True))
    if len(view(graph, set(chosen), folds).nodes) <= _AUTO_NODES:
        return chosen
    for depth in range(deepest, 0, -1):
        chosen = sorted(expanded_calls(graph, depth))
        if depth == 1 or len(view(graph, set(chosen), folds).nodes) <= _AUTO_NODES:
            return chosen
    return chosen


def _data(output: Tensor | Sequence[Tensor], params: Any, show_data: bool, show_grad: bool,
          collapse_modules: bool | int | None, max_nodes: int, title: str) -> dict:
    outs = outputs_of(output, "to_html")
    names, module_names = param_names(params, "to_html")
    try:
        graph = walk(outs, max_nodes)
    except TooMany:
        raise ValueError(
            f"to_html: the graph has more than max_nodes={max_nodes} items (ops, leaves and "
            f"outputs), and a page holds all of them whatever it shows first. Raise "
            f"max_nodes (a page takes about 250 bytes per item), or draw a smaller part of "
            f"the computation") from None
    folds = folder(names)
    items = []
    for i, item in enumerate(graph.items):
        d = _item(item, graph, names, show_data, show_grad, folds)
        d["p"] = graph.parents[i]
        call = graph.call_of[i]
        if call is not None:
            d["c"] = call.index
        items.append(d)
    calls = []
    for c in graph.calls:
        name = module_names.get(id(c.module), "")
        count = call_params(c, graph, [i for i, k in enumerate(graph.call_of) if k is c])
        calls.append({"name": L.call_name(c, module_names), "cls": type(c.module).__name__,
                      "dotted": name, "parent": -1 if c.parent is None else c.parent.index,
                      "depth": c.depth, "params": L.fmt_count(count) if count else "",
                      "number": c.number, "of": c.of})
    return {"title": title, "items": items, "calls": calls,
            "expanded": _first_view(graph, folds, collapse_modules),
            "styles": {k: v[0] for k, v in _STYLES.items()}}


def _script_json(data: dict) -> str:
    """JSON that is safe inside a <script> element: no "</script>", no "<!--"."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def to_html(output: Tensor | Sequence[Tensor], *, params: Any = None, show_data: bool = False,
            show_grad: bool = True, collapse_modules: bool | int | None = None,
            max_nodes: int = PAGE_MAX_NODES, title: str | None = None) -> str:
    """The graph that computed ``output`` as one self-contained interactive HTML page (a
    ``str``; all script and style inline, nothing fetched).

    ``params``, ``show_data`` and ``show_grad`` as for :func:`~tinygrad_reg.viz.to_dot`.
    ``collapse_modules`` is the view the page opens with (the same settings as ``to_dot``;
    None: the most detailed depth that draws at most 150 nodes); every module can then be
    expanded or collapsed by clicking it. ``max_nodes`` bounds the whole graph (every op,
    leaf and output), 20,000 by default. ``title`` heads the page.
    """
    _check_options("TB", max_nodes, False if collapse_modules is None else
                        collapse_modules, "to_html")
    data = _data(output, params, show_data, show_grad, collapse_modules, max_nodes,
                 title or "tinygrad_reg graph")
    css = (_HERE / "page.css").read_text(encoding="utf-8")
    js = (_HERE / "page.js").read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\" data-tinygrad-reg-graph=\"1\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        f"<title>{html.escape(data['title'])}</title>\n<style>\n{css}</style>\n</head>\n"
        "<body>\n<script type=\"application/json\" id=\"graph-data\">"
        f"{_script_json(data)}</script>\n<script>\n{js}</script>\n</body>\n</html>\n")


def save_html(output: Tensor | Sequence[Tensor], path: str | os.PathLike,
              **kwargs: Any) -> str | os.PathLike:
    """Write :func:`to_html`'s page to ``path`` (keyword arguments as for ``to_html``) and
    return ``path``. One file: open it in any browser, offline."""
    page = to_html(output, **kwargs)
    Path(path).write_text(page, encoding="utf-8")
    return path


class GraphPage:
    """An interactive graph page: Jupyter shows it inline (in a sandboxed iframe, its
    script kept apart from the notebook's); :attr:`html` is the page and :meth:`save`
    writes it."""

    def __init__(self, page: str, height: int = 600) -> None:
        self.html = page
        self.height = height

    def save(self, path: str | os.PathLike) -> str | os.PathLike:
        Path(path).write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width: 100%; height: {int(self.height)}px; border: 1px solid #ddd" '
                f'sandbox="allow-scripts"></iframe>')

    def __repr__(self) -> str:
        return f"<GraphPage: {len(self.html):,} characters of HTML>"
