"""Draw the computation graph behind a tensor: :func:`to_dot` builds DOT text (pure, in
:mod:`.dot`); :func:`save_graph` and :func:`draw_graph` render it (in :mod:`.render`);
:func:`to_html` and :func:`save_html` make one self-contained interactive page of it (in
:mod:`.html`), laid out in the browser, without Graphviz."""

from typing import Any

from . import dot
from .dot import to_dot
from .html import GraphPage, save_html, to_html
from .render import WASM_MAX_NODES, draw_graph, save_graph


def __getattr__(name: str) -> Any:
    # REGULARIZATION_OPS / LOSS_OPS: read off the op classes' kinds when asked (see .dot)
    if name in ("REGULARIZATION_OPS", "LOSS_OPS"):
        return getattr(dot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["to_dot", "draw_graph", "save_graph", "to_html", "save_html", "GraphPage",
           "REGULARIZATION_OPS", "LOSS_OPS", "WASM_MAX_NODES"]
