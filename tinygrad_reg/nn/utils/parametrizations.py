"""Weight normalisation and spectral normalisation as parametrizations, PyTorch's
``torch.nn.utils.parametrizations.weight_norm`` and ``spectral_norm`` (same keys, same values):

    weight_norm:    w = g · v / ‖v‖          (norm over every dim but ``dim``; Salimans &
                                               Kingma 2016), g = original0, v = original1
    spectral_norm:  w = W / σ(W),  σ(W) ≈ uᵀ W v  (Miyato et al. 2018), W = original,
                    u, v from power iteration on W viewed as a matrix (rows: dim ``dim``)

Gradients flow through g and v (weight_norm) and through W in both W and σ(W) = uᵀ W v
(spectral_norm, with u and v held constant, as PyTorch).
"""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...autograd import no_grad
from ...errors import ArgumentError
from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..module import Module
from . import parametrize


def _norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    """‖v‖₂ over every dim but ``dim``, keeping dims (PyTorch's ``norm_except_dim``; a
    0-d tensor of the whole norm for dim None or -1)."""
    if dim is None or dim == -1:
        return v.norm(2)
    axes = tuple(a for a in range(v.ndim) if a != dim)
    return v.norm(2, dim=axes, keepdim=True) if axes else v.abs()


class _WeightNorm(Module):
    """w = g · v / ‖v‖ (the norm over every dim but ``dim``); right_inverse splits a weight
    into g = ‖w‖ (shape 1 except along ``dim``) and v = w."""

    def __init__(self, dim: int | None) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as g · v / ‖v‖ (PyTorch's
    ``parametrizations.weight_norm``): ``parametrizations.<name>.original0`` is g (the norm
    over every dim but ``dim``, kept as size-1 dims; a 0-d tensor for ``dim=None``),
    ``original1`` is v. Both start from the current weight, so the module computes the same
    as before. Returns ``module``."""
    _check_name(module, name, "weight_norm")
    weight = getattr(module, name)
    if dim is not None and not -weight.ndim <= dim < weight.ndim:
        raise ArgumentError(f"weight_norm: dim {dim} is out of range for {name} of shape "
                            f"{weight.shape}")
    if dim is not None and dim < -1:
        dim += weight.ndim
    return parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


def _check_name(module: Module, name: str, what: str) -> None:
    if not isinstance(module, Module):
        raise TypeError(f"{what}: expected a Module, got {type(module).__name__}")
    if name not in module._parameters and name not in module._buffers:
        raise ValueError(f"{what}: Module '{type(module).__name__}' has no parameter or buffer "
                         f"with name '{name}'")


def _normalize(x: Tensor, eps: float) -> Tensor:
    """x / max(‖x‖, eps) (F.normalize of a vector)."""
    return x / x.norm(2).clamp(min=eps)


class _SpectralNorm(Module):
    """W / σ(W) with σ(W) = uᵀ W v, u and v (buffers ``_u``, ``_v``) refined by
    ``n_power_iterations`` steps of power iteration at every forward while training:
    u ← normalize(W v), v ← normalize(Wᵀ u). A 1-d weight is just normalized."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise ArgumentError(f"spectral_norm: dim must be in [-{ndim}, {ndim - 1}], got "
                                f"{dim}")
        if n_power_iterations <= 0:
            raise ArgumentError(f"spectral_norm: expected n_power_iterations to be positive, "
                                f"got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = float(eps)
        if ndim > 1:
            self.n_power_iterations = int(n_power_iterations)
            with no_grad():
                mat = self._matrix(weight)
                h, w = mat.shape
                rng = generator if generator is not None else np.random.default_rng()
                dt = weight.dtype
                self.register_buffer("_u", _normalize(Tensor(
                    rng.standard_normal(h).astype(dt)), self.eps))
                self.register_buffer("_v", _normalize(Tensor(
                    rng.standard_normal(w).astype(dt)), self.eps))
                self._power_method(mat, 15)

    def _matrix(self, weight: Tensor) -> Tensor:
        """The weight as a matrix: ``dim`` first, the rest flattened."""
        if self.dim != 0:
            weight = weight.permute(self.dim, *(a for a in range(weight.ndim) if a != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, mat: Tensor, n: int) -> None:
        # in place, so that tg.jit replays the buffers' update
        with no_grad():
            for _ in range(n):
                self._u.copy_(_normalize(mat @ self._v, self.eps))
                self._v.copy_(_normalize(mat.mT @ self._u, self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return _normalize(weight, self.eps)
        mat = self._matrix(weight)
        if self.training:
            self._power_method(mat.detach(), self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None, *,
                  generator: np.random.Generator | None = None) -> Module:
    """Reparametrize ``module.<name>`` as W / σ(W), σ the largest singular value of W seen as
    a (size along ``dim``) × (the rest) matrix, estimated by power iteration (PyTorch's
    ``parametrizations.spectral_norm``). ``parametrizations.<name>.original`` is W; the
    buffers ``parametrizations.<name>.0._u`` and ``._v`` hold the singular vectors: drawn from
    a normal (``generator``), refined by 15 iterations here, then by ``n_power_iterations``
    at each forward in training mode; eval mode uses them as they are. ``dim``: 1 for
    ConvTranspose modules, else 0, by default. Returns ``module``."""
    _check_name(module, name, "spectral_norm")
    weight = getattr(module, name)
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    sn = _SpectralNorm(weight, n_power_iterations, dim, eps, generator)
    return parametrize.register_parametrization(module, name, sn)


__all__ = ["weight_norm", "spectral_norm"]

