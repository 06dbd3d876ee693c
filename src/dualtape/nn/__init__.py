"""`dt.nn`: modules, parameters and losses on eager tensors, with PyTorch's names and behaviour."""

from . import functional, init, utils
from .activation import ReLU, Sigmoid, Tanh
from .container import Sequential
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss
from .module import Module
from .parameter import Parameter

__all__ = ["CrossEntropyLoss", "Linear", "Module", "MSELoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh",
           "functional", "init", "utils"]
