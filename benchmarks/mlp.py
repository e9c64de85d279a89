"""W3: one SGD step of a BLAS-bound MLP [784, 1024, 1024, 10] (ReLU, softmax cross-entropy,
batch 512, float32), in tinygrad_reg and in hand-written numpy, beside the floor: the time of
the step's eight matrix products alone (3 forward, 3 weight gradients, 2 input gradients).
"""

from __future__ import annotations

import resource
import statistics
import time

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn, optim
from tinygrad_reg.nn.functional import cross_entropy

LAYERS = [784, 1024, 1024, 10]
BATCH, LR = 512, 0.01
DTYPE = np.float32


def flops_per_step() -> int:
    """Multiply-adds x 2 of the eight products (the first layer needs no input gradient)."""
    per_layer = [2 * BATCH * i * o for i, o in zip(LAYERS, LAYERS[1:])]
    return 3 * sum(per_layer) - per_layer[0]


def setup():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, LAYERS[0])).astype(DTYPE)
    labels = rng.integers(0, LAYERS[-1], BATCH)
    weights = [((rng.standard_normal((o, i)) * np.sqrt(2.0 / i)).astype(DTYPE),
                np.zeros(o, dtype=DTYPE)) for i, o in zip(LAYERS, LAYERS[1:])]
    return X, labels, weights


class TinygradStep:
    def __init__(self, X, labels, weights) -> None:
        self.X, self.labels = tg.Tensor(X), labels
        layers = []
        for i, (w, b) in enumerate(weights):
            lin = nn.Linear(w.shape[1], w.shape[0], dtype=DTYPE)
            lin.weight.data[...] = w
            lin.bias.data[...] = b
            layers += [lin, nn.ReLU()] if i < len(weights) - 1 else [lin]
        self.model = nn.Sequential(*layers)
        self.opt = optim.SGD(self.model, lr=LR)

    def __call__(self) -> None:
        self.opt.zero_grad()
        loss = cross_entropy(self.model(self.X), self.labels)
        loss.backward()
        self.opt.step()

    def grads(self):
        self.opt.zero_grad()
        cross_entropy(self.model(self.X), self.labels).backward()
        return [p.grad.numpy() for p in self.model.parameters()]


class NumpyStep:
    """Idiomatic hand-written numpy: out-of-place expressions, as the tutorial writes them."""

    def __init__(self, X, labels, weights) -> None:
        self.X, self.labels = X, labels
        self.W = [w.copy() for w, _ in weights]
        self.b = [b.copy() for _, b in weights]

    def grads(self):
        W, b = self.W, self.b
        n = self.X.shape[0]
        A, cache = self.X, []
        for i in range(len(W) - 1):
            Z = A @ W[i].T + b[i]
            cache.append((A, Z))
            A = np.maximum(Z, 0)
        z = A @ W[-1].T + b[-1]
        cache.append((A, z))
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        probs = e / e.sum(axis=1, keepdims=True)
        probs[np.arange(n), self.labels] -= 1.0
        dZ = probs / n
        grads = [None] * len(W)
        for i in reversed(range(len(W))):
            A_prev, _ = cache[i]
            grads[i] = (dZ.T @ A_prev, dZ.sum(axis=0))
            if i > 0:
                dZ = (dZ @ W[i]) * (cache[i - 1][1] > 0)
        return [a for dW, db in grads for a in (dW, db)]

    def __call__(self) -> None:
        g = self.grads()
        for i in range(len(self.W)):
            self.W[i] -= LR * g[2 * i]
            self.b[i] -= LR * g[2 * i + 1]


class GemmFloor:
    """The step's eight matrix products into preallocated outputs: no implementation of the
    step can be faster than this."""

    def __init__(self, X, labels, weights) -> None:
        self.X = X
        self.W = [w for w, _ in weights]
        n = X.shape[0]
        self.Z = [np.empty((n, w.shape[0]), DTYPE) for w in self.W]
        self.dW = [np.empty_like(w) for w in self.W]
        self.dA = [np.empty((n, w.shape[1]), DTYPE) for w in self.W]

    def __call__(self) -> None:
        A = self.X
        for i, w in enumerate(self.W):
            np.matmul(A, w.T, out=self.Z[i])
            A = self.Z[i]
        for i in reversed(range(len(self.W))):
            A_prev = self.X if i == 0 else self.Z[i - 1]
            np.matmul(self.Z[i].T, A_prev, out=self.dW[i])
            if i > 0:
                np.matmul(self.Z[i], self.W[i], out=self.dA[i])


def make(impl: str):
    cls = {"tinygrad_reg": TinygradStep, "numpy": NumpyStep, "gemm": GemmFloor}[impl]
    return cls(*setup())


def check_parity() -> None:
    t, n = make("tinygrad_reg"), make("numpy")
    for a, b in zip(t.grads(), n.grads()):
        assert a.dtype == DTYPE
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * np.abs(b).max())


def alone(impl: str, steps: int = 10, warmup: int = 3) -> dict:
    """One implementation by itself, as in its own fresh process: median step time and minor
    page faults per step in the steady state. (Interleaved in one process, whichever runs
    first leaves glibc's heap thresholds raised for the others, hiding their faults.)"""
    fn = make(impl)
    for _ in range(warmup):
        fn()
    times, faults = [], []
    for _ in range(steps):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "minflt": statistics.median(faults)}
