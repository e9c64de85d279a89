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


def test_reproduce_article_jitted_gives_the_same_numbers(tmp_path: Path) -> None:
    example = load("reproduce_article")
    eager = example.main(["--quick", "--out", str(tmp_path / "eager")])
    jitted = example.main(["--quick", "--jit", "--out", str(tmp_path / "jit")])
    for name, model in eager["models"].items():
        for key, value in model.items():
            if key != "seconds":  # every loss, accuracy and curve, exactly
                assert jitted["models"][name][key] == value, (name, key)


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


def test_sort_gpt(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    example = load("sort_gpt")
    summary = example.main(["--quick", "--out", str(tmp_path)])
    assert "held-out problems sorted right" in capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == json.loads(json.dumps(summary))
    assert results["steps"] == 150 and results["test_problems"] == 729 // 4
    # 150 steps already sort most held-out problems (chance: far below 1 %); the full run's
    # 2000 steps reach >= 0.99
    assert results["final_loss"] < results["first_loss"] / 4
    assert results["test_accuracy"] > 0.9, results
    # the jitted step is the eager step, loss for loss
    eager = example.train(12, seed=3, use_jit=False, log_every=0)
    jitted = example.train(12, seed=3, use_jit=True, log_every=0)
    for key in ("first_loss", "final_loss", "train_accuracy", "test_accuracy"):
        assert eager[key] == jitted[key], key


def test_regularization_zoo(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = load("regularization_zoo").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "test accuracy" in out and "DropConnect" in out and "dropout2d" in out
    assert_png(tmp_path / "zoo.png")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == json.loads(json.dumps(summary))
    names = {(r["net"], r["method"]) for r in results["rows"]}
    for expected in [("MLP", "none"), ("MLP", "L2 penalty"), ("MLP", "L1 penalty"),
                     ("MLP", "weight decay (AdamW)"), ("MLP", "dropout"),
                     ("MLP", "Gaussian dropout"), ("MLP", "alpha dropout (SELU)"),
                     ("MLP", "DropConnect"), ("MLP", "input noise"), ("MLP", "activity L1"),
                     ("MLP", "dropout + max-norm"), ("MLP", "label smoothing"),
                     ("MLP", "batch norm"), ("MLP", "early stopping"), ("CNN", "dropout2d"),
                     ("CNN", "batch norm")]:
        assert expected in names
    # even three epochs on 200 images learn the digits far beyond chance with the MLP
    plain = next(r for r in results["rows"] if (r["net"], r["method"]) == ("MLP", "none"))
    assert plain["test_mean"] > 0.5


def test_mc_dropout(tmp_path: Path) -> None:
    summary = load("mc_dropout").main(["--quick", "--samples", "50", "--out", str(tmp_path)])
    assert_png(tmp_path / "mc_dropout.png")
    assert summary["std_on_data"] > 0
    # the claim of the example: more uncertainty away from the data than on it
    assert summary["std_off_data"] > 1.5 * summary["std_on_data"], summary


def test_lambda_sweep(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = load("lambda_sweep").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "keep_prob" in out and "val accuracy" in out
    for name in ("sweep_lambda.png", "sweep_keep_prob.png", "curves.png"):
        assert_png(tmp_path / name)
    assert [s["lam"] for s in summary["lambda"]] == [0.0, 1.0, 10.0]
    assert [s["keep_prob"] for s in summary["keep_prob"]] == [1.0, 0.8, 0.5]
    assert all(0.5 < s["mean"] <= 1.0 for s in summary["lambda"] + summary["keep_prob"])


def test_sequence_regularizers(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = load("sequence_regularizers").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "entropy rate" in out and "±" in out  # the table, mean ± std over seeds
    assert_png(tmp_path / "curves.png")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == json.loads(json.dumps(summary))
    configs = ["none", "dropout 0.3", "locked 0.3", "embedding 0.1", "weight drop 0.3",
               "zoneout 0.1"]
    assert list(results["configs"]) == configs and results["seeds"] == [0, 1]
    for c in configs:
        s = results["configs"][c]
        # every loss finite, above the chain's own entropy rate (nothing beats the source)
        for k in ("best_valid", "final_valid", "final_train"):
            assert math.isfinite(s[k]["mean"]) and s[k]["mean"] > results["entropy_rate"]
        assert s["best_valid"]["mean"] <= s["final_valid"]["mean"]
    assert set(results["helped"]) == {"best_valid", "final_valid"}
    assert all(set(v) <= set(configs[1:]) for v in results["helped"].values())
