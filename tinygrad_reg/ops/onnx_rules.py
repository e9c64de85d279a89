"""The pieces an op's ONNX mapping is written with: its ``to_onnx`` facet.

An op class maps itself to ONNX with a static method in its body::

    class Exp(Function):
        ...
        to_onnx = onnx_rules.simple("Exp")          # one ONNX node of the same inputs

    class Pow(Function):
        ...
        @staticmethod
        def to_onnx(g, inputs, attrs, arrays, out):
            return g.node("Pow", [inputs[0], onnx_rules.scalar(g, attrs["exponent"], out)])

``g`` is the export's graph builder (:class:`tinygrad_reg.onnx.Builder`: ``g.node``,
``g.const``, ``g.ints``, ``g.cast``, ``g.reduce``; ``g.opset``, ``g.dynamic_batch`` and, per
input, ``g.in_batched``), ``inputs`` the ONNX names of the op's inputs, ``attrs`` its keyword
attributes, ``arrays`` the traced input arrays and ``out`` the traced output (for dtypes and
shapes); it returns the name of the result. :mod:`tinygrad_reg.onnx` finds the mapping along
the class's MRO (so ``Conv2d`` uses ``Conv``'s) and keeps the registry of mappings for ops
that cannot carry their own.

This module is the ground floor of that facet: numpy only, so an op never imports the
exporter (nor the ``onnx`` package, which is needed only to export).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

INT64_MAX = int(np.iinfo(np.int64).max)


class ExportError(ValueError):
    """An op or a shape that cannot be exported, named in the message."""


def follows_batch(mapping: Callable) -> Callable:
    """Mark a mapping that handles attributes which follow the batch size (a reshape to
    ``(batch, -1)``): it reads them in ``g.batch_dependent`` and makes the batch dim
    symbolic, instead of the export refusing them."""
    mapping.follows_batch = True
    return mapping


def typed(g: Any, name: str, arr: np.ndarray, dtype: Any) -> str:
    """``name`` as ``dtype``: a Cast node when the traced array has another dtype."""
    return name if arr.dtype == np.dtype(dtype) else g.cast(name, dtype)


def scalar(g: Any, value: Any, like: np.ndarray) -> str:
    """A 0-d initializer holding ``value`` in the dtype of ``like``."""
    return g.const(np.asarray(value, dtype=like.dtype))


def simple(op_type: str, **fixed: Any) -> Callable:
    """The mapping to one ONNX node ``op_type`` of the op's inputs (each cast to the
    output's dtype where the traced input has another), with the attributes ``fixed``."""
    def mapping(g: Any, inputs: list[str], attrs: dict, arrays: list, out: np.ndarray) -> str:
        return g.node(op_type, [typed(g, n, arr, out.dtype) for n, arr in zip(inputs, arrays)],
                      **fixed)
    mapping.__qualname__ = f"simple({op_type!r})"
    return mapping


def reducer(op_type: str) -> Callable:
    """The mapping of a reduction with ``axis`` and ``keepdims`` attributes to the ONNX
    reduction ``op_type`` (``ReduceSum``, ``ReduceMean``, ...)."""
    def mapping(g: Any, inputs: list[str], attrs: dict, arrays: list, out: np.ndarray) -> str:
        return g.reduce(op_type, inputs[0], attrs["axis"], attrs["keepdims"], arrays[0].ndim)
    mapping.__qualname__ = f"reducer({op_type!r})"
    return mapping


def first_input(g: Any, inputs: list[str], attrs: dict, arrays: list, out: np.ndarray) -> str:
    """The identity on the first input: a noise op's eval-mode behaviour (a traced mask or
    noise input is left out of the graph)."""
    return g.node("Identity", [inputs[0]])


def axes_tuple(axes: Any, ndim: int) -> tuple:
    """An ``axis`` attribute (None: all, an int, or a sequence) as a tuple of axes."""
    if axes is None:
        return tuple(range(ndim))
    return (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)


def pads(padding: Any) -> list[int]:
    """((lo, hi) per spatial dim) as ONNX's pads: every lo, then every hi."""
    return [int(lo) for lo, _ in padding] + [int(hi) for _, hi in padding]


__all__ = ["ExportError", "follows_batch", "typed", "scalar", "simple", "reducer",
           "first_input", "axes_tuple", "pads", "INT64_MAX"]
