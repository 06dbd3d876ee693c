"""In-place tensor operations (PyTorch's methods ending in `_`, the augmented operators, item assignment), as the
mixin InPlaceMethods that Tensor inherits. Each computes its result out of place and `_inplace` writes it back:
the leaf check, a view's checks and rebasing (views.py), the version counter, and the graph (the tensor takes
the result's grad_fn), so every in-place form behaves as add_ does."""

from __future__ import annotations

import numpy as np

from .._util import user_source_line
from ..core.primitive import REGISTRY, trace_of
from ..errors import IndexBoundsError
from ..numpy import elementwise as _ew
from ..numpy import shapes as _sh
from . import devices as _device
from . import grad_mode
from .graph import before_inplace
from .lifting import LIFTING, lift
from .tensor_methods import _floating_only, scaled
from .views import check_inplace, rebase

_INFERENCE_INPLACE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
                      "clone to get a normal tensor before doing inplace update.See "
                      "https://github.com/pytorch/rfcs/pull/17 for more details.")


def _tensor():
    from .tensor import Tensor  # (Tensor is built on this module's mixin)

    return Tensor


def _unary_inplace_method(name: str):
    def method(self):
        return _unary_inplace(self, name)

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"self.{name}() written into self."
    return method


# the in-place forms of the unary methods, one per row that declares one (its torch_inplace face): exp_, ...
UnaryInPlaceMethods = type("UnaryInPlaceMethods", (), {
    "__slots__": (), "__doc__": "The in-place forms of the primitives' unary methods (their rows' torch_inplace).",
    **{prim.faces.torch_inplace: _unary_inplace_method(prim.faces.method)
       for prim in REGISTRY.values() if prim.faces.torch_inplace}})


class InPlaceMethods(UnaryInPlaceMethods):
    """Tensor's in-place methods."""

    __slots__ = ()

    def _check_leaf(self, op: str) -> None:
        if self._inference and not grad_mode.STATE.inference:
            raise RuntimeError(_INFERENCE_INPLACE)
        if self.is_leaf and self.requires_grad and grad_mode.STATE.enabled:
            raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation "
                               f"({op}); wrap it in `with dt.no_grad():` (as optimizers do) or {_out_of_place(op)}")

    def _inplace(self, result, op: str):
        self._check_leaf(op)
        node = result.grad_fn
        if self._view is not None:
            check_inplace(self, node is not None, op)
        new = result._array
        if tuple(new.shape) != self.shape:  # (PyTorch: the result must fit the tensor; copy_ broadcasts)
            if op == "copy_" and _fits(tuple(new.shape), self.shape):
                new = _sh.broadcast_to(new, self.shape)
            else:
                raise RuntimeError(f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(new.shape)}")
        if op not in _FILLS and op != "__setitem__" and _kind(new.dtype) > _kind(self.dtype):
            raise RuntimeError(f"{op}: result type {_torch_type(new.dtype)} can't be cast to the desired output "
                               f"type {_torch_type(self.dtype)} (compute out of place, or convert the tensor first)")
        lift(self)
        before_inplace(self, node if op != "copy_" else None)
        if type(new) is not np.ndarray or type(self._array) is not np.ndarray:
            new = _device.like(new, self._array)  # (a scalar becomes an array; copy_ may cross devices)
        if type(new) is type(self._array) and self._array.shape == new.shape and (
                type(new) is np.ndarray or _device.is_device_array(new)):
            self._array[...] = new
        else:  # (a traced value, or another shape: the tensor takes the new array, and so do those it aliases)
            self._array = new if new.dtype == self.dtype else new.astype(self.dtype)
            alias_of = self._alias_of
            while alias_of is not None and (owner := alias_of()) is not None:
                owner._array, alias_of = self._array, owner._alias_of
        self._version[0] += 1
        if node is not None:
            self._grad_fn, self._requires_grad = node, True
            if self._view is not None:  # (the base's history, written through this view)
                rebase(self, node)
        return self

    def zero_(self):
        """Fill with zeros, in place."""
        return self.fill_(0)

    def fill_(self, value):
        """Fill with value, in place."""
        self._check_leaf("fill_")
        if self.requires_grad and grad_mode.STATE.enabled:  # (recorded: the gradient to the old value is 0)
            nowhere = _device.module_of(self._array).zeros(self.shape, bool)
            return self._inplace(_ew.where(nowhere, self, value), "fill_")
        with grad_mode.no_grad():
            return self._inplace(_tensor()._wrap(np.full_like(self._array, value)), "fill_")

    def copy_(self, src):
        """src's values (broadcast, in self's dtype) written into self; recorded (CopyBackwards: src gets the
        gradient, self's old value none) when either requires grad."""
        Tensor = _tensor()
        src = src if isinstance(src, Tensor) else Tensor._wrap(_device.as_array(src))
        if grad_mode.STATE.enabled and (self.requires_grad or src.requires_grad):
            everywhere = _device.module_of(self._array).ones(self.shape, bool)
            src = _ew.where(everywhere, src if src.dtype == self.dtype else src.to(self.dtype), self)
            src.grad_fn._name = "CopyBackwards"
        return self._inplace(src, "copy_")

    def __setitem__(self, index, value) -> None:
        """self[index] = value in place; recorded (CopySlices) when a gradient flows through self or value."""
        recording = grad_mode.STATE.enabled and (self.requires_grad or getattr(value, "requires_grad", False) or (
            self._view is not None and self._view.base.requires_grad))  # (a view made under no_grad: refused)
        if recording or LIFTING.stack or trace_of(self._array) is not None or \
                trace_of(getattr(value, "_array", value)) is not None:
            self._inplace(_sh.index_update(self, index, value), "__setitem__")
            return
        self._check_leaf("__setitem__")
        before_inplace(self, None)  # (nothing to record: write the values where they are)
        try:
            self._array[_plain_index(index)] = _device.like(getattr(value, "_array", value), self._array)
        except IndexError as e:  # (NumPy's bare message: say which op, which tensor, where)
            raise IndexBoundsError("__setitem__", f"{e} (writing into a tensor of shape {list(self.shape)})",
                                   user_source_line(), "indices must lie within each axis") from None
        self._version[0] += 1


    def add_(self, other, *, alpha=1):
        """self += alpha * other (PyTorch's add_ with alpha=)."""
        return self._inplace(self + scaled(other, alpha), "add_")

    def sub_(self, other, *, alpha=1):
        """self -= alpha * other."""
        return self._inplace(self - scaled(other, alpha), "sub_")

    def mul_(self, other):
        """self *= other."""
        return self._inplace(_ew.multiply(self, other), "mul_")

    def div_(self, other):
        """self /= other."""
        return self._inplace(_ew.divide(self, other), "div_")

    def pow_(self, other):
        """self **= other."""
        return self._inplace(_ew.power(self, other), "pow_")

    def addcmul_(self, tensor1, tensor2, *, value=1):
        """self += value * tensor1 * tensor2."""
        return self._inplace(self + scaled(tensor1, value) * tensor2, "addcmul_")

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        """self += value * tensor1 / tensor2."""
        return self._inplace(self + scaled(tensor1, value) / tensor2, "addcdiv_")

    def __iadd__(self, other):
        return self._inplace(_ew.add(self, other), "__iadd__")

    def __isub__(self, other):
        return self._inplace(_ew.subtract(self, other), "__isub__")

    def __imul__(self, other):
        return self._inplace(_ew.multiply(self, other), "__imul__")

    def __itruediv__(self, other):
        return self._inplace(_ew.divide(self, other), "__itruediv__")

    def masked_fill_(self, mask, value):
        """Write value where the boolean mask is True, in place."""
        return self._inplace(self.masked_fill(mask, value), "masked_fill_")

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """Limit the values to [min, max] in place."""
        return self._inplace(self.clamp(min, max), "clamp_")

    def clip_(self, min=None, max=None):  # noqa: A002
        """Limit the values to [min, max] in place (clamp_'s alias)."""
        return self._inplace(self.clip(min, max), "clip_")

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with values drawn uniformly from [a, b), from generator (by default the one dt.manual_seed seeds)."""
        return _random_fill(self, "random", lambda u: u * (b - a) + a, "uniform_", generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with values drawn from N(mean, std**2), from generator (by default the one dt.manual_seed seeds)."""
        return _random_fill(self, "standard_normal", lambda z: z * std + mean, "normal_", generator)

    def square_(self):
        """Square each element in place."""
        return _unary_inplace(self, "square")


def _unary_inplace(self, name: str):
    """self.name() written into self."""
    return self._inplace(_in_graph(self, getattr(self, name)()), name + "_")




def _random_fill(self, method: str, transform, name: str, generator):
    """Draw (as dt.rand / dt.randn do, so dt.compile replays it), transform, and write into self in place. The
    new values do not depend on the old ones: a gradient reaching them goes nowhere."""
    from .sampling import draw  # (the factories build on Tensor)

    _floating_only(self, f"{name}: expected a floating point tensor. Got {{}}")
    with grad_mode.no_grad():
        values = transform(draw(method, self.shape, self.dtype, False, None, generator))
    return self._inplace(_in_graph(self, values), name)


def _in_graph(self, result):
    """result, to be written into self in place. Where self is recorded but result is not (new random values,
    sign), result gets a place in the graph with zero gradient to self; else self would keep its old grad_fn,
    and gradients would flow to what self was computed from as if its values were still there."""
    if self.requires_grad and not result.requires_grad and grad_mode.STATE.enabled:
        return _ew.where(_device.move(np.ones(self.shape, np.bool_), self.device), result, self)
    return result


def _kind(dtype) -> int:
    """bool < integer < floating < complex: an in-place result of a higher kind does not fit (PyTorch)."""
    return {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}.get(np.dtype(dtype).kind, 0)


def _fits(shape: tuple, target: tuple) -> bool:
    """shape broadcasts to exactly target."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


_TORCH_TYPES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                "complex128": "ComplexDouble"}


def _torch_type(dtype) -> str:
    return _TORCH_TYPES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _plain_index(index):
    """An index with the tensors in it replaced by their arrays."""
    Tensor = _tensor()
    if isinstance(index, tuple):
        return tuple(e._array if isinstance(e, Tensor) else e for e in index)
    return index._array if isinstance(index, Tensor) else index


_OPERATOR_SIGNS = {"__iadd__": "+", "__isub__": "-", "__imul__": "*", "__itruediv__": "/", "__ipow__": "**",
                   "__ifloordiv__": "//", "__imod__": "%", "__imatmul__": "@", "__iand__": "&", "__ior__": "|",
                   "__ixor__": "^"}
_FILLS = frozenset({"zero_", "fill_", "copy_", "uniform_", "normal_"})


def _out_of_place(op: str) -> str:
    """How to write in-place op `op` out of place: `w = w + ...` for an operator, `w = w.add(...)` for add_."""
    if op in _OPERATOR_SIGNS:
        return f"compute a new tensor out of place instead (`w = w {_OPERATOR_SIGNS[op]} ...`)"
    if op.startswith("__") or op in _FILLS:  # (item assignment, and fills that have no out-of-place form)
        return "compute a new tensor out of place instead"
    return f"use the out-of-place `w = w.{op[:-1]}(...)`"

