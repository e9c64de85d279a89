"""The op contract (Function, Context) and the reverse-mode engine.

An op is a subclass of :class:`Function` with two static methods::

    forward(ctx, *arrays, **attrs) -> ndarray      # numpy in, numpy out
    backward(ctx, grad) -> grad or tuple of grads  # Tensor in, Tensors out (one per input)

``Function.apply(*tensors, **attrs)`` runs ``forward`` and, when grad mode is on and an
input requires grad, records a :class:`Context` as the output's ``grad_fn``. The engine
walks those nodes in reverse topological order without recursion, reduces broadcast
gradients back to each input's shape (the only place this happens), accumulates, and
frees saved values as it goes.
"""

from __future__ import annotations

import functools
import linecache
import math
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .tensor import OPS, Tensor, to_array

# The grad-mode flag and the anomaly flag: two of the three pieces of global state the
# project allows (the third is the default random generator).
_grad_enabled = True
_anomaly_enabled = False
# In anomaly mode, the node whose backward the engine is running (None outside backward):
# ops created meanwhile are attributed to it, and their outputs are checked by the engine.
_backward_of: Context | None = None
# The modules whose forward is running, outermost first (recorded on each node for viz).
_scope: tuple = ()
_new_tensor = Tensor.__new__
_ndarray = np.ndarray


def is_grad_enabled() -> bool:
    """Whether ops are being recorded for backward."""
    return _grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    _mode = True

    def __enter__(self) -> None:
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = self._mode

    def __exit__(self, *exc: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, func: Callable) -> Callable:
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Record nothing inside: ops are plain numpy calls.

    Use as ``with tg.no_grad():`` or as a decorator, ``@tg.no_grad()``.
    """

    _mode = False


class enable_grad(_GradMode):
    """Record ops again inside a ``no_grad`` region."""

    _mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode to ``mode`` inside the block (or the decorated function)."""

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)


# -- anomaly mode ------------------------------------------------------------------------

def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on (see :class:`detect_anomaly`)."""
    return _anomaly_enabled


def set_anomaly_enabled(mode: bool) -> None:
    """Turn anomaly mode on or off, for code that cannot use ``with tg.detect_anomaly():``."""
    global _anomaly_enabled
    _anomaly_enabled = bool(mode)


class detect_anomaly:
    """Find the first op that makes a NaN or an infinity, forward or backward.

    Inside ``with tg.detect_anomaly():`` (or a function decorated ``@tg.detect_anomaly()``):

    - forward: the first op whose output holds a NaN or ±inf raises ``FloatingPointError``
      naming the op, its attributes, its input shapes (and input values at the first bad
      element) and the line of *your* code that called it;
    - backward: every recorded op remembers that line; the first op whose backward returns a
      non-finite gradient raises ``FloatingPointError`` naming the op, the input whose
      gradient it is, and where the op was created in forward. A non-finite gradient
      arriving at an op (a root gradient, or a sum of gradients that overflowed) is
      reported too.

    Outside the mode nothing is checked or recorded; the cost is one flag test per op.
    Inside, each recorded op walks the call stack once to find its source line, and every
    result is scanned with ``np.isfinite``: a debugging mode, not a training mode. An op
    that makes an infinity on purpose and masks it away later (``where(x > 0, log(x), 0)``)
    is reported too: in anomaly mode, compute the masked-away branch on safe values.
    """

    def __enter__(self) -> None:
        global _anomaly_enabled
        self._prev = _anomaly_enabled
        _anomaly_enabled = True

    def __exit__(self, *exc: Any) -> None:
        global _anomaly_enabled
        _anomaly_enabled = self._prev

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return func(*args, **kwargs)

        return wrapper


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class _Site:
    """Where an op was created: the first caller outside this package, or (for an op made
    by another op's backward under ``create_graph=True``) that op."""

    __slots__ = ("filename", "lineno", "function", "backward_of")

    def __init__(self, backward_of: Context | None) -> None:
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
            _site_of(node)


def _site_of(node: Context) -> str:
    site = node.__dict__.get("_site")
    if site is None:
        return "  (not recorded: the op was created while anomaly mode was off)"
    return site.describe()


def _all_finite(a: np.ndarray) -> bool:
    """No NaN and no ±inf in ``a``. A finite sum proves it (any NaN or inf would make the
    sum NaN or inf) and costs less than ``np.isfinite(a).all()``, which settles the rest."""
    return math.isfinite(_add_reduce(a, axis=None)) or bool(np.isfinite(a).all())


_add_reduce = np.add.reduce


def _nonfinite_summary(a: np.ndarray) -> tuple[str, tuple[int, ...]]:
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
        a = t.data
        try:
            v = np.broadcast_to(a, shape)[index] if index else a.reshape(())
        except ValueError:
            continue
        parts.append(f"input {i} = {v.item()!r}")
    return f" (there: {', '.join(parts)})" if parts else ""


def _attrs_text(attrs: dict) -> str:
    shown = {k: v for k, v in attrs.items() if k != "value"}
    return ", ".join(f"{k}={v!r}" for k, v in shown.items()) or "none"


def _check_forward(fn: type, ctx: Any, inputs: Sequence[Tensor], attrs: dict,
                   out: np.ndarray) -> None:
    """Anomaly mode, forward: remember where the op was created; raise on a NaN/inf."""
    if ctx is not _NO_CONTEXT:
        ctx._site = _Site(_backward_of)
    if _backward_of is not None or out.dtype.kind != "f" or _all_finite(out):
        return  # (results computed inside a backward are checked by the engine)
    site = ctx._site if ctx is not _NO_CONTEXT else _Site(None)
    what, first = _nonfinite_summary(out)
    shapes = ", ".join(str(t.data.shape) for t in inputs)
    msg = (f"{fn.__name__} produced {what} of its output (shape {out.shape}), first at index "
           f"{first}{_values_at(inputs, out.shape, first)}; input shapes: {shapes}; "
           f"attributes: {_attrs_text(attrs)}.")
    upstream = [i for i, t in enumerate(inputs)
                if t.data.dtype.kind == "f" and not np.isfinite(t.data).all()]
    if upstream:
        msg += (f" Input {upstream[0]} already held non-finite values, so the problem lies "
                f"upstream: in data or a parameter, or in a value computed with anomaly mode "
                f"off.")
    raise FloatingPointError(f"{msg}\n{fn.__name__} was called at:\n{site.describe()}")


def _checked_backward(node: Context, g: Tensor) -> Any:
    """Anomaly mode, backward: run ``node``'s backward, then check what it returned. (The
    engine has set ``_backward_of`` to ``node``.)"""
    if g.data.dtype.kind == "f" and not _all_finite(g.data):
        what, first = _nonfinite_summary(g.data)
        raise FloatingPointError(
            f"the gradient arriving at the output of {node.name} (shape {g.shape}) holds "
            f"{what}, first at index {first}: finite gradients from its consumers summed to "
            f"an overflow. {node.name} was created at:\n"
            f"{_site_of(node)}")
    res = node.fn.backward(node, g)
    grads = res if isinstance(res, (tuple, list)) else (res,)
    for i, (t, gi) in enumerate(zip(node.inputs, grads)):
        if gi is None or not t.requires_grad:
            continue
        a = gi.data if isinstance(gi, Tensor) else np.asarray(gi)
        if a.dtype.kind != "f" or _all_finite(a):
            continue
        what, first = _nonfinite_summary(a)
        at = _values_at(node.inputs, a.shape, first) if a.shape == t.data.shape else ""
        raise FloatingPointError(
            f"{node.name}.backward produced {what} of the gradient for its input {i} "
            f"(shape {a.shape}), first at index {first}{at}; the gradient arriving at its "
            f"output was finite; attributes: {_attrs_text(node.attrs)}. {node.name} was "
            f"created at:\n{_site_of(node)}")
    return res


def wrap(array: np.ndarray) -> Tensor:
    """A constant Tensor around ``array`` (no copy, no checks): the engine's fast path."""
    t = _new_tensor(Tensor)
    t.data = array
    t.grad = None
    t.requires_grad = False
    t.grad_fn = None
    t.name = None
    return t


class module_scope:
    """Record ``module`` as enclosing every op run inside the block (``Context.scope``).

    ``Module.__call__`` uses it, so a rendered graph can draw one cluster per module.
    """

    def __init__(self, module: Any) -> None:
        self._module = module

    def __enter__(self) -> None:
        global _scope
        self._prev = _scope
        _scope = _scope + (self._module,)

    def __exit__(self, *exc: Any) -> None:
        global _scope
        _scope = self._prev


class _NoContext:
    """Stands in for ``ctx`` when nothing is recorded: saving and attributes are no-ops."""

    __slots__ = ()
    needs_input_grad = ()

    def save_for_backward(self, *arrays: Any) -> None:
        pass

    def __setattr__(self, name: str, value: Any) -> None:
        pass


_NO_CONTEXT = _NoContext()


class Context:
    """One node of the graph: which op ran, on which inputs, with which attributes.

    It is the ``ctx`` that ``forward`` and ``backward`` receive and the ``grad_fn`` of
    the op's output. ``forward`` may set any attribute on it (``ctx.delta = delta``) and
    keep arrays with :meth:`save_for_backward`; ``backward`` reads them back, saved arrays
    as Tensors via :attr:`saved_tensors`.
    """

    __slots__ = ("fn", "inputs", "attrs", "needs_input_grad", "_saved", "_out", "_grad",
                 "_freed", "scope", "out_shape", "out_dtype", "__dict__")

    @property
    def name(self) -> str:
        """The op's name (its Function class name), as shown in graphs and errors."""
        return self.fn.__name__

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep references (never copies) to arrays that ``backward`` needs."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        """The saved arrays as Tensors.

        An array that is one of the op's inputs comes back as that input's own Tensor, and
        the op's output as the output Tensor, so a backward written in Tensor ops stays
        connected to the graph and can be differentiated again; any other array comes back
        as a constant.
        """
        if self._freed:
            raise RuntimeError(_freed_message(self))
        out = self._out() if self._out is not None else None
        result = []
        for a in self._saved:
            if isinstance(a, Tensor):
                result.append(a)
                continue
            for t in self.inputs:
                if t.data is a:
                    result.append(t)
                    break
            else:
                result.append(out if out is not None and out.data is a else wrap(np.asarray(a)))
        return tuple(result)

    def __repr__(self) -> str:
        attrs = "".join(f" {k}={v!r}" for k, v in self.attrs.items())
        return f"<{self.name}{attrs}>"


def _freed_message(node: Context) -> str:
    return (f"{node.name}: trying to backward through the graph a second time (or to read "
            f"saved values after they were freed). Pass retain_graph=True to the first "
            f"backward() if you need to backward through it again.")


def _op_error(fn: type, err: Exception, tensors: Sequence[Tensor], attrs: dict) -> Exception:
    shapes = ", ".join(str(t.data.shape) for t in tensors)
    extra = "".join(f", {k}={v!r}" for k, v in attrs.items() if k != "value")
    return type(err)(f"{fn.__name__}: {err} (input shapes: {shapes}{extra})")


class Function:
    """Base class of every op, built-in or user-defined (PyTorch style).

    Subclasses define ``forward(ctx, *arrays, **attrs)`` in numpy and
    ``backward(ctx, grad)`` returning one gradient per input (None where there is none).
    Write ``backward`` in Tensor ops to make the op differentiable any number of times;
    a backward that returns ndarrays is accepted but once-differentiable: asking for a
    second derivative through it raises ``RuntimeError`` naming the op. Call ops with
    ``MyOp.apply(*tensors, **attrs)``; keyword attributes reach ``forward`` and are shown
    on the op's node in rendered graphs.
    """

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        """Run the op on ``inputs`` (Tensors; anything else becomes a constant Tensor)."""
        # This is the hot path of every op: one pass over the inputs, no helper calls.
        record = False
        for t in inputs:
            if not isinstance(t, Tensor):
                inputs = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
                record = any(x.requires_grad for x in inputs)
                break
            if t.requires_grad:
                record = True
        ctx = _NO_CONTEXT
        n = len(inputs)
        if record and _grad_enabled:
            ctx = Context()
            ctx.fn = cls
            ctx.inputs = inputs
            ctx.attrs = attrs
            # (spelled out for one and two inputs: a comprehension costs more than the op's
            # other bookkeeping together)
            if n == 1:
                ctx.needs_input_grad = (True,)
            elif n == 2:
                ctx.needs_input_grad = (inputs[0].requires_grad, inputs[1].requires_grad)
            else:
                ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
            ctx._saved = ()
            ctx._out = None
            ctx._grad = None
            ctx._freed = False
            ctx.scope = _scope
        try:
            if n == 1:
                out = cls.forward(ctx, inputs[0].data, **attrs)
            elif n == 2:
                out = cls.forward(ctx, inputs[0].data, inputs[1].data, **attrs)
            else:
                out = cls.forward(ctx, *[t.data for t in inputs], **attrs)
        except (ValueError, IndexError) as err:
            raise _op_error(cls, err, inputs, attrs) from err
        if type(out) is not _ndarray:
            raw, out = out, np.asarray(out)
            # numpy gives scalars for 0-d results: a saved output must be the array we keep,
            # or saved_tensors would return it as a constant and cut the second derivative
            if ctx is not _NO_CONTEXT and ctx._saved:
                ctx._saved = tuple(out if s is raw else s for s in ctx._saved)
        if _anomaly_enabled:
            _check_forward(cls, ctx, inputs, attrs, out)
        result = _new_tensor(Tensor)
        result.data = out
        result.grad = None
        result.name = None
        if ctx is _NO_CONTEXT or out.dtype.kind not in "fc":  # int/bool results carry no grad
            result.requires_grad = False
            result.grad_fn = None
            return result
        result.requires_grad = True
        result.grad_fn = ctx
        for a in ctx._saved:
            if a is out:
                ctx._out = weakref.ref(result)
                break
        return result


class _OnceDifferentiable(Function):
    """Stands for a gradient computed by a numpy backward; differentiating it again fails."""

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, value: np.ndarray, op: str) -> np.ndarray:
        return value

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Any:
        op = ctx.attrs["op"]
        raise RuntimeError(
            f"{op}: its backward returns numpy arrays, so it is once-differentiable; a "
            f"second derivative through {op} is not available. Write {op}.backward with "
            f"Tensor ops to make it differentiable again.")


# -- the engine --------------------------------------------------------------------------

def _as_tensors(x: Any, what: str) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    if isinstance(x, (list, tuple)):
        return tuple(x)
    raise TypeError(f"{what}: expected a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _root_grads(roots: tuple, grads: Any, what: str) -> list:
    grads = _as_tensors(grads, what) if grads is not None else (None,) * len(roots)
    if len(grads) != len(roots):
        raise ValueError(f"{what}: got {len(roots)} outputs but {len(grads)} gradients")
    result = []
    for i, (r, g) in enumerate(zip(roots, grads)):
        if not isinstance(r, Tensor):
            raise TypeError(f"{what}: output {i} is a {type(r).__name__}, not a Tensor")
        if not r.requires_grad:
            raise RuntimeError(f"{what}: output {i} does not require grad and has no grad_fn; "
                               f"did you compute it under no_grad() or from tensors with "
                               f"requires_grad=False?")
        if g is None:
            if r.data.size != 1:
                raise RuntimeError(
                    f"{what}: grad can be implicitly created only for one-element outputs; "
                    f"output {i} has shape {r.shape}. Pass grad= of that shape, or reduce "
                    f"the output first (e.g. .sum()).")
            g = wrap(np.ones(r.data.shape, r.data.dtype))  # (ones_like: a Python-level call)
        else:
            if not isinstance(g, Tensor):
                g = Tensor(to_array(g, r.dtype))
            if _anomaly_enabled and g.dtype.kind == "f" and not _all_finite(g.data):
                bad, first = _nonfinite_summary(g.data)
                raise FloatingPointError(f"{what}: the gradient given for output {i} holds "
                                         f"{bad}, first at index {first}")
            if g.shape != r.shape:
                raise ValueError(f"{what}: grad has shape {g.shape} but output {i} has shape "
                                 f"{r.shape}; they must match")
            if g.dtype != r.dtype:
                g = g.astype(r.dtype)
        result.append(g)
    return result


def _fit(node: Context, g: Any, t: Tensor, upstream: Tensor, create_graph: bool) -> Tensor:
    """Make ``g`` a Tensor gradient for input ``t``: wrap, unbroadcast, cast dtype."""
    if not isinstance(g, Tensor):
        g = wrap(np.asarray(g))
        if create_graph:
            g = _OnceDifferentiable.apply(upstream, *node.inputs, value=g.data, op=node.name)
    if g.data.shape != t.data.shape:
        try:
            g = OPS["sum_to"](g, t.data.shape)
        except ValueError:
            raise RuntimeError(f"{node.name}: backward returned a gradient of shape {g.shape} "
                               f"for input {_position(node.inputs, t)} of shape {t.shape}"
                               ) from None
    if g.data.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    return g


def _position(items: tuple, item: Any) -> int:
    """The index of ``item`` in ``items`` by identity (Tensor's == builds a tensor)."""
    return next(i for i, x in enumerate(items) if x is item)


def _run(roots: tuple, grads: list, retain_graph: bool, create_graph: bool,
         targets: dict | None) -> dict:
    """Backpropagate from ``roots``. Gradients go to leaves' ``.grad`` or, when ``targets``
    (id -> Tensor) is given, only into the returned dict (id -> gradient)."""
    # 1. count, for each node, how many nodes of this graph consume its output
    deps: dict[Context, int] = {}
    stack = []
    for r in roots:
        n = r.grad_fn
        if n is not None and n not in deps:
            deps[n] = 0
            stack.append(n)
    starts = stack[:]  # every other node is consumed by one of these, so starts with deps >= 1
    while stack:
        n = stack.pop()
        if n._freed:
            raise RuntimeError(_freed_message(n))
        for t in n.inputs:
            f = t.grad_fn
            if f is not None:
                if f in deps:
                    deps[f] += 1
                else:
                    deps[f] = 1
                    stack.append(f)

    anomaly = _anomaly_enabled
    captured: dict[int, Tensor] = {}
    target_nodes = {}
    if targets is not None:
        target_nodes = {t.grad_fn: k for k, t in targets.items() if t.grad_fn is not None}

    # Each leaf's .grad must be its own array (optimizers and users may change it in place),
    # but the engine passes arrays through (Add hands the same grad to both inputs, Reshape
    # returns a view): copy a gradient that is a view or was already handed out.
    handed_out = set()
    for g in grads:
        handed_out.add(id(g.data))
    # Arrays this pass allocated for a sum of gradients (or a leaf's private copy) and that
    # only one slot holds (a leaf's .grad, or a node's pending _grad): later gradients are
    # added into them in place. A node's array leaves the set when the node consumes it, as
    # its backward may hand it on.
    owned: set[int] = set()

    def accumulate(prev: Tensor, g: Tensor) -> Tensor:
        if create_graph:
            return prev + g
        if id(prev.data) in owned:
            prev.data += g.data
            return prev
        total = wrap(prev.data + g.data)
        owned.add(id(total.data))
        return total

    def deliver(t: Tensor, g: Tensor) -> None:
        if targets is None:
            if t.grad is None:
                if not create_graph and (g.data.base is not None or id(g.data) in handed_out):
                    g = wrap(g.data.copy())
                    owned.add(id(g.data))
                handed_out.add(id(g.data))
                t.grad = g
            else:
                t.grad = accumulate(t.grad, g)
        elif id(t) in targets:
            k = id(t)
            captured[k] = g if k not in captured else captured[k] + g

    # 2. Kahn's algorithm: a node runs once every consumer has passed its gradient on.
    # Grad mode is set as set_grad_enabled(create_graph) would, without its object.
    # In anomaly mode, _backward_of names the node being processed, so that what the engine
    # itself records for it under create_graph (its backward's ops, unbroadcasting, sums of
    # gradients) is attributed to it and checked here, not as user-level forward ops.
    global _grad_enabled, _backward_of
    prev_mode, _grad_enabled = _grad_enabled, create_graph
    prev_of = _backward_of
    try:
        for r, g in zip(roots, grads):
            if r.grad_fn is None:
                deliver(r, g)
            else:
                prev = r.grad_fn._grad
                r.grad_fn._grad = g if prev is None else prev + g
        ready = [n for n in starts if deps[n] == 0]
        while ready:
            node = ready.pop()
            if anomaly:
                _backward_of = node
            g = node._grad
            node._grad = None
            if owned and g is not None:
                owned.discard(id(g.data))
            if target_nodes and g is not None and node in target_nodes:
                captured[target_nodes[node]] = g
            inputs = node.inputs
            if g is None:  # nothing flowed into this node: just release its parents
                res = (None,) * len(inputs)
            else:
                res = _checked_backward(node, g) if anomaly else node.fn.backward(node, g)
                if type(res) is not tuple:
                    res = tuple(res) if isinstance(res, list) else (res,)
                if len(res) != len(inputs):
                    raise RuntimeError(f"{node.name}: backward returned {len(res)} gradients "
                                       f"for {len(inputs)} inputs")
            parents = []  # what the node keeps of its inputs once freed
            for t, gi in zip(inputs, res):
                f = t.grad_fn
                parents.append(f or t)
                if gi is not None and t.requires_grad:
                    # (builtin dtypes are singletons: `is not` spares a rich comparison; a
                    # false alarm only costs a _fit call that changes nothing)
                    if (type(gi) is not Tensor or gi.data.shape != t.data.shape
                            or gi.data.dtype is not t.data.dtype):
                        gi = _fit(node, gi, t, g, create_graph)
                    if f is None:
                        deliver(t, gi)
                    else:
                        prev = f._grad
                        f._grad = gi if prev is None else accumulate(prev, gi)
                if f is not None:
                    d = deps[f] - 1
                    deps[f] = d
                    if d == 0:
                        ready.append(f)
            if not retain_graph:
                # Drop what backward needed; keep the structure (op, attributes, parents) so
                # the graph can still be drawn, with each output's shape and dtype.
                node._saved = ()
                node._out = None
                node._freed = True
                node.__dict__.clear()
                node.inputs = tuple(parents)
                if g is not None:
                    node.out_shape = g.data.shape
                    node.out_dtype = g.data.dtype
    finally:
        _grad_enabled = prev_mode
        _backward_of = prev_of
    return captured


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None, *,
             retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of every leaf that requires
    grad (``tensors[i].backward(grad_tensors[i])`` for all i in one pass)."""
    roots = _as_tensors(tensors, "backward")
    grads = _root_grads(roots, grad_tensors, "backward")
    _run(roots, grads, retain_graph or create_graph, create_graph, None)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, *, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is not
    touched. ``grad_outputs`` are the upstream gradients (default: ones for one-element
    outputs). With ``create_graph=True`` the result can be differentiated again.
    ``retain_graph`` defaults to ``create_graph``. An input the outputs do not depend on
    raises ``RuntimeError`` unless ``allow_unused=True`` (then its gradient is None)."""
    roots = _as_tensors(outputs, "grad")
    ins = _as_tensors(inputs, "grad")
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    grads = _root_grads(roots, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    captured = _run(roots, grads, retain_graph, create_graph, {id(t): t for t in ins})
    result = []
    for i, t in enumerate(ins):
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute "
                               f"the outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)


def iter_graph(outputs: Iterable[Tensor]) -> list[Context]:
    """Every op node reachable from ``outputs``, each once, outputs first (no recursion)."""
    seen: dict[Context, None] = {}
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen[n] = None
        for p in n.inputs:
            f = p if isinstance(p, Context) else p.grad_fn
            if f is not None and f not in seen:
                stack.append(f)
    return list(seen)
