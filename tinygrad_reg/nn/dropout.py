"""The dropout family and the other noise layers as modules: each draws its noise while
training and is the identity after ``model.eval()`` (test-time noise is impossible unless you
ask for it, as :func:`tinygrad_reg.lab.mc_dropout_predict` does). ``p`` is the probability of
dropping (PyTorch's word); ``keep_prob = 1 - p`` (the tutorial's) is accepted wherever ``p``
is. ``generator``: the ``np.random.Generator`` to draw from (default: the package one)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..ops.linalg import linear
from ..regularization import noise as N
from .layers import Linear
from .module import Module


def _generator(generator: Any, name: str) -> np.random.Generator | None:
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"{name}: generator must be a numpy.random.Generator, got "
                        f"{type(generator).__name__}")
    return generator


class _DropoutBase(Module):
    """p / keep_prob / generator handling shared by the dropout-type layers."""

    _fn = staticmethod(N.dropout)
    is_dropout = True  # lab.mc_dropout_predict samples these in eval mode

    def __init__(self, p: float | None = None, inplace: bool = False, *,
                 keep_prob: float | None = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.p = N.drop_probability(p, keep_prob, name)
        N._no_inplace(inplace, name)
        self.keep_prob = None if keep_prob is None else 1.0 - self.p
        self.generator = _generator(generator, name)

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._fn(x, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob}" if self.keep_prob is not None else f"p={self.p}"


class Dropout(_DropoutBase):
    """Inverted dropout while training; the identity in eval mode (``model.eval()``).
    p = 0.5 when neither ``p`` nor ``keep_prob`` is given. A fresh mask is drawn at every
    call. See :func:`tinygrad_reg.regularization.dropout`."""


class Dropout1d(_DropoutBase):
    """Channel dropout on (N, C, L) or (C, L) while training: whole channels are zeroed
    (PyTorch's ``nn.Dropout1d``). See :func:`tinygrad_reg.regularization.dropout1d`."""

    _fn = staticmethod(N.dropout1d)


class Dropout2d(_DropoutBase):
    """Channel dropout on (N, C, H, W) while training: whole feature maps are zeroed
    (PyTorch's ``nn.Dropout2d``). See :func:`tinygrad_reg.regularization.dropout2d`."""

    _fn = staticmethod(N.dropout2d)


class AlphaDropout(_DropoutBase):
    """Alpha dropout for SELU networks while training (PyTorch's ``nn.AlphaDropout``): keeps
    a standard-normal input's mean and variance. See
    :func:`tinygrad_reg.regularization.alpha_dropout`."""

    _fn = staticmethod(N.alpha_dropout)


class GaussianDropout(_DropoutBase):
    """Multiplicative N(1, p/(1 - p)) noise while training (the dropout paper's Gaussian
    dropout). p = 1 is an error. See :func:`tinygrad_reg.regularization.gaussian_dropout`."""

    _fn = staticmethod(N.gaussian_dropout)

    def __init__(self, p: float | None = None, *, keep_prob: float | None = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__(p, keep_prob=keep_prob, generator=generator)
        if self.p == 1.0:
            raise ValueError("GaussianDropout: p=1 (keep_prob=0) gives the noise an infinite "
                             "variance p/(1 - p); use p < 1")


class GaussianNoise(Module):
    """``GaussianNoise(std)``: adds N(0, std²) noise to its input while training; the
    identity in eval mode. See :func:`tinygrad_reg.regularization.gaussian_noise`."""

    is_dropout = True  # sampled by lab.mc_dropout_predict like the dropout layers

    def __init__(self, std: float, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        N.gaussian_noise(Tensor(np.zeros(1)), std, training=False)  # validates std
        self.std = float(std)
        self.generator = _generator(generator, "GaussianNoise")

    def forward(self, x: Tensor) -> Tensor:
        return N.gaussian_noise(x, self.std, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"std={self.std}"


class DropConnectLinear(Linear):
    """``DropConnectLinear(in_features, out_features, p=0.5, bias=True)``: a Linear layer
    whose weight goes through DropConnect while training (each connection dropped with
    probability p, the kept ones scaled by 1/(1 - p), a fresh mask per call), so the expected
    training output equals the eval output x @ Wᵀ + b. Its state_dict is a Linear's:
    ``weight`` (out_features, in_features) and ``bias``. Takes Linear's ``init``, ``dtype``
    and ``generator`` (used for the initial weights and the masks)."""

    is_dropout = True

    def __init__(self, in_features: int, out_features: int, p: float | None = None,
                 bias: bool = True, *, keep_prob: float | None = None, **kwargs: Any) -> None:
        super().__init__(in_features, out_features, bias, **kwargs)
        self.p = N.drop_probability(p, keep_prob, "DropConnectLinear")
        self.generator = _generator(kwargs.get("generator"), "DropConnectLinear")

    def forward(self, x: Any) -> Tensor:
        w = N.drop_connect(self.weight, self.p, self.training, generator=self.generator)
        return linear(x, w, self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}"


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "AlphaDropout", "GaussianDropout",
           "GaussianNoise", "DropConnectLinear"]
