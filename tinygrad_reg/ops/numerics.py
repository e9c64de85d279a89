"""Numerics that several ops share, each written once: the stable sigmoid and softplus on
arrays, fast maxima and sums over the last axis (softmax, cross-entropy, attention), and
SELU's constants (the activations, the losses, alpha dropout and the ONNX
mappings read them here)."""

from __future__ import annotations

import math

import numpy as np

#: SELU's constants (Klambauer et al. 2017), as PyTorch: they keep activations at mean 0 and
#: variance 1 through many layers (and alpha dropout keeps those statistics).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


_SIGN_BIT = {n: np.array(np.iinfo(f"i{n}").min, f"i{n}") for n in (2, 4, 8)}


def _minus_abs(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """-|x| into ``out``: x's sign bit set, an integer OR (several times faster than
    ``copysign(x, -1)``, and the same bits, NaN included), when x is a float array of
    ``out``'s dtype."""
    if isinstance(x, np.ndarray) and x.dtype == out.dtype and x.dtype.kind == "f" and \
            x.dtype.itemsize in _SIGN_BIT:
        ints = _SIGN_BIT[x.dtype.itemsize]
        np.bitwise_or(x.view(ints.dtype), ints, out=out.view(ints.dtype))
        return out
    return np.copysign(x, -1.0, out=out)


def sigmoid(x: np.ndarray, out: np.ndarray | None = None, den: np.ndarray | None = None,
            mask: np.ndarray | None = None) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ) in x's dtype, from e = e^(-|x|) so it never overflows:
    1 / (1 + e) for x ≥ 0, e / (1 + e) below.

    Written as five passes over arrays and no select: the numerator is max(e, [x ≥ 0]), which
    is 1 where x ≥ 0 (there e ≤ 1) and e elsewhere (a NaN stays NaN), the same bits as
    ``where(x >= 0, 1, e)`` at a fraction of its cost (numpy's ``where`` with a scalar is
    several times slower than a ufunc pass). ``out``, ``den`` (x's shape and float dtype) and
    ``mask`` (bool) are buffers to write into (``out`` may be ``x`` itself); fresh arrays
    laid out in memory as x is when not given (a pass between arrays of different memory
    orders costs several times one between alike ones). (An integer x gives float64; the
    ops convert integers to float32 first.)"""
    mask = np.greater_equal(x, 0, out=mask)  # (read first: out may be x's own buffer)
    if out is None:  # (an array even for a 0-d x, where a ufunc would give a scalar)
        out = np.empty_like(x, np.result_type(x, 1.0))  # (laid out as x is: see below)
    e = _minus_abs(x, out)
    np.exp(e, out=e)
    den = np.add(e, 1.0, out=den)
    np.maximum(e, mask, out=e)
    return np.divide(e, den, out=e)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) = max(x, 0) + log(1 + e^(-|x|)) (numpy's ``logaddexp(0, x)``), finite for
    any finite x."""
    return np.logaddexp(0, x)



def row_max(a: np.ndarray) -> np.ndarray:
    """The maximum over the last axis, keepdims, as a tree of elementwise maxima of the
    even and odd columns (np.max along a short last axis runs about 6x slower: 0.36 ms for
    (128, 32, 32) float32). Exact, as max is in any order; nan propagates."""
    n = a.shape[-1]
    if n <= 1:
        return a.max(-1, keepdims=True)  # (a copy; numpy's error for an empty reduction)
    while n > 1:
        h = n // 2
        b = np.maximum(a[..., 0:2 * h:2], a[..., 1:2 * h:2])
        if n % 2:
            np.maximum(b[..., :1], a[..., n - 1:], out=b[..., :1])
        a, n = b, h
    return a


_ONES: dict[tuple, np.ndarray] = {}


def ones_vector(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of n ones of ``dtype``, kept: the weights of the BLAS sums."""
    key = (n, np.dtype(dtype))
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 256:
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, dtype)
        ones.flags.writeable = False
    return ones


def row_sum(a: np.ndarray) -> np.ndarray:
    """The sum over the last axis, keepdims, as one BLAS product with a vector of ones
    (np.sum along a short last axis runs about 8x slower). ``a`` C-contiguous."""
    n = a.shape[-1]
    return np.dot(a.reshape(-1, n), ones_vector(n, a.dtype)).reshape(a.shape[:-1] + (1,))


def trailing_mean(x: np.ndarray, axes: tuple, out: np.ndarray | None = None) -> np.ndarray:
    """np.mean(x, axes, keepdims=True) into ``out`` (fresh when None). Over the trailing axes
    of a C-contiguous float32/float64 array (layer norm's) as one BLAS product with ones,
    then divided by the count: np.mean along a short last axis is about 3x slower (0.03 ms
    against 0.01 ms for (1024, 64) float32)."""
    k, nd = len(axes), x.ndim
    if k and nd and x.size and (x.dtype == np.float32 or x.dtype == np.float64) and \
            x.flags.c_contiguous and sorted(a % nd for a in axes) == list(range(nd - k, nd)) \
            and (out is None or (out.dtype == x.dtype and out.flags.c_contiguous)):
        n = x.size // math.prod(x.shape[:nd - k])
        if out is None:
            out = np.empty(x.shape[:nd - k] + (1,) * k, x.dtype)
        flat = out.reshape(-1)
        np.dot(x.reshape(-1, n), ones_vector(n, x.dtype), out=flat)
        np.divide(flat, n, out=flat)
        return out
    return np.asarray(np.mean(x, axis=axes, keepdims=True, out=out))


def max_keep(x: np.ndarray, axis: int) -> np.ndarray:
    """np.max(x, axis, keepdims=True), by :func:`row_max` when ``axis`` is the last of a
    float array of 8 or more columns (the same values)."""
    if x.dtype.kind == "f" and x.ndim and axis % x.ndim == x.ndim - 1 and x.shape[-1] >= 8 \
            and x.size:
        return row_max(x)
    return np.max(x, axis=axis, keepdims=True)


def sum_keep(x: np.ndarray, axis: int) -> np.ndarray:
    """np.sum(x, axis, keepdims=True), by :func:`row_sum` (one BLAS product) when ``axis`` is
    the last of a C-contiguous float32/float64 array of 8 or more columns (the same sum in
    another order)."""
    if (x.dtype == np.float32 or x.dtype == np.float64) and x.ndim and \
            axis % x.ndim == x.ndim - 1 and x.shape[-1] >= 8 and x.size and \
            x.flags.c_contiguous:
        return row_sum(x)
    return np.sum(x, axis=axis, keepdims=True)


__all__ = ["SELU_ALPHA", "SELU_SCALE", "sigmoid", "softplus", "row_max", "row_sum",
           "max_keep", "sum_keep", "ones_vector", "trailing_mean"]
