"""The numbers the README and docs/ quote from the examples are the numbers the examples gave.

scripts/docs_assets.py runs each example with the arguments its figures are quoted for and
keeps its summary in docs/assets/<name>.json; each claim below formats a figure from those
files and looks for it on the page. A failure means a page and the examples disagree: rerun
the script and update the page (or the claim, if the text changed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "docs" / "assets"


def summary(name: str) -> dict:
    return json.loads((ASSETS / f"{name}.json").read_text())["summary"]


def pm(stats: dict) -> str:
    return f"{stats['mean']:.4f} ± {stats['std']:.4f}"


def article_rows() -> list[str]:
    r = summary("reproduce_article")
    out = []
    for name, m in r["models"].items():
        art = r["article"][name]
        out.append(f"{pm(m['batch_loss'])} ({art['train_loss']}) | {pm(m['test_accuracy'])} "
                   f"({art['test_accuracy']})")
    return out


def article_table() -> list[str]:
    r = summary("reproduce_article")
    out = []
    for name, m in r["models"].items():
        art = r["article"][name]
        out.append(f"{pm(m['batch_loss'])} | {art['train_loss']} | {pm(m['test_accuracy'])} | "
                   f"{art['test_accuracy']} | {pm(m['train_loss'])}")
    return out


def l1_claims() -> list[str]:
    m = summary("l1_sparsity")["models"]
    return [f"{100 * m['L1']['near_zero']:.1f} %", f"{100 * m['L2']['near_zero']:.1f} %",
            f"{m['none']['test_accuracy']:.3f} without penalty",
            f"{m['L1']['test_accuracy']:.3f} with L1", f"{m['L2']['test_accuracy']:.3f} with L2"]


def digits_claim() -> list[str]:
    acc = summary("digits_cnn")["test_accuracy"]
    return [f"{acc['mean']:.3f} ± {acc['std']:.3f} over 3 seeds"]


def zoo_rows() -> list[str]:
    return [f"| {r['net']} | {r['method']}" for r in summary("regularization_zoo")["rows"]] + \
        [f"{pm({'mean': r['test_mean'], 'std': r['test_std']})} | {r['train_mean']:.4f} |"
         for r in summary("regularization_zoo")["rows"]]


def sweep_claims() -> list[str]:
    s = summary("lambda_sweep")
    lam = {r["lam"]: r["mean"] for r in s["lambda"]}
    keep = {r["keep_prob"]: r["mean"] for r in s["keep_prob"]}
    best_keep = max(keep, key=keep.get)
    return [f"from {lam[0.0]:.3f} (λ = 0) to {lam[10.0]:.3f} at λ = 10",
            f"keep_prob {best_keep:g} ({keep[best_keep]:.3f})"]


def mc_claim() -> list[str]:
    s = summary("mc_dropout")
    return [f"{s['std_off_data'] / s['std_on_data']:.1f} times larger away"]


CLAIMS = [
    ("README.md", article_rows), ("README.md", lambda: l1_claims()[:1]),
    ("README.md", digits_claim), ("docs/regularization.md", article_table),
    ("docs/regularization.md", l1_claims), ("docs/regularization.md", zoo_rows),
    ("docs/regularization.md", sweep_claims), ("docs/regularization.md", mc_claim),
]


@pytest.mark.parametrize("page, claims", CLAIMS,
                         ids=[f"{p}:{c.__name__}" for p, c in CLAIMS])
def test_quoted_figures_match_the_examples(page, claims):
    text = (ROOT / page).read_text(encoding="utf-8")
    missing = [c for c in claims() if c not in text]
    assert not missing, f"{page} does not quote {missing} (see scripts/docs_assets.py)"


def test_every_asset_records_its_command():
    for path in ASSETS.glob("*.json"):
        record = json.loads(path.read_text())
        assert record["command"].startswith(f"python examples/{path.stem}.py")
