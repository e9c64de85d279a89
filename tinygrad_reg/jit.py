"""``tg.jit``: trace a step once, replay its kernels.

A training step in eager mode builds Tensors, graph nodes and a topological order for every
op, every time. ``step = tg.jit(fn)`` runs ``fn`` eagerly on its first two calls with a
tracer that records every *kernel*: each op's forward (with what it saves for backward), each
backward op, the engine's sums and copies of gradients, each optimizer update, each in-place
write and each random draw. The two traces are compared: where they agree, every array a
kernel reads is accounted for — an input of ``fn``, the output (or a saved array) of an
earlier kernel, a parameter or state array read in place, or a constant equal in both — and
the third call onward *replays* the kernels on those arrays: numpy calls in a flat loop, no
Tensors, no graph, no Python of ``fn``. Where they disagree, the op whose inputs or
attributes changed is named in an error (a constant computed from data in Python, a value
that Python control flow depends on).

What a replay does as eager code would: parameters and optimizer state are updated in place,
random draws come from the same generator stream (so a jitted run with the same seed is
bitwise equal to the eager one), and each leaf's ``.grad`` is left as backward left it.
``fn`` returns a Tensor or a tuple of Tensors; a replay returns new Tensors holding the
results (without a graph). ``check=N`` runs the first N replays against eager runs from the
same state and raises on any difference.

Inside ``tg.detect_anomaly()`` a jitted function runs eagerly (every op is checked). A plan
may be replayed from several threads at once.

A call re-traces when the signature changes: the shapes, dtypes and ``requires_grad`` of the
Tensor arguments, the values of number arguments, grad mode, and the train/eval flag of every
module ``fn`` used (``cache_size`` signatures are kept, the least recently used dropped).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd import modes
from .autograd.function import _NO_CONTEXT, wrap
from .autograd.modes import same

__all__ = ["jit", "JitError"]


class JitError(RuntimeError):
    """A step that cannot be replayed, or a replay that differs from eager (``check=``)."""


# -- recording -------------------------------------------------------------------------------

class _Recorder:
    """The tracer: every kernel of one eager call, in order."""

    def __init__(self) -> None:
        # (holding every array it saw keeps their ids unique while the trace lives)
        self.kernels: list[tuple] = []
        self.modules: dict[int, Any] = {}
        self.leaves: dict[int, Tensor] = {}
        self.produced: set[int] = set()  # arrays the recorded kernels made

    def op(self, cls: type, inputs: tuple, attrs: dict, out: np.ndarray, ctx: Any) -> None:
        for m in modes.scope():
            self.modules.setdefault(id(m), m)
        arrays = [t._data for t in inputs]
        if ctx is _NO_CONTEXT:
            saved, extra, needs = (), {}, ()
        else:
            saved = tuple(a for a in ctx._saved)
            extra = {k: v for k, v in ctx.__dict__.items() if isinstance(v, np.ndarray)}
            needs = ctx.needs_input_grad
        self.kernels.append(("op", cls, arrays, dict(attrs), out, saved, extra, needs))
        self.produced.add(id(out))
        self.produced.update(id(a) for a in saved if isinstance(a, np.ndarray))

    def kernel(self, fn: Callable, inputs: tuple, out: Any, key: Any) -> None:
        arrays = list(inputs)
        self.kernels.append(("fn", fn, arrays, key, out))
        if out is not None:
            self.produced.add(id(out))

    def leaf_grad(self, t: Tensor, previous: np.ndarray | None = None) -> None:
        if previous is not None and id(previous) not in self.produced:
            raise JitError(f"jit: backward adds to the .grad (shape {t.shape}) left by an "
                           f"earlier call, which a replay cannot see; call opt.zero_grad() "
                           f"(or set .grad = None) inside the jitted function")
        self.leaves[id(t)] = t


def _run_recorded(fn: Callable, args: tuple) -> tuple[_Recorder, Any]:
    with modes.traced(_Recorder()) as rec:
        out = fn(*args)
    return rec, out


# -- the plan --------------------------------------------------------------------------------

class _Stub:
    """The ``ctx`` a replayed forward gets: it keeps what forward saves and sets."""

    __slots__ = ("_saved", "needs_input_grad", "__dict__")

    def __init__(self, needs: tuple) -> None:
        self._saved = ()
        self.needs_input_grad = needs

    def save_for_backward(self, *arrays: Any) -> None:
        self._saved = arrays


def _name(kernel: tuple) -> str:
    if kernel[0] == "op":
        return kernel[1].__name__
    key = kernel[3]
    return f"{key[0]} ({key[1]})" if isinstance(key, tuple) and len(key) > 1 and \
        isinstance(key[1], str) else str(key[0] if isinstance(key, tuple) else key)


def _differ(x: tuple, y: tuple) -> bool:
    """Whether two recorded kernels are not the same kernel (another op, another key)."""
    return x[0] != y[0] or (x[1] is not y[1] if x[0] == "op" else not same(x[3], y[3]))


class _Plan:
    """Two traces of the same signature turned into a flat list of steps."""

    def __init__(self, a: _Recorder, ids_a: list[int], b: _Recorder, args_b: tuple,
                 out_b: Any) -> None:
        ka, kb = a.kernels, b.kernels
        if len(ka) != len(kb) or any(map(_differ, ka, kb)):
            raise JitError(self._diverged(ka, kb))
        slot_a: dict[int, int] = {}
        slot_b: dict[int, int] = {}
        n_slots = 0
        for t_b in args_b:
            if isinstance(t_b, Tensor):
                slot_b[id(t_b._data)] = n_slots
                n_slots += 1
        # trace A's inputs took the same slots, in order
        for i, key in enumerate(ids_a):
            slot_a[key] = i
        steps = []
        for index, (x, y) in enumerate(zip(ka, kb)):
            name = _name(y)
            spec = []
            for pos, (arr_a, arr_b) in enumerate(zip(x[2], y[2])):
                spec.append(self._resolve(arr_a, arr_b, slot_a, slot_b, name, f"input {pos}"))
            if x[0] == "op":
                cls, attrs_a, attrs_b = y[1], x[3], y[3]
                attrs = {}
                dyn_attrs = []
                for k in attrs_b:
                    va, vb = attrs_a.get(k), attrs_b[k]
                    if isinstance(vb, np.ndarray) and id(vb) in slot_b:
                        if slot_a.get(id(va)) != slot_b[id(vb)]:
                            raise JitError(f"jit: {name}'s attribute {k} comes from different "
                                           f"places in two traces")
                        dyn_attrs.append((k, slot_b[id(vb)]))
                    elif not same(va, vb):
                        raise JitError(f"jit: {name} (kernel {index}) has attribute {k}={va!r} "
                                       f"in one call and {vb!r} in the next: it depends on the "
                                       f"data (or on a number computed in Python), so a replay "
                                       f"would be stale")
                    else:
                        attrs[k] = vb
                out_slot, n_slots = n_slots, n_slots + 1
                # (an output that is its input's own array keeps the input's slot)
                slot_a.setdefault(id(x[4]), out_slot)
                slot_b.setdefault(id(y[4]), out_slot)
                saved_slots = []
                for p, (sa, sb) in enumerate(zip(x[5], y[5])):
                    if isinstance(sb, np.ndarray) and id(sb) not in slot_b:
                        slot_a[id(sa)] = slot_b[id(sb)] = n_slots
                        saved_slots.append((p, n_slots))
                        n_slots += 1
                extra_slots = []
                for k, vb in y[6].items():
                    if id(vb) not in slot_b:
                        va = x[6].get(k)
                        slot_a[id(va)] = slot_b[id(vb)] = n_slots
                        extra_slots.append((k, n_slots))
                        n_slots += 1
                steps.append(("op", cls, tuple(spec), attrs, tuple(dyn_attrs), out_slot,
                              tuple(saved_slots), tuple(extra_slots), y[7]))
            else:
                fn, res_a, res_b = y[1], x[4], y[4]
                out_slot = None
                if res_b is not None:
                    if id(res_b) in slot_b:  # in place: the result is an input's array
                        out_slot = slot_b[id(res_b)]
                    else:
                        out_slot, n_slots = n_slots, n_slots + 1
                        slot_a[id(res_a)] = slot_b[id(res_b)] = out_slot
                steps.append(("fn", fn, tuple(spec), out_slot))
        self.steps = steps
        self.kernels = [_compile(step) for step in steps]  # what a replay runs
        self.n_slots = n_slots
        outs = out_b if isinstance(out_b, tuple) else (out_b,)
        self.tuple_out = isinstance(out_b, tuple)
        self.outputs = []
        for o in outs:
            if not isinstance(o, Tensor):
                raise JitError(f"jit: the function must return a Tensor or a tuple of Tensors, "
                               f"got {type(o).__name__}")
            key = id(o._data)
            self.outputs.append(("slot", slot_b[key]) if key in slot_b else ("ext", o._data))
        # each leaf's .grad as the traced call left it (a leaf passed as an argument: the
        # argument of the call being replayed)
        arg_index = {id(t): i for i, t in enumerate(args_b) if isinstance(t, Tensor)}
        self.grads = []
        for t in b.leaves.values():
            g = t.grad
            target = arg_index.get(id(t), t)
            if g is None:
                self.grads.append((target, None))
            elif id(g._data) in slot_b:
                self.grads.append((target, slot_b[id(g._data)]))
            else:
                raise JitError(f"jit: the .grad of a leaf (shape {t.shape}) was set outside the "
                               f"recorded kernels, so a replay cannot reproduce it; let "
                               f"backward() set it, after opt.zero_grad() inside the function")
        self.modules = list(b.modules.values())
        self.training = tuple(m.training for m in self.modules)

    @staticmethod
    def _diverged(ka: list, kb: list) -> str:
        for i, (x, y) in enumerate(zip(ka, kb)):
            if _differ(x, y):
                return (f"jit: the second call ran other kernels than the first (kernel {i}: "
                        f"{_name(x)} then {_name(y)}): Python control flow in the function "
                        f"depends on the data, so no single trace can replay it")
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
        raise JitError(f"jit: {name}'s {where} (shape {np.shape(arr_b)}) changed between two "
                       f"calls but was made outside the recorded kernels (a numpy computation "
                       f"in Python, or a backward that returns arrays instead of Tensor ops): "
                       f"a replay would reuse a stale value. Write it with Tensor ops")

    def run(self, args: tuple) -> Any:
        arrays = [a._data for a in args if isinstance(a, Tensor)]
        slots: list[Any] = [None] * self.n_slots
        slots[:len(arrays)] = arrays
        for k in self.kernels:
            k(slots)
        for t, i in self.grads:
            if type(t) is int:
                t = args[t]
            t.grad = None if i is None else wrap(slots[i])
        results = tuple(wrap(slots[v]) if kind == "slot" else wrap(v)
                        for kind, v in self.outputs)
        return results if self.tuple_out else results[0]


def _compile(step: tuple) -> Callable[[list], None]:
    """One step as a closure over its slots: the replay loop's body, kept to a few
    bytecodes for the common shapes (every input from a slot, one or two of them)."""
    if step[0] == "op":
        _, cls, spec, attrs, dyn, out_slot, saved, extra, needs = step
        fwd = cls.forward
        stub = _Stub(needs)  # one per step, reused: forward only writes into it
        after = bool(saved or extra)
        simple = not dyn and not after and all(s for s, _ in spec)
        if simple and len(spec) == 1 and not attrs:
            i0 = spec[0][1]

            def run1(slots: list) -> None:
                out = fwd(stub, slots[i0])
                slots[out_slot] = out if type(out) is np.ndarray else np.asarray(out)
            return run1
        if simple and len(spec) == 2 and not attrs:
            i0, i1 = spec[0][1], spec[1][1]

            def run2(slots: list) -> None:
                out = fwd(stub, slots[i0], slots[i1])
                slots[out_slot] = out if type(out) is np.ndarray else np.asarray(out)
            return run2

        def run_op(slots: list) -> None:
            ins = [slots[v] if s else v for s, v in spec]
            kw = attrs
            if dyn:  # (a fresh dict and ctx when read back: replays may run in threads)
                kw = dict(attrs)
                for k, i in dyn:
                    kw[k] = slots[i]
            ctx = _Stub(needs) if after else stub
            out = fwd(ctx, *ins, **kw)
            slots[out_slot] = out if type(out) is np.ndarray else np.asarray(out)
            if after:
                for p, i in saved:
                    slots[i] = ctx._saved[p]
                for k, i in extra:
                    slots[i] = ctx.__dict__[k]
        return run_op
    _, fn, spec, out_slot = step
    if all(s for s, _ in spec) and len(spec) == 2:
        i0, i1 = spec[0][1], spec[1][1]
        if out_slot is None:
            def fn2(slots: list) -> None:
                fn(slots[i0], slots[i1])
            return fn2

        def fn2_out(slots: list) -> None:
            slots[out_slot] = fn(slots[i0], slots[i1])
        return fn2_out

    def run_fn(slots: list) -> None:
        out = fn(*[slots[v] if s else v for s, v in spec])
        if out_slot is not None:
            slots[out_slot] = out
    return run_fn


# -- the decorator ---------------------------------------------------------------------------

def _signature(args: tuple, fn_name: str) -> tuple:
    key = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            key.append(("T", a._data.shape, a._data.dtype.str, a.requires_grad))
        elif isinstance(a, (bool, int, float, np.number)):
            key.append(("N", type(a).__name__, a))
        else:
            raise TypeError(f"jit({fn_name}): argument {i} is a {type(a).__name__}; a jitted "
                            f"function takes Tensors and numbers (wrap arrays with "
                            f"tg.tensor or tg.from_numpy)")
    return (tuple(key), bool(modes.mode() & modes.GRAD))


class _Entry:
    __slots__ = ("first", "first_ids", "plan", "checks_left")

    def __init__(self) -> None:
        self.first: _Recorder | None = None
        self.first_ids: list[int] = []
        self.plan: _Plan | None = None
        self.checks_left = 0


class jit:  # noqa: N801 - a decorator, spelled as tg.jit
    """Trace ``fn`` (a function of Tensors and numbers returning a Tensor or a tuple of
    Tensors: forward, backward and optimizer step) on its first two calls, replay its
    kernels from the third on (see the module doc). Use as ``tg.jit(fn)``, ``@tg.jit`` or
    ``@tg.jit(check=3)``.

    ``check``: compare the first ``check`` replays with eager runs from the same state
    (parameters, optimizer state, generators) and raise :class:`JitError` on any
    difference. ``cache_size``: how many signatures are kept (8).

    The limit: Python control flow that depends on the data is traced once. The two traces
    catch it when it takes another path on the second call; ``check`` catches it later."""

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
        name = getattr(self.fn, "__name__", "fn")
        key = _signature(args, name)
        if modes.mode() & modes.ANOMALY:  # anomaly mode checks every op: run eagerly
            return self.fn(*args)
        entries = self._cache.get(key)
        if entries is None:
            entries = self._cache[key] = []
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        entry = None
        for e in entries:
            if e.plan is None or tuple(m.training for m in e.plan.modules) == e.plan.training:
                entry = e
                break
        if entry is None:
            entry = _Entry()
            entries.append(entry)
        if entry.plan is not None:
            if entry.checks_left:
                entry.checks_left -= 1
                return self._checked(entry.plan, args)
            self.replays += 1
            return entry.plan.run(args)
        rec, out = _run_recorded(self.fn, args)
        self.traces += 1
        self.traced_outputs = out
        self._check_outputs(out, name)
        if entry.first is None:
            entry.first = rec
            entry.first_ids = [id(a._data) for a in args if isinstance(a, Tensor)]
            return out
        entry.plan = _Plan(entry.first, entry.first_ids, rec, args, out)
        entry.first = None
        entry.checks_left = self.check
        return out

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
        snap = _Snapshot(plan)
        replayed = plan.run(args)
        rep_state = snap.current()
        rep_out = [np.array(o._data) for o in (replayed if plan.tuple_out else (replayed,))]
        leaves = [args[t] if type(t) is int else t for t, _ in plan.grads]
        rep_grads = [(t, None if t.grad is None else np.array(t.grad._data)) for t in leaves]
        snap.restore()
        out = self.fn(*args)
        eager_out = out if isinstance(out, tuple) else (out,)
        problems = []
        for i, (a, b) in enumerate(zip(rep_out, eager_out)):
            if not np.array_equal(a, b._data, equal_nan=True):
                problems.append(f"output {i}")
        for i, (now, before) in enumerate(zip(snap.current(), rep_state)):
            if not np.array_equal(now, before, equal_nan=True):
                problems.append(f"state array {i} (shape {now.shape})")
        for t, g in rep_grads:
            if (g is None) != (t.grad is None) or (g is not None and not np.array_equal(
                    g, t.grad._data, equal_nan=True)):
                problems.append(f"the .grad of a leaf of shape {t.shape}")
        if problems:
            raise JitError(f"jit({getattr(self.fn, '__name__', 'fn')}) check: the replay "
                           f"differs from eager in {', '.join(problems[:5])}: the function "
                           f"depends on something the trace did not see (Python control flow "
                           f"or numbers computed from data)")
        self.replays += 1
        return out


class _Snapshot:
    """Copies of every array a plan reads in place, and of the generators it draws from."""

    def __init__(self, plan: _Plan) -> None:
        from . import random as _random

        arrays: dict[int, np.ndarray] = {}
        for step in plan.steps:
            for s, v in step[2]:
                if not s and isinstance(v, np.ndarray) and v.flags.writeable:
                    arrays[id(v)] = v
        self.optimizers = {}
        for step in plan.steps:
            fn = step[1]
            if isinstance(fn, functools.partial) and fn.args and \
                    hasattr(fn.args[0], "param_groups"):
                opt, p, st = fn.args[0], fn.args[1], fn.args[2]
                self.optimizers[id(opt)] = opt
                arrays[id(p._data)] = p._data
                for v in st.values():
                    if isinstance(v, np.ndarray):
                        arrays[id(v)] = v
        self.arrays = list(arrays.values())
        self.copies = [a.copy() for a in self.arrays]
        self.states = [(opt, {id(st): dict(st) for st in opt.state.values()})
                       for opt in self.optimizers.values()]
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
        for opt, states in self.states:
            for st in opt.state.values():
                saved = states.get(id(st))
                if saved is not None:
                    for k, v in saved.items():
                        if not isinstance(v, np.ndarray):
                            st[k] = v
        for g, s in zip(self.generators, self.gen_states):
            g.bit_generator.state = s


def _generators(plan: _Plan) -> list[np.random.Generator]:
    found = []
    for step in plan.steps:
        fn = step[1]
        if isinstance(fn, functools.partial):
            for a in fn.args:
                if isinstance(a, np.random.Generator):
                    found.append(a)
    return found
