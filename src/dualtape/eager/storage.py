"""A tensor's memory, as the mixin StorageMethods that Tensor inherits: `.data` (PyTorch's: a tensor sharing the
memory, outside the graph, with a version counter of its own, so changes through it go unseen by autograd; and
`x.data = other`, which makes x hold other's memory), detach, clone, contiguous; and what `dt.Tensor(...)`
holds (`initial_array`: PyTorch's legacy constructor, which makes float32 values of data or of sizes)."""

from __future__ import annotations

import weakref

import numpy as np

from ..core.primitive import bind, trace_of
from ..ops.elementwise import stop_gradient_p
from ..ops.shape import contiguous_p
from . import devices as _device
from . import grad_mode
from .graph import PrimitiveNode, edge_of, unread
from .lifting import LIFTING, lift


def _tensor():
    from .tensor import Tensor  # (Tensor is built on this module's mixin)

    return Tensor


class StorageMethods:
    """Tensor's aliases and copies of its memory."""

    __slots__ = ()

    @property
    def data(self):
        """A tensor sharing this tensor's memory, outside the graph (requires_grad False, its own version
        counter): in-place changes through it change this tensor's values unrecorded, as PyTorch's .data."""
        if LIFTING.stack:  # (dt.compile: the alias holds the program input this tensor's values become)
            lift(self)
        array = self._array
        alias = _tensor()._wrap(array if trace_of(array) is None else bind(stop_gradient_p, array))
        alias._alias_of = weakref.ref(self)  # (an in-place change that must replace its array replaces this one's)
        return alias

    @data.setter
    def data(self, value) -> None:
        if not isinstance(value, _tensor()):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if LIFTING.stack:  # (dt.compile: the new values are state the program writes)
            lift(self)
        self._array, self._view = value._array, None

    def detach(self):
        """The same storage, outside the graph (in-place changes show in both; the version counter is shared);
        of a transform's traced values, their stop_gradient."""
        array = self._array
        t = _tensor()._wrap(array if trace_of(array) is None else bind(stop_gradient_p, array))
        t._version, t._alias_of = self._version, weakref.ref(self)
        return t

    def detach_(self):
        """Take this tensor out of the graph in place: it becomes a leaf that does not require grad."""
        if self._view is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self):
        """A copy in new memory (with the same layout); recorded as CloneBackward0, so gradients flow back."""
        return clone(self)

    def contiguous(self):
        """This tensor if its memory is laid out row by row, else such a copy (recorded as CloneBackward0)."""
        if self.is_contiguous():
            return self
        return _copied(self, _device.module_of(self._array).ascontiguousarray(self._array))

    def is_contiguous(self) -> bool:
        """Whether the memory is laid out row by row (C order); a traced value's always is."""
        flags = getattr(self._array, "flags", None)
        return flags is None or bool(flags.c_contiguous)


def clone(t):
    """A copy of tensor t in new memory, with t's layout; recorded as CloneBackward0 when t requires grad."""
    array = t._array
    if trace_of(array) is not None:
        return _copied(t, array)  # (a traced value is immutable: the copy can be the value itself)
    return _copied(t, array.copy(order="K") if _device.is_device_array(array) else np.array(array, order="K"))


def _copied(t, copy):
    """A new tensor holding copy (t's values); when t requires grad (and grad mode is on), recorded as PyTorch
    records a clone: a CloneBackward0 node that passes the gradient through and saves nothing."""
    out = _tensor()._wrap(copy)
    if t.requires_grad and grad_mode.STATE.enabled:
        kept = unread(copy)
        node = PrimitiveNode(contiguous_p, {}, [kept], [kept], [edge_of(t)], [None], tuple(out.shape), out._version)
        node._name = "CloneBackward0"
        out._grad_fn, out._requires_grad = node, True
    return out


def initial_array(args: tuple):
    """The array `dt.Tensor(*args)` holds: as PyTorch's torch.Tensor, float32 values of a sequence or an array
    (a float32 array's memory shared), zeros of the sizes given as ints (uninitialised in PyTorch), or another
    tensor's memory, shared. A traced value (dt.compile's state) is held as it is."""
    if not args:
        return np.zeros((0,), np.float32)
    if all(type(a) is int for a in args):
        if any(a < 0 for a in args):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(args)}: {list(args)}")
        return np.zeros(args, np.float32)
    if len(args) > 1:
        raise TypeError(f"Tensor(): give one sequence of values or the sizes as ints, got {args!r}")
    (data,) = args
    if isinstance(data, _tensor()):
        return data._array
    if trace_of(data) is not None:
        return data
    if isinstance(data, (int, float, complex, bool, np.generic)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__}); for a 0-d tensor use "
                        f"dt.tensor({data!r})")
    if _device.is_device_array(data):
        return data.astype(np.float32, copy=False)
    return np.asarray(data, dtype=np.float32)  # (a float32 array itself: its memory shared, as PyTorch's)
