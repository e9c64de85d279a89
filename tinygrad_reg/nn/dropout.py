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
from ..ops.shape import embedding
from ..regularization import noise as N
from ..regularization import sequence as S
from .layers import Embedding, Linear
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


class LockedDropout(_DropoutBase):
    """Variational dropout (Gal & Ghahramani 2016) on a sequence (T, N, ...) — (N, T, ...) with
    ``batch_first=True`` — while training: one mask per sequence, shared by every time step,
    out[t] = x[t] ⊙ m / (1 - p). ``LockedDropout(p=0.5, batch_first=False)``. See
    :func:`tinygrad_reg.regularization.locked_dropout`."""

    def __init__(self, p: float | None = None, batch_first: bool = False, *,
                 keep_prob: float | None = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__(p, keep_prob=keep_prob, generator=generator)
        self.batch_first = bool(batch_first)

    def forward(self, x: Tensor) -> Tensor:
        return S.locked_dropout(x, self.p, self.training, batch_first=self.batch_first,
                                generator=self.generator)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", batch_first=True" if self.batch_first else "")


class DropPath(Module):
    """Stochastic depth (Huang et al. 2016) while training, as torchvision's
    ``StochasticDepth(p, mode)``: ``x + DropPath(p)(branch(x))`` drops the branch for a
    fraction p of the samples (mode "row") or of the batches (mode "batch") and scales the
    rest by 1/(1 - p). See :func:`tinygrad_reg.regularization.drop_path`."""

    is_dropout = True

    def __init__(self, p: float, mode: str = "row", *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        S.drop_path(Tensor(np.zeros(1)), p, training=False, mode=mode)  # validates p and mode
        self.p = float(p)
        self.mode = mode
        self.generator = _generator(generator, "DropPath")

    def forward(self, x: Tensor) -> Tensor:
        return S.drop_path(x, self.p, self.training, self.mode, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class Zoneout(Module):
    """``Zoneout(p)``: ``zoneout(prev, new)`` keeps each unit of the previous recurrent state
    with probability p while training, and gives p·prev + (1 - p)·new in eval mode (Krueger
    et al. 2017); ``p`` may be (p_h, p_c) for an LSTM state [h; c]. Use it between the steps
    of a cell (``h = zoneout(h, cell(x_t, h))``), or give ``zoneout=`` to nn.LSTM/GRU/RNN.
    See :func:`tinygrad_reg.regularization.zoneout`."""

    def __init__(self, p: Any, *, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        S._zoneout_rates(p, len(p) if isinstance(p, (tuple, list)) else 1)  # validates p
        self.p = tuple(p) if isinstance(p, (tuple, list)) else float(p)
        self.generator = _generator(generator, "Zoneout")

    def forward(self, prev: Tensor, new: Tensor) -> Tensor:
        return S.zoneout(prev, new, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class EmbeddingDropout(Embedding):
    """An :class:`Embedding` whose rows are dropped while training (embedding dropout, Gal &
    Ghahramani 2016, Merity et al. 2017): each word of the vocabulary is dropped with
    probability p (every occurrence of it embeds to zeros) and the kept rows are scaled by
    1/(1 - p). ``EmbeddingDropout(num_embeddings, embedding_dim, padding_idx=None, *, p=0.1)``;
    its state_dict is an Embedding's (``weight``). See
    :func:`tinygrad_reg.regularization.embedding_dropout`."""

    is_dropout = True

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 *, p: float | None = None, keep_prob: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(num_embeddings, embedding_dim, padding_idx, **kwargs)
        self.p = N.drop_probability(p, keep_prob, "EmbeddingDropout", default=0.1)
        self.generator = _generator(kwargs.get("generator"), "EmbeddingDropout")

    def forward(self, index: Any) -> Tensor:
        w = S.embedding_dropout(self.weight, self.p, self.training, generator=self.generator)
        return embedding(index, w, self.padding_idx)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}"


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "AlphaDropout", "GaussianDropout",
           "GaussianNoise", "DropConnectLinear", "LockedDropout", "DropPath", "Zoneout",
           "EmbeddingDropout"]
