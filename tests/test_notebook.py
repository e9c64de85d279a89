"""examples/tour.ipynb runs from top to bottom in a fresh kernel (nbclient), draws its graphs
inline, plots, exports, and docs/tour.md shows the same cells."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "examples" / "tour.ipynb"


def test_the_tour_notebook_runs(tmp_path):
    nb = nbformat.read(TOUR, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "image/svg+xml" in kinds  # draw_graph displayed inline
    # a collapsed view (one node per layer call, with its parameter count) and the
    # interactive page, inline
    svgs = "".join(o["data"].get("image/svg+xml", "") for o in outputs if "data" in o)
    assert "3: DropConnectLinear" in svgs and "18 params" in svgs
    pages = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(pages) == 1 and "data-tinygrad-reg-graph" in pages[0]
    assert "image/png" in kinds      # the training curve
    text = "".join(o.get("text", "") for o in outputs)
    assert "L2Penalty(lam=0.001)" in text and "'0.weight': (32, 2)" in text
    assert (tmp_path / "moons.onnx").is_file() and (tmp_path / "moons.safetensors").is_file()


def test_the_docs_page_shows_the_notebooks_cells():
    page = (ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
    nb = nbformat.read(TOUR, as_version=4)
    for cell in nb.cells:
        assert cell.source.strip() in page, cell.source[:60]
