"""W1: one epoch of the tutorial's experiment, in tinygrad_reg and in hand-written numpy.

make_classification(10000, 200, random_state=123) (or random data of that shape without
scikit-learn), first 8000 rows; network [200, 100, 20, 1] ReLU/ReLU with BCE-with-logits;
minibatch 200 (40 steps), SGD lr 0.05, the L2 penalty λ/(2m)·ΣW² (λ = 1, m = 200), dropout
keep_prob 0.8 on both hidden layers. Both implementations compute the same function: the
same initial weights, the same shuffle and the same dropout masks (drawn in the same order
from identically seeded generators), which :func:`check_parity` verifies.

Also W4's measurements: peak resident-memory growth during one epoch (run in a fresh process
per implementation by run.py) and the memory one forward graph holds before backward.
"""

from __future__ import annotations

import ctypes
import gc
import resource
import tracemalloc

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn, optim
from tinygrad_reg.data import batches
from tinygrad_reg.nn.functional import binary_cross_entropy_with_logits
from tinygrad_reg.regularization import l2_penalty

LAYERS = [200, 100, 20, 1]
N_TRAIN, BATCH, LR, LAM, KEEP = 8000, 200, 0.05, 1.0, 0.8
SHUFFLE_SEED, DROPOUT_SEED, INIT_SEED = 1, 2, 3


def load_data(dtype) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's training rows, X (8000, 200) and y (8000, 1), in ``dtype``."""
    try:
        from sklearn.datasets import make_classification
        X, y = make_classification(n_samples=10000, n_features=200, random_state=123)
    except ImportError:  # same shapes, no scikit-learn
        rng = np.random.default_rng(123)
        X = rng.standard_normal((10000, 200))
        y = (X[:, :10].sum(axis=1) > 0).astype(np.int64)
    X = np.ascontiguousarray(X[:N_TRAIN], dtype=dtype)
    y = np.ascontiguousarray(y[:N_TRAIN].reshape(-1, 1), dtype=dtype)
    return X, y


def init_weights(dtype) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-normal weights (out, in) and zero biases, shared by both implementations."""
    rng = np.random.default_rng(INIT_SEED)
    return [((rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(dtype),
             np.zeros(n_out, dtype=dtype)) for n_in, n_out in zip(LAYERS, LAYERS[1:])]


# -- tinygrad_reg --------------------------------------------------------------------------

class TinygradEpoch:
    """The framework's way: Sequential, a loss plus l2_penalty, backward, SGD."""

    def __init__(self, X, y, weights) -> None:
        self.X, self.y = X, y
        self.dropout_rng = np.random.default_rng(DROPOUT_SEED)
        self.shuffle_rng = np.random.default_rng(SHUFFLE_SEED)
        layers = []
        for i, (w, b) in enumerate(weights):
            lin = nn.Linear(w.shape[1], w.shape[0], dtype=w.dtype)
            lin.weight.data[...] = w
            lin.bias.data[...] = b
            layers.append(lin)
            if i < len(weights) - 1:
                layers += [nn.ReLU(), nn.Dropout(keep_prob=KEEP, generator=self.dropout_rng)]
        self.model = nn.Sequential(*layers)
        self.opt = optim.SGD(self.model, lr=LR)

    def loss(self, Xb, yb):
        logits = self.model(tg.Tensor(Xb))
        return binary_cross_entropy_with_logits(logits, yb) + l2_penalty(self.model,
                                                                         LAM / len(Xb))

    def epoch(self) -> float:
        total = 0.0
        for Xb, yb in batches(self.X, self.y, BATCH, generator=self.shuffle_rng):
            self.opt.zero_grad()
            loss = self.loss(Xb, yb)
            loss.backward()
            self.opt.step()
            total += loss.item()
        return total

    def weights(self) -> list[np.ndarray]:
        return [p.numpy() for p in self.model.parameters()]


class TinygradJitEpoch(TinygradEpoch):
    """The same step written as a function and compiled with ``tg.jit``: the first two calls
    trace it, the rest replay its kernels."""

    def __init__(self, X, y, weights) -> None:
        super().__init__(X, y, weights)
        self.step = tg.jit(self._step)

    def _step(self, Xb, yb):
        self.opt.zero_grad()
        loss = self.loss(Xb, yb)
        loss.backward()
        self.opt.step()
        return loss

    def loss(self, Xb, yb):
        X = Xb if isinstance(Xb, tg.Tensor) else tg.Tensor(Xb)
        logits = self.model(X)
        return binary_cross_entropy_with_logits(logits, yb) + l2_penalty(self.model,
                                                                         LAM / X.shape[0])

    def epoch(self) -> float:
        total = 0.0
        for Xb, yb in batches(self.X, self.y, BATCH, generator=self.shuffle_rng):
            total += self.step(tg.Tensor(Xb), tg.Tensor(yb)).item()
        return total


# -- hand-written numpy --------------------------------------------------------------------

class NumpyEpoch:
    """The tutorial's way, in the row convention (X is (m, features), Z = A @ W.T + b):
    forward caching Z/A/D, the hand-derived backward, the SGD update."""

    def __init__(self, X, y, weights) -> None:
        self.X, self.y = X, y
        self.dropout_rng = np.random.default_rng(DROPOUT_SEED)
        self.shuffle_rng = np.random.default_rng(SHUFFLE_SEED)
        self.W = [w.copy() for w, _ in weights]
        self.b = [b.copy() for _, b in weights]

    def forward(self, X, y):
        """The loss, and the cache backward needs."""
        W, b, L = self.W, self.b, len(self.W)
        A, cache = X, []
        for i in range(L - 1):
            Z = A @ W[i].T + b[i]
            A_prev = A
            A = np.maximum(Z, 0)
            D = self.dropout_rng.random(A.shape, dtype=np.float32) < KEEP
            A = A * D / KEEP
            cache.append((A_prev, Z, D))
        z = A @ W[-1].T + b[-1]
        cache.append((A, z, None))
        m = X.shape[0]
        bce = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        l2 = sum(np.sum(w * w) for w in W)
        loss = bce.mean() + LAM / (2 * m) * l2
        return loss, cache

    def backward(self, y, cache):
        """dW, db per layer: dZ = (σ(z) - y)/m at the top, then through dropout and ReLU."""
        W, L = self.W, len(self.W)
        m = y.shape[0]
        A_prev, z, _ = cache[-1]
        e = np.exp(-np.abs(z))
        sig = np.where(z >= 0, 1.0, e) / (1.0 + e)
        dZ = (sig - y) / m
        grads = [None] * L
        for i in reversed(range(L)):
            A_prev, Z, _ = cache[i]
            grads[i] = (dZ.T @ A_prev + (LAM / m) * W[i], dZ.sum(axis=0))
            if i > 0:
                _, Zp, Dp = cache[i - 1]
                dA = dZ @ W[i]
                dA = dA * Dp / KEEP
                dZ = dA * (Zp > 0)
        return grads

    def step(self, X, y) -> float:
        loss, cache = self.forward(X, y)
        grads = self.backward(y, cache)
        for i, (dW, db) in enumerate(grads):
            self.W[i] -= LR * dW
            self.b[i] -= LR * db
        return loss

    def epoch(self) -> float:
        n = self.X.shape[0]
        order = self.shuffle_rng.permutation(n)
        total = 0.0
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            total += float(self.step(np.take(self.X, idx, axis=0), np.take(self.y, idx, axis=0)))
        return total

    def weights(self) -> list[np.ndarray]:
        return [a for w, b in zip(self.W, self.b) for a in (w, b)]


class NumpyPreallocEpoch(NumpyEpoch):
    """The same step written as a careful numpy programmer would for speed: every array the
    step computes goes into a buffer allocated once and reused (``out=``, in-place updates),
    so no step allocates. The reference for what preallocation alone is worth."""

    def __init__(self, X, y, weights) -> None:
        super().__init__(X, y, weights)
        self.buf: dict = {}

    def _b(self, key, shape, dtype) -> np.ndarray:
        b = self.buf.get(key)
        if b is None:
            b = self.buf[key] = np.empty(shape, dtype)
        return b

    def step(self, X, y) -> float:
        W, b, L, B = self.W, self.b, len(self.W), self._b
        m, dt = X.shape[0], X.dtype
        A, cache = X, []
        for i in range(L - 1):
            Z = B(("Z", i), (m, W[i].shape[0]), dt)
            np.matmul(A, W[i].T, out=Z)
            Z += b[i]
            Ar = B(("A", i), Z.shape, dt)
            np.maximum(Z, 0, out=Ar)
            D = self.dropout_rng.random(Ar.shape, dtype=np.float32) < KEEP
            np.multiply(Ar, D, out=Ar)
            Ar /= KEEP
            cache.append((A, Z, D))
            A = Ar
        z = B("z", (m, 1), dt)
        np.matmul(A, W[-1].T, out=z)
        z += b[-1]
        cache.append((A, z, None))
        bce = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        loss = bce.mean() + LAM / (2 * m) * sum(np.vdot(w, w) for w in W)
        e = np.exp(-np.abs(z))
        dZ = (np.where(z >= 0, 1.0, e) / (1.0 + e) - y) / m
        for i in reversed(range(L)):
            A_prev, Z, _ = cache[i]
            dW, t = B(("dW", i), W[i].shape, dt), B(("t", i), W[i].shape, dt)
            np.matmul(dZ.T, A_prev, out=dW)
            np.multiply(W[i], LAM / m, out=t)
            dW += t
            db = dZ.sum(axis=0)
            if i > 0:
                _, Zp, Dp = cache[i - 1]
                dA = B(("dA", i), Zp.shape, dt)
                np.matmul(dZ, W[i], out=dA)
                np.multiply(dA, Dp, out=dA)
                dA /= KEEP
                dA *= Zp > 0
                dZ = dA
            np.multiply(dW, LR, out=t)
            W[i] -= t
            b[i] -= LR * db
        return loss


def make(impl: str, dtype):
    X, y = load_data(dtype)
    cls = {"tinygrad_reg": TinygradEpoch, "numpy": NumpyEpoch, "jit": TinygradJitEpoch,
           "numpy_prealloc": NumpyPreallocEpoch}[impl]
    return cls(X, y, init_weights(dtype))


def check_parity(dtype) -> dict:
    """Same loss and gradients on the first batch, same weights after one epoch."""
    tol = {np.float64: 1e-10, np.float32: 2e-4}[np.dtype(dtype).type]
    t, n = make("tinygrad_reg", dtype), make("numpy", dtype)
    Xb, yb = t.X[:BATCH], t.y[:BATCH]
    loss_t = t.loss(Xb, yb)
    loss_t.backward()
    loss_n, cache = n.forward(Xb, yb)
    grads_n = [a for dW, db in n.backward(yb, cache) for a in (dW, db)]
    np.testing.assert_allclose(loss_t.item(), loss_n, rtol=tol)
    for p, g in zip(t.model.parameters(), grads_n):
        assert p.grad.numpy().dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=tol, atol=tol * np.abs(g).max())
    for impl in ("tinygrad_reg", "jit", "numpy_prealloc"):  # (jit: 38 of 40 steps replayed)
        t, n = make(impl, dtype), make("numpy", dtype)
        total_t, total_n = t.epoch(), n.epoch()
        np.testing.assert_allclose(total_t, total_n, rtol=tol * 10)
        for a, b in zip(t.weights(), n.weights()):
            assert a.dtype == np.dtype(dtype)
            np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10 * np.abs(b).max())
    return {"loss_first_batch": float(loss_n), "epoch_loss_sum": float(total_n)}


# -- W4 ------------------------------------------------------------------------------------

def _peak_rss_kib() -> int:
    """The process's peak resident set (VmHWM), in KiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _current_rss_kib() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _release_free_heap() -> None:
    """Hand freed heap memory back to the OS (glibc), so that setup's garbage (the data set's
    temporaries) does not hide the epoch's own growth. Measurement only: a fresh process."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_growth(impl: str, dtype) -> dict:
    """Peak RSS growth (KiB) over one epoch, after setup; meant for a fresh process."""
    runner = make(impl, dtype)
    gc.collect()
    _release_free_heap()
    reset = _reset_peak_rss()
    before = _current_rss_kib() if reset else _peak_rss_kib()
    runner.epoch()
    return {"peak_growth_kib": _peak_rss_kib() - before, "hwm_reset": reset}


def graph_bytes(impl: str, dtype) -> int:
    """Bytes allocated (and still held) by one forward pass on one batch, before backward:
    what the graph (or the numpy cache) keeps for backward, plus the loss."""
    runner = make(impl, dtype)
    Xb, yb = runner.X[:BATCH].copy(), runner.y[:BATCH].copy()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        if impl == "numpy":
            held = runner.forward(Xb, yb)
        else:
            held = runner.loss(Xb, yb)
        gc.collect()
        size = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    del held
    return size
