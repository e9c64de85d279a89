"""A plan's replay as one generated Python function, with the common ops lowered.

A plan is a list of steps over numbered slots: op forwards, backward ops, the engine's sums
and copies, optimizer updates, random draws. Replaying it as a loop of closures costs a few
Python calls per step on top of the numpy call, and every forward allocates its result.
Here the steps become the lines of one function whose locals are the slots (``s12``), and
the common ops are *lowered*: written as the numpy calls their forward makes, into a buffer
allocated once per thread (``add(s3, b1, out=b4)``) instead of a call of the forward. The
plan (:mod:`.plan`) moves each lowered kernel next to its first reader and shares buffers
between arrays whose lives do not overlap.

A lowering computes exactly what the op's forward computes — the same ufuncs on the same
operands in the same order, into an array of the same dtype, shape and memory order — so a
replay stays bitwise equal to eager mode (tests/test_jit_codegen.py checks each lowering
against its forward). Lowerings are looked up by the forward function itself, so a subclass
that keeps its parent's forward (Dropout2d) shares the lowering, and one that overrides it
does not. Ops without a lowering (a user's Function among them) are called as they are.

A buffer holds only an array that never leaves the replay: not a result of the function, not
a leaf's ``.grad``, not read by an optimizer update or a user's in-place kernel (which might
keep it), and no view of such an array. Those are allocated afresh on every replay, as in
eager mode, so nothing the caller holds is overwritten by the next replay.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..autograd.accumulate import _iadd
from ..nn.losses import BinaryCrossEntropyWithLogits, BinaryCrossEntropyWithLogitsBackward
from ..ops.activation import ReLU, ReLUBackward, Tanh, TanhBackward
from ..ops.elementwise import Add, Div, Mul, Neg, Sub
from ..ops.linalg import Linear, MatMul
from ..ops.shape import SumTo, Transpose
from ..optim import SGD
from ..optim.optimizer import _replay_update
from ..regularization.noise import Dropout
from ..regularization.penalties import L2Penalty


class Lowered(NamedTuple):
    """Source lines for one step: ``{o}`` is the output, ``{i0}``, ``{i1}``... the inputs,
    ``{t0}``... temporary buffers of the given (shape, dtype), ``{c0}``... constants.
    ``assigns``: the lines assign ``{o}`` themselves (a view of an input, or a small fresh
    result such as a loss), so it takes no buffer. ``inplace``: the
    inputs whose buffer may also be the output's (the lines read them before, or only
    where, they write ``{o}``), used when that input is read for the last time here."""

    lines: tuple[str, ...]
    temps: tuple[tuple[tuple[int, ...], Any], ...] = ()
    consts: tuple[Any, ...] = ()
    assigns: bool = False
    inplace: tuple[int, ...] = ()


# the numpy functions the lowered lines call, by the names they use
NUMPY = {name: getattr(np, name) for name in (
    "add", "subtract", "multiply", "true_divide", "negative", "absolute", "tanh", "exp",
    "log1p", "maximum", "greater", "greater_equal", "matmul", "dot", "vdot", "copyto",
    "asarray", "empty")}

# forward function -> rule(input arrays, output array, attrs) -> Lowered, or None when this
# particular call (its dtypes, shapes, attributes) is not one the rule reproduces exactly
_RULES: dict[Callable, Callable[[list, np.ndarray, dict], Lowered | None]] = {}


def _lowers(*classes: type) -> Callable:
    def register(rule: Callable) -> Callable:
        for cls in classes:
            _RULES[cls.forward] = rule
        return rule
    return register


def _ufunc(name: str, arity: int) -> Callable:
    args = ", ".join(f"{{i{k}}}" for k in range(arity))

    def rule(ins: list, out: np.ndarray, attrs: dict) -> Lowered:
        return Lowered((f"{name}({args}, out={{o}})",), inplace=tuple(range(arity)))
    return rule


for _cls, _name, _arity in ((Add, "add", 2), (Sub, "subtract", 2), (Mul, "multiply", 2),
                            (Div, "true_divide", 2), (Neg, "negative", 1), (Tanh, "tanh", 1)):
    _RULES[_cls.forward] = _ufunc(_name, _arity)


@_lowers(ReLU)
def _relu(ins: list, out: np.ndarray, attrs: dict) -> Lowered:
    return Lowered(("maximum({i0}, 0, out={o})",), inplace=(0,))  # forward: np.maximum(x, 0)


@_lowers(ReLUBackward)
def _relu_backward(ins: list, out: np.ndarray, attrs: dict) -> Lowered:
    # forward: g * (x > 0)
    return Lowered(("greater({i1}, 0, out={t0})", "multiply({i0}, {t0}, out={o})"),
                   temps=((ins[1].shape, np.dtype(bool)),), inplace=(0, 1))


@_lowers(TanhBackward)
def _tanh_backward(ins: list, out: np.ndarray, attrs: dict) -> Lowered | None:
    # forward: g * (1.0 - y * y); the intermediate lives in the output buffer
    g, y = ins
    if not (g.shape == y.shape == out.shape and g.dtype == y.dtype == out.dtype):
        return None
    return Lowered(("multiply({i1}, {i1}, out={o})", "subtract(1.0, {o}, out={o})",
                    "multiply({i0}, {o}, out={o})"), inplace=(1,))  # (g is read last)


@_lowers(Linear)
def _linear(ins: list, out: np.ndarray, attrs: dict) -> Lowered | None:
    # forward: np.matmul(x, w.T), then += b when b has the product's dtype
    if np.result_type(ins[0], ins[1]) != out.dtype or not out.flags.c_contiguous:
        return None
    product = "dot" if ins[0].ndim == 2 else "matmul"  # as the forward chooses
    lines = [product + "({i0}, {i1}.T, out={o})"]
    if len(ins) == 3:
        if ins[2].dtype != out.dtype:
            return None
        lines.append("add({o}, {i2}, out={o})")
    return Lowered(tuple(lines))


@_lowers(MatMul)
def _matmul(ins: list, out: np.ndarray, attrs: dict) -> Lowered | None:
    if out.ndim == 0 or np.result_type(*ins) != out.dtype:  # vector @ vector: a scalar
        return None
    if ins[0].ndim == 2 and ins[1].ndim == 2:  # as the forward chooses
        return Lowered(("dot({i0}, {i1}, out={o})",)) if out.flags.c_contiguous else None
    return Lowered(("matmul({i0}, {i1}, out={o})",))


@_lowers(Dropout)
def _dropout(ins: list, out: np.ndarray, attrs: dict) -> Lowered | None:
    # forward: np.multiply(x, mask), then /= keep (a Python float, as here)
    keep = 1.0 - attrs["p"]
    if keep == 0.0:
        return None
    return Lowered(("multiply({i0}, {i1}, out={o})", "true_divide({o}, {c0}, out={o})"),
                   consts=(keep,), inplace=(0,))


@_lowers(SumTo)
def _sum_to(ins: list, out: np.ndarray, attrs: dict) -> Lowered | None:
    # forward's common case: only leading axes were added -> x.sum(axis=leading axes)
    (x,) = ins
    shape = tuple(attrs["shape"])
    lead = x.ndim - len(shape)
    if lead <= 0 or x.shape[lead:] != shape or x.dtype.kind != "f" or out.dtype != x.dtype:
        return None
    axis = 0 if lead == 1 else tuple(range(lead))
    return Lowered(("add.reduce({i0}, axis={c0}, out={o})",), consts=(axis,))


@_lowers(Transpose)
def _transpose(ins: list, out: np.ndarray, attrs: dict) -> Lowered:
    return Lowered(("{o} = {i0}.transpose({c0})",), consts=(attrs["axes"],), assigns=True)


@_lowers(BinaryCrossEntropyWithLogits)
def _bce_with_logits(ins: list, out: np.ndarray, attrs: dict) -> Lowered | None:
    # forward: loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), then the mean
    # (np.asarray(loss.sum() / loss.size, dtype)) or the sum
    z, y = ins
    reduction = attrs["reduction"]
    if z.shape != y.shape or z.dtype != y.dtype or reduction not in ("mean", "sum"):
        return None
    total = "{t0}.sum() / {c0}" if reduction == "mean" else "{t0}.sum()"
    return Lowered(("maximum({i0}, 0, out={t0})", "multiply({i0}, {i1}, out={t1})",
                    "subtract({t0}, {t1}, out={t0})", "absolute({i0}, out={t1})",
                    "negative({t1}, out={t1})", "exp({t1}, out={t1})",
                    "log1p({t1}, out={t1})", "add({t0}, {t1}, out={t0})",
                    "{o} = asarray(" + total + ", {c1})"),
                   temps=((z.shape, z.dtype), (z.shape, z.dtype)), consts=(z.size, z.dtype),
                   assigns=True)


@_lowers(BinaryCrossEntropyWithLogitsBackward)
def _bce_with_logits_backward(ins: list, out: np.ndarray, attrs: dict) -> Lowered | None:
    # forward: out = σ(z) = np.where(z >= 0, 1.0, e) / (1.0 + e) with e = exp(-|z|), then
    # out -= y; out *= g; out /= n when n != 1
    z, y, g = ins
    if not (z.shape == y.shape == out.shape and z.dtype == y.dtype == out.dtype):
        return None
    lines = ["absolute({i0}, out={o})", "negative({o}, out={o})", "exp({o}, out={o})",
             "add({o}, 1.0, out={t1})", "greater_equal({i0}, 0, out={t0})",
             "copyto({o}, 1.0, where={t0})", "true_divide({o}, {t1}, out={o})",
             "subtract({o}, {i1}, out={o})", "multiply({o}, {i2}, out={o})"]
    if attrs["n"] != 1:
        lines.append("true_divide({o}, {c0}, out={o})")
    return Lowered(tuple(lines), temps=((z.shape, np.dtype(bool)), (z.shape, z.dtype)),
                   consts=(attrs["n"],))


@_lowers(L2Penalty)
def _l2_penalty(ins: list, out: np.ndarray, attrs: dict) -> Lowered:
    # forward: total = 0.0; total += np.vdot(w, w) for each w; asarray(total * (lam / 2.0))
    total = "0.0" + "".join(f" + vdot({{i{k}}}, {{i{k}}})" for k in range(len(ins)))
    return Lowered((f"{{o}} = asarray(({total}) * {{c0}}, {{c1}})",),
                   consts=(attrs["lam"] / 2.0, np.result_type(*ins)), assigns=True)


# rules whose lines assign their result (no buffer, so no checks of the traced output)
_ASSIGNING = {Transpose.forward, BinaryCrossEntropyWithLogits.forward, L2Penalty.forward}


# the engine's kernels (recorded functions, not ops), compared by identity
_SUM = Lowered(("add({i0}, {i1}, out={o})",), inplace=(0, 1))  # np.add: a sum of gradients
_ACCUMULATE = Lowered(("add({i0}, {i1}, out={i0})",))  # _iadd: added into a pending sum
_PURE_FNS = (np.add, _iadd, np.copy)  # engine kernels: they keep no reference to an input


def is_inplace(fn: Any) -> bool:
    """Whether a recorded function kernel is the engine's in-place accumulation."""
    return fn is _iadd


def lower(step: tuple, ins: list, out: Any) -> Lowered | None:
    """The lowering of one plan step, given the arrays of its traced call, or None."""
    if step[0] == "op":
        rule = _RULES.get(step[1].forward)
        if rule is None or step[4] or step[6] or step[7]:  # dynamic attrs, saved/extra arrays
            return None
        if step[1].forward in _ASSIGNING:
            return rule(ins, out, step[3]) if isinstance(ins[0], np.ndarray) else None
        if not isinstance(out, np.ndarray) or out.base is not None or any(
                o is out for o in ins):
            return None
        if not (out.flags.c_contiguous or out.flags.f_contiguous):
            return None
        if not all(isinstance(a, np.ndarray) for a in ins):
            return None
        return rule(ins, out, step[3])
    fn = step[1]
    if fn is _iadd:
        return _ACCUMULATE
    if isinstance(fn, functools.partial) and fn.func is _replay_update and \
            type(fn.args[0]) is SGD and isinstance(ins[0], np.ndarray):
        return _sgd(fn, ins[0])
    if fn is not np.add or not isinstance(out, np.ndarray) or out.base is not None:
        return None
    if not (out.flags.c_contiguous or out.flags.f_contiguous):
        return None
    return _SUM


def _sgd(update: functools.partial, g: np.ndarray) -> Lowered:
    """One parameter's SGD update: plain SGD inline (``p -= lr·g`` as SGD writes it, into a
    scratch buffer and in place), the group's hyper-parameters read at every replay;
    momentum, weight decay or maximize set since the trace take the optimizer's own path."""
    opt, p, group = update.args
    return Lowered((
        'if {c0}["momentum"] or {c0}["weight_decay"] or {c0}["maximize"]:',
        "    {c1}({i0})",
        "else:",
        "    pa = prep({c2})",
        '    multiply({i0}, -{c0}["lr"], out={t0})',
        "    add(pa, {t0}, out=pa)",
        '    {c3}.__dict__["_opt_called"] = True'),
        temps=((g.shape, g.dtype),), consts=(group, update, p, opt))


def is_pure(fn: Any) -> bool:
    """Whether a recorded function kernel is one of the engine's, which keep no reference to
    their inputs (anything else may store what it reads, so what it reads is never a
    buffer)."""
    return any(fn is f for f in _PURE_FNS)


def layout(a: np.ndarray) -> tuple:
    """(shape, dtype, order) of an array a buffer must reproduce."""
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    return (a.shape, a.dtype, order)


__all__ = ["Lowered", "NUMPY", "lower", "is_pure", "is_inplace", "layout"]
