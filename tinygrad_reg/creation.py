"""Tensor constructors with PyTorch's names, defaults and dtypes.

Every constructor takes ``dtype=`` (a numpy dtype, its name, or ``tg.float32``...) and
``requires_grad=``; the random ones take ``generator=`` (an ``np.random.Generator``; without
one, the package generator that :func:`tinygrad_reg.manual_seed` seeds). Sizes are given as
PyTorch does: ``zeros(2, 3)`` or ``zeros((2, 3))``. Floating-point results default to float32,
integer ones to int64.

``tensor(data)`` copies (like ``torch.tensor``) and infers the dtype as PyTorch does: Python
ints give int64, floats float32, bools bool; an ndarray keeps its dtype.
``from_numpy(array)`` shares memory with the array (like ``torch.from_numpy``), as
``Tensor(array)`` does.
"""

from __future__ import annotations

import builtins
import functools
from typing import Any

import numpy as np

from ._tensor import Tensor, to_array
from .autograd.modes import TRACE, mode
from .errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from .random import resolve
from .trace import record

float16 = half = np.float16
float32 = float = np.float32  # noqa: A001 - torch.float is float32
float64 = double = np.float64
int8 = np.int8
int16 = short = np.int16
int32 = int = np.int32  # noqa: A001
int64 = long = np.int64
uint8 = np.uint8
bool = np.bool_  # noqa: A001
complex64 = np.complex64
complex128 = np.complex128

# (the dtype names above shadow the builtins in this module)
_builtin_bool, _builtin_int, _builtin_float = builtins.bool, builtins.int, builtins.float


def _dtype(dtype: Any, default: Any, fn: str) -> np.dtype:
    if dtype is None:
        return np.dtype(default)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype must be a numpy dtype or its name (e.g. tg.float32), "
                        f"got {dtype!r}") from None
    if dt.kind not in "biufc":
        raise TypeError(f"{fn}: dtype must be bool, integer, float or complex, got {dt}")
    return dt


def _size(fn: str, size: tuple) -> tuple[_builtin_int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, _builtin_bool) or not isinstance(n, (_builtin_int, np.integer)):
            raise TypeError(f"{fn}: sizes must be ints, got {n!r} in {size!r}")
        if n < 0:
            raise ArgumentError(f"{fn}: sizes must be >= 0, got {size!r}")
        out.append(_builtin_int(n))
    return tuple(out)


def _make(arr: np.ndarray, requires_grad: _builtin_bool, fn: str) -> Tensor:
    if requires_grad and arr.dtype.kind not in "fc":
        raise TypeError(f"{fn}: only floating-point tensors can require grad, got dtype "
                        f"{arr.dtype}; pass dtype=tg.float32 (or float64)")
    return Tensor(arr, requires_grad=requires_grad)


def _infer(data: Any) -> np.ndarray:
    """PyTorch's dtype inference: an ndarray or Tensor keeps its dtype; Python data gives
    bool, int64, float32 or complex64."""
    if isinstance(data, Tensor):
        return data._data
    return to_array(data, what="tensor", infer=True)


def tensor(data: Any, dtype: Any = None, *, requires_grad: _builtin_bool = False,
           device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, an ndarray or a
    Tensor), as ``torch.tensor``: ``tensor([0, 1, 2])`` is int64, ``tensor([0., 1.])``
    float32, ``tensor([True])`` bool; an ndarray keeps its dtype. Strings, bytes, objects and
    ragged lists raise TypeError or ValueError naming what was given."""
    _cpu(device, "tensor")
    arr = _infer(data) if dtype is None else to_array(
        data._data if isinstance(data, Tensor) else data, _dtype(dtype, None, "tensor"),
        what="tensor")
    return _make(np.array(arr, copy=True), requires_grad, "tensor")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with ``array`` (no copy), as ``torch.from_numpy``:
    writing into one changes the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    return Tensor(to_array(array, what="from_numpy"))


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is an ndarray (or a Tensor) of
    the requested dtype, else copying (as ``torch.as_tensor``)."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype)


def _cpu(device: Any, fn: str) -> None:
    if device is not None and str(device) != "cpu" and not str(device).startswith("cpu:"):
        raise ValueError(f"{fn}: tinygrad_reg runs on the CPU with numpy; device "
                         f"{str(device)!r} is not available (use 'cpu')")


def _filled(fn: str, size: tuple, value: Any, dtype: Any, requires_grad: _builtin_bool,
            device: Any) -> Tensor:
    _cpu(device, fn)
    default = np.float32
    if dtype is None and value is not None:
        default = (np.bool_ if isinstance(value, _builtin_bool) else np.int64
                   if isinstance(value, (_builtin_int, np.integer)) else np.float32)
    dt = _dtype(dtype, default, fn)
    shape = _size(fn, size)
    arr = np.empty(shape, dtype=dt) if value is None else np.full(shape, value, dtype=dt)
    return _make(arr, requires_grad, fn)


def zeros(*size: Any, dtype: Any = None, requires_grad: _builtin_bool = False,
          device: Any = None) -> Tensor:
    """A tensor of zeros of ``size`` (float32 by default)."""
    return _filled("zeros", size, 0, dtype or np.float32, requires_grad, device)


def ones(*size: Any, dtype: Any = None, requires_grad: _builtin_bool = False,
         device: Any = None) -> Tensor:
    """A tensor of ones of ``size`` (float32 by default)."""
    return _filled("ones", size, 1, dtype or np.float32, requires_grad, device)


def full(size: Any, fill_value: Any, *, dtype: Any = None,
         requires_grad: _builtin_bool = False, device: Any = None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value as in
    PyTorch (a float gives float32, an int int64, a bool bool) unless given."""
    return _filled("full", (size,) if not isinstance(size, (_builtin_int, np.integer)) else
                   (size,), fill_value, dtype, requires_grad, device)


def empty(*size: Any, dtype: Any = None, requires_grad: _builtin_bool = False,
          device: Any = None) -> Tensor:
    """A tensor of ``size`` whose values are whatever the memory held (float32 by default)."""
    return _filled("empty", size, None, dtype, requires_grad, device)


def _like(fn: str, other: Any, value: Any, dtype: Any, requires_grad: _builtin_bool) -> Tensor:
    ref = other._data if isinstance(other, Tensor) else np.asarray(other)
    return _filled(fn, (ref.shape,), value, dtype or ref.dtype, requires_grad, None)


def zeros_like(other: Any, *, dtype: Any = None, requires_grad: _builtin_bool = False) -> Tensor:
    """Zeros with ``other``'s shape and (unless given) dtype."""
    return _like("zeros_like", other, 0, dtype, requires_grad)


def ones_like(other: Any, *, dtype: Any = None, requires_grad: _builtin_bool = False) -> Tensor:
    """Ones with ``other``'s shape and (unless given) dtype."""
    return _like("ones_like", other, 1, dtype, requires_grad)


def full_like(other: Any, fill_value: Any, *, dtype: Any = None,
              requires_grad: _builtin_bool = False) -> Tensor:
    """``fill_value`` with ``other``'s shape and (unless given) dtype."""
    return _like("full_like", other, fill_value, dtype, requires_grad)


def empty_like(other: Any, *, dtype: Any = None, requires_grad: _builtin_bool = False) -> Tensor:
    """Uninitialised, with ``other``'s shape and (unless given) dtype."""
    return _like("empty_like", other, None, dtype, requires_grad)


def _drawn(fn: str, draw: Any, *args: Any) -> np.ndarray:
    """``draw(*args)``; a tg.jit trace records the draw as a kernel, so that a replay draws
    afresh from the generator (the default one resolved at each call, as here)."""
    arr = draw(*args)
    if mode() & TRACE:
        record(functools.partial(draw, *args), (), arr, ("draw", fn))
    return arr


def _uniform(generator: Any, shape: tuple, dt: np.dtype) -> np.ndarray:
    return resolve(generator).random(shape, dtype=dt if dt in (
        np.float32, np.float64) else np.float64).astype(dt, copy=False)


def _normal(generator: Any, shape: tuple, dt: np.dtype) -> np.ndarray:
    return resolve(generator).standard_normal(shape, dtype=dt if dt in (
        np.float32, np.float64) else np.float64).astype(dt, copy=False)


def _integers(generator: Any, low: Any, high: Any, shape: tuple, dt: np.dtype) -> np.ndarray:
    return resolve(generator).integers(low, high, size=shape).astype(dt)


def _permutation(generator: Any, n: Any, dt: np.dtype) -> np.ndarray:
    return resolve(generator).permutation(n).astype(dt)


def rand(*size: Any, generator: np.random.Generator | None = None, dtype: Any = None,
         requires_grad: _builtin_bool = False, device: Any = None) -> Tensor:
    """Uniform draws from [0, 1) of ``size`` (float32 by default)."""
    _cpu(device, "rand")
    dt = _dtype(dtype, np.float32, "rand")
    if dt.kind != "f":
        raise TypeError(f"rand: dtype must be a float dtype, got {dt}")
    resolve(generator)
    return _make(_drawn("rand", _uniform, generator, _size("rand", size), dt), requires_grad,
                 "rand")


def randn(*size: Any, generator: np.random.Generator | None = None, dtype: Any = None,
          requires_grad: _builtin_bool = False, device: Any = None) -> Tensor:
    """Standard normal draws of ``size`` (float32 by default)."""
    _cpu(device, "randn")
    dt = _dtype(dtype, np.float32, "randn")
    if dt.kind != "f":
        raise TypeError(f"randn: dtype must be a float dtype, got {dt}")
    resolve(generator)
    return _make(_drawn("randn", _normal, generator, _size("randn", size), dt),
                 requires_grad, "randn")


def randint(low: _builtin_int, high: _builtin_int | None = None, size: Any = (), *,
            generator: np.random.Generator | None = None, dtype: Any = None,
            device: Any = None) -> Tensor:
    """Integers drawn uniformly from [low, high) (int64 by default); ``randint(high, size)``
    draws from [0, high), as PyTorch."""
    _cpu(device, "randint")
    if high is None or (isinstance(high, (tuple, list)) and size == ()):
        low, high, size = 0, low, (() if high is None else high)
    if not high > low:
        raise ArgumentError(f"randint: need low < high, got low={low}, high={high}")
    dt = _dtype(dtype, np.int64, "randint")
    shape = _size("randint", (size,) if not isinstance(size, (_builtin_int, np.integer))
                  else (size,))
    resolve(generator)
    return Tensor(_drawn("randint", _integers, generator, low, high, shape, dt))


def randperm(n: _builtin_int, *, generator: np.random.Generator | None = None,
             dtype: Any = None) -> Tensor:
    """A random permutation of 0 … n-1 (int64)."""
    dt = _dtype(dtype, np.int64, "randperm")
    resolve(generator)
    return Tensor(_drawn("randperm", _permutation, generator, n, dt))


def _float_like(fn: str, input: Any, dtype: Any) -> tuple[tuple, np.dtype]:  # noqa: A002
    ref = input._data if isinstance(input, Tensor) else np.asarray(input)
    dt = _dtype(dtype, ref.dtype, fn)
    if dt.kind != "f":
        raise NotSupportedError(f"{fn}: draws floats, and the input has dtype {dt} (PyTorch's "
                                f"NotImplementedError); pass dtype=tg.float32")
    return ref.shape, dt


def rand_like(input: Any, *, generator: np.random.Generator | None = None,  # noqa: A002
              dtype: Any = None, requires_grad: _builtin_bool = False,
              device: Any = None) -> Tensor:
    """Uniform draws from [0, 1) with ``input``'s shape and (unless given) dtype, which must
    be a float dtype (PyTorch's ``rand_like``)."""
    _cpu(device, "rand_like")
    shape, dt = _float_like("rand_like", input, dtype)
    resolve(generator)
    return _make(_drawn("rand_like", _uniform, generator, shape, dt), requires_grad,
                 "rand_like")


def randn_like(input: Any, *, generator: np.random.Generator | None = None,  # noqa: A002
               dtype: Any = None, requires_grad: _builtin_bool = False,
               device: Any = None) -> Tensor:
    """Standard normal draws with ``input``'s shape and (unless given) dtype, which must be a
    float dtype (PyTorch's ``randn_like``)."""
    _cpu(device, "randn_like")
    shape, dt = _float_like("randn_like", input, dtype)
    resolve(generator)
    return _make(_drawn("randn_like", _normal, generator, shape, dt), requires_grad,
                 "randn_like")


def _drawn_from(fn: str, draw: Any, arrays: tuple, *args: Any) -> np.ndarray:
    """``draw(*args, *arrays)``: a draw that reads arrays (probabilities); a tg.jit trace
    records it as a kernel of those arrays, so a replay draws afresh from the values then."""
    arr = draw(*args, *arrays)
    if mode() & TRACE:
        record(functools.partial(draw, *args), arrays, arr, ("draw", fn))
    return arr


def _multinomial_rows(generator: Any, n: _builtin_int, replacement: _builtin_bool,
                      probs: np.ndarray) -> np.ndarray:
    rng = resolve(generator)
    rows = probs.reshape(-1, probs.shape[-1]).astype(np.float64)
    out = np.empty((rows.shape[0], n), dtype=np.int64)
    if replacement:  # inverse CDF: the first category whose cumulative weight exceeds u·total
        u = rng.random((rows.shape[0], n))
        for i, row in enumerate(rows):
            cdf = np.cumsum(row)
            out[i] = np.searchsorted(cdf, u[i] * cdf[-1], side="right")
    else:  # the k largest w / E with E ~ Exp(1): k draws without replacement, in draw order
        keys = rows / rng.standard_exponential(rows.shape)
        out[...] = np.argsort(-keys, axis=-1, kind="stable")[:, :n]
    return out.reshape(probs.shape[:-1] + (n,))


def multinomial(input: Tensor, num_samples: _builtin_int,  # noqa: A002
                replacement: _builtin_bool = False, *,
                generator: np.random.Generator | None = None) -> Tensor:
    """Indices drawn from the categories of the last dim of ``input`` (1-D: one distribution;
    2-D: one per row), each with probability weight / sum of the row's weights (the weights
    need not sum to 1): int64 of shape (num_samples,) or (rows, num_samples), as PyTorch's
    ``multinomial``. Without ``replacement`` a category is drawn at most once per row (so
    ``num_samples`` is at most the number of categories; once the categories of nonzero
    weight are used up, the zero-weight ones follow, as in PyTorch); with it, the draws are
    independent. Not differentiable. ``generator``: an ``np.random.Generator``, else the
    package generator; under tg.jit each replay draws afresh."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    p = x._data
    if p.dtype.kind != "f":
        raise DTypeError(f"multinomial: only supports floating-point dtypes for input, got "
                         f"{p.dtype}; convert first (weights.float())")
    if p.ndim not in (1, 2):
        raise ShapeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {p.shape}")
    if isinstance(num_samples, _builtin_bool) or not isinstance(
            num_samples, (_builtin_int, np.integer)) or num_samples <= 0:
        raise ArgumentError(f"multinomial: cannot sample n_sample <= 0 samples (got "
                            f"num_samples={num_samples!r})")
    if not replacement and num_samples > p.shape[-1]:
        raise ArgumentError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) "
                            f"samples without replacement ({num_samples} > {p.shape[-1]}); "
                            f"pass replacement=True")
    if p.size and (not np.isfinite(p).all() or (p < 0).any()):
        raise ArgumentError("multinomial: probability tensor contains either `inf`, `nan` or "
                            "element < 0")
    if p.shape[-1] == 0 or (p.sum(axis=-1) <= 0).any():
        raise ArgumentError(f"multinomial: invalid multinomial distribution (sum of "
                            f"probabilities <= 0) in input of shape {p.shape}")
    resolve(generator)
    return Tensor(_drawn_from("multinomial", _multinomial_rows, (p,), generator,
                              _builtin_int(num_samples), _builtin_bool(replacement)))


def _bernoulli_draw(generator: Any, probs: np.ndarray) -> np.ndarray:
    u = resolve(generator).random(probs.shape, dtype=np.float64)
    return (u < probs).astype(probs.dtype)


def _bernoulli_scalar(generator: Any, shape: tuple, p: _builtin_float,
                      dt: np.dtype) -> np.ndarray:
    return (resolve(generator).random(shape, dtype=np.float64) < p).astype(dt)


def check_probability(fn: str, p: Any) -> None:
    """Refuse probabilities outside [0, 1] (NaN included), naming the op."""
    arr = np.asarray(p)
    if arr.size and not ((arr >= 0) & (arr <= 1)).all():
        shown = arr.item() if arr.size == 1 else f"values in [{arr.min()}, {arr.max()}]"
        raise ArgumentError(f"{fn}: expects p to be in [0, 1], but got p={shown}")


def bernoulli(input: Tensor, p: Any = None, *,  # noqa: A002
              generator: np.random.Generator | None = None) -> Tensor:
    """1 with probability ``input`` (element by element), else 0, in ``input``'s float dtype
    (PyTorch's ``bernoulli``); with a number ``p``, every element is 1 with probability p and
    only ``input``'s shape and dtype are used. A draw is u < p with u ~ U[0, 1) in float64.
    Not differentiable: the result is a constant (PyTorch's gradient to ``input`` is zero)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    a = x._data
    resolve(generator)
    if p is not None:
        check_probability("bernoulli", p)
        if a.dtype.kind not in "fc":
            raise NotSupportedError(f"bernoulli: not implemented for dtype {a.dtype}; use a "
                                    f"float tensor")
        return Tensor(_drawn("bernoulli", _bernoulli_scalar, generator, a.shape,
                             _builtin_float(p), a.dtype))
    if a.dtype.kind != "f":
        raise NotSupportedError(f"bernoulli: not implemented for dtype {a.dtype} (the input "
                                f"holds probabilities); convert first (probs.float())")
    check_probability("bernoulli", a)
    return Tensor(_drawn_from("bernoulli", _bernoulli_draw, (a,), generator))


def _new(fn: str, t: Tensor, size: tuple, value: Any, dtype: Any, requires_grad: Any,
         device: Any) -> Tensor:
    return _filled(fn, size, value, t._data.dtype if dtype is None else dtype, requires_grad,
                   device)


def new_zeros(t: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: _builtin_bool = False) -> Tensor:
    """Zeros of ``size`` with t's dtype unless given (PyTorch's ``Tensor.new_zeros``)."""
    return _new("new_zeros", t, size, 0, dtype, requires_grad, device)


def new_ones(t: Tensor, *size: Any, dtype: Any = None, device: Any = None,
             requires_grad: _builtin_bool = False) -> Tensor:
    """Ones of ``size`` with t's dtype unless given (PyTorch's ``Tensor.new_ones``)."""
    return _new("new_ones", t, size, 1, dtype, requires_grad, device)


def new_empty(t: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: _builtin_bool = False) -> Tensor:
    """Uninitialised, of ``size``, with t's dtype unless given (``Tensor.new_empty``)."""
    return _new("new_empty", t, size, None, dtype, requires_grad, device)


def new_full(t: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
             requires_grad: _builtin_bool = False) -> Tensor:
    """``fill_value`` in a tensor of ``size`` with t's dtype unless given
    (``Tensor.new_full``)."""
    return _new("new_full", t, (size,), fill_value, dtype, requires_grad, device)


def new_tensor(t: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: _builtin_bool = False) -> Tensor:
    """A copy of ``data`` with t's dtype unless given, whatever the data's own type
    (PyTorch's ``Tensor.new_tensor``: ``int_tensor.new_tensor([1.5])`` is int64)."""
    _cpu(device, "new_tensor")
    return tensor(data, t._data.dtype if dtype is None else dtype,
                  requires_grad=requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           requires_grad: _builtin_bool = False, device: Any = None) -> Tensor:
    """start, start + step, … up to (not including) end; ``arange(n)`` is 0 … n-1. int64 when
    every argument is an int, float32 otherwise (PyTorch's rule)."""
    _cpu(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ArgumentError("arange: step must not be 0")
    ints = all(isinstance(v, (_builtin_int, np.integer)) and not isinstance(v, _builtin_bool)
               for v in (start, end, step))
    dt = _dtype(dtype, np.int64 if ints else np.float32, "arange")
    return _make(np.arange(start, end, step).astype(dt), requires_grad, "arange")


def linspace(start: _builtin_float, end: _builtin_float, steps: _builtin_int, *,
             dtype: Any = None, requires_grad: _builtin_bool = False,
             device: Any = None) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included (float32 by default)."""
    _cpu(device, "linspace")
    if isinstance(steps, _builtin_bool) or not isinstance(steps, (_builtin_int, np.integer)) \
            or steps < 0:
        raise ArgumentError(f"linspace: steps must be an int >= 0, got {steps!r}")
    dt = _dtype(dtype, np.float32, "linspace")
    if dt.kind == "b":
        raise NotSupportedError("linspace: not implemented for dtype bool (PyTorch's "
                                "NotImplementedError); make it in a number dtype and compare")
    return _make(np.linspace(start, end, steps).astype(dt), requires_grad, "linspace")


def eye(n: _builtin_int, m: _builtin_int | None = None, *, dtype: Any = None,
        requires_grad: _builtin_bool = False, device: Any = None) -> Tensor:
    """The n × m identity matrix (m = n by default; float32 by default)."""
    _cpu(device, "eye")
    _size("eye", (n,) if m is None else (n, m))
    return _make(np.eye(n, m, dtype=_dtype(dtype, np.float32, "eye")), requires_grad, "eye")


__all__ = ["tensor", "from_numpy", "as_tensor", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "rand", "randn", "randint", "randperm",
           "rand_like", "randn_like", "multinomial", "bernoulli", "new_zeros", "new_ones",
           "new_empty", "new_full", "new_tensor",
           "arange", "linspace", "eye", "float16", "half", "float32", "float", "float64",
           "double", "int8", "int16", "short", "int32", "int", "int64", "long", "uint8", "bool",
           "complex64", "complex128"]
