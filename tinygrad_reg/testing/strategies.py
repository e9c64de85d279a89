"""Hypothesis strategies for property-testing ops (needs ``hypothesis``, the ``test`` extra).

Hypothesis favours 0.0 and repeated values, so a kink (relu, abs at 0), a pole (1/x, log x)
or a tie (max, maximum) would come up far more often than with random draws. These
strategies keep values away from such points *by construction* (sign · uniform(margin, M),
distinct slots, disjoint lattices), never by filtering with ``assume``, so no example is
wasted and the margin is guaranteed. Pick ``margin`` well above gradcheck's ``eps``.

Import it explicitly (``from tinygrad_reg.testing import strategies``); ``import
tinygrad_reg`` never imports hypothesis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = ["shapes", "broadcastable_shapes", "nonzero", "away_from", "arrays", "nonzero_arrays",
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
    slots = int((high - low) // (2 * gap))
    if n > slots:
        raise ValueError(f"distinct_arrays: {n} values {gap} apart do not fit in "
                         f"[{low}, {high}]")
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
