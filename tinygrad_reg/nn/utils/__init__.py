"""Helpers around modules, at PyTorch's paths: :mod:`.rnn` (``pad_sequence``)."""

from . import rnn

__all__ = ["rnn"]
