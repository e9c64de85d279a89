"""interpolate: values and first and second derivatives through ``tg.testing.check_op``
against a numpy reference of PyTorch's coordinate rules, and PyTorch 2.13's values pinned."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
import tinygrad_reg.nn.functional as F
from tinygrad_reg.testing import strategies as S


def _ref_axis(x, axis, m, scale, mode, align_corners):
    n = x.shape[axis]
    j = np.arange(m, dtype=np.float64)
    if mode == "nearest":
        return np.take(x, np.minimum(np.floor(j * scale).astype(int), n - 1), axis=axis)
    if mode == "nearest-exact":
        return np.take(x, np.minimum(np.floor((j + 0.5) * scale).astype(int), n - 1), axis=axis)
    if align_corners:
        src = j * (n - 1) / (m - 1) if m > 1 else np.zeros(m)
    else:
        src = np.maximum((j + 0.5) * scale - 0.5, 0)
    lo = np.minimum(np.floor(src).astype(int), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    shape = [1] * x.ndim
    shape[axis] = m
    lam = (src - lo).reshape(shape)
    return np.take(x, lo, axis=axis) * (1 - lam) + np.take(x, hi, axis=axis) * lam


def _ref(x, size, mode, align_corners):
    for k, m in enumerate(size):
        x = _ref_axis(x, 2 + k, m, x.shape[2 + k] / m, mode, align_corners)
    return x


@st.composite
def resize_inputs(draw, d):
    x = draw(S.tensors((draw(st.integers(1, 2)), draw(st.integers(1, 2))) +
                       tuple(draw(st.integers(1, 5)) for _ in range(d))))
    return x, tuple(draw(st.integers(1, 6)) for _ in range(d))


MODES = [("nearest", 1, None), ("nearest", 2, None), ("nearest-exact", 3, None),
         ("linear", 1, False), ("linear", 1, True), ("bilinear", 2, False),
         ("bilinear", 2, True), ("trilinear", 3, None)]


@pytest.mark.parametrize("mode, d, align_corners", MODES,
                         ids=[f"{m}_{d}d_{a}" for m, d, a in MODES])
def test_interpolate(mode, d, align_corners):
    tg.testing.check_op(
        lambda x, size: F.interpolate(x, size=size, mode=mode, align_corners=align_corners),
        resize_inputs(d), ref=lambda x, size: _ref(x, size, mode, bool(align_corners)),
        out_shape=None, name=f"interpolate_{mode}", max_examples=None if d < 3 else 10)


def test_interpolate_pins():
    # PyTorch 2.13 on 0..4: size 8 and scale_factor 1.7 (which uses 1/1.7 as the scale)
    x = tg.arange(5.0).reshape(1, 1, 5)
    np.testing.assert_allclose(F.interpolate(x, size=8, mode="linear").numpy().ravel(),
                               [0.0, 0.4375, 1.0625, 1.6875, 2.3125, 2.9375, 3.5625, 4.0])
    np.testing.assert_allclose(F.interpolate(x, scale_factor=1.7, mode="linear").numpy().ravel(),
                               [0.0, 0.38235295, 0.9705882, 1.5588236, 2.1470587, 2.735294,
                                3.3235295, 3.9117646], rtol=1e-6)
    assert F.interpolate(x, scale_factor=0.5).shape == (1, 1, 2)
    # integer images: nearest keeps the values; linear rounds (PyTorch's uint8 kernel may differ
    # by one)
    u = tg.tensor(np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4) * 10)
    assert F.interpolate(u, size=(2, 2)).dtype == np.uint8
    assert F.interpolate(u, size=(3, 3), mode="bilinear").dtype == np.uint8


def test_interpolate_errors():
    x = tg.ones(1, 1, 4, 4)
    with pytest.raises(NotImplementedError, match="needs 3-d input"):
        F.interpolate(x, size=2, mode="linear")
    with pytest.raises(RuntimeError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners applies to the linear modes"):
        F.interpolate(x, size=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="mode must be"):
        F.interpolate(x, size=2, mode="bicubic")
    assert math.isfinite(F.interpolate(x, size=(7, 1), mode="bilinear").sum().item())
