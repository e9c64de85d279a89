"""Decision boundaries on two noisy moons: plain vs L2 vs dropout vs L1, side by side.

A [2, 64, 64, 1] ReLU network is trained on only 40 noisy points of
``make_moons(noise=0.35)``, so without regularization it draws a boundary around individual
training points (high train accuracy, lower test accuracy on 1000 fresh points). The same
network, from the same initial weights, is trained three more times: with an L2 penalty
(``l2_penalty(model, lam)``), with dropout (keep_prob 0.5 after both hidden layers, switched
off by ``model.eval()`` for the picture and the accuracies) and with an L1 penalty
(``l1_penalty(model, lam)``). Full-batch Adam, so the plain model can overfit in a few
thousand steps.

    python examples/decision_boundary.py            # 1500 steps per model
    python examples/decision_boundary.py --quick    # 300 steps, a coarser grid

Writes under --out (default runs/decision_boundary/): decision_boundaries.png, and prints the
train/test accuracy of each model (also in the titles of the picture).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F
from tinygrad_reg.regularization import l1_penalty, l2_penalty

N_TRAIN, N_TEST = 40, 1000
NOISE = 0.35

# name -> (lam of l2_penalty, lam of l1_penalty, keep_prob of the dropout layers or None)
MODELS = {
    "plain": (0.0, 0.0, None),
    "L2": (0.01, 0.0, None),
    "dropout": (0.0, 0.0, 0.5),
    "L1": (0.0, 0.005, None),
}


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=N_TRAIN + N_TEST, noise=NOISE, random_state=seed)
    y = y.astype(np.float64).reshape(-1, 1)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def build_model(keep_prob: float | None, seed: int) -> nn.Module:
    """The same initial weights for every model (the generator is seeded alike)."""
    gen = np.random.default_rng(seed)

    def dropout() -> list[nn.Module]:
        return [nn.Dropout(keep_prob=keep_prob, generator=gen)] if keep_prob else []

    return nn.Sequential(
        nn.Linear(2, 64, generator=gen, dtype=np.float64), nn.ReLU(), *dropout(),
        nn.Linear(64, 64, generator=gen, dtype=np.float64), nn.ReLU(), *dropout(),
        nn.Linear(64, 1, generator=gen, dtype=np.float64))


def train(name: str, data: tuple, steps: int, seed: int) -> nn.Module:
    l2, l1, keep_prob = MODELS[name]
    X, y = tg.Tensor(data[0]), tg.Tensor(data[1])
    model = build_model(keep_prob, seed)
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(X), y)
        if l2:
            loss = loss + l2_penalty(model, lam=l2)
        if l1:
            loss = loss + l1_penalty(model, lam=l1)
        loss.backward()
        opt.step()
    return model.eval()  # dropout off from here on: accuracies and the picture


@tg.no_grad()
def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((model(tg.Tensor(X)).numpy() > 0) == (y > 0.5)))


def plot(models: dict[str, nn.Module], data: tuple, scores: dict[str, tuple[float, float]],
         resolution: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X_train, y_train, X_test, y_test = data
    lo, hi = np.r_[X_test, X_train].min(axis=0) - 0.5, np.r_[X_test, X_train].max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[gx.ravel(), gy.ravel()]
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4.2), sharey=True)
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        with tg.no_grad():
            probs = model(tg.Tensor(grid)).sigmoid().numpy().reshape(gx.shape)
        ax.contourf(gx, gy, probs, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, probs, levels=[0.5], colors="black", linewidths=1.5)
        ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test[:, 0], cmap="RdBu_r", s=4, alpha=0.25,
                   linewidths=0)
        ax.scatter(X_train[:, 0], X_train[:, 1], c=y_train[:, 0], cmap="RdBu_r", s=30,
                   edgecolors="black", linewidths=0.8)
        train_acc, test_acc = scores[name]
        ax.set_title(f"{name}: train {train_acc:.0%}, test {test_acc:.1%}", fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"make_moons(noise={NOISE}): {N_TRAIN} training points (outlined), "
                 f"{N_TEST} test points (faint)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 steps and a coarse grid")
    ap.add_argument("--seed", type=int, default=0, help="seeds the data and the weights")
    ap.add_argument("--out", type=Path, default=Path("runs/decision_boundary"),
                    help="output folder")
    args = ap.parse_args(argv)
    steps, resolution = (300, 60) if args.quick else (1500, 200)
    args.out.mkdir(parents=True, exist_ok=True)
    tg.manual_seed(args.seed)

    data = load_data(args.seed)
    models, scores = {}, {}
    for name in MODELS:
        models[name] = train(name, data, steps, args.seed)
        scores[name] = (accuracy(models[name], *data[:2]), accuracy(models[name], *data[2:]))
        print(f"{name:>8}: train accuracy {scores[name][0]:.3f}, "
              f"test accuracy {scores[name][1]:.3f}")
    path = args.out / "decision_boundaries.png"
    plot(models, data, scores, resolution, path)
    print(f"Wrote {path}")
    return {"steps": steps, "accuracy": {k: {"train": a, "test": b}
                                         for k, (a, b) in scores.items()}}


if __name__ == "__main__":
    main()
