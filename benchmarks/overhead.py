"""Per-op overhead: a chain of 100 elementwise ops (alternating add, mul, tanh), forward and
backward, in microseconds per op, beside numpy doing the same forward and a hand-written
backward in the same process.

    python benchmarks/overhead.py [--size 32] [--repeats 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tinygrad_reg as tg

N_OPS = 100


def numpy_chain(x0: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Forward and hand-written backward of the chain; returns d(sum)/dx0."""
    xs, kinds = [x0], []
    x = x0
    for i in range(N_OPS):
        k = i % 3
        kinds.append(k)
        if k == 0:
            x = x + c
        elif k == 1:
            x = x * c
        else:
            x = np.tanh(x)
        xs.append(x)
    g = np.ones_like(x)
    for i in reversed(range(N_OPS)):
        k = kinds[i]
        if k == 1:
            g = g * c
        elif k == 2:
            y = xs[i + 1]
            g = g * (1.0 - y * y)
    return g


def tg_chain(x0: np.ndarray, c: np.ndarray) -> np.ndarray:
    x = tg.Tensor(x0, requires_grad=True)
    ct = tg.Tensor(c)
    y = x
    for i in range(N_OPS):
        k = i % 3
        if k == 0:
            y = y + ct
        elif k == 1:
            y = y * ct
        else:
            y = y.tanh()
    y.backward(tg.Tensor(np.ones_like(y.numpy())))
    return x.grad.numpy()


def _chain_step(x, ct):
    y = x
    for i in range(N_OPS):
        k = i % 3
        if k == 0:
            y = y + ct
        elif k == 1:
            y = y * ct
        else:
            y = y.tanh()
    y.backward(tg.ones_like(y))
    return x.grad


_jitted = tg.jit(_chain_step)


def tg_chain_jit(x0: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The same chain as a ``tg.jit`` function (traced on its first two calls per shape)."""
    return _jitted(tg.Tensor(x0, requires_grad=True), tg.Tensor(c)).numpy()


def tg_chain_anomaly(x0: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The same chain inside ``tg.detect_anomaly()`` (every op's site recorded and every
    result scanned for NaN/inf)."""
    with tg.detect_anomaly():
        return tg_chain(x0, c)


def bench(fn, *args, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return times


def run(size: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((size, size))
    c = rng.uniform(0.5, 1.0, (size, size))
    np.testing.assert_allclose(tg_chain(x0, c), numpy_chain(x0, c), rtol=1e-12, atol=1e-14)
    for _ in range(10):  # warm-up
        tg_chain(x0, c)
        numpy_chain(x0, c)
    t_tg, t_np = [], []
    for _ in range(repeats):  # interleave so both see the same machine state
        t_tg += bench(tg_chain, x0, c, repeats=1)
        t_np += bench(numpy_chain, x0, c, repeats=1)
    us = 1e6 / N_OPS
    return {"size": size, "tinygrad_reg_us_per_op": statistics.median(t_tg) * us,
            "numpy_us_per_op": statistics.median(t_np) * us}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, nargs="*", default=[32, 1])
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    for size in args.size:
        r = run(size, args.repeats)
        print(f"{size}x{size} float64: tinygrad_reg {r['tinygrad_reg_us_per_op']:.2f} us/op, "
              f"numpy by hand {r['numpy_us_per_op']:.2f} us/op, "
              f"ratio {r['tinygrad_reg_us_per_op'] / r['numpy_us_per_op']:.2f}x")


if __name__ == "__main__":
    main()
