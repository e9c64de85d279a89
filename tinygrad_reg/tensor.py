"""Tensor: an ndarray, its gradient, and the op node that made it.

The Tensor knows no op by name. Its operators and methods look the op up in ``OPS``,
the thin operator table that :mod:`tinygrad_reg.ops` fills when it is imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# name -> function(Tensor, ...) -> Tensor; filled by tinygrad_reg.ops at import time.
OPS: dict[str, Any] = {}

_GRAD_KINDS = "fc"  # only floating (and complex) arrays can carry a gradient


def to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """The dtype policy in one place.

    A numpy array (or numpy scalar) keeps its dtype; Python scalars and (nested) lists of
    numbers become float32, as in PyTorch; Python bools stay bool. ``dtype`` overrides.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        return arr if dtype is None else arr.astype(dtype, copy=False)
    arr = np.asarray(data, dtype=dtype)
    if dtype is None and arr.dtype.kind in "iuf":
        arr = arr.astype(np.float32)
    if arr.dtype == object:
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} {data!r}")
    return arr


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: ``data`` is an ndarray
    (kept as is, sharing memory, dtype unchanged), a numpy scalar, or a Python number or
    list (converted to float32). Only floating-point tensors may require grad.

    Attributes: ``data`` (the ndarray), ``grad`` (a Tensor, or None until a backward pass
    reaches this tensor), ``requires_grad``, ``grad_fn`` (the op node that made this tensor,
    None for leaves), ``name`` (shown in rendered graphs).
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "__weakref__")
    __array_ufunc__ = None  # make numpy defer to our reflected operators (ndarray + Tensor)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        arr = to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in _GRAD_KINDS:
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, got dtype {arr.dtype}; "
                f"convert first, e.g. Tensor(data, dtype=np.float64, requires_grad=True)")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self.name = name

    # -- properties -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="The shape of ``data``.")
    ndim = property(lambda self: self.data.ndim, doc="The number of axes.")
    size = property(lambda self: self.data.size, doc="The number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype of ``data``.")

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (no ``grad_fn``), False for op results."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        """The transpose (all axes reversed), as ``transpose()``."""
        return OPS["transpose"](self)

    # -- conversion -------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python "
                             f"number, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """A new leaf tensor sharing ``data``, cut off from the graph (no grad)."""
        return Tensor(self.data, name=self.name)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if requires_grad and self.data.dtype.kind not in _GRAD_KINDS:
            raise TypeError(f"requires_grad_: only floating-point tensors can require grad, "
                            f"got dtype {self.data.dtype}")
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off grad on a non-leaf tensor; "
                               "use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype`` (differentiable between float dtypes)."""
        return OPS["astype"](self, dtype)

    def backward(self, grad: Any = None, *, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the upstream gradient (required unless self has one element). The graph
        is freed afterwards unless ``retain_graph``; ``create_graph`` records the backward
        pass itself so that gradients can be differentiated again.
        """
        from .autograd import backward  # the engine sits above Tensor in the import order

        backward((self,), None if grad is None else (grad,),
                 retain_graph=retain_graph, create_graph=create_graph)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, threshold=20,
                               prefix="Tensor(")
        extra = f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name is not None:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is "
                             f"ambiguous; use .any() or .all() on .data")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    __hash__ = object.__hash__  # == builds a tensor, so identity hashing is kept explicitly

    # -- operators: each is one lookup in the operator table --------------------------
    def __add__(self, other): return OPS["add"](self, other)
    def __radd__(self, other): return OPS["add"](other, self)
    def __sub__(self, other): return OPS["sub"](self, other)
    def __rsub__(self, other): return OPS["sub"](other, self)
    def __mul__(self, other): return OPS["mul"](self, other)
    def __rmul__(self, other): return OPS["mul"](other, self)
    def __truediv__(self, other): return OPS["div"](self, other)
    def __rtruediv__(self, other): return OPS["div"](other, self)
    def __pow__(self, other): return OPS["pow"](self, other)
    def __rpow__(self, other): return OPS["pow"](other, self)
    def __matmul__(self, other): return OPS["matmul"](self, other)
    def __rmatmul__(self, other): return OPS["matmul"](other, self)
    def __neg__(self): return OPS["neg"](self)
    def __pos__(self): return self
    def __abs__(self): return OPS["abs"](self)
    def __getitem__(self, index): return OPS["getitem"](self, index)

    # comparisons give bool tensors that carry no gradient
    def __lt__(self, other): return OPS["compare"](self, other, np.less)
    def __le__(self, other): return OPS["compare"](self, other, np.less_equal)
    def __gt__(self, other): return OPS["compare"](self, other, np.greater)
    def __ge__(self, other): return OPS["compare"](self, other, np.greater_equal)
    def __eq__(self, other): return OPS["compare"](self, other, np.equal)  # type: ignore[override]
    def __ne__(self, other): return OPS["compare"](self, other, np.not_equal)  # type: ignore[override]

    # -- methods: documented on the op functions in tinygrad_reg.ops ------------------
    def sum(self, axis=None, keepdims=False): return OPS["sum"](self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return OPS["mean"](self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return OPS["max"](self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return OPS["min"](self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return OPS["var"](self, axis, keepdims, ddof)
    def logsumexp(self, axis=None, keepdims=False): return OPS["logsumexp"](self, axis, keepdims)
    def reshape(self, *shape): return OPS["reshape"](self, *shape)
    def transpose(self, *axes): return OPS["transpose"](self, *axes)
    def squeeze(self, axis=None): return OPS["squeeze"](self, axis)
    def expand_dims(self, axis): return OPS["expand_dims"](self, axis)
    def broadcast_to(self, shape): return OPS["broadcast_to"](self, shape)
    def sum_to(self, shape): return OPS["sum_to"](self, shape)
    def exp(self): return OPS["exp"](self)
    def log(self): return OPS["log"](self)
    def sqrt(self): return OPS["sqrt"](self)
    def abs(self): return OPS["abs"](self)
    def relu(self): return OPS["relu"](self)
    def sigmoid(self): return OPS["sigmoid"](self)
    def tanh(self): return OPS["tanh"](self)
    def softmax(self, axis=-1): return OPS["softmax"](self, axis)
    def log_softmax(self, axis=-1): return OPS["log_softmax"](self, axis)
    def clip(self, lo=None, hi=None): return OPS["clip"](self, lo, hi)
    def matmul(self, other): return OPS["matmul"](self, other)
    def maximum(self, other): return OPS["maximum"](self, other)
    def minimum(self, other): return OPS["minimum"](self, other)
