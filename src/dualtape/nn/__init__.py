"""`dt.nn`: modules, parameters and losses on eager tensors, with PyTorch's names and behaviour."""

from . import functional, init, utils
from .activation import ReLU, Sigmoid, Tanh
from .container import Sequential
from .linear import Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module
from .parameter import Parameter

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "L1Loss", "Linear", "Module",
           "MSELoss", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "SmoothL1Loss", "Tanh",
           "functional", "init", "utils"]
