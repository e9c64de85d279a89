"""L1 vs L2 on the same network: L1 drives weights to (near) zero, L2 only shrinks them.

Data: ``make_classification`` with 40 features of which only the first 5 carry signal
(``n_informative=5, n_redundant=0, shuffle=False``). A [40, 32, 1] ReLU network is trained
three times from the same initial weights with minibatch SGD: without penalty, with
``l1_penalty(model, lam)`` (gradient lam·sign(W): a constant pull toward 0, however small
the weight) and with ``l2_penalty(model, lam)`` (gradient lam·W: a pull that fades as the
weight shrinks, so weights get small but rarely tiny).

Plain SGD on the L1 subgradient does not land on exactly 0.0 — a weight that crosses zero is
pushed back by lr·lam — so "near zero" means |w| < 1e-3 here, well above that jitter
(lr·lam = 5e-4) and far below a typical trained weight (~0.1).

    python examples/l1_sparsity.py            # 150 epochs
    python examples/l1_sparsity.py --quick    # 15 epochs

Writes under --out (default runs/l1_sparsity/): l1_vs_l2.png (a histogram of log10|w| for
each model, and the norm of each input feature's first-layer weights) and prints the
fraction of near-zero weights and the test accuracy of each model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F
from tinygrad_reg.regularization import l1_penalty, l2_penalty

N_FEATURES, N_INFORMATIVE = 40, 5
NEAR_ZERO = 1e-3
LR, BATCH = 0.05, 100
# name -> (penalty function or None, lam)
PENALTIES = {"none": (None, 0.0), "L1": (l1_penalty, 1e-2), "L2": (l2_penalty, 3e-2)}


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=2000, n_features=N_FEATURES,
                               n_informative=N_INFORMATIVE, n_redundant=0, shuffle=False,
                               random_state=seed)
    # shuffle=False keeps the informative features first, but also sorts the rows by class:
    # shuffle the rows ourselves before splitting.
    rows = np.random.default_rng(seed).permutation(len(X))
    X, y = X[rows], y[rows].astype(np.float64).reshape(-1, 1)
    return X[:1500], y[:1500], X[1500:], y[1500:]


def train(name: str, data: tuple, epochs: int, seed: int) -> nn.Module:
    penalty, lam = PENALTIES[name]
    gen = np.random.default_rng(seed)  # the same initial weights and batch order for all
    model = nn.Sequential(nn.Linear(N_FEATURES, 32, generator=gen, dtype=np.float64),
                          nn.ReLU(), nn.Linear(32, 1, generator=gen, dtype=np.float64))
    opt = tg.optim.SGD(model.parameters(), lr=LR)
    from tqdm import tqdm

    with tqdm(range(epochs), desc=name, unit="epoch", leave=False) as bar:
        for _ in bar:
            for Xb, yb in tg.data.batches(data[0], data[1], BATCH, generator=gen):
                opt.zero_grad()
                loss = F.binary_cross_entropy_with_logits(model(tg.Tensor(Xb)), tg.Tensor(yb))
                if penalty is not None:
                    loss = loss + penalty(model, lam=lam)
                loss.backward()
                opt.step()
            bar.set_postfix(loss=f"{loss.item():.4f}",
                            test_acc=f"{accuracy(model, *data[2:]):.3f}", refresh=False)
    return model


def weights(model: nn.Module) -> np.ndarray:
    """Every entry of the weight matrices (the biases are not penalised)."""
    return np.concatenate([p.numpy().ravel() for p in model.parameters() if p.ndim == 2])


@tg.no_grad()
def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((model(tg.Tensor(X)).numpy() > 0) == (y > 0.5)))


def plot(models: dict[str, nn.Module], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"none": "0.5", "L1": "tab:red", "L2": "tab:blue"}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    bins = np.linspace(-8, 0.5, 60)
    for name in ("L1", "L2"):
        w = np.abs(weights(models[name]))
        ax1.hist(np.log10(np.maximum(w, 1e-8)), bins=bins, alpha=0.55, color=colors[name],
                 label=f"{name}: {np.mean(w < NEAR_ZERO):.0%} of |w| < {NEAR_ZERO:g}")
    ax1.axvline(np.log10(NEAR_ZERO), color="black", linestyle="--", linewidth=1)
    ax1.set_xlabel("log10 |w|  (all weight-matrix entries)")
    ax1.set_ylabel("count")
    ax1.set_title("L1 piles weights up near zero; L2 only shrinks them")
    ax1.legend(fontsize=9)

    features = np.arange(N_FEATURES)
    width = 0.27
    for k, name in enumerate(("none", "L1", "L2")):
        w1 = models[name][0].weight.numpy()  # (32, N_FEATURES): column j = input feature j
        ax2.bar(features + (k - 1) * width, np.linalg.norm(w1, axis=0), width,
                color=colors[name], label=name)
    ax2.axvspan(-0.5, N_INFORMATIVE - 0.5, color="gold", alpha=0.2,
                label=f"the {N_INFORMATIVE} informative features")
    ax2.set_xlabel("input feature")
    ax2.set_ylabel("‖first-layer weights of the feature‖")
    ax2.set_title("L1 switches off the noise features")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="15 epochs (a smoke run)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the data, weights and batches")
    ap.add_argument("--out", type=Path, default=Path("runs/l1_sparsity"), help="output folder")
    args = ap.parse_args(argv)
    epochs = 15 if args.quick else 150
    args.out.mkdir(parents=True, exist_ok=True)

    data = load_data(args.seed)
    models, summary = {}, {}
    print(f"{'penalty':<8}{'lam':>8}{'|w| < 1e-3':>12}{'|w| < 1e-2':>12}{'mean |w|':>10}"
          f"{'test acc':>10}")
    for name, (_, lam) in PENALTIES.items():
        models[name] = model = train(name, data, epochs, args.seed)
        w = np.abs(weights(model))
        summary[name] = {"lam": lam, "near_zero": float(np.mean(w < NEAR_ZERO)),
                         "below_1e-2": float(np.mean(w < 1e-2)), "mean_abs": float(w.mean()),
                         "test_accuracy": accuracy(model, *data[2:])}
        s = summary[name]
        print(f"{name:<8}{lam:>8g}{s['near_zero']:>12.1%}{s['below_1e-2']:>12.1%}"
              f"{s['mean_abs']:>10.4f}{s['test_accuracy']:>10.3f}")
    path = args.out / "l1_vs_l2.png"
    plot(models, path)
    print(f"Wrote {path}")
    return {"epochs": epochs, "models": summary}


if __name__ == "__main__":
    main()
