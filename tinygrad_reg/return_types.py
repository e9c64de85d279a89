"""The named tuples that ops with two results return, as PyTorch's ``torch.return_types``.

``x.max(1)`` gives a :class:`max`, ``x.topk(3)`` a :class:`topk`, and so on: a tuple of two
Tensors (``values, indices = x.max(1)`` unpacks it) whose fields also have their names
(``x.max(1).indices``), with the type named as the op (``type(x.topk(3)).__name__`` is
``"topk"``, as PyTorch's ``torch.return_types.topk``)."""

from __future__ import annotations

from collections import namedtuple


def _pair(op: str, fields: tuple[str, str] = ("values", "indices")) -> type:
    cls = namedtuple(op, fields, module=__name__)
    cls.__doc__ = f"``({', '.join(fields)})`` of ``{op}``."
    return cls


# (the names are the ops', as PyTorch's; two shadow builtins, in this module only)
max = _pair("max")  # noqa: A001
min = _pair("min")  # noqa: A001
sort = _pair("sort")
topk = _pair("topk")
cummax = _pair("cummax")
cummin = _pair("cummin")
kthvalue = _pair("kthvalue")
median = _pair("median")
aminmax = _pair("aminmax", ("min", "max"))

__all__ = ["max", "min", "sort", "topk", "cummax", "cummin", "kthvalue", "median", "aminmax"]
