"""Smoke tests: every script in examples/ runs end to end in its --quick mode into a temporary
folder, writes the files it promises, and its numbers say what the example claims.

The scripts are loaded from their paths and their ``main(argv)`` is called in this process
(the same code path as ``python examples/<name>.py``, without paying a new interpreter and
the numpy/sklearn/matplotlib imports once per script). They need the ``examples`` extra.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def assert_png(path: Path) -> None:
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > 5_000, f"{path} is suspiciously small ({len(data)} bytes): an empty plot?"


def svg_text(path: Path) -> str:
    """All the text of an SVG (parsing it proves it is well-formed XML)."""
    assert path.is_file(), f"{path} was not written"
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t for t in root.itertext())


def test_every_example_has_a_smoke_test() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert scripts <= tested, f"examples without a smoke test: {sorted(scripts - tested)}"


def test_reproduce_article(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = load("reproduce_article").main(["--quick", "--seeds", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "article" in out and "±" in out  # the table beside the article, mean ± std

    assert_png(tmp_path / "loss_curves.png")
    assert_png(tmp_path / "weight_histograms.png")
    text = svg_text(tmp_path / "graph_dropout_l2.svg")
    assert "Dropout p=0.2" in text        # keep_prob 0.8 on the graph as PyTorch's p
    assert "L2Penalty λ=0.005" in text    # the article's λ = 1 with m = 200: lam = λ/m

    results = json.loads((tmp_path / "results.json").read_text())
    assert results == json.loads(json.dumps(summary))  # the file is what main() returned
    assert results["seeds"] == [0, 1]
    assert set(results["models"]) == {"plain", "L2", "dropout"}
    for name, model in results["models"].items():
        for key in ("train_loss", "batch_loss", "l2_term", "train_accuracy", "test_loss",
                    "test_accuracy"):
            stats = model[key]
            assert len(stats["runs"]) == 2, (name, key)
            assert math.isfinite(stats["mean"]) and stats["std"] >= 0, (name, key)
        assert 0.0 <= model["test_accuracy"]["mean"] <= 1.0
        history = model["history"]
        assert len(history["train_loss"]) == len(history["test_loss"]) == results["epochs"]
    assert results["models"]["L2"]["l2_lambda"] == 1.0
    # The L2 model's reported cost includes its penalty term, as the article's does.
    assert results["models"]["L2"]["l2_term"]["mean"] > 0
    assert results["models"]["plain"]["l2_term"]["mean"] == 0
    assert results["models"]["dropout"]["keep_prob"] == 0.8


def test_decision_boundary(tmp_path: Path) -> None:
    summary = load("decision_boundary").main(["--quick", "--out", str(tmp_path)])
    assert_png(tmp_path / "decision_boundaries.png")
    acc = summary["accuracy"]
    assert set(acc) == {"plain", "L2", "dropout", "L1"}
    # Even the quick run fits the 40 training points well: the networks do learn.
    assert acc["plain"]["train"] >= 0.9, acc
    assert all(0.5 < a["test"] <= 1.0 for a in acc.values()), acc


def test_custom_op(tmp_path: Path) -> None:
    module = load("custom_op")
    summary = module.main(["--quick", "--out", str(tmp_path)])  # runs gradcheck/gradgradcheck
    assert_png(tmp_path / "fits.png")
    assert "Huber delta=1" in svg_text(tmp_path / "huber_graph.svg")  # the op's attribute
    # The point of the example: with gross outliers, the Huber fit is closer to sin x.
    assert summary["rmse"]["Huber"] < summary["rmse"]["squared error"], summary
    with pytest.raises(ValueError, match="delta"):
        module.huber_loss(None, None, delta=0.0)


def test_l1_sparsity(tmp_path: Path) -> None:
    summary = load("l1_sparsity").main(["--quick", "--out", str(tmp_path)])
    assert_png(tmp_path / "l1_vs_l2.png")
    models = summary["models"]
    # L1 zeroes weights that L2 and no penalty leave alone.
    assert models["L1"]["near_zero"] > 2 * max(models["L2"]["near_zero"],
                                               models["none"]["near_zero"]), models


def test_digits_cnn(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = load("digits_cnn").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "test accuracy over 1 seed(s)" in out
    assert_png(tmp_path / "curves.png")
    assert_png(tmp_path / "filters.png")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == json.loads(json.dumps(summary))
    (run,) = results["runs"]
    h = run["history"]
    assert len(h["train_loss"]) == len(h["lr"]) == results["epochs"] == 2
    assert h["lr"][0] == 0.01 and h["lr"][1] < 0.01      # the cosine schedule stepped
    # two epochs already learn the digits far beyond chance (0.1)
    assert h["train_loss"][1] < h["train_loss"][0] and run["test_accuracy"] > 0.8, h
    # the saved state_dict has PyTorch's keys and loads into a fresh model
    import tinygrad_reg as tg

    state = tg.load(tmp_path / "model.npz")
    assert set(state) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                          "1.running_var", "1.num_batches_tracked", "6.weight", "6.bias"}
    assert state["0.weight"].shape == (16, 1, 3, 3) and state["6.weight"].shape == (10, 256)
    model = load("digits_cnn").build_model()
    model.load_state_dict(state)
