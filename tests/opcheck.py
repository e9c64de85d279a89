"""The registry-driven op property test: one :class:`OpCase` entry per op, one runner.

Each ``tests/test_ops_<family>.py`` lists its cases and parametrizes :func:`check_op` over
them, so adding an op means adding one entry. For every drawn example the runner checks:

1. forward against the numpy reference (values, shape, dtype float64);
2. inputs and the upstream gradient are not mutated by forward, backward or a second-order
   pass;
3. ``gradcheck`` and ``gradgradcheck`` (float64 central differences, random upstream grads);
4. float32 in -> float32 out, float32 first- and second-order gradients, float32 ``.grad``.

A case's ``inputs`` strategy draws ``(arrays, attrs)``: float64 arrays are differentiated
(other dtypes, such as a bool condition, are passed as constant tensors), ``attrs`` are the
keyword arguments of both ``fn`` and ``ref``. Values are drawn away from kinks, poles and
ties by construction (see :mod:`tinygrad_reg.testing.strategies`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import note
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import gradcheck, gradgradcheck


@dataclass(frozen=True)
class OpCase:
    name: str
    fn: Callable[..., tg.Tensor]          # (*tensors, **attrs) -> Tensor
    ref: Callable[..., np.ndarray]        # (*arrays, **attrs) -> ndarray
    inputs: st.SearchStrategy             # -> (tuple of ndarrays, dict of attrs)

    def __repr__(self) -> str:  # the pytest id and Hypothesis' falsifying-example line
        return self.name


def _is_float(a: np.ndarray) -> bool:
    return a.dtype.kind == "f"


def _tensors(arrays: tuple, dtype: Any = None) -> list[tg.Tensor]:
    return [tg.Tensor(a.astype(dtype) if dtype is not None and _is_float(a) else a,
                      requires_grad=_is_float(a)) for a in arrays]


def check_forward(case: OpCase, arrays: tuple, attrs: dict) -> None:
    out = case.fn(*_tensors(arrays), **attrs)
    want = np.asarray(case.ref(*arrays, **attrs))
    assert isinstance(out, tg.Tensor)
    assert out.shape == want.shape, f"{case.name}: shape {out.shape}, numpy gives {want.shape}"
    assert out.dtype == np.float64, f"{case.name}: float64 in, {out.dtype} out"
    np.testing.assert_allclose(out.data, want, rtol=1e-10, atol=1e-12,
                               err_msg=f"{case.name}: forward differs from numpy")


def check_not_mutated(case: OpCase, arrays: tuple, attrs: dict, rng: np.random.Generator
                      ) -> None:
    copies = [a.copy() for a in arrays]
    ts = _tensors(arrays)
    out = case.fn(*ts, **attrs)
    up = rng.standard_normal(out.shape)
    up_copy = up.copy()
    xs = [t for t in ts if t.requires_grad]
    gs = tg.grad(out, xs, tg.Tensor(up), create_graph=True, allow_unused=True)
    total = None
    for g in gs:
        if g is not None and g.requires_grad:
            s = (g * g).sum()
            total = s if total is None else total + s
    if total is not None:
        total.backward()
    for i, (a, c) in enumerate(zip(arrays, copies, strict=True)):
        np.testing.assert_array_equal(a, c, err_msg=f"{case.name} mutated input {i}")
    np.testing.assert_array_equal(up, up_copy, err_msg=f"{case.name} mutated its upstream grad")


def check_float32(case: OpCase, arrays: tuple, attrs: dict, rng: np.random.Generator) -> None:
    ts = _tensors(arrays, np.float32)
    xs = [t for t in ts if t.requires_grad]
    out = case.fn(*ts, **attrs)
    assert out.dtype == np.float32, f"{case.name}: float32 in, {out.dtype} out"
    up = tg.Tensor(rng.standard_normal(out.shape).astype(np.float32))
    gs = tg.grad(out, xs, up, create_graph=True, allow_unused=True)
    total = None
    for i, g in enumerate(gs):
        if g is None:
            continue
        assert g.dtype == np.float32, f"{case.name}: input {i} float32, gradient {g.dtype}"
        if g.requires_grad:
            w = tg.Tensor(rng.standard_normal(g.shape).astype(np.float32))
            s = (g * w).sum()
            total = s if total is None else total + s
    if total is not None:
        total.backward()
        for i, x in enumerate(xs):
            if x.grad is not None:
                assert x.grad.dtype == np.float32, \
                    f"{case.name}: input {i} float32, second-order .grad {x.grad.dtype}"


def check_op(case: OpCase, data: st.DataObject) -> None:
    """The whole property test for one drawn example of ``case``."""
    arrays, attrs = data.draw(case.inputs, label="arrays, attrs")
    note(f"shapes: {[a.shape for a in arrays]}")
    rng = np.random.default_rng(0)
    check_forward(case, arrays, attrs)
    check_not_mutated(case, arrays, attrs, rng)

    def fn(*ts: tg.Tensor) -> tg.Tensor:
        return case.fn(*ts, **attrs)

    ts = _tensors(arrays)
    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)
    check_float32(case, arrays, attrs, rng)
