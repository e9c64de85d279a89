"""``tg.cuda``: what PyTorch's ``torch.cuda`` answers on a machine without a GPU.

tinygrad_reg runs on the CPU with numpy, so there is never a CUDA device: ``is_available()``
is False and ``device_count()`` is 0, and code that picks its device from them (``device =
tg.device("cuda") if tg.cuda.is_available() else tg.device("cpu")``) runs on the CPU. The
seeding calls have nothing to seed and do nothing, as PyTorch's do without a GPU.
"""

from __future__ import annotations


def is_available() -> bool:
    """False: there is no CUDA device here (everything runs in numpy)."""
    return False


def device_count() -> int:
    """0: the number of CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Nothing to seed (no CUDA device); seed the CPU with :func:`tinygrad_reg.manual_seed`."""


def manual_seed_all(seed: int) -> None:
    """Nothing to seed (no CUDA device); seed the CPU with :func:`tinygrad_reg.manual_seed`."""


__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all"]
