"""An interleaved A/B of two checkouts of tinygrad_reg on the benchmark suite.

    python benchmarks/ab.py BEFORE_DIR AFTER_DIR [--only W1,W2] [--rounds 6]

Each round runs ``benchmarks/run.py --quick --no-torch`` (from AFTER_DIR) once with each
checkout's package first on the path, in alternating order (A B, B A, ...), so a machine
that gets busier or quieter during the run weighs on both alike. Every figure of run.py is
already a ratio to hand-written numpy measured in the same process; this prints, per
workload, the median over rounds of that ratio for each checkout and their quotient
(after / before: below 1 is faster). ``git worktree add /tmp/before HEAD~1`` makes a
BEFORE_DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_once(tree: Path, only: str) -> dict[str, float]:
    """One quick run of the suite against the package in ``tree``: workload -> ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        env = dict(os.environ, PYTHONPATH=str(tree))
        subprocess.run([sys.executable, str(HERE / "run.py"), "--quick", "--no-torch",
                        "--only", only, "--json", str(out)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        rows = json.loads(out.read_text())["rows"]
    found = {r["workload"]: r["ratio"] for r in rows if r.get("ratio") is not None}
    found.update({r["workload"] + ", jitted": r["jit_ratio"] for r in rows
                  if r.get("jit_ratio") is not None})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--only", default="W1,W2")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    ratios: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for k in range(args.rounds):
        order = ("before", "after") if k % 2 == 0 else ("after", "before")
        for side in order:
            for workload, r in run_once(trees[side], args.only).items():
                ratios[side].setdefault(workload, []).append(r)
        print(f"round {k + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{'workload':55} {'before':>8} {'after':>8} {'after/before':>13}")
    for workload, values in ratios["after"].items():
        b = statistics.median(ratios["before"].get(workload, [float("nan")]))
        a = statistics.median(values)
        print(f"{workload:55} {b:7.3f}x {a:7.3f}x {a / b:12.3f}")


if __name__ == "__main__":
    main()
