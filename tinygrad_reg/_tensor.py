"""Tensor: an ndarray, its gradient, and the op node that made it.

The Tensor knows no op by name. Its operators and methods look the op up in ``OPS``,
the thin operator table that :mod:`tinygrad_reg.ops` fills when it is imported.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ._device import CPU
from ._guard import aux, expose, share_version, view_root

# name -> function(Tensor, ...) -> Tensor; filled by tinygrad_reg.ops at import time.
OPS: dict[str, Any] = {}

_GRAD_KINDS = "fc"  # only floating (and complex) arrays can carry a gradient
_NUMERIC_KINDS = "biufc"  # bool, ints, floats, complex: what a tensor can hold


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: ``data`` is an ndarray
    (kept as is, sharing memory, dtype unchanged), a numpy scalar, or a Python number or
    list (converted to float32, as ``torch.Tensor``). Only floating-point tensors may require
    grad. Strings, bytes, object arrays and ragged lists are refused with a TypeError or
    ValueError.

    Attributes: ``data`` (PyTorch's: a tensor sharing the memory, cut off from the graph;
    the ndarray itself is :meth:`numpy`), ``grad`` (a Tensor, or None until a
    backward pass reaches this tensor), ``requires_grad``, ``grad_fn`` (the op node that made
    this tensor, None for leaves), ``name`` (shown in rendered graphs).

    While a graph that has not yet run backward needs an array (it saved it for backward),
    that array is read-only, so that a raw numpy write into it (through :meth:`numpy`, a
    ``detach()``-ed alias, or the ndarray the tensor was made from) fails at the write; the
    flag is restored when the graph has run backward or been dropped. Sanctioned in-place
    writes (``zero_()``, ``fill_()``, ``t[i] = v``, writes through ``data``, optimizer steps)
    are allowed and counted instead: a graph that saved the old value then refuses to
    backward, naming the op.
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "name", "_aux", "__weakref__")
    __array_ufunc__ = None  # make numpy defer to our reflected operators (ndarray + Tensor)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        arr = to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in _GRAD_KINDS:
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, got dtype {arr.dtype}; "
                f"convert first, e.g. Tensor(data, dtype=np.float64, requires_grad=True)")
        self._data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self.name = name
        self._aux = None
        if arr is data or arr.base is not None or isinstance(data, Tensor):
            aux(self).shared = True  # memory the caller holds too (see _guard.hold)

    @property
    def data(self) -> Tensor:
        """PyTorch's ``.data``: a tensor sharing this tensor's memory, cut off from the graph
        (``requires_grad`` False), the way to change values outside autograd::

            p.data -= lr * p.grad        # manual SGD
            layer.weight.data.normal_(0, 0.01)

        It is :meth:`detach` under PyTorch's older name, with one difference from PyTorch
        that keeps gradients right: PyTorch does not count a write through ``.data`` as an
        in-place change, so a graph that saved the old values backpropagates with the new
        ones, silently; here the write counts, and that backward refuses with a
        RuntimeError naming the op. The ndarray itself is :meth:`numpy`. Assigning
        ``t.data = tensor_or_array`` replaces the memory (a live graph keeps the old
        values)."""
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        new = to_array(value, what="Tensor.data")
        old = self._data
        if new is not old:  # a node that saved the old array keeps it (and knows it)
            a = aux(self)
            alive = [r for r in a.replaced if r() is not None] if a.replaced else []
            a.replaced = alive + [weakref.ref(old)]
            a.shared = True  # (the caller may hold the new array)
        self._data = new

    # -- properties -------------------------------------------------------------------
    shape = property(lambda self: self._data.shape, doc="The shape of ``data`` (a tuple).")
    ndim = property(lambda self: self._data.ndim, doc="The number of dims.")
    dtype = property(lambda self: self._data.dtype, doc="The numpy dtype of ``data``.")
    device = property(lambda self: CPU, doc="Always ``tg.device('cpu')`` (which equals "
                      "\"cpu\"): everything runs in numpy.")

    def size(self, dim: int | None = None) -> Any:
        """The shape (a tuple), or the size of ``dim``: PyTorch's ``size()``. (numpy's ``.size``
        attribute, the number of elements, is :meth:`numel`.)"""
        if dim is None:
            return self._data.shape
        nd = self._data.ndim
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not (
                -nd <= dim < nd):
            raise IndexError(f"size: dim {dim!r} is out of range for a tensor of {nd} dims")
        return self._data.shape[dim]

    def dim(self) -> int:
        """The number of dims (``ndim``)."""
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements (numpy's ``.size``)."""
        return self._data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (no ``grad_fn``), False for op results."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        """The transpose: all dims reversed (numpy's ``.T``; for 2-D, PyTorch's too)."""
        return OPS["transpose"](self)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (PyTorch's ``.mT``): a batch of transposed matrices."""
        return OPS["swap_last"](self)

    # -- conversion -------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The tensor's ndarray, shared (not copied), as PyTorch's ``numpy()``. While a graph
        that has not run backward saved it, it is read-only (a write into it would change the
        gradient silently): write through :attr:`data`, or take ``t.numpy().copy()``.

        PyTorch refuses ``numpy()`` on a tensor that requires grad; here it is allowed, since
        the array cannot be written while a graph depends on it."""
        arr = self._data
        if arr.flags.writeable:
            expose(self)
        return arr

    def tolist(self) -> Any:
        """The values as (nested) Python lists of numbers (a number for a 0-d tensor).
        Refused inside a function that tg.jit traces (see :meth:`item`)."""
        _python_read(self, "Tensor.tolist()")
        return self._data.tolist()

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number. Refused inside a function
        that tg.jit traces, as are ``bool()``, ``float()`` and ``int()`` of a tensor: a
        replay does not run the function's Python, so a number or a decision read from the
        data would stay the traced one (return the tensor and read it after the call)."""
        _python_read(self, "Tensor.item()")
        return self._one("item").item()

    def _one(self, fn: str) -> np.ndarray:
        if self._data.size != 1:
            raise ValueError(f"{fn}: only one-element tensors can be converted to a Python "
                             f"number, got shape {self.shape}")
        return self._data

    def detach(self) -> Tensor:
        """A new leaf tensor sharing ``data`` (and its version counter, so an in-place write
        into either is seen by graphs that saved the other), cut off from the graph."""
        out = Tensor(self._data, name=self.name)
        share_version(self, out)
        # whose node guards the memory; self itself once the tensor self was detached from is
        # gone (self then holds the memory: a graph that saves self keeps self alive)
        root = view_root(self)
        out._aux.source = weakref.ref(self if root is None else root)
        return out

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if requires_grad and self._data.dtype.kind not in _GRAD_KINDS:
            raise TypeError(f"requires_grad_: only floating-point tensors can require grad, "
                            f"got dtype {self._data.dtype}")
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off grad on a non-leaf tensor; "
                               "use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype`` (differentiable between float dtypes); numpy's name
        for :meth:`to`."""
        return OPS["astype"](self, dtype)

    def cpu(self) -> Tensor:
        """Itself: everything runs on the CPU (PyTorch's ``cpu()``)."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        """Refused: there is no CUDA device (``tg.cuda.is_available()`` is False), as
        PyTorch refuses it without one; the error says what to write."""
        raise RuntimeError("cuda: tinygrad_reg runs on the CPU with numpy, and "
                           "tg.cuda.is_available() is False; write x.to(device) with device = "
                           "tg.device('cuda' if tg.cuda.is_available() else 'cpu'), or x.cpu()")

    def to(self, *args: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        """PyTorch's ``to``: ``to(dtype)``, ``to(other)`` (other's dtype), ``to("cpu")``
        (itself: everything runs in numpy). Another device is a ValueError."""
        targets = [a for a in args] + ([dtype] if dtype is not None else [])
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        out = self
        for t in targets + ([device] if device is not None else []):
            if isinstance(t, Tensor):
                out = out.astype(t.dtype) if t.dtype != out.dtype else out
            elif isinstance(t, str) and (t == "cpu" or t.startswith("cpu:")):
                continue
            elif isinstance(t, str) and not _is_dtype_name(t):
                raise ValueError(f"to: tinygrad_reg runs on the CPU with numpy; device "
                                 f"{str(t)!r} is not available (use 'cpu')")
            else:
                dt = np.dtype(t)
                out = out.astype(dt) if dt != out.dtype else out
        return out

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """PyTorch's ``type``: with no argument, the name of the tensor's type as PyTorch
        spells it ("torch.FloatTensor", "torch.LongTensor", ...: see :data:`TYPE_NAMES`);
        with a dtype (or such a name), the tensor converted to it, itself if it has that
        dtype already (differentiable between float dtypes, as :meth:`to`)."""
        if dtype is None and "dtype" in kwargs:
            dtype = kwargs.pop("dtype")
        kwargs.pop("async", None)  # PyTorch's old name of non_blocking
        if kwargs:
            raise TypeError(f"type: unexpected arguments {sorted(kwargs)}")
        if dtype is None:
            name = TYPE_NAMES.get(self._data.dtype)
            if name is None:
                raise TypeError(f"type: PyTorch has no tensor type name for dtype "
                                f"{self._data.dtype}; read .dtype")
            return name
        if isinstance(dtype, str) and dtype.startswith("torch."):
            dtype = _dtype_of_type_name(dtype)
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        """Converted to ``other``'s dtype (itself if it has it already)."""
        return self if other.dtype == self.dtype else self.astype(other.dtype)

    def float(self) -> Tensor:
        """Converted to float32 (PyTorch's ``float()``; differentiable)."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """Converted to float64 (differentiable)."""
        return self.to(np.float64)

    def half(self) -> Tensor:
        """Converted to float16."""
        return self.to(np.float16)

    def long(self) -> Tensor:
        """Converted to int64 (class labels, indices); no gradient."""
        return self.to(np.int64)

    def int(self) -> Tensor:
        """Converted to int32; no gradient."""
        return self.to(np.int32)

    def bool(self) -> Tensor:
        """Converted to bool (nonzero is True); no gradient."""
        return self.to(np.bool_)

    def backward(self, grad: Any = None, *, gradient: Any = None,
                 retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` (PyTorch's ``gradient``; give one) is the upstream gradient, required unless
        self has one element. The graph is freed afterwards unless ``retain_graph`` (which
        defaults to ``create_graph``); ``create_graph`` records the backward pass itself so
        that gradients can be differentiated again.
        """
        from .autograd import backward  # the engine sits above Tensor in the import order

        if grad is not None and gradient is not None:
            raise TypeError("backward: got both grad and gradient (PyTorch's name); give one")
        g = grad if grad is not None else gradient
        backward((self,), None if g is None else (g,),
                 retain_graph=create_graph if retain_graph is None else retain_graph,
                 create_graph=create_graph)

    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` with this tensor's gradient in every backward pass (a tensor it
        returns replaces the gradient); returns a handle with ``remove()``. See
        :mod:`tinygrad_reg.autograd.hooks`."""
        return OPS["register_hook"](self, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (as PyTorch)."""
        OPS["retain_grad"](self)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, threshold=20,
                               prefix="Tensor(")
        extra = f", dtype={self._data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name is not None:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is "
                             f"ambiguous; use .any() or .all()")
        _python_read(self, "bool() of a tensor")
        return bool(self._data)

    def __float__(self) -> float:
        _python_read(self, "float() of a tensor")
        return float(self._one("float").item())

    def __int__(self) -> int:
        _python_read(self, "int() of a tensor")
        return int(self._one("int").item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError(f"only one-element integer tensors can be used as an index, got "
                            f"dtype {self._data.dtype} and shape {self.shape}")
        _python_read(self, "a tensor used as an int (__index__)")
        return int(self._data.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(t)`` gives the array (a copy when ``dtype`` differs), as
        :meth:`numpy` does."""
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

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
    def __floordiv__(self, other): return OPS["floor_divide"](self, other)
    def __rfloordiv__(self, other): return OPS["floor_divide"](other, self)
    def __mod__(self, other): return OPS["remainder"](self, other)
    def __rmod__(self, other): return OPS["remainder"](other, self)
    def __pow__(self, other): return OPS["pow"](self, other)
    def __rpow__(self, other): return OPS["pow"](other, self)
    def __matmul__(self, other): return OPS["matmul"](self, other)
    def __rmatmul__(self, other): return OPS["matmul"](other, self)
    def __neg__(self): return OPS["neg"](self)
    def __pos__(self): return self
    def __abs__(self): return OPS["abs"](self)
    def __getitem__(self, index): return OPS["getitem"](self, index)

    # comparisons and logic give bool tensors that carry no gradient
    def __lt__(self, other): return OPS["compare"](self, other, "lt")
    def __le__(self, other): return OPS["compare"](self, other, "le")
    def __gt__(self, other): return OPS["compare"](self, other, "gt")
    def __ge__(self, other): return OPS["compare"](self, other, "ge")
    def __eq__(self, other): return OPS["compare"](self, other, "eq")  # type: ignore[override]
    def __ne__(self, other): return OPS["compare"](self, other, "ne")  # type: ignore[override]
    def __and__(self, other): return OPS["logical"]("and", self, other)
    def __rand__(self, other): return OPS["logical"]("and", other, self)
    def __or__(self, other): return OPS["logical"]("or", self, other)
    def __ror__(self, other): return OPS["logical"]("or", other, self)
    def __xor__(self, other): return OPS["logical"]("xor", self, other)
    def __rxor__(self, other): return OPS["logical"]("xor", other, self)
    def __invert__(self): return OPS["logical"]("not", self)
    def __lshift__(self, other): return OPS["bitwise_left_shift"](self, other)
    def __rlshift__(self, other): return OPS["bitwise_left_shift"](other, self)
    def __rshift__(self, other): return OPS["bitwise_right_shift"](self, other)
    def __rrshift__(self, other): return OPS["bitwise_right_shift"](other, self)

    # in-place: numpy writes outside the graph, counted by the version counter (see
    # tinygrad_reg.ops.inplace for the rules); each returns self
    def __setitem__(self, index, value): OPS["setitem"](self, index, value)
    def __iadd__(self, other): return OPS["iadd"](self, other)
    def __isub__(self, other): return OPS["isub"](self, other)
    def __imul__(self, other): return OPS["imul"](self, other)
    def __itruediv__(self, other): return OPS["itruediv"](self, other)
    def zero_(self): return OPS["zero_"](self)
    def fill_(self, value): return OPS["fill_"](self, value)
    def copy_(self, src): return OPS["copy_"](self, src)
    def add_(self, other, alpha=1): return OPS["add_"](self, other, alpha)
    def sub_(self, other, alpha=1): return OPS["sub_"](self, other, alpha)
    def mul_(self, other): return OPS["mul_"](self, other)
    def div_(self, other): return OPS["div_"](self, other)
    def clamp_(self, min=None, max=None): return OPS["clamp_"](self, min, max)  # noqa: A002
    def masked_fill_(self, mask, value): return OPS["masked_fill_"](self, mask, value)
    def addcmul_(self, tensor1, tensor2, *, value=1):
        return OPS["addcmul_"](self, tensor1, tensor2, value=value)
    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return OPS["addcdiv_"](self, tensor1, tensor2, value=value)
    def clamp_min_(self, min): return OPS["clamp_min_"](self, min)  # noqa: A002
    def clamp_max_(self, max): return OPS["clamp_max_"](self, max)  # noqa: A002
    def index_add_(self, dim, index, source, *, alpha=1):
        return OPS["index_add_"](self, dim, index, source, alpha=alpha)
    def index_copy_(self, dim, index, source): return OPS["index_copy_"](self, dim, index, source)
    def index_fill_(self, dim, index, value): return OPS["index_fill_"](self, dim, index, value)
    def masked_scatter_(self, mask, source): return OPS["masked_scatter_"](self, mask, source)
    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        return OPS["uniform_"](self, a, b, generator=generator)
    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return OPS["normal_"](self, mean, std, generator=generator)
    def bernoulli_(self, p=0.5, *, generator=None):
        return OPS["bernoulli_"](self, p, generator=generator)

    # -- random draws and constructors from a tensor (see tinygrad_reg.creation) ----------
    def bernoulli(self, p=None, *, generator=None):
        return OPS["bernoulli"](self, p, generator=generator)
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return OPS["multinomial"](self, num_samples, replacement, generator=generator)
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return OPS["new_zeros"](self, *size, dtype=dtype, device=device,
                                requires_grad=requires_grad)
    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return OPS["new_ones"](self, *size, dtype=dtype, device=device,
                               requires_grad=requires_grad)
    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return OPS["new_empty"](self, *size, dtype=dtype, device=device,
                                requires_grad=requires_grad)
    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return OPS["new_full"](self, size, fill_value, dtype=dtype, device=device,
                               requires_grad=requires_grad)
    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return OPS["new_tensor"](self, data, dtype=dtype, device=device,
                                 requires_grad=requires_grad)

    # -- methods: documented on the op functions in tinygrad_reg.ops ------------------
    # (reductions take PyTorch's dim/keepdim and numpy's axis/keepdims; see ops.reduce)
    def sum(self, dim=None, keepdim=None, *, dtype=None, axis=None, keepdims=None):
        return OPS["sum"](self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)
    def mean(self, dim=None, keepdim=None, *, dtype=None, axis=None, keepdims=None):
        return OPS["mean"](self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)
    def max(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["max"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def min(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["min"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def amax(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["amax"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def amin(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["amin"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def var(self, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None,
            axis=None, keepdims=None):
        return OPS["var"](self, dim, unbiased, keepdim, correction=correction, ddof=ddof,
                          axis=axis, keepdims=keepdims)
    def std(self, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None,
            axis=None, keepdims=None):
        return OPS["std"](self, dim, unbiased, keepdim, correction=correction, ddof=ddof,
                          axis=axis, keepdims=keepdims)
    def logsumexp(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["logsumexp"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def prod(self, dim=None, keepdim=None, *, dtype=None, axis=None, keepdims=None):
        return OPS["prod"](self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)
    def norm(self, p="fro", dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["norm"](self, p, dim, keepdim, axis=axis, keepdims=keepdims)
    def cumsum(self, dim=None, *, dtype=None, axis=None):
        return OPS["cumsum"](self, dim, dtype=dtype, axis=axis)
    def cumprod(self, dim=None, *, dtype=None, axis=None):
        return OPS["cumprod"](self, dim, dtype=dtype, axis=axis)
    def cummax(self, dim=None, *, axis=None): return OPS["cummax"](self, dim, axis=axis)
    def cummin(self, dim=None, *, axis=None): return OPS["cummin"](self, dim, axis=axis)
    def logcumsumexp(self, dim=None, *, axis=None):
        return OPS["logcumsumexp"](self, dim, axis=axis)
    def var_mean(self, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None,
                 axis=None, keepdims=None):
        return OPS["var_mean"](self, dim, unbiased, keepdim, correction=correction, ddof=ddof,
                               axis=axis, keepdims=keepdims)
    def std_mean(self, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None,
                 axis=None, keepdims=None):
        return OPS["std_mean"](self, dim, unbiased, keepdim, correction=correction, ddof=ddof,
                               axis=axis, keepdims=keepdims)
    def argmax(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["argmax"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def argmin(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["argmin"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def any(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["any"](self, dim, keepdim, axis=axis, keepdims=keepdims)
    def all(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        return OPS["all"](self, dim, keepdim, axis=axis, keepdims=keepdims)

    # shapes (views where numpy can make one; see ops.shape)
    def reshape(self, *shape): return OPS["reshape"](self, *shape)
    def view(self, *shape): return OPS["view"](self, *shape)
    def transpose(self, *dims): return OPS["transpose"](self, *dims)
    def permute(self, *dims): return OPS["permute"](self, *dims)
    def squeeze(self, dim=None, *, axis=None): return OPS["squeeze"](self, dim, axis=axis)
    def unsqueeze(self, dim=None, *, axis=None): return OPS["unsqueeze"](self, dim, axis=axis)
    def expand_dims(self, axis): return OPS["expand_dims"](self, axis)
    def flatten(self, start_dim=0, end_dim=-1): return OPS["flatten"](self, start_dim, end_dim)
    def expand(self, *sizes): return OPS["expand"](self, *sizes)
    def expand_as(self, other): return OPS["expand"](self, *other.shape)
    def broadcast_to(self, shape): return OPS["broadcast_to"](self, shape)
    def sum_to(self, shape): return OPS["sum_to"](self, shape)
    def repeat(self, *sizes): return OPS["repeat"](self, *sizes)
    def flip(self, *dims): return OPS["flip"](self, *dims)
    def roll(self, shifts, dims=None): return OPS["roll"](self, shifts, dims)
    def tril(self, diagonal=0): return OPS["tril"](self, diagonal)
    def triu(self, diagonal=0): return OPS["triu"](self, diagonal)
    def gather(self, dim=None, index=None, *, axis=None):
        return OPS["gather"](self, dim, index, axis=axis)
    def index_select(self, dim=None, index=None, *, axis=None):
        return OPS["index_select"](self, dim, index, axis=axis)
    def split(self, split_size, dim=None, *, axis=None):
        return OPS["split"](self, split_size, dim, axis=axis)
    def chunk(self, chunks, dim=None, *, axis=None):
        return OPS["chunk"](self, chunks, dim, axis=axis)
    def unbind(self, dim=0): return OPS["unbind"](self, dim)
    def t(self): return OPS["t"](self)
    def unflatten(self, dim, sizes): return OPS["unflatten"](self, dim, sizes)
    def unfold(self, dimension, size, step): return OPS["unfold"](self, dimension, size, step)
    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return OPS["repeat_interleave"](self, repeats, dim, output_size=output_size)
    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return OPS["scatter"](self, dim, index, src, value, reduce=reduce)
    def scatter_add(self, dim, index, src): return OPS["scatter_add"](self, dim, index, src)
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return OPS["scatter_reduce"](self, dim, index, src, reduce, include_self=include_self)
    def masked_select(self, mask): return OPS["masked_select"](self, mask)
    def nonzero(self, *, as_tuple=False): return OPS["nonzero"](self, as_tuple=as_tuple)
    def clone(self): return OPS["clone"](self)
    def contiguous(self): return OPS["contiguous"](self)

    # arithmetic by name (see ops.elementwise and ops.arith)
    def add(self, other, *, alpha=1):
        return OPS["add"](self, other if alpha == 1 else other * alpha)
    def sub(self, other, *, alpha=1):
        return OPS["sub"](self, other if alpha == 1 else other * alpha)
    def mul(self, other): return OPS["mul"](self, other)
    def div(self, other, *, rounding_mode=None):
        return OPS["div"](self, other, rounding_mode=rounding_mode)
    def true_divide(self, other): return OPS["div"](self, other)
    def floor_divide(self, other): return OPS["floor_divide"](self, other)
    def remainder(self, other): return OPS["remainder"](self, other)
    def fmod(self, other): return OPS["fmod"](self, other)
    def neg(self): return OPS["neg"](self)
    def negative(self): return OPS["neg"](self)
    def copysign(self, other): return OPS["copysign"](self, other)
    def logaddexp(self, other): return OPS["logaddexp"](self, other)
    def atan2(self, other): return OPS["atan2"](self, other)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return OPS["isclose"](self, other, rtol, atol, equal_nan)
    def isinf(self): return OPS["isinf"](self)
    def isposinf(self): return OPS["isposinf"](self)
    def isneginf(self): return OPS["isneginf"](self)
    def isnan(self): return OPS["isnan"](self)
    def isfinite(self): return OPS["isfinite"](self)
    def logical_not(self): return OPS["logical_not"](self)
    def logical_and(self, other): return OPS["logical_and"](self, other)
    def logical_or(self, other): return OPS["logical_or"](self, other)
    def logical_xor(self, other): return OPS["logical_xor"](self, other)
    def bitwise_not(self): return OPS["bitwise_not"](self)
    def bitwise_and(self, other): return OPS["bitwise_and"](self, other)
    def bitwise_or(self, other): return OPS["bitwise_or"](self, other)
    def bitwise_xor(self, other): return OPS["bitwise_xor"](self, other)
    def bitwise_left_shift(self, other): return OPS["bitwise_left_shift"](self, other)
    def bitwise_right_shift(self, other): return OPS["bitwise_right_shift"](self, other)

    # elementwise (see ops.elementwise, ops.trig and ops.activation)
    def exp(self): return OPS["exp"](self)
    def exp2(self): return OPS["exp2"](self)
    def asin(self): return OPS["asin"](self)
    def acos(self): return OPS["acos"](self)
    def atan(self): return OPS["atan"](self)
    def sinh(self): return OPS["sinh"](self)
    def cosh(self): return OPS["cosh"](self)
    def asinh(self): return OPS["asinh"](self)
    def acosh(self): return OPS["acosh"](self)
    def atanh(self): return OPS["atanh"](self)
    def log(self): return OPS["log"](self)
    def sqrt(self): return OPS["sqrt"](self)
    def abs(self): return OPS["abs"](self)
    def sin(self): return OPS["sin"](self)
    def cos(self): return OPS["cos"](self)
    def tan(self): return OPS["tan"](self)
    def sign(self): return OPS["sign"](self)
    def floor(self): return OPS["floor"](self)
    def ceil(self): return OPS["ceil"](self)
    def round(self, decimals=0): return OPS["round"](self, decimals)
    def trunc(self): return OPS["trunc"](self)
    def log1p(self): return OPS["log1p"](self)
    def expm1(self): return OPS["expm1"](self)
    def log2(self): return OPS["log2"](self)
    def log10(self): return OPS["log10"](self)
    def reciprocal(self): return OPS["reciprocal"](self)
    def rsqrt(self): return OPS["rsqrt"](self)
    def square(self): return OPS["square"](self)
    def erf(self): return OPS["erf"](self)
    def pow(self, exponent): return OPS["pow"](self, exponent)
    def relu(self): return OPS["relu"](self)
    def sigmoid(self): return OPS["sigmoid"](self)
    def tanh(self): return OPS["tanh"](self)
    def softmax(self, dim=None, *, axis=None): return OPS["softmax"](self, dim, axis=axis)
    def log_softmax(self, dim=None, *, axis=None):
        return OPS["log_softmax"](self, dim, axis=axis)
    def clip(self, lo=None, hi=None, *, min=None, max=None):  # noqa: A002
        return OPS["clip"](self, lo, hi, min=min, max=max)
    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        return OPS["clip"](self, min=min, max=max)
    def masked_fill(self, mask, value): return OPS["masked_fill"](self, mask, value)
    def where(self, condition, other): return OPS["where"](condition, self, other)
    def matmul(self, other): return OPS["matmul"](self, other)
    def mm(self, other): return OPS["mm"](self, other)
    def bmm(self, other): return OPS["bmm"](self, other)
    def maximum(self, other): return OPS["maximum"](self, other)
    def minimum(self, other): return OPS["minimum"](self, other)
    def lerp(self, end, weight): return OPS["lerp"](self, end, weight)

    # PyTorch's everyday names written with other ops (see ops.compose)
    def eq(self, other): return OPS["eq"](self, other)
    def ne(self, other): return OPS["ne"](self, other)
    def lt(self, other): return OPS["lt"](self, other)
    def le(self, other): return OPS["le"](self, other)
    def gt(self, other): return OPS["gt"](self, other)
    def ge(self, other): return OPS["ge"](self, other)
    def not_equal(self, other): return OPS["ne"](self, other)
    def less(self, other): return OPS["lt"](self, other)
    def less_equal(self, other): return OPS["le"](self, other)
    def greater(self, other): return OPS["gt"](self, other)
    def greater_equal(self, other): return OPS["ge"](self, other)
    def equal(self, other): return OPS["equal"](self, other)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return OPS["allclose"](self, other, rtol, atol, equal_nan)
    def multiply(self, other): return OPS["mul"](self, other)
    def divide(self, other, *, rounding_mode=None):
        return OPS["div"](self, other, rounding_mode=rounding_mode)
    def subtract(self, other, *, alpha=1): return OPS["subtract"](self, other, alpha=alpha)
    def absolute(self): return OPS["abs"](self)
    def clamp_min(self, min): return OPS["clamp_min"](self, min)  # noqa: A002
    def clamp_max(self, max): return OPS["clamp_max"](self, max)  # noqa: A002
    def addcmul(self, tensor1, tensor2, *, value=1):
        return OPS["addcmul"](self, tensor1, tensor2, value=value)
    def addcdiv(self, tensor1, tensor2, *, value=1):
        return OPS["addcdiv"](self, tensor1, tensor2, value=value)
    def logit(self, eps=None): return OPS["logit"](self, eps)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return OPS["nan_to_num"](self, nan, posinf, neginf)
    def deg2rad(self): return OPS["deg2rad"](self)
    def rad2deg(self): return OPS["rad2deg"](self)
    def fix(self): return OPS["trunc"](self)
    def sgn(self): return OPS["sign"](self)
    def view_as(self, other): return OPS["view_as"](self, other)
    def reshape_as(self, other): return OPS["reshape_as"](self, other)
    def ravel(self): return OPS["ravel"](self)
    def swapaxes(self, axis0, axis1): return OPS["swapaxes"](self, axis0, axis1)
    def swapdims(self, dim0, dim1): return OPS["swapaxes"](self, dim0, dim1)
    def movedim(self, source, destination): return OPS["movedim"](self, source, destination)
    def moveaxis(self, source, destination): return OPS["movedim"](self, source, destination)
    def narrow(self, dim, start, length): return OPS["narrow"](self, dim, start, length)
    def select(self, dim, index): return OPS["select"](self, dim, index)
    def tile(self, *dims):
        return OPS["tile"](self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int)
                           else dims)
    def flipud(self): return OPS["flipud"](self)
    def fliplr(self): return OPS["fliplr"](self)
    def take_along_dim(self, indices, dim=None): return OPS["take_along_dim"](self, indices, dim)
    def dot(self, other): return OPS["dot"](self, other)
    def vdot(self, other): return OPS["dot"](self, other)
    def inner(self, other): return OPS["inner"](self, other)
    def outer(self, other): return OPS["outer"](self, other)
    def ger(self, other): return OPS["outer"](self, other)
    def mv(self, vec): return OPS["mv"](self, vec)
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return OPS["addmm"](self, mat1, mat2, beta=beta, alpha=alpha)
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return OPS["baddbmm"](self, batch1, batch2, beta=beta, alpha=alpha)
    def trace(self): return OPS["trace"](self)
    def nansum(self, dim=None, keepdim=False): return OPS["nansum"](self, dim, keepdim)
    def nanmean(self, dim=None, keepdim=False): return OPS["nanmean"](self, dim, keepdim)
    def count_nonzero(self, dim=None): return OPS["count_nonzero"](self, dim)
    def aminmax(self, *, dim=None, keepdim=False):
        return OPS["aminmax"](self, dim=dim, keepdim=keepdim)
    def kthvalue(self, k, dim=-1, keepdim=False): return OPS["kthvalue"](self, k, dim, keepdim)
    def median(self, dim=None, keepdim=False): return OPS["median"](self, dim, keepdim)
    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return OPS["quantile"](self, q, dim, keepdim, interpolation=interpolation)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return OPS["diff"](self, n, dim, prepend, append)
    def cross(self, other, dim=None): return OPS["cross"](self, other, dim)
    def bincount(self, weights=None, minlength=0): return OPS["bincount"](self, weights, minlength)
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
        return OPS["unique"](self, sorted, return_inverse, return_counts, dim)
    def index_add(self, dim, index, source, *, alpha=1):
        return OPS["index_add"](self, dim, index, source, alpha=alpha)
    def index_copy(self, dim, index, source): return OPS["index_copy"](self, dim, index, source)
    def index_fill(self, dim, index, value): return OPS["index_fill"](self, dim, index, value)
    def masked_scatter(self, mask, source): return OPS["masked_scatter"](self, mask, source)
    def fmax(self, other): return OPS["fmax"](self, other)
    def fmin(self, other): return OPS["fmin"](self, other)
    def signbit(self): return OPS["signbit"](self)
    def heaviside(self, values): return OPS["heaviside"](self, values)
    def is_floating_point(self): return self._data.dtype.kind == "f"
    def is_complex(self): return self._data.dtype.kind == "c"
    def element_size(self): return self._data.itemsize
    def is_contiguous(self): return bool(self._data.flags.c_contiguous)
    def stride(self, dim=None):
        """The step in elements between neighbours along each dim (or ``dim``), as PyTorch's
        (numpy's ``strides`` are in bytes)."""
        steps = tuple(s // self._data.itemsize for s in self._data.strides)
        return steps if dim is None else steps[dim]

    # sorting and diagonals (see ops.sort and ops.indexing)
    def sort(self, dim=None, descending=False, stable=False, *, axis=None):
        return OPS["sort"](self, dim, descending, stable, axis=axis)
    def argsort(self, dim=None, descending=False, stable=False, *, axis=None):
        return OPS["argsort"](self, dim, descending, stable, axis=axis)
    def topk(self, k, dim=None, largest=True, sorted=True, *, axis=None):  # noqa: A002
        return OPS["topk"](self, k, dim, largest, sorted, axis=axis)
    def diagonal(self, offset=0, dim1=0, dim2=1): return OPS["diagonal"](self, offset, dim1, dim2)
    def diag(self, diagonal=0): return OPS["diag"](self, diagonal)


# dtype -> PyTorch's name of the tensor type that holds it (Tensor.type())
TYPE_NAMES: dict[np.dtype, str] = {np.dtype(k): f"torch.{v}Tensor" for k, v in (
    ("float32", "Float"), ("float64", "Double"), ("float16", "Half"), ("int64", "Long"),
    ("int32", "Int"), ("int16", "Short"), ("int8", "Char"), ("uint8", "Byte"),
    ("bool", "Bool"), ("complex64", "ComplexFloat"), ("complex128", "ComplexDouble"),
    ("uint16", "UInt16"), ("uint32", "UInt32"), ("uint64", "UInt64"))}


def _dtype_of_type_name(name: str) -> np.dtype:
    for dt, known in TYPE_NAMES.items():
        if known == name:
            return dt
    if name.startswith("torch.cuda."):
        raise ValueError(f"type: tinygrad_reg runs on the CPU with numpy; {name!r} is a CUDA "
                         f"type (use {name.replace('.cuda', '')!r})")
    raise ValueError(f"type: invalid type {name!r}; use a dtype (tg.float64) or one of "
                     f"{sorted(TYPE_NAMES.values())}")


def _is_dtype_name(text: str) -> bool:
    try:
        np.dtype(text)
    except TypeError:
        return False
    return True


def to_array(data: Any, dtype: Any = None, what: str = "Tensor",
             infer: bool = False) -> np.ndarray:
    """The dtype policy in one place.

    A numpy array (or numpy scalar) keeps its dtype; Python scalars and (nested) lists of
    numbers become float32, as in PyTorch's ``torch.Tensor``, or, with ``infer``, take
    ``torch.tensor``'s dtypes (ints int64, floats float32); Python bools stay bool. ``dtype``
    overrides. Strings, bytes, objects and ragged lists raise TypeError or ValueError naming
    what was given (``what`` names the caller).
    """
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        if arr.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"{what}: cannot hold an array of dtype {arr.dtype} (shape "
                            f"{arr.shape}); only bool, integer, float and complex arrays can "
                            f"be tensors")
        return arr if dtype is None else arr.astype(dtype, copy=False)
    if isinstance(data, (str, bytes, bytearray)):
        raise TypeError(f"{what}: cannot make a tensor from {type(data).__name__} "
                        f"{_short_repr(data)}; give numbers, a (nested) list of numbers or an "
                        f"ndarray")
    try:
        arr = np.asarray(data, dtype=dtype)
    except ValueError as err:  # ragged nested lists, or a value the dtype cannot take
        raise ValueError(f"{what}: cannot make a tensor from {type(data).__name__} "
                         f"{_short_repr(data)}: {err}") from None
    except TypeError as err:
        raise TypeError(f"{what}: cannot make a tensor from {type(data).__name__} "
                        f"{_short_repr(data)}: {err}") from None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{what}: cannot make a tensor from {type(data).__name__} "
                        f"{_short_repr(data)} (numpy reads it as dtype {arr.dtype}); give "
                        f"numbers, a (nested) list of numbers or an ndarray")
    if dtype is None:
        kind = arr.dtype.kind
        if kind == "f" or (kind in "iu" and not infer):
            arr = arr.astype(np.float32)
        elif kind in "iu":
            arr = arr.astype(np.int64)
        elif kind == "c":
            arr = arr.astype(np.complex64)
    return arr


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


_read_hook: Any = None  # trace.python_read, looked up once (it sits above)


def _python_read(t: Tensor, what: str) -> None:
    """A Python value is read from ``t``: a tg.jit trace refuses it (see Tensor.item)."""
    global _read_hook
    hook = _read_hook
    if hook is None:
        from .trace import python_read as hook

        _read_hook = hook
    hook(t, what)
