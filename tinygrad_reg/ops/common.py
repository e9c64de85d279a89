"""Helpers shared by the op families: operand conversion and axis bookkeeping."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import OPS, Tensor, to_array
from ..autograd import wrap
from ..errors import ArgumentError, DimError, DTypeError

# PyTorch's categories, in promotion order, and the default dtype of each
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_DEFAULT = {0: np.dtype(np.bool_), 1: np.dtype(np.int64), 2: np.dtype(np.float32),
            3: np.dtype(np.complex64)}
_COMPLEX = {np.dtype(np.float16): np.dtype(np.complex64),
            np.dtype(np.float32): np.dtype(np.complex64),
            np.dtype(np.float64): np.dtype(np.complex128)}


def _number_category(x: Any) -> int | None:
    """The category of a Python or numpy number (a weak operand), None for anything else."""
    if isinstance(x, (bool, np.bool_)):
        return 0
    if isinstance(x, (int, np.integer)):
        return 1
    if isinstance(x, (float, np.floating)):
        return 2
    if isinstance(x, (complex, np.complexfloating)):
        return 3
    return None


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's ``promote_types``: within a category numpy's rule; across categories the
    higher category's dtype, so int64 with float32 is float32 and any integer with float16
    is float16 (numpy would widen both to float64, resp. float32). Takes dtypes or
    dtype-likes (``tg.int32``, ``np.float64``, "float32")."""
    if a == b:
        return a if isinstance(a, np.dtype) else np.dtype(a)
    if not (isinstance(a, np.dtype) and isinstance(b, np.dtype)):
        a, b = np.dtype(a), np.dtype(b)
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or {ca, cb} == {2, 3}:
        return np.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher: np.dtype, lower: np.dtype) -> np.dtype:
    """A weaker operand (0-d tensors beside n-d ones, numbers beside tensors) changes the
    result only when its category is higher: then the stronger dtype's precision is kept
    where it can be (float32 with a complex 0-d gives complex64)."""
    ch, cl = _CATEGORY[higher.kind], _CATEGORY[lower.kind]
    if cl <= ch:
        return higher
    if cl == 3 and ch == 2:
        return _COMPLEX.get(higher, np.dtype(np.complex128))
    return promote_types(higher, lower)


def result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch's ``torch.result_type`` gives for ``operands`` (tensors, arrays and
    numbers): tensors with dims decide; a 0-d tensor (or array) counts only if its category
    (bool < integer < float < complex) is higher; a Python number likewise, and then as its
    category's default dtype (int64, float32, complex64). So ``int_tensor * 2`` stays int64,
    ``int_tensor * 2.5`` is float32 and ``float32_tensor + float64_0d`` stays float32."""
    dims = zeros = None
    weak = -1
    for x in operands:
        arr = x._data if isinstance(x, Tensor) else x
        if isinstance(arr, np.ndarray):
            dt = arr.dtype
            if arr.ndim:
                dims = dt if dims is None else promote_types(dims, dt)
            else:
                zeros = dt if zeros is None else promote_types(zeros, dt)
            continue
        c = _number_category(x)
        if c is None:
            arr = to_array(x)
            dims = arr.dtype if dims is None else promote_types(dims, arr.dtype)
        else:
            weak = max(weak, c)
    out = zeros
    if weak >= 0:
        out = _DEFAULT[weak] if out is None else _combine(out, _DEFAULT[weak])
    if dims is not None:
        out = dims if out is None else _combine(dims, out)
    if out is None:
        raise TypeError("result_type: needs at least one operand")
    return out


def cast(t: Tensor, dtype: np.dtype) -> Tensor:
    """``t`` converted to ``dtype`` through the AsType op (so the gradient flows back in t's
    dtype), or t itself if it has it already."""
    if t._data.dtype == dtype:
        return t
    return OPS["astype"](t, dtype)


def _number(x: Any, dtype: np.dtype) -> Tensor:
    """A number as a constant 0-d tensor of ``dtype`` (an integer out of range wraps around,
    as in PyTorch)."""
    try:
        return wrap(np.asarray(x, dtype=dtype))
    except OverflowError:
        return wrap(np.asarray(x).astype(dtype))


def operand(x: Any, like: Tensor) -> Tensor:
    """``x`` as a constant Tensor for an op with ``like``: a number takes ``like``'s dtype
    (a fill value, a bound, a bias), anything else follows :func:`to_array`."""
    if isinstance(x, Tensor):
        return x
    if _number_category(x) is not None:
        return _number(x, like._data.dtype)
    return wrap(to_array(x))


def operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as Tensors of PyTorch's result dtype
    (:func:`result_type`): a number beside a tensor is weak (``int_tensor * 2`` stays an
    integer tensor, ``float32_tensor * 2.5`` float32, ``int_tensor * 2.5`` float32), a 0-d
    tensor beside an n-d one only counts when its category is higher, and int64 with float32
    gives float32. An operand is converted (through AsType, so gradients flow back in its own
    dtype) only where numpy's own promotion would give another dtype; two Python numbers
    take PyTorch's default dtype of the wider kind (float32 if either is a float, else int64,
    else bool)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype is b._data.dtype:  # (builtin dtypes are singletons)
                return a, b
            return _promote(a, b)
        return _with_number(a, b, True)
    if isinstance(b, Tensor):
        return _with_number(b, a, False)
    return _python_pair(a, b)


def _promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    da, db = a._data.dtype, b._data.dtype
    if da == db:
        return a, b
    target = result_type(a, b)
    if np.result_type(da, db) == target:  # numpy's promotion inside the op agrees
        return a, b
    return cast(a, target), cast(b, target)


def _with_number(t: Tensor, x: Any, first: bool) -> tuple[Tensor, Tensor]:
    """A tensor and a number (weak), or a tensor and an array-like (``first``: the tensor is
    the left operand)."""
    dt = t._data.dtype
    tx = type(x)
    if tx is float and dt.kind in "fc":  # the common case, spelled out (per op)
        n = wrap(np.asarray(x, dtype=dt))
        return (t, n) if first else (n, t)
    c = _number_category(x)
    if c is None:
        other = wrap(to_array(x))
        return _promote(t, other) if first else _promote(other, t)
    if c > _CATEGORY[dt.kind]:
        dt = _combine(dt, _DEFAULT[c])
        t = cast(t, dt)
    n = _number(x, dt)
    return (t, n) if first else (n, t)


def as_tensor_operand(x: Any) -> Tensor:
    """A Tensor as is; anything else (an ndarray, a list) as a constant Tensor of its own
    dtype (:func:`to_array`)."""
    return x if isinstance(x, Tensor) else wrap(to_array(x))


def mixed_dtypes(fn: str, *tensors: Tensor) -> DTypeError:
    """The error for ``fn``'s operands of different dtypes (matmul, linear and conv do not
    promote, as in PyTorch): it names the dtypes and shapes and says what to write."""
    desc = " and ".join(f"{t._data.dtype} (shape {t._data.shape})" for t in tensors)
    kinds = {t._data.dtype for t in tensors}
    fix = "x.float() or model.float()" if np.dtype(np.float32) in kinds else "x.to(w.dtype)"
    if np.dtype(np.float64) in kinds and np.dtype(np.float32) in kinds:
        fix = "x.float() (float64 data for a float32 model) or model.double()"
    return DTypeError(f"{fn}: expected operands of the same dtype (PyTorch does not promote "
                      f"here), got {desc}; convert one first, e.g. {fix}")


def _python_pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    kinds = {type(v) for v in (a, b)}
    if kinds <= {bool, int, float}:
        dtype = (np.float32 if float in kinds else np.int64 if int in kinds else np.bool_)
        return wrap(np.asarray(a, dtype=dtype)), wrap(np.asarray(b, dtype=dtype))
    return wrap(to_array(a)), wrap(to_array(b))


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if ndim == 0 and all(a in (0, -1) for a in axes):
        return ()  # PyTorch: dim 0 (or -1) of a 0-d tensor reduces nothing
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise DimError(f"{op}: dim {a} is out of range for a tensor of {ndim} dims "
                           f"(expected -{max(ndim, 1)}..{max(ndim, 1) - 1})")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ArgumentError(f"{op}: dim {axis} names a dim more than once")
    return tuple(sorted(result))


def keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` gives with ``keepdims=True``."""
    axes = normalize_axis(axis, len(shape), "reduce")
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def unreduce(grad: Tensor, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Tensor:
    """Broadcast the gradient of a reduction back to the input's ``shape`` (Tensor ops)."""
    if not keepdims and shape:
        grad = grad.reshape(keepdims_shape(shape, axis))
    return grad.broadcast_to(shape)


def dim_args(fn: str, dim: Any, axis: Any, keepdim: Any = None,
             keepdims: Any = None) -> tuple[Any, bool]:
    """The one place PyTorch's ``dim``/``keepdim`` and numpy's ``axis``/``keepdims`` meet:
    returns (axis, keepdims). Giving both spellings of one argument is a TypeError."""
    if dim is not None and axis is not None:
        raise TypeError(f"{fn}: got both dim={dim!r} (PyTorch's name) and axis={axis!r} "
                        f"(numpy's); give one")
    if keepdim is not None and keepdims is not None:
        raise TypeError(f"{fn}: got both keepdim={keepdim!r} (PyTorch's name) and "
                        f"keepdims={keepdims!r} (numpy's); give one")
    d = axis if dim is None else dim
    if isinstance(d, list):
        d = tuple(d)
    k = keepdims if keepdim is None else keepdim
    return d, bool(k)


def one_axis(fn: str, axis: Any, ndim: int) -> int:
    """``axis`` as a single non-negative axis of an ``ndim``-d tensor (:class:`DimError`, an
    IndexError and a ValueError, otherwise; a 0-d tensor takes 0 and -1, as PyTorch)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{fn}: dim must be an int, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise DimError(f"{fn}: dim {axis} is out of range for a tensor of {ndim} dims "
                       f"(expected -{max(ndim, 1)}..{max(ndim, 1) - 1})")
    return int(axis) % max(ndim, 1)
