"""Shifts, bitwise and logical ops: values and dtypes pinned against PyTorch 2.13, and the
refusals (floats cannot be shifted or combined bit by bit)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg

DATA = [[1, -8, 1], [32, 1, 6]]


def test_shifts_wrap_as_pytorchs():
    x = tg.tensor(DATA, dtype=tg.int32)
    np.testing.assert_array_equal((x << 2).numpy(), [[4, -32, 4], [128, 4, 24]])
    np.testing.assert_array_equal((x >> 2).numpy(), [[0, -2, 0], [8, 0, 1]])
    np.testing.assert_array_equal((x << 31).numpy(), [[-2**31, 0, -2**31], [0, -2**31, 0]])
    s = tg.tensor([-1, -3, 1, 7, 0, -2**31, 2**31 - 1], dtype=tg.int32)
    np.testing.assert_array_equal((s >> 31).numpy(), [-1, -1, 0, 0, 0, -1, 0])
    np.testing.assert_array_equal((s << 8).numpy(), [-256, -768, 256, 1792, 0, 0, -256])
    np.testing.assert_array_equal((x << tg.tensor([0, 2, 4], dtype=tg.int32)).numpy(),
                                  [[1, -32, 16], [32, 4, 96]])
    assert (x << 2).dtype == np.int32 and (1 << x).dtype == np.int32
    np.testing.assert_array_equal(tg.bitwise_right_shift(x, 1).numpy(), (x >> 1).numpy())


def test_bitwise_with_python_ints_keeps_the_dtype():
    x = tg.tensor(DATA, dtype=tg.int32)
    np.testing.assert_array_equal((x ^ 0x1337).numpy(), [[4918, -4913, 4918], [4887, 4918, 4913]])
    np.testing.assert_array_equal((0x1337 & x).numpy(), [[1, 4912, 1], [32, 1, 6]])
    np.testing.assert_array_equal((~x).numpy(), [[-2, 7, -2], [-33, -2, -7]])
    np.testing.assert_array_equal((0x1337 ^ x).numpy(), (x ^ 0x1337).numpy())
    assert (x | 7).dtype == np.int32 and tg.bitwise_not(x).dtype == np.int32
    b = tg.tensor([True, False])
    assert (b & True).dtype == np.bool_ and (~b).numpy().tolist() == [False, True]


def test_logical_ops_take_any_dtype():
    np.testing.assert_array_equal(tg.logical_not(tg.tensor([1.0, 2.0, 0.0, 0.5])).numpy(),
                                  [False, False, True, False])
    np.testing.assert_array_equal(tg.logical_xor(tg.tensor([1.0, 0.0]), tg.tensor([0, 0])).numpy(),
                                  [True, False])
    np.testing.assert_array_equal(tg.logical_and(tg.tensor([2, 0]), 1.5).numpy(), [True, False])
    np.testing.assert_array_equal(tg.logical_or(tg.tensor([0.0, 0.0]), tg.tensor([0, 3])).numpy(),
                                  [False, True])


def test_floats_are_refused():
    # PyTorch: RuntimeError ("not implemented for 'Float'"); here DTypeError, also a TypeError
    for bad in (lambda: tg.tensor([1.0]) << 2, lambda: tg.tensor([4]) >> tg.tensor([1.0]),
                lambda: tg.tensor([4]) << 1.0, lambda: tg.tensor([1.0]) & 1,
                lambda: ~tg.tensor([1.0])):
        with pytest.raises(RuntimeError):
            bad()
        with pytest.raises(TypeError):
            bad()
