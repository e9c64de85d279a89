"""tinygrad_reg: a small, readable autograd framework on numpy, with dropout and L1/L2
penalties as first-class graph ops."""

from . import data, nn, ops, optim, regularization, testing, viz
from ._tensor import Tensor
from .autograd import (
                       Context,
                       Function,
                       backward,
                       detect_anomaly,
                       enable_grad,
                       grad,
                       is_anomaly_enabled,
                       is_grad_enabled,
                       no_grad,
                       set_anomaly_enabled,
                       set_grad_enabled,
)
from .checkpoint import load, save
from .ops import (
                       abs,
                       broadcast_to,
                       clip,
                       concatenate,
                       exp,
                       expand_dims,
                       log,
                       log_softmax,
                       logsumexp,
                       matmul,
                       max,
                       maximum,
                       mean,
                       min,
                       minimum,
                       relu,
                       reshape,
                       sigmoid,
                       softmax,
                       sqrt,
                       squeeze,
                       stack,
                       sum,
                       sum_to,
                       tanh,
                       transpose,
                       var,
                       where,
)
from .random import default_generator, manual_seed

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "Context", "backward", "grad", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "detect_anomaly", "set_anomaly_enabled",
    "is_anomaly_enabled", "manual_seed", "default_generator", "ops",
    "regularization", "testing", "viz", "nn", "optim", "data", "save", "load",
    "abs", "broadcast_to", "clip", "concatenate", "exp", "expand_dims", "log", "log_softmax",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "relu", "reshape",
    "sigmoid", "softmax", "sqrt", "squeeze", "stack", "sum", "sum_to", "tanh", "transpose",
    "var", "where",
]
