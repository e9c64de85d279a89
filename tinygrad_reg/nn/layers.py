"""Layers: Linear (one fused graph node), the activations, Dropout and Flatten."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..ops.activation import relu, sigmoid, tanh
from ..ops.linalg import linear
from ..regularization import drop_probability
from . import functional as F
from . import init as _init
from .module import Module, Parameter


def _positive_int(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x @ weight.T + bias, with ``weight`` of shape (out_features, in_features) (the
    tutorial's ``W[l]``) and ``bias`` of shape (out_features,), initialised to zeros.

    The forward pass is ONE graph node (the ``Linear`` op), not a transpose, a product and an
    addition: a third of the Python overhead per layer. ``x`` is (..., in_features).

    ``init``: a name from :data:`tinygrad_reg.nn.init.INITIALISERS` ("he" — He/kaiming
    normal, the default; "xavier_uniform", "xavier_normal", "scaled_normal" — the tutorial's
    randn·0.01) or a callable ``fn(shape, *, generator, dtype) -> ndarray``. ``generator``:
    the ``np.random.Generator`` the weights are drawn from (default: the package generator).
    ``dtype``: float32 (the default, as PyTorch) or float64, for both parameters.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 init: str | _init.Initialiser = "he",
                 generator: np.random.Generator | None = None, dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"Linear: dtype must be a float type (float32 or float64), got {dt}")
        fn = _init.get(init)
        shape = (self.out_features, self.in_features)
        w = np.asarray(fn(shape, generator=generator, dtype=dt))
        if w.shape != shape:
            raise ValueError(f"Linear: the initialiser {init!r} returned shape {w.shape}, "
                             f"expected {shape}")
        self.weight = Parameter(w.astype(dt, copy=False))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dt)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        dt = "" if self.weight.dtype == np.float32 else f", dtype={self.weight.dtype}"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}{dt}")


class ReLU(Module):
    """max(x, 0), with relu'(0) = 0."""

    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class Sigmoid(Module):
    """1 / (1 + e⁻ˣ), never overflowing. (For a final layer feeding a binary cross-entropy,
    prefer logits and ``binary_cross_entropy_with_logits``.)"""

    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    """tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class Dropout(Module):
    """Inverted dropout while training; the identity in eval mode (``model.eval()``).

    ``p`` is the probability of dropping a unit (PyTorch's word), ``keep_prob`` = 1 - p the
    probability of keeping it (the tutorial's); give at most one, neither means p = 0.5.
    A fresh mask is drawn at every call from ``generator`` (or the package generator).
    See :func:`tinygrad_reg.nn.functional.dropout`.
    """

    def __init__(self, p: float | None = None, *, keep_prob: float | None = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = drop_probability(p, keep_prob, "Dropout")
        self.keep_prob = None if keep_prob is None else 1.0 - self.p
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"Dropout: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}")
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob}" if self.keep_prob is not None else f"p={self.p}"


class Flatten(Module):
    """Reshape axes ``start_dim`` … ``end_dim`` into one: (N, C, H, W) -> (N, C·H·W) with the
    defaults (start_dim=1, end_dim=-1)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        nd = x.ndim
        s = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        e = self.end_dim + nd if self.end_dim < 0 else self.end_dim
        if not (0 <= s < max(nd, 1) and 0 <= e < max(nd, 1)) or s > e:
            raise ValueError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do "
                             f"not fit an input of shape {x.shape}")
        if nd == 0:
            return x.reshape(1)
        shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
        return x.reshape(shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


__all__ = ["Linear", "ReLU", "Sigmoid", "Tanh", "Dropout", "Flatten"]
