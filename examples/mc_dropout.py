"""Monte-Carlo dropout: predictive uncertainty from a network trained with dropout.

A small regression network (1 → 128 → 128 → 1, ReLU, dropout p=0.1 after both hidden
layers) is fitted to 80 noisy samples of y = sin(2x) + x/2 drawn from two intervals,
[-3, -1] and [0.5, 2.5]. At test time ``tg.lab.mc_dropout_predict`` keeps dropout sampling
(everything else in eval mode) and averages 200 forward passes: the mean is the prediction
and the standard deviation its uncertainty (Gal and Ghahramani, 2016), which grows away from
the data: in the gap between the intervals and beyond them.

    python examples/mc_dropout.py            # 3000 Adam steps
    python examples/mc_dropout.py --quick    # 300 steps: a smoke run

Writes under --out (default runs/mc_dropout/): mc_dropout.png (data, mean ± 2 std and a few
single dropout samples) and results.json (the mean std on the data and away from it).
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
    summary = {"steps": steps, "final_train_mse": loss.item(),
               "std_on_data": float(std[inside].mean()),
               "std_off_data": float(std[~inside].mean()),
               "mse_on_data": float(((mean - target(grid.ravel())) ** 2)[inside].mean())}
    print(f"train MSE {summary['final_train_mse']:.4f}; predictive std: "
          f"{summary['std_on_data']:.3f} on the data, {summary['std_off_data']:.3f} away "
          f"from it ({summary['std_off_data'] / summary['std_on_data']:.1f}x)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    g = grid.ravel()
    for lo, hi in INTERVALS:
        ax.axvspan(lo, hi, color="0.93", zorder=0)
    model.train()  # a few single stochastic passes, as MC dropout draws them
    with tg.no_grad():
        for _ in range(3):
            ax.plot(g, model(tg.tensor(grid)).numpy().ravel(), color="tab:blue", lw=0.5,
                    alpha=0.5)
    model.eval()
    ax.fill_between(g, mean - 2 * std, mean + 2 * std, color="tab:blue", alpha=0.25,
                    label="mean ± 2 std (MC dropout)")
    ax.plot(g, mean, color="tab:blue", label="predictive mean")
    ax.plot(g, target(g), "k--", lw=1, label="true function")
    ax.scatter(X.ravel(), y.ravel(), s=10, color="k", label="training data")
    ax.set_ylim(-4, 4)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"MC dropout ({args.samples} samples): uncertainty grows away from the data")
    fig.tight_layout()
    fig.savefig(args.out / "mc_dropout.png", dpi=110)
    plt.close(fig)
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {args.out / 'mc_dropout.png'} and {args.out / 'results.json'}")
    return summary


if __name__ == "__main__":
    main()
