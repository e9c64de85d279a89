"""Neural-network building blocks: modules and layers (PyTorch style), initialisers
(:mod:`tinygrad_reg.nn.init`), losses (:mod:`tinygrad_reg.nn.losses`) and the functional face
(:mod:`tinygrad_reg.nn.functional`)."""

from . import functional, init, losses
from .layers import Dropout, Flatten, Linear, ReLU, Sigmoid, Tanh
from .module import IncompatibleKeys, Module, ModuleList, Parameter, Sequential

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "IncompatibleKeys", "Linear",
           "ReLU", "Sigmoid", "Tanh", "Dropout", "Flatten", "functional", "init", "losses"]
