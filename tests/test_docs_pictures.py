"""Every picture the README and docs/ show (and every interactive graph page they link to) is
one that scripts/docs_assets.py makes, a data plot has labelled axes and a caption that says
what it compares, and the four plots the examples write (fits.png, weight_histograms.png,
mc_dropout.png, zoo.png) show what their captions say."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
IMG = DOCS / "img"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
# ![alt](path) and [text](path) where the path is a picture in the repository (or an
# interactive graph page, a picture one can click), not a web address
PICTURE = re.compile(r"(!?)\[([^\]]*)\]\((?![a-z]+://)([^)\s]+\.(?:png|svg|jpg|gif|html))\)")


def load(path: Path, name: str):
    """A script as a module (registered, as dataclasses need it to be)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def references() -> list[tuple[Path, int, bool, Path]]:
    """(page, line, shown inline, the picture's file) for every picture a page refers to."""
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in PICTURE.finditer(text):
            target = (page.parent / m.group(3)).resolve()
            out.append((page, text.count("\n", 0, m.start()) + 1, m.group(1) == "!", target))
    return out


def made_by_the_script() -> set[Path]:
    """What scripts/docs_assets.py writes into docs/img: each example's pictures, the graph
    pictures of docs/make_figures.py (its graphs, the interactive page and its picture in a
    browser) and the tour notebook's outputs."""
    assets = load(ROOT / "scripts" / "docs_assets.py", "docs_assets")
    made = {IMG / p for _, pictures in assets.EXAMPLES.values() for p in pictures}
    source = (DOCS / "make_figures.py").read_text()
    figures = re.findall(r'figures\["([^"]+)"\]', source)
    figures += re.findall(r'^PAGE(?:_PICTURE)? = "([^"]+)"', source, re.M)
    made |= {IMG / f for f in figures}
    made |= set((IMG / "tour").iterdir())  # the tour part rewrites this folder whole
    return made


def test_every_picture_is_made_by_the_assets_script():
    made = made_by_the_script()
    refs = references()
    missing = [f"{p.name}:{line}: {t.relative_to(ROOT)}" for p, line, _, t in refs
               if t not in made]
    assert not missing, f"pictures that scripts/docs_assets.py does not make: {missing}"
    shown = {t for *_, t in refs}
    on_disk = {p for p in IMG.rglob("*") if p.is_file()}
    assert not on_disk - shown, f"pictures no page shows: {sorted(on_disk - shown)}"
    assert not made - on_disk, f"pictures the script makes that are missing: {made - on_disk}"


def test_data_pictures_have_captions():
    """A plot (a PNG, not a graph drawing or a notebook output) is followed by its caption:
    an italic paragraph that says what the picture compares."""
    problems = []
    for page, line, inline, target in references():
        if not inline or target.suffix != ".png" or "tour" in target.parts:
            continue
        lines = page.read_text(encoding="utf-8").splitlines()[line:]
        after = next((s.strip() for s in lines if s.strip()), "")
        if not (after.startswith("*") and not after.startswith("**")):
            problems.append(f"{page.name}:{line}: {target.name} has no caption (an italic "
                            f"paragraph right after it)")
    assert not problems, "\n".join(problems)


# -- the plots themselves --------------------------------------------------------------------

@pytest.fixture
def saved(monkeypatch):
    """The figures the code under test saves, kept for inspection."""
    from matplotlib.figure import Figure

    figures = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return figures


def check_labels(fig) -> None:
    """Every panel has an x label; the panels of the first column a y label; the figure
    says what it shows (a title or a suptitle)."""
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert axes
    for ax in axes:
        assert ax.get_xlabel().strip(), f"a panel without an x label: {ax.get_title()!r}"
    first = [ax for ax in axes if ax.get_subplotspec() is None
             or ax.get_subplotspec().is_first_col()]
    for ax in first:
        assert ax.get_ylabel().strip(), f"a panel without a y label: {ax.get_title()!r}"
    titles = [fig._suptitle.get_text() if fig._suptitle else ""] + [ax.get_title() for ax in axes]
    assert any(t.strip() for t in titles), "no title says what the figure shows"


def test_fits_png_shows_every_point(saved, tmp_path):
    co = load(ROOT / "examples" / "custom_op.py", "example_custom_op")
    rng = np.random.default_rng(0)
    x, y = co.make_data(rng, 200)
    assert np.abs(y).max() > 4  # there are outliers far out, the point of the picture
    grid = np.linspace(-3, 3, 31).reshape(-1, 1)
    curves = {"squared error": np.sin(grid) + 0.2, "Huber": np.sin(grid)}
    co.plot(x, y, grid, curves, {"squared error": 0.2, "Huber": 0.05}, tmp_path / "fits.png")
    (fig,) = saved
    check_labels(fig)
    lo, hi = fig.axes[0].get_ylim()
    assert lo <= y.min() and y.max() <= hi, ((lo, hi), (y.min(), y.max()))


def test_weight_histograms_share_their_axes(saved, tmp_path):
    ra = load(ROOT / "examples" / "reproduce_article.py", "example_reproduce_article")
    rng = np.random.default_rng(0)
    results = {name: [{"weights": rng.standard_normal(500) * scale}]
               for name, scale in (("plain", 0.5), ("L2", 0.1), ("dropout", 0.3))}
    ra.plot_weights(results, tmp_path / "weight_histograms.png")
    (fig,) = saved
    check_labels(fig)
    axes = fig.axes
    assert len({ax.get_xlim() for ax in axes}) == 1, [ax.get_xlim() for ax in axes]
    assert all(axes[0].get_shared_x_axes().joined(axes[0], ax) for ax in axes[1:])
    # the same bins in every panel: the bar edges coincide
    edges = [tuple(round(p.get_x(), 12) for p in ax.patches) for ax in axes]
    assert len(set(edges)) == 1


def test_mc_dropout_png_is_labelled(saved, tmp_path):
    mc = load(ROOT / "examples" / "mc_dropout.py", "example_mc_dropout")
    X, y = mc.make_data(np.random.default_rng(0))
    grid = np.linspace(-5, 5, 41)
    mean, std = mc.target(grid), 0.1 + 0.1 * np.abs(grid)
    mc.plot(X, y, grid, mean, std, [mean + 0.1, mean - 0.1], 200, tmp_path / "mc_dropout.png")
    (fig,) = saved
    check_labels(fig)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    # every element is named: the data intervals, single passes, the band, mean, truth, data
    assert len(labels) == 6, labels
    lo, hi = fig.axes[0].get_ylim()
    assert lo <= (mean - 2 * std).min() and (mean + 2 * std).max() <= hi


def test_zoo_png_names_each_baseline(saved, tmp_path):
    zoo = load(ROOT / "examples" / "regularization_zoo.py", "example_regularization_zoo")
    rows = json.loads((DOCS / "assets" / "regularization_zoo.json").read_text())["summary"]["rows"]
    zoo.plot(rows, tmp_path / "zoo.png")
    (fig,) = saved
    check_labels(fig)
    ax = fig.axes[0]
    baselines = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    nets = sorted({r["net"] for r in rows if r["method"] == "none"})
    assert len(baselines) == len(nets) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [any(t.startswith(net) for t in legend) for net in nets] == [True, True], legend
