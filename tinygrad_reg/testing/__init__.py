"""A public kit for people extending the framework.

- :func:`gradcheck`, :func:`gradgradcheck`, :class:`GradcheckError`: first and second
  derivatives against central finite differences (numpy only).
- :func:`check_op` (in :mod:`tinygrad_reg.testing.contract`): the whole property test of an
  op in one call: forward, no mutation, no aliasing, gradients, float32.
- :mod:`tinygrad_reg.testing.strategies`: Hypothesis strategies for tensors kept away from
  kinks, poles and ties.

The last two need ``hypothesis`` (``pip install "tinygrad_reg[testing]"``) and are imported
on first use, so ``import tinygrad_reg`` and ``import tinygrad_reg.testing`` never import it.
"""

from __future__ import annotations

import importlib
from typing import Any

from .gradcheck import GradcheckError, gradcheck, gradgradcheck

# (the lazy names are left out, so that `from tinygrad_reg.testing import *` stays numpy-only)
__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]

# name -> (submodule, attribute of it or None for the module itself)
_LAZY = {"strategies": ("strategies", None), "contract": ("contract", None),
         "check_op": ("contract", "check_op")}


def __getattr__(name: str) -> Any:
    """Import the Hypothesis-based parts on first access (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise ImportError(f'tinygrad_reg.testing.{name} needs hypothesis: '
                          f'pip install "tinygrad_reg[testing]"') from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
