"""Reproduce the seed article's experiment: plain vs L2 vs dropout on make_classification.

The article trains a [200, 100, 20, 1] network (ReLU, ReLU, sigmoid; weights randn * 0.01,
biases 0) with minibatch SGD (batch 200, 150 epochs) on the first 8000 rows of
``make_classification(n_samples=10000, n_features=200, random_state=123)`` and tests on the
last 2000. Here every hand-written piece is a framework op: the loss is computed from logits,
L2 is ``l2_penalty(model, lam=λ/m)`` (the article's λ/(2m)·ΣW² with λ = 1, m = 200) and
dropout is a module that is switched off by ``model.eval()`` when the test set is scored.

    python examples/reproduce_article.py            # the full run (about a minute on 2 idle cores)
    python examples/reproduce_article.py --quick    # a smoke run (well under a minute)
    python examples/reproduce_article.py --seeds 5  # mean ± std over 5 seeds
    python examples/reproduce_article.py --jit      # the training step compiled by tg.jit:
                                                    # the same results, bit for bit, faster

Writes under --out (default runs/article/): loss_curves.png, weight_histograms.png,
graph_dropout_l2.svg (the computation graph of a dropout + L2 model) and results.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F
from tinygrad_reg.regularization import l2_penalty

# The article's figures (one unseeded run each), as the article prints them.
ARTICLE = {
    "plain": {"train_loss": 0.0026, "test_accuracy": 0.9335},
    "L2": {"train_loss": 0.087, "test_accuracy": 0.9425},
    "dropout": {"train_loss": 0.089, "test_accuracy": 0.936},
}
BATCH = 200


@dataclass
class Config:
    """One of the article's three models."""

    name: str
    lr: float
    l2_lambda: float = 0.0        # the article's λ, in its cost λ/(2m)·ΣW²
    keep_prob: float | None = None  # dropout on both hidden layers when set


CONFIGS = [
    Config("plain", lr=0.05),
    Config("L2", lr=0.05, l2_lambda=1.0),
    Config("dropout", lr=0.02, keep_prob=0.8),
]


def load_data() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=10000, n_features=200, random_state=123)
    X = X.astype(np.float64)
    y = y.astype(np.float64).reshape(-1, 1)
    return X[:8000], y[:8000], X[8000:], y[8000:]


def build_model(keep_prob: float | None, generator: np.random.Generator) -> nn.Module:
    """The article's [200, 100, 20, 1] network, emitting logits (the sigmoid is in the loss)."""
    def linear(n_in: int, n_out: int) -> nn.Linear:
        return nn.Linear(n_in, n_out, init="scaled_normal", generator=generator,
                         dtype=np.float64)

    layers: list[nn.Module] = [linear(200, 100), nn.ReLU()]
    if keep_prob is not None:
        layers.append(nn.Dropout(keep_prob=keep_prob, generator=generator))
    layers += [linear(100, 20), nn.ReLU()]
    if keep_prob is not None:
        layers.append(nn.Dropout(keep_prob=keep_prob, generator=generator))
    layers.append(linear(20, 1))
    return nn.Sequential(*layers)


def objective(model: nn.Module, X: Any, y: Any, l2_lambda: float) -> tg.Tensor:
    """BCE from logits, plus the article's λ/(2m)·ΣW² as l2_penalty(model, lam=λ/m)."""
    loss = F.binary_cross_entropy_with_logits(model(tg.as_tensor(X)), tg.as_tensor(y))
    if l2_lambda:
        loss = loss + l2_penalty(model, lam=l2_lambda / BATCH)
    return loss


@tg.no_grad()
def l2_term(model: nn.Module, l2_lambda: float) -> float:
    """The article's λ/(2m)·ΣW² at the current weights (0 without L2)."""
    return l2_penalty(model, lam=l2_lambda / BATCH).item() if l2_lambda else 0.0


@tg.no_grad()
def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(BCE loss, accuracy) in eval mode: no unit is dropped at test time."""
    model.eval()
    logits = model(tg.Tensor(X))
    model.train()
    loss = F.binary_cross_entropy_with_logits(logits, tg.Tensor(y)).item()
    accuracy = float(np.mean((logits.numpy() > 0) == (y > 0.5)))
    return loss, accuracy


def train(cfg: Config, data: tuple, epochs: int, seed: int, progress,
          jit: bool = False) -> dict:
    X_train, y_train, X_test, y_test = data
    rng = np.random.default_rng(seed)
    model = build_model(cfg.keep_prob, rng)
    opt = tg.optim.SGD(model.parameters(), lr=cfg.lr)

    def step(Xb: tg.Tensor, yb: tg.Tensor) -> tg.Tensor:
        opt.zero_grad()
        loss = objective(model, Xb, yb, cfg.l2_lambda)
        loss.backward()
        opt.step()
        return loss

    if jit:  # traced on its first two calls, replayed after: the same numbers, bit for bit
        step = tg.jit(step)
    history = {"train_loss": [], "test_loss": []}
    start = time.perf_counter()
    for _ in range(epochs):
        for Xb, yb in tg.data.batches(X_train, y_train, BATCH, shuffle=True, generator=rng):
            loss = step(tg.Tensor(Xb), tg.Tensor(yb))
        # What the article prints: the cost of the epoch's last minibatch, in training mode
        # (dropout on), L2 term included, before that minibatch's update.
        batch_loss = loss.item()
        history["train_loss"].append(evaluate(model, X_train, y_train)[0])
        test_loss, test_acc = evaluate(model, X_test, y_test)
        history["test_loss"].append(test_loss)
        progress.set_postfix(train_loss=f"{history['train_loss'][-1]:.4f}",
                             test_acc=f"{test_acc:.4f}", refresh=False)
        progress.update(1)
    seconds = time.perf_counter() - start
    train_loss, train_acc = evaluate(model, X_train, y_train)
    test_loss, test_acc = evaluate(model, X_test, y_test)
    weights = np.concatenate([p.numpy().ravel() for name, p in model.named_parameters()
                              if p.ndim >= 2])
    return {"train_loss": train_loss, "batch_loss": batch_loss,
            "l2_term": l2_term(model, cfg.l2_lambda), "train_accuracy": train_acc,
            "test_loss": test_loss, "test_accuracy": test_acc, "seconds": seconds,
            "history": history,
            "weights": weights, "model": model}


def summarize(runs: list[dict], key: str) -> tuple[float, float]:
    values = [r[key] for r in runs]
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def print_table(results: dict[str, list[dict]]) -> None:
    n = len(next(iter(results.values())))
    pm = " ± std" if n > 1 else ""
    print(f"\nResults ({n} seed{'s' if n > 1 else ''}; mean{pm}) beside the article's run:")
    w = 18 if n > 1 else 12
    header = (f"{'model':<8}{'train loss':>{w}}{'batch cost':>{w}}{'train acc':>{w}}"
              f"{'test acc':>{w}}{'seconds':>9}  |{'article cost':>13}{'test acc':>10}")
    print(header)
    print("-" * len(header))

    def cell(runs: list[dict], key: str, fmt: str) -> str:
        mean, std = summarize(runs, key)
        return f"{mean:{fmt}}" + (f" ± {std:{fmt}}" if n > 1 else "")

    for name, runs in results.items():
        art = ARTICLE[name]
        print(f"{name:<8}{cell(runs, 'train_loss', '.4f'):>{w}}"
              f"{cell(runs, 'batch_loss', '.4f'):>{w}}{cell(runs, 'train_accuracy', '.4f'):>{w}}"
              f"{cell(runs, 'test_accuracy', '.4f'):>{w}}{summarize(runs, 'seconds')[0]:>9.1f}"
              f"  |{art['train_loss']:>13.4f}{art['test_accuracy']:>10.4f}")
    print("train loss: BCE over all 8000 training rows, eval mode (no dropout), no L2 term.\n"
          "batch cost: the article's figure: the cost of the last minibatch of the last epoch, "
          "in training mode,\n  L2 term included (the article printed it at epoch 140 of 150, "
          "one unseeded run).")


def plot_curves(results: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (name, runs), color in zip(results.items(), ["tab:red", "tab:blue", "tab:green"]):
        h = runs[0]["history"]
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        ax.plot(epochs, h["train_loss"], color=color, label=f"{name} train")
        ax.plot(epochs, h["test_loss"], color=color, linestyle="--", label=f"{name} test")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("binary cross-entropy")
    ax.set_title("Train (solid) and test (dashed) loss per epoch")
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_weights(results: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.8), sharex=True,
                             sharey=True, squeeze=False)
    axes = axes[0]
    weights = {name: np.abs(runs[0]["weights"]) for name, runs in results.items()}
    top = max(w.max() for w in weights.values())
    bins = np.linspace(0.0, top, 61)  # the same bins in every panel, so heights compare
    for ax, (name, w) in zip(axes, weights.items()):
        ax.hist(w, bins=bins, color="tab:gray")
        ax.set_yscale("log")
        ax.set_title(f"{name}: mean |W| = {w.mean():.3f}")
        ax.set_xlabel("|weight| (all weight-matrix entries)")
    axes[0].set_ylabel("number of weights (log scale)")
    fig.suptitle("Weight magnitudes after training (seed 0), one panel per model, same axes")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_graph(data: tuple, path: Path) -> Path:
    """The computation graph of a dropout + L2 model on one small batch, after backward."""
    rng = np.random.default_rng(0)
    model = build_model(0.8, rng)
    loss = objective(model, data[0][:8], data[1][:8], l2_lambda=1.0)
    loss.backward()
    return tg.viz.save_graph(loss, path, params=model)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 3 epochs")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 150; 3 if --quick)")
    ap.add_argument("--seeds", type=int, default=1, help="repeat over this many seeds")
    ap.add_argument("--seed", type=int, default=0, help="the first seed")
    ap.add_argument("--out", type=Path, default=Path("runs/article"), help="output folder")
    ap.add_argument("--jit", action="store_true",
                    help="compile the training step with tg.jit (the same results, faster)")
    args = ap.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 150)
    if epochs < 1 or args.seeds < 1:
        ap.error("--epochs and --seeds must be at least 1")

    from tqdm import tqdm

    data = load_data()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict]] = {c.name: [] for c in CONFIGS}
    with tqdm(total=epochs * len(CONFIGS) * args.seeds, unit="epoch") as bar:
        for seed in range(args.seed, args.seed + args.seeds):
            for cfg in CONFIGS:
                bar.set_description(f"{cfg.name} seed {seed}")
                results[cfg.name].append(train(cfg, data, epochs, seed, bar, args.jit))
    print_table(results)
    if epochs < 60:
        print(f"Only {epochs} epochs: with the article's randn·0.01 weights every model first "
              f"sits at log 2 ≈ 0.693 for some 35-100 epochs,\nso a short run checks the "
              f"pipeline, not the article's result (run without --quick for that).")

    plot_curves(results, args.out / "loss_curves.png")
    plot_weights(results, args.out / "weight_histograms.png")
    graph = save_graph(data, args.out / "graph_dropout_l2.svg")
    summary = {
        "epochs": epochs, "seeds": list(range(args.seed, args.seed + args.seeds)),
        "batch_size": BATCH, "article": ARTICLE,
        "models": {
            c.name: {"lr": c.lr, "l2_lambda": c.l2_lambda, "keep_prob": c.keep_prob,
                     **{k: {"mean": summarize(results[c.name], k)[0],
                            "std": summarize(results[c.name], k)[1],
                            "runs": [r[k] for r in results[c.name]]}
                        for k in ("train_loss", "batch_loss", "l2_term", "train_accuracy",
                                  "test_loss", "test_accuracy", "seconds")},
                     "history": results[c.name][0]["history"]}
            for c in CONFIGS},
    }
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"\nWrote {args.out / 'loss_curves.png'}, {args.out / 'weight_histograms.png'}, "
          f"{graph} and {args.out / 'results.json'}")
    return summary


if __name__ == "__main__":
    main()
