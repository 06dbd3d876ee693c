"""`dt.nn`: modules, parameters and losses on eager tensors, with PyTorch's names and behaviour."""

from . import functional, init, utils
from .activation import (ELU, GELU, Dropout, Flatten, Hardtanh, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid,
                         SiLU, Softmax, Softplus, Tanh)
from .container import Sequential
from .layers import Embedding, LayerNorm
from .linear import Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module
from .parameter import Parameter

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "ELU", "Embedding", "Flatten", "GELU",
           "Hardtanh", "HuberLoss", "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "Module",
           "MSELoss", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "SiLU", "SmoothL1Loss", "Softmax",
           "Softplus", "Tanh", "functional", "init", "utils"]
