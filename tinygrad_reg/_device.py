"""``tg.device``: PyTorch's device objects, for code that chooses where to run.

Everything here runs on the CPU with numpy, so the only device a tensor can live on is
``device("cpu")``. Other devices can be *named* (``device("cuda:0")``), as PyTorch lets a
CPU-only build name them, so that a helper such as ``device(f"cuda:{i}") if
cuda.device_count() > i else device("cpu")`` runs; moving anything to one is a ValueError.

A device is a ``str`` whose value is PyTorch's ``str(device)`` ("cpu", "cuda:0"), so it is
accepted wherever a device name is, and ``device("cpu") == "cpu"`` (PyTorch: False). That
makes a tensor's ``.device`` compare equal to an ndarray's (``ndarray.device`` is "cpu").
"""

from __future__ import annotations

from typing import Any

# PyTorch's device types (what torch.device accepts at the start of a device string)
TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
         "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


def _parse(spec: Any, index: Any) -> tuple[str, int | None]:
    if isinstance(spec, device):
        if index is not None:
            raise TypeError(f"device: got a device ({spec!r}) and an index ({index!r}); give "
                            f"one")
        return spec.type, spec.index
    if isinstance(spec, bool) or not isinstance(spec, str):
        if isinstance(spec, int) and not isinstance(spec, bool):
            raise RuntimeError(f"device({spec}): an integer names an accelerator, and there is "
                               f"none here (tinygrad_reg runs on the CPU with numpy); use "
                               f"device('cpu')")
        raise TypeError(f"device: expected a device string such as 'cpu' or 'cuda:0', got "
                        f"{type(spec).__name__} {spec!r}")
    kind, sep, number = spec.partition(":")
    if kind not in TYPES:
        raise RuntimeError(f"device: expected one of {', '.join(TYPES)} at the start of the "
                           f"device string, got {spec!r}")
    if sep:
        if index is not None:
            raise RuntimeError(f"device: {spec!r} names an index already; do not also pass "
                               f"index={index!r}")
        plain = number.isascii() and number.isdigit()
        if not plain or (len(number) > 1 and number[0] == "0"):
            raise RuntimeError(f"device: invalid device string {spec!r}; the index after ':' "
                               f"is a non-negative integer, e.g. 'cuda:0'")
        return kind, int(number)
    if index is None:
        return kind, None
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise RuntimeError(f"device: the index must be an int >= 0, got {index!r}")
    return kind, index


class device(str):  # noqa: N801 - PyTorch's name
    """``device(type)``, ``device("type:index")``, ``device(type, index)``: PyTorch's
    ``torch.device``. ``.type`` ("cpu", "cuda", ...) and ``.index`` (an int or None) as
    PyTorch's; ``str()`` gives "cpu" or "cuda:1". An unknown type is a RuntimeError (as in
    PyTorch); naming "cuda" is allowed, using it is not (tensors and modules refuse to move
    there with a ValueError)."""

    def __new__(cls, type: Any, index: Any = None) -> device:  # noqa: A002 - PyTorch's name
        kind, idx = _parse(type, index)
        self = super().__new__(cls, kind if idx is None else f"{kind}:{idx}")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", idx)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"device objects are immutable (cannot set {name!r})")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __reduce__(self) -> tuple:
        return (device, (str(self),))

    __hash__ = str.__hash__


CPU = device("cpu")  # what every tensor's .device is

__all__ = ["device"]
