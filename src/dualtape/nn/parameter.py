"""`nn.Parameter`: a Tensor that a Module registers as one of its parameters (a leaf requiring grad)."""

from __future__ import annotations

import numpy as np

from ..avals import is_float
from ..eager.factories import tensor
from ..eager.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default; assigned to a Module attribute, it becomes a parameter.
    Built from a Tensor it shares that tensor's storage (as in PyTorch)."""

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            source = Tensor(np.empty((0,), np.float32))
        else:
            source = data if isinstance(data, Tensor) else tensor(data)
        if requires_grad and not is_float(source.dtype):
            raise RuntimeError(f"Only Tensors of floating point dtype can require gradients; this Parameter has "
                               f"dtype {source.dtype}: convert it first (e.g. .float()) or pass requires_grad=False")
        super().__init__(source, requires_grad=requires_grad)
        self._version = source._version  # (one storage, one version counter)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        """A new leaf with copies of the values and the grad (nothing of this one's graph bookkeeping)."""
        if id(self) not in memo:
            result = type(self)(self.detach().clone(), self.requires_grad)
            result.grad = None if self.grad is None else self.grad.detach().clone()
            memo[id(self)] = result
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return type(self), (self.detach().clone(), self.requires_grad)
