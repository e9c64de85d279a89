"""tinygrad_reg against hand-written numpy: the benchmark suite.

    python benchmarks/run.py            # the full suite; writes docs/assets/benchmarks.json
    python benchmarks/run.py [--quick] [--json out.json] [--only W1,W2,...]

W1  one epoch of the tutorial's experiment (seed_epoch.py), float64 and float32; also the
    numpy step rewritten with preallocated buffers
W2  per-op overhead: a chain of 100 ops (add, mul, tanh), forward + backward (overhead.py)
W3  one SGD step of an MLP [784, 1024, 1024, 10], float32, beside its GEMMs alone (mlp.py)
W4  peak RSS growth over one W1 epoch (a fresh process each), memory of one forward graph
W5  one training step of two small CNNs, batch 64, float32, beside their GEMMs alone (cnn.py)
W6  one training step of a 2-layer LSTM (batch 32, 30 steps, Adam), float32, beside PyTorch's,
    both at one thread in a process of their own (lstm.py)
W7  one SGD step of d2l's BN-LeNet, batch 128, float32: eager and tg.jit beside PyTorch,
    all at one thread in a process of their own, six interleaved rounds (bnlenet.py)
IMP import time of tinygrad_reg beside numpy (fresh processes)

Implementations alternate in one process (warm-up first); each figure is the median of many
repeats, with min and max. The ratio is tinygrad_reg / numpy: the median over rounds of
the two times measured in the same round.
When torch is importable, a second table runs PyTorch eager beside both, all three at one
thread in a process of their own (torch_bench.py); --no-torch skips it.

The full run (no --quick, no --only, no --no-torch) writes its figures, the machine and the
command to docs/assets/benchmarks.json, the one file docs/benchmarks.md and the other pages
quote (tests/test_docs_figures.py checks every quote against it); the suite never reruns
the benchmarks. Other runs write JSON only where --json says, except ``--only ... --into-docs``:
it measures the workloads named and replaces their rows in docs/assets/benchmarks.json (the
other rows and the PyTorch table stay), each such row recording the command and the date
that measured it (W7's figures live under their own key, "w7", replaced the same way).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS_JSON = os.path.join(os.path.dirname(HERE), "docs", "assets", "benchmarks.json")
sys.path.insert(0, HERE)

import cnn  # noqa: E402
import mlp  # noqa: E402
import overhead  # noqa: E402
import seed_epoch  # noqa: E402

import tinygrad_reg  # noqa: E402

ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TRIM_THRESHOLD_")


# -- the machine -------------------------------------------------------------------------

def machine() -> dict:
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "tinygrad_reg": tinygrad_reg.__version__, "cores": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(),
            "env": {k: os.environ[k] for k in ENV_KEYS if k in os.environ}}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "architecture",
                                                "num_threads", "threading_layer")}
                        for p in threadpool_info()]
    except ImportError:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        info["blas"] = [{"name": blas.get("name"), "version": blas.get("version"),
                         "configuration": blas.get("openblas configuration"),
                         "num_threads": "unknown (pip install threadpoolctl)"}]
    return info


def calibration() -> dict:
    """How fast this machine runs the two things the figures depend on most: one numpy ufunc
    call on a 1x1 array (Python and numpy dispatch) and np.tanh on a 32x32 float64 array
    (W2's arithmetic), in microseconds, medians of 2000 calls."""
    one, c = np.ones((1, 1)), np.ones((1, 1))
    a = np.random.default_rng(0).standard_normal((32, 32))
    res = interleave({"ufunc_1x1": lambda: np.add(one, c), "tanh_32x32": lambda: np.tanh(a)},
                     repeats=2000, warmup=200)
    return {k: v["median"] * 1e6 for k, v in res.items()}


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine may be shared)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def blas_line(info: dict) -> str:
    parts = []
    for b in info["blas"]:
        parts.append(", ".join(f"{k}={v}" for k, v in b.items() if v is not None))
    return "; ".join(parts) or "unknown"


# -- timing ------------------------------------------------------------------------------

def interleave(fns: dict[str, Callable[[], object]], repeats: int, warmup: int,
               faults: bool = False) -> dict[str, dict]:
    """Time each callable ``repeats`` times, in rounds that run each once, rotating which
    goes first; median/min/max in seconds, the per-round times (for paired ratios, see
    :func:`paired`), and the median of minor page faults per call when ``faults``. The
    garbage collector is off while timing (as in ``timeit``), so that one implementation's
    garbage is not collected on another's clock."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    names = list(fns)
    times: dict[str, list[float]] = {k: [] for k in fns}
    flts: dict[str, list[int]] = {k: [] for k in fns}
    gc_was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for i in range(repeats):
            for k in names[i % len(names):] + names[:i % len(names)]:
                fn = fns[k]
                f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if faults else 0
                t0 = time.perf_counter()
                fn()
                t1 = time.perf_counter()
                if faults:
                    flts[k].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
                times[k].append(t1 - t0)
    finally:
        if gc_was:
            gc.enable()
    out = {}
    for k, ts in times.items():
        out[k] = {"median": statistics.median(ts), "min": min(ts), "max": max(ts), "n": len(ts),
                  "times": ts}
        if faults:
            out[k]["minflt"] = statistics.median(flts[k])
    return out


def paired(res: dict, a: str, b: str) -> float:
    """The median over rounds of a's time / b's time in the same round: the machine's
    drifts (frequency, neighbours) cancel within a round, so this is steadier than a ratio
    of two medians."""
    return statistics.median(x / y for x, y in zip(res[a]["times"], res[b]["times"]))


def paired_quartiles(res: dict, a: str, b: str) -> list[float]:
    """The first and third quartiles over rounds of a's time / b's time in the same round:
    how much the paired ratio moved within the run."""
    q = statistics.quantiles([x / y for x, y in zip(res[a]["times"], res[b]["times"])], n=4)
    return [q[0], q[2]]


def fmt(stats: dict, scale: float, unit: str) -> str:
    return (f"{stats['median'] * scale:.3g} {unit} "
            f"[{stats['min'] * scale:.3g}..{stats['max'] * scale:.3g}]")


# -- workloads ---------------------------------------------------------------------------

def w1(quick: bool) -> list[dict]:
    rows = []
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        seed_epoch.check_parity(dtype)
        t, n = seed_epoch.make("tinygrad_reg", dtype), seed_epoch.make("numpy", dtype)
        j = seed_epoch.make("jit", dtype)
        pre = seed_epoch.make("numpy_prealloc", dtype)
        res = interleave({"tinygrad_reg": t.epoch, "numpy": n.epoch, "jit": j.epoch,
                          "numpy_prealloc": pre.epoch},
                         repeats=5 if quick else 25, warmup=1 if quick else 3)
        rows.append({"workload": f"W1 seed epoch {name}", "unit": "ms", "scale": 1e3,
                     "target": 1.15 if dtype is np.float64 else 1.30, **_pair(res),
                     "jit": res["jit"], "jit_ratio": paired(res, "jit", "numpy"),
                     "jit_ratio_quartiles": paired_quartiles(res, "jit", "numpy"),
                     "jit_target": 1.00 if dtype is np.float64 else 0.95,
                     "prealloc": res["numpy_prealloc"],
                     "prealloc_ratio": paired(res, "numpy_prealloc", "numpy"),
                     "steps": seed_epoch.N_TRAIN // seed_epoch.BATCH})
    return rows


def w2(quick: bool) -> list[dict]:
    rows = []
    for size in (32, 1):
        rng = np.random.default_rng(0)
        x0 = rng.standard_normal((size, size))
        c = rng.uniform(0.5, 1.0, (size, size))
        np.testing.assert_allclose(overhead.tg_chain(x0, c), overhead.numpy_chain(x0, c),
                                   rtol=1e-12, atol=1e-14)
        res = interleave({"tinygrad_reg": lambda x0=x0, c=c: overhead.tg_chain(x0, c),
                          "numpy": lambda x0=x0, c=c: overhead.numpy_chain(x0, c),
                          "anomaly": lambda x0=x0, c=c: overhead.tg_chain_anomaly(x0, c),
                          "jit": lambda x0=x0, c=c: overhead.tg_chain_jit(x0, c)},
                         repeats=50 if quick else 400, warmup=20)
        row = {"workload": f"W2 op chain {size}x{size} f64 (per op)", "unit": "us",
               "scale": 1e6 / overhead.N_OPS, **_pair(res), "anomaly": res["anomaly"],
               "anomaly_ratio": paired(res, "anomaly", "numpy"),
               "anomaly_vs_off": paired(res, "anomaly", "tinygrad_reg"),
               "jit": res["jit"], "jit_ratio": paired(res, "jit", "numpy"),
               "jit_ratio_quartiles": paired_quartiles(res, "jit", "numpy"), "jit_target": 1.2}
        if size == 32:  # the target: 4 us/op where numpy by hand took 2.2 us: 1.82x
            row["target"] = 1.8
        rows.append(row)
    return rows


def w3(quick: bool) -> list[dict]:
    mlp.check_parity()
    fns = {k: mlp.make(k) for k in ("tinygrad_reg", "numpy", "gemm")}
    res = interleave(fns, repeats=5 if quick else 30, warmup=2 if quick else 5, faults=True)
    flops = mlp.flops_per_step()
    row = {"workload": "W3 MLP step f32 b512", "unit": "ms", "scale": 1e3, "target": 1.0,
           **_pair(res)}
    row["gemm"] = res["gemm"]
    row["gflops"] = {k: flops / v["median"] / 1e9 for k, v in res.items()}
    row["vs_gemm_floor"] = res["tinygrad_reg"]["median"] / res["gemm"]["median"]
    row["numpy_vs_gemm_floor"] = res["numpy"]["median"] / res["gemm"]["median"]
    row["minflt_per_step"] = {k: v["minflt"] for k, v in res.items()}
    # each alone in a fresh process (alternating processes), as a user's script runs it
    runs: dict[str, list[dict]] = {k: [] for k in fns}
    for _ in range(1 if quick else 3):
        for impl in runs:
            out = _child(f"import json, mlp; print(json.dumps(mlp.alone({impl!r}, "
                         f"steps={5 if quick else 10})))")
            runs[impl].append(json.loads(out))
    row["alone"] = {k: {"median": statistics.median(r["median"] for r in v),
                        "minflt": statistics.median(r["minflt"] for r in v)}
                    for k, v in runs.items()}
    return [row]


def w5(quick: bool) -> list[dict]:
    """Each CNN's step beside its GEMM floor, interleaved in this process; the ratio is to the
    floor (there is no hand-written numpy CNN)."""
    rows = []
    for net in cnn.NETS:
        cnn.check_parity(net)
        res = interleave({"tinygrad_reg": cnn.TinygradStep(net), "gemm": cnn.GemmFloor(net),
                          "jit": cnn.TinygradJitStep(net)},
                         repeats=10 if quick else 40, warmup=3, faults=True)
        rows.append({"workload": f"W5 {net} CNN step f32 b64", "unit": "ms", "scale": 1e3,
                     "tinygrad_reg": res["tinygrad_reg"], "numpy": res["gemm"],
                     "ratio": res["tinygrad_reg"]["median"] / res["gemm"]["median"],
                     "target": 1.5, "vs": "GEMM floor", "gemms": cnn.describe(net),
                     "gemm_count": len(cnn.gemm_shapes(net)), "mflop": cnn.flops(net) / 1e6,
                     "jit": res["jit"],
                     "jit_ratio": res["jit"]["median"] / res["gemm"]["median"],
                     "minflt_per_step": {k: v["minflt"] for k, v in res.items()}})
    return rows


ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def w6(quick: bool) -> list[dict]:
    """The LSTM step beside PyTorch's (when torch is importable) and jitted, interleaved in a
    process of their own with every thread pool at one thread (lstm.py)."""
    code = f"import json, lstm; print(json.dumps(lstm.measure({quick!r}), default=float))"
    return [json.loads(_child(code, ONE_THREAD))]


def w7(quick: bool) -> dict:
    """BN-LeNet's step, eager and jitted, beside PyTorch (when importable) in a process of
    its own at one thread; six interleaved rounds (bnlenet.py)."""
    before = load()
    out = json.loads(_child(f"import bnlenet, json; print(json.dumps(bnlenet.run({quick!r})))",
                            ONE_THREAD))
    out["load"] = [before[0], load()[0]]
    return out


def print_w7(r: dict) -> None:
    print(f"\n{r['workload']} ({r['rounds']} rounds of {r['repeats']} steps each, one thread; "
          f"load average {r['load'][0]:.2f} -> {r['load'][1]:.2f}):")
    for i, t in enumerate(r["per_round"], 1):
        line = f"  round {i}: eager {t['tinygrad_reg']:.2f} ms, jitted {t['jit']:.2f} ms"
        if "torch" in t:
            line += (f", PyTorch {t['torch']:.2f} ms; eager/torch "
                     f"{t['tinygrad_reg'] / t['torch']:.2f}x, jitted/torch "
                     f"{t['jit'] / t['torch']:.2f}x")
        print(line)
    if "eager_vs_torch" in r:
        tg_ = r["targets"]
        print(f"  median of the rounds: eager/torch {r['eager_vs_torch']:.2f}x (target <= "
              f"{tg_['eager_vs_torch']}x), jitted/torch {r['jit_vs_torch']:.2f}x (target <= "
              f"{tg_['jit_vs_torch']}x)")
    print(f"  jitted/eager {r['jit_vs_eager']:.2f}x")


def _child(code: str, env_update: dict | None = None) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.dirname(HERE),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for k, v in (env_update or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True, env=env).stdout


def w4(quick: bool) -> list[dict]:
    rows = []
    for dtype in ("float64", "float32"):
        growth: dict[str, list[float]] = {"tinygrad_reg": [], "numpy": []}
        for _ in range(1 if quick else 3):  # alternate fresh processes
            for impl in growth:
                out = _child(f"import json, numpy, seed_epoch; print(json.dumps("
                             f"seed_epoch.peak_growth({impl!r}, numpy.{dtype})))")
                growth[impl].append(json.loads(out)["peak_growth_kib"])
        med = {k: statistics.median(v) for k, v in growth.items()}
        rows.append({"workload": f"W4 peak RSS growth, epoch {dtype}", "unit": "KiB",
                     "tinygrad_reg": med["tinygrad_reg"], "numpy": med["numpy"],
                     "runs": growth, "target": 1.5,
                     "ratio": med["tinygrad_reg"] / med["numpy"] if med["numpy"] else None})
        held = {impl: seed_epoch.graph_bytes(impl, getattr(np, dtype)) / 1024
                for impl in ("tinygrad_reg", "numpy")}
        rows.append({"workload": f"W4 one forward graph held, {dtype}", "unit": "KiB",
                     "tinygrad_reg": held["tinygrad_reg"], "numpy": held["numpy"],
                     "ratio": held["tinygrad_reg"] / held["numpy"]})
    return rows


def imports(quick: bool) -> list[dict]:
    """Wall time of a fresh interpreter importing numpy, and numpy then tinygrad_reg. As after
    a normal install, compiled bytecode is cached (in a temporary PYTHONPYCACHEPREFIX, so the
    work tree stays clean, and with PYTHONDONTWRITEBYTECODE lifted); also shown without any
    cache, where every module is compiled at import."""
    code = {"numpy": "import numpy", "tinygrad_reg": "import numpy, tinygrad_reg"}
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        modes = {"bytecode cached": {"PYTHONPYCACHEPREFIX": cache,
                                     "PYTHONDONTWRITEBYTECODE": None},
                 "no bytecode cache": {"PYTHONDONTWRITEBYTECODE": "1"}}
        for mode, env in modes.items():
            _child(code["tinygrad_reg"], env)  # warm-up (writes the cache)
            times: dict[str, list[float]] = {k: [] for k in code}
            for _ in range(5 if quick else 15):
                for k, c in code.items():
                    t0 = time.perf_counter()
                    _child(c, env)
                    times[k].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            row = {"workload": f"import, fresh process ({mode})", "unit": "ms",
                   "tinygrad_reg": med["tinygrad_reg"], "numpy": med["numpy"],
                   "extra_ms": med["tinygrad_reg"] - med["numpy"]}
            if mode == "bytecode cached":
                row["target_extra_ms"] = 50.0
            rows.append(row)
    return rows


def _pair(res: dict) -> dict:
    return {"tinygrad_reg": res["tinygrad_reg"], "numpy": res["numpy"],
            "ratio": paired(res, "tinygrad_reg", "numpy"),
            "ratio_quartiles": paired_quartiles(res, "tinygrad_reg", "numpy")}


def _without_times(value):
    """The figures without the per-round times (the medians, quartiles, min and max stay)."""
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k != "times"}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


# -- optional PyTorch --------------------------------------------------------------------

def torch_table(quick: bool) -> dict | None:
    """PyTorch beside tinygrad_reg and numpy, all at one thread in a process of their own
    (torch_bench.py); None when torch is not importable (it is never a dependency)."""
    try:
        _child("import torch")
    except subprocess.CalledProcessError:
        return None
    one = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    code = f"import torch_bench, json; print(json.dumps(torch_bench.run({quick!r})))"
    return json.loads(_child(code, one))


def print_torch(t: dict) -> None:
    print(f"\nPyTorch {t['torch']} eager, in its own process with every thread pool at "
          f"{t['threads']} thread (tinygrad_reg and numpy rerun there alike):")
    print(f"{'workload':34} {'tinygrad_reg':>13} {'numpy':>10} {'torch':>10} "
          f"{'tg/np':>7} {'torch/np':>9} {'tg/torch':>9}")
    for name, r in t["rows"].items():
        extra = f"   GEMM floor {r['gemm']:.4g}" if "gemm" in r else ""
        if name.startswith("W5"):
            extra = "   (numpy column: the GEMM floor)"
        print(f"{name:34} {r['tinygrad_reg']:>13.4g} {r['numpy']:>10.4g} {r['torch']:>10.4g} "
              f"{r['tinygrad_reg'] / r['numpy']:>6.2f}x {r['torch'] / r['numpy']:>8.2f}x "
              f"{r['tinygrad_reg'] / r['torch']:>8.2f}x{extra}")
        if "jit" in r:
            print(f"{'  jitted':34} {r['jit']:>13.4g} {'':>10} {'':>10} "
                  f"{r['jit'] / r['numpy']:>6.2f}x {'':>9} {r['jit'] / r['torch']:>8.2f}x")


# -- report ------------------------------------------------------------------------------

def print_table(rows: list[dict]) -> None:
    print(f"{'workload':42} {'tinygrad_reg':>28} {'numpy':>28} {'ratio':>7}  target")
    for r in rows:
        unit, scale = r["unit"], r.get("scale", 1.0)
        tg_, np_ = r["tinygrad_reg"], r.get("numpy", r.get("torch"))
        if np_ is None:  # W6 without torch: nothing to compare with
            print(f"{r['workload']:42} {fmt(tg_, scale, unit):>28}")
            continue
        if isinstance(tg_, dict):
            a, b = fmt(tg_, scale, unit), fmt(np_, scale, unit)
        else:
            a, b = f"{tg_:.4g} {unit}", f"{np_:.4g} {unit}"
        ratio = f"{r['ratio']:.2f}x" if r.get("ratio") is not None else "-"
        target = f"<= {r['target']}x" if "target" in r else ""
        if "extra_ms" in r:
            ratio = f"+{r['extra_ms']:.1f}"
            target = f"<= +{r['target_extra_ms']:.0f} ms" if "target_extra_ms" in r else ""
        print(f"{r['workload']:42} {a:>28} {b:>28} {ratio:>7}  {target}")
        if r.get("vs") == "PyTorch":
            print(f"{'  (numpy column: PyTorch ' + r['torch_version'] + ', 1 thread)':42}")
        if r.get("vs") == "GEMM floor":
            f = r["minflt_per_step"]
            print(f"{'  (numpy column: the GEMM floor)':42} minor page faults / step: "
                  f"{f['tinygrad_reg']:.0f}, floor {f['gemm']:.0f}")
        if "jit" in r:
            jt = r["jit"]
            goal = f"<= {r['jit_target']}x" if "jit_target" in r else ""
            ratio = r.get("jit_ratio", jt["median"] / np_["median"])
            print(f"{'  jitted (tg.jit)':42} {fmt(jt, scale, unit):>28} {'':>28} "
                  f"{ratio:>6.2f}x  {goal}")
        if "prealloc" in r:
            print(f"{'  numpy, preallocated buffers':42} {fmt(r['prealloc'], scale, unit):>28} "
                  f"{'':>28} {r['prealloc_ratio']:>6.2f}x")
        if "anomaly" in r:
            an = r["anomaly"]
            print(f"{'  inside tg.detect_anomaly()':42} {fmt(an, scale, unit):>28} {'':>28} "
                  f"{an['median'] / np_['median']:>6.2f}x  "
                  f"({an['median'] / tg_['median']:.2f}x the mode off)")
        if "gemm" in r:
            g = r["gflops"]
            print(f"{'  GEMM floor':42} {fmt(r['gemm'], scale, unit):>28}"
                  f"   tinygrad_reg/floor {r['vs_gemm_floor']:.2f}x (<= 1.2x), "
                  f"numpy/floor {r['numpy_vs_gemm_floor']:.2f}x")
            print(f"{'  GFLOP/s':42} {g['tinygrad_reg']:>28.1f} {g['numpy']:>28.1f}"
                  f"   floor {g['gemm']:.1f}")
            f = r["minflt_per_step"]
            print(f"{'  minor page faults / step':42} {f['tinygrad_reg']:>28.0f}"
                  f" {f['numpy']:>28.0f}   floor {f['gemm']:.0f}")
            a = r["alone"]
            t_, n_, g_ = (a[k]["median"] * 1e3 for k in ("tinygrad_reg", "numpy", "gemm"))
            print(f"{'  alone in a fresh process: ms / step':42} {t_:>25.3g} ms {n_:>25.3g} ms"
                  f" {t_ / n_:6.2f}x  floor {g_:.3g} ms")
            print(f"{'  alone: minor page faults / step':42} {a['tinygrad_reg']['minflt']:>28.0f}"
                  f" {a['numpy']['minflt']:>28.0f}   floor {a['gemm']['minflt']:.0f}")


ALL = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "IMP"]


def argv_only_default(only: str) -> bool:
    return [k.strip().upper() for k in only.split(",")] == ALL


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (about a minute)")
    ap.add_argument("--json", metavar="OUT",
                    help="also write every figure to this file (default for the full run: "
                         "docs/assets/benchmarks.json, which the docs quote)")
    ap.add_argument("--only", default=",".join(ALL),
                    help="comma-separated subset of " + ",".join(ALL))
    ap.add_argument("--into-docs", action="store_true",
                    help="with --only: replace those workloads' rows in "
                         "docs/assets/benchmarks.json, keeping the rest")
    ap.add_argument("--no-torch", action="store_true",
                    help="skip the PyTorch columns even when torch is importable")
    args = ap.parse_args(argv)
    full = not args.quick and not args.no_torch and argv_only_default(args.only)
    out = args.json or (DOCS_JSON if full else None)
    info = machine()
    info["load_before"] = load()
    info["calibration_us"] = calibration()
    print(f"tinygrad_reg {info['tinygrad_reg']}, numpy {info['numpy']}, Python {info['python']}"
          f"; {info['cores']} cores ({info['cpu']})")
    print(f"BLAS: {blas_line(info)}; env: {info['env'] or 'none of ' + ', '.join(ENV_KEYS[:4])}")
    print("medians [min..max]; ratio = tinygrad_reg / numpy (W5: / its GEMM floor)\n")
    table = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "IMP": imports}
    keys = [k.strip().upper() for k in args.only.split(",")]
    rows = []
    for key in keys:
        if key != "W7":  # (W7 has a record of its own: below)
            rows += table[key](args.quick)
    bnlenet = w7(args.quick) if "W7" in keys else None
    into_docs = args.into_docs and not full and not args.quick
    torch = torch_table(args.quick) if not (args.no_torch or into_docs) else None
    print_table(rows)
    if torch:
        print_torch(torch)
    if bnlenet:
        print_w7(bnlenet)
    info["load_after"] = load()
    command = " ".join(["python benchmarks/run.py", *(argv if argv is not None
                                                       else sys.argv[1:])]).strip()
    if bnlenet:
        bnlenet.update(command=command, date=datetime.date.today().isoformat())
    if out:
        marked = _without_times(rows)
        for row in marked:  # (each row says what measured it, as --into-docs rows do)
            row.update(command=command, date=datetime.date.today().isoformat(),
                       load=[info["load_before"], info["load_after"]])
        record = {"command": command, "date": datetime.date.today().isoformat(),
                  "machine": info, "quick": args.quick, "rows": marked,
                  "torch": torch, "w7": _without_times(bnlenet)}
        with open(out, "w") as f:
            json.dump(record, f, indent=1, default=float)
            f.write("\n")
        print(f"\nwrote {os.path.relpath(out)}")
    elif into_docs:
        replace_rows(rows, command, info, bnlenet)


def replace_rows(rows: list[dict], command: str, info: dict, bnlenet: dict | None) -> None:
    """Put ``rows`` into docs/assets/benchmarks.json in place of the rows of their workloads
    (a new workload goes before the import rows), each marked with the command, the date and
    the load that measured it; and W7's record (``bnlenet``), if it ran, under its key."""
    with open(DOCS_JSON) as f:
        record = json.load(f)
    if bnlenet is not None:
        record["w7"] = _without_times(bnlenet)
    old = record["rows"]
    for row in _without_times(rows):
        row.update(command=command, date=datetime.date.today().isoformat(),
                   load=[info["load_before"], load()])
        key = row["workload"].split()[0]
        at = [i for i, r in enumerate(old) if r["workload"].split()[0] == key]
        if at:
            old[at[0]] = row
        else:
            imp = [i for i, r in enumerate(old) if r["workload"].startswith("import")]
            old.insert(imp[0] if imp else len(old), row)
    with open(DOCS_JSON, "w") as f:
        json.dump(record, f, indent=1, default=float)
        f.write("\n")
    print(f"\nreplaced {len(rows)} row(s) in {os.path.relpath(DOCS_JSON)}")


if __name__ == "__main__":
    main()
