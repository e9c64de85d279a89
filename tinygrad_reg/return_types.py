"""The named tuples that ops with two results return, as PyTorch's ``torch.return_types``.

``x.max(1)`` gives a :class:`max`, ``x.topk(3)`` a :class:`topk`, and so on: a tuple of two
Tensors (``values, indices = x.max(1)`` unpacks it) whose fields also have their names
(``x.max(1).indices``), with the type named as the op (``type(x.topk(3)).__name__`` is
``"topk"``, as PyTorch's ``torch.return_types.topk``)."""

from __future__ import annotations

from typing import Any, NamedTuple

# (class names are the ops' names, as PyTorch's; each shadows a builtin only in this module)


class max(NamedTuple):  # noqa: N801, A001
    """``(values, indices)`` of ``max(x, dim)``."""

    values: Any
    indices: Any


class min(NamedTuple):  # noqa: N801, A001
    """``(values, indices)`` of ``min(x, dim)``."""

    values: Any
    indices: Any


class sort(NamedTuple):  # noqa: N801
    """``(values, indices)`` of ``sort``."""

    values: Any
    indices: Any


class topk(NamedTuple):  # noqa: N801
    """``(values, indices)`` of ``topk``."""

    values: Any
    indices: Any


class cummax(NamedTuple):  # noqa: N801
    """``(values, indices)`` of ``cummax``."""

    values: Any
    indices: Any


class cummin(NamedTuple):  # noqa: N801
    """``(values, indices)`` of ``cummin``."""

    values: Any
    indices: Any


class kthvalue(NamedTuple):  # noqa: N801
    """``(values, indices)`` of ``kthvalue``."""

    values: Any
    indices: Any


class median(NamedTuple):  # noqa: N801
    """``(values, indices)`` of ``median(x, dim)``."""

    values: Any
    indices: Any


class aminmax(NamedTuple):  # noqa: N801
    """``(min, max)`` of ``aminmax``."""

    min: Any  # noqa: A003
    max: Any  # noqa: A003


__all__ = ["max", "min", "sort", "topk", "cummax", "cummin", "kthvalue", "median", "aminmax"]
