"""Draw the computation graph behind a tensor: :func:`to_dot` builds DOT text (pure, in
:mod:`.dot`); :func:`save_graph` and :func:`draw_graph` render it (in :mod:`.render`)."""

from .dot import LOSS_OPS, REGULARIZATION_OPS, to_dot
from .render import WASM_MAX_NODES, draw_graph, save_graph

__all__ = ["to_dot", "draw_graph", "save_graph", "REGULARIZATION_OPS", "LOSS_OPS",
           "WASM_MAX_NODES"]
