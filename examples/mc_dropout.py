"""Monte-Carlo dropout: predictive uncertainty from a network trained with dropout.

A small regression network (1 → 128 → 128 → 1, ReLU, dropout p=0.1 after both hidden
layers) is fitted to 80 noisy samples of y = sin(2x) + x/2 drawn from two intervals,
[-3, -1] and [0.5, 2.5]. At test time ``tg.lab.mc_dropout_predict`` keeps dropout sampling
(everything else in eval mode) and averages 200 forward passes: the mean is the prediction
and the standard deviation its uncertainty (Gal and Ghahramani, 2016). Away from the data it
grows where the network's passes disagree (here in the gap between the intervals and to
their left) and need not grow where they agree on a wrong answer: to the right of the data
the prediction goes flat, far from the true function, with a band about as narrow as on the
data. The spread is a hint, not a bound on the error.

    python examples/mc_dropout.py            # 3000 Adam steps
    python examples/mc_dropout.py --quick    # 300 steps: a smoke run

Writes under --out (default runs/mc_dropout/): mc_dropout.png (data, mean ± 2 std and a few
single dropout samples) and results.json (the mean std on the data and away from it, and
the std and the error left of, between and right of the intervals).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import lab, nn
from tinygrad_reg.nn import functional as F

INTERVALS = [(-3.0, -1.0), (0.5, 2.5)]


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * x) + x / 2


def make_data(rng: np.random.Generator, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([rng.uniform(lo, hi, n // len(INTERVALS)) for lo, hi in INTERVALS])
    y = target(x) + 0.1 * rng.standard_normal(x.shape)
    return x[:, None].astype(np.float32), y[:, None].astype(np.float32)


def build_model(p: float = 0.1) -> nn.Module:
    return nn.Sequential(nn.Linear(1, 128), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(128, 128), nn.ReLU(), nn.Dropout(p), nn.Linear(128, 1))


def in_data(x: np.ndarray) -> np.ndarray:
    return np.any([(x >= lo) & (x <= hi) for lo, hi in INTERVALS], axis=0)


def regions(x: np.ndarray) -> dict[str, np.ndarray]:
    """Where ``x`` lies left of the data, between its intervals, and right of it."""
    (lo0, hi0), (lo1, hi1) = INTERVALS
    return {"left": x < lo0, "between": (x > hi0) & (x < lo1), "right": x > hi1}


def plot(X: np.ndarray, y: np.ndarray, grid: np.ndarray, mean: np.ndarray, std: np.ndarray,
         passes: list[np.ndarray], samples: int, path: Path) -> None:
    """The data, the MC-dropout mean ± 2 std over ``grid`` and a few single dropout passes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    for k, (lo, hi) in enumerate(INTERVALS):
        ax.axvspan(lo, hi, color="0.93", zorder=0,
                   label="where the training data lie" if k == 0 else None)
    for k, p in enumerate(passes):
        ax.plot(grid, p, color="tab:blue", lw=0.5, alpha=0.5,
                label="single passes with dropout on" if k == 0 else None)
    ax.fill_between(grid, mean - 2 * std, mean + 2 * std, color="tab:blue", alpha=0.25,
                    label=f"mean ± 2 std of {samples} passes (MC dropout)")
    ax.plot(grid, mean, color="tab:blue", label="predictive mean")
    ax.plot(grid, target(grid), "k--", lw=1, label="true function sin(2x) + x/2")
    ax.scatter(X.ravel(), y.ravel(), s=10, color="k", label="training data (with noise)")
    shown = np.concatenate([mean - 2 * std, mean + 2 * std, target(grid), y.ravel()])
    ax.set_ylim(max(shown.min(), -8.0) - 0.3, min(shown.max(), 8.0) + 0.3)
    ax.set_xlabel("x (input)")
    ax.set_ylabel("y (prediction and target)")
    ax.legend(loc="upper left", fontsize=7.5)
    ax.set_title("MC dropout: the predictive spread (band) on the training intervals and away "
                 "from them", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 300 steps")
    ap.add_argument("--steps", type=int, default=None, help="Adam steps (default 3000)")
    ap.add_argument("--samples", type=int, default=200, help="MC dropout samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/mc_dropout"))
    args = ap.parse_args(argv)
    steps = args.steps or (300 if args.quick else 3000)
    from tqdm import tqdm

    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    X, y = make_data(rng)
    model = build_model()
    opt = tg.optim.Adam(model.parameters(), lr=3e-3)
    Xt, yt = tg.tensor(X), tg.tensor(y)
    with tqdm(range(steps), unit="step", mininterval=0.5) as bar:
        for step in bar:
            opt.zero_grad()
            loss = F.mse_loss(model(Xt), yt)
            loss.backward()
            opt.step()
            if step % 100 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}")

    grid = np.linspace(-5, 5, 401, dtype=np.float32)[:, None]
    mean, std = lab.mc_dropout_predict(model, grid, n_samples=args.samples,
                                       generator=np.random.default_rng(args.seed + 1))
    mean, std = mean.numpy().ravel(), std.numpy().ravel()
    inside = in_data(grid.ravel())
    error = np.abs(mean - target(grid.ravel()))
    summary = {"steps": steps, "final_train_mse": loss.item(),
               "std_on_data": float(std[inside].mean()),
               "std_off_data": float(std[~inside].mean()),
               "mse_on_data": float((error ** 2)[inside].mean()),
               # away from the data, region by region: the band's half-width and the error
               "off_data": {name: {"std": float(std[where].mean()),
                                   "abs_error": float(error[where].mean())}
                            for name, where in regions(grid.ravel()).items()}}
    print(f"train MSE {summary['final_train_mse']:.4f}; predictive std: "
          f"{summary['std_on_data']:.3f} on the data, {summary['std_off_data']:.3f} away "
          f"from it ({summary['std_off_data'] / summary['std_on_data']:.1f}x)")

    args.out.mkdir(parents=True, exist_ok=True)
    model.train()  # a few single stochastic passes, as MC dropout draws them
    with tg.no_grad():
        passes = [model(tg.tensor(grid)).numpy().ravel() for _ in range(3)]
    model.eval()
    plot(X, y, grid.ravel(), mean, std, passes, args.samples, args.out / "mc_dropout.png")
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {args.out / 'mc_dropout.png'} and {args.out / 'results.json'}")
    return summary


if __name__ == "__main__":
    main()
