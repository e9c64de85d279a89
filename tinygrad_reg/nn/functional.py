"""The functional face of ``tinygrad_reg.nn`` (``import tinygrad_reg.nn.functional as F``):
linear, activations, dropout, padding and losses as plain functions of tensors, with
PyTorch's names and arguments. Each name is defined once, elsewhere; this module only gathers
them."""

from ..ops.activation import (
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softsign,
    tanh,
)
from ..ops.conv import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from ..ops.indexing import one_hot
from ..ops.linalg import linear
from ..ops.normalization import batch_norm, group_norm, layer_norm
from ..ops.reduce import normalize
from ..ops.resize import interpolate
from ..ops.shape import embedding, pad
from ..regularization import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    gaussian_dropout,
    gaussian_noise,
)
from .attention import multi_head_attention_forward, scaled_dot_product_attention
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

__all__ = ["linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "elu",
           "celu", "selu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "relu6",
           "hardsigmoid", "hardswish", "logsigmoid", "dropout", "dropout1d", "dropout2d",
           "alpha_dropout", "gaussian_dropout", "gaussian_noise", "pad",
           "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy",
           "nll_loss", "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "conv1d",
           "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
           "adaptive_avg_pool2d", "batch_norm", "layer_norm", "group_norm", "embedding",
           "one_hot", "normalize", "softmin", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "avg_pool3d", "interpolate", "scaled_dot_product_attention",
           "multi_head_attention_forward"]

