"""The package-level random generator: the one piece of process-wide mutable state besides the
registries (ONNX mappings). Give each thread its own generator instead of sharing this one.

Ops that draw random numbers (dropout, initialisers) take an explicit ``generator``; without
one they use this default, which :func:`manual_seed` resets.
"""

from __future__ import annotations

import numpy as np

# Made on first use: importing numpy.random costs ~15 ms, which `import tinygrad_reg` avoids.
_default: np.random.Generator | None = None


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator, so the same seed gives the same masks and weights."""
    global _default
    _default = np.random.default_rng(seed)
    return _default


def default_generator() -> np.random.Generator:
    """The generator used when an op is given none (unseeded until :func:`manual_seed`)."""
    global _default
    if _default is None:
        _default = np.random.default_rng()
    return _default


def resolve(generator: np.random.Generator | None) -> np.random.Generator:
    """``generator`` itself, or the default one; anything else is a TypeError."""
    if generator is None:
        return _default if _default is not None else default_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator (np.random.default_rng(seed)),"
                        f" got {type(generator).__name__}")
    return generator
