"""Eager tensors with PyTorch semantics, running the registry's primitives and VJP rules op by op."""

from .devices import device
from .factories import arange, eye, full, linspace, manual_seed, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor

__all__ = [
    "Function", "FunctionCtx", "Tensor", "arange", "device", "enable_grad", "eye", "full", "inference_mode",
    "is_grad_enabled", "linspace", "manual_seed", "no_grad", "ones", "ones_like", "rand", "randn",
    "set_grad_enabled", "tensor", "zeros", "zeros_like",
]
