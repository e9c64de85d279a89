"""A public kit for people extending the framework: gradient checks against finite
differences, and (in :mod:`tinygrad_reg.testing.strategies`, which needs ``hypothesis``)
property-test strategies. Importing this package does not import hypothesis."""

from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
