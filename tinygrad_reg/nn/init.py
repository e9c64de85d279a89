"""Weight initialisers: each is ``fn(shape, *, generator=None, dtype=np.float32) -> ndarray``,
a fresh array drawn from ``generator`` (an ``np.random.Generator``; without one, the package
generator that :func:`tinygrad_reg.manual_seed` seeds).

They return arrays rather than filling tensors in place, so the same function serves a
``Linear(init=...)``, a hand-built ``Parameter(he_normal((out, in)))`` and a plain numpy
experiment. ``Linear(init=name)`` accepts the names in :data:`INITIALISERS`, or any callable
with this signature (e.g. ``functools.partial(scaled_normal, std=0.1)``).

For a weight of shape (out, in) (or (out, in, *receptive field)): fan_in = in · receptive
field, fan_out = out · receptive field, as in PyTorch.

==================  ==========================================  ============================
``fan_in_uniform``  U(-1/√fan_in, 1/√fan_in); the name          PyTorch's default for Linear
                    ``"pytorch"``; Linear's and Conv's default  and Conv (kaiming_uniform_
                                                                with a = √5)
``he_normal``       N(0, 2 / fan_in)                            He et al. 2015 (kaiming),
                                                                keeps ReLU activations' scale
``xavier_uniform``  U(-a, a), a = √(6 / (fan_in + fan_out))     Glorot & Bengio 2010
``xavier_normal``   N(0, 2 / (fan_in + fan_out))                Glorot & Bengio 2010
``scaled_normal``   N(0, std²), std = 0.01 by default           the tutorial's randn · 0.01
==================  ==========================================  ============================

PyTorch's in-place forms fill a tensor and return it, with PyTorch's arguments:
``kaiming_uniform_(w, a=0, mode="fan_in", nonlinearity="leaky_relu")``, ``kaiming_normal_``,
``xavier_uniform_(w, gain=1.0)``, ``xavier_normal_``, ``normal_(w, mean, std)``,
``uniform_(w, a, b)``, ``constant_``, ``zeros_``, ``ones_``, ``orthogonal_(w, gain=1)``;
:func:`calculate_gain`. Each also
takes ``generator=``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..random import resolve

Initialiser = Callable[..., np.ndarray]


def _shape(shape: Any, fn: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{fn}: shape must be a tuple of ints, got {shape!r}") from None
    if any(n < 0 for n in dims):
        raise ValueError(f"{fn}: shape must not have negative sizes, got {dims}")
    return dims


def _float_dtype(dtype: Any, fn: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{fn}: dtype must be float32 or float64, got {dt}")
    return dt


def _fans(shape: tuple[int, ...], fn: str) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` (out, in, *receptive field)."""
    if len(shape) < 2:
        raise ValueError(f"{fn}: needs a weight of at least 2 dims (out_features, "
                         f"in_features) to compute fan_in/fan_out, got shape {shape}; use "
                         f"scaled_normal or zeros for a bias")
    receptive = math.prod(shape[2:])
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    if fan_in == 0 or fan_out == 0:
        raise ValueError(f"{fn}: fan_in and fan_out must be positive, got shape {shape}")
    return fan_in, fan_out


def _normal(shape: tuple[int, ...], std: float, generator: Any, dtype: np.dtype) -> np.ndarray:
    out = resolve(generator).standard_normal(shape, dtype=dtype)
    out *= dtype.type(std)
    return out


def he_normal(shape: Any, *, generator: np.random.Generator | None = None,
              dtype: Any = np.float32) -> np.ndarray:
    """Weights from N(0, 2 / fan_in): the He (kaiming) initialisation for ReLU networks, which
    keeps the variance of activations about constant from layer to layer."""
    shape = _shape(shape, "he_normal")
    dt = _float_dtype(dtype, "he_normal")
    fan_in, _ = _fans(shape, "he_normal")
    return _normal(shape, math.sqrt(2.0 / fan_in), generator, dt)


def xavier_normal(shape: Any, *, generator: np.random.Generator | None = None,
                  dtype: Any = np.float32, gain: float = 1.0) -> np.ndarray:
    """Weights from N(0, gain² · 2 / (fan_in + fan_out)): the Glorot initialisation (tanh,
    sigmoid)."""
    shape = _shape(shape, "xavier_normal")
    dt = _float_dtype(dtype, "xavier_normal")
    fan_in, fan_out = _fans(shape, "xavier_normal")
    return _normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator, dt)


def xavier_uniform(shape: Any, *, generator: np.random.Generator | None = None,
                   dtype: Any = np.float32, gain: float = 1.0) -> np.ndarray:
    """Weights from U(-a, a) with a = gain · √(6 / (fan_in + fan_out)) (variance
    gain² · 2/(fan_in+fan_out), the same as :func:`xavier_normal`)."""
    shape = _shape(shape, "xavier_uniform")
    dt = _float_dtype(dtype, "xavier_uniform")
    fan_in, fan_out = _fans(shape, "xavier_uniform")
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    out = resolve(generator).random(shape, dtype=dt)  # U[0, 1), drawn in the target dtype
    out *= dt.type(2.0 * a)
    out -= dt.type(a)
    return out


def scaled_normal(shape: Any, std: float = 0.01, *, generator: np.random.Generator | None = None,
                  dtype: Any = np.float32) -> np.ndarray:
    """Weights from N(0, std²): the tutorial's ``np.random.randn(n_out, n_in) * 0.01``.
    Small enough for a shallow net; in deep ReLU nets the signal shrinks by about
    std·√fan_in per layer, which is why :func:`he_normal` is the default."""
    shape = _shape(shape, "scaled_normal")
    dt = _float_dtype(dtype, "scaled_normal")
    if isinstance(std, bool) or not isinstance(std, (int, float, np.number)) or not (
            math.isfinite(std) and std >= 0):
        raise ValueError(f"scaled_normal: std must be a finite number >= 0, got {std!r}")
    return _normal(shape, float(std), generator, dt)


def fan_in_uniform(shape: Any, *, generator: np.random.Generator | None = None,
                   dtype: Any = np.float32) -> np.ndarray:
    """Weights from U(-1/√fan_in, 1/√fan_in): PyTorch's default for ``nn.Linear`` and
    ``nn.Conv*d`` weights (``kaiming_uniform_`` with a = √5) and their biases (for a bias,
    give the weight's shape's fan_in through a shape (out, in, *kernel) and take row 0)."""
    shape = _shape(shape, "fan_in_uniform")
    dt = _float_dtype(dtype, "fan_in_uniform")
    fan_in, _ = _fans(shape, "fan_in_uniform")
    bound = 1.0 / math.sqrt(fan_in)
    out = resolve(generator).random(shape, dtype=dt)
    out *= dt.type(2.0 * bound)
    out -= dt.type(bound)
    return out


def bias_uniform(n: int, fan_in: int, *, generator: np.random.Generator | None = None,
                 dtype: Any = np.float32) -> np.ndarray:
    """A bias of ``n`` values from U(-1/√fan_in, 1/√fan_in): PyTorch's default bias of
    ``nn.Linear`` and ``nn.Conv*d`` (``fan_in`` is the weight's: in_features, or
    in_channels/groups · kernel size). Drawn in float64, then converted to ``dtype``."""
    dt = _float_dtype(dtype, "bias_uniform")
    bound = 1.0 / math.sqrt(fan_in)
    return resolve(generator).uniform(-bound, bound, n).astype(dt)


INITIALISERS: dict[str, Initialiser] = {
    "he": he_normal, "he_normal": he_normal, "kaiming": he_normal, "kaiming_normal": he_normal,
    "xavier_uniform": xavier_uniform, "glorot_uniform": xavier_uniform,
    "xavier_normal": xavier_normal, "glorot_normal": xavier_normal,
    "scaled_normal": scaled_normal, "fan_in_uniform": fan_in_uniform,
    "pytorch": fan_in_uniform,
}


def get(init: str | Initialiser) -> Initialiser:
    """The initialiser called ``init`` (a key of :data:`INITIALISERS`), or ``init`` itself if
    it is callable."""
    if callable(init):
        return init
    if isinstance(init, str) and init in INITIALISERS:
        return INITIALISERS[init]
    raise ValueError(f"unknown initialiser {init!r}; use one of {sorted(INITIALISERS)} or a "
                     f"callable fn(shape, *, generator, dtype) -> ndarray")


# -- PyTorch's in-place spelling: nn.init.xavier_uniform_(layer.weight) ------------------------

def _fill(tensor: Any, values: np.ndarray) -> Any:
    from ..autograd import no_grad

    with no_grad():
        tensor.copy_(values)
    return tensor


def _like(tensor: Any, fn: Initialiser, generator: Any, **kw: Any) -> Any:
    return _fill(tensor, fn(tensor.shape, generator=generator, dtype=tensor.dtype, **kw))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity: 1 for linear, conv and sigmoid, 5/3 for
    tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (``param`` is the slope, 0.01 by
    default), 3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        else:
            slope = param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
                     f"{', '.join(linear)}, tanh, relu, leaky_relu, selu")


def _fan(tensor: Any, mode: str, fn: str) -> int:
    fan_in, fan_out = _fans(tuple(tensor.shape), fn)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def kaiming_normal_(tensor: Any, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *,
                    generator: np.random.Generator | None = None) -> Any:
    """Fill ``tensor`` in place from N(0, std²), std = gain / √fan, gain =
    :func:`calculate_gain` (nonlinearity, a) (PyTorch's defaults: √2 / √fan_in, the He
    initialisation :func:`he_normal`); returns it."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_normal_"))
    dt = np.dtype(tensor.dtype)
    return _fill(tensor, _normal(tuple(tensor.shape), std, generator, dt))


def kaiming_uniform_(tensor: Any, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", *,
                     generator: np.random.Generator | None = None) -> Any:
    """Fill ``tensor`` in place from U(-bound, bound), bound = √3 · gain / √fan (PyTorch's
    arithmetic; the defaults give √(6/fan_in)). ``a = √5`` gives U(±1/√fan_in): PyTorch's
    default for Linear and Conv weights (:func:`fan_in_uniform`). Returns it."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_uniform_"))
    bound = math.sqrt(3.0) * std
    return _fill(tensor, resolve(generator).uniform(-bound, bound, tuple(tensor.shape)))


def xavier_uniform_(tensor: Any, gain: float = 1.0, *,
                    generator: np.random.Generator | None = None) -> Any:
    """Fill ``tensor`` in place from :func:`xavier_uniform` (times ``gain``); returns it."""
    return _like(tensor, xavier_uniform, generator, gain=gain)


def xavier_normal_(tensor: Any, gain: float = 1.0, *,
                   generator: np.random.Generator | None = None) -> Any:
    """Fill ``tensor`` in place from :func:`xavier_normal` (times ``gain``); returns it."""
    return _like(tensor, xavier_normal, generator, gain=gain)


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, *,
            generator: np.random.Generator | None = None) -> Any:
    """Fill ``tensor`` in place from N(mean, std²); returns it (``tensor.normal_``)."""
    from ..autograd import no_grad

    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0, *,
             generator: np.random.Generator | None = None) -> Any:
    """Fill ``tensor`` in place from U(a, b); returns it (``tensor.uniform_``)."""
    from ..autograd import no_grad

    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def constant_(tensor: Any, val: float) -> Any:
    """Fill ``tensor`` in place with ``val``; returns it."""
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor: Any) -> Any:
    """Fill ``tensor`` in place with zeros; returns it."""
    return constant_(tensor, 0.0)


def ones_(tensor: Any) -> Any:
    """Fill ``tensor`` in place with ones; returns it."""
    return constant_(tensor, 1.0)


def orthogonal_(tensor: Any, gain: float = 1.0, *,
                generator: np.random.Generator | None = None) -> Any:
    """Fill ``tensor`` (at least 2 dims; the trailing dims flattened: (rows, cols)) in place
    with a (semi-)orthogonal matrix times ``gain``, as PyTorch's ``orthogonal_`` (Saxe et al.
    2013): Q of the QR decomposition of a standard normal (rows, cols) matrix (of its
    transpose when rows < cols), each column's sign flipped to make diag(R) positive, so Q
    is uniformly distributed. Rows (or columns, whichever are fewer) are orthonormal:
    W Wᵀ = gain²·I or Wᵀ W = gain²·I. Returns it."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {shape}")
    if math.prod(shape) == 0:
        return tensor  # (PyTorch warns and leaves it)
    rows = shape[0]
    cols = math.prod(shape) // rows
    a = resolve(generator).standard_normal((rows, cols))
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(shape))


__all__ = ["he_normal", "xavier_uniform", "xavier_normal", "scaled_normal", "fan_in_uniform",
           "orthogonal_", "bias_uniform", "calculate_gain", "INITIALISERS", "get",
           "kaiming_normal_",
           "kaiming_uniform_", "xavier_uniform_", "xavier_normal_", "normal_", "uniform_",
           "constant_", "zeros_", "ones_"]
