"""A tensor's values leaving it, as the mixin ConversionMethods that Tensor inherits: into Python (item, tolist,
bool, float, int, an index, iteration), into NumPy (numpy(), np.asarray) and into text (repr, as PyTorch prints:
printing.py). A traced tensor's values exist only when its program runs, so reading them raises
ConcretizationError (under dt.compile with a fix that says what to do instead)."""

from __future__ import annotations

import numpy as np

from .._util import user_source_line
from ..core.primitive import trace_of
from ..errors import COMPILED_CONTROL_FIX, ConcretizationError
from . import devices as _device
from .lifting import LIFTING
from .printing import tensor_text


class ConversionMethods:
    """Tensor's conversions of its values to Python numbers and lists, NumPy arrays and text."""

    __slots__ = ()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        return np.asarray(_device.host(self._known("number (.item())"))).item()

    def tolist(self):
        """The values as (nested) Python lists of Python numbers; a 0-d tensor's as one number."""
        return np.asarray(_device.host(self._known("list (.tolist())"))).tolist()

    def _known(self, what: str):
        """The array, which must hold values: reading a traced tensor's values into Python cannot be recorded."""
        data = self._array
        if trace_of(data) is not None:
            fix = (COMPILED_CONTROL_FIX if what.startswith("bool") else "dt.compile records tensor operations, and a "
                   "value read into Python cannot be: return it from the compiled function and read it outside, or "
                   "run the function without dt.compile") if LIFTING.stack else None
            raise ConcretizationError(what, data.aval, user_source_line(), fix)
        return data

    def _check_host(self) -> None:
        if _device.is_device_array(self._array):
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.")

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array sharing this tensor's memory (refused while it requires grad)."""
        self._check_host()
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return np.asarray(self._array)

    def __array__(self, dtype=None, copy=None):
        self._check_host()
        if self.requires_grad:
            raise RuntimeError("Can't convert a Tensor that requires grad to a NumPy array. "
                               "Use tensor.detach().numpy() instead.")
        return np.asarray(self._array, dtype=dtype)

    def __repr__(self):
        return tensor_text(self)

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a 0-d tensor's value (as PyTorch, whose subclasses such as Parameter and
        other tensors take only an empty spec, giving the repr)."""
        from .tensor import Tensor  # (Tensor is built on this module's mixin)

        if self.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __bool__(self):
        return bool(self._known("bool (in an if, while, and/or, or assert)"))

    def __float__(self):
        return float(self._known("float"))

    def __int__(self):
        return int(self._known("int"))

    def __index__(self):
        return int(self._known("int (an index)"))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))
