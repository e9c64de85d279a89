"""Optional PyTorch columns: W1, W2, W3 and W5 with PyTorch eager, beside tinygrad_reg and the
numpy reference, all three interleaved in one process with every thread pool at ONE thread
(at 2 threads PyTorch's OpenMP pool and numpy's OpenBLAS pool fight over 2 cores).

run.py starts this module in its own process only when torch is importable; PyTorch is never
a dependency. Set the thread variables before numpy and torch are imported:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -c "import torch_bench; torch_bench.main()"
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import cnn
import mlp
import numpy as np
import overhead
import seed_epoch as se
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


class TorchEpoch:
    """W1 in PyTorch: the same weights, shuffles and dropout masks (drawn with numpy, as the
    other two implementations draw them), F.linear, BCE-with-logits, the L2 term, SGD."""

    def __init__(self, X, y, weights) -> None:
        self.X, self.y = X, y
        self.dropout_rng = np.random.default_rng(se.DROPOUT_SEED)
        self.shuffle_rng = np.random.default_rng(se.SHUFFLE_SEED)
        self.W = [torch.tensor(w, requires_grad=True) for w, _ in weights]
        self.b = [torch.tensor(b, requires_grad=True) for _, b in weights]
        self.opt = torch.optim.SGD(self.W + self.b, lr=se.LR)

    def loss(self, Xb, yb):
        A = torch.from_numpy(Xb)
        for i in range(len(self.W) - 1):
            A = torch.relu(F.linear(A, self.W[i], self.b[i]))
            D = torch.from_numpy(self.dropout_rng.random(tuple(A.shape), dtype=np.float32)
                                 < se.KEEP)
            A = A * D / se.KEEP
        z = F.linear(A, self.W[-1], self.b[-1])
        m = Xb.shape[0]
        l2 = sum((w * w).sum() for w in self.W)
        return F.binary_cross_entropy_with_logits(z, torch.from_numpy(yb)) + se.LAM / (2 * m) * l2

    def epoch(self) -> float:
        n = self.X.shape[0]
        order = self.shuffle_rng.permutation(n)
        total = 0.0
        for start in range(0, n, se.BATCH):
            idx = order[start:start + se.BATCH]
            self.opt.zero_grad()
            loss = self.loss(np.take(self.X, idx, axis=0), np.take(self.y, idx, axis=0))
            loss.backward()
            self.opt.step()
            total += loss.item()
        return total

    def weights(self) -> list[np.ndarray]:
        return [a.detach().numpy() for w, b in zip(self.W, self.b) for a in (w, b)]


def torch_chain(x0: np.ndarray, c: np.ndarray) -> np.ndarray:
    x = torch.tensor(x0, requires_grad=True)
    ct = torch.from_numpy(c)
    y = x
    for i in range(overhead.N_OPS):
        k = i % 3
        y = y + ct if k == 0 else (y * ct if k == 1 else torch.tanh(y))
    y.backward(torch.ones_like(y))
    return x.grad.numpy()


class TorchMLPStep:
    def __init__(self, X, labels, weights) -> None:
        self.X, self.labels = torch.from_numpy(X), torch.from_numpy(labels)
        self.W = [torch.tensor(w, requires_grad=True) for w, _ in weights]
        self.b = [torch.tensor(b, requires_grad=True) for _, b in weights]
        self.opt = torch.optim.SGD(self.W + self.b, lr=mlp.LR)

    def __call__(self) -> None:
        self.opt.zero_grad()
        A = self.X
        for i in range(len(self.W)):
            A = F.linear(A, self.W[i], self.b[i])
            if i < len(self.W) - 1:
                A = torch.relu(A)
        F.cross_entropy(A, self.labels).backward()
        self.opt.step()


def _time(fns: dict, repeats: int, warmup: int) -> dict:
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def run(quick: bool) -> dict:
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": {}}
    for dtype in (np.float64, np.float32):
        X, y = se.load_data(dtype)
        w = se.init_weights(dtype)
        impls = {"tinygrad_reg": se.TinygradEpoch(X, y, w), "numpy": se.NumpyEpoch(X, y, w),
                 "torch": TorchEpoch(X, y, w), "jit": se.TinygradJitEpoch(X, y, w)}
        sums = {k: r.epoch() for k, r in impls.items()}  # parity after one epoch
        tol = 1e-10 if dtype is np.float64 else 2e-3
        np.testing.assert_allclose(sums["torch"], sums["numpy"], rtol=tol)
        for a, b in zip(impls["torch"].weights(), impls["numpy"].weights()):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())
        res = _time({k: r.epoch for k, r in impls.items()}, 3 if quick else 10, 1)
        out["rows"][f"W1 seed epoch {np.dtype(dtype).name} (ms)"] = {k: v * 1e3
                                                                      for k, v in res.items()}
    for size in (32, 1):
        rng = np.random.default_rng(0)
        x0 = rng.standard_normal((size, size))
        c = rng.uniform(0.5, 1.0, (size, size))
        np.testing.assert_allclose(torch_chain(x0, c), overhead.numpy_chain(x0, c), rtol=1e-12)
        res = _time({"tinygrad_reg": lambda x0=x0, c=c: overhead.tg_chain(x0, c),
                     "numpy": lambda x0=x0, c=c: overhead.numpy_chain(x0, c),
                     "torch": lambda x0=x0, c=c: torch_chain(x0, c)}, 50 if quick else 300, 10)
        out["rows"][f"W2 op chain {size}x{size} (us/op)"] = {k: v * 1e6 / overhead.N_OPS
                                                             for k, v in res.items()}
    setup = mlp.setup()
    res = _time({"tinygrad_reg": mlp.TinygradStep(*setup), "numpy": mlp.NumpyStep(*setup),
                 "torch": TorchMLPStep(*setup), "gemm": mlp.GemmFloor(*setup)},
                3 if quick else 10, 2)
    out["rows"]["W3 MLP step f32 (ms)"] = {k: v * 1e3 for k, v in res.items()}
    for net in cnn.NETS:
        cnn.check_parity(net, torch_too=True)
        res = _time({"tinygrad_reg": cnn.TinygradStep(net), "torch": cnn.TorchStep(net),
                     "gemm": cnn.GemmFloor(net), "jit": cnn.TinygradJitStep(net)},
                    10 if quick else 40, 3)
        # no hand-written numpy CNN: the numpy column is the GEMM floor
        out["rows"][f"W5 {net} CNN step f32 (ms)"] = {"numpy": res["gemm"] * 1e3,
                                                      **{k: v * 1e3 for k, v in res.items()}}
    return out


def main() -> None:
    print(json.dumps(run("--quick" in sys.argv)))


if __name__ == "__main__":
    main()
