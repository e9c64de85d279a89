"""Write your own op: the Huber loss as a ``tg.Function``, checked, trained with, and drawn.

The Huber loss of a residual r = pred - target, with threshold δ (``delta``):

    huber(r) = r² / 2               if |r| <= δ
             = δ · (|r| - δ / 2)    otherwise

    d huber / d pred = clip(r, -δ, δ),   d huber / d target = -clip(r, -δ, δ)

Quadratic near zero, linear in the tails: an outlier pulls on the fit with a force of at most
δ, where the squared error pulls with a force r. The backward is written with Tensor ops
(``tg.clip``), so the op is twice differentiable (second derivative 1 inside (-δ, δ), 0
outside), which ``check_op`` confirms with ``gradgradcheck``. ``delta`` is passed to
``apply`` as a keyword, so it is recorded on the node and the rendered graph shows
``Huber delta=1``.

Before training, the op is property-tested with ``tg.testing.check_op``, as a user would in
their own test suite: on random shapes and residuals (kept away from the kinks |r| = δ) it
checks the forward against numpy, no mutation and no aliasing of the inputs, first and second
derivatives against finite differences, and float32 in -> float32 out.

The script fits y = sin(x) from data with 10 % gross outliers twice — with the squared error
and with the Huber loss — and reports the error of each fit against the clean curve.

    python examples/custom_op.py             # checks, both fits, the graph and a plot
    python examples/custom_op.py --quick     # fewer training steps

Writes under --out (default runs/custom_op/): huber_graph.svg and fits.png (and Hypothesis
keeps its usual cache in ./.hypothesis/). Needs the ``examples`` extra.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F
from tinygrad_reg.testing import check_op
from tinygrad_reg.testing import strategies as S


class Huber(tg.Function):
    """out = r²/2 if |r| <= delta else delta·(|r| - delta/2), with r = pred - target,
    elementwise (reduce it yourself, e.g. ``.mean()``).

    dpred = grad · clip(r, -delta, delta),  dtarget = -dpred. At |r| = delta both branches
    have value delta²/2 and slope ±delta, so the op is smooth to first order there.
    """

    @staticmethod
    def forward(ctx, pred, target, delta):
        r = pred - target
        a = np.abs(r)
        # Both branches are computed everywhere (cheap, and np.where cannot skip one).
        return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))

    @staticmethod
    def backward(ctx, grad):
        pred, target = ctx.inputs
        # Tensor ops, not numpy: the gradient is itself differentiable (create_graph=True).
        slope = grad * tg.clip(pred - target, -ctx.attrs["delta"], ctx.attrs["delta"])
        return (slope if ctx.needs_input_grad[0] else None,
                -slope if ctx.needs_input_grad[1] else None)


def huber_loss(pred: tg.Tensor, target: tg.Tensor, delta: float = 1.0) -> tg.Tensor:
    """The mean Huber loss; ``delta`` must be positive."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    return Huber.apply(pred, target, delta=float(delta)).mean()


def huber_ref(pred: np.ndarray, target: np.ndarray, delta: float) -> np.ndarray:
    """The Huber loss in plain numpy, the reference for the forward check."""
    r = np.abs(pred - target)
    return np.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta))


@st.composite
def huber_inputs(draw: st.DrawFn) -> tuple[tg.Tensor, tg.Tensor, float]:
    """(pred, target, delta) with every residual pred - target at least 0.1 away from the
    kinks ±delta, by construction: at a kink the second derivative jumps (1 inside, 0
    outside), and central differences there would straddle both."""
    delta = draw(st.sampled_from([0.5, 1.0, 2.0]))
    shape = draw(S.shapes())
    target = draw(S.tensors(shape))
    r = draw(S.tensors(shape, avoid=[-delta, delta], low=-3 * delta, high=3 * delta))
    return tg.Tensor(target.numpy() + r.numpy(), requires_grad=True), target, delta


def check_huber(max_examples: int) -> None:
    """The whole op contract on random examples (see tg.testing.check_op)."""
    check_op(lambda pred, target, delta: Huber.apply(pred, target, delta=delta),
             huber_inputs(), ref=huber_ref, name="Huber", max_examples=max_examples)


def make_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x in [-3, 3], y = sin(x) + small noise, and 10 % of y replaced by gross outliers."""
    x = np.sort(rng.uniform(-3.0, 3.0, size=(n, 1)), axis=0)
    y = np.sin(x) + 0.1 * rng.standard_normal((n, 1))
    bad = rng.random(n) < 0.1
    y[bad] += rng.choice([-1.0, 1.0], size=(bad.sum(), 1)) * rng.uniform(3.0, 6.0,
                                                                         size=(bad.sum(), 1))
    return x, y


def make_model(rng: np.random.Generator) -> nn.Module:
    return nn.Sequential(nn.Linear(1, 32, generator=rng, dtype=np.float64), nn.Tanh(),
                         nn.Linear(32, 1, generator=rng, init="xavier_normal",
                                   dtype=np.float64))


def fit(loss_name: str, x: np.ndarray, y: np.ndarray, steps: int, seed: int) -> nn.Module:
    model = make_model(np.random.default_rng(seed))
    opt = tg.optim.Adam(model.parameters(), lr=0.02)
    X, Y = tg.Tensor(x), tg.Tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        pred = model(X)
        loss = huber_loss(pred, Y, delta=1.0) if loss_name == "Huber" else F.mse_loss(pred, Y)
        loss.backward()
        opt.step()
    return model


def plot(x: np.ndarray, y: np.ndarray, grid: np.ndarray,
         curves: dict[str, np.ndarray], errors: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5.2))
    ax.scatter(x[:, 0], y[:, 0], s=10, color="0.6", label="training data (10 % outliers)")
    ax.plot(grid[:, 0], np.sin(grid[:, 0]), color="black", linewidth=1, label="sin x")
    for (name, curve), color in zip(curves.items(), ["tab:red", "tab:blue"], strict=True):
        ax.plot(grid[:, 0], curve[:, 0], color=color,
                label=f"{name} fit (RMSE vs sin x: {errors[name]:.3f})")
    # every point in view, the outliers included: they are what the two losses disagree on
    lo, hi = min(y.min(), -1.5), max(y.max(), 1.5)
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    ax.set_xlabel("x")
    ax.set_ylabel("y = sin x + noise (and outliers)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    ax.set_title("A network fitted with squared error vs with the Huber loss (δ = 1):\n"
                 "squared error is pulled by the outliers, Huber is not", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer training steps (a smoke run)")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    ap.add_argument("--out", type=Path, default=Path("runs/custom_op"), help="output folder")
    args = ap.parse_args(argv)
    steps = 150 if args.quick else 1500
    args.out.mkdir(parents=True, exist_ok=True)

    check_huber(max_examples=20 if args.quick else 200)
    print("Huber: check_op passes (forward vs numpy, no mutation or aliasing, first and second "
          "derivatives vs finite differences, float32)")

    rng = np.random.default_rng(args.seed)
    x, y = make_data(rng, 200)
    grid = np.linspace(-3.0, 3.0, 301).reshape(-1, 1)
    curves, errors = {}, {}
    for name in ("squared error", "Huber"):
        model = fit(name, x, y, steps, args.seed)
        with tg.no_grad():
            curves[name] = model(tg.Tensor(grid)).numpy()
        errors[name] = float(np.sqrt(np.mean((curves[name] - np.sin(grid)) ** 2)))
        print(f"{name:>14} fit: RMSE against the clean sin x = {errors[name]:.4f}")

    # The graph of one Huber-loss training step: the op node reads "Huber delta=1".
    model = make_model(np.random.default_rng(args.seed))
    loss = huber_loss(model(tg.Tensor(x[:8], name="x")), tg.Tensor(y[:8], name="y"), delta=1.0)
    loss.backward()
    graph = tg.viz.save_graph(loss, args.out / "huber_graph.svg", params=model, rankdir="LR")
    plot(x, y, grid, curves, errors, args.out / "fits.png")
    print(f"Wrote {graph} and {args.out / 'fits.png'}")
    return {"rmse": errors, "steps": steps}


if __name__ == "__main__":
    main()
