"""A small CNN on scikit-learn's 8×8 handwritten digits, written as in PyTorch.

The network is one convolution block and a linear read-out:

    Conv2d(1, 16, 3, padding=1) -> BatchNorm2d(16) -> ReLU -> MaxPool2d(2)
    -> Flatten -> Dropout(p=0.25) -> Linear(16·4·4, 10)

trained with cross-entropy, ``Adam(lr=0.01)`` and a cosine learning-rate schedule
(``CosineAnnealingLR`` stepped once per epoch), from a ``DataLoader`` over a ``TensorDataset``
of the 1347 training images (batch 64, shuffled). The 450 test images (a fixed, stratified
quarter of the 1797) are scored in ``model.eval()`` mode: batch norm then uses its running
statistics and dropout is off. Each epoch shows a tqdm bar with the running loss and accuracy.

    python examples/digits_cnn.py              # 20 epochs, one seed
    python examples/digits_cnn.py --seeds 3    # the mean ± std test accuracy over 3 seeds
    python examples/digits_cnn.py --quick      # a smoke run: 2 epochs

Writes under --out (default runs/digits_cnn/): curves.png (loss, accuracies and learning rate
per epoch), filters.png (the first seed's learned 3×3 filters), model.npz (its state_dict,
loadable with ``tg.load``) and results.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F

BATCH = 64
CHANNELS = 16


def load_data() -> tuple[np.ndarray, ...]:
    """Images (N, 1, 8, 8) scaled to [0, 1] as float32, labels int64; a fixed split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    return tuple(train_test_split(X, y, test_size=0.25, stratify=y, random_state=0))


def build_model(channels: int = CHANNELS) -> nn.Module:
    """The example's CNN for (N, 1, 8, 8) images (PyTorch's default initialisation)."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(p=0.25),
        nn.Linear(channels * 4 * 4, 10),
    )


def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model in eval mode."""
    model.eval()
    with tg.no_grad():
        logits = model(tg.tensor(X))
        loss = F.cross_entropy(logits, tg.tensor(y)).item()
        acc = float((logits.argmax(dim=1).numpy() == y).mean())
    return loss, acc


def train(data: tuple, epochs: int, seed: int, quiet: bool = False) -> dict:
    from tqdm import tqdm

    X_train, X_test, y_train, y_test = data
    tg.manual_seed(seed)  # the initial weights, the dropout masks and the shuffling
    model = build_model()
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = tg.data.DataLoader(tg.data.TensorDataset(X_train, y_train), batch_size=BATCH,
                                shuffle=True)
    history: dict[str, list[float]] = {k: [] for k in
                                       ("train_loss", "train_accuracy", "test_loss",
                                        "test_accuracy", "lr")}
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        history["lr"].append(opt.param_groups[0]["lr"])
        total, correct, seen = 0.0, 0, 0
        bar = tqdm(loader, desc=f"seed {seed} epoch {epoch + 1}/{epochs}", leave=False,
                   disable=quiet)
        for xb, yb in bar:
            opt.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            n = yb.shape[0]
            total += loss.item() * n
            correct += int((logits.argmax(dim=1) == yb).sum().item())
            seen += n
            bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.3f}")
        sched.step()
        history["train_loss"].append(total / seen)
        history["train_accuracy"].append(correct / seen)
        test_loss, test_acc = evaluate(model, X_test, y_test)
        history["test_loss"].append(test_loss)
        history["test_accuracy"].append(test_acc)
    seconds = time.perf_counter() - start
    return {"seed": seed, "test_accuracy": history["test_accuracy"][-1],
            "test_loss": history["test_loss"][-1], "seconds": seconds, "history": history,
            "model": model}


def plot_curves(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for run in runs:
        h, s = run["history"], run["seed"]
        epochs = range(1, len(h["train_loss"]) + 1)
        axes[0].plot(epochs, h["train_loss"], label=f"train (seed {s})")
        axes[0].plot(epochs, h["test_loss"], "--", label=f"test (seed {s})")
        axes[1].plot(epochs, h["train_accuracy"], label=f"train (seed {s})")
        axes[1].plot(epochs, h["test_accuracy"], "--", label=f"test (seed {s})")
    axes[2].plot(range(1, len(runs[0]["history"]["lr"]) + 1), runs[0]["history"]["lr"])
    for ax, title in zip(axes, ("cross-entropy", "accuracy", "learning rate (cosine)")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_filters(model: nn.Module, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = model[0].weight.numpy()[:, 0]  # (16, 3, 3)
    cols = 8
    rows = -(-len(w) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.3))
    lim = float(np.abs(w).max())
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(w):
            ax.imshow(w[i], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"{i}", fontsize=8)
    fig.suptitle("learned 3×3 filters of the first convolution (red +, blue −)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 epochs")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 20; 2 if --quick)")
    ap.add_argument("--seeds", type=int, default=1, help="repeat over this many seeds")
    ap.add_argument("--seed", type=int, default=0, help="the first seed")
    ap.add_argument("--out", type=Path, default=Path("runs/digits_cnn"), help="output folder")
    ap.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    args = ap.parse_args(argv)
    epochs = args.epochs or (2 if args.quick else 20)
    if epochs < 1 or args.seeds < 1:
        ap.error("--epochs and --seeds must be at least 1")

    data = load_data()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in range(args.seed, args.seed + args.seeds):
        run = train(data, epochs, seed, quiet=args.no_progress)
        runs.append(run)
        print(f"seed {seed}: test accuracy {run['test_accuracy']:.4f}, test loss "
              f"{run['test_loss']:.4f} ({run['seconds']:.1f} s for {epochs} epochs)")
    accs = [r["test_accuracy"] for r in runs]
    std = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print(f"test accuracy over {len(accs)} seed(s): {statistics.mean(accs):.4f} ± {std:.4f}")

    plot_curves(runs, args.out / "curves.png")
    plot_filters(runs[0]["model"], args.out / "filters.png")
    tg.save(runs[0]["model"].state_dict(), args.out / "model.npz")
    summary = {
        "epochs": epochs, "batch_size": BATCH, "seeds": [r["seed"] for r in runs],
        "test_accuracy": {"mean": statistics.mean(accs), "std": std, "runs": accs},
        "runs": [{k: v for k, v in r.items() if k != "model"} for r in runs],
    }
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {args.out / 'curves.png'}, {args.out / 'filters.png'}, "
          f"{args.out / 'model.npz'} and {args.out / 'results.json'}")
    return summary


if __name__ == "__main__":
    main()
