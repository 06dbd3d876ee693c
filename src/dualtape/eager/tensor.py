"""The eager Tensor: an array with PyTorch's autograd semantics, running the registry's primitives op by op.

Tensors are one more value kind for bind(): their `_dt_trace` is the eager trace (level 0, below every
staging or transform trace), whose `process` runs the primitive on the arrays inside and, when grad mode is
on and an operand requires grad, records a PrimitiveNode (the output's grad_fn). Tensor's methods, in order of
precedence: its own class body (attributes, autograd), ConversionMethods (conversions.py: values into Python,
NumPy and text), StorageMethods (storage.py: .data, detach, clone, contiguous), TorchMethods (tensor_methods.py:
PyTorch's meanings where they differ from NumPy's), TorchFunctionMethods (torch_functions.py: PyTorch's
functions as methods, from one table of rows), InPlaceMethods (inplace.py: the forms ending in `_`), and the
method set shared with traced values (numpy.methods.ArrayMethods, with PyTorch's docstrings: method_docs.py).
The array a tensor holds is `_array` (`.data` is PyTorch's, a tensor). View machinery lives in views.py.
"""

from __future__ import annotations

import math
import warnings
import weakref

import numpy as np

from .._util import user_source_line
from ..avals import ShapedArray, aval_of
from ..core.primitive import PLAIN_TYPES, Trace, bind, trace_of
from ..errors import ShapeError
from ..numpy.methods import ArrayMethods
from ..ops.elementwise import stop_gradient_p
from . import autocast as _autocast
from . import devices as _device
from . import grad_mode
from .conversions import ConversionMethods
from .graph import AccumulateGrad, PrimitiveNode, Unread, _Handle, record_results, unread
from .inplace import InPlaceMethods
from .lifting import LIFTING, lift_all
from .method_docs import DocumentedArrayMethods
from .promotion import promoted
from .storage import StorageMethods, initial_array
from .tensor_methods import TorchMethods, _is_inexact
from .torch_functions import TorchFunctionMethods
from .views import make_view, regenerate

_NON_LEAF_FLAG = ("you can only change requires_grad flags of leaf variables. If you want to use a computed "
                  "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")
_NON_LEAF_GRAD = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                  "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                  "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf "
                  "Tensor by mistake, make sure you access the leaf Tensor instead.")
INFERENCE_SAVED = ("Inference tensors cannot be saved for backward. Please do not use Tensors created in inference "
                   "mode in computation tracked by autograd. To work around this, you can make a clone to get a "
                   "normal tensor and use it in autograd.")


def _explain(prim, raw, params, error) -> None:
    """An op NumPy refused (e.g. shapes that do not broadcast): raise the primitive's own ShapeError, which
    names the op, the shapes and the user's line, where its shape rule finds the problem too."""
    try:
        prim.abstract_eval(*[aval_of(x) for x in raw], **params)
    except ShapeError as e:
        raise e.at(user_source_line()) from error
    except Exception:  # noqa: S110 - the rule cannot say more: NumPy's own error stands
        pass


class EagerTrace(Trace):
    """The eager value kind's handler (level 0): compute now, record the graph if needed. A tensor wraps its
    array, which may be a transform's or a trace's value (under dt.compile, or a function of tensors traced)."""

    level = 0

    def unwrap(self, x):
        return x._array

    def process(self, prim, args, params):
        if _autocast.STATE.policies is not None and prim.facts.precision:  # (dt.autocast: casts first)
            return _autocast.run(prim, args, params)
        if LIFTING.stack:  # (dt.compile is tracing: tensors holding arrays become program inputs)
            lift_all(args)
        raw, edges, versions, record, traced, foreign, needed, inference = [], [], [], False, False, False, 0, 0
        cast_from = None
        for a in args:  # one pass: the arrays inside, graph edges, versions, whether a trace is underneath
            if type(a) is Tensor or isinstance(a, Tensor):
                a_data = a._array
                if a._view is not None and a._view.version != a._version[0] and grad_mode.STATE.enabled:
                    regenerate(a)  # (a view whose base, or another view of it, changed in place)
                if a._inference:
                    inference |= 1 << len(edges)
                if a._requires_grad:  # (the slots: this is the hot path)
                    record = True
                    needed |= 1 << len(edges)
                    edges.append(a._grad_fn or a._leaf_node())
                else:
                    edges.append(None)
                versions.append(a._version[0])
            else:
                a_data = a
                edges.append(None)
                versions.append(None)
            raw.append(a_data)
            if type(a_data) not in PLAIN_TYPES:
                if trace_of(a_data) is not None:
                    traced = True
                else:  # (a GPU array, or a NumPy scalar)
                    foreign = True
        if foreign and not traced:
            _device.on_one_device(prim, raw)
        rule = prim.torch_promotion
        if rule is not None:  # (PyTorch's dtype rules: the operands cast first where NumPy's would differ)
            first = raw[0]  # (the common case, one floating array alone or with its dtype or a float, inline)
            if not (type(first) is np.ndarray and first.dtype.kind == "f" and (len(raw) == 1 or (
                    type(raw[1]) is float or type(raw[1]) is np.ndarray and raw[1].dtype is first.dtype))):
                before, raw = raw, promoted(rule, raw, versions)
                if record and raw is not before:  # (a cotangent comes back in the operand's own dtype)
                    cast_from = [unread(b) if e is not None and r is not b else None
                                 for b, r, e in zip(before, raw, edges)]
        if traced:
            out = bind(prim, *raw, **params)
            if not grad_mode.STATE.enabled and prim.differentiable:  # (no_grad over a transform's values:
                out = _stop_gradient(out, prim)                        # the transform must not see through it)
        else:
            try:
                out = prim.impl(*raw, **params)
            except (ValueError, IndexError) as e:
                _explain(prim, raw, params, e)
                raise
        if not (record and grad_mode.STATE.enabled and (prim.differentiable or prim.eager_zero)):
            if prim.multiple_results:
                return [Tensor._wrap(o) for o in out]
            result = Tensor._wrap(out)
            if prim.view and versions[0] is not None:  # (of a tensor)
                make_view(result, prim, params, args[0], out, raw, not grad_mode.STATE.enabled)
            return result
        if prim.multiple_results:
            return record_results(prim, params, args, out, Tensor._wrap)
        result = Tensor._wrap(out)
        if prim.view and versions[0] is not None:
            make_view(result, prim, params, args[0], out, raw, False)
        positions, out_unread, saves = prim._unread.get(needed) or prim.unread(needed)
        if inference and any(inference >> i & 1 and i not in positions for i in range(len(args))):
            raise RuntimeError(INFERENCE_SAVED)  # (a rule that will run reads a tensor made in inference mode)
        if positions:  # (keep only what the rules that will run read: the rest is freed with its tensor)
            args = list(args)
            for i in positions:
                if versions[i] is not None:  # (a tensor's array: its shape and dtype are all the rules use)
                    data, kept = raw[i], Unread.__new__(Unread)
                    kept.shape, kept.dtype = data.shape, data.dtype
                    raw[i] = args[i] = kept
                    versions[i] = None
        result._grad_fn = node = PrimitiveNode(prim, params, args, raw, edges, versions,
                                               out.shape if out_unread else out, result._version, saves)
        if cast_from is not None:
            node.cast_from = cast_from
        result._requires_grad = True  # (made by a recorded op: no check needed)
        return result


EAGER = EagerTrace()


class Tensor(ConversionMethods, StorageMethods, TorchMethods, TorchFunctionMethods, InPlaceMethods,
             DocumentedArrayMethods, ArrayMethods):
    """An n-dimensional array that can record how it was computed, for .backward(). `dt.Tensor(data)` is
    PyTorch's legacy constructor (float32 values, or zeros of the sizes given as ints); `dt.tensor(data)` infers
    the dtype."""

    __slots__ = ("_array", "_requires_grad", "_grad", "_grad_fn", "_version", "_retains_grad", "_hooks",
                 "_accumulator", "_view", "_inference", "_alias_of", "__weakref__")
    _dt_trace = EAGER
    _dt_eager = True
    __array_priority__ = 1000

    def __init__(self, *args, requires_grad: bool = False):
        if len(args) == 2 and type(args[1]) is bool:  # (Tensor(array, requires_grad), as dualtape's own code makes)
            args, requires_grad = args[:1], args[1]
        self._array = initial_array(args)
        if requires_grad and not _is_inexact(self):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        self._grad = None
        self._grad_fn = None
        self._view = None  # (a view of another tensor's memory: how it was made; see views.py)
        self._version = [0]
        self._retains_grad = False
        self._hooks = None
        self._accumulator = None
        self._inference = grad_mode.STATE.inference
        self._alias_of = None  # (a weak reference to the tensor whose .data or detach() this is)
        if LIFTING.stack:
            LIFTING.stack[-1].track(self)

    @classmethod
    def _wrap(cls, data) -> "Tensor":
        t = cls.__new__(cls)
        t._array, t._requires_grad, t._grad, t._grad_fn, t._view = data, False, None, None, None
        t._version, t._retains_grad, t._hooks, t._accumulator = [0], False, None, None
        t._inference, t._alias_of = grad_mode.STATE.inference, None
        if LIFTING.stack:  # (dt.compile is tracing: a tensor made now may become state the program writes)
            LIFTING.stack[-1].track(t)
        return t

    # ---- attributes -------------------------------------------------------------------------------------
    @property
    def grad(self):
        """The gradient accumulated by backward (a Tensor), or None; read on a non-leaf that does not retain
        its grad, PyTorch's warning that it is never filled."""
        if LIFTING.stack:
            LIFTING.stack[-1].saw_grad(self, reading=True)
        if self._grad is None and self._grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:  # (PyTorch's checks: a Tensor of this tensor's shape)
            if not isinstance(value, Tensor):
                kind = type(value)
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{kind.__module__}.{kind.__qualname__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: attempting to assign a gradient "
                                   f"of size '{list(value.shape)}' to a tensor of size '{list(self.shape)}'. "
                                   f"Please ensure that the gradient and the tensor are the same size")
        if LIFTING.stack:
            LIFTING.stack[-1].saw_grad(self, reading=False)
        self._grad = value

    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf); a view's is made again after its base, or another
        view of it, changed in place."""
        view = self._view
        if view is not None and view.version != self._version[0]:
            regenerate(self)
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node):
        self._grad_fn = node

    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for backward."""
        view = self._view
        if view is not None and view.version != self._version[0]:
            regenerate(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        if value:
            if self.grad_fn is None and not _is_inexact(self):
                raise RuntimeError("only Tensors of floating point dtype can require gradients")
        elif self.grad_fn is not None:
            raise RuntimeError(_NON_LEAF_FLAG)
        self._requires_grad = bool(value)

    @property
    def aval(self) -> ShapedArray:
        """The abstract value: shape and dtype (what a transform sees of this tensor)."""
        return ShapedArray(self.shape, self.dtype)

    @property
    def shape(self):
        """The size of each dimension, as a tuple."""
        data = self._array
        return data.shape if type(data) is np.ndarray else tuple(np.shape(data))

    @property
    def dtype(self):
        """The type of the elements (a NumPy dtype: dt.float32 is np.float32)."""
        dtype = getattr(self._array, "dtype", None)  # (not `or`: a dtype without fields is falsy)
        return dtype if dtype is not None else np.asarray(self._array).dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        data = self._array
        return data.ndim if type(data) is np.ndarray else len(self.shape)

    def dim(self) -> int:
        """The number of dimensions."""
        return self.ndim

    def size(self, dim=None):
        """The shape, or the size of dimension dim."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)

    @property
    def is_leaf(self) -> bool:
        """Whether no recorded operation made this tensor (its gradient accumulates into .grad)."""
        return self.grad_fn is None

    @property
    def device(self) -> _device.device:
        """Where the data lives: device(type='cpu'), or device(type='cuda', index=0) for a CuPy array."""
        return _device.device_of(self._array)

    @property
    def is_cuda(self) -> bool:
        """Whether the data lives on the GPU."""
        return _device.is_device_array(self._array)

    def is_inference(self) -> bool:
        """Whether this tensor was made under dt.inference_mode() (it cannot be saved for backward)."""
        return self._inference

    __hash__ = object.__hash__

    # ---- autograd -----------------------------------------------------------------------------------------
    def _leaf_node(self):
        """The AccumulateGrad node of this leaf (made once)."""
        if self._accumulator is None:
            self._accumulator = AccumulateGrad(self)
        return self._accumulator

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set requires_grad in place (of a leaf; a floating point one to turn it on); returns self."""
        self.requires_grad = requires_grad  # (the property checks the dtype, and that a non-leaf stays recorded)
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in .grad at backward (a leaf keeps its own anyway)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self._retains_grad = True
            self.grad_fn.out_ref = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """Whether retain_grad() was called on this non-leaf."""
        return self._retains_grad

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement grad, called when this tensor's gradient is computed."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        if self.grad_fn is not None:
            self.grad_fn.out_ref = weakref.ref(self)
        self._hooks.append(hook)
        return _Handle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Accumulate d self / d leaf into each leaf's .grad (and into retained non-leaf grads)."""
        from .engine import backward  # (the engine is built on this module)

        backward([self], [gradient], retain_graph, create_graph, inputs)


def _stop_gradient(out, prim):
    """A traced result (or results) that transforms differentiate as a constant."""
    if prim is not None and prim.multiple_results:
        return [bind(stop_gradient_p, o) for o in out]
    return bind(stop_gradient_p, out)
