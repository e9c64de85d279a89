"""The error classes ops raise, each catchable under numpy's name and PyTorch's.

numpy reports a bad shape or argument with ValueError, PyTorch with RuntimeError (and a dim
out of range with IndexError). Code written for either should keep working, so each class
derives from both: ``except ValueError`` and ``except RuntimeError`` both catch a
:class:`ShapeError`.
"""

from __future__ import annotations


class ArgumentError(ValueError, RuntimeError):
    """An argument an op cannot take (an unknown mode, a repeated dim, an integer raised to a
    negative power): PyTorch's RuntimeError, numpy's ValueError."""


class ShapeError(ArgumentError):
    """Shapes that do not fit together (a matmul's inner dims, a reshape's element count, a
    kernel larger than its input): PyTorch's RuntimeError, numpy's ValueError."""


class NotSupportedError(ArgumentError, NotImplementedError):
    """An option PyTorch does not implement either (an unknown padding mode): its
    NotImplementedError (a RuntimeError), numpy's ValueError."""


class DimError(ValueError, IndexError):
    """A dim out of range for the tensor's number of dims: PyTorch's IndexError, numpy's
    ValueError (``AxisError``)."""


class DTypeError(TypeError, RuntimeError):
    """Operands whose dtypes an op refuses to mix (``matmul`` of float32 and float64):
    PyTorch's RuntimeError; a TypeError in Python's terms."""


__all__ = ["ArgumentError", "ShapeError", "NotSupportedError", "DimError", "DTypeError"]
