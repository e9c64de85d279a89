"""Optimizers with PyTorch's update rules, parameter groups and state layout
(:mod:`.optimizer`, :mod:`.algorithms`), and learning-rate schedules (:mod:`.lr_scheduler`).

Weight decay, side by side (g is the gradient, p the parameter):

=========  ================================================  ==============================
SGD        g ← g + wd·p                                      = ``loss + l2_penalty(p, wd)``
Adam       g ← g + wd·p, then Adam's rescaling (coupled)     = ``loss + l2_penalty(p, wd)``
AdamW      p ← p - lr·wd·p, then Adam on g (decoupled)       equals no penalty
=========  ================================================  ==============================
"""

from . import lr_scheduler
from .algorithms import SGD, Adagrad, Adam, AdamW, RMSprop
from .optimizer import Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
