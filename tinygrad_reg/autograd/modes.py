"""The recording state: grad mode, anomaly mode, the module scope, and the node whose
backward the engine is running (anomaly mode's attribution). The third flag, TRACE, is set
by :mod:`tinygrad_reg.trace` (the tracer protocol of ONNX export and tg.jit).

Each lives in a :class:`contextvars.ContextVar`, so it is per thread (and per asyncio task):
a new thread starts with grad mode on, anomaly mode off and an empty scope, whatever other
threads are doing, as PyTorch's thread-local grad mode. Grad mode and anomaly mode share one
integer of flags, so the hot path of every op reads one variable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

GRAD = 1  # ops are recorded for backward
ANOMALY = 2  # results are checked for NaN/inf and ops remember their source line
TRACE = 4  # a tracer sees every op that runs (see tinygrad_reg.trace)

_mode: ContextVar[int] = ContextVar("tinygrad_reg.mode", default=GRAD)
#: The current flags (``mode() & GRAD`` ...): one call on the hot path of every op.
mode = _mode.get
set_mode = _mode.set
reset_mode = _mode.reset


class Scope(tuple):
    """The modules whose forward is running, outermost first (recorded on each node as
    ``Context.scope``, for drawing). A tuple of modules, made afresh by every module call,
    so its identity names that *call*: two calls of one module (``lin(lin(x))``) give two
    scopes, equal but distinct objects. ``outer`` is the scope of the enclosing call (the
    empty scope at the top, whose ``outer`` is None), so every enclosing call can be told
    apart too. Made once per module call, never per op."""

    outer: Scope | None

    def enter(self, module: Any) -> Scope:
        """The scope of a call of ``module`` made inside this one."""
        inner = Scope((*self, module))
        inner.outer = self
        return inner


_ROOT = Scope()
_ROOT.outer = None

# The scope of the running module call (recorded on each node, for drawing).
_scope: ContextVar[tuple] = ContextVar("tinygrad_reg.scope", default=_ROOT)
scope = _scope.get
set_scope = _scope.set
reset_scope = _scope.reset

# In anomaly mode, the node whose backward the engine is running (None outside backward):
# ops created meanwhile are attributed to it.
_backward_of: ContextVar[Any] = ContextVar("tinygrad_reg.backward_of", default=None)
backward_of = _backward_of.get
set_backward_of = _backward_of.set
reset_backward_of = _backward_of.reset


def is_grad_enabled() -> bool:
    """Whether ops are being recorded for backward (in this thread)."""
    return bool(_mode.get() & GRAD)


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in this thread (see :class:`detect_anomaly`)."""
    return bool(_mode.get() & ANOMALY)


def _with_flag(flag: int, on: bool) -> int:
    m = _mode.get()
    return m | flag if on else m & ~flag


class _ModeBlock:
    """A context manager (and decorator) that sets one flag inside a block and restores the
    previous state on exit. Re-entrant: one object may be entered again while in use."""

    _flag = GRAD
    _on = True

    def __init__(self) -> None:
        self._tokens: list = []

    def __enter__(self) -> None:
        self._tokens.append(_mode.set(_with_flag(self._flag, self._on)))

    def __exit__(self, *exc: Any) -> None:
        _mode.reset(self._tokens.pop())

    def __call__(self, func: Callable) -> Callable:
        flag, on = self._flag, self._on

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _mode.set(_with_flag(flag, on))
            try:
                return func(*args, **kwargs)
            finally:
                _mode.reset(token)

        return wrapper


class no_grad(_ModeBlock):
    """Record nothing inside: ops are plain numpy calls (in this thread).

    Use as ``with tg.no_grad():`` or as a decorator, ``@tg.no_grad()``.
    """

    _on = False


class enable_grad(_ModeBlock):
    """Record ops again inside a ``no_grad`` region."""


class set_grad_enabled(_ModeBlock):
    """Turn grad mode on or off in this thread, as PyTorch's ``set_grad_enabled``: called as
    a function it takes effect at once (``tg.set_grad_enabled(False)``); used as
    ``with tg.set_grad_enabled(mode):`` or as a decorator it applies to the block or the
    function and the previous mode comes back afterwards."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self._on = bool(mode)
        # Like PyTorch: the call itself sets the mode; __exit__ (or the decorator) undoes it.
        self._tokens.append(_mode.set(_with_flag(GRAD, self._on)))

    def __enter__(self) -> None:
        if not self._tokens:  # entered again after an exit
            super().__enter__()

    def __call__(self, func: Callable) -> Callable:
        if self._tokens:  # used as a decorator: undo what the constructor set
            _mode.reset(self._tokens.pop())
        return super().__call__(func)


def set_anomaly_enabled(mode: bool) -> None:
    """Turn anomaly mode on or off in this thread, for code that cannot use
    ``with tg.detect_anomaly():``."""
    _mode.set(_with_flag(ANOMALY, bool(mode)))


class detect_anomaly(_ModeBlock):
    """Find the first op that makes a NaN or an infinity, forward or backward.

    Inside ``with tg.detect_anomaly():`` (or a function decorated ``@tg.detect_anomaly()``):

    - forward: the first op whose output holds a NaN or ±inf raises ``FloatingPointError``
      naming the op, its attributes, its input shapes (and input values at the first bad
      element) and the line of *your* code that called it;
    - backward: every recorded op remembers that line; the first op whose backward returns a
      non-finite gradient raises ``FloatingPointError`` naming the op, the input whose
      gradient it is, and where the op was created in forward. A non-finite gradient
      arriving at an op (a root gradient, or a sum of gradients that overflowed) is
      reported too. A node refusing to backward because a value it saved was changed in
      place also names that line.

    Outside the mode nothing is checked or recorded; the cost is one flag test per op.
    Inside, each recorded op walks the call stack once to find its source line, and every
    result is scanned with ``np.isfinite``: a debugging mode, not a training mode. An op
    that makes an infinity on purpose and masks it away later (``where(x > 0, log(x), 0)``)
    is reported too: in anomaly mode, compute the masked-away branch on safe values.
    The mode is per thread, like grad mode.
    """

    _flag = ANOMALY


class module_scope:
    """Record ``module`` as enclosing every op run inside the block (``Context.scope``).

    ``Module.__call__`` does the same inline, so a rendered graph can draw one cluster per
    module.
    """

    def __init__(self, module: Any) -> None:
        self._module = module
        self._tokens: list = []

    def __enter__(self) -> None:
        self._tokens.append(_scope.set(_scope.get().enter(self._module)))

    def __exit__(self, *exc: Any) -> None:
        _scope.reset(self._tokens.pop())


__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
           "set_anomaly_enabled", "is_anomaly_enabled", "module_scope"]
