"""How strong? The article's network over the L2 strength λ and the dropout keep_prob.

The article's [200, 100, 20, 1] ReLU network on its data (``make_classification(10000, 200,
random_state=123)``: the first 8000 rows for training, of which the last 2000 are held out
for validation, and the final 2000 rows as the test set), minibatch SGD (batch 200, lr 0.05),
with He-initialised weights (the article's randn·0.01 needs some 50 epochs before it moves at
all, which would make every run of this sweep pay for the wait). Two sweeps with
``tg.lab.sweep``, each over seeds:

- L2: the article's cost J + λ/(2m)·ΣW² (``l2_penalty(model, lam=λ/m)``) for λ in
  {0, 0.3, 1, 3, 10, 30}, no dropout;
- dropout: keep_prob in {1.0, 0.9, 0.8, 0.65, 0.5} on both hidden layers, no L2;

and draws the validation curves (``tg.lab.plot_sweep``: validation accuracy and loss, mean ±
std over seeds) and the train-vs-validation loss of the three article models
(``tg.lab.plot_curves``).

    python examples/lambda_sweep.py              # 40 epochs, 2 seeds
    python examples/lambda_sweep.py --quick      # 2 epochs, 1 seed, a smaller grid

Writes under --out (default runs/lambda_sweep/): sweep_lambda.png, sweep_keep_prob.png,
curves.png and results.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import lab, nn
from tinygrad_reg.nn import functional as F
from tinygrad_reg.regularization import l2_penalty

BATCH, LR = 200, 0.05
LAMBDAS = [0.0, 0.3, 1.0, 3.0, 10.0, 30.0]
KEEP_PROBS = [1.0, 0.9, 0.8, 0.65, 0.5]


def load_data() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=10000, n_features=200, random_state=123)
    y = y.astype(np.float64).reshape(-1, 1)
    return X[:6000], y[:6000], X[6000:8000], y[6000:8000], X[8000:], y[8000:]


def build_model(keep_prob: float, generator: np.random.Generator) -> nn.Module:
    def linear(n_in: int, n_out: int) -> nn.Linear:
        return nn.Linear(n_in, n_out, init="he", generator=generator, dtype=np.float64)

    def drop() -> list[nn.Module]:
        return [nn.Dropout(keep_prob=keep_prob, generator=generator)] if keep_prob < 1 else []

    return nn.Sequential(linear(200, 100), nn.ReLU(), *drop(), linear(100, 20), nn.ReLU(),
                         *drop(), linear(20, 1))


@tg.no_grad()
def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    model.eval()
    logits = model(tg.Tensor(X))
    model.train()
    return (F.binary_cross_entropy_with_logits(logits, tg.Tensor(y)).item(),
            float(np.mean((logits.numpy() > 0) == (y > 0.5))))


def make_train(data: tuple, epochs: int):
    X_tr, y_tr, X_val, y_val, X_te, y_te = data

    def train(lam: float, keep_prob: float, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        model = build_model(keep_prob, rng)
        opt = tg.optim.SGD(model.parameters(), lr=LR)
        history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        for _ in range(epochs):
            for Xb, yb in tg.data.batches(X_tr, y_tr, BATCH, generator=rng):
                opt.zero_grad()
                loss = F.binary_cross_entropy_with_logits(model(tg.Tensor(Xb)), tg.Tensor(yb))
                if lam:
                    loss = loss + l2_penalty(model, lam=lam / BATCH)
                loss.backward()
                opt.step()
            history["train_loss"].append(evaluate(model, X_tr, y_tr)[0])
            history["val_loss"].append(evaluate(model, X_val, y_val)[0])
        val_loss, val_acc = evaluate(model, X_val, y_val)
        return {"train_accuracy": evaluate(model, X_tr, y_tr)[1], "val_loss": val_loss,
                "val_accuracy": val_acc, "test_accuracy": evaluate(model, X_te, y_te)[1],
                "history": history}

    return train


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 epochs, 1 seed, a smaller grid")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 40)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds (default 2)")
    ap.add_argument("--out", type=Path, default=Path("runs/lambda_sweep"))
    args = ap.parse_args(argv)
    epochs = args.epochs or (2 if args.quick else 40)
    seeds = range(args.seeds or (1 if args.quick else 2))
    lambdas = LAMBDAS[::2] if args.quick else LAMBDAS
    keeps = KEEP_PROBS[::2] if args.quick else KEEP_PROBS
    train = make_train(load_data(), epochs)
    by_lambda = lab.sweep(train, {"lam": lambdas, "keep_prob": [1.0]}, seeds)
    by_keep = lab.sweep(train, {"lam": [0.0], "keep_prob": keeps}, seeds)

    for name, records, key in (("λ", by_lambda, "lam"), ("keep_prob", by_keep, "keep_prob")):
        print(f"\n{name:>10} {'val accuracy':>20} {'val loss':>10} {'test accuracy':>14}")
        loss = {s[key]: s for s in lab.summarize(records, key, "val_loss")}
        test = {s[key]: s for s in lab.summarize(records, key, "test_accuracy")}
        for s in lab.summarize(records, key, "val_accuracy"):
            v = s[key]
            print(f"{v:>10g} {s['mean']:>12.4f} ± {s['std']:.4f} {loss[v]['mean']:>10.4f} "
                  f"{test[v]['mean']:>14.4f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    for records, key, fname in ((by_lambda, "lam", "sweep_lambda.png"),
                                (by_keep, "keep_prob", "sweep_keep_prob.png")):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        lab.plot_sweep(records, key, "val_accuracy", ax=axes[0], logx=key == "lam")
        lab.plot_sweep(records, key, "val_loss", ax=axes[1], logx=key == "lam")
        fig.suptitle(f"validation curves over {key} (mean ± std over seeds, {epochs} epochs)")
        fig.tight_layout()
        fig.savefig(args.out / fname, dpi=110)
        plt.close(fig)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    picks = [("plain", by_lambda, {"lam": 0.0}), ("L2, λ=1", by_lambda, {"lam": 1.0}),
             ("dropout, keep_prob=0.8", by_keep, {"keep_prob": 0.8})]
    for ax, (title, records, where) in zip(axes, picks):
        run = next((r for r in records if all(r[k] == v for k, v in where.items())), None)
        if run is not None:
            lab.plot_curves(run["history"], ax=ax, title=title)
    fig.tight_layout()
    fig.savefig(args.out / "curves.png", dpi=110)
    plt.close(fig)
    summary = {"epochs": epochs, "seeds": list(seeds),
               "lambda": lab.summarize(by_lambda, "lam", "val_accuracy"),
               "keep_prob": lab.summarize(by_keep, "keep_prob", "val_accuracy")}
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {args.out}/sweep_lambda.png, sweep_keep_prob.png, curves.png, results.json")
    return summary


if __name__ == "__main__":
    main()
