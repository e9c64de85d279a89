"""The harness of the port of tinygrad's op tests (tinygrad/tinygrad, test/backend/test_ops.py)
in tests/test_surface_*.py.

Each test there runs one PyTorch lambda on PyTorch's tensors and on tinygrad's and compares
them. Here the same PyTorch code runs on our tensors, written against ``T``, a small namespace
that maps ``torch.X`` (functions, dtypes), ``torch.nn.X`` and ``torch.nn.functional.X`` onto
tinygrad_reg, and is checked without PyTorch in three ways:

- :func:`grad`: differentiable cases through ``tg.testing.check_op``: values against a numpy
  reference, first and second derivatives against central finite differences in float64, the
  float32 run staying float32 (small shapes, a few examples each; more under the deep profile);
- :func:`pin` / :func:`pin_grad`: values (and dtypes, and gradients) that PyTorch 2.13 gave for
  the same expression, written into the test as literals, where PyTorch's convention matters:
  ties, kinks, special values, integer arithmetic, promotion;
- :func:`raises`: the exception class PyTorch raises.

Every case carries the name of the tinygrad test it re-expresses. Each test file collects its
cases and hands them to :func:`make_tests`, which makes the three parametrized test functions.
"""

from __future__ import annotations

import math
import os
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S

nan, inf = math.nan, math.inf

#: examples per check_op case: few (the op families' own tests go deep), more under deep
EXAMPLES = 40 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 3


class _Names(SimpleNamespace):
    """``T.X`` is ``tg.X``, unless given here."""

    def __getattr__(self, name: str) -> Any:
        return getattr(tg, name)


T = _Names(nn=tg.nn)  # T.tensor, T.float32, T.cumsum, T.nn.Softmax, T.nn.functional.pad, ...
F = tg.nn.functional


class Cases:
    """The cases of one test file: ``cases.grad(...)``, ``cases.pin(...)``, ..."""

    def __init__(self) -> None:
        self.grads: list = []
        self.pins: list = []
        self.errors: list = []

    @staticmethod
    def _id(test: str, bucket: list) -> str:
        n = sum(1 for p in bucket if p.id.startswith(test + "-") or p.id == test)
        return test if n == 0 else f"{test}-{n}"

    def grad(self, test: str, op: Any, *inputs: Any, ref: Any, low: float = -2.0,
             high: float = 2.0, avoid: Any = (), margin: float = 0.1, positive: bool = False,
             **options: Any) -> None:
        """check_op(op) on ``inputs``: a shape draws a float64 tensor in [low, high] (kept
        ``margin`` away from ``avoid``, or ``positive``), anything else is a Hypothesis
        strategy (or a constant, passed as ``st.just``)."""
        from hypothesis import strategies as st

        strategies = []
        for s in inputs:
            if isinstance(s, tuple):
                strategies.append(S.tensors(s, low=low, high=high, avoid=avoid, margin=margin,
                                            positive=positive))
            elif hasattr(s, "example") and hasattr(s, "map"):
                strategies.append(s)
            else:
                strategies.append(st.just(s))
        options.setdefault("out_shape", None)
        if options.get("max_examples") is None or EXAMPLES > options["max_examples"] > 0 and \
                os.environ.get("HYPOTHESIS_PROFILE") == "deep":
            options["max_examples"] = EXAMPLES
        self.grads.append(pytest.param(op, strategies, ref, options, test,
                                       id=self._id(test, self.grads)))

    def pin(self, test: str, fn: Any, want: Any, *, rtol: float = 1e-6,
            atol: float = 0.0) -> None:
        """``fn()`` gives (dtype, values) ``want`` (or a list of them for several outputs), as
        PyTorch 2.13 does."""
        self.pins.append(pytest.param(fn, None, want, rtol, atol, id=self._id(test, self.pins)))

    def pin_grad(self, test: str, fn: Any, inputs: list, want: Any, *, rtol: float = 1e-6,
                 atol: float = 0.0) -> None:
        """``fn(*inputs)`` (float lists become float32 tensors that require grad) gives
        ``want`` = (dtype, values, [gradient of out.sum() for each float input]), as
        PyTorch 2.13 does."""
        self.pins.append(pytest.param(fn, inputs, want, rtol, atol,
                                      id=self._id(test, self.pins)))

    def raises(self, test: str, fn: Any, *classes: type) -> None:
        """``fn()`` raises an exception of each of ``classes`` (the first is PyTorch's)."""
        self.errors.append(pytest.param(fn, classes, id=self._id(test, self.errors)))


def _arrays(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _arrays(o)]
    return [out]


def _check_value(got: Any, want: tuple, rtol: float, atol: float, what: str) -> None:
    dtype, values = want
    arr = got.numpy() if isinstance(got, tg.Tensor) else np.asarray(got)
    assert str(arr.dtype) == dtype, f"{what}: dtype {arr.dtype}, PyTorch's {dtype}"
    expected = np.asarray(values, dtype=arr.dtype)
    assert arr.shape == expected.shape, f"{what}: shape {arr.shape}, PyTorch's {expected.shape}"
    if arr.dtype.kind in "fc":
        np.testing.assert_allclose(arr, expected, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(arr, expected, err_msg=what)


def _make_input(value: Any) -> Any:
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        return tg.tensor(arr.astype(np.float32), requires_grad=True)
    return tg.tensor(value) if isinstance(value, list) else value


def make_tests(cases: Cases) -> tuple:
    """The three parametrized test functions of a file's cases."""

    @pytest.mark.parametrize("op, inputs, ref, options, test", cases.grads)
    def test_gradients(op: Any, inputs: list, ref: Any, options: dict, test: str) -> None:
        tg.testing.check_op(op, *inputs, ref=ref, name=test, **options)

    @pytest.mark.parametrize("fn, inputs, want, rtol, atol", cases.pins)
    def test_pytorch_values(fn: Any, inputs: Any, want: Any, rtol: float, atol: float) -> None:
        # (special values: numpy warns where PyTorch does not; a variance of one element
        # warns in both)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            _pinned(fn, inputs, want, rtol, atol)

    @pytest.mark.parametrize("fn, classes", cases.errors)
    def test_pytorch_errors(fn: Any, classes: tuple) -> None:
        for cls in classes:
            with pytest.raises(cls):
                fn()

    return test_gradients, test_pytorch_values, test_pytorch_errors


def _pinned(fn: Any, inputs: Any, want: Any, rtol: float, atol: float) -> None:
    if inputs is None:
        outs = _arrays(fn())
        wants = want if isinstance(want, list) else [want]
        assert len(outs) == len(wants), f"{len(outs)} outputs, PyTorch's {len(wants)}"
        for k, (o, w) in enumerate(zip(outs, wants)):
            _check_value(o, w, rtol, atol, f"output {k}")
        return
    xs = [_make_input(v) for v in inputs]
    out = fn(*xs)
    dtype, values, grads = want
    _check_value(out, (dtype, values), rtol, atol, "output")
    floats = [x for x in xs if isinstance(x, tg.Tensor) and x.requires_grad]
    gs = tg.grad(out.sum(), floats, allow_unused=True)
    for k, (g, w) in enumerate(zip(gs, grads)):
        g = tg.zeros_like(floats[k]) if g is None else g
        _check_value(g, ("float32", w), rtol, atol, f"gradient {k}")


def empty(*shape: int) -> np.ndarray:
    """An empty array of ``shape`` (a pin's values where PyTorch gave no elements)."""
    return np.empty(shape)


__all__ = ["T", "F", "Cases", "make_tests", "nan", "inf", "empty", "EXAMPLES"]
