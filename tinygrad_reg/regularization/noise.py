"""Noise as graph ops: the dropout family, DropConnect, Gaussian dropout, alpha dropout and
additive Gaussian noise.

Every one of them is one named node whose random draw (the mask or the noise) is a constant
input of the node, drawn fresh at each call from ``generator`` (an ``np.random.Generator``) or
the package generator that :func:`tinygrad_reg.manual_seed` seeds. Each is the identity with
``training=False`` (no node, no draw); the layers of :mod:`tinygrad_reg.nn` pass their
``training`` flag, so ``model.eval()`` makes test-time noise impossible. ``p`` is the
probability of dropping (PyTorch's word); ``keep_prob = 1 - p`` (the tutorial's) is accepted
wherever ``p`` is.

Each op is linear in x for a fixed draw, so its backward is the same kind of op applied to the
upstream gradient: differentiable any number of times.
"""

from __future__ import annotations

import functools
import math
import sys
import warnings
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function, wrap
from ..autograd.modes import TRACE, mode
from ..ops import onnx_rules
from ..ops.jit_rules import Lowered
from ..ops.numerics import SELU_ALPHA, SELU_SCALE
from ..random import resolve
from ..trace import record

ALPHA_PRIME = -SELU_ALPHA * SELU_SCALE  # the value a dropped unit takes: SELU's limit at -inf


# -- the ops ----------------------------------------------------------------------------------

class Dropout(Function):
    """Inverted dropout with a given bool ``mask`` (True = kept) and drop probability ``p``.

    out = x · mask / (1 - p)        dx = grad · mask / (1 - p),  mask gets no gradient.

    The mask may be smaller than x and broadcast (one value per channel: :class:`Dropout1d`,
    :class:`Dropout2d`). The op is linear and diagonal in x, so its backward is the same op
    applied to ``grad`` with the same mask: differentiable any number of times. The mask is
    an input of the node (a bool constant named "mask": one byte per unit, kept by reference,
    never a float copy). p = 1 gives zeros forward and zero gradients (no division by zero).
    Use :func:`dropout`, which draws the mask.
    """
    kind = "regularization"
    to_onnx = onnx_rules.first_input  # eval mode: the identity

    @staticmethod
    def forward(ctx, x, mask, p):
        ctx.save_for_backward(mask)
        keep = 1.0 - p
        if keep == 0.0:
            return np.zeros_like(x)
        out = np.multiply(x, mask)
        out /= keep  # the tutorial's x * D / keep_prob, in place: no second temporary
        return out

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return ctx.fn.apply(grad, mask, p=ctx.attrs["p"]), None  # the same op: Dropout2d...

    @staticmethod
    def lower(ins, out, attrs):
        # forward: np.multiply(x, mask), then /= keep (a Python float, as here)
        keep = 1.0 - attrs["p"]
        if keep == 0.0:
            return None
        return Lowered(("multiply({i0}, {i1}, out={o})", "true_divide({o}, {c0}, out={o})"),
                       consts=(keep,), inplace=(0,))


class Dropout1d(Dropout):
    """:class:`Dropout` with one mask value per (example, channel) of (N, C, L): whole
    channels are dropped (PyTorch's ``dropout1d``)."""


class Dropout2d(Dropout):
    """:class:`Dropout` with one mask value per (example, channel) of (N, C, H, W): whole
    feature maps are dropped (PyTorch's ``dropout2d``; Tompson et al. 2015)."""


class DropConnect(Dropout):
    """:class:`Dropout` applied to a weight instead of an activation (Wan et al. 2013): each
    connection is dropped with probability p and the kept ones scaled by 1/(1 - p), so the
    expected weight, and the expected output of a linear layer, is unchanged."""


class GaussianDropout(Function):
    """Multiplicative Gaussian noise (Srivastava et al. 2014, section 10):
    out = x · ε with ε ~ N(1, σ²), σ² = p / (1 - p) per element (the variance of inverted
    dropout's factor mask/(1 - p)); ε is a constant input named "noise".
    dx = grad · ε."""
    kind = "regularization"
    to_onnx = onnx_rules.first_input  # eval mode: the identity

    @staticmethod
    def forward(ctx, x, noise, p):
        ctx.save_for_backward(noise)
        return x * noise

    @staticmethod
    def backward(ctx, grad):
        (noise,) = ctx.saved_tensors
        return GaussianDropout.apply(grad, noise, p=ctx.attrs["p"]), None


class AlphaDropout(Function):
    """Alpha dropout (Klambauer et al. 2017), PyTorch's semantics: a dropped unit is set to
    α' = -λα (SELU's value at -∞) instead of 0, then an affine map restores the mean and the
    variance of a standard-normal input:

    out = a · (x · mask + α' · (1 - mask)) + b,   a = ((1 - p)(1 + p α'²))^(-1/2),
    b = -a α' p.        dx = grad · a · mask.

    ``mask`` (bool, True = kept) is a constant input. 0 ≤ p < 1 here (p = 1 is zeros, made
    by :func:`alpha_dropout` without this node)."""
    kind = "regularization"
    to_onnx = onnx_rules.first_input  # eval mode: the identity

    @staticmethod
    def forward(ctx, x, mask, p):
        ctx.save_for_backward(mask)
        a, b = _alpha_affine(p)
        out = np.where(mask, x, np.asarray(ALPHA_PRIME, dtype=x.dtype))
        out *= a
        out += b
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # grad · a · mask = Dropout(grad, mask) · a(1 - p): an op of the family, differentiable
        p = ctx.attrs["p"]
        a, _ = _alpha_affine(p)
        (mask,) = ctx.saved_tensors
        return Dropout.apply(grad, mask, p=p) * (a * (1.0 - p)), None


class GaussianNoise(Function):
    """Additive Gaussian noise: out = x + σ·ε, ε ~ N(0, 1) per element (a constant input
    named "noise", already scaled by ``std`` = σ).   dx = grad."""
    kind = "regularization"
    to_onnx = onnx_rules.first_input  # eval mode: the identity

    @staticmethod
    def forward(ctx, x, noise, std):
        return x + noise

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _alpha_affine(p: float) -> tuple[float, float]:
    a = 1.0 / math.sqrt((1.0 - p) * (1.0 + p * ALPHA_PRIME * ALPHA_PRIME))
    return a, -a * ALPHA_PRIME * p


# -- arguments ----------------------------------------------------------------------------

def _probability(value: Any, name: str, fn: str) -> float:
    """``value`` as a float in [0, 1], or ValueError naming it."""
    if type(value) is float and 0.0 <= value <= 1.0:  # the usual case, checked first and fast
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{fn}: {name} must be a number in [0, 1], got {value!r}")
    v = float(value)
    if not 0.0 <= v <= 1.0:  # also rejects NaN
        raise ValueError(f"{fn}: {name} must be in [0, 1], got {value!r}")
    return v


def drop_probability(p: Any = None, keep_prob: Any = None, fn: str = "dropout",
                     default: float = 0.5) -> float:
    """The drop probability from PyTorch's ``p`` or the tutorial's ``keep_prob`` (at most one;
    neither means ``default``), validated; ``fn`` names the caller in errors.

    keep_prob is turned into p = 1 - keep_prob written short when that is exact
    (keep_prob=0.8 gives p=0.2, not 0.19999999999999996), so graphs read well and 1 - p gives
    back exactly keep_prob.
    """
    if p is not None and keep_prob is not None:
        raise ValueError(f"{fn}: give p (probability of dropping) or keep_prob (probability "
                         f"of keeping), not both; got p={p!r}, keep_prob={keep_prob!r}")
    if keep_prob is None:
        return default if p is None else _probability(p, "p", fn)
    keep = _probability(keep_prob, "keep_prob", fn)
    p = 1.0 - keep
    short = float(f"{p:.12g}")
    return short if 1.0 - short == keep else p


def _float_input(x: Any, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating-point tensor, got dtype {x._data.dtype}")
    return x


def _no_inplace(inplace: bool, fn: str) -> None:
    if inplace:
        raise ValueError(f"{fn}: inplace=True is not supported (the op is a node of the graph); "
                         f"write x = {fn}(x, ...) instead")


def _draw_mask(generator: Any, shape: tuple, keep: float) -> np.ndarray:
    """``generator.random(shape, dtype=float32) < keep``: the tutorial's mask, one uniform
    draw per unit (bool, True = kept). Computed without the floats where the generator
    allows it (see :func:`_mask_from_bits`), with the same result and the same stream."""
    if keep == 0.0:
        return np.zeros(shape, dtype=bool)  # everything dropped: nothing to draw
    gen = resolve(generator)
    mask = _mask_from_bits(gen, shape, keep)
    if mask is None:
        mask = np.asarray(gen.random(shape, dtype=np.float32) < keep)  # 0-d too
    return mask


_LITTLE = sys.byteorder == "little"


def _keep_threshold(keep: float) -> int:
    """T such that, for every 24-bit integer k, the float32 uniform k·2⁻²⁴ that numpy makes
    of it satisfies ``uniform < keep`` (as numpy compares a float32 array with ``keep``)
    exactly when k < T. The comparison is monotone in k, so T is found by bisection."""
    return _threshold(type(keep), keep)


@functools.lru_cache(maxsize=256)
def _threshold(kind: type, keep: float) -> int:  # (the type is part of the key: see above)
    lo, hi = 0, 1 << 24
    scale = np.float32(2.0 ** -24)
    while lo < hi:
        mid = (lo + hi) // 2
        if (np.array([mid], dtype=np.float32) * scale < keep)[0]:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _mask_from_bits(gen: np.random.Generator, shape: tuple, keep: float) -> np.ndarray | None:
    """The mask straight from the generator's bits, or None where this path does not apply.

    numpy makes a float32 uniform from the next 32 random bits u as (u >> 8)·2⁻²⁴, and PCG64
    (``default_rng``'s bit generator) serves 32-bit draws as the low then the high half of
    each 64-bit output. So ``random(n, float32) < keep`` equals ``u < T·2⁸`` over the 64-bit
    outputs viewed as 32-bit words, T from :func:`_keep_threshold`: one comparison of
    integers instead of a conversion to floats and a comparison (twice as fast), and the
    generator ends in the same state. Applies to PCG64 with no 32-bit half pending and an
    even number of units; otherwise the caller draws floats. (Like any draw from one
    generator shared by threads, the order of draws between threads is not defined.)"""
    bits = gen.bit_generator
    n = math.prod(shape)
    if type(bits) is not np.random.PCG64 or n % 2 or not n or not _LITTLE:
        return None
    if bits.state["has_uint32"]:
        return None
    return _kept(bits.random_raw(n // 2).view(np.uint32).reshape(shape), keep)


def _kept(words: np.ndarray, keep: float) -> np.ndarray:
    """For 32-bit draws u: whether numpy's float32 uniform (u >> 8)·2⁻²⁴ is < keep."""
    t = _keep_threshold(keep)
    if t == 0:
        return np.zeros(words.shape, dtype=bool)
    return words <= (t << 8) - 1  # (u >> 8) < t, with a bound that fits in 32 bits


def _draw_normal(generator: Any, shape: tuple, dtype: Any, scale: float,
                 shift: float) -> np.ndarray:
    """shift + scale·N(0, 1), drawn in float64 for every dtype (so a seed gives the same
    noise in float32 and float64), as ``dtype``."""
    eps = np.asarray(resolve(generator).standard_normal(shape)).astype(dtype, copy=False)
    if scale != 1.0:
        eps *= scale
    if shift:
        eps += shift
    return eps


def _drawn(draw: Any, args: tuple, name: str) -> Tensor:
    """``draw(*args)`` as a constant named ``name``; a tg.jit trace records the draw as a
    kernel, so that a replay draws afresh from the same generator stream."""
    arr = draw(*args)
    if mode() & TRACE:
        record(functools.partial(draw, *args), (), arr, ("draw", name))
    t = wrap(arr)
    t.name = name
    return t


def _mask(generator: Any, shape: tuple, keep: float) -> Tensor:
    """A bool mask (True = kept with probability ``keep``) as a constant named "mask".
    Float32 uniforms for every input dtype (twice as fast to draw as float64); their 2⁻²⁴
    resolution biases the keep probability by less than 6e-8."""
    return _drawn(_draw_mask, (generator, shape, keep), "mask")


def _noise(generator: Any, shape: tuple, dtype: Any, scale: float, shift: float) -> Tensor:
    return _drawn(_draw_normal, (generator, shape, dtype, scale, shift), "noise")


# -- the functional face ------------------------------------------------------------------

def dropout(x: Tensor, p: float | None = None, training: bool = True, inplace: bool = False,
            *, keep_prob: float | None = None,
            generator: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout: zero each unit with probability ``p`` and scale the kept ones by
    1/(1 - p), so the expected value is unchanged; backward applies the same mask and scale.

    ``p`` is the probability of dropping (PyTorch's word); ``keep_prob`` = 1 - p is the
    tutorial's (the probability of keeping). Give at most one; neither means p = 0.5.
    With p = 0 or ``training=False`` the input itself is returned: no node, no random draw.
    With p = 1 the result is zeros and the gradient is zero.

    The mask is drawn fresh on every call from ``generator`` or the package generator, as
    ``rng.random(x.shape, dtype=float32) < 1 - p``.
    """
    p = drop_probability(p, keep_prob)
    _no_inplace(inplace, "dropout")
    resolve(generator)  # (a bad generator fails here, even when nothing is drawn)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if not training or p == 0.0:
        return x
    x = _float_input(x, "dropout")
    return Dropout.apply(x, _mask(generator, x._data.shape, 1.0 - p), p=p)


def _channel_dropout(op: type, x: Tensor, p: float, training: bool, generator: Any,
                     shape: tuple) -> Tensor:
    resolve(generator)
    if not training or p == 0.0:
        return x
    return op.apply(x, _mask(generator, shape, 1.0 - p), p=p)


def dropout1d(x: Tensor, p: float | None = None, training: bool = True, inplace: bool = False,
              *, keep_prob: float | None = None,
              generator: np.random.Generator | None = None) -> Tensor:
    """Channel dropout on (N, C, L) or (C, L): each channel of each example is zeroed with
    probability ``p`` (the whole length L at once), the kept ones scaled by 1/(1 - p).
    Gradient: the same mask and scale. As PyTorch's ``F.dropout1d``."""
    p = drop_probability(p, keep_prob, "dropout1d")
    _no_inplace(inplace, "dropout1d")
    x = _float_input(x, "dropout1d")
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected an input of shape (N, C, L) or (C, L), got "
                         f"shape {x.shape}")
    shape = x.shape[:-1] + (1,)
    return _channel_dropout(Dropout1d, x, p, training, generator, shape)


def dropout2d(x: Tensor, p: float | None = None, training: bool = True, inplace: bool = False,
              *, keep_prob: float | None = None,
              generator: np.random.Generator | None = None) -> Tensor:
    """Channel dropout on (N, C, H, W): each feature map of each example is zeroed with
    probability ``p``, the kept ones scaled by 1/(1 - p). Gradient: the same mask and scale.

    As PyTorch's ``F.dropout2d``, including its reading of a 3-D input as (N, C, L) (with
    PyTorch's warning; use :func:`dropout1d` for that); inputs of other ranks, which PyTorch
    deprecates, are a ValueError."""
    p = drop_probability(p, keep_prob, "dropout2d")
    _no_inplace(inplace, "dropout2d")
    x = _float_input(x, "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected an input of shape (N, C, H, W), got shape "
                         f"{x.shape} (use dropout for element-wise dropout)")
    if x.ndim == 3:
        warnings.warn("dropout2d: a 3-D input is read as (N, C, L), as PyTorch does: channel-"
                      "wise 1-D dropout; use dropout1d to say so", UserWarning, stacklevel=2)
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    return _channel_dropout(Dropout2d, x, p, training, generator, shape)


def drop_connect(weight: Tensor, p: float | None = None, training: bool = True, *,
                 keep_prob: float | None = None,
                 generator: np.random.Generator | None = None) -> Tensor:
    """DropConnect on a weight: each entry is zeroed with probability ``p`` and the kept ones
    scaled by 1/(1 - p) (a :class:`DropConnect` node), so E[output] of the layer using it
    equals its output with the plain weight (what eval mode uses). Gradient: the same mask and
    scale. Identity with ``training=False`` or p = 0."""
    p = drop_probability(p, keep_prob, "drop_connect")
    w = _float_input(weight, "drop_connect")
    resolve(generator)  # (a bad generator fails here, even when nothing is drawn)
    if not training or p == 0.0:
        return w
    return DropConnect.apply(w, _mask(generator, w._data.shape, 1.0 - p), p=p)


def gaussian_dropout(x: Tensor, p: float | None = None, training: bool = True, *,
                     keep_prob: float | None = None,
                     generator: np.random.Generator | None = None) -> Tensor:
    """Gaussian dropout: x · ε, ε ~ N(1, p/(1 - p)) per element, the same mean and variance as
    inverted dropout's factor (a :class:`GaussianDropout` node; gradient grad · ε). p = 1 is
    an error: the variance p/(1 - p) is infinite. Identity with ``training=False`` or p = 0."""
    p = drop_probability(p, keep_prob, "gaussian_dropout")
    if p == 1.0:
        raise ValueError("gaussian_dropout: p=1 (keep_prob=0) gives the noise an infinite "
                         "variance p/(1 - p); use p < 1")
    x = _float_input(x, "gaussian_dropout")
    resolve(generator)  # (a bad generator fails here, even when nothing is drawn)
    if not training or p == 0.0:
        return x
    noise = _noise(generator, x._data.shape, x._data.dtype, math.sqrt(p / (1.0 - p)), 1.0)
    return GaussianDropout.apply(x, noise, p=p)


def alpha_dropout(x: Tensor, p: float | None = None, training: bool = False,
                  inplace: bool = False, *, keep_prob: float | None = None,
                  generator: np.random.Generator | None = None) -> Tensor:
    """Alpha dropout for SELU networks (an :class:`AlphaDropout` node): dropped units are set
    to α' = -1.7581 and an affine map keeps a standard-normal input's mean 0 and variance 1.
    As PyTorch's ``F.alpha_dropout``, ``training`` defaults to False; p = 1 gives zeros.
    (p defaults to 0.5.)"""
    p = drop_probability(p, keep_prob, "alpha_dropout")
    _no_inplace(inplace, "alpha_dropout")
    x = _float_input(x, "alpha_dropout")
    resolve(generator)  # (a bad generator fails here, even when nothing is drawn)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0  # PyTorch's result: zeros, and a zero gradient
    return AlphaDropout.apply(x, _mask(generator, x._data.shape, 1.0 - p), p=p)


def gaussian_noise(x: Tensor, std: float, training: bool = True, *,
                   generator: np.random.Generator | None = None) -> Tensor:
    """Additive Gaussian noise x + std·ε, ε ~ N(0, 1) per element (a :class:`GaussianNoise`
    node; gradient: grad unchanged). Identity with ``training=False`` or std = 0; std < 0 is
    a ValueError."""
    if isinstance(std, (bool, np.bool_)) or not isinstance(std, (int, float, np.number)) or \
            not math.isfinite(float(std)) or std < 0:
        raise ValueError(f"gaussian_noise: std must be a finite number >= 0, got {std!r}")
    std = float(std)
    x = _float_input(x, "gaussian_noise")
    resolve(generator)  # (a bad generator fails here, even when nothing is drawn)
    if not training or std == 0.0:
        return x
    return GaussianNoise.apply(x, _noise(generator, x._data.shape, x._data.dtype, std, 0.0),
                               std=std)


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "DropConnect", "GaussianDropout",
           "AlphaDropout", "GaussianNoise", "ALPHA_PRIME", "drop_probability", "dropout",
           "dropout1d", "dropout2d", "drop_connect", "gaussian_dropout", "alpha_dropout",
           "gaussian_noise"]
