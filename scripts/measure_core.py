"""Print the reading measures of the package's core.

    python scripts/measure_core.py          # the report
    python scripts/measure_core.py --json   # the same measures as JSON

- every function in tinygrad_reg/ longer than 80 lines of code (a concept inside it wants a
  name);
- the length of the engine's loop (``autograd/engine.py:_run``) and of ``Function.apply``,
  the path a reader learns reverse mode from;
- every built-in op class name written as a string literal outside the ops' own files
  (tinygrad_reg/ops/, regularization/noise.py, regularization/sequence.py,
  regularization/penalties.py, nn/losses.py):
  what is known about an op belongs to its class (its ``kind``, its ONNX mapping, its jit
  lowering), not to a list of names elsewhere.

A function's length is the number of lines of code in its body (its signature not
counted); a line of code is a line that is not blank, not only a comment and not part of a
docstring.
The script reads the sources as text (the package is not imported). Run from anywhere; it
measures the repository it lives in.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tinygrad_reg"
LONG = 80  # lines of code that make a function long
ENGINE_LOOP = ("autograd/engine.py", "_run")
APPLY = ("autograd/function.py", "Function.apply")
# the ops' own files, relative to the package
OP_FILES = ("ops/", "regularization/noise.py", "regularization/sequence.py",
            "regularization/penalties.py", "nn/losses.py")


def _is_op_file(rel: str) -> bool:
    return any(rel.startswith(p) if p.endswith("/") else rel == p for p in OP_FILES)


def _docstring_lines(tree: ast.AST) -> set[int]:
    """The line numbers that docstrings (of the module, its classes and functions) span."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _code_lines(source_lines: list[str], first: int, last: int, docs: set[int]) -> int:
    """Lines of code among lines ``first``..``last`` (1-based, inclusive)."""
    count = 0
    for n in range(first, last + 1):
        text = source_lines[n - 1].strip()
        if text and not text.startswith("#") and n not in docs:
            count += 1
    return count


def _functions(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """(qualified name, node) of every function, methods and nested functions included."""
    found: list[tuple[str, ast.AST]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                found.append((name, child))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)
    visit(tree, "")
    return found


def _op_class_names(trees: dict[str, ast.Module]) -> set[str]:
    """The names of the op classes (subclasses of Function, directly or through another op
    class) defined in the ops' own files."""
    bases: dict[str, set[str]] = {}
    for rel, tree in trees.items():
        if not _is_op_file(rel):
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(
                    b.id if isinstance(b, ast.Name) else b.attr for b in node.bases
                    if isinstance(b, (ast.Name, ast.Attribute)))
    ops = {"Function"}
    grew = True
    while grew:
        grew = False
        for name, bs in bases.items():
            if name not in ops and bs & ops:
                ops.add(name)
                grew = True
    return ops - {"Function"}


def _string_literals(tree: ast.AST, docs: set[int]) -> list[tuple[int, str]]:
    """(line, text) of every string literal that is not a docstring nor in an ``__all__``
    list (the literal parts of f-strings included)."""
    exports = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign)) and any(
                isinstance(t, ast.Name) and t.id == "__all__"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            exports.update(id(c) for c in ast.walk(node.value))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and not (
                node.lineno in docs and node.end_lineno in docs) and id(node) not in exports:
            found.append((node.lineno, node.value))
    return found


def _own_names(tree: ast.AST) -> set[str]:
    """The names a file defines itself (classes, functions, assigned names): a module class
    ``nn.Linear`` named in nn/layers.py's messages is that file's own, not the op's."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def measure(root: Path = ROOT) -> dict[str, Any]:
    """The measures of the package under ``root`` (see the module's docstring)."""
    package = root / PACKAGE
    sources: dict[str, list[str]] = {}
    trees: dict[str, ast.Module] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        text = path.read_text(encoding="utf-8")
        sources[rel] = text.splitlines()
        trees[rel] = ast.parse(text, filename=str(path))

    long_functions, lengths = [], {}
    for rel, tree in trees.items():
        docs = _docstring_lines(tree)
        for name, node in _functions(tree):
            n = _code_lines(sources[rel], node.body[0].lineno, node.end_lineno, docs)
            if (rel, name) in (ENGINE_LOOP, APPLY):
                lengths[f"{rel}:{name}"] = n
            if n > LONG:
                long_functions.append({"where": f"{PACKAGE}/{rel}:{node.lineno}",
                                       "function": name, "lines": n})
    long_functions.sort(key=lambda f: -f["lines"])

    ops = _op_class_names(trees)
    word = re.compile(r"\b(" + "|".join(sorted(ops, key=len, reverse=True)) + r")\b")
    names_in_strings = []
    for rel, tree in trees.items():
        if _is_op_file(rel):
            continue
        own = _own_names(tree)
        for line, text in _string_literals(tree, _docstring_lines(tree)):
            for m in word.finditer(text):
                if m.group(1) in own:
                    continue
                names_in_strings.append({"where": f"{PACKAGE}/{rel}:{line}", "name": m.group(1),
                                         "literal": text if len(text) <= 60 else
                                         text[:57] + "..."})
    return {
        "long_functions": long_functions,
        "engine_loop": lengths.get(f"{ENGINE_LOOP[0]}:{ENGINE_LOOP[1]}"),
        "apply": lengths.get(f"{APPLY[0]}:{APPLY[1]}"),
        "op_classes": len(ops),
        "op_names_in_strings": names_in_strings,
    }


def report(m: dict[str, Any]) -> str:
    out = [f"functions longer than {LONG} lines of code (docstrings, comments and blank "
           f"lines not counted): {len(m['long_functions'])}"]
    out += [f"  {f['where']}  {f['function']}: {f['lines']}" for f in m["long_functions"]]
    out.append(f"the engine's loop ({PACKAGE}/{ENGINE_LOOP[0]}:{ENGINE_LOOP[1]}): "
               f"{m['engine_loop']} lines of code")
    out.append(f"Function.apply ({PACKAGE}/{APPLY[0]}): {m['apply']} lines of code")
    hits = m["op_names_in_strings"]
    out.append(f"built-in op class names ({m['op_classes']} classes) in string literals outside "
               f"the ops' own files: {len(hits)}")
    out += [f"  {h['where']}  {h['name']} in {h['literal']!r}" for h in hits]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the measures as JSON")
    args = parser.parse_args(argv)
    m = measure()
    print(json.dumps(m, indent=1) if args.json else report(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
