"""Helpers around modules, as PyTorch's ``torch.nn.utils``: gradient clipping
(:mod:`~tinygrad_reg.nn.utils.clip_grad`), parametrizations (:mod:`~.parametrize`, and
weight_norm and spectral_norm in :mod:`~.parametrizations`), and :mod:`.rnn`
(``pad_sequence``)."""

from . import parametrizations, parametrize, rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parametrizations", "parametrize", "rnn"]
