"""W7: one SGD step of d2l's concise BN-LeNet (batch 128 of 1×28×28, float32, cross-entropy,
plain SGD with lr 0.1), tinygrad_reg eager and ``tg.jit`` beside PyTorch eager, all three at
one thread in one process, interleaved, PyTorch's initial weights copied into tinygrad_reg.

    Conv2d(1, 6, 5) → BatchNorm2d(6) → Sigmoid → AvgPool2d(2, 2)
    → Conv2d(6, 16, 5) → BatchNorm2d(16) → Sigmoid → AvgPool2d(2, 2) → Flatten
    → Linear(256, 120) → BatchNorm1d(120) → Sigmoid → Linear(120, 84) → BatchNorm1d(84)
    → Sigmoid → Linear(84, 10)

run.py starts :func:`run` in a process of its own with every thread pool at one thread
(``--only W7``). Before timing, the first step's gradients are checked against PyTorch's and
the jitted steps against the eager ones, bit for bit. Each round times ``repeats`` steps of
each implementation in turn; a round's ratio is the ratio of its two medians, and the figure
is the median of the rounds' ratios. Without torch, the PyTorch column is missing.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F

BATCH = 128
LR = 0.1
DTYPE = np.float32


def tg_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(), nn.Linear(84, 10))


def torch_model():
    from torch import nn as tnn

    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5), tnn.BatchNorm2d(6), tnn.Sigmoid(), tnn.AvgPool2d(2, 2),
        tnn.Conv2d(6, 16, 5), tnn.BatchNorm2d(16), tnn.Sigmoid(), tnn.AvgPool2d(2, 2),
        tnn.Flatten(), tnn.Linear(256, 120), tnn.BatchNorm1d(120), tnn.Sigmoid(),
        tnn.Linear(120, 84), tnn.BatchNorm1d(84), tnn.Sigmoid(), tnn.Linear(84, 10))


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def initial_state() -> dict[str, np.ndarray]:
    """PyTorch's initial weights (seed 0) when torch is installed, else tinygrad_reg's."""
    if has_torch():
        import torch

        torch.manual_seed(0)
        return {k: v.detach().numpy().copy() for k, v in torch_model().state_dict().items()}
    tg.manual_seed(0)
    return {k: np.array(v) for k, v in tg_model().state_dict().items()}


def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, 1, 28, 28)).astype(DTYPE), rng.integers(0, 10, BATCH)


class TinygradStep:
    def __init__(self, state: dict, X: np.ndarray, labels: np.ndarray) -> None:
        self.model = tg_model()
        self.model.load_state_dict({k: np.array(v) for k, v in state.items()})
        self.opt = tg.optim.SGD(self.model.parameters(), lr=LR)
        self.X, self.y = tg.tensor(X), tg.tensor(labels)

    def step(self, x, y):
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def __call__(self):
        return self.step(self.X, self.y)


class TinygradJitStep(TinygradStep):
    """The same step as a ``tg.jit`` function (traced on its first two calls)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.jitted = tg.jit(self.step)

    def __call__(self):
        return self.jitted(self.X, self.y)


class TorchStep:
    def __init__(self, state: dict, X: np.ndarray, labels: np.ndarray) -> None:
        import torch

        self.torch = torch
        self.model = torch_model()
        self.model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(labels)

    def __call__(self):
        self.opt.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        self.opt.step()
        return loss


def check(state: dict, X: np.ndarray, labels: np.ndarray) -> None:
    """Three jitted steps bit for bit the eager ones; the first step's gradients and loss
    as PyTorch's (float32 tolerances, relative to the largest gradient)."""
    eager, jitted = TinygradStep(state, X, labels), TinygradJitStep(state, X, labels)
    for _ in range(3):
        assert eager().numpy().tobytes() == jitted().numpy().tobytes()
    for p, q in zip(eager.model.parameters(), jitted.model.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()
    if not has_torch():
        return
    ours, theirs = TinygradStep(state, X, labels), TorchStep(state, X, labels)
    a, b = float(ours().item()), float(theirs().item())
    assert abs(a - b) <= 1e-5 * abs(b), (a, b)
    grads = [p.grad.numpy() for p in ours.model.parameters()]
    ref = [p.grad.numpy() for p in theirs.model.parameters()]
    scale = max(np.abs(g).max() for g in ref)
    for g, r in zip(grads, ref):
        np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-5 * scale)


def run(quick: bool = False, rounds: int = 6) -> dict:
    """Median times (ms) and the ratios, per round and their medians."""
    state = initial_state()
    X, labels = batch()
    check(state, X, labels)
    impls = {"tinygrad_reg": TinygradStep(state, X, labels),
             "jit": TinygradJitStep(state, X, labels)}
    if has_torch():
        import torch

        impls["torch"] = TorchStep(state, X, labels)
    repeats = 10 if quick else 30
    for _ in range(3):  # warm-up (and the jit's two traces)
        for fn in impls.values():
            fn()
    per_round = []
    for _ in range(rounds):
        times: dict[str, list[float]] = {k: [] for k in impls}
        for _ in range(repeats):
            for k, fn in impls.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        per_round.append({k: statistics.median(v) * 1e3 for k, v in times.items()})
    out = {"workload": "W7 BN-LeNet SGD step f32 b128", "unit": "ms", "rounds": rounds,
           "repeats": repeats, "per_round": per_round,
           **{k: statistics.median(r[k] for r in per_round) for k in impls},
           "jit_vs_eager": statistics.median(r["jit"] / r["tinygrad_reg"] for r in per_round),
           "targets": {"eager_vs_torch": 1.3, "jit_vs_torch": 1.0}}
    if "torch" in impls:
        out["torch_version"] = torch.__version__
        out["threads"] = torch.get_num_threads()
        for key, impl in (("eager_vs_torch", "tinygrad_reg"), ("jit_vs_torch", "jit")):
            ratios = [r[impl] / r["torch"] for r in per_round]
            out[key] = statistics.median(ratios)
            out[key + "_rounds"] = ratios
    return out


def main() -> None:
    import sys

    r = run("--quick" in sys.argv)
    for i, t in enumerate(r["per_round"]):
        line = f"round {i + 1}: eager {t['tinygrad_reg']:.2f} ms, jitted {t['jit']:.2f} ms"
        if "torch" in t:
            line += (f", PyTorch {t['torch']:.2f} ms: eager/torch "
                     f"{t['tinygrad_reg'] / t['torch']:.2f}x, jitted/torch "
                     f"{t['jit'] / t['torch']:.2f}x")
        print(line)


if __name__ == "__main__":
    main()
