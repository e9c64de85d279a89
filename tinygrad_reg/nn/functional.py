"""The functional face of ``tinygrad_reg.nn``: linear, activations, dropout and losses as plain
functions of tensors (``import tinygrad_reg.nn.functional as F``). Each name is defined once,
elsewhere; this module only gathers them."""

from ..ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from ..ops.linalg import linear
from ..regularization import dropout
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss

__all__ = ["linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout",
           "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy",
           "mse_loss"]
