"""PyTorch's everyday names that are other ops under another name or a few ops together:
comparisons by name (``x.eq(y)``, ``x.gt(0)``), ``view_as``, ``movedim``, ``narrow``,
``addcmul``, ``addmm``, ``outer``, ``trace``, ``nansum``, ``median``, ``quantile``, ...

No op class of its own here: each function is written with the ops of the other families,
so its gradient (and every higher derivative) is theirs. Where a selection is made (median,
kthvalue, quantile), the gradient goes to the selected elements, as PyTorch's. The counting
and searching ones (bincount, unique, searchsorted, bucketize, signbit, heaviside,
tril_indices) have no gradient, as PyTorch's, and compute in numpy; those that take positions
from a tensor's values tell a running trace so (:func:`~tinygrad_reg.trace.index_read`), and
tg.jit refuses them when the positions could change between calls."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import return_types
from .._tensor import OPS, Tensor
from ..errors import ArgumentError, DimError, DTypeError, ShapeError
from ..trace import index_read
from .common import dim_args, one_axis


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# -- comparisons and arithmetic by PyTorch's names ------------------------------------------

def eq(a: Any, b: Any) -> Tensor:
    """``a == b`` elementwise (bool, no gradient)."""
    return OPS["compare"](a, b, "eq")


def ne(a: Any, b: Any) -> Tensor:
    """``a != b`` elementwise (bool, no gradient); also spelled ``not_equal``."""
    return OPS["compare"](a, b, "ne")


def lt(a: Any, b: Any) -> Tensor:
    """``a < b`` elementwise (bool, no gradient); also spelled ``less``."""
    return OPS["compare"](a, b, "lt")


def le(a: Any, b: Any) -> Tensor:
    """``a <= b`` elementwise (bool, no gradient); also spelled ``less_equal``."""
    return OPS["compare"](a, b, "le")


def gt(a: Any, b: Any) -> Tensor:
    """``a > b`` elementwise (bool, no gradient); also spelled ``greater``."""
    return OPS["compare"](a, b, "gt")


def ge(a: Any, b: Any) -> Tensor:
    """``a >= b`` elementwise (bool, no gradient); also spelled ``greater_equal``."""
    return OPS["compare"](a, b, "ge")


not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def equal(a: Any, b: Any) -> bool:
    """Whether a and b have the same shape and the same values (a Python bool, as
    ``torch.equal``; nan is not equal to itself)."""
    a, b = _t(a), _t(b)
    return a.shape == b.shape and bool(np.array_equal(a._data, b._data))


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every |a - b| <= atol + rtol·|b| (broadcast; a Python bool, as
    ``torch.allclose``)."""
    return bool(OPS["isclose"](a, b, rtol, atol, equal_nan).all().item())


def multiply(a: Any, b: Any) -> Tensor:
    """``a * b`` (PyTorch's other name for ``mul``)."""
    return OPS["mul"](a, b)


def divide(a: Any, b: Any, *, rounding_mode: str | None = None) -> Tensor:
    """``a / b`` (PyTorch's other name for ``div``, with its ``rounding_mode``)."""
    return OPS["div"](a, b, rounding_mode=rounding_mode)


def subtract(a: Any, b: Any, *, alpha: Any = 1) -> Tensor:
    """``a - alpha · b`` (PyTorch's other name for ``sub``)."""
    return OPS["sub"](a, b if alpha == 1 else _t(b) * alpha)


def absolute(x: Any) -> Tensor:
    """|x| (PyTorch's other name for ``abs``)."""
    return OPS["abs"](x)


def clamp_min(x: Any, min: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """max(x, min), as ``clamp(x, min=min)``."""
    return OPS["clip"](_t(x), min=min)


def clamp_max(x: Any, max: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """min(x, max), as ``clamp(x, max=max)``."""
    return OPS["clip"](_t(x), max=max)


def addcmul(x: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """x + value · tensor1 · tensor2 (broadcast)."""
    prod = OPS["mul"](tensor1, tensor2)
    return OPS["add"](x, prod if value == 1 else prod * value)


def addcdiv(x: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """x + value · tensor1 / tensor2 (broadcast)."""
    quot = OPS["div"](tensor1, tensor2)
    return OPS["add"](x, quot if value == 1 else quot * value)


def logit(x: Any, eps: float | None = None) -> Tensor:
    """log(z / (1 - z)) with z = x, or x clamped to [eps, 1 - eps] when ``eps`` is given
    (then the gradient is 0 where x was clamped, as PyTorch's).
    d/dx = 1 / (z (1 - z))."""
    z = _t(x)
    if eps is not None:
        z = OPS["clip"](z, min=eps, max=1.0 - eps)
    return OPS["log"](z / (1.0 - z))


def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """x with nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default
    0 and the dtype's largest and lowest finite values). The gradient passes where x is
    finite and is 0 where a value was replaced."""
    x = _t(x)
    if x.dtype.kind != "f":
        return OPS["clone"](x)
    info = np.finfo(x.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    where = OPS["where"]
    out = where(OPS["isnan"](x), nan, x)
    out = where(OPS["isposinf"](x), big, out)
    return where(OPS["isneginf"](x), small, out)


def deg2rad(x: Any) -> Tensor:
    """x · π/180."""
    return _t(x) * (np.pi / 180.0)


def rad2deg(x: Any) -> Tensor:
    """x · 180/π."""
    return _t(x) * (180.0 / np.pi)


def fix(x: Any) -> Tensor:
    """Rounding toward zero (PyTorch's other name for ``trunc``)."""
    return OPS["trunc"](x)


def sgn(x: Any) -> Tensor:
    """The sign of x (for real numbers PyTorch's ``sgn`` is ``sign``)."""
    return OPS["sign"](x)


# -- shapes ------------------------------------------------------------------------------------

def view_as(x: Tensor, other: Any) -> Tensor:
    """x viewed with ``other``'s shape (as ``x.view(other.shape)``)."""
    return OPS["view"](x, tuple(_t(other).shape))


def reshape_as(x: Tensor, other: Any) -> Tensor:
    """x reshaped to ``other``'s shape (as ``x.reshape(other.shape)``)."""
    return OPS["reshape"](x, tuple(_t(other).shape))


def ravel(x: Any) -> Tensor:
    """x as one dimension (as ``x.reshape(-1)``)."""
    return OPS["reshape"](_t(x), (-1,))


def swapaxes(x: Any, axis0: int, axis1: int) -> Tensor:
    """x with two dims swapped (also spelled ``swapdims``; ``transpose(x, d0, d1)``)."""
    return OPS["transpose"](_t(x), axis0, axis1)


swapdims = swapaxes


def movedim(x: Any, source: Any, destination: Any) -> Tensor:
    """x with the dims ``source`` (an int or a sequence) moved to the positions
    ``destination``, the others keeping their order (also spelled ``moveaxis``). A view."""
    x = _t(x)
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise ArgumentError(f"movedim: source {source!r} and destination {destination!r} "
                            f"have different numbers of dims ({len(src)} and {len(dst)})")
    src = tuple(one_axis("movedim", d, x.ndim) for d in src)
    dst = tuple(one_axis("movedim", d, x.ndim) for d in dst)
    if len(set(src)) < len(src) or len(set(dst)) < len(dst):
        raise ArgumentError(f"movedim: repeated dim in source {source!r} or destination "
                            f"{destination!r}")
    rest = iter([d for d in range(x.ndim) if d not in src])
    place = dict(zip(dst, src))
    perm = tuple(place[i] if i in place else next(rest) for i in range(x.ndim))
    return OPS["permute"](x, perm) if x.ndim else x


moveaxis = movedim


def narrow(x: Any, dim: int, start: Any, length: int) -> Tensor:
    """The ``length`` elements of x along ``dim`` from ``start`` (negative counts from the
    end). A view."""
    x = _t(x)
    d = one_axis("narrow", dim, x.ndim)
    n = x.shape[d]
    start = int(start.item() if isinstance(start, Tensor) else start)
    if not -n <= start <= n:
        raise DimError(f"narrow: start {start} is out of range for dim {d} of size {n} (shape "
                       f"{x.shape})")
    start %= n if n else 1
    if not 0 <= length <= n - start:
        raise ArgumentError(f"narrow: start ({start}) + length ({length}) exceeds dim {d} of "
                            f"size {n} (shape {x.shape})")
    return x[(slice(None),) * d + (slice(start, start + length),)]


def select(x: Any, dim: int, index: int) -> Tensor:
    """x at ``index`` along ``dim``, that dim removed (``x[:, index]`` for dim 1). A view."""
    x = _t(x)
    d = one_axis("select", dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise DimError(f"select: index {index} is out of range for dim {d} of size {n} "
                       f"(shape {x.shape})")
    return x[(slice(None),) * d + (int(index),)]


def tile(x: Any, dims: Any) -> Tensor:
    """x repeated ``dims[i]`` times along each dim; with fewer dims than x has, the leading
    dims are repeated once (PyTorch's and numpy's ``tile``), with more, x gains leading dims
    of size 1 first."""
    x = _t(x)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return OPS["repeat"](x, *dims)


def flipud(x: Any) -> Tensor:
    """x upside down: reversed along dim 0 (at least one dim)."""
    x = _t(x)
    if x.ndim < 1:
        raise ShapeError("flipud: needs a tensor of at least 1 dim, got a 0-d one")
    return OPS["flip"](x, 0)


def fliplr(x: Any) -> Tensor:
    """x left to right: reversed along dim 1 (at least two dims)."""
    x = _t(x)
    if x.ndim < 2:
        raise ShapeError(f"fliplr: needs a tensor of at least 2 dims, got shape {x.shape}")
    return OPS["flip"](x, 1)


def take_along_dim(x: Any, indices: Any, dim: int | None = None) -> Tensor:
    """The elements of x at ``indices`` along ``dim``, x and indices broadcast against each
    other in the other dims (with ``dim=None``, of x flattened); ``gather`` with
    broadcasting. The gradient goes back to the elements taken."""
    x, indices = _t(x), _t(indices)
    if dim is None:
        return OPS["gather"](x.reshape(-1), 0, indices.reshape(-1))
    d = one_axis("take_along_dim", dim, x.ndim)
    if indices.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: indices of shape {indices.shape} and x of shape "
                         f"{x.shape} must have the same number of dims")
    try:
        shape = list(np.broadcast_shapes(
            tuple(1 if i == d else s for i, s in enumerate(x.shape)),
            tuple(1 if i == d else s for i, s in enumerate(indices.shape))))
    except ValueError:
        raise ShapeError(f"take_along_dim: x of shape {x.shape} and indices of shape "
                         f"{indices.shape} do not broadcast outside dim {d}") from None
    xs = OPS["broadcast_to"](x, tuple(x.shape[i] if i == d else s for i, s in enumerate(shape)))
    ixs = OPS["broadcast_to"](indices, tuple(indices.shape[i] if i == d else s
                                             for i, s in enumerate(shape)))
    return OPS["gather"](xs, d, ixs)


# -- products ----------------------------------------------------------------------------------

def dot(a: Any, b: Any) -> Tensor:
    """Σ_i a_i b_i of two 1-D tensors of one length (also spelled ``vdot`` and ``inner`` for
    1-D; for matrices write ``a @ b``)."""
    a, b = _t(a), _t(b)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ShapeError(f"dot: needs two 1-D tensors of one length, got shapes {a.shape} and "
                         f"{b.shape} (for matrices write a @ b or tg.matmul)")
    return OPS["matmul"](a, b)


vdot = dot


def inner(a: Any, b: Any) -> Tensor:
    """Σ over the last dim of a and b: out[i..., j...] = Σ_k a[i..., k] b[j..., k]; with a
    0-d operand, the product."""
    a, b = _t(a), _t(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: the last dims of shapes {a.shape} and {b.shape} differ")
    k = a.shape[-1]  # (row counts spelled out: -1 cannot stand for them when k is 0)
    out = OPS["matmul"](a.reshape(math.prod(a.shape[:-1]), k),
                        b.reshape(math.prod(b.shape[:-1]), k).T)
    return out.reshape(a.shape[:-1] + b.shape[:-1])


def outer(a: Any, b: Any) -> Tensor:
    """out[i, j] = a_i b_j of two 1-D tensors (also spelled ``ger``)."""
    a, b = _t(a), _t(b)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: needs two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return a.reshape(-1, 1) * b.reshape(1, -1)


ger = outer


def mv(m: Any, v: Any) -> Tensor:
    """The matrix m (n, k) times the vector v (k,): a vector (n,)."""
    m, v = _t(m), _t(v)
    if m.ndim != 2 or v.ndim != 1 or m.shape[1] != v.shape[0]:
        raise ShapeError(f"mv: needs a matrix (n, k) and a vector (k,), got shapes {m.shape} "
                         f"and {v.shape}")
    return OPS["matmul"](m, v)


def _scaled_sum(fn: str, x: Any, prod: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta · x + alpha · prod; with beta = 0, x is not read (its nan and inf do not enter),
    as PyTorch's."""
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:  # (x only for its shape and a zero gradient: where never reads it)
        x = _t(x)
        try:
            np.broadcast_shapes(x.shape, prod.shape)
        except ValueError:
            raise ShapeError(f"{fn}: input of shape {x.shape} does not broadcast to the "
                             f"product's shape {prod.shape}") from None
        return OPS["where"](True, prod, x)
    return OPS["add"](x if beta == 1 else _t(x) * beta, prod)


def addmm(x: Any, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta · x + alpha · (mat1 @ mat2), mat1 (n, k), mat2 (k, m), x broadcast to (n, m)."""
    mat1, mat2 = _t(mat1), _t(mat2)
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(f"addmm: mat1 and mat2 must be matrices, got shapes {mat1.shape} "
                         f"and {mat2.shape}")
    return _scaled_sum("addmm", x, OPS["mm"](mat1, mat2), beta, alpha)


def baddbmm(x: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta · x + alpha · (batch1 @ batch2), batches of matrices (b, n, k) and (b, k, m)."""
    return _scaled_sum("baddbmm", x, OPS["bmm"](batch1, batch2), beta, alpha)


def trace(x: Any) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    x = _t(x)
    if x.ndim != 2:
        raise ShapeError(f"trace: needs a matrix, got shape {x.shape}")
    return OPS["diagonal"](x).sum()


# -- reductions --------------------------------------------------------------------------------

def nansum(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: Any = None) -> Tensor:
    """The sum treating nan as 0; the gradient is 0 at the nans."""
    x = _t(x)
    axis, keep = dim_args("nansum", dim, axis, keepdim, keepdims)
    if x.dtype.kind == "f":
        x = OPS["where"](OPS["isnan"](x), 0.0, x)
    return OPS["sum"](x, axis, keep)


def nanmean(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: Any = None) -> Tensor:
    """The mean of the values that are not nan (nan where there are none); the gradient is
    0 at the nans."""
    x = _t(x)
    if x.dtype.kind != "f":
        raise DTypeError(f"nanmean: needs a floating tensor, got {x.dtype} (shape {x.shape}); "
                         f"write x.float().nanmean()")
    axis, keep = dim_args("nanmean", dim, axis, keepdim, keepdims)
    count = OPS["sum"](~OPS["isnan"](x), axis, keep)
    return nansum(x, axis, keep) / count.astype(x.dtype)


def count_nonzero(x: Any, dim: Any = None) -> Tensor:
    """How many elements are not zero (int64; over ``dim``, an int or a tuple, or all)."""
    x = _t(x)
    return OPS["sum"](OPS["compare"](x, 0, "ne"), dim).astype(np.int64)


def aminmax(x: Any, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """``(min, max)`` over ``dim`` (or all elements), a named tuple ``tg.return_types.aminmax``
    as PyTorch's; each gradient as ``amin``'s and ``amax``'s (shared evenly by ties)."""
    x = _t(x)
    if x.numel() == 0:
        raise ArgumentError(f"aminmax: the tensor of shape {x.shape} is empty; it has no "
                            f"minimum or maximum")
    return return_types.aminmax(OPS["amin"](x, dim, keepdim), OPS["amax"](x, dim, keepdim))


def _kth(fn: str, x: Tensor, k: int, dim: Any, keepdim: bool, nan_first: bool = False) -> Any:
    """(values, indices): the k-th smallest (0-based) along dim, in the stable order (among
    equal values the earlier position counts first; nan sorts last). With ``nan_first``, a
    slice holding a nan gives its first nan instead (median's rule)."""
    d = one_axis(fn, -1 if dim is None else dim, x.ndim)
    x1 = x.reshape(1) if x.ndim == 0 else x
    order = OPS["argsort"](x1, d)
    n = x1.shape[d]
    if nan_first and x.dtype.kind == "f":
        nans = OPS["isnan"](x1).sum(d, keepdims=True)
        pos = OPS["where"](nans > 0, n - nans, k).astype(np.int64)
        index = OPS["gather"](order, d, pos)
    else:
        index = order[(slice(None),) * d + (slice(k, k + 1),)]
    values = OPS["gather"](x1, d, index)
    if not keepdim or x.ndim == 0:
        values, index = values.squeeze(d), index.squeeze(d)
    return values, index


def kthvalue(x: Any, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """``(values, indices)``: the k-th smallest element along ``dim`` (k from 1), a named tuple
    ``tg.return_types.kthvalue``. Among equal values the earlier position counts first (its
    index is returned; PyTorch leaves the index of a tie unspecified). nan counts as the
    largest. The gradient goes to the element selected."""
    x = _t(x)
    d = one_axis("kthvalue", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ArgumentError(f"kthvalue: k={k!r} is out of range for dim {d} of size {n} "
                            f"(shape {x.shape}); k must lie in [1, {n}]")
    return return_types.kthvalue(*_kth("kthvalue", x, int(k) - 1, d, keepdim))


def median(x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median: of n values the ((n - 1) // 2)-th smallest (not the mean of the two
    middle ones, as PyTorch). Without ``dim``, the median of all elements, whose gradient is
    shared evenly by the elements equal to it (PyTorch's rule); with ``dim``, ``(values,
    indices)`` as a named tuple ``tg.return_types.median``, the gradient to the element
    selected (among equal values the earliest, as :func:`kthvalue`; PyTorch leaves which
    one unspecified). A nan makes the median nan, as PyTorch's: with ``dim``, the slice's
    first nan and its index; without, the gradient shared by the nans. The median of an empty
    tensor is nan; along an empty dim, a :class:`~tinygrad_reg.errors.DimError`."""
    x = _t(x)
    if dim is None:
        flat = x.reshape(-1)
        if x.numel() == 0:  # (PyTorch's median of nothing is nan)
            return OPS["sum"](flat) * np.nan
        if x.dtype.kind != "f":  # (integers and bools: the value itself, in x's dtype)
            return _kth("median", flat, (flat.shape[0] - 1) // 2, 0, False)[0]
        if bool(OPS["isnan"](flat).any().item()):
            chosen = OPS["isnan"](flat)
        else:
            value = _kth("median", flat.detach(), (flat.shape[0] - 1) // 2, 0, False)[0]
            chosen = OPS["compare"](flat, value, "eq")
        picked = OPS["where"](chosen, flat, 0)
        return picked.sum() / chosen.sum().astype(picked.dtype)
    d = one_axis("median", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if n == 0:
        raise DimError(f"median: dim {d} of shape {x.shape} is empty; it has no median")
    return return_types.median(*_kth("median", x, (n - 1) // 2, d, keepdim, nan_first=True))


_INTERPOLATIONS = ("linear", "lower", "higher", "nearest", "midpoint")


def quantile(x: Any, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The q-th quantiles of x along ``dim`` (of all elements when None), q in [0, 1] a float
    or a 1-D tensor (then the quantiles are a new leading dim). With the values sorted,
    v_0 <= … <= v_{n-1}, and r = q (n - 1): "linear" gives v_⌊r⌋ + (r - ⌊r⌋)(v_⌈r⌉ - v_⌊r⌋),
    "lower" v_⌊r⌋, "higher" v_⌈r⌉, "midpoint" (v_⌊r⌋ + v_⌈r⌉)/2, "nearest" v at r rounded
    half to even. A slice with a nan gives nan, as PyTorch's (its gradient to that slice's
    last value in sorted order, a nan, as PyTorch's). The gradient goes to the two order
    statistics used, with the interpolation's weights."""
    x = _t(x)
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"quantile: interpolation={interpolation!r}; use one of "
                            f"{', '.join(_INTERPOLATIONS)}")
    if isinstance(q, Tensor):
        index_read(q, "quantile's q")
    qs = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1:
        raise ShapeError(f"quantile: q must be a float or a 1-D tensor, got shape {qs.shape}")
    if qs.size and not ((qs >= 0) & (qs <= 1)).all():
        raise ArgumentError(f"quantile: q must lie in [0, 1], got {qs.tolist()}")
    if x.dtype.kind != "f":
        raise ArgumentError(f"quantile: needs a floating tensor, got {x.dtype}")
    if dim is None:
        src, d = x.reshape(-1), 0
    else:
        d = one_axis("quantile", dim, x.ndim)
        src = x.reshape(1) if x.ndim == 0 else x
    n = src.shape[d]
    if n == 0:
        raise ArgumentError(f"quantile: the values along dim {d} of shape {x.shape} are empty")
    ranks = qs.reshape(-1) * (n - 1)
    lo = np.floor(ranks).astype(np.int64)
    hi = np.ceil(ranks).astype(np.int64)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(ranks).astype(np.int64)  # (half to even, as PyTorch's)
    frac = ranks - lo if interpolation == "linear" else \
        np.full(ranks.shape, 0.5 if interpolation == "midpoint" else 0.0)
    values = OPS["sort"](src, d).values
    has_nan = OPS["isnan"](src).any(d, keepdims=True)
    take = (slice(None),) * d
    last = values[take + (slice(n - 1, n),)]  # (a nan when the slice has one)
    outs = []
    for r_lo, r_hi, f in zip(lo.tolist(), hi.tolist(), frac.tolist()):
        a = values[take + (slice(r_lo, r_lo + 1),)]
        v = a if r_lo == r_hi else OPS["lerp"](a, values[take + (slice(r_hi, r_hi + 1),)], f)
        outs.append(OPS["where"](has_nan, last, v))  # (the shape of src, 1 along d)
    out = OPS["stack"](outs, 0)
    if dim is None:
        out = out.reshape((len(outs),) + ((1,) * x.ndim if keepdim else ()))
    elif x.ndim == 0:
        out = out.reshape((len(outs),))
    elif not keepdim:
        out = out.squeeze(d + 1)
    return out[0] if qs.ndim == 0 else out


# -- more shapes, products and counts --------------------------------------------------------

def diff(x: Any, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The n-th forward difference along ``dim``: out_i = x_{i+1} - x_i, applied n times,
    after ``prepend`` and ``append`` are concatenated to x along dim."""
    x = _t(x)
    if x.ndim == 0:
        raise ShapeError("diff: needs a tensor of at least 1 dim, got a 0-d one")
    d = one_axis("diff", dim, x.ndim)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ArgumentError(f"diff: n must be an int >= 0, got {n!r}")
    parts = [_t(p) for p in (prepend,) if p is not None] + [x] + \
        [_t(a) for a in (append,) if a is not None]
    out = OPS["cat"](parts, d) if len(parts) > 1 else x
    take = (slice(None),) * d
    for _ in range(int(n)):
        if out.shape[d] == 0:
            break
        out = out[take + (slice(1, None),)] - out[take + (slice(None, -1),)]
    return out


def tensordot(a: Any, b: Any, dims: Any = 2) -> Tensor:
    """Σ over paired dims of a and b: ``dims`` an int k (a's last k dims with b's first k) or
    a pair of sequences (a's dims, b's dims); the result has a's other dims, then b's. One
    matrix product after moving the summed dims together."""
    a, b = _t(a), _t(b)
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ArgumentError(f"tensordot: dims={dims} must lie in [0, "
                                f"{min(a.ndim, b.ndim)}] for shapes {a.shape} and {b.shape}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([one_axis("tensordot", d, t.ndim) for d in
                   ((ds,) if isinstance(ds, (int, np.integer)) else ds)]
                  for ds, t in zip(dims, (a, b)))
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise ShapeError(f"tensordot: dims {da} of shape {a.shape} and {db} of shape "
                         f"{b.shape} do not pair up")
    ra = [i for i in range(a.ndim) if i not in da]
    rb = [j for j in range(b.ndim) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    m, n = math.prod(a.shape[i] for i in ra), math.prod(b.shape[j] for j in rb)
    am = OPS["permute"](a, tuple(ra + da)).reshape(m, k) if a.ndim else a.reshape(1, 1)
    bm = OPS["permute"](b, tuple(db + rb)).reshape(k, n) if b.ndim else b.reshape(1, 1)
    out = OPS["matmul"](am, bm)
    return out.reshape(tuple(a.shape[i] for i in ra) + tuple(b.shape[j] for j in rb))


def hstack(tensors: Any) -> Tensor:
    """Tensors joined along dim 1, or dim 0 when they are 1-D (numpy's and PyTorch's)."""
    ts = [_t(t) for t in tensors]
    ts = [t.reshape(1) if t.ndim == 0 else t for t in ts]
    return OPS["cat"](ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors: Any) -> Tensor:
    """Tensors joined along dim 0, 1-D ones (and scalars) first made rows (also spelled
    ``row_stack``)."""
    ts = [_t(t) for t in tensors]
    return OPS["cat"]([t.reshape(1, -1) if t.ndim < 2 else t for t in ts], 0)


row_stack = vstack


def dstack(tensors: Any) -> Tensor:
    """Tensors joined along dim 2, each first made at least 3-D ((n,) as (1, n, 1), (m, n) as
    (m, n, 1))."""
    def three(t: Tensor) -> Tensor:
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        return t.reshape(t.shape + (1,)) if t.ndim == 2 else t
    return OPS["cat"]([three(_t(t)) for t in tensors], 2)


def column_stack(tensors: Any) -> Tensor:
    """Tensors joined as columns: 1-D ones (and scalars) become columns (n, 1), then dim 1."""
    ts = [_t(t) for t in tensors]
    return OPS["cat"]([t.reshape(-1, 1) if t.ndim < 2 else t for t in ts], 1)


def cross(a: Any, b: Any, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (by default the first dim of size 3, as
    ``torch.cross``; ``torch.linalg.cross`` uses the last), a and b broadcast."""
    a, b = _t(a), _t(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    if dim is None:
        sizes = [i for i, n in enumerate(shape) if n == 3]
        if not sizes:
            raise ShapeError(f"cross: no dim of size 3 in shapes {a.shape} and {b.shape}")
        dim = sizes[0]
    d = one_axis("cross", dim, len(shape))
    if shape[d] != 3 or a.ndim != b.ndim:
        raise ShapeError(f"cross: dim {d} of shapes {a.shape} and {b.shape} must have size 3 "
                         f"(and the tensors the same number of dims)")
    take = (slice(None),) * d
    a0, a1, a2 = (a[take + (slice(i, i + 1),)] for i in range(3))
    b0, b1, b2 = (b[take + (slice(i, i + 1),)] for i in range(3))
    return OPS["cat"]([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Tensor:
    """How many times each value 0, 1, … occurs in a 1-D tensor of non-negative integers
    (int64), or the sums of ``weights`` per value (in the weights' dtype); at least
    ``minlength`` bins. No gradient (as PyTorch's)."""
    x = _t(x)
    if x.ndim != 1 or x.dtype.kind not in "iub":
        raise ShapeError(f"bincount: needs a 1-D tensor of integers, got shape {x.shape} of "
                         f"{x.dtype}")
    index_read(x, "bincount")
    v = x.numpy().astype(np.int64)
    if v.size and v.min() < 0:
        raise ArgumentError(f"bincount: the values must be >= 0, got {int(v.min())}")
    if weights is None:
        return Tensor(np.bincount(v, minlength=minlength).astype(np.int64))
    w = _t(weights)
    if w.shape != x.shape:
        raise ShapeError(f"bincount: weights of shape {w.shape} must match x's {x.shape}")
    index_read(w, "bincount's weights")
    out = np.bincount(v, w.numpy().astype(np.float64), minlength=minlength)
    return Tensor(out.astype(w.dtype if w.dtype.kind == "f" else np.float64))


def unique(x: Any, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct values of x, sorted (of x flattened; with ``dim``, the distinct slices
    along it), and when asked the inverse (where each element's value sits in the result,
    x's shape) and the counts: a Tensor, or a tuple in that order. No gradient."""
    x = _t(x)
    index_read(x, "unique")
    a = x.numpy()
    if dim is None:
        vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        d = one_axis("unique", dim, x.ndim)
        vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = [Tensor(vals)]
    if return_inverse:
        out.append(Tensor(inv.astype(np.int64)))
    if return_counts:
        out.append(Tensor(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence: Any, values: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None) -> Tensor:
    """For each value, the position in ``sorted_sequence`` (sorted along its last dim) where
    it would be inserted to keep the order: before equal values, or after them with
    ``right=True`` (``side="right"``). A 1-D sequence serves every value; otherwise the
    leading dims pair up. int64 (int32 with ``out_int32``); no gradient."""
    seq, vals = _t(sorted_sequence), _t(values)
    if side is not None:
        if side not in ("left", "right") or (right and side == "left"):
            raise ArgumentError(f"searchsorted: side={side!r} (with right={right}); give "
                                f"side 'left' or 'right'")
        right = side == "right"
    how = "right" if right else "left"
    index_read(seq, "searchsorted's sequence")
    index_read(vals, "searchsorted's values")
    s, v = seq.numpy(), vals.numpy()
    if s.ndim == 1:
        out = np.searchsorted(s, v, side=how)
    else:
        if s.shape[:-1] != v.shape[:-1]:
            raise ShapeError(f"searchsorted: the leading dims of sorted_sequence {s.shape} "
                             f"and values {v.shape} must match")
        out = np.stack([np.searchsorted(r, q, side=how) for r, q in
                        zip(s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1]))])
        out = out.reshape(v.shape)
    return Tensor(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


def bucketize(x: Any, boundaries: Any, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each element of x between sorted 1-D ``boundaries``: i with
    boundaries[i-1] < x <= boundaries[i] (boundaries[i-1] <= x < boundaries[i] with
    ``right=True``), as ``searchsorted(boundaries, x, right=right)``."""
    b = _t(boundaries)
    if b.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-D, got shape {b.shape}")
    return searchsorted(b, x, out_int32=out_int32, right=right)


def _tri_indices(fn: str, row: int, col: int, offset: int, upper: bool) -> Tensor:
    if row < 0 or col < 0:
        raise ArgumentError(f"{fn}: row and col must be >= 0, got row={row}, col={col}")
    mask = np.triu(np.ones((row, col), bool), offset) if upper else \
        np.tril(np.ones((row, col), bool), offset)
    return Tensor(np.stack(np.nonzero(mask)).astype(np.int64).reshape(2, -1))


def tril_indices(row: int, col: int, offset: int = 0) -> Tensor:
    """The (2, N) int64 row and column indices of the lower triangle of a row×col matrix (on
    and below diagonal ``offset``), in row-major order."""
    return _tri_indices("tril_indices", row, col, offset, False)


def triu_indices(row: int, col: int, offset: int = 0) -> Tensor:
    """The (2, N) int64 indices of the upper triangle (on and above diagonal ``offset``)."""
    return _tri_indices("triu_indices", row, col, offset, True)


# -- index_add / index_copy / index_fill, masked_scatter, fmax / fmin ------------------------

def _along(fn: str, x: Tensor, dim: int, index: Any, like_shape: tuple) -> tuple[int, Tensor]:
    """(dim, a 1-D int64 index expanded to ``like_shape`` along dim) for the index_* ops."""
    d = one_axis(fn, dim, x.ndim)
    index = _t(index)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise ShapeError(f"{fn}: index must be a 1-D tensor of integers, got shape "
                         f"{index.shape} of {index.dtype}")
    n = x.shape[d] if x.ndim else 1
    index_read(index, f"{fn}'s index")
    idx = index.numpy().reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise DimError(f"{fn}: index {idx.tolist()} is out of range for dim {d} of size {n} "
                       f"(shape {x.shape})")
    idx = np.where(idx < 0, idx + n, idx).astype(np.int64)
    view = [1] * len(like_shape)
    if like_shape:
        view[d] = idx.size
    return d, Tensor(np.broadcast_to(idx.reshape(view), like_shape).copy())


def index_add(x: Any, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    """x with alpha · source[..., i, ...] added at x[..., index[i], ...] along ``dim``
    (repeated indices add up). dx = grad, dsource = alpha · grad at the indices."""
    x, source = _t(x), _t(source)
    d = one_axis("index_add", dim, x.ndim)
    want = x.shape[:d] + (len(_t(index).reshape(-1)),) + x.shape[d + 1:]
    if source.shape != want:
        raise ShapeError(f"index_add: source of shape {source.shape} must have shape {want} "
                         f"(x {x.shape} with dim {d} the length of index)")
    d, idx = _along("index_add", x, dim, index, source.shape)
    return OPS["scatter_add"](x, d, idx, source if alpha == 1 else source * alpha)


def index_copy(x: Any, dim: int, index: Any, source: Any) -> Tensor:
    """x with x[..., index[i], ...] replaced by source[..., i, ...] along ``dim``. The
    gradient: to x where it was not replaced, to source at the indices."""
    x, source = _t(x), _t(source)
    d = one_axis("index_copy", dim, x.ndim)
    want = x.shape[:d] + (len(_t(index).reshape(-1)),) + x.shape[d + 1:]
    if source.shape != want:
        raise ShapeError(f"index_copy: source of shape {source.shape} must have shape "
                         f"{want} (x {x.shape} with dim {d} the length of index)")
    d, idx = _along("index_copy", x, dim, index, source.shape)
    return OPS["scatter"](x, d, idx, source)


def index_fill(x: Any, dim: int, index: Any, value: Any) -> Tensor:
    """x with the slices at ``index`` along ``dim`` set to ``value`` (a number or a 0-d
    tensor); their gradient is 0."""
    x = _t(x)
    d = one_axis("index_fill", dim, x.ndim)
    shape = x.shape[:d] + (len(_t(index).reshape(-1)),) + x.shape[d + 1:]
    d, idx = _along("index_fill", x, dim, index, shape)
    mask = np.zeros(x.shape, bool)
    np.put_along_axis(mask, idx.numpy(), True, d)
    return OPS["where"](Tensor(mask), value, x)


def masked_scatter(x: Any, mask: Any, source: Any) -> Tensor:
    """x with the positions where ``mask`` (broadcast to x's shape) is True filled, in
    row-major order, from the first elements of ``source``. The gradient: to x where the
    mask is False, to those elements of source where it is True."""
    x, source, mask = _t(x), _t(source), _t(mask)
    index_read(mask, "masked_scatter's mask")
    m = np.broadcast_to(np.asarray(mask.numpy(), bool), x.shape)
    k = int(m.sum())
    if source.numel() < k:
        raise ShapeError(f"masked_scatter: the mask selects {k} positions but source has "
                         f"{source.numel()} elements")
    pos = np.clip(np.cumsum(m.reshape(-1)) - 1, 0, None)
    taken = source.reshape(-1)[Tensor(pos.astype(np.int64))] if source.numel() else \
        Tensor(np.zeros(x.numel(), x.dtype))
    return OPS["where"](Tensor(np.ascontiguousarray(m)), taken.reshape(x.shape), x)


def fmax(a: Any, b: Any) -> Tensor:
    """The elementwise maximum ignoring nan (a nan loses to a number; nan only where both
    are). The gradient goes to a where a >= b or b is nan, else to b (all of it to a at a
    tie, as PyTorch's)."""
    a, b = _t(a), _t(b)
    take_a = OPS["logical_or"](OPS["compare"](a, b, "ge"), OPS["isnan"](b))
    return OPS["where"](take_a, a, b)


def fmin(a: Any, b: Any) -> Tensor:
    """The elementwise minimum ignoring nan, as :func:`fmax` (a at a tie)."""
    a, b = _t(a), _t(b)
    take_a = OPS["logical_or"](OPS["compare"](a, b, "le"), OPS["isnan"](b))
    return OPS["where"](take_a, a, b)


def signbit(x: Any) -> Tensor:
    """Whether the sign bit is set (True for -0.0 and negative numbers; bool, no gradient)."""
    x = _t(x)
    index_read(x, "signbit")
    return Tensor(np.signbit(x.numpy()))


def heaviside(x: Any, values: Any) -> Tensor:
    """0 where x < 0, 1 where x > 0, ``values`` where x == 0 (broadcast; no gradient, as
    PyTorch's)."""
    x, values = _t(x), _t(values)
    index_read(x, "heaviside")
    index_read(values, "heaviside's values")
    return Tensor(np.heaviside(x.numpy(), values.numpy()).astype(np.result_type(x.dtype,
                                                                                 values.dtype)))


__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal", "greater",
           "greater_equal", "equal", "allclose", "multiply", "divide", "subtract", "absolute",
           "clamp_min", "clamp_max", "addcmul", "addcdiv", "logit", "nan_to_num", "deg2rad",
           "rad2deg", "fix", "sgn", "view_as", "reshape_as", "ravel", "swapaxes", "swapdims",
           "movedim", "moveaxis", "narrow", "select", "tile", "flipud", "fliplr",
           "take_along_dim", "dot", "vdot", "inner", "outer", "ger", "mv", "addmm", "baddbmm",
           "trace", "nansum", "nanmean", "count_nonzero", "aminmax", "kthvalue", "median",
           "quantile", "diff", "tensordot", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "cross", "bincount", "unique", "searchsorted", "bucketize",
           "tril_indices", "triu_indices", "index_add", "index_copy", "index_fill",
           "masked_scatter", "fmax", "fmin", "signbit", "heaviside"]
