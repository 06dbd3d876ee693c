"""Eager tensors with PyTorch semantics, running the registry's primitives and VJP rules op by op."""

from .devices import device
from .factories import (
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .printing import get_printoptions, printoptions, set_printoptions
from .sampling import Generator, manual_seed, normal, rand, rand_like, randint, randn, randn_like
from .tensor import Tensor

__all__ = [
    "Function", "FunctionCtx", "Generator", "Tensor", "arange", "as_tensor", "device", "empty", "enable_grad", "eye",
    "from_numpy", "full", "full_like", "get_printoptions", "inference_mode", "is_grad_enabled", "linspace",
    "manual_seed", "no_grad", "normal", "ones", "ones_like", "printoptions", "rand", "rand_like", "randint", "randn",
    "randn_like", "set_grad_enabled", "set_printoptions", "tensor", "zeros", "zeros_like",
]
