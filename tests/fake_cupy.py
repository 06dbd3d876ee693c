"""A stand-in for the `cupy` module on machines without a GPU, strict where CuPy is strict, so the CPU suite
runs dualtape's CuPy path for real: NumPy computes underneath, but "device" arrays (DeviceArray) are kept
apart from host ones as CuPy keeps them. Its functions and ufuncs refuse NumPy arrays, return device arrays
(0-d ones where NumPy gives scalars), refuse scalars where CuPy calls methods of the operand, count the
copies between host and device, and record every `cupy.<path>` that code reads. NumPy's functions called on a
device array run the fake's (CuPy's __array_function__); np.asarray and np.array of one raise TypeError as
with CuPy (NumPy does not ask an ndarray subclass, so `install` wraps them for the test's duration).

`install(monkeypatch, devices=1)` puts a fresh one in sys.modules; `devices` may instead be the exception
that `cuda.runtime.getDeviceCount` raises (no driver).
"""

from __future__ import annotations

import sys
import types
from collections import Counter

import numpy as np

# CuPy's functions that call a method of these operands (a.sum(), a.reshape(), condition.astype()) or take a
# typed cupy.ndarray argument, so a Python or NumPy scalar there fails (cupy/_math/sumprod.py,
# cupy/_manipulation/*.py, cupy/_sorting/search.py, CuPy 14). A list position means every element.
ARRAY_OPERANDS = {"sum": 0, "prod": 0, "max": 0, "min": 0, "amax": 0, "amin": 0, "argmax": 0, "argmin": 0,
                  "reshape": 0, "broadcast_to": 0, "squeeze": 0, "expand_dims": 0, "where": 0, "concatenate": 0,
                  "concat": 0, "permute_dims": 0}


class DeviceArray(np.ndarray):
    """An array "on the device": NumPy's data, but arithmetic with a host ndarray raises, as in CuPy."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_host(ufunc.__name__, inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        result = getattr(ufunc, method)(*[_plain(x) for x in inputs], **kwargs)
        return None if method == "at" else _device(result)

    def __array_function__(self, func, types, args, kwargs):
        """np.<func>(device array) runs cupy.<func>, as CuPy's own __array_function__ does."""
        path = ".".join(func.__module__.split(".")[1:] + [func.__name__])
        module = sys.modules.get("cupy")
        if isinstance(getattr(module, "used", None), set):
            module.used.add(path)
        return _Function(module, path, func)(*args, **kwargs)

    def __getitem__(self, index):
        return _device(np.ndarray.__getitem__(_plain(self), _plain_index(index)))

    def __setitem__(self, index, value):
        _refuse_host("__setitem__", (value,))
        np.ndarray.__setitem__(_plain(self), _plain_index(index), _plain(value))

    def get(self):
        return _host_copy(self)


COPIES: Counter = Counter()  # of the module installed last: "to_device", "to_host"


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, DeviceArray) else x


def _plain_index(index):
    return tuple(_plain(e) for e in index) if isinstance(index, tuple) else _plain(index)


def _device(x):
    if isinstance(x, DeviceArray):
        return x
    if isinstance(x, np.ndarray):
        return x.view(DeviceArray)
    if isinstance(x, np.generic):  # CuPy never hands back a host scalar: a 0-d device array instead
        return np.asarray(x).view(DeviceArray)
    if isinstance(x, tuple):
        return tuple(_device(e) for e in x)
    return x


def _refuse_host(name, values):
    for v in values:
        if type(v) is np.ndarray:
            raise TypeError(f"fake cupy.{name}: Unsupported type {type(v)} (a host array on the device)")
        if isinstance(v, (list, tuple)):
            _refuse_host(name, v)


def _host_copy(x):
    COPIES["to_host"] += 1
    return np.array(_plain(x))


class _Function:
    """cupy.<name>: NumPy's function with CuPy's rules on arguments and results."""

    def __init__(self, module, path, target):
        self.module, self.path, self.target = module, path, target

    def __call__(self, *args, **kwargs):
        name = self.path.rsplit(".", 1)[-1]
        _refuse_host(self.path, args if name != "at" else args[:1] + args[2:])  # (host index arrays are fine)
        position = ARRAY_OPERANDS.get(name)
        if position is not None and position < len(args):
            operand = args[position]
            items = operand if isinstance(operand, (list, tuple)) else [operand]
            if not all(isinstance(v, DeviceArray) for v in items):
                raise AttributeError(f"fake cupy.{self.path}: operand {position} must be a cupy.ndarray, got "
                                     f"{type(operand).__name__} (CuPy calls its methods)")
        plain = [type(a)(_plain(v) for v in a) if isinstance(a, (list, tuple)) else _plain(a) for a in args]
        if name == "at":
            plain[1] = _plain_index(plain[1])
        result = self.target(*plain, **{k: _plain(v) for k, v in kwargs.items()})
        return None if name == "at" else _device(result)

    def __getattr__(self, attr):
        path = f"{self.path}.{attr}"
        self.module.used.add(path)
        return _Function(self.module, path, getattr(self.target, attr))


def _asarray(a, dtype=None):
    if isinstance(a, DeviceArray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    COPIES["to_device"] += 1
    return np.array(a, dtype=dtype).view(DeviceArray)


def make(devices=1) -> types.ModuleType:
    """A fresh fake `cupy` module; `devices` is the device count, or the exception getDeviceCount raises."""
    module = types.ModuleType("cupy")
    module.used = set()

    def get_device_count():
        if isinstance(devices, BaseException):
            raise devices
        return devices

    module.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    module.ndarray = DeviceArray
    module.asarray = _asarray
    module.asnumpy = _host_copy

    def attribute(name):
        module.used.add(name)
        target = getattr(np, name)
        if isinstance(target, type) or not callable(target):  # scalar types (cupy.float32 is numpy's), constants
            return target
        return _Function(module, name, target)

    module.__getattr__ = attribute
    return module


def _holds_device(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_device(v) for v in value)
    return isinstance(value, DeviceArray)


def _refusing(name, convert):
    def strict(a, *args, **kwargs):
        if _holds_device(a):
            raise TypeError(f"fake cupy: np.{name} of a device array: Implicit conversion to a NumPy array is not "
                            "allowed. Please use `.get()` to construct a NumPy array explicitly.")
        return convert(a, *args, **kwargs)

    return strict


def install(monkeypatch, devices=1) -> types.ModuleType:
    """Make `import cupy` give a fresh fake for this test, with its copy counts at zero; for the test, NumPy's
    conversions (np.asarray, np.array, ...) refuse device arrays as they refuse CuPy's."""
    module = make(devices)
    monkeypatch.setitem(sys.modules, "cupy", module)
    for name in ("asarray", "array", "asanyarray", "ascontiguousarray"):
        monkeypatch.setattr(np, name, _refusing(name, getattr(np, name)))
    COPIES.clear()
    return module
