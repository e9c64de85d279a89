"""Neural-network building blocks: modules and layers (PyTorch style), recurrent layers
(:mod:`tinygrad_reg.nn.recurrent`), initialisers
(:mod:`tinygrad_reg.nn.init`), losses and their modules (:mod:`tinygrad_reg.nn.losses`) and the
functional face (:mod:`tinygrad_reg.nn.functional`)."""

from . import functional, init, losses, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
from .dropout import (
    AlphaDropout,
    DropConnectLinear,
    Dropout,
    Dropout1d,
    Dropout2d,
    DropPath,
    EmbeddingDropout,
    GaussianDropout,
    GaussianNoise,
    LockedDropout,
    Zoneout,
)
from .layers import (
    CELU,
    ELU,
    GELU,
    SELU,
    Embedding,
    Flatten,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Unflatten,
)
from .lazy import (
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyConv1d,
    LazyConv2d,
    LazyLinear,
    LazyModuleMixin,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import IncompatibleKeys, Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .parameter import Parameter, UninitializedBuffer, UninitializedParameter
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .transformer import (
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "IncompatibleKeys", "Linear",
           "Identity", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "CELU", "SELU", "GELU",
           "SiLU", "Mish", "Softplus", "Softsign", "Hardtanh", "ReLU6", "Hardsigmoid",
           "Hardswish", "LogSigmoid", "Softmax", "LogSoftmax", "Dropout", "Flatten", "Unflatten",
           "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "NLLLoss", "Embedding", "Conv1d", "Conv2d", "MaxPool1d",
           "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout1d", "Dropout2d", "AlphaDropout",
           "GaussianDropout", "GaussianNoise", "DropConnectLinear", "functional", "init",
           "losses", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyBatchNorm1d",
           "LazyBatchNorm2d", "LazyModuleMixin", "UninitializedParameter",
           "UninitializedBuffer", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
           "AvgPool3d", "Softmin", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell",
           "LSTMCell", "GRUCell", "LockedDropout", "DropPath", "Zoneout", "EmbeddingDropout",
           "utils", "ModuleDict", "ParameterList", "ParameterDict", "MultiheadAttention",
           "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
           "TransformerDecoder", "Transformer"]
