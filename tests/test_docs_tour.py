"""docs/tour.md is what scripts/docs_assets.py writes from examples/tour.ipynb today: the
notebook's cells and the text they print (the pictures are files beside it, whose bytes
depend on the Graphviz and matplotlib versions), and what the notebook's text says about its
outputs is true."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent


def _docs_assets():
    path = ROOT / "scripts" / "docs_assets.py"
    spec = importlib.util.spec_from_file_location("docs_assets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Checks of what the markdown cells say, run in the notebook's kernel right after the cell
# they are about (the index of the code cell they follow).
CHECKS = {
    # "The graph": the ‖grad‖ drawn for x is the first cell's 2x plus this graph's w where
    # x·w + b > 0, since gradients accumulate; the picture shows that norm.
    3: """
_expected = 2 * x.numpy() + w.numpy() * ((x.numpy() * w.numpy() + b.numpy()) > 0)
assert np.array_equal(x.grad.numpy(), _expected), (x.grad, _expected)
print("x.grad norm", f"{np.linalg.norm(_expected):.4g}")
""",
    # "A short training run": the title's accuracy is measured on the 400 training points.
    10: """
assert len(Xm) == 400
with tg.no_grad():
    _train = (net(tg.tensor(Xm.astype(np.float32))).argmax(dim=1).numpy() == ym).mean()
assert _train == accuracy, (_train, accuracy)
""",
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook executed once, with the checks inserted after the cells they concern
    (each check's output is kept apart and removed again)."""
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "tour.ipynb", as_version=4)
    cells, checks = [], {}
    for i, cell in enumerate(nb.cells):
        cells.append(cell)
        if i in CHECKS:
            check = nbformat.v4.new_code_cell(CHECKS[i])
            checks[i] = check
            cells.append(check)
    nb.cells = cells
    work = tmp_path_factory.mktemp("tour")
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(work)}}).execute()
    nb.cells = [c for c in nb.cells if all(c is not k for k in checks.values())]
    return nb, checks


def test_the_checks_follow_the_cells_they_are_about():
    nb = nbformat.read(ROOT / "examples" / "tour.ipynb", as_version=4)
    assert "draw_graph(out" in nb.cells[3].source and "x.grad" in nb.cells[2].source
    assert "accuracy" in nb.cells[10].source and "training points" in nb.cells[9].source


def test_what_the_text_says_about_the_outputs_is_true(executed):
    nb, checks = executed
    for i, check in checks.items():
        errors = [o for o in check.outputs if o.output_type == "error"]
        assert not errors, (i, errors[0].get("evalue"))
    # the norm the text explains is the one drawn on x's node
    norm = "".join(o.get("text", "") for o in checks[3].outputs).split()[-1]
    svg = next(o["data"]["image/svg+xml"] for o in nb.cells[3].outputs
               if "image/svg+xml" in o.get("data", {}))
    assert re.search(rf"‖grad‖[^<]*{re.escape(norm)}", svg), norm


def test_tour_md_is_what_the_script_writes(executed):
    nb, _ = executed
    text, pictures = _docs_assets().tour_markdown(nb)
    page = (ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
    assert page == text, ("docs/tour.md differs from the notebook and its outputs: run "
                          "python scripts/docs_assets.py --only tour")
    assert {p.name for p in (ROOT / "docs" / "img" / "tour").iterdir()} == set(pictures)
