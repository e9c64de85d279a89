"""A jit plan: two traces of a step, compared and turned into one replay function.

See :mod:`tinygrad_reg.jit` for what is traced and when; :mod:`.codegen` for how the replay
is written.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._guard import prepare_inplace
from .._tensor import Tensor
from ..autograd import modes
from ..autograd.function import _NO_CONTEXT, wrap
from ..trace import first_divergence, same, traced
from . import codegen

_version = operator.attrgetter("_version")  # of a Module or an Optimizer


class JitError(RuntimeError):
    """A step that cannot be replayed, or a replay that differs from eager (``check=``)."""


class _Diverged(JitError):
    """Two traces ran other kernels. ``warmup``: the second read state that the first one
    made (a ``.grad`` that the first call created and the second zeroed), so the first call
    may have been a warm-up and a third trace is compared with the second."""

    def __init__(self, message: str, warmup: bool) -> None:
        super().__init__(message)
        self.warmup = warmup


# -- recording -------------------------------------------------------------------------------

class OpRecord(NamedTuple):
    """An op that ran in a trace: its class, input arrays, attributes, output, what its
    forward saved and set on ``ctx`` (arrays), and ``needs_input_grad``."""

    kind: str  # "op"
    cls: type
    arrays: list
    attrs: dict
    out: np.ndarray
    saved: tuple
    extra: dict
    needs: tuple


class FnRecord(NamedTuple):
    """Numpy work outside ops that ran in a trace (see :func:`tinygrad_reg.trace.record`):
    the function, its input arrays, its key (a name for messages), its result."""

    kind: str  # "fn"
    fn: Callable
    arrays: list
    key: Any
    out: Any


class _Recorder:
    """The tracer: every kernel of one eager call, in order."""

    def __init__(self) -> None:
        # (holding every array it saw keeps their ids unique while the trace lives)
        self.kernels: list[OpRecord | FnRecord] = []
        self.leaves: dict[int, Tensor] = {}
        self.inputs: dict[int, tuple] = {}  # leaf Tensors the ops read: (tensor, its array)
        self.watched: dict[int, Any] = {}  # modules and optimizers (see watch())
        self.produced: dict[int, str] = {}  # arrays the recorded kernels made -> the kernel
        self.fresh: set[int] = set()  # those of them that are new arrays (not written in place)
        self.args: set[int] = set()  # ids of the arrays of the function's Tensor arguments
        self.index_values: list = []  # (tensor, its values) of constant index tensors

    def op(self, cls: type, inputs: tuple, attrs: dict, out: np.ndarray, ctx: Any) -> None:
        for m in modes.scope():
            self.watch(m)
        for t in inputs:
            if t.grad_fn is None:
                self.inputs.setdefault(id(t), (t, t._data, t.requires_grad))
        if ctx is _NO_CONTEXT:
            saved, extra, needs = (), {}, ()
        else:
            saved = tuple(ctx._saved)
            extra = {k: v for k, v in ctx.__dict__.items() if isinstance(v, np.ndarray)}
            needs = ctx.needs_input_grad
        self.kernels.append(OpRecord("op", cls, [t._data for t in inputs], dict(attrs), out,
                                     saved, extra, needs))
        name = cls.__name__
        self.produced[id(out)] = name
        self.fresh.add(id(out))
        for a in saved:
            if isinstance(a, np.ndarray):
                self.produced.setdefault(id(a), name)

    def kernel(self, fn: Callable, inputs: tuple, out: Any, key: Any) -> None:
        arrays = list(inputs)
        self.kernels.append(FnRecord("fn", fn, arrays, key, out))
        if out is not None:
            self.produced[id(out)] = _key_name(key)
            if not any(out is a for a in arrays):
                self.fresh.add(id(out))

    def watch(self, obj: Any) -> None:
        """A module was called (whether or not it ran an op: a dropout in eval mode runs
        none, and its train/eval flag still decides what a replay must do), or an optimizer
        stepped: a replay holds only while their ``_version`` counts stay as traced."""
        self.watched.setdefault(id(obj), obj)

    def leaf_grad(self, t: Tensor, previous: np.ndarray | None = None) -> None:
        if previous is not None and id(previous) not in self.produced:
            raise JitError(f"jit: backward adds to the .grad (shape {t.shape}) left by an "
                           f"earlier call, which a replay cannot see; call opt.zero_grad() "
                           f"(or opt.zero_grad(set_to_none=False), or set .grad = None) "
                           f"inside the jitted function, before backward")
        self.leaves[id(t)] = t

    def python_read(self, t: Tensor, what: str) -> None:
        """A Python value read from a tensor during the trace (``t.item()``, ``if t:``...):
        refused, since a replay does not run the function's Python."""
        made = self.produced.get(id(t._data))
        origin = (f"the result of {made}" if made is not None else
                  "an argument, a parameter, a buffer or a constant")
        raise JitError(f"jit: {what} reads a Python value from a tensor (shape {t.shape}, "
                       f"{origin}) inside the jitted function: a replay runs the recorded "
                       f"kernels, not the function's Python, so a number or a branch taken "
                       f"from it would stay the traced one on every replay. Keep the value "
                       f"a Tensor (x * t, not x * t.item()), choose between branches with "
                       f"tg.where(condition, a, b), or read it outside the jitted function "
                       f"(return the tensor and call .item() on the result)")

    def index_read(self, t: Tensor, what: str) -> None:
        """Positions taken from a tensor's values (``x[t]``, a mask): refused when the tensor
        is an argument of the jitted function (or a view of one) or made by its kernels,
        whose values a replay does not look at again."""
        arr = t._data
        made = self.produced.get(id(arr))
        base = getattr(arr, "base", None)
        if made is None and base is not None:
            made = self.produced.get(id(base))
        is_arg = id(arr) in self.args or (base is not None and id(base) in self.args)
        if made is None and not is_arg:  # (a constant of the function, or a tensor it reads
            # from outside: a replay holds while its values stay the traced ones)
            self.index_values.append((t, arr.copy()))
            return
        origin = f"the result of {made}" if made is not None else "an argument"
        raise JitError(f"jit: {what} takes positions from the values of a tensor (shape "
                       f"{t.shape}, {origin}) inside the jitted function: a replay would keep "
                       f"the traced positions while the values change. Use the ops that take "
                       f"the index as a tensor: x.index_select(dim, idx), x.gather(dim, idx), "
                       f"tg.where(mask, x, other), x.masked_fill(mask, value), or make the "
                       f"selection outside the jitted function")


def _run_recorded(fn: Callable, args: tuple) -> tuple[_Recorder, Any]:
    rec = _Recorder()
    rec.args = {id(a._data) for a in args if isinstance(a, Tensor)}
    with traced(rec) as rec:
        out = fn(*args)
    return rec, out


# -- the plan --------------------------------------------------------------------------------

class OpStep(NamedTuple):
    """A step that calls an op's forward (or its lowering): ``spec`` says where each input
    comes from — ``(True, slot)`` or ``(False, constant)`` — ``dyn`` which attributes are
    slots, ``out`` the slot of its result, ``saved``/``extra`` the slots of what its forward
    saves or sets on ctx (by position, by name)."""

    kind: str  # "op"
    cls: type
    spec: tuple
    attrs: dict
    dyn: tuple
    out: int
    saved: tuple
    extra: tuple
    needs: tuple


class FnStep(NamedTuple):
    """A step that calls a recorded function; ``out`` is its result's slot, or None."""

    kind: str  # "fn"
    fn: Callable
    spec: tuple
    out: int | None


class _Stub:
    """The ``ctx`` a replayed forward gets: it keeps what forward saves and sets."""

    __slots__ = ("_saved", "needs_input_grad", "__dict__")

    def __init__(self, needs: tuple) -> None:
        self._saved = ()
        self.needs_input_grad = needs

    def save_for_backward(self, *arrays: Any) -> None:
        self._saved = arrays


def _key_name(key: Any) -> str:
    """The name of a recorded function in messages: ``mul_ (inplace)``, ``mask (draw)``."""
    if isinstance(key, tuple) and len(key) > 1 and isinstance(key[1], str):
        return f"{key[1]} ({key[0]})"
    return str(key[0] if isinstance(key, tuple) else key)


def _name(kernel: OpRecord | FnRecord | OpStep | FnStep) -> str:
    """A recorded kernel's or a step's name in messages and in the replay's comments."""
    if kernel.kind == "op":
        return kernel.cls.__name__
    if isinstance(kernel, FnRecord):
        return _key_name(kernel.key)
    fn = getattr(kernel.fn, "func", kernel.fn)
    return getattr(fn, "__name__", type(fn).__name__)


def _differ(x: OpRecord | FnRecord, y: OpRecord | FnRecord) -> bool:
    """Whether two recorded kernels are not the same kernel (another op, another key)."""
    return x.kind != y.kind or (x.cls is not y.cls if x.kind == "op" else not same(x.key, y.key))


def _bound_difference(fa: Any, fb: Any) -> tuple | None:
    """The first pair of values bound into two recorded functions (a partial's arguments, a
    bound method's object, a closure's cells, recursively) that are not the same value, or
    None when both are the same function with the same values bound. Tensors and other
    objects count as the same only when they are one object."""
    if fa is fb:
        return None
    if isinstance(fa, functools.partial) and isinstance(fb, functools.partial):
        if len(fa.args) != len(fb.args) or fa.keywords.keys() != fb.keywords.keys():
            return (fa, fb)
        pairs = [(fa.func, fb.func), *zip(fa.args, fb.args),
                 *((fa.keywords[k], fb.keywords[k]) for k in fa.keywords)]
    elif getattr(fa, "__self__", None) is not None and callable(fa) and \
            getattr(fa, "__func__", None) is not None:  # a bound method
        if getattr(fb, "__func__", None) is not fa.__func__:
            return (fa, fb)
        pairs = [(fa.__self__, fb.__self__)]
    elif getattr(fa, "__closure__", None) and getattr(fb, "__code__", None) is fa.__code__:
        pairs = [(ca.cell_contents, cb.cell_contents)
                 for ca, cb in zip(fa.__closure__, fb.__closure__)]
    elif isinstance(fa, dict) and isinstance(fb, dict) and fa.keys() == fb.keys():
        pairs = [(fa[k], fb[k]) for k in fa]
    elif isinstance(fa, (tuple, list)) and type(fa) is type(fb) and len(fa) == len(fb):
        pairs = list(zip(fa, fb))
    elif isinstance(fa, Tensor) or isinstance(fb, Tensor) or not same(fa, fb):
        return (fa, fb)
    else:
        return None
    for va, vb in pairs:
        found = _bound_difference(va, vb)
        if found is not None:
            return found
    return None


def _describe(v: Any, other: Any = None) -> str:
    """``v`` in a message; "another X" for the second of two objects that read the same."""
    if isinstance(v, (bool, int, float, complex, str, np.generic)) or v is None or (
            isinstance(v, (tuple, list)) and len(repr(v)) <= 60):
        text = repr(v)
        if other is not None and repr(other) == text:
            text += " (other bits)"
        return text
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape}"
    kind = type(v).__name__
    return f"another {kind}" if other is not None and type(other) is type(v) else f"a {kind}"


class _Slots:
    """Where the arrays of two traces live in a replay: numbered slots, the same for the
    arrays of trace A and of trace B that correspond (the function's Tensor arguments first,
    then each kernel's result as it is made)."""

    def __init__(self, ids_a: list[int], args_b: tuple) -> None:
        self.a: dict[int, int] = {key: i for i, key in enumerate(ids_a)}
        self.b: dict[int, int] = {}
        self.arrays: dict[int, Any] = {}  # slot -> its array in trace B (to plan buffers)
        self.n = 0
        for t_b in args_b:
            if isinstance(t_b, Tensor):
                self.b[id(t_b._data)] = self.n
                self.arrays[self.n] = t_b._data
                self.n += 1
        self.inputs = self.n

    def new(self, arr_a: Any, arr_b: Any) -> int:
        """A fresh slot for a result (trace A's ``arr_a``, trace B's ``arr_b``)."""
        slot, self.n = self.n, self.n + 1
        self.a[id(arr_a)] = self.b[id(arr_b)] = slot
        self.arrays[slot] = arr_b
        return slot


class _Plan:
    """Two traces of the same signature turned into a flat list of steps, and the steps
    into one replay function (:meth:`_generate`)."""

    def __init__(self, a: _Recorder, ids_a: list[int], b: _Recorder, args_b: tuple,
                 out_b: Any) -> None:
        where = first_divergence(a.kernels, b.kernels, _differ)
        if where is not None:
            raise _Diverged(self._diverged(a.kernels, b.kernels, where),
                            _carried(a, b, args_b))
        slots = _Slots(ids_a, args_b)
        self.steps = [self._op_step(x, y, k, slots) if x.kind == "op" else
                      self._fn_step(x, y, k, slots)
                      for k, (x, y) in enumerate(zip(a.kernels, b.kernels))]
        self.n_slots = slots.n
        self.n_inputs = slots.inputs
        self._outputs(out_b, slots)
        self._leaf_grads(b, args_b, slots)
        self.modules = [w for w in b.watched.values() if hasattr(w, "training")]
        self.training = tuple(m.training for m in self.modules)
        # what a replay assumes still holds: each module's parameters, buffers and children
        # are the ones traced, and each leaf Tensor read as a constant still holds the traced
        # array (t.data = ..., model.to(dtype) and load-time replacements would make it stale)
        self.watched = list(b.watched.values())
        self.versions = tuple(map(_version, self.watched))
        self.guards = [g for g in b.inputs.values() if id(g[1]) not in slots.b]
        self.index_values = b.index_values
        self._generate(slots.arrays)

    # -- phase 1: the steps, from two traces that agree ---------------------------------

    def _op_step(self, x: OpRecord, y: OpRecord, index: int, slots: _Slots) -> OpStep:
        name = _name(y)
        spec = self._spec(x, y, slots, name)
        attrs, dyn = {}, []
        for k in y.attrs:
            va, vb = x.attrs.get(k), y.attrs[k]
            if isinstance(vb, np.ndarray) and id(vb) in slots.b:
                if slots.a.get(id(va)) != slots.b[id(vb)]:
                    raise JitError(f"jit: {name}'s attribute {k} comes from different "
                                   f"places in two traces")
                dyn.append((k, slots.b[id(vb)]))
            elif not same(va, vb):
                raise JitError(f"jit: {name} (kernel {index}) has attribute {k}={va!r} "
                               f"in one call and {vb!r} in the next: it depends on the "
                               f"data (or on a number computed in Python), so a replay "
                               f"would be stale. Pass the value as an argument of the "
                               f"jitted function (each number argument gets a plan of "
                               f"its own), or compute it with Tensor ops")
            else:
                attrs[k] = vb
        out_slot, slots.n = slots.n, slots.n + 1
        # (an output that is its input's own array keeps the input's slot)
        slots.a.setdefault(id(x.out), out_slot)
        slots.b.setdefault(id(y.out), out_slot)
        slots.arrays.setdefault(slots.b[id(y.out)], y.out)
        saved = []
        for p, (sa, sb) in enumerate(zip(x.saved, y.saved)):
            if any(sb is arr for arr in y.arrays):  # an input: its slot, or a constant
                continue
            if isinstance(sb, np.ndarray) and id(sb) not in slots.b:
                saved.append((p, slots.new(sa, sb)))
        extra = [(k, slots.new(x.extra.get(k), vb)) for k, vb in y.extra.items()
                 if id(vb) not in slots.b]
        return OpStep("op", y.cls, spec, attrs, tuple(dyn), out_slot, tuple(saved),
                      tuple(extra), y.needs)

    def _fn_step(self, x: FnRecord, y: FnRecord, index: int, slots: _Slots) -> FnStep:
        name = _name(y)
        spec = self._spec(x, y, slots, name)
        found = _bound_difference(x.fn, y.fn)
        if found is not None:
            ta, tb = _describe(found[0]), _describe(found[1], found[0])
            raise JitError(
                f"jit: {name} (kernel {index}) binds {ta} in one call and "
                f"{tb} in the next: a Python value made outside the recorded "
                f"kernels changes from call to call, and a replay would keep the "
                f"last one. Make it a Tensor computed with Tensor ops from the "
                f"function's inputs (p.grad.mul_(coef) with coef a Tensor), or pass "
                f"it as an argument of the jitted function (a number argument is "
                f"part of the signature: each value gets a trace of its own)")
        out_slot = None
        if y.out is not None:
            if id(y.out) in slots.b:  # in place: the result is an input's array
                out_slot = slots.b[id(y.out)]
            else:
                out_slot = slots.new(x.out, y.out)
        return FnStep("fn", y.fn, spec, out_slot)

    def _spec(self, x: OpRecord | FnRecord, y: OpRecord | FnRecord, slots: _Slots,
              name: str) -> tuple:
        return tuple(self._resolve(arr_a, arr_b, slots.a, slots.b, name, f"input {pos}")
                     for pos, (arr_a, arr_b) in enumerate(zip(x.arrays, y.arrays)))

    def _outputs(self, out_b: Any, slots: _Slots) -> None:
        outs = out_b if isinstance(out_b, tuple) else (out_b,)
        self.tuple_out = isinstance(out_b, tuple)
        self.outputs = []
        for o in outs:
            if not isinstance(o, Tensor):
                raise JitError(f"jit: the function must return a Tensor or a tuple of Tensors, "
                               f"got {type(o).__name__}")
            key = id(o._data)
            self.outputs.append(("slot", slots.b[key]) if key in slots.b else ("ext", o._data))

    def _leaf_grads(self, b: _Recorder, args_b: tuple, slots: _Slots) -> None:
        """Each leaf's .grad as the traced call left it (for a leaf passed as an argument:
        the argument of the call being replayed)."""
        arg_index = {id(t): i for i, t in enumerate(args_b) if isinstance(t, Tensor)}
        self.grads = []
        for t in b.leaves.values():
            g = t.grad
            target = arg_index.get(id(t), t)
            if g is None:
                self.grads.append((target, None))
            elif id(g._data) in slots.b:
                self.grads.append((target, slots.b[id(g._data)]))
            else:
                raise JitError(f"jit: the .grad of a leaf (shape {t.shape}) was set outside the "
                               f"recorded kernels, so a replay cannot reproduce it; let "
                               f"backward() set it, after opt.zero_grad() inside the function")

    @staticmethod
    def _diverged(ka: list, kb: list, where: int) -> str:
        if where < min(len(ka), len(kb)):
            return (f"jit: the second call ran other kernels than the first (kernel {where}: "
                    f"{_name(ka[where])} then {_name(kb[where])}): Python control flow in the "
                    f"function depends on the data, so no single trace can replay it")
        return (f"jit: the second call ran {len(kb)} kernels and the first {len(ka)}: Python "
                f"control flow in the function depends on the data")

    @staticmethod
    def _resolve(arr_a: Any, arr_b: Any, slot_a: dict, slot_b: dict, name: str,
                 where: str) -> tuple:
        kb, ka = id(arr_b), id(arr_a)
        if kb in slot_b:
            if slot_a.get(ka) != slot_b[kb]:
                raise JitError(f"jit: {name}'s {where} comes from different kernels in two "
                               f"traces: the step cannot be replayed")
            return (True, slot_b[kb])
        if ka in slot_a:
            raise JitError(f"jit: {name}'s {where} was computed by a kernel in one trace and "
                           f"not in the next")
        if arr_a is arr_b:  # the same array both times: a parameter, a buffer, a state array
            return (False, arr_b)
        if same(arr_a, arr_b):  # a constant
            return (False, arr_b)
        values = ""
        if np.size(arr_a) == 1 and np.size(arr_b) == 1:
            va, vb = np.asarray(arr_a).item(), np.asarray(arr_b).item()
            values = f": {_describe(va)}, then {_describe(vb, va)}"
        raise JitError(f"jit: {name}'s {where} (shape {np.shape(arr_b)}) changed between two "
                       f"calls but was made outside the recorded kernels{values} (a number or "
                       f"a numpy computation in Python, or a backward that returns arrays "
                       f"instead of Tensor ops): a replay would reuse a stale value. Write it "
                       f"with Tensor ops from the function's inputs, or pass it as an argument "
                       f"of the jitted function")

    # -- phase 2: the replay function ----------------------------------------------------

    def _generate(self, arrays: dict[int, Any]) -> None:
        """Write the replay as one function (see :mod:`.codegen`): lower the steps that have
        a lowering, order them (:func:`_schedule`), emit each as source lines writing into
        buffers shared by slots whose lives do not overlap, then compile the function."""
        owner = {id(a): s for s, a in arrays.items() if isinstance(a, np.ndarray)}
        lows = [codegen.lower(step, [arrays.get(v) if s else v for s, v in step.spec],
                              arrays.get(step.out) if step.out is not None else None,
                              _made(step, arrays))
                for step in self.steps]
        order = _schedule(self.steps, lows)
        steps = [self.steps[i] for i in order]
        lows = [lows[i] for i in order]
        emit = _Emitter(arrays, self._escaping(arrays, owner), _last_reads(steps, arrays, owner))
        for k, (step, low) in enumerate(zip(steps, lows)):
            emit.step(k, step, low)
        results = [f"s{v}" for kind, v in self.outputs if kind == "slot"]
        results += [f"s{i}" for _, i in self.grads if i is not None]
        self.source = emit.source(self.n_inputs, results)
        self.layouts = emit.layouts
        exec(compile(self.source, "<tg.jit replay>", "exec"), emit.ns)  # noqa: S102 - our own source
        self._replay = emit.ns["replay"]
        self._local = threading.local()

    def current(self) -> bool:
        """Whether the modules, the optimizers and the Tensors the plan reads in place are
        still as the trace saw them (the same arrays, the same requires_grad, no attribute,
        group or state replaced); otherwise the step must be traced again."""
        for t, a, requires_grad in self.guards:
            if t._data is not a or t.requires_grad != requires_grad:
                return False
        for t, values in self.index_values:  # (an index tensor changed in place: retrace)
            if not same(t._data, values):
                return False
        return tuple(map(_version, self.watched)) == self.versions

    def _escaping(self, arrays: dict[int, Any], owner: dict[int, int]) -> set[int]:
        """The slots whose arrays leave a replay, so never live in a buffer: the results,
        the leaves' .grad, whatever a recorded function other than the engine's reads (an
        optimizer update or a user's in-place write may keep it), and the array that a view
        of any of those belongs to."""
        escape = {v for kind, v in self.outputs if kind == "slot"}
        escape.update(i for _, i in self.grads if i is not None)
        for step in self.steps:
            if step.kind == "fn" and not codegen.is_pure(step.fn):
                escape.update(v for s, v in step.spec if s)
        for s in list(escape):
            base = getattr(arrays.get(s), "base", None)
            if base is not None and id(base) in owner:
                escape.add(owner[id(base)])
        return escape

    def _buffers(self) -> list[np.ndarray]:
        """This thread's buffers (allocated on its first replay)."""
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = [codegen.alloc(*lay) for lay in self.layouts]
        return bufs

    def run(self, args: tuple) -> Any:
        values = self._replay([a._data for a in args if isinstance(a, Tensor)],
                              self._buffers())
        n = 0
        results = []
        for kind, v in self.outputs:
            if kind == "slot":
                results.append(wrap(values[n]))
                n += 1
            else:
                results.append(wrap(v))
        for t, i in self.grads:
            if type(t) is int:
                t = args[t]
            if i is None:
                t.grad = None
            else:
                t.grad = wrap(values[n])
                n += 1
        return tuple(results) if self.tuple_out else results[0]


class _Emitter:
    """Writes the replay's source, one step at a time: the names it refers to (``ns``), the
    buffers ``b0, b1...`` (their layouts, which slot each holds, which are free), and the
    local each slot is read from."""

    def __init__(self, arrays: dict[int, Any], escape: set[int], last: dict[int, int]) -> None:
        self.ns: dict[str, Any] = {**codegen.NUMPY, "ndarray": np.ndarray, "Stub": _Stub,
                                   "prep": prepare_inplace, "alloc": codegen.alloc}
        self.arrays, self.escape, self.last = arrays, escape, last
        self.names: dict[int, str] = {}
        self.layouts: list[tuple] = []  # of the buffers b0, b1, ...
        self.free: dict[tuple, list[str]] = {}  # layout -> buffers no live slot holds
        self.holder: dict[int, str] = {}  # slot -> the buffer holding it
        self.var: dict[int, str] = {}  # slot -> the local it is read from, when not s<slot>
        self.body: list[str] = []

    def const(self, v: Any, prefix: str = "c") -> str:
        """The name under which the replay reads ``v`` (a constant, a function)."""
        name = self.names.get(id(v))
        if name is None:
            name = self.names[id(v)] = f"{prefix}{len(self.names)}"
            self.ns[name] = v
        return name

    def take(self, lay: tuple) -> str:
        """A buffer of layout ``lay``: a free one, or a new one."""
        pool = self.free.get(lay)
        if pool:
            return pool.pop()
        self.layouts.append(lay)
        return f"b{len(self.layouts) - 1}"

    def step(self, k: int, step: OpStep | FnStep, low: Any) -> None:
        """The lines of step ``k`` (lowered when ``low`` is not None), then the buffers
        whose slots it read for the last time go back to the pool."""
        ins = [self.var.get(v, f"s{v}") if s else self.const(v) for s, v in step.spec]
        self.body.append(f"# {_name(step)}")
        if low is not None:
            self._lowered(k, step, low, ins)
        elif step.kind == "op":
            self._op_call(step, ins)
        else:
            self._fn_call(step, ins)
        touched = _reads(step) | ({step.out} if step.out is not None else set())
        if step.kind == "op":
            touched.update(i for _, i in step.saved + step.extra)
        for s in touched:
            if s in self.holder and self.last.get(s, -1) <= k:
                name = self.holder.pop(s)
                self.free.setdefault(self.layouts[int(name[1:])], []).append(name)

    def _lowered(self, k: int, step: OpStep | FnStep, low: Any, ins: list[str]) -> None:
        fmt = {f"i{n}": name for n, name in enumerate(ins)}
        fmt.update({f"c{n}": self.const(c) for n, c in enumerate(low.consts)})
        out_slot = step.out
        if low.assigns:
            fmt["o"] = f"s{out_slot}"
        elif out_slot is not None and (step.kind == "op" or not codegen.is_inplace(step.fn)):
            fmt["o"] = self._output(k, step, low, out_slot)
        if step.kind == "op":  # array attributes read, arrays saved or set for backward
            fmt.update({f"a_{key}": self.var.get(i, f"s{i}") for key, i in step.dyn})
            for name, i in [(f"v{p}", i) for p, i in step.saved] + \
                    [(f"e_{key}", i) for key, i in step.extra]:
                fmt[name] = self._output(k, step, None, i)
        temps = []
        for n, temp in enumerate(low.temps):
            lay = (temp[0], np.dtype(temp[1]), temp[2] if len(temp) > 2 else "C")
            fmt[f"t{n}"] = self.take(lay)
            temps.append((fmt[f"t{n}"], lay))
        self.body.extend(line.format(**fmt) for line in low.lines)
        for name, lay in temps:
            self.free.setdefault(lay, []).append(name)

    def _output(self, k: int, step: OpStep | FnStep, low: Any, out_slot: int) -> str:
        """Where a lowered step writes (its result, or with ``low`` None an array it saves):
        a fresh array for a slot that leaves the replay, else the buffer of an input read
        for the last time here, else a buffer."""
        out_b = self.arrays.get(out_slot)
        if out_slot in self.escape:  # a fresh array, as eager mode gives
            shape, dtype, order = codegen.layout(out_b)
            self.body.append(f"s{out_slot} = alloc({shape!r}, {self.const(dtype)}, {order!r})")
            return f"s{out_slot}"
        lay = codegen.layout(out_b)
        o = None
        for pos in low.inplace if low is not None else ():  # an input read for the last time
            s_, v = step.spec[pos]
            if s_ and v in self.holder and self.last.get(v, -1) <= k and \
                    self.var.get(v) == self.holder[v] and \
                    self.layouts[int(self.holder[v][1:])] == lay and v != out_slot:
                o = self.holder.pop(v)
                break
        if o is None:
            o = self.take(lay)
        self.var[out_slot] = self.holder[out_slot] = o
        return o

    def _op_call(self, step: OpStep, ins: list[str]) -> None:
        """An op's forward called as it is (no lowering), with a ctx stub."""
        call = ", ".join([""] + ins)
        if step.attrs:
            call += f", **{self.const(step.attrs, 'a')}"
        call += "".join(f", {key}={self.var.get(i, f's{i}')}" for key, i in step.dyn)
        if step.saved or step.extra:  # a fresh ctx per replay (replays may run in threads)
            self.body.append(f"st = Stub({self.const(step.needs)})")
            ctx = "st"
        else:  # one per step, never read back
            ctx = self.const(_Stub(step.needs), "x")
        o = f"s{step.out}"
        self.body.append(f"{o} = {self.const(step.cls.forward, 'f')}({ctx}{call})")
        self.body.append(f"if {o}.__class__ is not ndarray: {o} = asarray({o})")
        self.body.extend(f"s{i} = st._saved[{p}]" for p, i in step.saved)
        self.body.extend(f"s{i} = st.__dict__[{key!r}]" for key, i in step.extra)

    def _fn_call(self, step: FnStep, ins: list[str]) -> None:
        call = f"{self.const(step.fn, 'k')}({', '.join(ins)})"
        if step.out is None or step.out in self.var:  # (in place into a buffer)
            self.body.append(call)
        else:
            self.body.append(f"s{step.out} = {call}")

    def source(self, n_inputs: int, results: list[str]) -> str:
        head = ["def replay(A, B):"]
        if n_inputs:
            head.append("    " + "".join(f"s{i}, " for i in range(n_inputs)) + "= A")
        if self.layouts:
            head.append("    " + "".join(f"b{i}, " for i in range(len(self.layouts))) + "= B")
        tail = ["    return (" + "".join(f"{r}, " for r in results) + ")"]
        return "\n".join(head + ["    " + line for line in self.body] + tail) + "\n"


def _carried(a: _Recorder, b: _Recorder, args_b: tuple) -> bool:
    """Whether trace ``b`` read, outside its own kernels and arguments, an array that trace
    ``a``'s kernels made: state the first call created and the second used (the .grad that
    ``opt.zero_grad(set_to_none=False)`` zeroes exists from the second call on)."""
    args = {id(t._data) for t in args_b if isinstance(t, Tensor)}
    made = set(args)
    for k in b.kernels:
        for arr in k.arrays:
            key = id(arr)
            if key in a.fresh and key not in made:
                return True
        out = k.out
        if out is not None:
            made.add(id(out))
    return False


def _last_reads(steps: list, arrays: dict[int, Any],
                owner: dict[int, int]) -> dict[int, int]:
    """For each slot, the index of the last step that reads it; an array a view of which is
    read later lives as long as the view (buffers are shared by slots whose lives do not
    overlap)."""
    last: dict[int, int] = {}
    for k, step in enumerate(steps):
        for v in _reads(step):
            last[v] = k
    for s, a in arrays.items():
        base = getattr(a, "base", None)
        if base is not None and id(base) in owner and s in last:
            b = owner[id(base)]
            last[b] = max(last.get(b, -1), last[s])
    return last


def _made(step: OpStep | FnStep, arrays: dict[int, Any]) -> dict[str, Any]:
    """The traced arrays of an op step's array attributes (by name) and of what its forward
    saved (``v0``...) or set on ctx (``e_<name>``), for its lowering."""
    if step.kind != "op":
        return {}
    made = {key: arrays.get(i) for key, i in step.dyn}
    made.update({f"v{p}": arrays.get(i) for p, i in step.saved})
    made.update({f"e_{key}": arrays.get(i) for key, i in step.extra})
    return made


def _writes_more(step: OpStep | FnStep) -> bool:
    """Whether a step writes arrays besides its result (what an op's forward saves or sets):
    such a step is not moved (readers of those arrays are not tracked by the schedule)."""
    return step.kind == "op" and bool(step.saved or step.extra)


def _reads(step: OpStep | FnStep) -> set[int]:
    reads = {v for s, v in step.spec if s}
    if step.kind == "op":
        reads.update(i for _, i in step.dyn)
    return reads


def _schedule(steps: list, lows: list) -> list[int]:
    """An order of the steps in which each lowered kernel runs just before the first step
    that reads its result, instead of where the trace ran it: an array is then written
    while what it is computed from is still in cache, and lives (holds a buffer) for a
    shorter time. Only lowered kernels move (they write nothing but their own result); they
    never move past a recorded function other than the engine's out-of-place sums and
    copies (an optimizer update, an in-place write, a random draw may change what they
    read), so every kernel reads the same values as in the trace's order."""
    def barrier(step: OpStep | FnStep) -> bool:  # a kernel that may write what others read
        return step.kind == "fn" and (not codegen.is_pure(step.fn) or
                                      codegen.is_inplace(step.fn))

    first_reader: dict[int, int] = {}
    for i, step in enumerate(steps):
        for v in _reads(step):
            first_reader.setdefault(v, i)
    order: list[int] = []
    pending: dict[int, int] = {}  # output slot -> index of a lowered step not yet placed

    def place(i: int) -> None:
        for v in sorted(_reads(steps[i])):  # what it reads first
            j = pending.pop(v, None)
            if j is not None:
                place(j)
        order.append(i)

    def flush() -> None:
        for i in sorted(pending.values()):
            if steps[i].out in pending:
                pending.pop(steps[i].out)
                place(i)

    for i, (step, low) in enumerate(zip(steps, lows)):
        out_slot = step.out
        if barrier(step):
            flush()
        for v in sorted(_reads(step)):
            j = pending.pop(v, None)
            if j is not None:
                place(j)
        reader = first_reader.get(out_slot) if out_slot is not None else None
        if low is not None and reader is not None and not barrier(steps[reader]) and \
                out_slot not in pending and not barrier(step) and not _writes_more(step):
            pending[out_slot] = i
        else:
            order.append(i)
    flush()
    return order


