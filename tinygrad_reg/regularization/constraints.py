"""The max-norm constraint (Srivastava et al. 2014, section 5.1): after each optimizer step,
every unit's incoming weight vector is projected back into the ball of radius c."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .._guard import prepare_inplace
from .._tensor import Tensor
from ..autograd.modes import TRACE, mode
from ..trace import record
from .penalties import penalized_parameters


def _targets(params: Any, fn: str) -> list[Tensor]:
    if isinstance(params, Tensor):
        return [params]
    if callable(getattr(params, "named_parameters", None)) or \
            callable(getattr(params, "parameters", None)):
        found = penalized_parameters(params)
        if not found:
            raise ValueError(f"{fn}: the module {type(params).__name__} has no weights to "
                             f"constrain (biases, 1-D and normalization parameters are "
                             f"skipped); pass tensors explicitly")
        return found
    items = list(params)
    if not items:
        raise ValueError(f"{fn}: params is empty; there is nothing to constrain")
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: params[{i}] is a {type(t).__name__}, not a Tensor")
    return items


def max_norm_(params: Any, max_norm: float, dim: int = 0) -> None:
    """In place: every slice ``W.select(dim, i)`` of each weight W (for ``dim=0``, unit i's
    incoming weights: row i of a Linear weight (out, in), filter i of a Conv weight) whose L2
    norm exceeds ``max_norm`` = c is scaled to norm c; slices with norm <= c are left
    untouched, bitwise. ``dim`` indexes the units, as in ``torch.renorm`` (Keras's
    ``MaxNorm(axis)`` names the other axes instead).

    ``params``: a Tensor, a list of Tensors, or a Module (its weights: biases and
    normalization parameters are skipped, as for the penalties). Call it after
    ``opt.step()``; it is not part of the graph (a counted in-place write). Not a node: it
    has no gradient. ValueError for max_norm < 0 or not finite, or ``dim`` out of range.
    Inside a function that tg.jit traces, each weight's projection is one recorded kernel:
    every replay measures the rows again and projects those over the bound."""
    fn = "max_norm_"
    if isinstance(max_norm, (bool, np.bool_)) or not isinstance(
            max_norm, (int, float, np.number)) or not math.isfinite(float(max_norm)) or \
            max_norm < 0:
        raise ValueError(f"{fn}: max_norm must be a finite number >= 0, got {max_norm!r}")
    c = float(max_norm)
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{fn}: dim must be an int, got {dim!r}")
    targets = _targets(params, fn)
    for w in targets:
        if w.ndim == 0 or not -w.ndim <= dim < w.ndim:
            raise ValueError(f"{fn}: dim={dim} is out of range for a weight of shape {w.shape}"
                             f" (expected -{max(w.ndim, 1)} <= dim < {max(w.ndim, 1)})")
        if w._data.dtype.kind != "f":
            raise TypeError(f"{fn}: can only constrain floating-point tensors, got dtype "
                            f"{w._data.dtype}")
    for w in targets:
        d = dim % w.ndim
        axes = tuple(i for i in range(w.ndim) if i != d)
        _project(w, c, axes, w._data)
        if mode() & TRACE:  # one kernel: a tg.jit replay projects again, row by row
            record(functools.partial(_project, w, c, axes), (w._data,), w._data,
                   ("constraint", "max_norm_"))


def _project(w: Tensor, c: float, axes: tuple, traced: np.ndarray) -> np.ndarray:
    """Scale every slice of ``w`` (over ``axes``) whose L2 norm exceeds ``c`` to norm c, in
    place (a counted write, only when a slice changes); returns w's array. The decisions
    (which rows, whether any) are taken here, on the values of this call, so a tg.jit replay
    that runs this kernel again takes them again."""
    a = w._data
    a64 = a.astype(np.float64, copy=False)
    norms = np.sqrt(np.sum(a64 * a64, axis=axes, keepdims=True))
    over = norms > c
    if not over.any():
        return a
    factor = np.where(over, c / np.where(over, norms, 1.0), 1.0)
    new = (a64 * factor).astype(a.dtype)
    # rounding to the weight's dtype may land a hair above c: step those towards 0
    new_norms = np.sqrt(np.sum(new.astype(np.float64) ** 2, axis=axes, keepdims=True))
    high = over & (new_norms > c)
    if high.any():
        shrink = np.where(high, (1.0 - 4 * np.finfo(a.dtype).eps), 1.0)
        new = (new * shrink).astype(a.dtype)
    # rows under the bound keep their old values, bitwise; the write is counted (a graph
    # that saved w refuses to backward), as any in-place change of a parameter
    np.copyto(prepare_inplace(w), np.where(over, new, a))
    return w._data


__all__ = ["max_norm_"]
