"""Every ```python block of README.md and docs/*.md runs.

The blocks of one page run in order in one namespace (a page is read top to bottom, and a
later block may use what an earlier one defined), in a fresh temporary working directory, so
files a snippet writes (``model.npz``, ``graph.svg``) land there. Blocks fenced as anything
else (``bash``, plain output) are not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A fence opens with ``` and an info string at the start of a line, and closes with ``` alone.
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


# A block right after this comment is not run; the comment must say why (e.g. "needs
# Jupyter"). test_only_marked_blocks_are_not_run keeps the list of such blocks short.
NOT_RUN = re.compile(r"<!-- not run by tests/test_docs.py: (.+?) -->\n$")


def python_blocks(page: Path, *, marked: bool = False) -> list[tuple[int, str]]:
    """(first line number, source) of each ```python block of ``page`` that is run (or,
    with ``marked``, of each block marked as not run)."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1).strip() == "python":
            is_marked = NOT_RUN.search(text, 0, match.start()) is not None
            if is_marked == marked:
                line = text.count("\n", 0, match.start(2)) + 1
                blocks.append((line, match.group(2)))
    return blocks


PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


def test_the_extractor_finds_the_snippets() -> None:
    sample = "text\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = x + 1\n```\n"
    blocks = [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(sample)]
    assert blocks == [("python", "x = 1\n"), ("bash", "ls\n"), ("python", "y = x + 1\n")]
    # The pages this test must cover do have code.
    names = {p.name for p in PAGES_WITH_CODE}
    assert {"README.md", "getting-started.md", "concepts.md", "extending.md",
            "regularization.md"} <= names, names


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.name)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for line, source in python_blocks(page):
        where = f"{page.relative_to(ROOT)}:{line}"
        code = compile(source, where, "exec")  # tracebacks name the page and line
        exec(code, namespace)  # noqa: S102 - running the documentation is the point


def test_only_marked_blocks_are_not_run() -> None:
    marked = {(p.name, line) for p in PAGES for line, _ in python_blocks(p, marked=True)}
    # The one Jupyter-only snippet (IPython.display) of visualization.md, the two PyTorch
    # halves of interop.md (PyTorch is never a dependency) and the cells of tour.md (the
    # notebook they come from runs in tests/test_notebook.py); nothing else.
    pages = sorted(name for name, _ in marked if name != "tour.md")
    assert pages == ["interop.md", "interop.md", "visualization.md"], marked
