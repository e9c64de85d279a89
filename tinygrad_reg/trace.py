"""The tracer protocol that ONNX export and tg.jit share: watch a step run, then compare two
runs of it.

``with traced(tracer):`` turns the TRACE flag on (one bit of the mode every op reads) and
makes ``tracer`` see the step's work through these calls, each optional on the tracer:

- ``op(cls, inputs, attrs, out, ctx)``: an op ran (from ``Function.apply``);
- ``kernel(fn, inputs, out, key)``: numpy work outside ops ran — the engine's sums and
  copies of gradients, optimizer updates, in-place writes, random draws (:func:`record`);
- ``watch(obj)``: a module was called or an optimizer stepped (:func:`watch`);
- ``leaf_grad(t, previous=None)``: backward gave leaf ``t`` its ``.grad``;
- ``python_read(t, what)``: a Python value was read from tensor ``t`` (``item()``,
  ``bool()``...; :func:`python_read`).
- ``index_read(t, what)``: tensor ``t``'s values chose positions an op holds as constants
  (``x[t]``, a mask...; :func:`index_read`).

Outside a trace each of these costs the caller one flag test. Two traces of one step are
compared record by record (:func:`first_divergence`), values bound into them by their bits
(:func:`same`), so that a difference names the op or kernel where the two runs parted.

Objects whose attributes a replay relies on (modules, optimizers) keep a change counter,
``_version``, bumped whenever a parameter, buffer, sub-module, group or state is assigned
anew; a tracer compares it between the trace and later calls.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np

from .autograd.modes import TRACE, _mode

_tracer: ContextVar[Any] = ContextVar("tinygrad_reg.tracer", default=None)
#: The tracer of the running trace (None outside one).
tracer = _tracer.get


class traced:  # noqa: N801 - used as a context manager, like no_grad
    """``with traced(tracer):`` runs the block with the TRACE flag on and ``tracer`` seeing
    every op (ONNX export and tg.jit record a model's work this way)."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    def __enter__(self) -> Any:
        self._tokens = (_mode.set(_mode.get() | TRACE), _tracer.set(self._tracer))
        return self._tracer

    def __exit__(self, *exc: Any) -> None:
        _tracer.reset(self._tokens[1])
        _mode.reset(self._tokens[0])


def _tell(method: str, *args: Any) -> None:
    fn = getattr(_tracer.get(), method, None)
    if fn is not None:
        fn(*args)


def record(fn: Callable, inputs: tuple, out: Any, key: Any = None) -> None:
    """Tell the tracer, if any, that ``out = fn(*inputs)`` ran (``out`` None, or one of the
    inputs, for an in-place write): a kernel that tg.jit can run again. ``fn`` must compute
    everything that depends on values from its arguments at call time (a random draw reads
    its generator then). Callers check ``mode() & TRACE`` first, so this costs nothing
    outside a trace."""
    _tell("kernel", fn, inputs, out, key)


def watch(obj: Any) -> None:
    """``obj`` (a module called, an optimizer stepping) takes part in the traced step: a
    replay holds only while its ``_version`` stays as traced. A no-op outside a trace."""
    if _mode.get() & TRACE:
        _tell("watch", obj)


def python_read(t: Any, what: str) -> None:
    """Tell the tracer, if any, that a Python value is read from the tensor ``t`` (``what``
    names how: ``"Tensor.item()"``, ``"bool() of a tensor"``...). tg.jit's tracer refuses
    it: the function's Python does not run on replays, so a number or a decision taken from
    the data would stay the traced one. Outside a trace this costs one flag test."""
    if _mode.get() & TRACE:
        _tell("python_read", t, what)


def index_read(t: Any, what: str) -> None:
    """Tell the tracer, if any, that the values of tensor ``t`` choose positions (``what``:
    ``"x[t]"``, ``"masked_select's mask"``...) that the op then holds as constants. tg.jit's
    tracer refuses it when ``t`` is an argument of the jitted function or made by its kernels
    (a replay would keep the traced positions while the data moves on); a constant index
    made in the function is compared between the two traces as any constant is. Outside a
    trace this costs one flag test."""
    if _mode.get() & TRACE:
        _tell("index_read", t, what)


def first_divergence(a: list, b: list, differ: Callable[[Any, Any], bool]) -> int | None:
    """Where two traces of one step part: the index of the first pair of records that
    ``differ``, the shorter length when one trace ran more records, or None when they agree
    record for record."""
    for i, (x, y) in enumerate(zip(a, b)):
        if differ(x, y):
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def same(a: Any, b: Any) -> bool:
    """Whether two values recorded by two traces (op attributes, constants, values bound into
    a recorded function) are the same value: one object; numbers of one type with the same
    bits (0.0 and -0.0 differ, a NaN equals a NaN of the same bits); arrays by shape, dtype
    and bytes; containers element by element; other objects by ``==``."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and
                a.shape == b.shape and a.dtype == b.dtype):
            return False
        if a.dtype.hasobject:
            return bool(np.array_equal(a, b))
        return a.tobytes() == b.tobytes()
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return _bits(a) == _bits(b)
    if isinstance(a, np.generic):
        return a.tobytes() == b.tobytes()
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, slice):
        return same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if type(a).__eq__ is object.__eq__:  # (compared by identity, above)
        return False
    try:
        eq = a == b
    except Exception:  # noqa: BLE001 - objects without a clean ==
        return False
    return eq if isinstance(eq, bool) else False  # (Tensor's == builds a tensor)


_bits = struct.Struct("<d").pack  # a float's 8 bytes


__all__ = ["traced", "tracer", "record", "watch", "python_read", "index_read",
           "first_divergence", "same"]
