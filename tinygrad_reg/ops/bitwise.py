"""Bitwise and logical ops, with PyTorch's names: shifts (``<<``, ``>>``), ``bitwise_and/or/
xor/not`` (the ``&``, ``|``, ``^``, ``~`` operators) and ``logical_and/or/xor/not``. None has a
gradient; each is an op so that traces and exports see it.

Bitwise ops take bool or integer tensors (a Python int beside an integer tensor takes its
dtype); shifting a float is refused, as in PyTorch. Logical ops take any dtype and give bool:
nonzero is True.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import OPS, Tensor
from ..autograd import Function
from ..errors import DTypeError
from .common import operands


class Shift(Function):
    """out = a << b (``op="left"``) or a >> b (``"right"``, arithmetic for signed integers),
    bit patterns wrapping around the dtype as in C and PyTorch. No gradient."""

    @staticmethod
    def forward(ctx, a, b, op):
        return (np.left_shift if op == "left" else np.right_shift)(a, b)

    @staticmethod
    def backward(ctx, grad):
        return None, None


class LogicalOf(Function):
    """out = a and/or/xor b (``op``), or not a, of the truth values (nonzero is True), as
    bool. No gradient."""

    ufuncs = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}

    @staticmethod
    def forward(ctx, *xs, op):
        if op == "not":
            return np.logical_not(xs[0])
        return LogicalOf.ufuncs[op](xs[0], xs[1])

    @staticmethod
    def backward(ctx, grad):
        return (None,) * len(ctx.inputs)


def _integers(fn: str, *ts: Tensor) -> None:
    for t in ts:
        if t._data.dtype.kind not in "iu":
            raise DTypeError(f"{fn}: needs integer tensors, got dtype {t._data.dtype} (shape "
                             f"{t._data.shape}); PyTorch does not shift "
                             f"{'bools' if t._data.dtype.kind == 'b' else 'floats'} either")


def bitwise_left_shift(a: Any, b: Any) -> Tensor:
    """a << b for integer tensors (PyTorch's ``bitwise_left_shift``); bits shifted past the
    dtype's width are lost, as in C."""
    a, b = operands(a, b)
    _integers("bitwise_left_shift", a, b)
    return Shift.apply(a, b, op="left")


def bitwise_right_shift(a: Any, b: Any) -> Tensor:
    """a >> b for integer tensors, arithmetic (sign-filling) for signed ones."""
    a, b = operands(a, b)
    _integers("bitwise_right_shift", a, b)
    return Shift.apply(a, b, op="right")


def bitwise_and(a: Any, b: Any) -> Tensor:
    """a & b, bit by bit, for bool or integer tensors."""
    return OPS["logical"]("and", a, b)


def bitwise_or(a: Any, b: Any) -> Tensor:
    """a | b, bit by bit, for bool or integer tensors."""
    return OPS["logical"]("or", a, b)


def bitwise_xor(a: Any, b: Any) -> Tensor:
    """a ^ b, bit by bit, for bool or integer tensors."""
    return OPS["logical"]("xor", a, b)


def bitwise_not(a: Any) -> Tensor:
    """~a, bit by bit (``not`` for bools), for bool or integer tensors."""
    return OPS["logical"]("not", a)


def _logical(op: str, a: Any, b: Any = None) -> Tensor:
    if op == "not":
        return LogicalOf.apply(a if isinstance(a, Tensor) else Tensor(a), op=op)
    a, b = operands(a, b)
    return LogicalOf.apply(a, b, op=op)


def logical_and(a: Any, b: Any) -> Tensor:
    """a and b elementwise, of any dtypes (nonzero is True), as bool."""
    return _logical("and", a, b)


def logical_or(a: Any, b: Any) -> Tensor:
    """a or b elementwise, of any dtypes (nonzero is True), as bool."""
    return _logical("or", a, b)


def logical_xor(a: Any, b: Any) -> Tensor:
    """a xor b elementwise, of any dtypes (nonzero is True), as bool."""
    return _logical("xor", a, b)


def logical_not(a: Any) -> Tensor:
    """not a elementwise, of any dtype (zero is True), as bool."""
    return _logical("not", a)


__all__ = ["bitwise_left_shift", "bitwise_right_shift", "bitwise_and", "bitwise_or",
           "bitwise_xor", "bitwise_not", "logical_and", "logical_or", "logical_xor",
           "logical_not"]
