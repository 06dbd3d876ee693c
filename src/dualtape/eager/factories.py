"""Tensor factories with PyTorch's signatures and dtype rules: sizes as ints one by one, one sequence, or
`size=`; `dtype=`, `device=` ("cuda" puts the tensor on the GPU, with CuPy) and `requires_grad=` by keyword;
`out=` refused (assign the result instead). Python floats become float32 (the default dtype), Python ints int64,
NumPy arrays keep their dtype. `as_tensor` and `from_numpy` share a NumPy array's memory, as PyTorch's do."""

from __future__ import annotations

import numpy as np

from . import devices as _device
from .factory_args import DEFAULT_DTYPE, leaf, refuse_out, shape_of
from .sampling import manual_seed, rand, randn  # noqa: F401  (their old home: nn.init and examples import them here)
from .tensor import Tensor


def _dtype_of(data, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(data, (np.ndarray, np.generic)) or _device.is_device_array(data):
        return data.dtype
    arr = np.asarray(data)
    if arr.dtype == np.float64:
        return np.dtype(DEFAULT_DTYPE)
    if arr.dtype == np.complex128:
        return np.dtype(np.complex64)
    return arr.dtype


def tensor(data, dtype=None, requires_grad: bool = False, device=None, *, pin_memory=False) -> Tensor:
    """A new leaf tensor holding a copy of data, on `device` (by default where data is: a CuPy array or a
    cuda tensor stays on the GPU)."""
    if isinstance(data, Tensor):
        data = data.detach()._array
    dev = _device.device_of(data) if device is None else _device.parse(device)
    if _device.is_device_array(data):
        arr = _device.move(data.astype(_dtype_of(data, dtype), copy=True), dev)
    else:
        arr = _device.move(np.array(data, dtype=_dtype_of(data, dtype), copy=True), dev)
    return leaf(arr, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """data as a tensor, sharing its memory where dtype and device allow (a tensor is returned itself, a NumPy
    or CuPy array held as it is); otherwise a converted copy."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) or _device.is_device_array(data):
        same_device = device is None or _device.parse(device) == _device.device_of(data)
        if same_device and (dtype is None or np.dtype(dtype) == data.dtype) and data.dtype != object:
            return Tensor._wrap(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray) -> Tensor:
    """A tensor holding the NumPy array itself: changes to either show in the other (its dtype kept)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype == object or ndarray.dtype.kind in "SUV" and ndarray.dtype.name != "bfloat16":
        raise TypeError(f"can't convert np.ndarray of type {ndarray.dtype}. The only supported types are: numeric "
                        "and boolean dtypes")
    return Tensor._wrap(ndarray)


def _module(device):
    """The array module a factory builds with: NumPy, or CuPy (imported now) for device="cuda"."""
    return np if device is None else _device.module_for(_device.parse(device))


def _filled(name, sizes, size, fill, dtype, device, requires_grad, out) -> Tensor:
    refuse_out(name, out)
    return leaf(_module(device).full(shape_of(name, sizes, size), fill, dtype=np.dtype(dtype or DEFAULT_DTYPE)),
                requires_grad)


def zeros(*sizes, size=None, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of the size given (ints, a sequence, or size=), float32 unless dtype is given."""
    return _filled("zeros", sizes, size, 0, dtype, device, requires_grad, out)


def ones(*sizes, size=None, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of the size given (ints, a sequence, or size=), float32 unless dtype is given."""
    return _filled("ones", sizes, size, 1, dtype, device, requires_grad, out)


def empty(*sizes, size=None, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of the size given whose values are not to be read before written (zeros here; PyTorch leaves
    the memory as it finds it)."""
    return _filled("empty", sizes, size, 0, dtype, device, requires_grad, out)


def full(size, fill_value, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """size filled with fill_value; the dtype, unless given, from fill_value's kind as PyTorch infers it: a bool
    gives bool, an int int64, a complex complex64, a float the default dtype."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        kind = np.asarray(fill_value).dtype.kind
        dtype = {"b": np.bool_, "i": np.int64, "u": np.int64, "c": np.complex64}.get(kind, DEFAULT_DTYPE)
    return _filled("full", (size,), None, fill_value, dtype, device, requires_grad, out)


def eye(n, m=None, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The n x m (n x n) identity matrix."""
    refuse_out("eye", out)
    return leaf(_module(device).eye(n, m, dtype=np.dtype(dtype or DEFAULT_DTYPE)), requires_grad)


def arange(start, end=None, step=1, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """start, start + step, ... up to end (excluded); arange(end) from 0. Integers give int64, a float anywhere
    the default float32."""
    refuse_out("arange", out)
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None:
        dtype = DEFAULT_DTYPE if values.dtype.kind == "f" else np.int64 if values.dtype.kind in "iu" else None
    return _make(values, dtype or values.dtype, requires_grad, device)


def linspace(start, end, steps, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """steps values evenly spaced from start to end (both included)."""
    refuse_out("linspace", out)
    return _make(np.linspace(start, end, steps), dtype, requires_grad, device)


def _make(array, dtype, requires_grad, device=None) -> Tensor:
    """A tensor of array's values in dtype (default float32), moved to device."""
    array = array.astype(dtype or DEFAULT_DTYPE, copy=False)
    return leaf(array if device is None else _device.move(array, _device.parse(device)), requires_grad)


def _like(t, dtype, requires_grad, device, make, shape=None):
    """make(xp, shape, dtype) on t's device (or on device), with t's dtype unless dtype is given, and t's shape
    unless shape is given."""
    data = getattr(t, "_array", t)
    dev = _device.device_of(data) if device is None else _device.parse(device)
    if shape is None:
        shape = data.shape if _device.is_device_array(data) else np.shape(data)
    xp = np if dev.type == "cpu" else _device.module_for(dev)
    return leaf(make(xp, shape, np.dtype(dtype or getattr(t, "dtype", DEFAULT_DTYPE))), requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """Zeros of input's shape and dtype, on input's device unless device is given."""
    return _like(input, dtype, requires_grad, device, lambda xp, shape, dt: xp.zeros(shape, dtype=dt))


def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """Ones of input's shape and dtype, on input's device unless device is given."""
    return _like(input, dtype, requires_grad, device, lambda xp, shape, dt: xp.ones(shape, dtype=dt))


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """input's shape and dtype filled with fill_value, on input's device unless device is given."""
    return _like(input, dtype, requires_grad, device, lambda xp, shape, dt: xp.full(shape, fill_value, dtype=dt))


# ---- Tensor.new_*: PyTorch's factories that take their dtype and device from an existing tensor ----------
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new leaf holding a copy of data, with self's dtype and device unless given (Tensor.new_tensor)."""
    data = np.array(data._array if isinstance(data, Tensor) else data)
    return _like(self, dtype, requires_grad, device, lambda xp, shape, dt: xp.asarray(data, dtype=dt), data.shape)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of the size given (ints or one sequence), with self's dtype and device unless given."""
    return new_full(self, shape_of("new_zeros", size), 0, dtype=dtype, device=device, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of the size given (ints or one sequence), with self's dtype and device unless given."""
    return new_full(self, shape_of("new_ones", size), 1, dtype=dtype, device=device, requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of the size given not to be read before written (zeros here), with self's dtype and device."""
    return new_full(self, shape_of("new_empty", size), 0, dtype=dtype, device=device, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """size filled with fill_value, with self's dtype and device unless given (not fill_value's, as full's)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _like(self, dtype, requires_grad, device, lambda xp, shape, dt: xp.full(shape, fill_value, dtype=dt),
                 shape_of("new_full", (size,)))
