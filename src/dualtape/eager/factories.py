"""Tensor factories with PyTorch's dtype rules: Python floats become float32 (the default dtype), NumPy
arrays keep their dtype, Python ints become int64. `device="cuda"` puts the tensor on the GPU (CuPy)."""

from __future__ import annotations

import numpy as np

from ..avals import ShapedArray, is_float
from . import devices as _device
from .lifting import LIFTING
from .tensor import Tensor

_rng = np.random.default_rng()
DEFAULT_DTYPE = np.float32


def manual_seed(seed: int) -> None:
    global _rng
    _rng = np.random.default_rng(seed)


def _dtype_of(data, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(data, (np.ndarray, np.generic)) or _device.is_device_array(data):
        return data.dtype
    arr = np.asarray(data)
    if arr.dtype == np.float64:
        return np.dtype(DEFAULT_DTYPE)
    return arr.dtype


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new leaf tensor holding a copy of data, on `device` (by default where data is: a CuPy array or a
    cuda tensor stays on the GPU)."""
    if isinstance(data, Tensor):
        data = data.detach().data
    dev = _device.device_of(data) if device is None else _device.parse(device)
    if _device.is_device_array(data):
        arr = _device.move(data.astype(_dtype_of(data, dtype), copy=True), dev)
    else:
        arr = _device.move(np.array(data, dtype=_dtype_of(data, dtype), copy=True), dev)
    if requires_grad and not is_float(arr.dtype):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return Tensor(arr, requires_grad)


def _module(device):
    """The array module a factory builds with: NumPy, or CuPy (imported now) for device="cuda"."""
    return np if device is None else _device.module_for(_device.parse(device))


def _make(array, dtype, requires_grad, device=None) -> Tensor:
    """A tensor of array's values in dtype (default float32), moved to device."""
    array = array.astype(dtype or DEFAULT_DTYPE, copy=False)
    return Tensor(array if device is None else _device.move(array, _device.parse(device)), requires_grad)


def _shape(size):
    return tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)


def zeros(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    return _make(_module(device).zeros(_shape(size), dtype=dtype or DEFAULT_DTYPE), dtype, requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    return _make(_module(device).ones(_shape(size), dtype=dtype or DEFAULT_DTYPE), dtype, requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    """size filled with fill_value; the dtype, unless given, from fill_value's kind as PyTorch infers it: a bool
    gives bool, an int int64, a complex complex64, a float the default dtype."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        kind = np.asarray(fill_value).dtype.kind
        dtype = {"b": np.bool_, "i": np.int64, "u": np.int64, "c": np.complex64}.get(kind, DEFAULT_DTYPE)
    return _make(_module(device).full(_shape((size,)), fill_value), dtype, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None) -> Tensor:
    return _make(_module(device).eye(n, m, dtype=dtype or DEFAULT_DTYPE), dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None) -> Tensor:
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None and np.issubdtype(values.dtype, np.floating):
        dtype = DEFAULT_DTYPE
    return _make(values, dtype or values.dtype, requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None) -> Tensor:
    return _make(np.linspace(start, end, steps), dtype, requires_grad, device)


def randn(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Standard normal values from the generator dt.manual_seed seeds (drawn on the host for every device)."""
    return _random("standard_normal", _shape(size), dtype, requires_grad, device)


def rand(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Uniform values in [0, 1) from the generator dt.manual_seed seeds."""
    return _random("random", _shape(size), dtype, requires_grad, device)


def _random(method: str, shape: tuple, dtype, requires_grad, device) -> Tensor:
    """Random values drawn now; while dt.compile traces, an input the compiled program draws on each call."""
    dtype = np.dtype(dtype or DEFAULT_DTYPE)

    def draw():
        return getattr(_rng, method)(shape).astype(dtype, copy=False)  # (the generator of the latest seed)

    if LIFTING.stack and device is None:
        return LIFTING.stack[-1].random(draw, ShapedArray(shape, dtype), requires_grad)
    return _make(draw(), dtype, requires_grad, device)


def _like(t, dtype, requires_grad, device, make):
    """make(xp, shape, dtype) on t's device (or on device), with t's dtype unless dtype is given."""
    data = getattr(t, "data", t)
    dev = _device.device_of(data) if device is None else _device.parse(device)
    shape = data.shape if _device.is_device_array(data) else np.shape(data)
    xp = np if dev.type == "cpu" else _device.module_for(dev)
    return Tensor(make(xp, shape, dtype or getattr(t, "dtype", DEFAULT_DTYPE)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Zeros of t's shape and dtype, on t's device unless device is given."""
    return _like(t, dtype, requires_grad, device, lambda xp, shape, dt: xp.zeros(shape, dtype=dt))


def ones_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    return _like(t, dtype, requires_grad, device, lambda xp, shape, dt: xp.ones(shape, dtype=dt))
