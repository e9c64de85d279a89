"""W5: one training step of two small CNNs (batch 64, float32), beside the floor: the time of
the step's matrix products alone, at the shapes the convolutions and linear layers need when
they are computed as im2col GEMMs (forward, weight gradient, input gradient but for the first
layer), into preallocated outputs.

- ``digits``: the CNN of examples/digits_cnn.py on 1×8×8 images: Conv2d(1, 16, 3, padding=1)
  → BatchNorm2d → ReLU → MaxPool2d(2) → Flatten → Dropout(0.25) → Linear(256, 10); Adam.
- ``lenet``: LeNet-5 on 1×28×28 images: Conv2d(1, 6, 5, padding=2) → ReLU → MaxPool2d(2) →
  Conv2d(6, 16, 5) → ReLU → MaxPool2d(2) → Flatten → Linear(400, 120) → ReLU → Linear(120, 84)
  → ReLU → Linear(84, 10); SGD with momentum 0.9.

Both take cross-entropy on random labels. When torch is importable, :class:`TorchStep` runs
the same network with the same initial weights (run.py times it in a process with every
thread pool at one thread, beside tinygrad_reg and the floor).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F

BATCH = 64
DTYPE = np.float32
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _example_model() -> nn.Module:
    spec = importlib.util.spec_from_file_location("digits_cnn",
                                                  os.path.join(EXAMPLES, "digits_cnn.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_model()


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


NETS = {"digits": (_example_model, (1, 8, 8)), "lenet": (lenet, (1, 28, 28))}


def setup(net: str) -> tuple:
    """Inputs, labels and the model (its weights are the reference for every implementation)."""
    build, shape = NETS[net]
    tg.manual_seed(0)
    model = build()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, *shape)).astype(DTYPE)
    labels = rng.integers(0, 10, BATCH)
    return X, labels, model


def _optimizer(net: str, params, lib) -> object:
    if net == "digits":
        return lib.optim.Adam(params, lr=0.01)
    return lib.optim.SGD(params, lr=0.01, momentum=0.9)


class TinygradStep:
    def __init__(self, net: str) -> None:
        X, labels, self.model = setup(net)
        self.X, self.y = tg.tensor(X), tg.tensor(labels)
        self.opt = _optimizer(net, self.model.parameters(), tg)

    def __call__(self) -> float:
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def grads(self) -> list[np.ndarray]:
        self.opt.zero_grad()
        F.cross_entropy(self.model(self.X), self.y).backward()
        return [p.grad.numpy() for p in self.model.parameters()]


class TinygradJitStep(TinygradStep):
    """The same step compiled with ``tg.jit`` (traced on its first two calls)."""

    def __init__(self, net: str) -> None:
        super().__init__(net)
        self.step = tg.jit(self._step)

    def _step(self, x, y):
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def __call__(self) -> float:
        return self.step(self.X, self.y)


def gemm_shapes(net: str) -> list[tuple[int, int, int]]:
    """(m, k, n) of every product of one step: per layer the forward, the weight gradient and
    (but for the first layer) the input gradient, a convolution as its im2col GEMM."""
    X, _, model = setup(net)
    shapes = []
    x = tg.tensor(X)
    first = True
    with tg.no_grad():
        for layer in model:
            if isinstance(layer, nn.Conv2d):
                y = layer(x)
                o, c, kh, kw = layer.weight.shape
                k, cols = c * kh * kw, y.shape[0] * y.shape[2] * y.shape[3]
                shapes += [(o, k, cols), (o, cols, k)] + ([] if first else [(k, o, cols)])
                first = False
            elif isinstance(layer, nn.Linear):
                y = layer(x)
                o, i = layer.weight.shape
                shapes += [(BATCH, i, o), (o, BATCH, i)] + ([] if first else [(BATCH, o, i)])
                first = False
            else:
                y = layer(x)
            x = y
    return shapes


class GemmFloor:
    """The step's matrix products alone, into preallocated outputs."""

    def __init__(self, net: str) -> None:
        rng = np.random.default_rng(1)
        self.ops = [(rng.standard_normal((m, k)).astype(DTYPE),
                     rng.standard_normal((k, n)).astype(DTYPE), np.empty((m, n), DTYPE))
                    for m, k, n in gemm_shapes(net)]

    def __call__(self) -> None:
        for a, b, out in self.ops:
            np.matmul(a, b, out=out)


def flops(net: str) -> int:
    return sum(2 * m * k * n for m, k, n in gemm_shapes(net))


class TorchStep:
    """The same network in PyTorch eager with the same initial weights (torch imported here
    only; it is never a dependency)."""

    def __init__(self, net: str) -> None:
        import torch

        X, labels, model = setup(net)
        self.torch = torch
        self.model = _torch_model(net)
        state = {k: torch.from_numpy(np.array(v))
                 for k, v in model.state_dict().items()}
        self.model.load_state_dict(state)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(labels)
        self.opt = _optimizer(net, self.model.parameters(), torch)

    def __call__(self) -> None:
        self.opt.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        self.opt.step()

    def grads(self) -> list[np.ndarray]:
        self.opt.zero_grad()
        self.torch.nn.functional.cross_entropy(self.model(self.X), self.y).backward()
        return [p.grad.numpy() for p in self.model.parameters()]


def _torch_model(net: str):
    from torch import nn as tnn

    if net == "digits":
        return tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1), tnn.BatchNorm2d(16), tnn.ReLU(),
                              tnn.MaxPool2d(2), tnn.Flatten(), tnn.Dropout(0.25),
                              tnn.Linear(256, 10))
    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))


def check_parity(net: str, torch_too: bool = False) -> None:
    """Every gradient of the first step, in float32, without dropout (its masks are drawn
    differently): against float64 tinygrad_reg, and against PyTorch when asked. (The
    convolution's bias before batch norm has a gradient of exactly zero in theory, so the
    absolute tolerance is scaled by the largest gradient of the network.)"""
    def run(impl, double=False):
        step = impl(net)
        if double:
            step.model.double()
            step.X = step.X.double()
        for m in step.model.modules():
            if type(m).__name__ == "Dropout":
                m.p = 0.0
        return step.grads()

    ref = run(TinygradStep, double=True)
    scale = max(np.abs(g).max() for g in ref)
    for other in [run(TinygradStep)] + ([run(TorchStep)] if torch_too else []):
        for a, b in zip(other, ref):
            assert a.dtype == DTYPE and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * scale)


def describe(net: str) -> str:
    shapes = gemm_shapes(net)
    return f"{len(shapes)} GEMMs, {flops(net) / 1e6:.1f} MFLOP: " + ", ".join(
        f"{m}x{k}x{n}" for m, k, n in shapes)


if __name__ == "__main__":
    for name in NETS:
        check_parity(name)
        print(name, describe(name))
