"""Anomaly mode's checks: where an op was created, and the NaN/inf reports of forward and
backward. The mode itself (the flag, ``detect_anomaly``) lives in :mod:`.modes`."""

from __future__ import annotations

import linecache
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from .modes import backward_of, reset_backward_of, set_backward_of

# the package's directory: frames inside it are skipped when looking for the user's line
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class _Site:
    """Where an op was created: the first caller outside this package, or (for an op made
    by another op's backward under ``create_graph=True``) that op."""

    __slots__ = ("filename", "lineno", "function", "backward_of")

    def __init__(self, backward_of: Any) -> None:
        self.backward_of = backward_of
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            frame = frame.f_back
        if frame is None:  # called from inside the package only (its own tests of itself)
            self.filename, self.lineno, self.function = "<tinygrad_reg>", 0, "?"
        else:
            code = frame.f_code
            self.filename, self.lineno, self.function = (code.co_filename, frame.f_lineno,
                                                         code.co_name)

    def describe(self) -> str:
        line = linecache.getline(self.filename, self.lineno).strip()
        where = f'  File "{self.filename}", line {self.lineno}, in {self.function}'
        if line:
            where += f"\n    {line}"
        node = self.backward_of
        if node is None:
            return where
        return f"{where}\nduring the backward of {node.name}, which was created at:\n" + \
            site_of(node)


def site_of(node: Any) -> str:
    site = node.__dict__.get("_site")
    if site is None:
        return "  (not recorded: the op was created while anomaly mode was off)"
    return site.describe()


def all_finite(a: np.ndarray) -> bool:
    """No NaN and no ±inf in ``a``. A finite sum proves it (any NaN or inf would make the
    sum NaN or inf) and costs less than ``np.isfinite(a).all()``, which settles the rest."""
    return math.isfinite(_add_reduce(a, axis=None)) or bool(np.isfinite(a).all())


_add_reduce = np.add.reduce


def nonfinite_summary(a: np.ndarray) -> tuple[str, tuple[int, ...]]:
    """'nan at 2 of 6 elements' and the index of the first bad element."""
    bad = ~np.isfinite(a)
    kinds = [k for k, m in (("nan", np.isnan(a)), ("inf", np.isposinf(a)),
                            ("-inf", np.isneginf(a))) if m.any()]
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), a.shape))
    return f"{'/'.join(kinds)} at {int(bad.sum())} of {a.size} elements", first


def _values_at(tensors: Sequence[Tensor], shape: tuple, index: tuple) -> str:
    """Each input's value at ``index`` of a result of ``shape``, where it broadcasts."""
    parts = []
    for i, t in enumerate(tensors):
        a = t._data
        try:
            v = np.broadcast_to(a, shape)[index] if index else a.reshape(())
        except ValueError:
            continue
        parts.append(f"input {i} = {v.item()!r}")
    return f" (there: {', '.join(parts)})" if parts else ""


def _attrs_text(attrs: dict) -> str:
    shown = {k: v for k, v in attrs.items() if k != "value" and k[0] != "_"}
    return ", ".join(f"{k}={v!r}" for k, v in shown.items()) or "none"


def check_forward(fn: type, ctx: Any, recorded: bool, inputs: Sequence[Tensor], attrs: dict,
                  out: np.ndarray) -> None:
    """Anomaly mode, forward: remember where the op was created (on ``ctx`` when the op is
    ``recorded``); raise on a NaN/inf."""
    node = backward_of()
    if recorded:
        ctx._site = _Site(node)
    if node is not None or out.dtype.kind != "f" or all_finite(out):
        return  # (results computed inside a backward are checked by the engine)
    site = ctx._site if recorded else _Site(None)
    what, first = nonfinite_summary(out)
    shapes = ", ".join(str(t._data.shape) for t in inputs)
    msg = (f"{fn.__name__} produced {what} of its output (shape {out.shape}), first at index "
           f"{first}{_values_at(inputs, out.shape, first)}; input shapes: {shapes}; "
           f"attributes: {_attrs_text(attrs)}.")
    upstream = [i for i, t in enumerate(inputs)
                if t._data.dtype.kind == "f" and not np.isfinite(t._data).all()]
    if upstream:
        msg += (f" Input {upstream[0]} already held non-finite values, so the problem lies "
                f"upstream: in data or a parameter, or in a value computed with anomaly mode "
                f"off.")
    raise FloatingPointError(f"{msg}\n{fn.__name__} was called at:\n{site.describe()}")


class Checking:
    """What watches a backward pass in anomaly mode: each node is marked as the one being
    processed (so that what the engine records for it under create_graph is attributed to
    it, not checked as a forward op), and what its backward receives and returns is checked
    (:func:`checked_backward`)."""

    def __init__(self) -> None:
        self._token = set_backward_of(None)

    @staticmethod
    def backward(node: Any, g: Tensor) -> tuple:
        from .function import grads_of  # (function.py imports this module)

        set_backward_of(node)
        return grads_of(node, checked_backward(node, g))

    def done(self) -> None:
        reset_backward_of(self._token)


def checked_backward(node: Any, g: Tensor) -> Any:
    """Anomaly mode, backward: run ``node``'s backward, then check what it returned. (The
    engine has marked ``node`` as the node being processed.)"""
    if g._data.dtype.kind == "f" and not all_finite(g._data):
        what, first = nonfinite_summary(g._data)
        raise FloatingPointError(
            f"the gradient arriving at the output of {node.name} (shape {g.shape}) holds "
            f"{what}, first at index {first}: finite gradients from its consumers summed to "
            f"an overflow. {node.name} was created at:\n"
            f"{site_of(node)}")
    res = node.fn.backward(node, g)
    grads = res if isinstance(res, (tuple, list)) else (res,)
    for i, (t, gi) in enumerate(zip(node.inputs, grads)):
        if gi is None or not t.requires_grad:
            continue
        a = gi._data if isinstance(gi, Tensor) else np.asarray(gi)
        if a.dtype.kind != "f" or all_finite(a):
            continue
        what, first = nonfinite_summary(a)
        at = _values_at(node.inputs, a.shape, first) if a.shape == t._data.shape else ""
        raise FloatingPointError(
            f"{node.name}.backward produced {what} of the gradient for its input {i} "
            f"(shape {a.shape}), first at index {first}{at}; the gradient arriving at its "
            f"output was finite; attributes: {_attrs_text(node.attrs)}. {node.name} was "
            f"created at:\n{site_of(node)}")
    return res
