"""Layers: Linear (one fused graph node), the activations, Dropout and Flatten."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._guard import prepare_inplace
from .._tensor import Tensor
from ..ops import activation as A
from ..ops.linalg import linear
from ..ops.shape import _padding_index, embedding, flatten
from ..random import resolve
from . import init as _init
from .module import Module, Parameter


def _float_dtype(dtype: Any, device: Any, where: str) -> np.dtype:
    """A layer's parameter dtype (float32 unless given) and its device (the CPU only)."""
    if device is not None and str(device) != "cpu" and not str(device).startswith("cpu:"):
        raise ValueError(f"{where}: tinygrad_reg runs on the CPU with numpy; device "
                         f"{str(device)!r} is not available (use 'cpu')")
    dt = np.dtype(np.float32 if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"{where}: dtype must be a float type (float32 or float64), got {dt}")
    return dt


def _positive_int(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x @ weight.T + bias, with ``weight`` of shape (out_features, in_features) (the
    tutorial's ``W[l]``) and ``bias`` of shape (out_features,).

    ``Linear(in_features, out_features, bias=True, device=None, dtype=None)``, PyTorch's
    arguments and defaults. The forward pass is ONE graph node (the ``Linear`` op), not a
    transpose, a product and an addition: a third of the Python overhead per layer. ``x`` is
    (..., in_features).

    Initial values (:meth:`reset_parameters`): PyTorch's, weight and bias from
    U(-1/√in_features, 1/√in_features) (``kaiming_uniform_`` with a = √5). ``init``: another
    initialiser for the weight, a name from :data:`tinygrad_reg.nn.init.INITIALISERS` ("he"
    — He/kaiming normal, "xavier_uniform", "xavier_normal", "scaled_normal" — the
    tutorial's randn·0.01) or a callable ``fn(shape, *, generator, dtype) -> ndarray``; the
    bias then starts at zero, as the tutorial's ``b = 0``. ``generator``: the
    ``np.random.Generator`` the values are drawn from (default: the package generator).
    ``dtype``: float32 (the default, as PyTorch) or float64, for both parameters.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, *,
                 init: str | _init.Initialiser = "pytorch",
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        dt = _float_dtype(dtype, device, "Linear")
        _init.get(init)  # an unknown name fails here
        self._init = init
        self._generator = generator
        w, b = self._initial_values(dt, bias)
        self.weight = Parameter(w)
        self.bias = Parameter(b) if bias else None

    def _initial_values(self, dt: np.dtype, bias: bool) -> tuple[np.ndarray, Any]:
        fn = _init.get(self._init)
        shape = (self.out_features, self.in_features)
        w = np.asarray(fn(shape, generator=self._generator, dtype=dt))
        if w.shape != shape:
            raise ValueError(f"Linear: the initialiser {self._init!r} returned shape {w.shape}, "
                             f"expected {shape}")
        if not bias:
            return w.astype(dt, copy=False), None
        b = (_init.bias_uniform(self.out_features, self.in_features, generator=self._generator,
                                dtype=dt)
             if fn is _init.fan_in_uniform else np.zeros(self.out_features, dtype=dt))
        return w.astype(dt, copy=False), b

    def reset_parameters(self) -> None:
        """Draw the initial values again, in place (see the class docstring); PyTorch's
        ``reset_parameters``."""
        w, b = self._initial_values(self.weight._data.dtype, self.bias is not None)
        np.copyto(prepare_inplace(self.weight), w)
        if b is not None:
            np.copyto(prepare_inplace(self.bias), b)

    def forward(self, x: Any) -> Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        dt = "" if self.weight.dtype == np.float32 else f", dtype={self.weight.dtype}"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}{dt}")


class ReLU(Module):
    """max(x, 0), with relu'(0) = 0."""

    def forward(self, x: Tensor) -> Tensor:
        return A.relu(x)


class Sigmoid(Module):
    """1 / (1 + e⁻ˣ), never overflowing. (For a final layer feeding a binary cross-entropy,
    prefer logits and ``binary_cross_entropy_with_logits``.)"""

    def forward(self, x: Tensor) -> Tensor:
        return A.sigmoid(x)


class Tanh(Module):
    """tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return A.tanh(x)


class Identity(Module):
    """Returns its input (PyTorch's ``nn.Identity``; extra arguments are accepted and
    ignored)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class _Activation(Module):
    """A module around one activation function; keyword options are its arguments."""

    fn: Any = None
    options: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        names = self.options
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}: takes at most {len(names)} arguments "
                            f"({', '.join(names) or 'none'}), got {len(args)}")
        values = dict(zip(names, args))
        kwargs.pop("inplace", None)  # PyTorch's memory option: nothing to save here
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}; it "
                            f"takes {list(names)}")
        values.update(kwargs)
        self._options = values
        type(self).fn(Tensor(np.zeros(1)), **values)  # validate now, not at the first call

    def forward(self, x: Tensor) -> Tensor:
        return type(self).fn(x, **self._options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._options.items())


def _activation(name: str, fn: Any, options: tuple[str, ...], doc: str) -> type:
    return type(name, (_Activation,), {"fn": staticmethod(fn), "options": options,
                                       "__doc__": doc, "__module__": __name__})


LeakyReLU = _activation("LeakyReLU", A.leaky_relu, ("negative_slope",),
                        "``nn.LeakyReLU(negative_slope=0.01)``: see "
                        ":func:`~tinygrad_reg.ops.activation.leaky_relu`.")
ELU = _activation("ELU", A.elu, ("alpha",), "``nn.ELU(alpha=1.0)``.")
CELU = _activation("CELU", A.celu, ("alpha",), "``nn.CELU(alpha=1.0)``.")
SELU = _activation("SELU", A.selu, (), "``nn.SELU()``: with SELU's constants.")
GELU = _activation("GELU", A.gelu, ("approximate",),
                   '``nn.GELU(approximate="none")`` (or "tanh").')
SiLU = _activation("SiLU", A.silu, (), "``nn.SiLU()``: x · σ(x).")
Mish = _activation("Mish", A.mish, (), "``nn.Mish()``: x · tanh(softplus(x)).")
Softplus = _activation("Softplus", A.softplus, ("beta", "threshold"),
                       "``nn.Softplus(beta=1.0, threshold=20.0)``.")
Softsign = _activation("Softsign", A.softsign, (), "``nn.Softsign()``: x / (1 + |x|).")
Hardtanh = _activation("Hardtanh", A.hardtanh, ("min_val", "max_val"),
                       "``nn.Hardtanh(min_val=-1.0, max_val=1.0)``.")
ReLU6 = _activation("ReLU6", A.relu6, (), "``nn.ReLU6()``: min(max(x, 0), 6).")
Hardsigmoid = _activation("Hardsigmoid", A.hardsigmoid, (), "``nn.Hardsigmoid()``.")
Hardswish = _activation("Hardswish", A.hardswish, (), "``nn.Hardswish()``.")
LogSigmoid = _activation("LogSigmoid", A.logsigmoid, (), "``nn.LogSigmoid()``: log σ(x).")


class Softmax(Module):
    """``nn.Softmax(dim)``: softmax along ``dim`` (PyTorch requires it; the last dim if None)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return A.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """``nn.LogSoftmax(dim)``: log softmax along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        return A.log_softmax(x, self.dim)


class Softmin(Softmax):
    """``nn.Softmin(dim)``: softmax of -x along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        return A.softmin(x, self.dim)


class Embedding(Module):
    """``nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)``: a lookup table
    ``weight`` (num_embeddings, embedding_dim) drawn from N(0, 1) as PyTorch; integer input
    of any shape gives (..., embedding_dim). The row ``padding_idx`` starts at zero and never
    gets a gradient; a negative ``padding_idx`` counts from the end and is stored as such
    (-1 becomes num_embeddings - 1, as PyTorch). An index outside [0, num_embeddings),
    negative ones included, is an IndexError (PyTorch's too)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 *, generator: np.random.Generator | None = None,
                 dtype: Any = np.float32, _weight: Any = None, _freeze: bool = False) -> None:
        super().__init__()
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim", "Embedding")
        padding_idx = _padding_index("Embedding", padding_idx, self.num_embeddings)
        self.padding_idx = padding_idx
        if _weight is not None:  # (PyTorch's private argument: a given weight, not drawn)
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if w.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: shape of weight {w.shape} does not match "
                                 f"num_embeddings and embedding_dim "
                                 f"{(num_embeddings, embedding_dim)}")
            self.weight = Parameter(w)
            self.weight.requires_grad_(not _freeze)
            return
        dt = np.dtype(dtype)
        w = resolve(generator).standard_normal((num_embeddings, embedding_dim)).astype(dt)
        if padding_idx is not None:
            w[padding_idx] = 0.0
        self.weight = Parameter(w)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (a 2-D float tensor or array of shape
        (num_embeddings, embedding_dim), shared, not copied, as PyTorch's
        ``Embedding.from_pretrained``), frozen (``requires_grad=False``) unless
        ``freeze=False``. The ``padding_idx`` row keeps its values and gets no gradient.
        ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are not supported here."""
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding.from_pretrained: max_norm, scale_grad_by_freq "
                                      "and sparse are not supported; leave them at their "
                                      "defaults")
        weight = embeddings._data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if weight.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings parameter is expected to "
                             f"be 2-dimensional, got shape {weight.shape}")
        if weight.dtype.kind != "f":
            raise TypeError(f"Embedding.from_pretrained: embeddings must be floating-point, "
                            f"got dtype {weight.dtype}")
        rows, dim = weight.shape
        return cls(rows, dim, padding_idx, _weight=weight, _freeze=freeze)

    def forward(self, index: Any) -> Tensor:
        return embedding(index, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Flatten(Module):
    """Merge dims ``start_dim`` … ``end_dim`` into one: (N, C, H, W) -> (N, C·H·W) with the
    defaults (start_dim=1, end_dim=-1); a 0-d input gives shape (1,), as PyTorch."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim == 0:
            if self.start_dim not in (0, -1) or self.end_dim not in (0, -1):
                raise ValueError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} "
                                 f"do not fit a 0-d input")
            return x.reshape(1)
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (the reverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        d = self.dim % x.ndim
        return x.reshape(*x.shape[:d], *self.unflattened_size, *x.shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


__all__ = ["Linear", "Identity", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "CELU", "SELU",
           "GELU", "SiLU", "Mish", "Softplus", "Softsign", "Hardtanh", "ReLU6", "Hardsigmoid",
           "Hardswish", "LogSigmoid", "Softmax", "LogSoftmax", "Softmin", "Flatten",
           "Unflatten", "Embedding"]
