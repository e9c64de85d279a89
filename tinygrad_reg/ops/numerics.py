"""Numerics that several ops share, each written once: the sigmoid and softplus on
arrays, and SELU's constants (the activations, the losses, alpha dropout and the ONNX
mappings read them here)."""

from __future__ import annotations

import numpy as np

#: SELU's constants (Klambauer et al. 2017), as PyTorch: they keep activations at mean 0 and
#: variance 1 through many layers (and alpha dropout keeps those statistics).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ) in x's dtype, as PyTorch computes it: four passes (negate, exp,
    add 1, reciprocal), into ``out`` when given (x's shape and float dtype; it may be x
    itself), else a fresh array laid out in memory as x is (a pass between arrays of
    different memory orders costs several times one between alike ones).

    e⁻ˣ overflows to inf below x ≈ -88.7 (float32; -709.8 for float64), where σ is then 0
    (PyTorch gives 0 there too; the exact value is below 1e-38, a subnormal at most), so the
    overflow is not warned about. Relative error a few ulp elsewhere: 1 + e⁻ˣ and its
    reciprocal are each correctly rounded. nan stays nan, σ(inf) = 1, σ(-inf) = 0. (An
    integer x gives float64; the ops convert integers to float32 first.)"""
    if out is None:  # (an array even for a 0-d x, where a ufunc would give a scalar)
        out = np.empty_like(x, np.result_type(x, 1.0))
    e = np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    np.add(e, 1.0, out=e)
    return np.reciprocal(e, out=e)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) = max(x, 0) + log(1 + e^(-|x|)) (numpy's ``logaddexp(0, x)``), finite for
    any finite x."""
    return np.logaddexp(0, x)


__all__ = ["SELU_ALPHA", "SELU_SCALE", "sigmoid", "softplus"]
