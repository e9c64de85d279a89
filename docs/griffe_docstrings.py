"""A Griffe extension (loaded by mkdocs.yml for the API reference) that lets the package's
plain-text docstrings render as their authors laid them out.

The docstrings are written to be read in a terminal (``help()``): a formula on one line, its
gradient on the next, small reST tables and roles. Markdown would merge those lines into one
paragraph and print the tables and roles literally, so before rendering:

- a reST simple table (``=====  =====`` borders) becomes a Markdown table;
- ``:func:`name``` (and ``:class:``, ``:data:``, ``:meth:``, ``:attr:``, ``:mod:``) becomes
  ```name```;
- every other line break is kept (a Markdown hard break), so formula lines stay lines.

Docstrings are only transformed for the documentation; the source is not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|data|meth|attr|mod|obj):`~?([^`]+)`")
BORDER = re.compile(r"^ *=+( +=+)+ *$")


def _columns(border: str) -> list[tuple[int, int]]:
    """(start, end) of each column of a reST simple-table border line."""
    return [m.span() for m in re.finditer(r"=+", border)]


def _cells(line: str, cols: list[tuple[int, int]]) -> list[str]:
    """Split ``line`` at the column starts; the last column runs to the end of the line."""
    starts = [s for s, _ in cols] + [None]
    return [line[starts[i]:starts[i + 1]].strip() for i in range(len(cols))]


def _table(lines: list[str]) -> list[str]:
    """A reST simple table (its lines, borders included) as Markdown table lines. A row whose
    first cell is empty continues the row above it."""
    cols = _columns(lines[0])
    borders = [i for i, ln in enumerate(lines) if BORDER.match(ln)]
    header: list[str] | None = None
    rows: list[list[str]] = []
    for i, ln in enumerate(lines):
        if i in borders or not ln.strip():
            continue
        cells = _cells(ln, cols)
        if rows and not cells[0]:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
        # three borders: the rows before the middle one are the header
        if len(borders) == 3 and borders[0] < i < borders[1]:
            header = rows[-1]
    if header is not None:
        rows = rows[1:]
    head = header or [""] * len(cols)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def to_markdown(text: str) -> str:
    """The docstring ``text`` with tables converted, roles unwrapped and line breaks kept."""
    text = ROLE.sub(r"`\1`", text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if BORDER.match(lines[i]):
            # a simple table runs from this border to its last border line
            j, last = i + 1, i
            while j < len(lines) and (lines[j].strip() or j == i + 1):
                if BORDER.match(lines[j]):
                    last = j
                j += 1
            if last > i:
                if out and out[-1].strip():
                    out.append("")
                out += _table(lines[i:last + 1])
                out.append("")
                i = last + 1
                continue
        out.append(lines[i])
        i += 1
    # Hard line breaks between consecutive non-blank text lines (not in tables or code).
    result: list[str] = []
    fenced = False
    for k, line in enumerate(out):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        nxt = out[k + 1] if k + 1 < len(out) else ""
        if (not fenced and line.strip() and nxt.strip() and not line.lstrip().startswith("|")
                and not nxt.lstrip().startswith("|") and not line.rstrip().endswith(":")):
            line = line.rstrip() + "  "
        result.append(line)
    return "\n".join(result)


class PlainDocstrings(griffe.Extension):
    """Rewrite every docstring with :func:`to_markdown` once it has been loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
