"""``tg.jit``: trace a step once, replay its kernels.

A training step in eager mode builds Tensors, graph nodes and a topological order for every
op, every time. ``step = tg.jit(fn)`` runs ``fn`` eagerly on its first two calls with a
tracer that records every *kernel*: each op's forward (with what it saves for backward), each
backward op, the engine's sums and copies of gradients, each optimizer update, each in-place
write and each random draw. The two traces are compared: where they agree, every array a
kernel reads is accounted for — an input of ``fn``, the output (or a saved array) of an
earlier kernel, a parameter or state array read in place, or a constant equal in both — and
the third call onward *replays* the kernels on those arrays: one generated function of numpy
calls (:mod:`.codegen`; ``step.code`` shows it), the common ops written into buffers reused
from call to call, no Tensors, no graph, no Python of ``fn``. Where they disagree, the op
whose inputs or attributes changed is named in an error (a constant computed from data in
Python, a value that Python control flow depends on).

The guard rules (docs/performance.md has them in full): every Python value that reaches a
kernel — an op's attributes and constants, a number bound into an in-place write or a
draw — is compared between the two traces by its bits, and a difference is refused naming
the op and both values; a Python value read from a traced tensor (``item()``, ``bool()``,
``float()``, ``int()``, ``tolist()``) is refused by name; what the library does outside ops
is recorded as kernels and replayed (optimizer updates, ``zero_grad(set_to_none=False)``,
``sched.step()``, ``max_norm_``, random draws), and each update reads its optimizer's
hyper-parameters and ``opt.state[p]`` when it runs. When the second call used state the
first one made (a ``.grad`` zeroed in place), the first call is set aside as a warm-up and
the next two are compared.

What a replay does as eager code would: parameters and optimizer state are updated in place,
random draws come from the same generator stream (so a jitted run with the same seed is
bitwise equal to the eager one: the same bits everywhere but in a NaN's sign and payload,
see :func:`same_bits`), and each leaf's ``.grad`` is left as backward left it.
``fn`` returns a Tensor or a tuple of Tensors; a replay returns new Tensors holding the
results (without a graph), in fresh arrays, as are the ``.grad`` arrays: nothing a caller
holds is overwritten by the next replay. ``check=N`` runs the first N replays against eager
runs from the same state and raises on any difference.

Inside ``tg.detect_anomaly()`` a jitted function runs eagerly (every op is checked). A plan
may be replayed from several threads at once.

A call re-traces when the signature changes: the shapes, dtypes and ``requires_grad`` of the
Tensor arguments, the values of number arguments (by their bits), grad mode, and the
train/eval flag of every module ``fn`` used (``cache_size`` signatures are kept, the least
recently used dropped); and
when what the replay relies on was replaced since the trace: any attribute of a module it
called assigned anew (a parameter, buffer or child, or a setting such as a dropout rate), a
Tensor's array (``t.data = array``, ``model.to(dtype)``) or ``requires_grad``, an
optimizer's groups (``add_param_group``) or state (``load_state_dict``).
"""

from __future__ import annotations

import functools
import operator
import struct
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import modes
from .plan import JitError, _Diverged, _Plan, _Recorder, _run_recorded

__all__ = ["jit", "JitError", "same_bits"]


# -- the decorator ---------------------------------------------------------------------------

_float_bits = struct.Struct("<d").pack


def _signature(args: tuple, fn: Callable) -> tuple:
    key = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            d = a._data
            key.append((d.shape, d.dtype, a.requires_grad))
        elif type(a) is float:  # by its bits: -0.0 is not 0.0, a NaN is itself
            key.append(("N", "float", _float_bits(a)))
        elif isinstance(a, np.number):
            key.append(("N", a.dtype.str, a.tobytes()))
        elif isinstance(a, (bool, int, float)):
            key.append(("N", type(a).__name__, a))
        else:
            raise TypeError(f"jit({getattr(fn, '__name__', 'fn')}): argument {i} is a "
                            f"{type(a).__name__}; a jitted function takes Tensors and numbers "
                            f"(wrap arrays with tg.tensor or tg.from_numpy)")
    return tuple(key)


_training = operator.attrgetter("training")


class _Entry:
    __slots__ = ("first", "first_ids", "plan", "checks_left", "warmed")

    def __init__(self) -> None:
        self.first: _Recorder | None = None
        self.first_ids: list[int] = []
        self.plan: _Plan | None = None
        self.checks_left = 0
        self.warmed = False  # a first call that differed was set aside (see __call__)


class jit:  # noqa: N801 - a decorator, spelled as tg.jit
    """Trace ``fn`` (a function of Tensors and numbers returning a Tensor or a tuple of
    Tensors: forward, backward and optimizer step) on its first two calls, replay its
    kernels from the third on (see the module doc). Use as ``tg.jit(fn)``, ``@tg.jit`` or
    ``@tg.jit(check=3)``.

    ``check``: compare the first ``check`` replays with eager runs from the same state
    (parameters, optimizer state, generators) and raise :class:`JitError` on any
    difference. ``cache_size``: how many signatures are kept (8).

    The limit: Python control flow on values that are not tensors (a counter, a global) is
    traced once. The two traces catch it when it takes another path on the second call;
    ``check`` catches it later. Decisions read from tensors are refused at the trace."""

    def __init__(self, fn: Callable | None = None, *, check: int = 0,
                 cache_size: int = 8) -> None:
        if isinstance(check, bool) or not isinstance(check, int) or check < 0:
            raise ValueError(f"jit: check must be an int >= 0, got {check!r}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"jit: cache_size must be an int >= 1, got {cache_size!r}")
        self.fn = fn
        self.check = check
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, list[_Entry]] = OrderedDict()
        self.traced_outputs: Any = None  # the last trace's outputs, graph attached (to draw)
        self.traces = 0
        self._plan: _Plan | None = None  # the plan built or replayed last
        self._stale = 0  # plans dropped as stale since the last replay
        self.replays = 0
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> Any:
        if self.fn is None:  # @tg.jit(check=...) on a function
            if len(args) != 1 or not callable(args[0]):
                raise TypeError("jit(...)(fn): give the function to jit")
            self.fn = args[0]
            functools.update_wrapper(self, self.fn)
            return self
        flags = modes.mode()
        if flags & modes.ANOMALY:  # anomaly mode checks every op: run eagerly
            return self.fn(*args)
        key = (_signature(args, self.fn), bool(flags & modes.GRAD))
        entries = self._cache.get(key)
        if entries is None:
            entries = self._cache[key] = []
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        entry = None
        for e in entries:
            plan = e.plan
            if plan is None or tuple(map(_training, plan.modules)) == plan.training:
                entry = e
                if plan is not None and not plan.current():  # a parameter was replaced
                    e.plan = None
                    e.first = None
                    self._stale += 1
                    if self._stale == 3:
                        warnings.warn(
                            f"jit({getattr(self.fn, '__name__', 'fn')}): traced again 3 times "
                            f"because a module attribute or a Tensor's array it reads was "
                            f"assigned anew between calls; a step that replaces them on every "
                            f"call runs slower jitted than eager (change values in place, "
                            f"or keep such attributes off the modules)", RuntimeWarning,
                            stacklevel=2)
                break
        if entry is None:
            entry = _Entry()
            entries.append(entry)
        if entry.plan is not None:
            if entry.checks_left:
                entry.checks_left -= 1
                return self._checked(entry.plan, args)
            self.replays += 1
            self._stale = 0
            self._plan = entry.plan
            return entry.plan.run(args)
        rec, out = _run_recorded(self.fn, args)
        self.traces += 1
        self.traced_outputs = out
        self._check_outputs(out, getattr(self.fn, "__name__", "fn"))
        if entry.first is None:
            entry.first = rec
            entry.first_ids = [id(a._data) for a in args if isinstance(a, Tensor)]
            return out
        try:
            entry.plan = self._plan = _Plan(entry.first, entry.first_ids, rec, args, out)
        except _Diverged as err:
            # The first call may differ from all later ones when it creates state the next
            # ones use (a .grad that zero_grad(set_to_none=False) zeroes from the second
            # call on): then this trace is compared with the next one instead. Otherwise,
            # and a second time, the control flow depends on something a replay cannot see.
            if not err.warmup or entry.warmed:
                raise
            entry.warmed = True
            entry.first = rec
            entry.first_ids = [id(a._data) for a in args if isinstance(a, Tensor)]
            return out
        entry.first = None
        entry.checks_left = self.check
        return out

    @property
    def code(self) -> str:
        """The Python source of the replay built or run last: one line per kernel, the ops'
        names as comments, ``out=bN`` where a kernel writes into a reused buffer (see
        docs/performance.md). RuntimeError before two calls have traced a plan."""
        if self._plan is None:
            raise RuntimeError(f"jit({getattr(self.fn, '__name__', 'fn')}).code: nothing has "
                               f"been traced and compared yet; call the function twice first")
        return self._plan.source

    @staticmethod
    def _check_outputs(out: Any, name: str) -> None:
        outs = out if isinstance(out, tuple) else (out,)
        for o in outs:
            if not isinstance(o, Tensor):
                raise JitError(f"jit({name}): the function must return a Tensor or a tuple of "
                               f"Tensors (return the loss, not loss.item()), got "
                               f"{type(o).__name__}")

    def _checked(self, plan: _Plan, args: tuple) -> Any:
        """Replay, then rewind and run eagerly, and compare everything that changed."""
        leaves = [args[t] if type(t) is int else t for t, _ in plan.grads]
        snap = _Snapshot(plan, leaves)
        replayed = plan.run(args)
        rep_state = snap.current()
        rep_out = [np.array(o._data) for o in (replayed if plan.tuple_out else (replayed,))]
        rep_grads = [(t, None if t.grad is None else np.array(t.grad._data)) for t in leaves]
        snap.restore()
        out = self.fn(*args)
        eager_out = out if isinstance(out, tuple) else (out,)
        problems = []
        for i, (a, b) in enumerate(zip(rep_out, eager_out)):
            if not same_bits(a, b._data):
                problems.append(f"output {i}")
        for i, (now, before) in enumerate(zip(snap.current(), rep_state)):
            if not same_bits(now, before):
                problems.append(f"state array {i} (shape {now.shape})")
        for t, g in rep_grads:
            if (g is None) != (t.grad is None) or (g is not None and not same_bits(
                    g, t.grad._data)):
                problems.append(f"the .grad of a leaf of shape {t.shape}")
        if problems:
            raise JitError(f"jit({getattr(self.fn, '__name__', 'fn')}) check: the replay "
                           f"differs from eager in {', '.join(problems[:5])}: the function "
                           f"depends on something the trace did not see (Python control flow "
                           f"or numbers computed from data)")
        self.replays += 1
        return out


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """What "bitwise equal" means for tg.jit: the same shape and dtype, NaN at the same
    places, and every other element the same bits (0.0 and -0.0 differ). A NaN's sign and
    payload are not compared: IEEE 754 leaves open which NaN an operation on two NaNs
    returns, and numpy's loops choose differently when the output is one of the inputs."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.tobytes() == b.tobytes():
        return True
    if a.dtype.kind not in "fc":
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return bool(np.array_equal(nan_a, nan_b)) and a[~nan_a].tobytes() == b[~nan_b].tobytes()


class _Snapshot:
    """What a replay may change, so that ``check=`` can rewind it and run the eager step from
    the same state: every array the plan reads in place, each optimizer's state (which
    arrays each parameter's state holds, and its numbers) and groups' hyper-parameters, the
    objects whose methods are recorded kernels (a schedule's position), the leaves' .grad
    and the generators the plan draws from."""

    def __init__(self, plan: _Plan, leaves: list[Tensor]) -> None:
        from .. import random as _random

        arrays: dict[int, np.ndarray] = {}
        for step in plan.steps:
            for s, v in step.spec:
                if not s and isinstance(v, np.ndarray) and v.flags.writeable:
                    arrays[id(v)] = v
        optimizers, owners = {}, {}
        for step in plan.steps:
            for obj in _bound_objects(step.fn) if step.kind == "fn" else ():
                if hasattr(obj, "param_groups") and hasattr(obj, "state"):
                    optimizers[id(obj)] = obj
                elif hasattr(obj, "__dict__") and not callable(obj):  # (not a function)
                    owners[id(obj)] = obj
                    opt = getattr(obj, "optimizer", None)  # a schedule sets its groups' lr
                    if hasattr(opt, "param_groups"):
                        optimizers[id(opt)] = opt
                elif isinstance(obj, Tensor):
                    arrays[id(obj._data)] = obj._data
        self.states = []
        for opt in optimizers.values():
            entries = dict(opt.state)
            groups = [(g, {k: v for k, v in g.items() if k != "params"})
                      for g in opt.param_groups]
            self.states.append((opt, opt.state, entries,
                                {id(st): dict(st) for st in entries.values()}, groups))
            for p in opt.params:
                arrays[id(p._data)] = p._data
            for st in entries.values():
                for v in st.values():
                    if isinstance(v, np.ndarray):
                        arrays[id(v)] = v
        self.owners = [(obj, dict(obj.__dict__)) for obj in owners.values()]
        self.grads = [(t, t.grad) for t in leaves]
        for _, g in self.grads:
            if g is not None:
                arrays[id(g._data)] = g._data
        self.arrays = list(arrays.values())
        self.copies = [a.copy() for a in self.arrays]
        self.generators = [g for g in {id(g): g for g in _generators(plan)}.values()]
        default = _random.default_generator()
        if default not in self.generators:
            self.generators.append(default)
        self.gen_states = [g.bit_generator.state for g in self.generators]

    def current(self) -> list[np.ndarray]:
        return [a.copy() for a in self.arrays]

    def restore(self) -> None:
        for a, c in zip(self.arrays, self.copies):
            a[...] = c
        for opt, state, entries, contents, groups in self.states:
            object.__setattr__(opt, "state", state)
            state.clear()
            state.update(entries)
            for st in entries.values():
                st.clear()
                st.update(contents[id(st)])
            for g, hyper in groups:
                g.update(hyper)
        for obj, attrs in self.owners:
            obj.__dict__.clear()
            obj.__dict__.update(attrs)
        for t, g in self.grads:
            t.grad = g
        for g, s in zip(self.generators, self.gen_states):
            g.bit_generator.state = s


def _bound_objects(fn: Any) -> list[Any]:
    """The objects a recorded function is bound to: a partial's arguments (and its
    function's), a bound method's object."""
    found = []
    if isinstance(fn, functools.partial):
        found.extend(_bound_objects(fn.func))
        for a in fn.args:
            found.extend(_bound_objects(a) or [a])
    elif getattr(fn, "__func__", None) is not None and getattr(fn, "__self__", None) is not None:
        found.append(fn.__self__)
    return found


def _generators(plan: _Plan) -> list[np.random.Generator]:
    found = []
    for step in plan.steps:
        fn = step.fn if step.kind == "fn" else None
        if isinstance(fn, functools.partial):
            for a in fn.args:
                if isinstance(a, np.random.Generator):
                    found.append(a)
    return found

