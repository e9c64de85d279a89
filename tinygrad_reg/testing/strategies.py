"""Hypothesis strategies for property-testing ops (needs ``hypothesis``: the ``testing`` extra,
``pip install "tinygrad_reg[testing]"``).

Hypothesis favours 0.0 and repeated values, so a kink (relu, abs at 0), a pole (1/x, log x)
or a tie (max, maximum) would come up far more often than with random draws. These
strategies keep values away from such points *by construction* (sign · uniform(margin, M),
distinct slots, disjoint lattices), never by filtering with ``assume``, so no example is
wasted and the margin is guaranteed. Pick ``margin`` well above gradcheck's ``eps``.

:func:`tensors` and :func:`broadcastable_tensors` give ready-made :class:`~tinygrad_reg.Tensor`
inputs for :func:`~tinygrad_reg.testing.check_op`; the array helpers below them give ndarrays.

Reach it as ``tg.testing.strategies`` or ``from tinygrad_reg.testing import strategies``; a
plain ``import tinygrad_reg`` never imports hypothesis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError('tinygrad_reg.testing.strategies needs hypothesis: '
                      'pip install "tinygrad_reg[testing]"') from err

from .._tensor import Tensor

__all__ = ["tensors", "broadcastable_tensors", "POSITIVE_FLOOR", "shapes",
           "broadcastable_shapes", "nonzero", "away_from", "arrays", "nonzero_arrays",
           "positive_arrays", "distinct_arrays", "lattice_arrays"]

Shape = tuple[int, ...]


def shapes(*, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 3) -> st.SearchStrategy[Shape]:
    """Array shapes, 0-d to ``max_dims``-d, size-1 axes included (small by default so that
    finite differences stay cheap)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 3,
                         signature: str | None = None) -> st.SearchStrategy[tuple[Shape, ...]]:
    """``num_shapes`` shapes that broadcast together (numpy rules: ranks may differ, size-1
    axes stretch). With a gufunc ``signature`` such as ``np.matmul.signature`` the core dims
    follow it and only the loop dims broadcast."""
    kw: dict[str, Any] = dict(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                              max_side=max_side)
    if signature is None:
        strat = hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, **kw)
    else:
        strat = hnp.mutually_broadcastable_shapes(signature=signature, **kw)
    return strat.map(lambda r: tuple(r.input_shapes))


def nonzero(margin: float = 0.1, high: float = 3.0) -> st.SearchStrategy[float]:
    """sign · uniform(margin, high): floats with ``margin <= |x| <= high``."""
    if not 0 < margin <= high:
        raise ValueError(f"nonzero: need 0 < margin <= high, got margin={margin}, high={high}")
    return st.tuples(st.sampled_from([-1.0, 1.0]),
                     st.floats(margin, high)).map(lambda t: t[0] * t[1])


def away_from(points: Sequence[float], margin: float = 0.1, low: float = -3.0,
              high: float = 3.0) -> st.SearchStrategy[float]:
    """Floats in [low, high] at least ``margin`` away from every one of ``points`` (kinks
    such as clip's bounds): a uniform draw from one of the allowed intervals."""
    edges = sorted(float(p) for p in points)
    intervals, start = [], float(low)
    for p in edges:
        if p - margin > start:
            intervals.append((start, p - margin))
        start = max(start, p + margin)
    if start < high:
        intervals.append((start, float(high)))
    if not intervals:
        raise ValueError(f"away_from: nothing in [{low}, {high}] is {margin} away from {points}")
    return st.one_of(*[st.floats(a, b) for a, b in intervals])


def arrays(shape: Shape | st.SearchStrategy[Shape], elements: st.SearchStrategy[float] | None
           = None, *, low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` (a shape or a strategy for one), elements from
    ``elements`` or uniform in [low, high]."""
    if elements is None:
        elements = st.floats(low, high)
    return hnp.arrays(np.float64, shape, elements=elements)


def nonzero_arrays(shape: Shape | st.SearchStrategy[Shape], margin: float = 0.1,
                   high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays with every ``margin <= |x| <= high`` (away from a kink or pole at 0)."""
    return arrays(shape, nonzero(margin, high))


def positive_arrays(shape: Shape | st.SearchStrategy[Shape], low: float = 0.5,
                    high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays in [low, high], low > 0 (log, sqrt, fractional powers)."""
    if not 0 < low <= high:
        raise ValueError(f"positive_arrays: need 0 < low <= high, got {low}, {high}")
    return arrays(shape, st.floats(low, high))


@st.composite
def _distinct(draw: Any, shape: Any, low: float, high: float, gap: float) -> np.ndarray:
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else tuple(shape)
    n = int(np.prod(shape))
    # slot k spans [low + 2k·gap, low + (2k+1)·gap] and must end by high; rounded, so that
    # 8 // 0.02 (399.0 in floating point) does not lose the last slot
    slots = int((round((high - low) / gap, 9) + 1) // 2)
    if n > slots:
        raise ValueError(f"distinct_arrays: {n} values {gap} apart do not fit in "
                         f"[{low}, {high}]")
    if n * 2 > slots:  # (a unique list that nearly fills its range is slow to draw)
        ks = draw(st.permutations(range(slots)))[:n]
    else:
        ks = draw(st.lists(st.integers(0, slots - 1), min_size=n, max_size=n, unique=True))
    jitter = draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.0, gap)))
    # slot k spans [low + 2k·gap, low + (2k+1)·gap]: any two values are >= gap apart
    return (low + 2 * gap * np.asarray(ks, dtype=np.float64) + jitter).reshape(shape)


def distinct_arrays(shape: Shape | st.SearchStrategy[Shape], low: float = -3.0,
                    high: float = 3.0, gap: float = 0.05) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays whose elements are pairwise at least ``gap`` apart (no ties for max,
    min, sort-like ops), in [low, high]."""
    return _distinct(shape, low, high, gap)


def lattice_arrays(shape: Shape | st.SearchStrategy[Shape], phase: tuple[float, float] =
                   (0.0, 0.3), low: int = -2, high: int = 2) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of values k + u, k an integer in [low, high], u in ``phase``.

    Two arrays drawn with disjoint phases, e.g. (0, 0.3) and (0.5, 0.8), differ by at least
    0.2 at every position, whatever shapes broadcasting pairs them in: inputs for
    ``maximum``/``minimum`` that can never tie.
    """
    a, b = phase
    if not 0 <= a <= b < 1:
        raise ValueError(f"lattice_arrays: phase must lie in [0, 1), got {phase}")
    elements = st.tuples(st.integers(low, high), st.floats(a, b)).map(lambda t: t[0] + t[1])
    return arrays(shape, elements)


# -- Tensor strategies ----------------------------------------------------------------------

#: The smallest value ``tensors(positive=True)`` draws (unless ``low`` is larger): far enough
#: from the pole of log, 1/x and x^-k, and from sqrt's infinite slope at 0, that central
#: differences with gradcheck's ε = 1e-6 stay accurate to its tolerances.
POSITIVE_FLOOR = 0.5


def _elements(what: str, dtype: np.dtype, elements: st.SearchStrategy | None,
              avoid: Sequence[float], positive: bool, margin: float, low: float,
              high: float) -> st.SearchStrategy:
    """The element strategy of ``tensors()``, checked eagerly so bad options fail at once."""
    avoid = tuple(float(p) for p in np.atleast_1d(np.asarray(avoid, dtype=np.float64)))
    if elements is not None:
        if avoid or positive:
            raise ValueError(f"{what}: elements= is a complete element strategy; it cannot be "
                             f"combined with avoid={avoid} or positive={positive} (build the "
                             f"margin into elements, e.g. with away_from())")
        if not isinstance(elements, st.SearchStrategy):
            raise ValueError(f"{what}: elements must be a Hypothesis strategy, got "
                             f"{type(elements).__name__}")
        return elements
    if not margin > 0:
        raise ValueError(f"{what}: margin must be > 0, got {margin}")
    if not low < high:
        raise ValueError(f"{what}: need low < high, got low={low}, high={high}")
    if dtype.kind == "b":
        if avoid or positive:
            raise ValueError(f"{what}: avoid and positive make no sense for dtype bool")
        return st.booleans()
    if positive:
        low = low if low > 0 else POSITIVE_FLOOR
        if not low < high:
            raise ValueError(f"{what}: positive=True draws from [{low}, high], but "
                             f"high={high}; raise high")
    if dtype.kind in "iu":
        lo, hi = math.ceil(low), math.floor(high)
        if dtype.kind == "u":
            lo = max(lo, 0)
        ints = [k for k in range(lo, hi + 1) if all(abs(k - p) >= margin for p in avoid)]
        if not ints:
            raise ValueError(f"{what}: no integer in [{low}, {high}] is {margin} away from "
                             f"{avoid}")
        return st.sampled_from(ints)
    if dtype.kind != "f":
        raise ValueError(f"{what}: dtype must be a float, int or bool dtype, got {dtype}")
    return away_from(avoid, margin, low, high) if avoid else st.floats(low, high)


def _shape_strategy(what: str, shape: Any) -> st.SearchStrategy[Shape]:
    if shape is None:
        return shapes()
    if isinstance(shape, st.SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: shape must be None, a tuple of ints or a strategy of "
                         f"shapes, got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{what}: negative size in shape {shape}")
    return st.just(shape)


def _requires_grad(what: str, dtype: np.dtype, requires_grad: bool | None) -> bool:
    if requires_grad is None:
        return dtype.kind == "f"
    if requires_grad and dtype.kind != "f":
        raise ValueError(f"{what}: only floating-point tensors can require grad, got dtype "
                         f"{dtype} with requires_grad=True")
    return bool(requires_grad)


def _tensor_strategy(what: str, shape: st.SearchStrategy, dtype: np.dtype,
                     elements: st.SearchStrategy, requires_grad: bool
                     ) -> st.SearchStrategy[Tensor]:
    # Floats are drawn in float64 and then cast, so a float32 tensor has the same values as
    # its float64 twin up to rounding (the margins hold up to that rounding).
    draw_dtype = np.float64 if dtype.kind == "f" else dtype
    arr = hnp.arrays(draw_dtype, shape, elements=elements)
    return arr.map(lambda a: Tensor(a.astype(dtype, copy=False), requires_grad=requires_grad))


def tensors(shape: Any = None, dtype: Any = np.float64,
            elements: st.SearchStrategy | None = None, avoid: Sequence[float] = (),
            positive: bool = False, *, margin: float = 0.1, low: float = -3.0,
            high: float = 3.0, requires_grad: bool | None = None) -> st.SearchStrategy[Tensor]:
    """Tensors of ``shape`` and ``dtype``, with values kept away from trouble by construction.

    - ``shape``: a tuple, or a strategy of tuples; None (default) draws one from
      :func:`shapes` (0-d to 3-d, sides 1 to 3, so finite differences stay cheap).
    - floats (default float64): uniform in [low, high]; ``avoid=(0.0,)`` keeps every value at
      least ``margin`` away from every point listed (a kink or pole: relu, abs, 1/x, clip's
      bounds), drawing from the allowed intervals rather than filtering;
      ``positive=True`` draws from [POSITIVE_FLOOR, high] = [0.5, high] (from [low, high]
      if ``low`` > 0), for log, sqrt and fractional powers. Both may be combined.
    - ``elements``: your own element strategy instead (then not with ``avoid``/``positive``).
    - bool: any values; int: the integers in [low, high] (default -3..3), minus ``avoid``.
    - ``requires_grad``: default True for float dtypes (the inputs a gradient check
      differentiates), False otherwise (constant tensors, such as a ``where`` condition).

    Invalid combinations raise ``ValueError`` when the strategy is built. Example::

        @given(tensors(avoid=[0.0]))          # relu/abs inputs: every |x| >= 0.1
        def test_relu(x): ...

        check_op(tg.log, tensors(positive=True))
        check_op(tg.where, tensors((2, 3), dtype=bool), tensors((2, 3)), tensors((3,)))
    """
    dt = np.dtype(dtype)
    what = "tensors"
    shape_st = _shape_strategy(what, shape)
    elem = _elements(what, dt, elements, avoid, positive, margin, low, high)
    return _tensor_strategy(what, shape_st, dt, elem, _requires_grad(what, dt, requires_grad))


def broadcastable_tensors(n: int = 2, *, dtype: Any = np.float64,
                          elements: st.SearchStrategy | None = None,
                          avoid: Sequence[float] = (), positive: bool = False,
                          margin: float = 0.1, low: float = -3.0, high: float = 3.0,
                          requires_grad: bool | None = None, min_dims: int = 0,
                          max_dims: int = 3, min_side: int = 1,
                          max_side: int = 3) -> st.SearchStrategy[tuple[Tensor, ...]]:
    """Tuples of ``n`` tensors whose shapes broadcast together (numpy rules: ranks may
    differ, size-1 axes stretch), drawn with
    ``hypothesis.extra.numpy.mutually_broadcastable_shapes`` (via
    :func:`broadcastable_shapes`). The value options are those of :func:`tensors` and apply
    to every tensor. Given to :func:`~tinygrad_reg.testing.check_op`, the tuple is spread
    into ``n`` arguments. Example::

        check_op(lambda a, b: a + b, broadcastable_tensors(2))  # e.g. shapes (2, 1) and (3,)
        check_op(lambda a, b: a / b, broadcastable_tensors(2, avoid=[0.0], margin=0.5))
    """
    what = "broadcastable_tensors"
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: n must be a positive int, got {n!r}")
    if not 0 <= min_dims <= max_dims:
        raise ValueError(f"{what}: need 0 <= min_dims <= max_dims, got {min_dims}, {max_dims}")
    if not 0 <= min_side <= max_side:
        raise ValueError(f"{what}: need 0 <= min_side <= max_side, got {min_side}, "
                         f"{max_side}")
    dt = np.dtype(dtype)
    elem = _elements(what, dt, elements, avoid, positive, margin, low, high)
    rg = _requires_grad(what, dt, requires_grad)
    shapes_st = broadcastable_shapes(n, min_dims=min_dims, max_dims=max_dims,
                                     min_side=min_side, max_side=max_side)
    return shapes_st.flatmap(lambda ss: st.tuples(
        *[_tensor_strategy(what, st.just(s), dt, elem, rg) for s in ss]))
