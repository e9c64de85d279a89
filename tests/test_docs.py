"""Every ```python block of README.md and docs/*.md runs, and every pasted output is what its
block prints.

How a page's blocks run (the page says which, and this test runs them that way):

- By default each block runs **on its own**, in a fresh namespace: it imports what it uses,
  so a reader can copy any one block.
- A page that says, before its first code block, "The code blocks on this page run in
  order" runs its blocks top to bottom in one namespace: a later block uses what an earlier
  one defined.
- A block whose first line is a comment naming a file (``# train.py``) is that script, run
  on its own as that file: tracebacks and anomaly-mode messages name ``train.py`` and the
  line within the block, as they would for a reader who saved the block and ran it.

All run in a fresh temporary working directory, so files a snippet writes (``model.npz``,
``graph.svg``) land there.

Pasted output: a ```text block right after a python block (nothing but blank lines between)
is what that block prints to stdout, and is compared with it. Runs of whitespace compare
equal (a long line may be wrapped at a space), and nothing else is left out: no ``...``.
The one placeholder is ``<timing>``, which stands for a duration (``12.3 ms``, ``0.8 s``),
since those differ from run to run. A block that prints shows its output; a ``print`` line
carries no trailing comment claiming what it prints, and a bare expression (a REPL habit,
``y.grad_fn``) shows nothing in a script, so neither is allowed. Any other fenced block is
``bash`` (commands, not run). docs/tour.md is written from examples/tour.ipynb by
scripts/docs_assets.py; its cells and outputs are checked by tests/test_docs_tour.py.
"""

from __future__ import annotations

import ast
import contextlib
import io
import linecache
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GENERATED = {"tour.md"}  # written by scripts/docs_assets.py; checked by test_docs_tour.py
# A fence opens with ``` and an info string at the start of a line, and closes with ``` alone.
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
IN_ORDER = "The code blocks on this page run in order"
SCRIPT = re.compile(r"# ([\w.-]+\.py)\n")
TIMING = "<timing>"
TIMING_RE = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?\s?(?:ns|µs|us|ms|s|min)"
INFO_STRINGS = {"python", "text", "bash"}

# A block right after this comment is not run; the comment must say why (e.g. "needs
# Jupyter"). test_only_marked_blocks_are_not_run keeps the list of such blocks short.
NOT_RUN = re.compile(r"<!-- not run by tests/test_docs.py: (.+?) -->\n$")


@dataclass
class Block:
    page: Path
    line: int          # the line of the block's first source line in the page
    info: str          # python, text, bash
    source: str
    start: int         # offsets of the whole fence in the page's text
    end: int
    not_run: bool = False
    output: Block | None = None  # the text block right after a python block

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def script(self) -> str | None:
        """The file name a block declares on its first line (``# train.py``), if any."""
        m = SCRIPT.match(self.source)
        return m.group(1) if m else None


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` in order, each python block linked to its output."""
    text = page.read_text(encoding="utf-8")
    out: list[Block] = []
    for m in FENCE.finditer(text):
        info = m.group(1).strip()
        line = text.count("\n", 0, m.start(2)) + 1
        b = Block(page, line, info, m.group(2), m.start(), m.end(),
                  not_run=info == "python" and NOT_RUN.search(text, 0, m.start()) is not None)
        if info == "text" and out and out[-1].info == "python" \
                and not text[out[-1].end:m.start()].strip():
            out[-1].output = b
        out.append(b)
    return out


def python_blocks(page: Path, *, marked: bool = False) -> list[Block]:
    """The python blocks of ``page`` that are run (or, with ``marked``, that are not)."""
    return [b for b in blocks(page) if b.info == "python" and b.not_run == marked]


def runs_in_order(page: Path) -> bool:
    """Whether the page says, before its first code block, that its blocks run in order."""
    text = page.read_text(encoding="utf-8")
    first = FENCE.search(text)
    return IN_ORDER in text[:first.start() if first else len(text)]


def normalize(text: str) -> str:
    return " ".join(text.split())


def output_matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is the pasted ``expected``, whitespace runs aside, ``<timing>``
    standing for any duration."""
    pattern = re.escape(normalize(expected)).replace(re.escape(TIMING), TIMING_RE)
    return re.fullmatch(pattern, normalize(actual)) is not None


def run_block(block: Block, namespace: dict) -> str:
    """Run one block in ``namespace`` and return what it printed. A block that names a file
    is compiled as that file, and its lines are registered so that tracebacks and anomaly
    mode can quote them as they would quote the saved file."""
    filename = block.script or block.where
    lines = block.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(block.source), None, lines, filename)
    code = compile(block.source, filename, "exec")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(code, namespace)  # noqa: S102 - running the documentation is the point
    return stdout.getvalue()


PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


def test_the_extractor_finds_the_snippets_and_their_outputs(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("The code blocks on this page run in order.\n\n"
                    "```python\nx = 1\n```\n```bash\nls\n```\n```python\nprint(x + 1)\n```\n\n"
                    "```text\n2\n```\n<!-- not run by tests/test_docs.py: why -->\n"
                    "```python\n# demo.py\nimport os\n```\n")
    found = [(b.info, b.source, b.not_run) for b in blocks(page)]
    assert found == [("python", "x = 1\n", False), ("bash", "ls\n", False),
                     ("python", "print(x + 1)\n", False), ("text", "2\n", False),
                     ("python", "# demo.py\nimport os\n", True)]
    code = python_blocks(page)
    assert [b.output.source if b.output else None for b in code] == [None, "2\n"]
    assert python_blocks(page, marked=True)[0].script == "demo.py"
    assert runs_in_order(page) and not runs_in_order(ROOT / "README.md")
    # The pages this test must cover do have code.
    names = {p.name for p in PAGES_WITH_CODE}
    assert {"README.md", "getting-started.md", "concepts.md", "extending.md",
            "regularization.md"} <= names, names


def test_the_output_comparison() -> None:
    assert output_matches("a  b\nc\n", "a b c")                       # wrapping is free
    assert not output_matches("a b", "a b c") and not output_matches("a b c", "a b")
    assert not output_matches("loss 0.25", "loss 0.26")
    assert output_matches("took <timing>, loss 0.25", "took 12.5 ms, loss 0.25")
    assert output_matches("<timing>", "3e-05 s") and output_matches("<timing>", "4 µs")
    assert not output_matches("took <timing>", "took 12.5")          # a number, no unit
    assert not output_matches("a ...", "a b")                         # no other wildcard


def _print_comments(source: str) -> list[int]:
    """Lines where a print(...) call has a trailing comment."""
    lines = []
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string == "print" and \
                i + 1 < len(tokens) and tokens[i + 1].string == "(":
            row = tok.start[0]
            if any(t.type == tokenize.COMMENT and t.start[0] == row for t in tokens[i:]):
                lines.append(row)
    return lines


def _bare_expressions(source: str) -> list[int]:
    """Lines of expression statements that are not calls (nor docstrings, nor ``...``, nor
    an expression evaluated in a ``try`` body for the error it raises)."""
    tree = ast.parse(source)
    tried = {id(s) for n in ast.walk(tree) if isinstance(n, ast.Try) for s in n.body}
    return [n.lineno for n in ast.walk(tree)
            if isinstance(n, ast.Expr) and id(n) not in tried
            and not isinstance(n.value, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom))
            and not (isinstance(n.value, ast.Constant)
                     and (isinstance(n.value.value, str) or n.value.value is ...))]


@pytest.mark.parametrize("page", [p for p in PAGES if p.name not in GENERATED],
                         ids=lambda p: p.name)
def test_page_structure(page: Path) -> None:
    """Each fenced block says what it is; every text block is the output of the python block
    right above it; no print line claims its output in a comment; no bare expressions."""
    problems = []
    found = blocks(page)
    outputs = {id(b.output) for b in found if b.output is not None}
    for b in found:
        if b.info not in INFO_STRINGS:
            problems.append(f"{b.where}: a ```{b.info} block; use python, bash, or text for "
                            f"the output of the python block right above")
        elif b.info == "text" and id(b) not in outputs:
            problems.append(f"{b.where}: a text block that is not right after a python block: "
                            f"paste only what a block above prints, right after it")
        elif b.info == "python":
            if b.not_run and b.output is not None:
                problems.append(f"{b.where}: the output of a block that is not run is not checked")
            for row in _print_comments(b.source):
                problems.append(f"{b.page.relative_to(ROOT)}:{b.line + row - 1}: a print line "
                                f"with a comment; show what it prints in a text block after "
                                f"the code")
            for row in _bare_expressions(b.source):
                problems.append(f"{b.page.relative_to(ROOT)}:{b.line + row - 1}: a bare "
                                f"expression shows nothing in a script; print it or assert it")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.name)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    in_order = runs_in_order(page)
    shared: dict = {"__name__": f"docs_{page.stem}"}
    for block in python_blocks(page):
        if block.script:
            namespace: dict = {"__name__": "__main__"}
        else:
            namespace = shared if in_order else {"__name__": f"docs_{page.stem}"}
        try:
            printed = run_block(block, namespace)
        except Exception as err:
            how = "in order after the blocks above it" if in_order and not block.script \
                else "on its own"
            raise AssertionError(f"{block.where}, run {how}, raised {err!r}") from err
        if block.output is not None:
            if not output_matches(block.output.source, printed):
                pytest.fail(f"{block.output.where}: the pasted output differs from what the "
                            f"block above prints:\n--- pasted\n{block.output.source}"
                            f"--- printed\n{printed}", pytrace=False)
        elif printed.strip():
            pytest.fail(f"{block.where} prints something; paste it in a ```text block right "
                        f"after the block:\n{printed}", pytrace=False)


def test_only_marked_blocks_are_not_run() -> None:
    marked = {(p.name, b.line) for p in PAGES for b in python_blocks(p, marked=True)}
    # The one Jupyter-only snippet (IPython.display) of visualization.md, the two PyTorch
    # halves of interop.md (PyTorch is never a dependency) and the cells of tour.md (the
    # notebook they come from runs in tests/test_notebook.py); nothing else.
    pages = sorted(name for name, _ in marked if name != "tour.md")
    assert pages == ["interop.md", "interop.md", "visualization.md"], marked


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    """``mkdocs build --strict`` passes: a docstring the API page renders can break it (a
    formula such as out[i][index[i][j]] outside backticks reads as a reference link). Skipped
    where the docs extra is not installed, except under CI, which installs it."""
    import os
    import subprocess
    import sys

    try:
        import mkdocs  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI installs the docs extra, but mkdocs is not importable")
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(tmp_path / "site")], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert run.returncode == 0 and not warnings, "\n".join(warnings) or run.stderr[-2000:]
