"""The error classes: each catchable under numpy's name and PyTorch's, so ``except`` clauses
written for either keep working. Every case below raises, in PyTorch 2.13, the PyTorch class
named (RuntimeError, IndexError or NotImplementedError); here the same error is also the
numpy/Python class (ValueError or TypeError)."""

from __future__ import annotations

import pytest

import tinygrad_reg as tg
import tinygrad_reg.nn.functional as F
from tinygrad_reg.errors import ArgumentError, DimError, DTypeError, NotSupportedError, ShapeError


def test_the_classes():
    assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentError, RuntimeError)
    assert issubclass(ShapeError, ArgumentError)
    assert issubclass(DimError, ValueError) and issubclass(DimError, IndexError)
    assert issubclass(DTypeError, TypeError) and issubclass(DTypeError, RuntimeError)
    assert issubclass(NotSupportedError, NotImplementedError)
    assert issubclass(NotSupportedError, ValueError)


CASES = [  # (what, call, PyTorch's class, ours also)
    ("a dim out of range", lambda: tg.ones(2, 3).sum(5), IndexError, ValueError),
    ("squeeze out of range", lambda: tg.tensor(1.0).squeeze(1), IndexError, ValueError),
    ("cumsum of a 0-d tensor along dim 1", lambda: tg.tensor(1.0).cumsum(1), IndexError,
     ValueError),
    ("matmul's inner dims", lambda: tg.ones(2, 4) @ tg.ones(1, 3), RuntimeError, ValueError),
    ("a 0-d matmul", lambda: tg.tensor(3.0) @ tg.tensor(3.0), RuntimeError, ValueError),
    ("broadcasting", lambda: tg.ones(2, 3) + tg.ones(4), RuntimeError, ValueError),
    ("reshape", lambda: tg.ones(3, 4).reshape(5, -1), RuntimeError, ValueError),
    ("a repeated dim", lambda: tg.ones(3, 4).flip((0, 0)), RuntimeError, ValueError),
    ("clamp without bounds", lambda: tg.ones(2).clamp(), RuntimeError, ValueError),
    ("linspace of bools", lambda: tg.linspace(5, 10, 3, dtype=tg.bool), RuntimeError,
     ValueError),
    ("linspace of -1 steps", lambda: tg.linspace(1, 2, -1), RuntimeError, ValueError),
    ("a negative size", lambda: tg.zeros(2, -3), RuntimeError, ValueError),
    ("a kernel larger than the input",
     lambda: F.conv2d(tg.ones(1, 1, 6, 7), tg.ones(6, 1, 3, 3), dilation=3), RuntimeError,
     ValueError),
    ("three padding values for 2-d",
     lambda: F.conv2d(tg.ones(2, 16, 2, 2), tg.ones(32, 16, 3, 3), padding=(1, 1, 1)),
     RuntimeError, ValueError),
    ("an unknown pad mode", lambda: F.pad(tg.ones(3, 3, 3), (3, 0), mode="typo"),
     NotImplementedError, ValueError),
    ("a float target of the wrong shape",
     lambda: F.cross_entropy(tg.ones(4, 10), tg.ones(4, 1)), RuntimeError, TypeError),
    ("an integer to a negative power", lambda: tg.tensor([2]) ** -2, RuntimeError, ValueError),
    ("mixed float dtypes in a product", lambda: tg.ones(2) @ tg.ones(2, dtype=tg.float64),
     RuntimeError, TypeError),
]


@pytest.mark.parametrize("what, call, torch_class, numpy_class", CASES,
                         ids=[c[0] for c in CASES])
def test_pytorchs_class_and_numpys(what, call, torch_class, numpy_class):
    with pytest.raises(torch_class):
        call()
    with pytest.raises(numpy_class):
        call()


def test_an_op_error_keeps_its_name_and_shapes():
    with pytest.raises(ShapeError, match=r"Add: .* \(input shapes: \(2, 3\), \(4,\)\)"):
        tg.ones(2, 3) + tg.ones(4)
