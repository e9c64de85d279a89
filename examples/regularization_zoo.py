"""The regularization zoo: every regularizer of the framework on one overfitting problem.

scikit-learn's 8×8 digits with only 200 training images (so an unregularized network
overfits), 200 validation images (for early stopping) and the remaining 1397 as the test set.
Two networks, each trained from the same initial weights with Adam (lr 1e-3, batch 32):

- an MLP 64 → 256 → 256 → 10 (ReLU; SELU for alpha dropout), with, one at a time: nothing,
  an L2 penalty, an L1 penalty, decoupled weight decay (AdamW), dropout, Gaussian dropout,
  alpha dropout, DropConnect, additive Gaussian noise on the input, an L1 activity penalty,
  dropout with max-norm, label smoothing, batch norm, and early stopping;
- a CNN (Conv2d 1→16 3×3 → ReLU → MaxPool → Conv2d 16→32 3×3 → ReLU → MaxPool → Linear),
  with nothing, dropout2d (whole feature maps), batch norm, and dropout before the read-out.

The strengths are reasonable defaults, not tuned per method: the table says how each does out
of the box on this problem, with the spread over seeds.

    python examples/regularization_zoo.py              # 3 seeds, 120 epochs (a few minutes)
    python examples/regularization_zoo.py --quick      # 1 seed, 3 epochs: a smoke run

Writes under --out (default runs/regularization_zoo/): zoo.png (test accuracy, mean ± std over
seeds, per method) and results.json; prints the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import lab, nn
from tinygrad_reg import regularization as R
from tinygrad_reg.nn import functional as F

N_TRAIN, N_VAL = 200, 200
BATCH, LR = 32, 1e-3


@dataclass
class Method:
    """One regularizer (or none) on one network."""

    name: str
    net: str = "MLP"                   # "MLP" or "CNN"
    layer: str | None = None           # a noise layer after each hidden layer
    p: float = 0.5                     # its drop probability (or the noise's std)
    l2: float = 0.0                    # l2_penalty(model, lam)
    l1: float = 0.0                    # l1_penalty(model, lam)
    activity_l1: float = 0.0           # activity_l1 on every hidden activation
    weight_decay: float = 0.0          # AdamW's decoupled decay
    max_norm: float | None = None      # max_norm_(model, c) after every step
    label_smoothing: float = 0.0
    batch_norm: bool = False
    input_noise: float = 0.0           # GaussianNoise(std) on the input
    early_stopping: bool = False
    selu: bool = False
    extra: dict = field(default_factory=dict)


METHODS = [
    Method("none"),
    Method("L2 penalty", l2=1e-3),
    Method("L1 penalty", l1=1e-4),
    Method("weight decay (AdamW)", weight_decay=0.1),
    Method("dropout", layer="dropout", p=0.5),
    Method("Gaussian dropout", layer="gaussian", p=0.5),
    Method("alpha dropout (SELU)", layer="alpha", p=0.1, selu=True),
    Method("DropConnect", layer="dropconnect", p=0.5),
    Method("input noise", input_noise=0.3),
    Method("activity L1", activity_l1=1e-3),
    Method("dropout + max-norm", layer="dropout", p=0.5, max_norm=1.0),
    Method("label smoothing", label_smoothing=0.1),
    Method("batch norm", batch_norm=True),
    Method("early stopping", early_stopping=True),
    Method("none", net="CNN"),
    Method("dropout2d", net="CNN", layer="dropout2d", p=0.2),
    Method("batch norm", net="CNN", batch_norm=True),
    Method("dropout", net="CNN", layer="dropout", p=0.5),
]


def load_data(seed: int = 0) -> tuple[np.ndarray, ...]:
    """(X, y) for train, validation and test: a stratified split of the 1797 digits."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, train_size=N_TRAIN, stratify=y,
                                                  random_state=seed)
    X_val, X_te, y_val, y_te = train_test_split(X_rest, y_rest, train_size=N_VAL,
                                                stratify=y_rest, random_state=seed)
    return X_tr, y_tr, X_val, y_val, X_te, y_te


class MLP(nn.Module):
    def __init__(self, m: Method) -> None:
        super().__init__()
        act = nn.SELU if m.selu else nn.ReLU
        self.noise = nn.GaussianNoise(m.input_noise) if m.input_noise else nn.Identity()
        dc = m.layer == "dropconnect"
        self.fc1 = nn.DropConnectLinear(64, 256, p=m.p) if dc else nn.Linear(64, 256)
        self.fc2 = nn.DropConnectLinear(256, 256, p=m.p) if dc else nn.Linear(256, 256)
        self.out = nn.Linear(256, 10)
        self.bn1 = nn.BatchNorm1d(256) if m.batch_norm else nn.Identity()
        self.bn2 = nn.BatchNorm1d(256) if m.batch_norm else nn.Identity()
        self.act1, self.act2 = act(), act()
        self.drop1, self.drop2 = _noise_layer(m), _noise_layer(m)
        self.hidden: list[tg.Tensor] = []

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        x = self.noise(x.flatten(1))
        h1 = self.act1(self.bn1(self.fc1(x)))
        h2 = self.act2(self.bn2(self.fc2(self.drop1(h1))))
        self.hidden = [h1, h2]  # for the activity penalty
        return self.out(self.drop2(h2))


class CNN(nn.Module):
    def __init__(self, m: Method) -> None:
        super().__init__()
        bn = m.batch_norm
        spatial = m.layer == "dropout2d"
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16) if bn else nn.Identity(),
            nn.ReLU(), nn.MaxPool2d(2), nn.Dropout2d(m.p) if spatial else nn.Identity(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32) if bn else nn.Identity(),
            nn.ReLU(), nn.MaxPool2d(2), nn.Dropout2d(m.p) if spatial else nn.Identity(),
            nn.Flatten())
        self.drop = nn.Dropout(m.p) if m.layer == "dropout" else nn.Identity()
        self.out = nn.Linear(32 * 2 * 2, 10)
        self.hidden: list[tg.Tensor] = []

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.out(self.drop(self.features(x.unsqueeze(1))))


def _noise_layer(m: Method) -> nn.Module:
    return {"dropout": lambda: nn.Dropout(m.p), "gaussian": lambda: nn.GaussianDropout(m.p),
            "alpha": lambda: nn.AlphaDropout(m.p)}.get(m.layer, nn.Identity)()


@tg.no_grad()
def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    model.eval()
    logits = model(tg.tensor(X))
    model.train()
    loss = F.cross_entropy(logits, tg.tensor(y)).item()
    return loss, float((logits.argmax(dim=1).numpy() == y).mean())


def train(method: Method, data: tuple, epochs: int, seed: int) -> dict:
    X_tr, y_tr, X_val, y_val, X_te, y_te = data
    tg.manual_seed(seed)  # the same initial weights for every method of a network
    model = (CNN if method.net == "CNN" else MLP)(method)
    params = model.parameters()
    opt = (tg.optim.AdamW(params, lr=LR, weight_decay=method.weight_decay)
           if method.weight_decay else tg.optim.Adam(params, lr=LR))
    loader = tg.data.DataLoader(tg.data.TensorDataset(X_tr, y_tr), batch_size=BATCH,
                                shuffle=True)
    stopper = lab.EarlyStopping(patience=15) if method.early_stopping else None
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    epochs_run = 0
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb, label_smoothing=method.label_smoothing)
            if method.l2:
                loss = loss + R.l2_penalty(model, method.l2)
            if method.l1:
                loss = loss + R.l1_penalty(model, method.l1)
            if method.activity_l1:
                for h in model.hidden:
                    loss = loss + R.activity_l1(h, method.activity_l1)
            loss.backward()
            opt.step()
            if method.max_norm is not None:
                R.max_norm_(model, method.max_norm)
        epochs_run += 1
        history["train_loss"].append(evaluate(model, X_tr, y_tr)[0])
        val_loss, _ = evaluate(model, X_val, y_val)
        history["val_loss"].append(val_loss)
        if stopper is not None and stopper.step(val_loss, model):
            break  # the best epoch's weights are back in the model
    return {"train_accuracy": evaluate(model, X_tr, y_tr)[1],
            "val_accuracy": evaluate(model, X_val, y_val)[1],
            "test_accuracy": evaluate(model, X_te, y_te)[1], "epochs_run": epochs_run,
            "history": history}


def print_table(rows: list[dict]) -> None:
    print(f"\n{'network':8} {'regularizer':24} {'test accuracy':>18} {'train accuracy':>16} "
          f"{'epochs':>7}")
    for r in rows:
        print(f"{r['net']:8} {r['method']:24} {r['test_mean']:>10.4f} ± {r['test_std']:.4f} "
              f"{r['train_mean']:>16.4f} {r['epochs']:>7.0f}")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    labels = [f"{r['net']}: {r['method']}" for r in rows]
    y = np.arange(len(rows))[::-1]
    colors = ["tab:blue" if r["net"] == "MLP" else "tab:orange" for r in rows]
    ax.barh(y, [r["test_mean"] for r in rows], xerr=[r["test_std"] for r in rows],
            color=colors, alpha=0.8)
    # one baseline per network, each in its network's colour and named in the legend
    for r, color in zip(rows, colors):
        if r["method"] == "none":
            ax.axvline(r["test_mean"], color=color, ls=":", lw=1.5,
                       label=f"{r['net']} without a regularizer ({r['test_mean']:.3f})")
    ax.set_yticks(y, labels)
    lo = min(r["test_mean"] - r["test_std"] for r in rows)
    ax.set_xlim(max(0.0, lo - 0.02), 1.0)
    ax.set_xlabel(f"test accuracy (mean ± std over seeds; {N_TRAIN} training images)")
    ax.set_ylabel("network: regularizer")
    ax.legend(loc="upper right", fontsize=9, title="dotted lines", title_fontsize=9)
    ax.set_title("Test accuracy of each regularizer against no regularizer, "
                 "MLP (blue) and CNN (orange), 8×8 digits", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 seed, 3 epochs")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 120)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds (default 3; 1 if --quick)")
    ap.add_argument("--out", type=Path, default=Path("runs/regularization_zoo"))
    args = ap.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 120)
    seeds = args.seeds or (1 if args.quick else 3)
    if epochs < 1 or seeds < 1:
        ap.error("--epochs and --seeds must be at least 1")
    data = load_data()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    by_name = {f"{m.net}: {m.name}": m for m in METHODS}
    records = lab.sweep(lambda method, seed: train(by_name[method], data, epochs, seed),
                        {"method": list(by_name)}, seeds=range(seeds))
    rows = []
    for key, m in by_name.items():
        runs = [r for r in records if r["method"] == key]
        test = [r["test_accuracy"] for r in runs]
        rows.append({"net": m.net, "method": m.name, "test_mean": statistics.mean(test),
                     "test_std": statistics.stdev(test) if len(test) > 1 else 0.0,
                     "train_mean": statistics.mean(r["train_accuracy"] for r in runs),
                     "epochs": statistics.mean(r["epochs_run"] for r in runs),
                     "test_runs": test})
    print_table(rows)
    print(f"({len(records)} runs in {time.perf_counter() - start:.0f} s)")
    plot(rows, args.out / "zoo.png")
    summary = {"epochs": epochs, "seeds": seeds, "n_train": N_TRAIN, "rows": rows}
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {args.out / 'zoo.png'} and {args.out / 'results.json'}")
    return summary


if __name__ == "__main__":
    main()
