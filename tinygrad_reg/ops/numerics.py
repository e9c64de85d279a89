"""Numerics that several ops share, each written once: the stable sigmoid and softplus on
arrays, and SELU's constants (the activations, the losses, alpha dropout and the ONNX
mappings read them here)."""

from __future__ import annotations

import numpy as np

#: SELU's constants (Klambauer et al. 2017), as PyTorch: they keep activations at mean 0 and
#: variance 1 through many layers (and alpha dropout keeps those statistics).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ) in x's dtype, from e^(-|x|) so it never overflows:
    1 / (1 + e^(-|x|)) for x ≥ 0, e^(-|x|) / (1 + e^(-|x|)) below."""
    e = np.exp(-np.abs(x))
    return (np.where(x >= 0, 1.0, e) / (1.0 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) = max(x, 0) + log(1 + e^(-|x|)) (numpy's ``logaddexp(0, x)``), finite for
    any finite x."""
    return np.logaddexp(0, x)


__all__ = ["SELU_ALPHA", "SELU_SCALE", "sigmoid", "softplus"]
