"""The op contract: :class:`Function` (what an op is) and :class:`Context` (one recorded node).

An op is a subclass of :class:`Function` with two static methods::

    forward(ctx, *arrays, **attrs) -> ndarray      # numpy in, numpy out
    backward(ctx, grad) -> grad or tuple of grads  # Tensor in, Tensors out (one per input)

``Function.apply(*tensors, **attrs)`` runs ``forward`` and, when grad mode is on and an
input requires grad, records a :class:`Context` as the output's ``grad_fn``. The engine
(:mod:`.engine`) walks those nodes backward.

A node guards the values it saves for backward (see :mod:`tinygrad_reg._guard`): it records
the version of each input, makes the saved arrays the user can reach read-only while it is
alive and not yet backpropagated, and :attr:`Context.saved_tensors` refuses values that a
sanctioned in-place write has changed.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._guard import aux, hold, lock, release_all, share_version, unlock, view_root
from .._tensor import Tensor
from ..errors import ShapeError
from ..trace import tracer
from . import anomaly
from .modes import ANOMALY, GRAD, TRACE, mode, scope

_new_tensor = Tensor.__new__
_ndarray = np.ndarray


def wrap(array: np.ndarray) -> Tensor:
    """A constant Tensor around ``array`` (no copy, no checks): the engine's fast path."""
    t = _new_tensor(Tensor)
    t._data = array
    t.grad = None
    t.requires_grad = False
    t.grad_fn = None
    t.name = None
    t._aux = None
    return t


class _NoContext:
    """Stands in for ``ctx`` when nothing is recorded: saving and attributes are no-ops."""

    __slots__ = ()
    needs_input_grad = ()

    def save_for_backward(self, *arrays: Any) -> None:
        pass

    def __setattr__(self, name: str, value: Any) -> None:
        pass


_NO_CONTEXT = _NoContext()


class Released:
    """What a node keeps of a constant input (a data batch, a dropout mask, labels) once it
    has run backward: the name, shape and dtype to draw it with, not the array."""

    __slots__ = ("name", "shape", "dtype")
    requires_grad = False
    grad_fn = None
    grad = None

    def __init__(self, t: Tensor) -> None:
        self.name = t.name
        self.shape = t._data.shape
        self.dtype = t._data.dtype

    def __repr__(self) -> str:
        return f"<released constant shape={self.shape} dtype={self.dtype}>"


def released(t: Tensor) -> Released:
    """The :class:`Released` stand-in of constant ``t``, made once per tensor (a constant used
    by many ops, like a scalar, gets one)."""
    a = t._aux
    if a is None:
        a = aux(t)
    r = a.released
    if r is None:
        r = a.released = Released(t)
    return r


class Context:
    """One node of the graph: which op ran, on which inputs, with which attributes.

    It is the ``ctx`` that ``forward`` and ``backward`` receive and the ``grad_fn`` of
    the op's output. ``forward`` may set any attribute on it (``ctx.delta = delta``) and
    keep arrays with :meth:`save_for_backward`; ``backward`` reads them back, saved arrays
    as Tensors via :attr:`saved_tensors` (which also checks that none of them was changed in
    place since). Everything a backward reads of its inputs' values must be saved: an input
    read through ``ctx.inputs`` is not guarded.
    """

    __slots__ = ("fn", "inputs", "attrs", "needs_input_grad", "_saved", "_out",
         "_grad", "_freed", "scope", "out_shape", "out_dtype", "_versions", "_holds",
                 "_locks", "__dict__")

    def __init__(self, fn: type, inputs: tuple, attrs: dict) -> None:
        self.fn = fn
        self.inputs = inputs
        self.attrs = attrs
        self._saved = ()
        self._out = None
        self._grad = None
        self._freed = False
        self._versions = None
        self._holds = None
        self._locks = None
        self.scope = scope()
        # (spelled out for one and two inputs: a comprehension costs more than the op's
        # other bookkeeping together)
        n = len(inputs)
        if n == 1:
            self.needs_input_grad = (True,)
        elif n == 2:
            self.needs_input_grad = (inputs[0].requires_grad, inputs[1].requires_grad)
        else:
            self.needs_input_grad = tuple([t.requires_grad for t in inputs])
        for t in inputs:  # the versions of inputs that have had in-place writes
            a = t._aux
            if a is not None and a.version is not None:
                self._versions = _versions(inputs)
                break

    @property
    def name(self) -> str:
        """The op's name (its Function class name), as shown in graphs and errors."""
        return self.fn.__name__

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep references (never copies) to arrays (or Tensors) that ``backward`` needs:
        inputs themselves, the output, or values computed in ``forward``.

        Save exactly what backward reads, and only when the gradient that reads it is needed
        (``ctx.needs_input_grad``): a saved input is guarded (version-checked, and a leaf's
        array read-only) until this node has run backward, so saving more than needed
        refuses legitimate changes."""
        self._saved = arrays
        for t in self.inputs:
            arr = t._data
            if t.grad_fn is None or arr.base is not None:  # a leaf, or a view of one perhaps
                for a in arrays:
                    if a is arr or a is t:
                        root = t if t.grad_fn is None else view_root(t)
                        if root is None or root.grad_fn is not None:
                            break
                        x = root._aux  # (held already: hold() without the call)
                        if x is not None and x.holds and (
                                x.locks[0] is root._data if x.locks else not x.shared):
                            x.holds += 1
                        else:
                            hold(root)
                        if self._holds is None:
                            self._holds = [root]
                        else:
                            self._holds.append(root)
                        break

    def expose(self, arr: np.ndarray) -> None:
        """Make ``arr`` (memory this node made, reached by the user) read-only until the
        node has run backward or is dropped."""
        if arr.flags.writeable:
            if self._locks is None:
                self._locks = []
            lock(arr, self._locks)

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        """The saved arrays as Tensors.

        An array that is one of the op's inputs comes back as that input's own Tensor, and
        the op's output as the output Tensor, so a backward written in Tensor ops stays
        connected to the graph and can be differentiated again; any other array comes back
        as a constant. An input or output changed by an in-place write since the op ran
        raises RuntimeError (its gradient would be silently wrong).
        """
        if self._freed:
            raise RuntimeError(_freed_message(self))
        out = self._out() if self._out is not None else None
        inputs = self.inputs
        result = []
        for a in self._saved:
            if type(a) is not _ndarray:
                if a is None or not isinstance(a, Tensor):
                    result.append(a if a is None else wrap(np.asarray(a)))
                    continue
                i = _index(inputs, a)
                if i is not None:
                    self._check_version(a, i)
                result.append(a)
                continue
            for i, t in enumerate(inputs):
                if t._data is a:
                    aux_ = t._aux
                    if aux_ is not None and aux_.version is not None:
                        self._check_version(t, i)
                    result.append(t)
                    break
            else:
                if out is not None and out._data is a:
                    if out._aux is not None:
                        self._check_version(out, -1)
                    result.append(out)
                else:  # a constant, or an input's old array (see _constant)
                    for t in inputs:
                        if t._aux is not None and t._aux.replaced:
                            result.append(self._constant(a))
                            break
                    else:
                        result.append(wrap(np.asarray(a)))
        return tuple(result)

    def _constant(self, a: Any) -> Tensor:
        """A saved array that is no input's and not the output's, when an input had its
        array replaced since (``t.data = new_array``): that input's old value, else a
        constant."""
        for i, t in enumerate(self.inputs):
            aux_ = t._aux
            if aux_ is not None and aux_.replaced and any(r() is a for r in aux_.replaced):
                self._check_version(t, i)
                return self._replaced(t, i, a)
        return wrap(np.asarray(a))

    def _replaced(self, t: Tensor, i: int, arr: np.ndarray) -> Tensor:
        """The saved value of input ``i`` ``t``, whose array was replaced since
        (``t.data = new_array``): a constant with the values forward used. Right for a
        gradient; a second derivative through it would miss ``t``, so that is refused."""
        if mode() & GRAD:
            raise RuntimeError(
                f"{self.name}: its input {i} (shape {arr.shape}) was given a new array "
                f"(t.data = ...) after this op saved it, so a second derivative through "
                f"{self.name} cannot reach that tensor any more. Assign .data after the "
                f"backward(create_graph=True) passes that need the graph.")
        return wrap(arr)

    def _check_version(self, t: Tensor, i: int) -> None:
        """Raise if ``t`` (input ``i``, or the output for -1) was written in place since the
        op recorded it."""
        aux = t._aux
        if aux is None or aux.version is None:
            return
        expected = 0
        if i >= 0 and self._versions is not None:
            expected = self._versions[i]
        now = aux.version.value
        if now != expected:
            raise RuntimeError(_modified_message(self, t, i, now, expected))

    def free(self, kept: list | None = None, grad: Tensor | None = None) -> None:
        """Drop what backward needed and give back what this node guards (the leaves it
        saved, the arrays it locked). After backward, ``kept`` is what the node keeps of its
        inputs to be drawn — the nodes that made them, the leaves that require grad, and of a
        constant only its description (see :func:`released`) — and ``grad`` the gradient it
        received, whose shape and dtype are its output's."""
        self._saved = ()
        self._out = None
        self._freed = True
        holds = self._holds
        if holds is not None:
            self._holds = None
            for t in holds:  # (release() inlined: this runs for most nodes)
                a = t._aux
                a.holds -= 1
                if a.holds <= 0:
                    release_all(t)
        if self._locks is not None:
            locks, self._locks = self._locks, None
            unlock(locks)
        if kept is not None:
            d = self.__dict__
            if d:
                d.clear()
            self.inputs = tuple(kept)
            if grad is not None:
                self.out_shape = grad._data.shape
                self.out_dtype = grad._data.dtype

    def __repr__(self) -> str:
        attrs = "".join(f" {k}={v!r}" for k, v in self.attrs.items())
        return f"<{self.name}{attrs}>"

    def __del__(self) -> None:
        # A node dropped without a backward pass gives back what it guards (backward does
        # this itself when it frees a node).
        if self._holds or self._locks:
            try:
                self.free()
            except Exception:  # noqa: BLE001 - never raise from a finalizer (interpreter exit)
                pass


def _versions(inputs: tuple) -> tuple:
    """Each input's version."""
    found = []
    for t in inputs:
        a = t._aux
        v = a.version if a is not None else None
        found.append(0 if v is None else v.value)
    return tuple(found)


def grads_of(node: Context, res: Any) -> tuple:
    """A backward's result as a tuple of one gradient (or None) per input of ``node``."""
    if type(res) is not tuple:
        res = tuple(res) if isinstance(res, list) else (res,)
    if len(res) != len(node.inputs):
        raise RuntimeError(f"{node.name}: backward returned {len(res)} gradients for "
                           f"{len(node.inputs)} inputs")
    return res


def _index(items: tuple, item: Any) -> int | None:
    for i, x in enumerate(items):
        if x is item:
            return i
    return None


def _freed_message(node: Context) -> str:
    return (f"{node.name}: trying to backward through the graph a second time (or to read "
            f"saved values after they were freed). Pass retain_graph=True to the first "
            f"backward() if you need to backward through it again.")


def _modified_message(node: Context, t: Tensor, i: int, now: int, expected: int) -> str:
    what = "its output" if i < 0 else f"its input {i}"
    where = ""
    site = node.__dict__.get("_site")
    if site is not None:
        where = f" {node.name} was created at:\n{site.describe()}"
    else:
        if node.scope:
            where = f" {node.name} ran inside {type(node.scope[-1]).__name__}."
        where += (" Run the forward pass inside tg.detect_anomaly() to see the line that "
                  "created it.")
    return (f"{node.name}: one of the values it saved for backward, {what} (shape "
            f"{t._data.shape}, dtype {t._data.dtype}), was modified by an in-place operation "
            f"after it was saved: it is at version {now}, expected version {expected}. Its "
            f"gradient would be wrong. Change it only after backward(), or change a copy "
            f"(t.clone()); a write through .data counts as an in-place operation.{where}")


def _op_error(fn: type, err: Exception, tensors: Sequence[Tensor], attrs: dict) -> Exception:
    shapes = ", ".join(str(t._data.shape) for t in tensors)
    extra = "".join(f", {k}={v!r}" for k, v in attrs.items() if k != "value" and k[0] != "_")
    # numpy's ValueError for shapes that do not fit is PyTorch's RuntimeError: ShapeError is both
    cls = ShapeError if type(err) is ValueError else type(err)
    return cls(f"{fn.__name__}: {err} (input shapes: {shapes}{extra})")


class Function:
    """Base class of every op, built-in or user-defined (PyTorch style).

    Subclasses define ``forward(ctx, *arrays, **attrs)`` in numpy and
    ``backward(ctx, grad)`` returning one gradient per input (None where there is none).
    Write ``backward`` in Tensor ops to make the op differentiable any number of times;
    a backward that returns ndarrays is accepted but once-differentiable: asking for a
    second derivative through it raises ``RuntimeError`` naming the op. Call ops with
    ``MyOp.apply(*tensors, **attrs)``; keyword attributes reach ``forward`` and are shown
    on the op's node in rendered graphs and in errors, except those whose name starts with
    ``_`` (private hints, such as a cache). ``forward`` must not write into its input arrays.

    An op whose result is a view of its first input (reshape, transpose, basic indexing)
    sets ``is_view = True``, so that the two share one version counter.

    Optional facets, read by the rest of the package from the class (a built-in op's or
    yours alike; the built-in ops write the one-line ones right under the docstring):

    - ``kind``: ``"regularization"`` (a noise op), ``"penalty"`` (a term added to the loss:
      drawn in the regularization colour and listed by
      ``tg.regularization.penalty_breakdown``) or ``"loss"`` (drawn in the loss colour);
      None (the default) for a plain op. Subclasses inherit it.
    - ``to_onnx(g, inputs, attrs, arrays, out)``: the op's ONNX mapping (a static method;
      see :mod:`tinygrad_reg.onnx` and :mod:`tinygrad_reg.ops.onnx_rules`).
    - ``lower(ins, out, attrs)``: its lowering in ``tg.jit``'s generated replay (a static
      method returning a :class:`tinygrad_reg.ops.jit_rules.Lowered`, or None for a call
      it does not reproduce); used only while the op keeps the ``forward`` of the class
      that defines it.
    """

    is_view = False
    kind: str | None = None

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        """Run the op on ``inputs`` (Tensors; anything else becomes a constant Tensor)."""
        # The hot path of every op: one pass over the inputs, the node, forward, the result.
        record = False
        for t in inputs:
            if not isinstance(t, Tensor):
                inputs = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
                record = any(x.requires_grad for x in inputs)
                break
            if t.requires_grad:
                record = True
        flags = mode()
        ctx = Context(cls, inputs, attrs) if record and flags & GRAD else _NO_CONTEXT
        try:
            n = len(inputs)
            if n == 1:
                out = cls.forward(ctx, inputs[0]._data, **attrs)
            elif n == 2:
                out = cls.forward(ctx, inputs[0]._data, inputs[1]._data, **attrs)
            else:
                out = cls.forward(ctx, *[t._data for t in inputs], **attrs)
        except (ValueError, IndexError) as err:
            raise _op_error(cls, err, inputs, attrs) from err
        if type(out) is not _ndarray:
            out = _as_array(ctx, out)
        if flags & (ANOMALY | TRACE):
            _observe(flags, cls, ctx, inputs, attrs, out)
        result = _new_tensor(Tensor)
        result._data = out
        result.grad = result.name = result._aux = None
        if cls.is_view:
            share_version(inputs[0], result)
        if ctx is _NO_CONTEXT or out.dtype.kind not in "fc":  # int/bool results carry no grad
            result.requires_grad, result.grad_fn = False, None
            return result
        result.requires_grad, result.grad_fn = True, ctx
        for a in ctx._saved:  # a saved output comes back as this tensor (see saved_tensors)
            if a is out:
                ctx._out = weakref.ref(result)
                break
        return result


def _as_array(ctx: Any, out: Any) -> np.ndarray:
    """A forward's result as an ndarray: numpy gives scalars for 0-d results, and a saved
    output must be the array we keep, or saved_tensors would return it as a constant and cut
    the second derivative."""
    raw, out = out, np.asarray(out)
    if ctx is not _NO_CONTEXT and ctx._saved:
        ctx._saved = tuple(out if s is raw else s for s in ctx._saved)
    return out


def _observe(flags: int, cls: type, ctx: Any, inputs: tuple, attrs: dict,
             out: np.ndarray) -> None:
    """Anomaly mode's check of a result and the tracer's record of the op."""
    if flags & ANOMALY:
        anomaly.check_forward(cls, ctx, ctx is not _NO_CONTEXT, inputs, attrs, out)
    if flags & TRACE:
        tracer().op(cls, inputs, attrs, out, ctx)


class OnceDifferentiable(Function):
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


__all__ = ["Function", "Context", "wrap", "Released", "released", "OnceDifferentiable"]
