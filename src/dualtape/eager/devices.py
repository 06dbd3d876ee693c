"""Devices of eager tensors: "cpu" tensors hold NumPy arrays, "cuda" tensors CuPy arrays on the GPU (cuda:0).

Importing dualtape never imports CuPy: it is imported, through codegen.runtime.array_module (whose errors say
what to install), only when a cuda device is asked for; an array's device is then read from its type. Eager
ops on CuPy arrays call the registry's NumPy evaluators, which CuPy's __array_ufunc__ / __array_function__
send to CuPy. A move between devices is recorded in the graph (ToCopyBackward0) so gradients flow back.
"""

from __future__ import annotations

import sys

import numpy as np

from ..codegen.runtime import array_module
from ..core.primitive import trace_of
from ..errors import BackendError
from .graph import Node


class device:  # noqa: N801 - PyTorch's name (torch.device)
    """A device: `.type` ("cpu" or "cuda") and `.index` (None, or 0 for the one GPU dualtape uses); it equals
    its string ("cuda" matches cuda:0)."""

    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"a device is a string such as 'cpu' or 'cuda', got {type(spec).__name__}")
        kind, _, number = spec.partition(":")
        if kind not in ("cpu", "cuda") or number and not number.isdigit():
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {spec}")
        index = int(number) if number else index
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"the cpu device has no index {index}")
        if kind == "cuda" and index not in (None, 0):
            raise NotImplementedError(f"dualtape keeps cuda tensors on one GPU, cuda:0; got cuda:{index} (choose the "
                                      "GPU with CUDA_VISIBLE_DEVICES)")
        self.type, self.index = kind, None if kind == "cpu" else index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, NotImplementedError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index is None or other.index is None or self.index == other.index)

    def __hash__(self):
        return hash(self.type)


CPU, CUDA = device("cpu"), device("cuda", 0)


def parse(spec) -> device:
    """A device from a string, a device or a GPU number (as `.cuda(0)` takes)."""
    if isinstance(spec, device):
        return spec
    return device("cuda", spec) if isinstance(spec, int) and not isinstance(spec, bool) else device(spec)


def is_device_array(x) -> bool:
    """x is a CuPy array (CuPy is not imported to answer: without it no array can be one)."""
    if type(x) is np.ndarray:
        return False
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(x, cupy.ndarray)


def device_of(data) -> device:
    return CUDA if is_device_array(data) else CPU


def module_of(data):
    """The array module that holds data: CuPy for a device array, else NumPy."""
    return sys.modules["cupy"] if is_device_array(data) else np


def module_for(dev: device):
    """The array module of a device: CuPy for cuda, imported now, with a clear error where it cannot work."""
    if dev.type == "cpu":
        return np
    try:
        return array_module("cupy")
    except BackendError as e:
        raise BackendError(f"device='cuda' keeps tensors on the GPU as CuPy arrays, but {e}") from e


def move(data, dev: device):
    """data as an array on dev (data itself when it is there already)."""
    if dev.type == "cuda":
        return data if is_device_array(data) else module_for(dev).asarray(data)
    return host(data)


def host(data):
    """data itself, or a NumPy copy of it if it is on the GPU."""
    return sys.modules["cupy"].asnumpy(data) if is_device_array(data) else data


def as_array(data):
    """data as an array where it lives: a device array as it is, anything else through np.asarray."""
    return data if is_device_array(data) else np.asarray(data)


def cast(data, dtype):
    """data as an array of dtype on its own device (no copy when it already is one)."""
    return data.astype(dtype, copy=False) if is_device_array(data) else np.asarray(data, dtype=dtype)


def copy(data, dtype, order="K"):
    """A new array holding data's values in dtype, on data's device (in memory order `order`)."""
    if is_device_array(data):
        return data.astype(dtype, order=order, copy=True)
    return np.array(data, dtype=dtype, copy=True, order=order)


def like(new, old):
    """new on old's device, for writing into old in place (a host value goes to the GPU, or comes back)."""
    if trace_of(new) is not None:
        return new
    return move(new, CUDA) if is_device_array(old) else np.asarray(host(new))


_INDEXED = frozenset({"getitem", "index_add"})  # their operands after the first are index arrays


def on_one_device(prim, raw: list) -> None:
    """Check the operands of an eager op (the eager trace calls this only when one is not a plain NumPy array)
    and raise PyTorch's error when host and GPU arrays meet. As PyTorch, 0-d host values and index arrays
    may join GPU operands: they are copied to the GPU, in raw."""
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return
    first = next((i for i, x in enumerate(raw) if isinstance(x, cupy.ndarray) and type(x) is not np.ndarray), None)
    if first is None:
        return
    for i, x in enumerate(raw):
        if type(x) is np.ndarray:
            if x.ndim and not (i and prim.name in _INDEXED):
                devices = "cpu and cuda:0" if i < first else "cuda:0 and cpu"
                raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                                   f"{devices}! (in {prim.name}; move one with .to(), .cuda() or .cpu())")
            raw[i] = cupy.asarray(x)


class ToCopyNode(Node):
    """The grad_fn of a move between devices (ToCopyBackward0): the cotangent moves back to the source device."""

    __slots__ = ("source",)

    def __init__(self, tensor, source: device):
        super().__init__("ToCopyBackward0", [tensor], None, None)
        self.source = source
        self.inputs = self.raw = [None]  # (a move reads no value: nothing saved, nothing to check)
        self.versions = [None]

    def backward(self, g, create_graph: bool):
        return (g.to(self.source) if create_graph else move(g, self.source),)
