"""Matrix products, and the fused affine map of a Linear layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function
from . import onnx_rules
from .common import operand, operands
from .jit_rules import Lowered


def _swap(t: Tensor) -> Tensor:
    """Swap the last two axes."""
    return t.mT


class MatMul(Function):
    """out = a @ b with numpy's semantics (1-D vectors, 2-D matrices, batched with broadcast
    batch axes).   da = grad @ bᵀ, db = aᵀ @ grad, each reduced to its input's shape (b is
    saved only if a's gradient is needed, a only if b's)."""
    to_onnx = onnx_rules.simple("MatMul")

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        if a.ndim == 2 and b.ndim == 2:
            # the same product as np.matmul, with less dispatch (np.dot goes to BLAS directly;
            # np.matmul takes ~1 µs more, and 4x as long for an outer product, k = 1)
            return np.dot(a, b)
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
        if ins[0].ndim == 2 and ins[1].ndim == 2:  # as the forward chooses
            return Lowered(("dot({i0}, {i1}, out={o})",)) if out.flags.c_contiguous else None
        return Lowered(("matmul({i0}, {i1}, out={o})",))


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b with numpy's semantics (1-D, 2-D and batched)."""
    a, b = operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMul: both operands need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    return MatMul.apply(a, b)


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
        out = np.dot(x, w.T) if x.ndim == 2 else np.matmul(x, w.T)  # (np.dot: see MatMul)
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
        gw = None
        if need[1]:
            if x._data.ndim == 2:
                gw = MatMul.apply(grad.T, x)
            else:  # 1-D or batched input: every leading axis is a batch axis
                n_out, n_in = ctx.inputs[1].shape
                gw = MatMul.apply(grad.reshape(-1, n_out).T, x.reshape(-1, n_in))
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
        product = "dot" if ins[0].ndim == 2 else "matmul"  # as the forward chooses
        lines = [product + "({i0}, {i1}.T, out={o})"]
        if len(ins) == 3:
            if ins[2].dtype != out.dtype:
                return None
            lines.append("add({o}, {i2}, out={o})")
        return Lowered(tuple(lines))


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias as one Linear node: x (..., in), weight (out, in), bias (out,)
    or None. The layout of PyTorch's ``F.linear`` and of the tutorial's ``W[l]``."""
    x, weight = operands(x, weight)
    # shapes read from the arrays: this runs for every layer of every step
    x_shape, w_shape = x._data.shape, weight._data.shape
    if len(w_shape) != 2:
        raise ValueError(f"Linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{w_shape}")
    if not x_shape or x_shape[-1] != w_shape[1]:
        raise ValueError(f"Linear: input of shape {x_shape} does not match weight of shape "
                         f"{w_shape}: the input's last axis must have "
                         f"{w_shape[1]} features")
    if bias is None:
        return Linear.apply(x, weight)
    if not isinstance(bias, Tensor):
        bias = operand(bias, weight)
    if bias._data.shape != (w_shape[0],):
        raise ValueError(f"Linear: bias must have shape ({w_shape[0]},) to match weight "
                         f"of shape {w_shape}, got {bias._data.shape}")
    return Linear.apply(x, weight, bias)


__all__ = ["linear", "matmul"]
