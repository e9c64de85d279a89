"""Every measured figure the README and docs/ quote is the figure a script measured.

Four kinds of source, each a JSON file under docs/assets/ that names the command that
wrote it:

- ``<example>.json``: scripts/docs_assets.py runs each example with the arguments its figures
  are quoted for and keeps its summary there;
- ``visualization.json``: ``python docs/make_figures.py`` (the ``figures`` part of
  scripts/docs_assets.py) measures the interactive page's sizes and the times visualization.md
  quotes, with the machine's load;
- ``benchmarks.json``: ``python benchmarks/run.py`` (the full run) writes it. The suite never
  reruns the benchmarks: their figures are quoted from that file, with the machine they were
  measured on;
- ``gpt_benchmark.json``: ``python benchmarks/gpt.py`` (W8, a small GPT's step beside
  PyTorch) writes it.

Each claim below formats figures from those files and looks for the text on its page. Then
:func:`test_no_figure_is_quoted_without_a_source` reads every page's prose for things that
look measured (a duration, a ratio like ``1.38x``, a percentage, a ``±``, a size in KiB, a
decimal with three or more digits) and fails on any that no claim produced, unless the
phrase around it is listed in :data:`NOT_MEASURED` as a setting or a constant. A failure
means a page and the measurements disagree: rerun the script and update the page (the
message gives the text to paste; ``python tests/test_docs_figures.py`` prints every claim),
or say where a new figure comes from."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "docs" / "assets"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def summary(name: str) -> dict:
    return json.loads((ASSETS / f"{name}.json").read_text())["summary"]


def pm(stats: dict) -> str:
    return f"{stats['mean']:.4f} ± {stats['std']:.4f}"


# -- the examples ----------------------------------------------------------------------------

def article_rows() -> list[str]:
    r = summary("reproduce_article")
    out = []
    for name, m in r["models"].items():
        art = r["article"][name]
        out.append(f"{pm(m['batch_loss'])} ({art['train_loss']}) | {pm(m['test_accuracy'])} "
                   f"({art['test_accuracy']})")
    return out


def article_table() -> list[str]:
    r = summary("reproduce_article")
    out = []
    for name, m in r["models"].items():
        art = r["article"][name]
        out.append(f"{pm(m['batch_loss'])} | {art['train_loss']} | {pm(m['test_accuracy'])} | "
                   f"{art['test_accuracy']} | {pm(m['train_loss'])}")
    return out


def article_seconds() -> list[str]:
    """How long one seed of the three trainings took when docs/assets/ was made (each model's
    median over the seeds: one run slowed by other work on the machine does not move it), and
    how busy the machine was."""
    import statistics

    m = summary("reproduce_article")["models"]
    machine = json.loads((ASSETS / "reproduce_article.json").read_text())["machine"]
    seconds = sum(statistics.median(r["seconds"]["runs"]) for r in m.values())
    return [f"{seconds:.0f} s for the three (medians over {len(m['plain']['seconds']['runs'])} "
            f"seeds) when `docs/assets/` was last made, on {machine['cores']} cores at load "
            f"average {machine['load_before'][0]:.1f}"]


def article_prose() -> list[str]:
    """The figures the text around the table reads off the same runs (curves: seed 0)."""
    r = summary("reproduce_article")
    m, art = r["models"], r["article"]

    def below(name: str, level: float = 0.6) -> int:  # epochs until the train loss < level
        return next(i + 1 for i, v in enumerate(m[name]["history"]["train_loss"]) if v < level)

    test = m["plain"]["history"]["test_loss"]
    return [f"drives its training loss to ~{m['plain']['train_loss']['mean']:.3f}",
            f"its test loss rises from epoch {test.index(min(test)) + 1} on",
            f"λ/(2m)·ΣW² = {m['L2']['l2_term']['mean']:.3f} at the end",
            f"a single run's {art['dropout']['train_loss']} is within reach",
            f"after about {below('plain')} epochs (plain), {below('L2')} (L2) and "
            f"{below('dropout')} (dropout",
            f"the article's {art['dropout']['test_accuracy']} was measured"]


def l1_claims() -> list[str]:
    m = summary("l1_sparsity")["models"]
    return [f"{100 * m['L1']['near_zero']:.1f} %", f"{100 * m['L2']['near_zero']:.1f} %",
            f"{m['none']['test_accuracy']:.3f} without penalty",
            f"{m['L1']['test_accuracy']:.3f} with L1", f"{m['L2']['test_accuracy']:.3f} with L2"]


def digits_claim() -> list[str]:
    acc = summary("digits_cnn")["test_accuracy"]
    return [f"{acc['mean']:.3f} ± {acc['std']:.3f} over 3 seeds"]


def digits_about() -> list[str]:
    s = summary("digits_cnn")
    return [f"about {s['test_accuracy']['mean']:.2f} test accuracy in {s['epochs']} epochs over "
            f"{len(s['seeds'])} seeds"]


def sort_gpt_claims() -> list[str]:
    s = summary("sort_gpt")
    right = round(s["test_accuracy"] * s["test_problems"])
    return [f"with {s['parameters']} parameters, sorts {right} of the {s['test_problems']} "
            f"held-out problems"]


def zoo_rows() -> list[str]:
    return [f"| {r['net']} | {r['method']}" for r in summary("regularization_zoo")["rows"]] + \
        [f"{pm({'mean': r['test_mean'], 'std': r['test_std']})} | {r['train_mean']:.4f} |"
         for r in summary("regularization_zoo")["rows"]]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def zoo_prose() -> list[str]:
    """What the text under the zoo's table reads off it: the MLP configurations that stop
    short of 100 % training accuracy, how many methods land within half a percentage point of
    no regularization, the ones that move the test accuracy further (each by about a point:
    0.5 to 1.5 points), and the CNN's best."""
    rows = summary("regularization_zoo")["rows"]
    mlp = {r["method"]: r for r in rows if r["net"] == "MLP"}
    base = mlp["none"]["test_mean"]
    best_cnn = max((r for r in rows if r["net"] == "CNN"), key=lambda r: r["test_mean"])
    below = [m for m, r in mlp.items() if r["train_mean"] < 1.0]
    diff = {m: r["test_mean"] - base for m, r in mlp.items() if m != "none"}
    near = [m for m, d in diff.items() if abs(d) <= 0.005]
    helped = [f"{m} ({mlp[m]['test_mean']:.3f})" for m, d in diff.items() if d > 0.005]
    cost = [f"{m} ({mlp[m]['test_mean']:.3f})" for m, d in diff.items() if d < -0.005]
    # the sentence says "about a point" for each, and names some of both kinds
    assert all(abs(d) < 0.015 for d in diff.values()), diff
    assert below and helped and cost, (below, helped, cost)
    return [f"{len(mlp) - len(below)} of the {len(mlp)} MLP configurations reach 100 % training "
            f"accuracy ({_and(below)} stop just short)",
            f"{len(near)} of the {len(diff)} methods land within half a percentage point of no "
            f"regularization at all ({base:.3f})",
            f"the MLP gains about a point with {_and(helped)} and loses about as much with "
            f"{_and(cost)}",
            f"{best_cnn['method'].capitalize()} helps the CNN most ({best_cnn['test_mean']:.3f})"]


def zoo_counts() -> list[str]:
    """The README counts the zoo's regularized rows apart from its unregularized baselines."""
    rows = summary("regularization_zoo")["rows"]
    none = sum(r["method"] == "none" for r in rows)
    return [f"{len(rows) - none} regularizer configurations beside {none} unregularized "
            f"baselines"]


def sweep_claims() -> list[str]:
    s = summary("lambda_sweep")
    lam = {r["lam"]: r["mean"] for r in s["lambda"]}
    keep = {r["keep_prob"]: r["mean"] for r in s["keep_prob"]}
    best_keep = max(keep, key=keep.get)
    return [f"from {lam[0.0]:.3f} (λ = 0) to {lam[10.0]:.3f} at λ = 10",
            f"keep_prob {best_keep:g} ({keep[best_keep]:.3f})"]


def mc_claim() -> list[str]:
    s = summary("mc_dropout")
    return [f"{s['std_off_data'] / s['std_on_data']:.1f} times larger away"]


def mc_caption() -> list[str]:
    """The picture's caption, region by region: the band's width (the predictive std) left of,
    between and right of the training intervals against on them, and the error to the right
    far outside the band there (over five times its half-width, 2 std)."""
    s = summary("mc_dropout")
    on, off = s["std_on_data"], s["off_data"]
    assert off["left"]["std"] > off["between"]["std"] > on > off["right"]["std"], (on, off)
    assert off["right"]["abs_error"] > 5 * 2 * off["right"]["std"], off["right"]
    return ["The band is narrow on the data, wider between the intervals and widest to their left",
            "to their right the passes agree on a flat line far from the true function, with a "
            "band narrower than on the data"]


# -- the graph pictures' script -------------------------------------------------------------

def viz_page_size() -> list[str]:
    """The page's size: the bytes of graph data per item (ops, leaves, outputs) over the pages
    measured, the script and style every page carries, the 2,003-item page's size, and how
    long headless Chromium took to load and draw it (5 loads)."""
    s = summary("visualization")
    pages = s["pages"]
    per_item = [p["bytes_per_item"] for p in pages.values()]
    (fixed,) = {p["script_and_style_bytes"] for p in pages.values()}  # the same on every page
    big = pages["2,003-item residual chain"]
    assert big["items"] == 2003
    ready, m = s["chromium_ready_ms"], s["machine"]
    return [f"{min(per_item):.0f} to {max(per_item):.0f} bytes an item, plus "
            f"{fixed / 1000:.0f} kB of script and style",
            f"A 2,003-node graph is a {big['bytes'] / 1e6:.1f} MB page that headless Chromium "
            f"loads and draws in {min(ready):.0f} to {max(ready):.0f} ms (5 loads, on the "
            f"{m['cores']}-core machine that made the pictures, load average "
            f"{m['load_before'][0]:.1f})"]


def viz_walk_times() -> list[str]:
    """The size guard refuses a long chain quickly; to_dot of a long chain, max_nodes raised."""
    s = summary("visualization")
    refused, drawn = s["to_dot_100000_ops_refused_s"], s["to_dot_20000_ops_s"]
    return [f"a 100 000-op chain is refused in {sorted(refused)[1]:.1f} s",
            f"`to_dot` of a 20 000-op chain takes {sorted(drawn)[1]:.1f} s (each the median of "
            f"three runs when the pictures were last made)"]


def viz_wasm_time() -> list[str]:
    """The in-process renderer: its first call in a process (compiling Graphviz) and the
    median of the three after it, on the seed network's full graph."""
    s = summary("visualization")
    first, *after = s["wasm_seed_network_s"]
    return [f"{first:.1f} s for the first graph a process draws, as it compiles Graphviz, "
            f"then {1000 * sorted(after)[1]:.0f} ms for a graph of "
            f"{s['wasm_seed_network_nodes']} nodes"]


# -- the benchmarks --------------------------------------------------------------------------

def bench() -> dict:
    return json.loads((ASSETS / "benchmarks.json").read_text())


def brow(prefix: str) -> dict:
    return next(r for r in bench()["rows"] if r["workload"].startswith(prefix))


def trow(prefix: str) -> dict:
    t = bench()["torch"]
    return next(v for k, v in t["rows"].items() if k.startswith(prefix))


def g3(x: float) -> str:
    """Three significant digits, never in exponent notation."""
    s = f"{x:.3g}"
    return f"{x:.0f}" if "e" in s else s


UNIT = {"ms": "ms", "us": "µs"}


def timing(r: dict, key: str) -> str:
    s, scale, unit = r[key], r["scale"], UNIT[r["unit"]]
    return f"{g3(s['median'] * scale)} {unit} [{g3(s['min'] * scale)}..{g3(s['max'] * scale)}]"


def verdict(ratio: float, target: float) -> str:
    """"met", or by how much it is missed (three decimals when two would read 0.00)."""
    miss = ratio - target
    return "met" if miss <= 0 else f"missed by {miss:.2f}" if miss >= 0.005 else \
        f"missed by {miss:.3f}"


def quartiles(q: list[float]) -> str:
    return f"{q[0]:.2f}–{q[1]:.2f}"


def machine_line() -> list[str]:
    b = bench()
    m = b["machine"]
    names = {"openblas": "OpenBLAS", "mkl": "MKL"}
    blas = "; ".join(f"{names.get(x.get('internal_api'), x.get('internal_api'))} "
                     f"{x.get('version')} ({x.get('architecture')} kernels, "
                     f"{x.get('threading_layer')}, {x.get('num_threads')} threads)"
                     for x in m["blas"])
    env = ", ".join(f"{k}={v}" for k, v in m["env"].items()) or "no BLAS or malloc variables set"
    return [f"measured on {b['date']}: {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
            f"numpy {m['numpy']}, {blas}; {env}",
            f"load average {m['load_before'][0]:.2f} when the run started and "
            f"{m['load_after'][0]:.2f} when it ended"]


def calibration() -> list[str]:
    c = bench()["machine"]["calibration_us"]
    return [f"a numpy ufunc call on a 1x1 array takes {c['ufunc_1x1']:.2f} µs",
            f"np.tanh on a 32x32 float64 array {c['tanh_32x32']:.1f} µs"]


def results_table() -> list[str]:
    out = []
    for dtype in ("float64", "float32"):
        r = brow(f"W1 seed epoch {dtype}")
        out.append(f"| W1 seed epoch, {dtype} | {timing(r, 'tinygrad_reg')} | "
                   f"{timing(r, 'numpy')} | **{r['ratio']:.2f}x** "
                   f"({quartiles(r['ratio_quartiles'])}) | ≤ {r['target']:.2f}x — "
                   f"{verdict(r['ratio'], r['target'])} |")
    for size in ("32x32", "1x1"):
        r = brow(f"W2 op chain {size}")
        target = (f"≤ {r['target']}x — {verdict(r['ratio'], r['target'])}" if "target" in r
                  else "(pure overhead)")
        out.append(f"| W2 op chain {size} float64, per op | {timing(r, 'tinygrad_reg')} | "
                   f"{timing(r, 'numpy')} | **{r['ratio']:.2f}x** "
                   f"({quartiles(r['ratio_quartiles'])}) | {target} |")
        out.append(f"| &nbsp;&nbsp;the same inside `tg.detect_anomaly()` | "
                   f"{timing(r, 'anomaly')} | | {r['anomaly_ratio']:.2f}x "
                   f"({r['anomaly_vs_off']:.2f}x the mode off) | |")
    r = brow("W3")
    a = {k: v["median"] * 1e3 for k, v in r["alone"].items()}
    f, af, g = r["minflt_per_step"], r["alone"], r["gflops"]
    out += [f"| W3 MLP step, float32, batch 512 | {timing(r, 'tinygrad_reg')} | "
            f"{timing(r, 'numpy')} | **{r['ratio']:.2f}x** ({quartiles(r['ratio_quartiles'])}) "
            f"| ≤ {r['target']}x — {verdict(r['ratio'], r['target'])} |",
            f"| &nbsp;&nbsp;each alone in a fresh process | {g3(a['tinygrad_reg'])} ms | "
            f"{g3(a['numpy'])} ms | {a['tinygrad_reg'] / a['numpy']:.2f}x | |",
            f"| &nbsp;&nbsp;GEMM floor | {timing(r, 'gemm')} (alone: {g3(a['gemm'])} ms) | | "
            f"tinygrad_reg **{r['vs_gemm_floor']:.2f}x** the floor, numpy "
            f"{r['numpy_vs_gemm_floor']:.2f}x | ≤ 1.2x — {verdict(r['vs_gemm_floor'], 1.2)} |",
            f"| &nbsp;&nbsp;GFLOP/s | {g['tinygrad_reg']:.1f} | {g['numpy']:.1f} | "
            f"floor {g['gemm']:.1f} | |",
            f"| &nbsp;&nbsp;minor page faults / step | {f['tinygrad_reg']:.0f} (alone: "
            f"{af['tinygrad_reg']['minflt']:.0f}) | {f['numpy']:.0f} (alone: "
            f"{af['numpy']['minflt']:.0f}) | floor {f['gemm']:.0f} | |"]
    for dtype in ("float64", "float32"):
        r = brow(f"W4 peak RSS growth, epoch {dtype}")
        ratio = f"**{r['ratio']:.2f}x** | ≤ {r['target']}x — {verdict(r['ratio'], r['target'])}" \
            if r["ratio"] is not None else "- | ≤ 1.5x — no growth to compare with"
        out.append(f"| W4 peak RSS growth over an epoch, {dtype} | {r['tinygrad_reg']:.0f} KiB | "
                   f"{r['numpy']:.0f} KiB | {ratio} |")
        r = brow(f"W4 one forward graph held, {dtype}")
        out.append(f"| W4 one forward graph held before backward, {dtype} | "
                   f"{r['tinygrad_reg']:.0f} KiB | {r['numpy']:.0f} KiB | {r['ratio']:.2f}x | |")
    r = brow("import, fresh process (bytecode cached)")
    out.append(f"| import, fresh process (bytecode cached, as installed) | "
               f"{r['tinygrad_reg']:.0f} ms | {r['numpy']:.0f} ms | **+{r['extra_ms']:.1f} ms** | "
               f"≤ +{r['target_extra_ms']:.0f} ms — "
               f"{'met' if r['extra_ms'] <= r['target_extra_ms'] else 'missed'} |")
    r = brow("import, fresh process (no bytecode cache)")
    out.append(f"| import, fresh process (no bytecode cache) | {r['tinygrad_reg']:.0f} ms | "
               f"{r['numpy']:.0f} ms | +{r['extra_ms']:.1f} ms | |")
    return out


def results_prose() -> list[str]:
    b = bench()
    w1 = {d: brow(f"W1 seed epoch {d}") for d in ("float64", "float32")}
    w2 = brow("W2 op chain 1x1")
    held = brow("W4 one forward graph held, float64")
    # per step at one thread (the PyTorch table's process), where BLAS does not compete with
    # other work for the second core; its times are in ms
    one = {d: trow(f"W1 seed epoch {d}") for d in ("float64", "float32")}
    per_step = {d: (r["tinygrad_reg"] - r["numpy"]) / w1[d]["steps"] * 1e3
                for d, r in one.items()}
    need = (w1["float64"]["target"] - 1) * one["float64"]["numpy"] / w1["float64"]["steps"] * 1e3
    w3 = brow("W3")
    reps = {"W1": w1["float64"]["tinygrad_reg"]["n"], "W2": w2["tinygrad_reg"]["n"],
            "W3": w3["tinygrad_reg"]["n"]}
    return [f"{(w2['tinygrad_reg']['median'] - w2['numpy']['median']) * w2['scale']:.1f} µs more "
            f"per op than numpy by hand",
            f"{per_step['float64']:.0f} µs (float64) and {per_step['float32']:.0f} µs "
            f"(float32) more than numpy per step",
            f"the float64 target of {w1['float64']['target']:.2f}x, that overhead would have "
            f"to fall to about {need:.0f} µs per step",
            f"the numpy cache ({held['ratio']:.2f}x)",
            f"Medians [min..max] of {reps['W1']} epochs (W1), {reps['W2']} chains (W2) and "
            f"{reps['W3']} steps (W3)",
            f"`{b['command']}`"]


def torch_table() -> list[str]:
    t = bench()["torch"]
    out = [f"PyTorch {t['torch']}"]
    for name, label, unit in (("W1 seed epoch float64", "W1 seed epoch, float64", "ms"),
                              ("W1 seed epoch float32", "W1 seed epoch, float32", "ms"),
                              ("W2 op chain 32x32", "W2 op chain 32x32, per op", "µs"),
                              ("W2 op chain 1x1", "W2 op chain 1x1, per op", "µs"),
                              ("W3", "W3 MLP step", "ms"),
                              ("W5 digits", "W5 digits CNN step (numpy: its GEMM floor)", "ms"),
                              ("W5 lenet", "W5 LeNet-5 step (numpy: its GEMM floor)", "ms")):
        r = trow(name)
        if name == "W3":
            label = f"W3 MLP step (GEMM floor {g3(r['gemm'])} ms)"
        out.append(f"| {label} | {g3(r['tinygrad_reg'])} {unit} | {g3(r['numpy'])} {unit} | "
                   f"{g3(r['torch'])} {unit} | **{r['tinygrad_reg'] / r['numpy']:.2f}x** | "
                   f"{r['torch'] / r['numpy']:.2f}x | {r['tinygrad_reg'] / r['torch']:.2f}x |")
        if "jit" in r:
            out.append(f"| &nbsp;&nbsp;jitted | {g3(r['jit'])} {unit} | | | "
                       f"{r['jit'] / r['numpy']:.2f}x | | {r['jit'] / r['torch']:.2f}x |")
    return out


def w5_table() -> list[str]:
    out = []
    for net, label in (("digits", "digits CNN"), ("lenet", "LeNet-5")):
        r = brow(f"W5 {net}")
        t = trow(f"W5 {net}")
        out += [f"| {label}, 2 threads | {timing(r, 'tinygrad_reg')} | {timing(r, 'jit')} | "
                f"{timing(r, 'numpy')} | {r['ratio']:.1f}x | {r['jit_ratio']:.1f}x | "
                f"≤ {r['target']}x — {verdict(r['ratio'], r['target'])} |",
                f"| {label}, 1 thread, beside PyTorch | {g3(t['tinygrad_reg'])} ms | "
                f"{g3(t['jit'])} ms | {g3(t['gemm'])} ms | {t['tinygrad_reg'] / t['gemm']:.1f}x "
                f"| {t['jit'] / t['gemm']:.1f}x | PyTorch {g3(t['torch'])} ms, "
                f"{t['torch'] / t['gemm']:.1f}x the floor; tinygrad_reg "
                f"**{t['tinygrad_reg'] / t['torch']:.2f}x** PyTorch's time (≤ 2x — "
                f"{verdict(t['tinygrad_reg'] / t['torch'], 2.0)}) |"]
    d, le = brow("W5 digits"), brow("W5 lenet")
    out += [f"{d['gemm_count']} products take {d['mflop']:.1f} MFLOP",
            f"LeNet's {le['gemm_count']} products take {le['mflop']:.0f} MFLOP",
            f"minor page faults per step: {d['minflt_per_step']['tinygrad_reg']:.0f} (digits "
            f"CNN) and {le['minflt_per_step']['tinygrad_reg']:.0f} (LeNet-5)"]
    return out


def w6_claims() -> list[str]:
    """W6's row: measured by ``run.py --only W6 --into-docs``, which records its command,
    date and load in the row itself."""
    r = brow("W6")
    return [f"| measured by `{r['command']}` on {r['date']}, load average "
            f"{r['load'][0][0]:.2f} | {timing(r, 'tinygrad_reg')} | {timing(r, 'jit')} | "
            f"{timing(r, 'torch')} (PyTorch {r['torch_version']}) | **{r['ratio']:.2f}x** "
            f"({quartiles(r['ratio_quartiles'])}); jitted {r['jit_ratio']:.2f}x | "
            f"≤ {r['target']}x — {verdict(r['ratio'], r['target'])} |"]


def w7_table() -> list[str]:
    """W7 (BN-LeNet beside PyTorch): its six rounds, their medians and how it was run
    (``python benchmarks/run.py --only W7 --into-docs`` writes them under the ``w7`` key)."""
    r = bench()["w7"]
    out = []
    for i, t in enumerate(r["per_round"], 1):
        out.append(f"| {i} | {g3(t['tinygrad_reg'])} ms | {g3(t['jit'])} ms | "
                   f"{g3(t['torch'])} ms | {t['tinygrad_reg'] / t['torch']:.2f}x | "
                   f"{t['jit'] / t['torch']:.2f}x |")
    eager, jit = r["eager_vs_torch"], r["jit_vs_torch"]
    goal_e, goal_j = r["targets"]["eager_vs_torch"], r["targets"]["jit_vs_torch"]
    out.append(f"| median of the rounds | {g3(r['tinygrad_reg'])} ms | {g3(r['jit'])} ms | "
               f"{g3(r['torch'])} ms | **{eager:.2f}x** (≤ {goal_e}x — {verdict(eager, goal_e)})"
               f" | **{jit:.2f}x** (≤ {goal_j}x — {verdict(jit, goal_j)}) |")
    out += [f"`{r['command']}` on {r['date']}, PyTorch {r['torch_version']} at "
            f"{r['threads']} thread, load average {r['load'][0]:.2f} when it started and "
            f"{r['load'][1]:.2f} when it ended",
            f"{r['rounds']} rounds of {r['repeats']} steps of each",
            f"the jitted step takes {r['jit_vs_eager']:.2f}x the eager step's time"]
    return out


def jit_table() -> list[str]:
    out = []
    for dtype in ("float64", "float32"):
        r = brow(f"W1 seed epoch {dtype}")
        out.append(f"| W1 seed epoch, {dtype} | {r['ratio']:.2f}x | **{r['jit_ratio']:.2f}x** "
                   f"({quartiles(r['jit_ratio_quartiles'])}) | {r['prealloc_ratio']:.2f}x | "
                   f"≤ {r['jit_target']:.2f}x — {verdict(r['jit_ratio'], r['jit_target'])} |")
    for size in ("32x32", "1x1"):
        r = brow(f"W2 op chain {size}")
        out.append(f"| W2 op chain {size}, per op | {r['ratio']:.2f}x | **{r['jit_ratio']:.2f}x** "
                   f"({quartiles(r['jit_ratio_quartiles'])}) | | ≤ {r['jit_target']}x — "
                   f"{verdict(r['jit_ratio'], r['jit_target'])} |")
    w1 = {d: brow(f"W1 seed epoch {d}") for d in ("float64", "float32")}
    t1 = {d: trow(f"W1 seed epoch {d}") for d in ("float64", "float32")}
    out += [f"the jitted epoch takes {t1['float64']['jit'] / t1['float64']['torch']:.2f}x "
            f"(float64) and {t1['float32']['jit'] / t1['float32']['torch']:.2f}x (float32) of "
            f"PyTorch eager's time",
            f"preallocation alone changes the hand-written step's time by "
            f"{100 * (w1['float64']['prealloc_ratio'] - 1):+.0f} % (float64) and "
            f"{100 * (w1['float32']['prealloc_ratio'] - 1):+.0f} % (float32)"]
    return out


def readme_speed() -> list[str]:
    w1 = {d: brow(f"W1 seed epoch {d}") for d in ("float64", "float32")}
    m = bench()["machine"]
    return [f"the last benchmark run ({m['cores']} cores, {m['cpu']}, load average "
            f"{m['load_before'][0]:.1f}) measured it at {w1['float64']['jit_ratio']:.2f}x "
            f"(float64) and {w1['float32']['jit_ratio']:.2f}x (float32) the time of hand-written "
            f"numpy"]


def anomaly_table() -> list[str]:
    out = []
    for size, label in (("1x1", "1×1 (pure overhead)"), ("32x32", "32×32")):
        r = brow(f"W2 op chain {size}")
        s = r["scale"]
        out.append(f"| {label} | {g3(r['tinygrad_reg']['median'] * s)} µs/op | "
                   f"{g3(r['anomaly']['median'] * s)} µs/op ({r['anomaly_vs_off']:.1f}×) | "
                   f"{g3(r['numpy']['median'] * s)} µs/op |")
    return out + machine_line()[:1]


# -- counts ("19 activations"): computed from the code -------------------------------------

def activation_count() -> list[str]:
    """The activation functions are the public functions of tinygrad_reg.ops.activation, each
    with a module in tg.nn; the README names a few."""
    import inspect

    from tinygrad_reg import nn
    from tinygrad_reg.ops import activation

    names = [n for n, f in vars(activation).items() if inspect.isfunction(f)
             and f.__module__ == activation.__name__ and not n.startswith("_")]
    modules = {n.lower() for n, c in vars(nn).items()
               if isinstance(c, type) and issubclass(c, nn.Module)}
    assert {n.replace("_", "") for n in names} <= modules, set(names) - modules
    named = ["gelu", "silu", "mish", "selu"]
    assert set(named) <= set(names)
    return [f"{len(names)} activations ({', '.join(named)}, ...)"]


def onnx_suite_count() -> list[str]:
    """interop.md: the suite runs over a hundred mapped ops in onnxruntime (tests/test_onnx.py's
    OPS table, one test each)."""
    import ast

    tree = ast.parse((ROOT / "tests" / "test_onnx.py").read_text(encoding="utf-8"))
    table = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                 and [getattr(t, "id", None) for t in n.targets] == ["OPS"])
    assert len(table.keys) > 100, len(table.keys)
    return ["the suite runs over a hundred of them in onnxruntime"]


def chain_lengths() -> list[str]:
    """The W2 chain's length, from the benchmark record (its per-op scale), and the chain the
    engine's test backpropagates."""
    n = round(1e6 / brow("W2 op chain 32x32")["scale"])
    engine = (ROOT / "tests" / "test_engine.py").read_text(encoding="utf-8")
    assert "def test_chain_of_100000_ops_backpropagates_without_recursion" in engine
    return [f"a chain of {n} elementwise ops", f"a chain of {n} add/mul/tanh ops",
            f"{n} small ops", "a chain of 100 000 ops is fine"]


def op_size() -> list[str]:
    """"An op in a dozen lines": the op classes of ops/elementwise.py (the median) and the
    Softplus that extending.md writes."""
    import ast

    tree = ast.parse((ROOT / "tinygrad_reg" / "ops" / "elementwise.py").read_text("utf-8"))
    sizes = sorted(n.end_lineno - n.lineno + 1 for n in tree.body if isinstance(n, ast.ClassDef))
    median = sizes[len(sizes) // 2]
    page = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    softplus = re.search(r"^class Softplus\(tg.Function\):\n(?:(?:    .*)?\n)*", page, re.M)
    lines = softplus.group(0).rstrip().count("\n") + 1
    assert 9 <= median <= 15 and 9 <= lines <= 15, (median, lines)
    return ["op in a dozen lines", "an op about a dozen readable lines"]


def readme_lines() -> list[str]:
    """The README's "In 15 lines" example has that many lines of code."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    heading = re.search(r"^## In (\d+) lines$", text, re.M)
    block = re.search(r"^```python\n(.*?)^```", text[heading.end():], re.M | re.S).group(1)
    n = sum(1 for line in block.splitlines() if line.strip())
    return [f"In {n} lines"]


def reading_path() -> list[str]:
    """docs/internals.md's "about N lines": the lines of code (no docstrings, comments or
    blank lines) of the functions and classes the page prints, rounded to tens; and the
    measure script's threshold for a long function."""
    import ast
    import importlib
    import inspect
    import sys
    import textwrap

    page = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
    total = 0
    printed = r"^(from \S+ import \w+)\n\nprint\(inspect\.getsource\(([\w.]+)\)\)"
    for imp, expr in re.findall(printed, page, re.M):
        module, name = re.match(r"from (\S+) import (\w+)", imp).groups()
        obj = getattr(importlib.import_module(module), name)
        for part in expr.split(".")[1:]:
            obj = getattr(obj, part)
        src = textwrap.dedent(inspect.getsource(obj))
        tree = ast.parse(src)
        docs = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                    isinstance(getattr(body[0], "value", None), ast.Constant) and \
                    isinstance(body[0].value.value, str):
                docs.update(range(body[0].lineno, body[0].end_lineno + 1))
        total += sum(1 for i, line in enumerate(src.splitlines(), 1)
                     if i not in docs and line.strip() and not line.strip().startswith("#"))
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        long = importlib.import_module("measure_core").LONG
    finally:
        sys.path.pop(0)
    return [f"in about {round(total, -1)} lines", f"longer than {long} lines of code"]


def gpt_bench() -> list[str]:
    """W8, a small GPT's training step, from docs/assets/gpt_benchmark.json (written by
    ``python benchmarks/gpt.py``): the table's rows, the Linear products alone and the rest
    of the step, and the machine's load."""
    g = json.loads((ASSETS / "gpt_benchmark.json").read_text())
    ms, lo, hi, r = g["ms"], g["min_ms"], g["max_ms"], g["ratio_vs_torch"]
    gm = g["gemm_ms"]

    def row(label: str, key: str, ratio: str) -> str:
        return f"| {label} | {g3(ms[key])} ms [{g3(lo[key])}..{g3(hi[key])}] | {ratio} |"

    return [row("tinygrad_reg eager", "tinygrad_reg", f"{r['tinygrad_reg']:.2f}x"),
            row("tinygrad_reg, `tg.jit`", "jit", f"{r['jit']:.2f}x"),
            row(f"PyTorch {g['torch']} eager", "torch", "1x"),
            f"{g['parameters']} parameters",
            f"medians of {g['rounds']} rounds",
            f"take {g3(gm['numpy'])} ms in numpy and {g3(gm['torch'])} ms in PyTorch",
            f"takes {g3(gm['rest_jit'])} ms against PyTorch's {g3(gm['rest_torch'])} ms",
            f"on {g['machine']['cores']} cores at load average "
            f"{g['machine']['load_before'][0]:.1f}"]


CLAIMS: list[tuple[str, Callable[[], list[str]]]] = [
    ("README.md", readme_lines), ("README.md", lambda: op_size()[:1]),
    ("docs/index.md", lambda: op_size()[:1]), ("docs/benchmarks.md", lambda: op_size()[1:]),
    ("README.md", activation_count), ("docs/interop.md", onnx_suite_count),
    ("docs/benchmarks.md", lambda: chain_lengths()[:1]),
    ("docs/debugging.md", lambda: chain_lengths()[1:2]),
    ("docs/performance.md", lambda: chain_lengths()[2:3]),
    ("docs/concepts.md", lambda: chain_lengths()[3:]),
    ("README.md", article_rows), ("README.md", article_seconds),
    ("README.md", lambda: l1_claims()[:1]),
    ("README.md", digits_claim), ("README.md", zoo_counts), ("README.md", readme_speed),
    ("docs/regularization.md", article_table), ("docs/regularization.md", article_prose),
    ("docs/regularization.md", l1_claims), ("docs/regularization.md", zoo_rows),
    ("docs/regularization.md", zoo_prose),
    ("docs/regularization.md", sweep_claims), ("docs/regularization.md", mc_claim),
    ("docs/regularization.md", mc_caption),
    ("docs/getting-started.md", digits_about), ("docs/attention.md", sort_gpt_claims),
    ("docs/benchmarks.md", machine_line), ("docs/benchmarks.md", calibration),
    ("docs/benchmarks.md", results_table), ("docs/benchmarks.md", results_prose),
    ("docs/benchmarks.md", torch_table), ("docs/benchmarks.md", w5_table),
    ("docs/benchmarks.md", jit_table), ("docs/benchmarks.md", w6_claims),
    ("docs/benchmarks.md", w7_table), ("docs/debugging.md", anomaly_table),
    ("docs/benchmarks.md", gpt_bench),
    ("docs/internals.md", reading_path),
    ("docs/visualization.md", viz_page_size), ("docs/visualization.md", viz_walk_times),
    ("docs/visualization.md", viz_wasm_time),
]


def _id(claim: tuple[str, Callable]) -> str:
    name = getattr(claim[1], "__name__", "claim")
    return f"{claim[0]}:{name}" if name != "<lambda>" else f"{claim[0]}:{claims_index(claim)}"


def claims_index(claim: tuple[str, Callable]) -> str:
    return f"claim{CLAIMS.index(claim)}"


def spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """Where ``phrase`` occurs in ``text``, a line break or any run of spaces matching any
    other (pages wrap their lines)."""
    pattern = r"\s+".join(re.escape(word) for word in phrase.split())
    return [m.span() for m in re.finditer(pattern, text)]


@pytest.mark.parametrize("page, claims", CLAIMS, ids=[_id(c) for c in CLAIMS])
def test_quoted_figures_match_their_measurements(page, claims):
    text = (ROOT / page).read_text(encoding="utf-8")
    missing = [c for c in claims() if not spans(text, c)]
    lines = text.splitlines()

    def hint(claim: str) -> str:
        close = difflib.get_close_matches(claim, lines, n=1, cutoff=0.3)
        return f"{claim}\n    (the closest line on the page: {close[0]})" if close else claim

    assert not missing, (f"{page} does not quote what the measurements say; the text it "
                         f"should contain:\n" + "\n".join(map(hint, missing)))


def test_every_asset_records_its_command():
    for path in ASSETS.glob("*.json"):
        record = json.loads(path.read_text())
        if path.stem == "benchmarks":
            # the full run: every workload, the PyTorch table, all repeats
            assert record["command"] == "python benchmarks/run.py", record["command"]
            assert not record["quick"] and record["torch"] is not None
            assert [r["workload"][:3] for r in record["rows"]] == \
                ["W1 "] * 2 + ["W2 "] * 2 + ["W3 "] + ["W4 "] * 4 + ["W5 "] * 2 + ["W6 "] + \
                ["imp"] * 2
            # W7 under its own key: from the full run or from W7 alone, put in
            w7 = record["w7"]
            assert w7["command"] in ("python benchmarks/run.py",
                                     "python benchmarks/run.py --only W7 --into-docs"), \
                w7["command"]
            assert w7["rounds"] == len(w7["per_round"]) == 6 and "torch" in w7["per_round"][0]
        elif path.stem == "visualization":
            assert record["command"] == "python docs/make_figures.py", record["command"]
        elif path.stem == "gpt_benchmark":
            # the full run of W8, with PyTorch beside it
            assert record["command"] == "python benchmarks/gpt.py", record["command"]
            assert record["torch"] is not None and record["rounds"] == 30
        else:
            assert record["command"].startswith(f"python examples/{path.stem}.py")


# -- nothing measured is quoted without a source ---------------------------------------------

# What looks like a measurement: a quantity with a unit of time or size, a ratio (1.38x, 2.3×,
# not the 8×8 of a shape), a percentage, a ± between numbers, a decimal of three or more
# digits (an accuracy, a loss); and a count of things ("19 activations", "16 regularizer
# configurations", "100 elementwise ops").
MEASURED = re.compile(r"""
    \d[\d.,]*\s?(?:ns|µs|us|ms|s|min|minutes|seconds|KiB|MiB|GiB|kB|MB|GB|GFLOP/s|MFLOP)(?![\w/])
  | (?<![\w.])\d+(?:\.\d+)?\s?[x×](?![\w\d])(?!\s?\d)
  | \d+(?:\.\d+)?\s?%
  | (?<![\w.])\d+\.\d{3,}(?![\d.])
  | (?<=\d\ )±|±(?=\ ?\d)
  | (?<![\w.×])(?:\d+(?:\ \d{3})*|one|two|three|four|five|six|seven|eight|nine|ten|a\ dozen)
    \s+(?:[\w-]+\s+)?(?:regularizers?|regularizer\ configurations|activations|ops
                       |optimizers|schedulers|losses|initiali[sz]ers|lines)\b
""", re.VERBOSE)

# Figures that are settings, definitions or constants, not measurements: the phrase around
# each, per page, and why.
NOT_MEASURED: dict[str, list[str]] = {
    "docs/interop.md": [
        "Models over 2 GB",                      # protobuf's limit
        "no message of 2 GB or more",            # the same limit
        "initializer of 1 KiB or more",          # where the exporter moves data out
        "aligned to 4 KiB",                      # the alignment it writes
    ],
    "docs/debugging.md": ["protobuf's 2 GB limit"],
    "docs/extending.md": [
        "off by a factor of 1.001",              # the fault the tolerances must catch
        "or a factor 1.001 in its backward",     # the same planted fault
        "Hypothesis before 6.159",               # a version number
    ],
    "docs/performance.md": ["(±0, inf, NaN)"],  # special values
    "docs/regularization.md": [
        "so 20 % of the units",                  # the dropout rate of the article's model
        "with 20 % of the units dropped",        # the same
    ],
    "docs/visualization.md": [
        "λ = 0.005",                             # the penalty's setting in the picture
        "(20 × `max_nodes` if that is more)",    # the size guard's walk cap, in viz/dot.py
    ],
    "docs/api.md": ["from U(±1/√n_in)"],        # the initial values' range, a definition
    "docs/tour.md": ['style="width: 100%;'],    # the iframe of the interactive page: a style
    "docs/benchmarks.md": [
        "≤ 1.5x the GEMM floor, ≤ 2x PyTorch",  # the targets
        "(target ≤ 1.5x PyTorch)",  # W6's target
        "W1 ≤ 1.00x float64, ≤ 0.95x float32; W2 ≤ 1.2x",
        "float64 to 1e-10, float32 to 2e-4",    # tolerances
        "≤ 1.3x PyTorch eager, jitted ≤ 1.0x",  # W7's targets
    ],
}

_FENCE = re.compile(r"^```[^\n`]*\n.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _blank(m: re.Match) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def prose(text: str) -> str:
    """The page with code (fenced blocks, inline code), HTML comments and link targets blanked
    out, offsets kept: fenced blocks are run and compared by tests/test_docs.py."""
    text = _FENCE.sub(_blank, text)
    text = re.sub(r"<!--.*?-->", _blank, text, flags=re.DOTALL)
    text = re.sub(r"`[^`\n]+`", _blank, text)
    return re.sub(r"\]\([^)]*\)", _blank, text)


def unsourced(page: str, text: str, quoted: list[str]) -> list[str]:
    """Figures in ``text`` (the page ``page``) outside every quoted claim and listed phrase."""
    covered = [s for phrase in quoted + NOT_MEASURED.get(page, []) for s in spans(text, phrase)]
    out = []
    for m in MEASURED.finditer(prose(text)):
        if not any(a <= m.start() and m.end() <= b for a, b in covered):
            line = text.count("\n", 0, m.start()) + 1
            context = " ".join(text[max(0, m.start() - 40):m.end() + 20].split())
            out.append(f"{page}:{line}: {m.group(0)!r} in '...{context}...'")
    return out


def test_the_figure_scanner_finds_figures():
    text = ("It took 12.5 ms, 1.38x numpy, **+19.6 ms**; 89.5 % of the weights; 0.9305 ± 0.0017; "
            "2708 KiB; a 1x1 chain, 8×8 digits, 4 × 4 × 4; `0.25 ms` in code; lr 0.05; 2 cores")
    found = [m.group(0) for m in MEASURED.finditer(prose(text))]
    assert found == ["12.5 ms", "1.38x", "19.6 ms", "89.5 %", "0.9305", "±", "0.0017",
                     "2708 KiB"], found
    assert unsourced("x.md", text, ["12.5 ms, 1.38x", "**+19.6 ms**", "89.5 %", "2708 KiB",
                                    "0.9305 ± 0.0017"]) == []
    assert len(unsourced("x.md", text, ["12.5 ms"])) == 7


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_figure_is_quoted_without_a_source(page: Path):
    name = str(page.relative_to(ROOT))
    quoted = [c for p, claims in CLAIMS if p == name for c in claims()]
    found = unsourced(name, page.read_text(encoding="utf-8"), quoted)
    assert not found, (
        "figures that no script measured into docs/assets/ (quote them from there with a "
        "claim in tests/test_docs_figures.py, or, for a setting or a constant, list the "
        "phrase in NOT_MEASURED):\n" + "\n".join(found))



if __name__ == "__main__":  # python tests/test_docs_figures.py: every claim's text, per page
    for page, claims in CLAIMS:
        print(f"--- {page} ({_id((page, claims))})")
        print(*claims(), sep="\n")
