"""``check_op``: the whole property test of an op, built-in or yours, in one call.

Needs ``hypothesis`` (``pip install "tinygrad_reg[testing]"``). The project's own op tests
(``tests/test_ops_*.py``) are written with it, so it is exactly as strict as they are.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    from hypothesis import Phase, currently_in_test_context, given, note, settings
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError('tinygrad_reg.testing.check_op needs hypothesis: '
                      'pip install "tinygrad_reg[testing]"') from err

from .._tensor import Tensor
from ..autograd import Function
from ..autograd import grad as _grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["check_op"]


class _Config:
    """check_op's options, with the op's name and the function to call."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


# -- one drawn example, materialized afresh for each check -----------------------------------

def _spread(drawn: tuple) -> list:
    """The op's positional arguments: each drawn tuple or list is spread, anything else is
    one argument."""
    args: list = []
    for value in drawn:
        if isinstance(value, (tuple, list)):
            args.extend(value)
        else:
            args.append(value)
    return args


def _fresh(args: list, dtype: Any = None) -> tuple[list, list]:
    """A copy of ``args`` in which every Tensor and ndarray (also inside tuples and lists, such
    as an index) is a new copy, floats cast to ``dtype`` if given, so checks never touch the
    drawn values (Hypothesis prints those). Returns the copy and the watch list
    ``[(label, array handed to the op, pristine copy)]`` for the mutation checks."""
    watched: list = []

    def copy(a: np.ndarray, label: str) -> np.ndarray:
        if dtype is not None and a.dtype.kind == "f":
            a = a.astype(dtype)
        else:
            a = a.copy()
        watched.append((label, a, a.copy()))
        return a

    def fresh(v: Any, label: str) -> Any:
        if isinstance(v, Tensor):
            return Tensor(copy(v._data, label), requires_grad=v.requires_grad, name=v.name)
        if isinstance(v, np.ndarray):
            return copy(v, f"{label} (an ndarray)")
        if isinstance(v, (tuple, list)):
            return type(v)(fresh(x, f"{label}[{k}]") for k, x in enumerate(v))
        return v

    return [fresh(v, f"input {i}") for i, v in enumerate(args)], watched


def _unchanged(cfg: _Config, watched: list, when: str) -> None:
    for label, arr, orig in watched:
        if arr.shape != orig.shape or not np.array_equal(arr, orig, equal_nan=True):
            raise AssertionError(f"check_op({cfg.name}): {label} was changed in place by "
                                 f"{when}; ops must never mutate their inputs or the "
                                 f"upstream gradient (copy first, or compute out of place)")


def _outputs(cfg: _Config, result: Any) -> tuple[Tensor, ...]:
    outs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if not outs or not all(isinstance(o, Tensor) for o in outs):
        kinds = ", ".join(type(o).__name__ for o in outs) or "an empty sequence"
        raise AssertionError(f"check_op({cfg.name}): the op must return a Tensor or a tuple "
                             f"of Tensors, got {kinds}")
    return outs


def _describe(v: Any) -> str:
    """One input for the note Hypothesis prints with a failure: shapes and dtypes."""
    if isinstance(v, Tensor):
        return f"Tensor {v.shape} {v.dtype}" + (", requires grad" if v.requires_grad else "")
    if isinstance(v, np.ndarray):
        return f"ndarray {v.shape} {v.dtype}"
    text = repr(v)
    return f"{type(v).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


# -- the checks ------------------------------------------------------------------------------

def _check_forward(cfg: _Config, args: list, outs: tuple[Tensor, ...]) -> None:
    """(a): finite float outputs of the right shape and dtype, equal to ``ref``."""
    for j, o in enumerate(outs):
        if o.dtype.kind == "f" and not np.all(np.isfinite(o._data)):
            bad = ~np.isfinite(o._data)
            where = tuple(int(k) for k in np.argwhere(bad)[0]) if o.ndim else ()
            raise AssertionError(
                f"check_op({cfg.name}): output {j} (shape {o.shape}) has {int(bad.sum())} "
                f"non-finite value(s) for finite inputs; first at index {where}: "
                f"{o._data[where].item()!r}")
    tensors = [a for a in args if isinstance(a, Tensor)]
    if cfg.ref is not None:
        ref_args, _ = _fresh([a._data if isinstance(a, Tensor) else a for a in args])
        want = cfg.ref(*ref_args)
        wants = tuple(want) if isinstance(want, (tuple, list)) else (want,)
        if len(wants) != len(outs):
            raise AssertionError(f"check_op({cfg.name}): the op gives {len(outs)} outputs, "
                                 f"ref gives {len(wants)}")
        for j, (o, w) in enumerate(zip(outs, wants)):
            w = np.asarray(w)
            if o.shape != w.shape:
                raise AssertionError(f"check_op({cfg.name}): output {j} has shape {o.shape}, "
                                     f"ref gives {w.shape}")
            if o.dtype != w.dtype:
                raise AssertionError(f"check_op({cfg.name}): output {j} has dtype {o.dtype}, "
                                     f"ref gives {w.dtype}")
            np.testing.assert_allclose(
                o._data, w, rtol=cfg.ref_rtol, atol=cfg.ref_atol,
                err_msg=f"check_op({cfg.name}): output {j} differs from ref")
        return
    if cfg.out_shape is not None:
        shapes = [t.shape for t in tensors]
        if cfg.out_shape == "broadcast":
            want_shape = np.broadcast_shapes(*shapes) if shapes else ()
        else:
            want_shape = tuple(cfg.out_shape(*shapes))
        for j, o in enumerate(outs):
            if o.shape != want_shape:
                how = "the inputs' broadcast shape" if cfg.out_shape == "broadcast" else \
                    "out_shape"
                raise AssertionError(f"check_op({cfg.name}): output {j} has shape {o.shape}, "
                                     f"but {how} is {want_shape} (input shapes {shapes})")
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    if floats:
        _check_dtype(cfg, outs, np.result_type(*floats), "")


def _check_dtype(cfg: _Config, outs: tuple[Tensor, ...], want: Any, inputs: str) -> None:
    for j, o in enumerate(outs):
        if o.dtype.kind == "f" and o.dtype != want:
            raise AssertionError(f"check_op({cfg.name}): {inputs}float inputs of dtype "
                                 f"{np.dtype(want)} give output {j} of dtype {o.dtype}; "
                                 f"keep the inputs' dtype (np.result_type of the inputs)")


def _check_alias(cfg: _Config, outs: tuple[Tensor, ...], watched: list) -> None:
    """(c): no output shares memory with an input, unless the op says it may."""
    if cfg.may_alias:
        return
    for j, o in enumerate(outs):
        for label, arr, _ in watched:
            if np.shares_memory(o._data, arr):
                raise AssertionError(
                    f"check_op({cfg.name}): output {j} shares memory with {label}: writing "
                    f"to one would change the other. Return a new array (e.g. x.copy()), or "
                    f"pass may_alias=True if the op is a documented view (like reshape)")


def _backward_passes(cfg: _Config, args: list, outs: tuple[Tensor, ...], watched: list,
                     rng: np.random.Generator, dtype: Any) -> None:
    """(b) and (e): first-order gradients with random upstream gradients, then (when
    ``second_order``) a second-order pass through them; inputs and upstream gradients must
    stay untouched, and every gradient must have its input's dtype ``dtype``."""
    where = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    xs = [args[i] for i in where]
    live = [j for j, o in enumerate(outs) if o.requires_grad and o.dtype.kind == "f"]
    if not xs or not live:
        return  # gradcheck reports an output that does not depend on the inputs
    ups = [Tensor(rng.standard_normal(outs[j].shape).astype(outs[j].dtype)) for j in live]
    upstream = [(f"the upstream gradient of output {j}", u._data, u._data.copy())
                for j, u in zip(live, ups)]
    gs = _grad([outs[j] for j in live], xs, ups, create_graph=cfg.second_order,
               allow_unused=True)
    _unchanged(cfg, watched + upstream, "backward")
    for i, g in zip(where, gs):
        if g is not None and g.dtype != dtype:
            raise AssertionError(f"check_op({cfg.name}): input {i} has dtype {dtype} but its "
                                 f"gradient has dtype {g.dtype}")
    if not cfg.second_order:
        return
    total = None
    for g in gs:
        if g is not None and g.requires_grad:
            w = Tensor(rng.standard_normal(g.shape).astype(g.dtype))
            upstream.append(("an upstream gradient of the second-order pass", w._data,
                             w._data.copy()))
            s = (g * w).sum()
            total = s if total is None else total + s
    if total is None:
        return
    total.backward()
    _unchanged(cfg, watched + upstream, "the second-order backward pass")
    for i, x in zip(where, xs):
        if x.grad is not None and x.grad.dtype != dtype:
            raise AssertionError(f"check_op({cfg.name}): input {i} has dtype {dtype} but its "
                                 f"second-order gradient has dtype {x.grad.dtype}")


def _named(cfg: _Config, check: Callable[..., bool], args: list) -> None:
    """(d): gradcheck or gradgradcheck, its error prefixed with the op's name."""
    fresh, watched = _fresh(args)
    try:
        check(cfg.call, fresh, eps=cfg.eps, atol=cfg.atol, rtol=cfg.rtol)
    except GradcheckError as err:
        err.args = (f"check_op({cfg.name}): {err.args[0]}",) + err.args[1:]
        raise
    _unchanged(cfg, watched, check.__name__)


def _check_float32(cfg: _Config, args: list, rng: np.random.Generator) -> None:
    """(e): the same example in float32 stays float32, forward and backward."""
    f32, watched = _fresh(args, np.float32)
    outs = _outputs(cfg, cfg.call(*f32))
    _unchanged(cfg, watched, "forward (float32)")
    _check_dtype(cfg, outs, np.float32, "the same example in float32: ")
    _backward_passes(cfg, f32, outs, watched, rng, np.float32)


def _check_example(cfg: _Config, drawn: tuple) -> None:
    """Every contract item for one drawn example."""
    args = _spread(drawn)
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad and a.dtype != np.float64:
            raise TypeError(
                f"check_op({cfg.name}): input {i} has dtype {a.dtype} and requires grad; "
                f"draw float64 inputs (the default of tensors()): gradients are checked in "
                f"float64, and check_op runs the float32 check itself (check_float32=True)")
    note(f"check_op({cfg.name}) inputs: " + "; ".join(_describe(a) for a in args))
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        raise ValueError(f"check_op({cfg.name}): no input is a Tensor that requires grad, so "
                         f"there is no gradient to check; draw at least one float64 tensor")
    rng = np.random.default_rng(0)
    phase = "forward"
    try:
        fresh, watched = _fresh(args)
        outs = _outputs(cfg, cfg.call(*fresh))
        _unchanged(cfg, watched, "forward")
        _check_forward(cfg, fresh, outs)
        _check_alias(cfg, outs, watched)
        phase = "the backward passes"
        _backward_passes(cfg, fresh, outs, watched, rng, np.float64)
        phase = "gradcheck"
        _named(cfg, gradcheck, args)
        if cfg.second_order:
            phase = "gradgradcheck"
            _named(cfg, gradgradcheck, args)
        if cfg.check_float32:
            phase = "the float32 check"
            _check_float32(cfg, args, rng)
    except AssertionError:
        raise
    except Exception as err:
        if isinstance(err, ValueError) and "read-only" in str(err):
            # the framework makes the arrays a live graph holds read-only: the op tried to
            # write into an input or a saved value
            raise AssertionError(
                f"check_op({cfg.name}): {phase} wrote into a read-only array ({err}): while a "
                f"graph holds them, inputs and saved values are read-only, and an op must "
                f"never change them in place; compute into a new array") from err
        hint = ""
        if "once-differentiable" in str(err):
            hint = "; for an op that is only once differentiable, pass second_order=False"
        note(f"check_op({cfg.name}): {type(err).__name__} raised during {phase}{hint}")
        raise


# -- the public function -----------------------------------------------------------------------

def _digest(name: str, op: Any) -> bytes:
    """What tells this op's saved examples apart in Hypothesis' database (and, when
    derandomized, its seed): the name and, when available, the op's source."""
    h = hashlib.sha256(f"tinygrad_reg.check_op:{name}".encode())
    try:
        h.update(inspect.getsource(op).encode())
    except (OSError, TypeError):
        h.update(getattr(op, "__qualname__", "").encode())
    return h.digest()


def check_op(op: Callable[..., Any] | type[Function], *inputs: st.SearchStrategy,
             ref: Callable[..., Any] | None = None,
             out_shape: str | Callable[..., tuple[int, ...]] | None = "broadcast",
             second_order: bool = True, check_float32: bool = True, may_alias: bool = False,
             max_examples: int | None = None, eps: float = 1e-6, atol: float = 1e-7,
             rtol: float = 1e-5, ref_rtol: float = 1e-10, ref_atol: float = 1e-12,
             name: str | None = None) -> None:
    """Property-test ``op`` on examples drawn from ``inputs``: one Hypothesis test, run now.

    ``op`` is a callable of Tensors or a :class:`~tinygrad_reg.Function` subclass (then
    ``op.apply`` is called). Each of ``inputs`` is a Hypothesis strategy, for instance from
    :mod:`tinygrad_reg.testing.strategies`; a drawn tuple or list is spread into positional
    arguments (so ``broadcastable_tensors(2)`` gives two, and an ``@st.composite`` can return
    dependent ones such as ``(tensor, exponent)``), and anything that is not a Tensor (an
    exponent, an axis, an index) is passed through unchanged. Tensors that require grad are
    differentiated; they must be float64 (a float32 one raises ``TypeError``: the float32
    check below is check_op's job).

    For every example, the contract (each failure an ``AssertionError`` naming the op, a
    :class:`~tinygrad_reg.testing.GradcheckError` for a wrong gradient):

    a. forward returns a Tensor or a tuple of Tensors; float outputs are finite; with ``ref``
       (a numpy function of the same arguments, Tensors replaced by copies of their arrays)
       the outputs have the ref's shape and dtype and its values within
       ``ref_rtol``/``ref_atol``; without it the shape is ``np.broadcast_shapes`` of the
       Tensor inputs (``out_shape="broadcast"``), ``out_shape(*input_shapes)``, or unchecked
       (``out_shape=None``), and float outputs have the inputs' ``np.result_type``;
    b. no input (Tensor data, ndarray constants, arrays inside tuple arguments) and no
       upstream gradient is changed in place by forward, backward or the second-order pass;
    c. no output shares memory with an input (``np.shares_memory``), unless ``may_alias``
       (for documented views such as reshape or transpose);
    d. :func:`~tinygrad_reg.testing.gradcheck` (first derivatives, and each gradient's shape,
       against central differences with ``eps``, ``atol``, ``rtol``) and, when
       ``second_order``, :func:`~tinygrad_reg.testing.gradgradcheck`. The defaults
       (``atol=1e-7``, ``rtol=1e-5``) are tighter than gradcheck's own (PyTorch's 1e-5 and
       1e-3), so that a gradient off by a factor of 1.001 fails;
    e. with ``check_float32``, the same example cast to float32 gives float32 outputs and
       float32 gradients (first order, and second order when ``second_order``).

    Hypothesis shrinks a failure to a minimal example and prints it with the input shapes;
    a GradcheckError also names the worst element and both of its values. Settings: no
    deadline; ``max_examples`` if given, else the active profile's. The inner test is named
    ``check_op_<name>`` (``name`` defaults to the op's ``__name__``; give one for a lambda)
    and keeps its own entries in the example database.

    Call it from a plain test function (e.g. one ``@pytest.mark.parametrize`` case per op),
    not inside ``@given``: it runs its own property test, and nesting one in another makes
    generation and shrinking quadratic, so that raises ``RuntimeError``. Example::

        def test_softplus():
            check_op(Softplus, tensors(), ref=lambda x: np.logaddexp(0.0, x))
    """
    if isinstance(op, type) and issubclass(op, Function):
        call = op.apply
    elif callable(op):
        call = op
    else:
        raise TypeError(f"check_op: op must be a callable or a tg.Function subclass, got "
                        f"{type(op).__name__}")
    name = name or getattr(op, "__name__", None) or type(op).__name__
    if not inputs:
        raise ValueError(f"check_op({name}): give at least one input strategy")
    for i, s in enumerate(inputs):
        if not isinstance(s, st.SearchStrategy):
            raise TypeError(f"check_op({name}): input {i} must be a Hypothesis strategy (for "
                            f"example tg.testing.strategies.tensors()), got "
                            f"{type(s).__name__}; wrap a fixed value in st.just(...)")
    if not (out_shape is None or out_shape == "broadcast" or callable(out_shape)):
        raise ValueError(f"check_op({name}): out_shape must be 'broadcast', a callable or "
                         f"None, got {out_shape!r}")
    if max_examples is not None and (isinstance(max_examples, bool)
                                     or not isinstance(max_examples, int) or max_examples < 1):
        raise ValueError(f"check_op({name}): max_examples must be a positive int or None, got "
                         f"{max_examples!r}")
    if ref is not None and not callable(ref):
        raise TypeError(f"check_op({name}): ref must be a callable, got {type(ref).__name__}")
    if currently_in_test_context():
        raise RuntimeError(
            f"check_op({name}): called inside a running Hypothesis test (@given). check_op "
            f"runs a property test of its own; nesting it makes generation and shrinking "
            f"quadratic. Call it from a plain test function instead (parametrize over ops "
            f"with @pytest.mark.parametrize), and pass your strategies to it as inputs")
    cfg = _Config(name=name, call=call, ref=ref, out_shape=out_shape,
                  second_order=bool(second_order), may_alias=bool(may_alias),
                  check_float32=bool(check_float32), eps=eps, atol=atol, rtol=rtol,
                  ref_rtol=ref_rtol, ref_atol=ref_atol)

    def test(**drawn: Any) -> None:
        _check_example(cfg, tuple(drawn[f"input{i}"] for i in range(len(inputs))))

    test.__name__ = test.__qualname__ = "check_op_" + re.sub(r"\W", "_", name)
    test._hypothesis_internal_add_digest = _digest(name, op)  # type: ignore[attr-defined]
    # The explain phase re-runs a failure under a tracer to list the lines only failures ran:
    # seconds per failure, and those lines are the checks' own, which the message names.
    # print_blob is off: its advice (decorate the test with @reproduce_failure) cannot be
    # followed for a test that check_op builds; the example database replays a failure on
    # the next run (and under derandomize the same examples come back anyway).
    options: dict[str, Any] = {"deadline": None, "print_blob": False, "phases": [
        p for p in settings.default.phases if p is not Phase.explain]}
    if max_examples is not None:
        options["max_examples"] = max_examples
    run = settings(**options)(given(**{f"input{i}": s for i, s in enumerate(inputs)})(test))
    run()
