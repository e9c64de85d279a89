"""In-place methods (``zero_``, ``fill_``, ``copy_``, ``add_``, ``t[i] = v`` ...): numpy writes into
a tensor's own array, outside the graph.

They follow PyTorch's rules where they can be followed without recording in-place ops:

- allowed on a tensor that does not require grad, and on any tensor inside ``no_grad()``
  (how initialisers and optimizers change parameters);
- refused with a RuntimeError on a tensor that requires grad while grad mode is on: a leaf
  (PyTorch refuses that too) or an op result (PyTorch records the write; here it is not
  differentiable, so use the out-of-place form, e.g. ``masked_fill`` for ``masked_fill_``);
- each write increments the tensor's version counter (shared with its views), so a graph
  that saved the old value refuses to run backward instead of giving a wrong gradient, and
  lifts the read-only flag that the graph put on the array.

Each returns the tensor itself, so calls chain (``w.zero_().add_(1)``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .._guard import prepare_inplace
from .._tensor import OPS, Tensor
from ..autograd.modes import GRAD, TRACE, mode
from ..random import resolve
from ..trace import record


def _target(t: Tensor, op: str) -> np.ndarray:
    """The array to write into, after the checks and the version bump."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    if t.requires_grad and mode() & GRAD:
        if t.grad_fn is None:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad (shape {t.shape}) cannot be changed in "
                f"place while grad mode is on; do it inside `with tg.no_grad():` (as "
                f"initialisers and optimizers do), or use the out-of-place form")
        raise RuntimeError(
            f"{op}: in-place operations on a tensor that requires grad are not recorded in the "
            f"graph (this one was made by {t.grad_fn.name}); use the out-of-place form, or "
            f"detach() first if no gradient should flow through the change")
    return prepare_inplace(t, op)


def _value(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


def _write(op: str, arr: np.ndarray, fn: Any, *values: Any) -> None:
    """``fn(arr, *values)`` writes into ``arr``; under a tg.jit trace it is recorded as a
    kernel: array values are its inputs, anything else (a Python number) is bound into it,
    where tg.jit compares it between two traces."""
    fn(arr, *values)
    if mode() & TRACE:
        arrays = [i for i, v in enumerate(values) if isinstance(v, np.ndarray)]
        fixed = tuple(None if i in arrays else v for i, v in enumerate(values))
        record(functools.partial(_rewrite, fn, fixed, tuple(arrays)),
               (arr, *[values[i] for i in arrays]), arr, ("inplace", op))


def _rewrite(fn: Any, fixed: tuple, arrays: tuple, a: np.ndarray, *dyn: np.ndarray) -> Any:
    """A recorded in-place write, run again: ``fixed`` with ``dyn`` at the ``arrays``
    positions are the values."""
    values = list(fixed)
    for i, v in zip(arrays, dyn):
        values[i] = v
    fn(a, *values)
    return a


def _fill(arr: np.ndarray, v: Any) -> None:
    arr[...] = v


def _copy(arr: np.ndarray, s: Any) -> None:
    np.copyto(arr, np.broadcast_to(s, arr.shape), casting="unsafe")


def _ufunc(ufunc: np.ufunc, alpha: float, arr: np.ndarray, o: Any) -> None:
    ufunc(arr, o if alpha == 1 else np.multiply(o, alpha), out=arr)


def _clip(arr: np.ndarray, lo: Any, hi: Any) -> None:
    np.clip(arr, lo, hi, out=arr)


def _draw_into(kind: str, generator: Any, a: float, b: float, arr: np.ndarray) -> None:
    arr[...] = getattr(resolve(generator), kind)(a, b, size=arr.shape)


def _masked(arr: np.ndarray, value: Any, m: Any) -> None:
    np.copyto(arr, value, where=np.broadcast_to(m, arr.shape))


def fill_(t: Tensor, value: Any) -> Tensor:
    """Set every element to ``value`` (a number, or a one-element tensor)."""
    arr = _target(t, "fill_")
    v = _value(value)
    if np.size(v) != 1:
        raise ValueError(f"fill_: value must be a number or a one-element tensor, got shape "
                         f"{np.shape(v)}")
    _write("fill_", arr, _fill, v)
    return t


def zero_(t: Tensor) -> Tensor:
    """Set every element to 0."""
    arr = _target(t, "zero_")
    _write("zero_", arr, _fill, 0)
    return t


def copy_(t: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to t's shape, converted to t's dtype) into t."""
    arr = _target(t, "copy_")
    s = np.asarray(_value(src))
    try:
        np.broadcast_to(s, arr.shape)
    except ValueError:
        raise ValueError(f"copy_: cannot broadcast a source of shape {s.shape} to the tensor's "
                         f"shape {arr.shape}") from None
    _write("copy_", arr, _copy, s)
    return t


def _arith(t: Tensor, other: Any, ufunc: np.ufunc, op: str, alpha: float = 1) -> Tensor:
    arr = _target(t, op)
    o = _value(other)
    try:
        _write(op, arr, functools.partial(_ufunc, ufunc, alpha), o)
    except ValueError as err:
        raise ValueError(f"{op}: {err} (tensor shape {arr.shape}, other shape "
                         f"{np.shape(o)})") from None
    except TypeError as err:  # numpy._core._exceptions._UFuncOutputCastingError
        raise TypeError(f"{op}: {err}") from None
    return t


def add_(t: Tensor, other: Any, alpha: float = 1) -> Tensor:
    """t += alpha · other (broadcast to t's shape)."""
    return _arith(t, other, np.add, "add_", alpha)


def sub_(t: Tensor, other: Any, alpha: float = 1) -> Tensor:
    """t -= alpha · other."""
    return _arith(t, other, np.subtract, "sub_", alpha)


def mul_(t: Tensor, other: Any) -> Tensor:
    """t *= other."""
    return _arith(t, other, np.multiply, "mul_")


def div_(t: Tensor, other: Any) -> Tensor:
    """t /= other."""
    return _arith(t, other, np.true_divide, "div_")


def clamp_(t: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
    """Clamp every element to [min, max] (either may be None)."""
    if min is None and max is None:
        raise ValueError("clamp_: give min, max or both")
    arr = _target(t, "clamp_")
    _write("clamp_", arr, _clip, _value(min), _value(max))
    return t


def masked_fill_(t: Tensor, mask: Any, value: Any) -> Tensor:
    """Set the elements where ``mask`` (bool, broadcast to t's shape) is True to ``value``."""
    m = np.asarray(_value(mask))
    if m.dtype != bool:
        raise TypeError(f"masked_fill_: mask must be a bool tensor, got dtype {m.dtype}; "
                        f"compare first (e.g. x > 0)")
    arr = _target(t, "masked_fill_")
    try:
        _write("masked_fill_", arr, _masked, _value(value), m)
    except ValueError:
        raise ValueError(f"masked_fill_: a mask of shape {m.shape} does not broadcast to the "
                         f"tensor's shape {arr.shape}") from None
    return t


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value`` (numpy indexing rules, with PyTorch's placement where ints and
    array indices mix, as :func:`~tinygrad_reg.ops.shape.getitem`; a boolean mask must have
    the shape of the dims it indexes, else IndexError)."""
    from .shape import _check_masks, _plain_index, split_ints  # (indices may hold Tensors)

    arr = _target(t, "__setitem__")
    index = _plain_index(index)
    steps = split_ints(index)
    if steps is not None:  # PyTorch's placement: the ints index first (a view), then the rest
        arr, index = arr[steps[0]], steps[1]
    _check_masks("__setitem__", arr.shape, index)
    arr[index] = _value(value)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, *,
             generator: np.random.Generator | None = None) -> Tensor:
    """Fill with draws from U(a, b) (from ``generator``, or the package generator)."""
    arr = _target(t, "uniform_")
    resolve(generator)
    _write("uniform_", arr, functools.partial(_draw_into, "uniform", generator, a, b))
    return t


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill with draws from N(mean, std²) (from ``generator``, or the package generator)."""
    arr = _target(t, "normal_")
    resolve(generator)
    _write("normal_", arr, functools.partial(_draw_into, "normal", generator, mean, std))
    return t


def _bernoulli_into(generator: Any, arr: np.ndarray, p: Any) -> None:
    u = resolve(generator).random(arr.shape, dtype=np.float64)
    np.copyto(arr, u < p, casting="unsafe")


def bernoulli_(t: Tensor, p: Any = 0.5, *,
               generator: np.random.Generator | None = None) -> Tensor:
    """Fill with 1 where u < p and 0 elsewhere, u ~ U[0, 1) drawn in float64 (PyTorch's
    ``bernoulli_``): ``p`` a number or a float tensor that broadcasts to t's shape, in
    [0, 1]."""
    from ..creation import check_probability

    arr = _target(t, "bernoulli_")
    resolve(generator)
    pv = _value(p)
    check_probability("bernoulli_", pv)
    if isinstance(pv, np.ndarray):
        if pv.dtype.kind != "f":
            raise TypeError(f"bernoulli_: p must be a number or a float tensor, got dtype "
                            f"{pv.dtype}")
        try:
            np.broadcast_to(pv, arr.shape)
        except ValueError:
            raise ValueError(f"bernoulli_: p of shape {pv.shape} does not broadcast to the "
                             f"tensor's shape {arr.shape}") from None
    _write("bernoulli_", arr, functools.partial(_bernoulli_into, generator), pv)
    return t


def _from(op: str, t: Tensor, name: str, *args: Any, **kwargs: Any) -> Tensor:
    """t's values replaced by the out-of-place op ``name``'s result (same shape and dtype),
    in place, with ``_target``'s checks; an operand that requires grad while grad mode is on
    is refused (the write would not be recorded in the graph)."""
    arr = _target(t, op)
    if mode() & GRAD and any(isinstance(a, Tensor) and a.requires_grad
                             for a in (*args, *kwargs.values())):
        raise RuntimeError(f"{op}: an operand requires grad, and in-place operations are not "
                           f"recorded in the graph; write x = x.{op[:-1]}(...) instead")
    out = OPS[name](t, *args, **kwargs)
    if out.shape != arr.shape:
        raise ValueError(f"{op}: the result's shape {out.shape} is not the tensor's "
                         f"{arr.shape} (in place, the operands broadcast to the tensor)")
    _write(op, arr, _copy, out._data.astype(arr.dtype, copy=False))
    return t


def addcmul_(t: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """t += value · tensor1 · tensor2, in place."""
    return _from("addcmul_", t, "addcmul", tensor1, tensor2, value=value)


def addcdiv_(t: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """t += value · tensor1 / tensor2, in place."""
    return _from("addcdiv_", t, "addcdiv", tensor1, tensor2, value=value)


def clamp_min_(t: Tensor, min: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """t = max(t, min), in place."""
    return clamp_(t, min=min)


def clamp_max_(t: Tensor, max: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """t = min(t, max), in place."""
    return clamp_(t, max=max)


def index_add_(t: Tensor, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    """``index_add``, in place."""
    return _from("index_add_", t, "index_add", dim, index, source, alpha=alpha)


def index_copy_(t: Tensor, dim: int, index: Any, source: Any) -> Tensor:
    """``index_copy``, in place."""
    return _from("index_copy_", t, "index_copy", dim, index, source)


def index_fill_(t: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """``index_fill``, in place."""
    return _from("index_fill_", t, "index_fill", dim, index, value)


def masked_scatter_(t: Tensor, mask: Any, source: Any) -> Tensor:
    """``masked_scatter``, in place."""
    return _from("masked_scatter_", t, "masked_scatter", mask, source)


__all__ = ["fill_", "zero_", "copy_", "add_", "sub_", "mul_", "div_", "clamp_",
           "masked_fill_", "setitem", "uniform_", "normal_", "bernoulli_", "addcmul_", "addcdiv_",
           "clamp_min_", "clamp_max_", "index_add_", "index_copy_", "index_fill_",
           "masked_scatter_"]


def _augmented(t: Tensor, other: Any, op: str, ufunc: np.ufunc, out_of_place: str) -> Tensor:
    """``t += other`` and friends, as PyTorch: in place, except on an op result that requires
    grad while grad mode is on, where the result is computed out of place (the name is
    rebound to it, and the gradient flows through it)."""
    if t.requires_grad and t.grad_fn is not None and mode() & GRAD:
        return OPS[out_of_place](t, other)
    return _arith(t, other, ufunc, op)


def iadd(t: Tensor, other: Any) -> Tensor:
    return _augmented(t, other, "+=", np.add, "add")


def isub(t: Tensor, other: Any) -> Tensor:
    return _augmented(t, other, "-=", np.subtract, "sub")


def imul(t: Tensor, other: Any) -> Tensor:
    return _augmented(t, other, "*=", np.multiply, "mul")


def itruediv(t: Tensor, other: Any) -> Tensor:
    return _augmented(t, other, "/=", np.true_divide, "div")


__all__ += ["iadd", "isub", "imul", "itruediv"]
