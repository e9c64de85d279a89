"""W6: one training step of a 2-layer LSTM (``nn.LSTM(8, 64, num_layers=2)``, sequences of 30
steps, batch 32, float32): forward, the mean squared error of every output against a fixed
target, backward and an Adam step; in tinygrad_reg (each time step of each layer one fused
``LSTMStep`` node), as a ``tg.jit`` function, and in PyTorch eager with the same initial
weights (PyTorch's weights copied in) when torch is importable.

:func:`measure` interleaves them at one thread in the process it runs in (run.py starts it in
a process of its own with every thread pool at one thread, as the PyTorch table): the target
is a tinygrad_reg step within 1.5x PyTorch's time. Before timing, every gradient of the first
step is checked against float64 tinygrad_reg, and against PyTorch's when it is there.
"""

from __future__ import annotations

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn, optim
from tinygrad_reg.nn import functional as F

SEQ, BATCH, INPUTS, HIDDEN, LAYERS = 30, 32, 8, 64, 2
DTYPE = np.float32
LR = 1e-3


def setup() -> tuple:
    """Inputs (T, N, I), the target (T, N, H) and the model whose weights every
    implementation starts from."""
    tg.manual_seed(0)
    model = nn.LSTM(INPUTS, HIDDEN, num_layers=LAYERS)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((SEQ, BATCH, INPUTS)).astype(DTYPE)
    target = (0.5 * rng.standard_normal((SEQ, BATCH, HIDDEN))).astype(DTYPE)
    return X, target, model


class TinygradStep:
    def __init__(self) -> None:
        X, target, self.model = setup()
        self.X, self.target = tg.tensor(X), tg.tensor(target)
        self.opt = optim.Adam(self.model.parameters(), lr=LR)

    def loss(self, x, target):
        return F.mse_loss(self.model(x)[0], target)

    def __call__(self):
        self.opt.zero_grad()
        loss = self.loss(self.X, self.target)
        loss.backward()
        self.opt.step()
        return loss

    def grads(self) -> list[np.ndarray]:
        self.opt.zero_grad()
        self.loss(self.X, self.target).backward()
        return [p.grad.numpy() for p in self.model.parameters()]


class TinygradJitStep(TinygradStep):
    """The same step compiled with ``tg.jit`` (traced on its first two calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.step = tg.jit(self._step)

    def _step(self, x, target):
        self.opt.zero_grad()
        loss = self.loss(x, target)
        loss.backward()
        self.opt.step()
        return loss

    def __call__(self):
        return self.step(self.X, self.target)


class TorchStep:
    """The same step in PyTorch eager, its weights copied from tinygrad_reg's model (torch is
    imported here only; it is never a dependency)."""

    def __init__(self) -> None:
        import torch

        X, target, model = setup()
        self.torch = torch
        self.model = torch.nn.LSTM(INPUTS, HIDDEN, num_layers=LAYERS)
        self.model.load_state_dict({k: torch.from_numpy(np.array(v))
                                    for k, v in model.state_dict().items()})
        self.X, self.target = torch.from_numpy(X), torch.from_numpy(target)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)

    def _loss(self):
        return self.torch.nn.functional.mse_loss(self.model(self.X)[0], self.target)

    def __call__(self) -> None:
        self.opt.zero_grad()
        loss = self._loss()
        loss.backward()
        self.opt.step()

    def grads(self) -> list[np.ndarray]:
        self.opt.zero_grad()
        self._loss().backward()
        return [p.grad.numpy() for p in self.model.parameters()]


def check_parity(torch_too: bool = False) -> None:
    """Every gradient of the first step in float32 against float64 tinygrad_reg (and against
    PyTorch's when asked), and the jitted step's first losses against the eager ones."""
    ref_step = TinygradStep()
    ref_step.model.double()
    ref_step.X, ref_step.target = ref_step.X.double(), ref_step.target.double()
    ref = ref_step.grads()
    scale = max(np.abs(g).max() for g in ref)
    others = [TinygradStep().grads()] + ([TorchStep().grads()] if torch_too else [])
    for other in others:
        for a, b in zip(other, ref):
            assert a.dtype == DTYPE and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * scale)
    eager, jitted = TinygradStep(), TinygradJitStep()
    for _ in range(4):
        np.testing.assert_allclose(jitted().item(), eager().item(), rtol=1e-5)


def measure(quick: bool) -> dict:
    """The W6 row: the steps interleaved in this process (run.py runs it with every thread
    pool at one thread); the ratio is tinygrad_reg / PyTorch, paired by round."""
    from run import interleave, paired, paired_quartiles

    try:
        import torch  # noqa: F401
    except ImportError:
        torch_too = False
    else:
        torch_too = True
        torch.set_num_threads(1)
    check_parity(torch_too)
    fns = {"tinygrad_reg": TinygradStep(), "jit": TinygradJitStep()}
    if torch_too:
        fns["torch"] = TorchStep()
    res = interleave(fns, repeats=5 if quick else 40, warmup=2 if quick else 5)
    row = {"workload": "W6 LSTM step f32 b32 T30", "unit": "ms", "scale": 1e3,
           "tinygrad_reg": res["tinygrad_reg"], "jit": res["jit"], "vs": "PyTorch",
           "threads": 1, "target": 1.5,
           "shape": {"seq": SEQ, "batch": BATCH, "inputs": INPUTS, "hidden": HIDDEN,
                     "layers": LAYERS}}
    if torch_too:
        row.update({"torch": res["torch"], "torch_version": torch.__version__,
                    "ratio": paired(res, "tinygrad_reg", "torch"),
                    "ratio_quartiles": paired_quartiles(res, "tinygrad_reg", "torch"),
                    "jit_ratio": paired(res, "jit", "torch")})
    return row


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure("--quick" in sys.argv), default=float))
