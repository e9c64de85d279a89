"""Regenerate every picture and every measured figure the README and docs/ show.

    python scripts/docs_assets.py               # everything (about 8 minutes on 2 idle cores)
    python scripts/docs_assets.py --only tour   # one part: figures, tour, or an example name
    python scripts/docs_assets.py --only regularization_zoo --replot
                                                # its picture again from its stored summary

- ``figures``: the graph pictures (docs/make_figures.py);
- the examples, each run with the arguments its figures are quoted for: its summary goes to
  ``docs/assets/<name>.json`` and its pictures to ``docs/img/``; tests/test_docs_figures.py
  checks that every number the pages quote matches these files, so after a change that moves
  a number, rerun this script and update the page the test names;
- ``tour``: examples/tour.ipynb executed and written as docs/tour.md (its pictures in
  ``docs/img/tour/``).

``--replot`` draws an example's pictures again from ``docs/assets/<name>.json`` without
training, for the examples whose plot reads only their summary (:data:`REPLOT`): after a
change to the plotting code alone, the figures stay those of the run the JSON records.

Run from anywhere; it works in the repository it lives in.
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ASSETS = DOCS / "assets"
IMG = DOCS / "img"

# example -> (arguments, pictures to copy into docs/img)
EXAMPLES = {
    "reproduce_article": (["--seeds", "3"], []),
    "decision_boundary": ([], ["decision_boundaries.png"]),
    "l1_sparsity": ([], ["l1_vs_l2.png"]),
    "digits_cnn": (["--seeds", "3", "--no-progress"], []),
    "regularization_zoo": ([], ["zoo.png"]),
    "lambda_sweep": ([], []),
    "mc_dropout": ([], ["mc_dropout.png"]),
    "sort_gpt": ([], []),
}


# example -> draws its pictures into a folder from its stored summary, without training
REPLOT = {
    "regularization_zoo": lambda module, summary, out: module.plot(summary["rows"],
                                                                   out / "zoo.png"),
}


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _jsonable(value):
    """The summary without what JSON cannot hold (arrays, models)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if k not in ("model", "weights")}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_example(name: str) -> None:
    args, pictures = EXAMPLES[name]
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        load_before = os.getloadavg()
        summary = load(ROOT / "examples" / f"{name}.py", f"example_{name}").main(
            [*args, "--out", out])
        ASSETS.mkdir(exist_ok=True)
        # the times an example records depend on the machine and on what else ran on it
        record = {"command": f"python examples/{name}.py {' '.join(args)}".strip(),
                  "machine": {"cores": os.cpu_count(), "load_before": load_before,
                              "load_after": os.getloadavg()},
                  "summary": _jsonable(summary)}
        (ASSETS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        for picture in pictures:
            shutil.copy(Path(out) / picture, IMG / picture)
        print(f"{name}: {time.perf_counter() - start:.0f} s -> docs/assets/{name}.json"
              + (f", docs/img/{', docs/img/'.join(pictures)}" if pictures else ""))


def replot_example(name: str) -> None:
    if name not in REPLOT:
        raise SystemExit(f"{name}: its pictures need its models, not only its summary; run it "
                         f"without --replot")
    _, pictures = EXAMPLES[name]
    summary = json.loads((ASSETS / f"{name}.json").read_text())["summary"]
    module = load(ROOT / "examples" / f"{name}.py", f"example_{name}")
    with tempfile.TemporaryDirectory() as out:
        REPLOT[name](module, summary, Path(out))
        for picture in pictures:
            shutil.copy(Path(out) / picture, IMG / picture)
    print(f"{name}: docs/img/{', docs/img/'.join(pictures)} drawn from docs/assets/{name}.json")


def run_figures() -> None:
    load(DOCS / "make_figures.py", "make_figures").main()


def execute_tour(work: str):
    """examples/tour.ipynb executed in a fresh kernel, in the directory ``work``."""
    import nbclient
    import nbformat

    nb = nbformat.read(ROOT / "examples" / "tour.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": work}}).execute()
    return nb


def _joined_streams(outputs: list) -> list:
    """A cell's outputs with consecutive pieces of one stream joined: how a cell's printing
    arrives in pieces depends on timing, so the page must not."""
    joined: list = []
    for o in outputs:
        last = joined[-1] if joined else None
        if o.get("output_type") == "stream" and last is not None and \
                last.get("output_type") == "stream" and last.get("name") == o.get("name"):
            joined[-1] = {**last, "text": last["text"] + o["text"]}
        else:
            joined.append(o)
    return joined


def tour_markdown(nb) -> tuple[str, dict[str, bytes]]:
    """docs/tour.md from an executed notebook: its markdown cells as they are, its code cells
    as python blocks, text output as text blocks right after them, pictures as files (name ->
    bytes, under docs/img/tour/; an interactive page is kept as its own .html file there and
    shown in an iframe)."""
    pictures: dict[str, bytes] = {}
    parts = ["<!-- written by scripts/docs_assets.py from examples/tour.ipynb: edit the "
             "notebook, then rerun the script -->\n"]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip() + "\n")
            continue
        parts.append("<!-- not run by tests/test_docs.py: the notebook itself is run by "
                     "tests/test_notebook.py -->\n```python\n" + cell.source.strip() + "\n```\n")
        for j, o in enumerate(_joined_streams(cell.outputs)):
            data = o.get("data", {})
            if "image/svg+xml" in data:
                name = f"cell{i}_{j}.svg"
                pictures[name] = data["image/svg+xml"].encode("utf-8")
                parts.append(f"![output of the cell above](img/tour/{name})\n")
            elif "data-tinygrad-reg-graph" in data.get("text/html", ""):
                # an interactive graph page, shown inline in an iframe: kept as its own
                # file, and shown the same way on the page
                page = re.search(r'srcdoc="([^"]*)"', data["text/html"]).group(1)
                name = f"cell{i}_{j}.html"
                pictures[name] = html.unescape(page).encode("utf-8")
                parts.append(f'<iframe src="../img/tour/{name}" style="width: 100%; height: '
                             f'480px; border: 1px solid #ddd"></iframe>\n\n'
                             f"[Open the page on its own](img/tour/{name}).\n")
            elif "image/png" in data:
                name = f"cell{i}_{j}.png"
                pictures[name] = base64.b64decode(data["image/png"])
                parts.append(f"![output of the cell above](img/tour/{name})\n")
            else:
                text = o.get("text") or data.get("text/plain", "")
                if text.strip():
                    parts.append("```text\n" + text.rstrip() + "\n```\n")
    return "\n".join(parts), pictures


def run_tour() -> None:
    """Execute the notebook and write it as Markdown (see :func:`tour_markdown`)."""
    with tempfile.TemporaryDirectory() as work:
        nb = execute_tour(work)
    text, pictures = tour_markdown(nb)
    folder = IMG / "tour"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    (DOCS / "tour.md").write_text(text, encoding="utf-8")
    print(f"tour: docs/tour.md, {len(pictures)} pictures in docs/img/tour")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None,
                    help=f"one of figures, tour, {', '.join(EXAMPLES)} (comma-separated)")
    ap.add_argument("--replot", action="store_true",
                    help="draw the chosen examples' pictures from their stored summaries "
                         f"without training ({', '.join(REPLOT)})")
    args = ap.parse_args(argv)
    parts = ["figures", *EXAMPLES, "tour"]
    chosen = parts if args.only is None else [p.strip() for p in args.only.split(",")]
    unknown = set(chosen) - set(parts)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}; choose from {parts}")
    for part in chosen:
        if part == "figures":
            run_figures()
        elif part == "tour":
            run_tour()
        elif args.replot:
            replot_example(part)
        else:
            run_example(part)


if __name__ == "__main__":
    main()
