"""erf for numpy arrays, which numpy lacks.

``scipy.special.erf`` is used when scipy is installed (a well-kept C implementation, and the
fastest). Without scipy, a numpy implementation takes over, accurate to about 4e-15 relative
to ``math.erf`` (tests/test_ops_elementwise.py checks both to 1e-13 against ``math.erf``):

- |x| <= 2: erf(x) = x · g(x²), with g(x²) = erf(x)/x (an even, entire function) as a
  degree-20 Chebyshev series in x²;
- 2 < |x| < 6: erf(x) = 1 - e^(-x²)/x · h(4/x²), with h(t) = x·e^(x²)·erfc(x) (smooth in t)
  as a degree-20 Chebyshev series in t;
- |x| >= 6: erf(x) = ±1 (erfc(6) ≈ 2e-17 is below half an ulp of 1).

The series' coefficients are interpolated from ``math.erf``/``math.erfc`` at Chebyshev points
when first needed (about a millisecond), not typed in.

float32 (and float16, through float32) has a kernel of its own, :func:`erf_float32`, computed
in float32 in 20 passes over the array (scipy's float32 erf takes the time of about 120):
erf(x) = tanh(x · g(x²)) with g a degree-8 polynomial and x clamped to [-X, X], X = 3.9192059,
the least float32 whose erf rounds to 1. g was fitted once as a weighted minimax polynomial
(Lawson's iteration on 8,000 points of [0, X]) for atanh(erf x)/x, each point weighted by
how much an error in the argument of tanh moves erf in float32 ulps, and held to 10.05 at X
(numpy's float32 tanh is exactly 1 only from 10 on, so erf is exactly ±1 from ±X on, as the
rounded erf). Measured over every float32 in [0, 4.5] against float64 erf: at most 3.67
ulp (ulp: the float32 spacing at the true value); odd (erf(-x) is -erf(x) exactly, -0 gives
-0), nan stays nan, ±inf gives ±1. tests/test_ops_elementwise.py checks 4 ulp on a dense
grid of float32 and the exact tail.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_DEGREE = 20
_T_LOW = 4.0 / 36.0  # t = 4/x² at x = 6
_coefficients: tuple[np.ndarray, np.ndarray] | None = None


def _fit() -> tuple[np.ndarray, np.ndarray]:
    from numpy.polynomial import chebyshev

    def small(s: np.ndarray) -> np.ndarray:  # s in [-1, 1] maps to x² in [0, 4]
        xs = np.sqrt((s + 1.0) * 2.0)
        return np.array([math.erf(x) / x if x > 0 else 2.0 / math.sqrt(math.pi) for x in xs])

    def large(s: np.ndarray) -> np.ndarray:  # s in [-1, 1] maps to t in [4/36, 1]
        xs = 2.0 / np.sqrt(_T_LOW + (s + 1.0) / 2.0 * (1.0 - _T_LOW))
        return np.array([math.erfc(x) * math.exp(x * x) * x for x in xs])

    return chebyshev.chebinterpolate(small, _DEGREE), chebyshev.chebinterpolate(large, _DEGREE)


def erf_numpy(x: np.ndarray) -> np.ndarray:
    """erf(x) elementwise with numpy alone (float64 inside; the result has x's dtype)."""
    global _coefficients
    from numpy.polynomial import chebyshev

    if _coefficients is None:
        _coefficients = _fit()
    c_small, c_large = _coefficients
    x = np.asarray(x)
    v = x.astype(np.float64, copy=False)
    a = np.abs(v)
    out = np.sign(v)  # |x| >= 6 (and ±inf); nan stays nan
    inner = a <= 2.0
    if inner.any():
        xi = v[inner]
        out[inner] = xi * chebyshev.chebval(xi * xi / 2.0 - 1.0, c_small)
    mid = (a > 2.0) & (a < 6.0)
    if mid.any():
        xm = a[mid]
        t = 4.0 / (xm * xm)
        s = (t - _T_LOW) / (1.0 - _T_LOW) * 2.0 - 1.0
        erfc = np.exp(-xm * xm) / xm * chebyshev.chebval(s, c_large)
        out[mid] = np.sign(v[mid]) * (1.0 - erfc)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


# g(s) = Σ c_k s^k, fitted as the module docstring says (float32 values of the fit)
_G32 = tuple(np.float32(c) for c in (
    1.1283792595743938, 0.10276910494303448, -0.00019151001116277902, -0.0006205540260819271,
    8.835962145350568e-05, -6.02256896457542e-06, 2.326161635952435e-07,
    -1.1147016002553972e-08, 5.074911384746052e-10))
_X_MAX32 = np.float32(3.919205904006958)  # the least float32 whose erf rounds to 1


def erf_float32(x: np.ndarray, out: np.ndarray | None = None,
                temps: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """erf(x) for a float32 array, in float32: tanh(c · g(c²)) with c = x clamped to
    [-X, X], X = 3.9192059 (see the module docstring for g and the bound, 3.67 ulp).
    ``out`` receives the result, ``temps`` two float32 buffers of x's shape (the clamped x
    and its square; fresh when None); x itself is only read, first, so ``temps[0]`` may be x."""
    c = _G32
    a, s = temps if temps is not None else (None, None)
    xc = np.clip(x, -_X_MAX32, _X_MAX32, out=a)
    s = np.multiply(xc, xc, out=s)
    acc = np.multiply(s, c[8], out=out)
    for k in (7, 6, 5, 4, 3, 2, 1):
        acc += c[k]
        acc *= s
    acc += c[0]
    acc *= xc
    return np.tanh(acc, out=acc)


def _pick() -> Any:
    try:
        from scipy.special import erf
    except ImportError:
        return erf_numpy
    return erf


_impl: Any = None


def erf(x: np.ndarray) -> np.ndarray:
    """erf(x) elementwise: :func:`erf_float32` for float32 and float16; otherwise scipy's if
    installed, else :func:`erf_numpy`. Keeps the float dtype."""
    global _impl
    if x.dtype == np.float32 or x.dtype == np.float16:  # (a 0-d array as 1-d: numpy gives
        # scalars, not arrays, for 0-d results)
        y = erf_float32(np.asarray(x, np.float32).reshape(x.shape or (1,)))
        return y.reshape(x.shape).astype(x.dtype, copy=False)
    if _impl is None:
        _impl = _pick()
    out = _impl(x)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out
