"""Matrix products (``matmul``, ``mm``, ``bmm``), the fused affine map of a Linear layer, and
``einsum``.

``einsum`` has no op of its own: the equation is planned into diagonals (a letter repeated in
one operand), sums (a letter no other operand or the output needs), and one batched matrix
product per pair of operands (left to right: shared letters still needed are the batch,
shared letters not needed any more are contracted), then a permutation into the output's
order. Every step has its own backward, so einsum is differentiable any number of times.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import OPS, Tensor
from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from . import onnx_rules
from .common import as_tensor_operand, mixed_dtypes, operand
from .indexing import diagonal
from .jit_rules import Lowered


def _swap(t: Tensor) -> Tensor:
    """Swap the last two axes."""
    return t.mT


def _rows_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for a C-contiguous a (..., k) and a matrix b (k, n), as one BLAS product of a's
    (rows, k) view into a fresh array of its own (not a view of one)."""
    out = np.empty(a.shape[:-1] + b.shape[1:], np.result_type(a, b))
    np.dot(a.reshape(-1, a.shape[-1]), b, out=out.reshape(-1, b.shape[1]))
    return out


class MatMul(Function):
    """out = a @ b with numpy's semantics (1-D vectors, 2-D matrices, batched with broadcast
    batch axes).   da = grad @ bᵀ, db = aᵀ @ grad, each reduced to its input's shape (b is
    saved only if a's gradient is needed, a only if b's)."""
    to_onnx = onnx_rules.simple("MatMul")

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        if b.ndim == 2 and a.ndim >= 2:
            # the same product as np.matmul, with less dispatch (np.dot goes to BLAS directly;
            # np.matmul takes ~1 µs more, and 4x as long for an outer product, k = 1); a
            # batch of rows times one matrix is one product of a C-contiguous (n, k) view
            # (np.matmul loops over the batch: twice the time for (32, 32, 64) @ (64, 192))
            if a.ndim == 2:
                return np.dot(a, b)
            if a.flags.c_contiguous:
                return _rows_dot(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_shape, b_shape = ctx.inputs[0].shape, ctx.inputs[1].shape
        if len(a_shape) == 2 and len(b_shape) == 2:  # the common case, without reshapes
            return (grad @ b.T if need_a else None), (a.T @ grad if need_b else None)
        # promote vectors to matrices as numpy does, then undo the promotion
        a2_shape = (1,) + a_shape if len(a_shape) == 1 else a_shape
        b2_shape = b_shape + (1,) if len(b_shape) == 1 else b_shape
        g = grad  # restore the removed axes: m (last) first, so 1-D @ 1-D (0-d grad) works
        if len(b_shape) == 1:
            g = g.expand_dims(-1)
        if len(a_shape) == 1:
            g = g.expand_dims(-2)
        ga = gb = None
        if need_a:
            ga = g @ _swap(b.reshape(b2_shape))
            ga = ga.sum_to(a2_shape).reshape(a_shape)
        if need_b:
            gb = _swap(a.reshape(a2_shape)) @ g
            gb = gb.sum_to(b2_shape).reshape(b_shape)
        return ga, gb

    @staticmethod
    def lower(ins, out, attrs):
        if out.ndim == 0 or np.result_type(*ins) != out.dtype:  # vector @ vector: a scalar
            return None
        a, b = ins
        if b.ndim == 2 and (a.ndim == 2 or a.flags.c_contiguous):  # as the forward chooses
            if not out.flags.c_contiguous:
                return None
            if a.ndim == 2:
                return Lowered(("dot({i0}, {i1}, out={o})",))
            return Lowered(("dot({i0}.reshape(-1, {c0}), {i1}, out={o}.reshape(-1, {c1}))",),
                           consts=(a.shape[-1], b.shape[1]))
        return Lowered(("matmul({i0}, {i1}, out={o})",))


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b with numpy's semantics (1-D, 2-D and batched). Both operands must have the same
    dtype (:class:`~tinygrad_reg.errors.DTypeError` otherwise, as PyTorch: write x.float()
    or model.double(); numpy would silently compute in float64)."""
    a, b = as_tensor_operand(a), as_tensor_operand(b)
    if a._data.dtype is not b._data.dtype and a._data.dtype != b._data.dtype:
        raise mixed_dtypes("MatMul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"MatMul: both operands need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    return MatMul.apply(a, b)


def mm(a: Tensor, b: Tensor) -> Tensor:
    """The product of two matrices (PyTorch's ``mm``: 2-D only, no broadcasting)."""
    a, b = as_tensor_operand(a), as_tensor_operand(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expects two 2-D matrices, got shapes {a.shape} and {b.shape}; "
                         f"use matmul for vectors and batches")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched matrix products (PyTorch's ``bmm``): a (B, n, m) @ b (B, m, p) -> (B, n, p),
    with equal batch sizes (no broadcasting)."""
    a, b = as_tensor_operand(a), as_tensor_operand(b)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expects two 3-D tensors with the same batch size, got shapes "
                         f"{a.shape} and {b.shape}; use matmul to broadcast")
    return matmul(a, b)


class Linear(Function):
    """out = x @ wᵀ + b, one node for a whole dense layer (x: (..., in), w: (out, in),
    b: (out,) or absent).   dx = grad @ w,  dw = gradᵀ @ x (batch axes flattened),
    db = grad, which the engine sums over the batch axes (the one place broadcasting is
    undone). One node instead of Transpose, MatMul and Add cuts the Python overhead of each
    layer to a third; the bias is added in place into the product, so no temporary. (w is
    saved only if x's gradient is needed, x only if w's.)"""

    @staticmethod
    def forward(ctx, x, w, b=None):
        need = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(x if need[1] else None, w if need[0] else None)
        if x.ndim == 2:  # (np.dot, and one (n, in) view for a batch: see MatMul)
            out = np.dot(x, w.T)
        elif x.flags.c_contiguous:
            out = _rows_dot(x, w.T)
        else:
            out = np.matmul(x, w.T)
        if b is not None:
            if b.dtype == out.dtype:
                out += b
            else:  # keep numpy's promotion, as x @ w.T + b would
                out = out + b
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        # MatMul.apply rather than @: the shapes were checked by linear(), so the operator's
        # dispatch and matmul()'s checks would only add overhead to every layer's backward
        gx = MatMul.apply(grad, w) if need[0] else None
        gw = LinearWeightGrad.apply(grad, x) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (grad if need[2] else None)

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        if arrays[0].ndim == 2:
            return g.node("Gemm", inputs, transB=1)
        y = g.node("MatMul", [inputs[0], g.node("Transpose", [inputs[1]], perm=[1, 0])])
        return g.node("Add", [y, inputs[2]]) if len(inputs) > 2 else y

    @staticmethod
    def lower(ins, out, attrs):
        # forward: np.matmul(x, w.T), then += b when b has the product's dtype
        if np.result_type(ins[0], ins[1]) != out.dtype or not out.flags.c_contiguous:
            return None
        x = ins[0]
        if x.ndim == 2:  # as the forward chooses
            lines = ["dot({i0}, {i1}.T, out={o})"]
        elif x.flags.c_contiguous:
            lines = ["dot({i0}.reshape(-1, {c0}), {i1}.T, out={o}.reshape(-1, {c1}))"]
        else:
            lines = ["matmul({i0}, {i1}.T, out={o})"]
        if len(ins) == 3:
            if ins[2].dtype != out.dtype:
                return None
            lines.append("add({o}, {i2}, out={o})")
        return Lowered(tuple(lines), consts=(x.shape[-1], ins[1].shape[0]))


class LinearWeightGrad(Function):
    """out = G₂ᵀ X₂ (out_features, in_features), G₂ = g.reshape(-1, out_features) and
    X₂ = x.reshape(-1, in_features): a Linear layer's weight gradient from the output's
    gradient g and the input x, every leading axis a batch axis, as one node (not two
    reshapes, a transpose and a product). For the upstream gradient U:
    dg = X₂ Uᵀ and dx = G₂ U, each reshaped to its input's shape."""

    @staticmethod
    def forward(ctx, g, x):
        need = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(x if need[0] else None, g if need[1] else None)
        return np.dot(g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1]))

    @staticmethod
    def backward(ctx, u):
        x, g = ctx.saved_tensors
        need = ctx.needs_input_grad
        g_shape, x_shape = ctx.inputs[0].shape, ctx.inputs[1].shape
        dg = (MatMul.apply(x.reshape(-1, x_shape[-1]), u.T).reshape(g_shape)
              if need[0] else None)
        dx = (MatMul.apply(g.reshape(-1, g_shape[-1]), u).reshape(x_shape)
              if need[1] else None)
        return dg, dx

    @staticmethod
    def lower(ins, out, attrs):
        # forward: np.dot of the two flattened views, the first transposed
        g, x = ins
        if np.result_type(g, x) != out.dtype or not out.flags.c_contiguous or \
                not g.ndim or not x.ndim:
            return None
        return Lowered(("dot({i0}.reshape(-1, {c0}).T, {i1}.reshape(-1, {c1}), out={o})",),
                       consts=(g.shape[-1], x.shape[-1]))


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias as one Linear node: x (..., in), weight (out, in), bias (out,)
    or None. The layout of PyTorch's ``F.linear`` and of the tutorial's ``W[l]``. x, weight
    and bias must have one dtype (:class:`~tinygrad_reg.errors.DTypeError` otherwise, as
    PyTorch: float64 data for a float32 model needs x.float())."""
    if not isinstance(x, Tensor):
        x = as_tensor_operand(x)
    if not isinstance(weight, Tensor):
        weight = as_tensor_operand(weight)
    if x._data.dtype is not weight._data.dtype and x._data.dtype != weight._data.dtype:
        raise mixed_dtypes("Linear", x, weight)
    # shapes read from the arrays: this runs for every layer of every step
    x_shape, w_shape = x._data.shape, weight._data.shape
    if len(w_shape) != 2:
        raise ShapeError(f"Linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{w_shape}")
    if not x_shape or x_shape[-1] != w_shape[1]:
        raise ShapeError(f"Linear: input of shape {x_shape} does not match weight of shape "
                         f"{w_shape}: the input's last axis must have "
                         f"{w_shape[1]} features")
    if bias is None:
        return Linear.apply(x, weight)
    if not isinstance(bias, Tensor):
        bias = operand(bias, weight)
    elif bias._data.dtype is not weight._data.dtype and bias._data.dtype != weight._data.dtype:
        raise mixed_dtypes("Linear", weight, bias)
    if bias._data.shape != (w_shape[0],):
        raise ShapeError(f"Linear: bias must have shape ({w_shape[0]},) to match weight "
                         f"of shape {w_shape}, got {bias._data.shape}")
    return Linear.apply(x, weight, bias)


# -- einsum ------------------------------------------------------------------------------------

_ELLIPSIS = "."


def _split(fn: str, term: str, ndim: int, i: int) -> list:
    """The labels of one operand's subscripts: letters, and ('.', k) for the k-th dim from the
    right of its ellipsis."""
    letters = term.replace("...", "")
    if term.count("...") > 1 or (letters and not letters.isalpha()):
        raise ArgumentError(f"{fn}: operand {i}'s subscripts {term!r} may hold letters and at "
                            f"most one ellipsis '...'")
    if "..." not in term:
        if len(term) != ndim:
            raise ShapeError(f"{fn}: operand {i} has {ndim} dims but its subscripts {term!r} "
                             f"name {len(term)}")
        return list(term)
    before, after = term.split("...")
    n = ndim - len(before) - len(after)
    if n < 0:
        letters = len(before) + len(after)
        raise ShapeError(f"{fn}: operand {i} has {ndim} dims, fewer than the {letters} "
                         f"letters of its subscripts {term!r}")
    return list(before) + [(_ELLIPSIS, n - 1 - k) for k in range(n)] + list(after)


def _parse(equation: str, tensors: list) -> tuple[list, list, dict]:
    fn = "einsum"
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(tensors):
        raise ArgumentError(f"{fn}: the equation {equation!r} has {len(terms)} operand "
                            f"subscripts but {len(tensors)} tensors were given")
    labels = [_split(fn, term, t.ndim, i) for i, (term, t) in enumerate(zip(terms, tensors))]
    sizes: dict = {}  # each label's size; a size of 1 broadcasts against any other
    for i, (ls, t) in enumerate(zip(labels, tensors)):
        own: dict = {}
        for label, n in zip(ls, t.shape):
            if own.setdefault(label, n) != n:
                raise ShapeError(f"{fn}: letter {label!r} is repeated in operand {i} (shape "
                                 f"{t.shape}) with sizes {own[label]} and {n}; a diagonal "
                                 f"needs equal sizes")
            m = sizes.get(label)
            if m is None or m == 1:
                sizes[label] = n
            elif n != m and n != 1:
                what = "an ellipsis dim" if isinstance(label, tuple) else f"letter {label!r}"
                raise ShapeError(f"{fn}: {what} of operand {i} (shape {t.shape}) has size {n}, "
                                 f"another operand's has {m}: they must match or one be 1, in "
                                 f"{equation!r}")
    dots = sorted({lab for ls in labels for lab in ls if isinstance(lab, tuple)},
                  key=lambda lab: -lab[1])
    if arrow:
        letters = rhs.replace("...", "")
        if rhs.count("...") > 1 or (letters and not letters.isalpha()):
            raise ArgumentError(f"{fn}: the output subscripts {rhs!r} may hold letters and at "
                                f"most one ellipsis")
        before, _, after = rhs.partition("...")
        out = list(before) + (dots if "..." in rhs else []) + list(after)
        letters = [c for c in out if not isinstance(c, tuple)]
        if len(set(letters)) != len(letters):
            raise ArgumentError(f"{fn}: the output subscripts {rhs!r} repeat a letter")
        missing = [c for c in letters if c not in sizes]
        if missing:
            raise ArgumentError(f"{fn}: output letter {missing[0]!r} does not appear in the "
                                f"operands' subscripts of {equation!r}")
    else:
        counts: dict = {}
        for ls in labels:
            for lab in ls:
                if not isinstance(lab, tuple):
                    counts[lab] = counts.get(lab, 0) + 1
        out = dots + sorted(c for c, k in counts.items() if k == 1)
    return labels, out, sizes


def _sum_out(t: Tensor, labels: list, drop: set) -> tuple[Tensor, list]:
    axes = tuple(i for i, lab in enumerate(labels) if lab in drop)
    if not axes:
        return t, labels
    return t.sum(axis=axes), [lab for lab in labels if lab not in drop]


def _prepare(t: Tensor, labels: list, keep: set, sizes: dict) -> tuple[Tensor, list]:
    """One operand made ready to contract: repeated letters become one diagonal dim,
    broadcast (size-1) dims are squeezed away, letters nobody else needs are summed."""
    labels = list(labels)
    while len(set(labels)) != len(labels):
        lab = next(lab for lab in labels if labels.count(lab) > 1)
        i = labels.index(lab)
        j = labels.index(lab, i + 1)
        t = diagonal(t, 0, i, j)
        labels = [x for k, x in enumerate(labels) if k not in (i, j)] + [lab]
    squeeze = tuple(i for i, lab in enumerate(labels) if t.shape[i] == 1 and sizes[lab] != 1)
    if squeeze:
        t = t.squeeze(squeeze)
        labels = [lab for i, lab in enumerate(labels) if i not in squeeze]
    return _sum_out(t, labels, {lab for lab in labels if lab not in keep})


def _contract(a: Tensor, la: list, b: Tensor, lb: list, keep: set) -> tuple[Tensor, list]:
    """a ⊗ b summed over the shared labels not in ``keep``, as one batched matmul: shared
    labels in ``keep`` are the batch, a's own the rows, b's own the columns."""
    batch = [lab for lab in la if lab in lb and lab in keep]
    inner = [lab for lab in la if lab in lb and lab not in keep]
    rows = [lab for lab in la if lab not in lb]
    cols = [lab for lab in lb if lab not in la]
    size_a = dict(zip(la, a.shape))
    size_b = dict(zip(lb, b.shape))

    def prod(labels: list, size: dict) -> int:
        return int(np.prod([size[lab] for lab in labels], dtype=np.int64))

    a2 = a.permute(*[la.index(lab) for lab in batch + rows + inner])
    a2 = a2.reshape(*[size_a[lab] for lab in batch], prod(rows, size_a), prod(inner, size_a))
    b2 = b.permute(*[lb.index(lab) for lab in batch + inner + cols])
    b2 = b2.reshape(*[size_b[lab] for lab in batch], prod(inner, size_b), prod(cols, size_b))
    out = OPS["matmul"](a2, b2)
    shape = [size_a[lab] for lab in batch] + [size_a[lab] for lab in rows] + \
        [size_b[lab] for lab in cols]
    return out.reshape(*shape), batch + rows + cols


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum("ij,jk->ik", a, b)`` is a @ b;
    operands may also come as one list. Letters repeated within an operand take its diagonal
    (``"ii->i"``), letters left out of the output are summed, ``...`` stands for the
    remaining dims, and a dim of size 1 broadcasts against the same letter's size in another
    operand; without ``->`` the output holds the ellipsis dims, then the letters used once,
    in alphabetical order."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {equation!r}")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in operands]
    if not tensors:
        raise ArgumentError("einsum: needs at least one operand")
    labels, out, sizes = _parse(equation, tensors)
    out_set = set(out)
    items = []
    for k, (t, ls) in enumerate(zip(tensors, labels)):
        keep = out_set.union(*[set(o) for i, o in enumerate(labels) if i != k])
        items.append(_prepare(t, ls, keep, sizes))
    t, ls = items[0]
    for k in range(1, len(items)):
        keep = out_set.union(*[set(o) for _, o in items[k + 1:]])
        t, ls = _contract(t, ls, items[k][0], items[k][1], keep)
    t, ls = _sum_out(t, ls, {lab for lab in ls if lab not in out_set})
    perm = [ls.index(lab) for lab in out]
    return t.permute(*perm) if perm != list(range(len(perm))) else t


__all__ = ["linear", "matmul", "mm", "bmm", "einsum"]
