"""PyTorch's ``torch.utils`` path: ``tinygrad_reg.utils.data`` is :mod:`tinygrad_reg.data`
under the name PyTorch code imports it by."""

from . import data

__all__ = ["data"]
