"""`dt.optim`: optimisers over eager tensors (PyTorch's update rules, state in tensors)."""

from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Adam", "Optimizer", "SGD"]
