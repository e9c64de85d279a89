"""Type promotion follows ``torch.result_type``: Python numbers are weak, a 0-d tensor counts
only when its category (bool < integer < float < complex) is higher, integer with float gives
the float, true division of integers gives float32. Every expected dtype below is what
PyTorch 2.13 gives for the same expression. matmul, linear and conv refuse mixed dtypes, as
PyTorch does."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg
import tinygrad_reg.nn.functional as F

_DT = {"f32": tg.float32, "f64": tg.float64, "f16": tg.float16, "i64": tg.int64,
       "i32": tg.int32, "i8": tg.int8, "u8": tg.uint8, "b": tg.bool, "c64": tg.complex64}


class _Names(dict):
    """``f32`` is a (2,) tensor of ones of that dtype, ``f32_0d`` a 0-d one."""

    def __missing__(self, key):
        name, _, zero = key.partition("_")
        return tg.ones(() if zero else (2,), dtype=_DT[name])


# (expression, the dtype PyTorch 2.13 gives)
PROMOTIONS = [
    ("i64 * 2", "int64"), ("i64 * 2.5", "float32"), ("i32 + 2", "int32"),
    ("i32 + 2.5", "float32"), ("u8 + 300", "uint8"), ("b + True", "bool"), ("b + 1", "int64"),
    ("b + 1.5", "float32"), ("f16 * 2.5", "float16"), ("f32 + 1j", "complex64"),
    ("i64 + 1j", "complex64"), ("f32 + f64_0d", "float32"), ("f64_0d + f32", "float32"),
    ("i32 + i64_0d", "int32"), ("i32 + f64_0d", "float64"), ("b + i32_0d", "int32"),
    ("f32_0d + f64_0d", "float64"), ("f32 + f64", "float64"), ("i64 + f32", "float32"),
    ("i64 + f16", "float16"), ("u8 + i8", "int16"), ("i32 + f16_0d", "float16"),
    ("f64_0d + 2.5", "float64"), ("i32_0d + 2.5", "float32"), ("i64 / 2", "float32"),
    ("i64 / i64", "float32"), ("2 / i64", "float32"), ("b / b", "float32"),
    ("i32 / f64_0d", "float64"), ("i64 ** 2", "int64"), ("i64 ** 0.5", "float32"),
    ("b ** 2", "int64"), ("2 ** i64", "int64"), ("2.0 ** i64", "float32"),
    ("i64 // 2", "int64"), ("i64 // 2.5", "float32"), ("i64 % 2.5", "float32"),
    ("i64.exp()", "float32"), ("b.sqrt()", "float32"), ("i64.abs()", "int64"),
    ("i32.floor()", "int32"), ("i64.square()", "int64"), ("i64.reciprocal()", "float32"),
    ("tg.where(b, 1, 3)", "int64"), ("tg.where(b, 1.0, 3)", "float32"),
    ("tg.where(b, i32, 2.5)", "float32"), ("tg.maximum(i64, f32_0d)", "float32"),
    ("i32 & 7", "int32"), ("7 ^ i32", "int32"), ("i32 < 2.5", "bool"),
    ("f32 * np.float64(2)", "float32"), ("i64 * np.float64(2)", "float32"),
    ("f32 + np.array(2.0)", "float32"), ("f32 + np.ones(2)", "float64"),
]


@pytest.mark.parametrize("expression, dtype", PROMOTIONS, ids=[e for e, _ in PROMOTIONS])
def test_result_dtype_is_pytorchs(expression, dtype):
    names = _Names(tg=tg, np=np)
    assert eval(expression, {}, names).dtype == np.dtype(dtype)  # noqa: S307


@pytest.mark.parametrize("expression, dtype", [
    ("tg.result_type(i32, 2.5)", "float32"), ("tg.result_type(f32, f64_0d)", "float32"),
    ("tg.result_type(i32_0d, i64_0d)", "int64"), ("tg.result_type(u8, i8)", "int16"),
    ("tg.promote_types(tg.int32, tg.float16)", "float16"),
    ("tg.promote_types(tg.int64, tg.float32)", "float32"),
    ("tg.promote_types(tg.uint8, tg.int8)", "int16"),
    ("tg.promote_types(tg.bool, tg.uint8)", "uint8"),
    ("tg.promote_types('float32', tg.float32)", "float32")])
def test_result_type_and_promote_types_are_pytorchs(expression, dtype):
    # torch.result_type(tensor, other) and torch.promote_types(dtype, dtype), under their names
    names = _Names(tg=tg, np=np)
    assert eval(expression, {}, names) == np.dtype(dtype)  # noqa: S307


def test_values_survive_the_conversions():
    # u8 + 300 wraps around as PyTorch's does (300 = 44 mod 256)
    np.testing.assert_array_equal((tg.tensor([1, 2], dtype=tg.uint8) + 300).numpy(), [45, 46])
    np.testing.assert_array_equal((tg.tensor([1, 2]) * 2).numpy(), [2, 4])
    np.testing.assert_allclose((tg.tensor([1, 2]) / 4).numpy(), [0.25, 0.5])


def test_gradients_come_back_in_each_operands_dtype():
    # the 0-d float64 tensor is converted to float32 for the product; its gradient is float64
    a = tg.ones(3, requires_grad=True)
    s = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    y = a * s
    assert y.dtype == np.float32
    y.sum().backward()
    assert s.grad.dtype == np.float64 and s.grad.item() == 3.0
    assert a.grad.dtype == np.float32


@pytest.mark.parametrize("op", ["matmul", "linear", "conv"])
def test_products_refuse_mixed_dtypes(op):
    x32, x64 = tg.ones(2, 3), tg.ones(2, 3, dtype=tg.float64)
    calls = {"matmul": lambda: x32 @ x64.T, "linear": lambda: F.linear(x64, tg.ones(4, 3)),
             "conv": lambda: F.conv1d(tg.ones(1, 2, 5, dtype=tg.float64), tg.ones(3, 2, 2))}
    # PyTorch: RuntimeError "expected both to have the same dtype"; here a DTypeError, which
    # is also a TypeError, naming both dtypes and what to write
    with pytest.raises(RuntimeError, match="same dtype .*float64.*float32|same dtype .*float32"
                                           ".*float64") as info:
        calls[op]()
    assert isinstance(info.value, TypeError) and "x.float()" in str(info.value)
    with pytest.raises(RuntimeError, match="same dtype"):
        tg.ones(2, 2, dtype=tg.int64) @ tg.ones(2, 2)  # PyTorch refuses int @ float too


def test_integer_power_and_division():
    # PyTorch 2.13: integers to negative integer tensor powers: 1 for 1, ±1 for -1, else 0
    base = tg.tensor([0, 1, -1, 2, -2, 0])
    np.testing.assert_array_equal((base ** tg.tensor([-1, -3, -3, -1, -1, 0])).numpy(),
                                  [0, 1, -1, 0, 0, 1])
    with pytest.raises(RuntimeError, match=r"negative integer power -2.*x.float\(\) \*\* -2"):
        tg.tensor([1, 2]) ** -2
    with pytest.raises(RuntimeError, match="integer division by zero"):
        tg.tensor([1, 2]) // tg.tensor([1, 0])
