"""Tensor factories with PyTorch's dtype rules: Python floats become float32 (the default dtype), NumPy
arrays keep their dtype, Python ints become int64."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor

_rng = np.random.default_rng()
DEFAULT_DTYPE = np.float32


def manual_seed(seed: int) -> None:
    global _rng
    _rng = np.random.default_rng(seed)


def _dtype_of(data, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return data.dtype
    arr = np.asarray(data)
    if arr.dtype == np.float64:
        return np.dtype(DEFAULT_DTYPE)
    return arr.dtype


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new leaf tensor holding a copy of data."""
    if isinstance(data, Tensor):
        data = data.detach().numpy()
    arr = np.array(data, dtype=_dtype_of(data, dtype), copy=True)
    if requires_grad and not np.issubdtype(arr.dtype, np.inexact):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return Tensor(arr, requires_grad)


def _make(array, dtype, requires_grad) -> Tensor:
    return Tensor(np.asarray(array, dtype=dtype or DEFAULT_DTYPE), requires_grad)


def _shape(size):
    return tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)


def zeros(*size, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.zeros(_shape(size)), dtype, requires_grad)


def ones(*size, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.ones(_shape(size)), dtype, requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.full(_shape((size,)), fill_value), dtype, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.eye(n, m), dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None and np.issubdtype(values.dtype, np.floating):
        dtype = DEFAULT_DTYPE
    return Tensor(values.astype(dtype or values.dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.linspace(start, end, steps), dtype, requires_grad)


def randn(*size, dtype=None, requires_grad=False) -> Tensor:
    return _make(_rng.standard_normal(_shape(size)), dtype, requires_grad)


def rand(*size, dtype=None, requires_grad=False) -> Tensor:
    return _make(_rng.random(_shape(size)), dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.zeros(np.shape(getattr(t, "data", t)), dtype=dtype or getattr(t, "dtype", DEFAULT_DTYPE)),
                  requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.ones(np.shape(getattr(t, "data", t)), dtype=dtype or getattr(t, "dtype", DEFAULT_DTYPE)),
                  requires_grad)
