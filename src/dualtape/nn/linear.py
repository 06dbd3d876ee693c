"""`nn.Linear`: y = x @ weight.T + bias, initialised as PyTorch does (weight and bias ~ U(-k, k),
k = 1/sqrt(in_features))."""

from __future__ import annotations

import math

import numpy as np

from ..eager.factories import DEFAULT_DTYPE, zeros
from ..errors import ShapeError
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """A fully connected layer: (*, in_features) -> (*, out_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer, got {size!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = np.dtype(DEFAULT_DTYPE if dtype is None else dtype)
        self.weight = Parameter(zeros(self.out_features, self.in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(zeros(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:  # (initialised on the host, as on CPU, from dt.manual_seed's generator)
            self.to(device)

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for the weight, U(-k, k) for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ShapeError("Linear", f"input of shape {input.shape} does not fit weight of shape "
                             f"{self.weight.shape}: the input's last dimension must be in_features = "
                             f"{self.in_features}", fix=f"pass inputs of shape (..., {self.in_features}), or build "
                             f"the layer as Linear({input.shape[-1] if input.ndim else 1}, {self.out_features})")
        return F.linear_product(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
