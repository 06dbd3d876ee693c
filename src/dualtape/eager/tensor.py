"""The eager Tensor: an array with PyTorch's autograd semantics, running the registry's primitives op by op.

Tensors are one more value kind for bind(): their `_dt_trace` is the eager trace (level 0, below every
staging or transform trace), whose `process` runs the primitive on the arrays inside and, when grad mode is
on and an operand requires grad, records a PrimitiveNode (the output's grad_fn). The method set is the one
installed on tracers (numpy/methods.py), with PyTorch's spellings where the two differ.
"""

from __future__ import annotations

import weakref

import numpy as np

from .._util import user_source_line
from ..avals import ShapedArray, aval_of
from ..core.primitive import PLAIN_TYPES, bind
from ..errors import ConcretizationError, ShapeError
from ..numpy import elementwise as _ew
from ..numpy import methods as _methods
from ..numpy import reductions as _red
from ..numpy import shapes as _sh
from ..ops.elementwise import stop_gradient_p
from . import devices as _device
from . import grad_mode
from .graph import AccumulateGrad, PrimitiveNode, Unread, _Handle, before_inplace
from .lifting import LIFTING, lift, lift_all
from .promotion import promoted
from .views import check_inplace, make_view, rebase, regenerate

_NON_LEAF_FLAG = ("you can only change requires_grad flags of leaf variables. If you want to use a computed "
                  "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")


def _explain(prim, raw, params, error) -> None:
    """An op NumPy refused (e.g. shapes that do not broadcast): raise the primitive's own ShapeError, which
    names the op, the shapes and the user's line, where its shape rule finds the problem too."""
    try:
        prim.abstract_eval(*[aval_of(x) for x in raw], **params)
    except ShapeError as e:
        raise e.at(user_source_line()) from error
    except Exception:  # noqa: S110 - the rule cannot say more: NumPy's own error stands
        pass


class EagerTrace:
    """The eager value kind's handler: compute now, record the graph if needed."""

    level = 0
    active = True

    def process(self, prim, args, params):
        if LIFTING.stack:  # (dt.compile is tracing: tensors holding arrays become program inputs)
            lift_all(args)
        raw, edges, versions, record, traced, foreign, needed = [], [], [], False, False, False, 0
        for a in args:  # one pass: the arrays inside, graph edges, versions, whether a trace is underneath
            if type(a) is Tensor or isinstance(a, Tensor):
                a_data = a.data
                if a._view is not None and a._view.version != a._version[0] and grad_mode.STATE.enabled:
                    regenerate(a)  # (a view whose base, or another view of it, changed in place)
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
                if getattr(a_data, "_dt_trace", None) is not None:
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
                raw = promoted(rule, raw, versions)
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
        if not (record and grad_mode.STATE.enabled and prim.differentiable):
            if prim.multiple_results:
                return [Tensor._wrap(o) for o in out]
            result = Tensor._wrap(out)
            if prim.view and versions[0] is not None:  # (of a tensor)
                make_view(result, prim, params, args[0], out, raw, not grad_mode.STATE.enabled)
            return result
        if prim.multiple_results:
            return self._record_many(prim, params, args, out)
        result = Tensor._wrap(out)
        if prim.view and versions[0] is not None:
            make_view(result, prim, params, args[0], out, raw, False)
        positions, out_unread = prim._unread.get(needed) or prim.unread(needed)
        if positions:  # (keep only what the rules that will run read: the rest is freed with its tensor)
            args = list(args)
            for i in positions:
                if versions[i] is not None:  # (a tensor's array: its shape and dtype are all the rules use)
                    data, kept = raw[i], Unread.__new__(Unread)
                    kept.shape, kept.dtype = data.shape, data.dtype
                    raw[i] = args[i] = kept
                    versions[i] = None
        result._grad_fn = PrimitiveNode(prim, params, args, raw, edges, versions, out.shape if out_unread else out,
                                        result._version)
        result._requires_grad = True  # (made by a recorded op: no check needed)
        return result

    def _record_many(self, prim, params, args, outs):
        raise NotImplementedError(f"eager differentiation of {prim.name} (several results) is not implemented")


EAGER = EagerTrace()


class Tensor:
    """An n-dimensional array that can record how it was computed, for .backward()."""

    __slots__ = ("data", "_requires_grad", "_grad", "_grad_fn", "_version", "_retains_grad", "_hooks",
                 "_accumulator", "_view", "__weakref__")
    _dt_trace = EAGER
    _dt_eager = True
    __array_priority__ = 1000

    def __init__(self, data, requires_grad: bool = False):
        self.data = data
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
        if LIFTING.stack:
            LIFTING.stack[-1].track(self)

    @classmethod
    def _wrap(cls, data) -> "Tensor":
        t = cls.__new__(cls)
        t.data, t._requires_grad, t._grad, t._grad_fn, t._view = data, False, None, None, None
        t._version, t._retains_grad, t._hooks, t._accumulator = [0], False, None, None
        if LIFTING.stack:  # (dt.compile is tracing: a tensor made now may become state the program writes)
            LIFTING.stack[-1].track(t)
        return t

    # ---- attributes -------------------------------------------------------------------------------------
    @property
    def grad(self):
        """The gradient accumulated by backward (a Tensor), or None."""
        if LIFTING.stack:
            LIFTING.stack[-1].saw_grad(self, reading=True)
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
        return ShapedArray(np.shape(self.data), self.dtype)

    @property
    def shape(self):
        return tuple(np.shape(self.data))

    @property
    def dtype(self):
        return getattr(self.data, "dtype", None) or np.asarray(self.data).dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dim(self) -> int:
        return self.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def device(self) -> _device.device:
        """Where the data lives: device(type='cpu'), or device(type='cuda', index=0) for a CuPy array."""
        return _device.device_of(self.data)

    @property
    def is_cuda(self) -> bool:
        return _device.is_device_array(self.data)

    def item(self):
        return np.asarray(_device.host(self._known("number (.item())"))).item()

    def tolist(self):
        return np.asarray(_device.host(self._known("list (.tolist())"))).tolist()

    def _known(self, what: str):
        """The array, which must hold values: reading a traced tensor's values into Python cannot be recorded."""
        data = self.data
        if getattr(data, "_dt_trace", None) is not None:
            fix = ("dt.compile records tensor operations, and a value read into Python cannot be: return it from "
                   "the compiled function and read it outside, or run the function without dt.compile") \
                if LIFTING.stack else None
            raise ConcretizationError(what, data.aval, user_source_line(), fix)
        return data

    def _check_host(self) -> None:
        if _device.is_device_array(self.data):
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.")

    def numpy(self) -> np.ndarray:
        self._check_host()
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return np.asarray(self.data)

    def __array__(self, dtype=None, copy=None):
        self._check_host()
        if self.requires_grad:
            raise RuntimeError("Can't convert a Tensor that requires grad to a NumPy array. "
                               "Use tensor.detach().numpy() instead.")
        return np.asarray(self.data, dtype=dtype)

    def __repr__(self):
        if getattr(self.data, "_dt_trace", None) is not None:  # (printed while tracing, as JAX prints a tracer)
            body = f"<traced {self.data.aval}>"
        else:
            body = np.array2string(np.asarray(_device.host(self.data)), separator=", ", prefix="tensor(")
        extra = ""
        if self.grad_fn is not None:
            extra = f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extra = f", dtype=dualtape.{self.dtype}" + extra
        if _device.is_device_array(self.data):
            extra = ", device='cuda:0'" + extra
        return f"tensor({body}{extra})"

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a 0-d tensor's value (as PyTorch, whose subclasses such as Parameter and
        other tensors take only an empty spec, giving the repr)."""
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

    __hash__ = object.__hash__

    # ---- autograd -----------------------------------------------------------------------------------------
    def _leaf_node(self):
        """The AccumulateGrad node of this leaf (made once)."""
        if self._accumulator is None:
            self._accumulator = AccumulateGrad(self)
        return self._accumulator

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad  # (the property checks the dtype, and that a non-leaf stays recorded)
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self._retains_grad = True
            self.grad_fn.out_ref = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
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

    def detach(self) -> "Tensor":
        """The same storage, outside the graph (in-place changes show in both; the version counter is shared);
        of a transform's traced values, their stop_gradient."""
        data = self.data
        t = Tensor._wrap(data if getattr(data, "_dt_trace", None) is None else _stop_gradient(data, None))
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        if self._view is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        return _clone(self)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Accumulate d self / d leaf into each leaf's .grad (and into retained non-leaf grads)."""
        from .engine import backward  # (the engine is built on this module)

        backward([self], [gradient], retain_graph, create_graph, inputs)

    # ---- in-place operations --------------------------------------------------------------------------------
    def _check_leaf(self, op: str) -> None:
        if self.is_leaf and self.requires_grad and grad_mode.STATE.enabled:
            raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation "
                               f"({op}); wrap it in `with dt.no_grad():` (as optimizers do) or {_out_of_place(op)}")

    def _inplace(self, result: "Tensor", op: str) -> "Tensor":
        self._check_leaf(op)
        node = result.grad_fn
        if self._view is not None:
            check_inplace(self, node is not None, op)
        new = result.data
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
        if type(new) is not np.ndarray or type(self.data) is not np.ndarray:
            new = _device.like(new, self.data)  # (a scalar becomes an array; copy_ may cross devices)
        if type(new) is type(self.data) and self.data.shape == new.shape and (
                type(new) is np.ndarray or _device.is_device_array(new)):
            self.data[...] = new
        else:  # (a traced value, or another shape: the tensor takes the new array)
            self.data = new if new.dtype == self.dtype else new.astype(self.dtype)
        self._version[0] += 1
        if node is not None:
            self._grad_fn, self._requires_grad = node, True
            if self._view is not None:  # (the base's history, written through this view)
                rebase(self, node)
        return self

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def fill_(self, value) -> "Tensor":
        self._check_leaf("fill_")
        if self.requires_grad and grad_mode.STATE.enabled:  # (recorded: the gradient to the old value is 0)
            nowhere = _device.module_of(self.data).zeros(self.shape, bool)
            return self._inplace(_ew.where(nowhere, self, value), "fill_")
        with grad_mode.no_grad():
            return self._inplace(Tensor._wrap(np.full_like(self.data, value)), "fill_")

    def copy_(self, src) -> "Tensor":
        """src's values (broadcast, in self's dtype) written into self; recorded (CopyBackwards: src gets the
        gradient, self's old value none) when either requires grad."""
        src = src if isinstance(src, Tensor) else Tensor._wrap(_device.as_array(src))
        if grad_mode.STATE.enabled and (self.requires_grad or src.requires_grad):
            everywhere = _device.module_of(self.data).ones(self.shape, bool)
            src = _ew.where(everywhere, src if src.dtype == self.dtype else src.to(self.dtype), self)
            src.grad_fn._name = "CopyBackwards"
        return self._inplace(src, "copy_")

    def __setitem__(self, index, value) -> None:
        """self[index] = value in place; recorded (CopySlices) when a gradient flows through self or value."""
        recording = grad_mode.STATE.enabled and (self.requires_grad or getattr(value, "requires_grad", False) or (
            self._view is not None and self._view.base.requires_grad))  # (a view made under no_grad: refused)
        if recording or LIFTING.stack or getattr(self.data, "_dt_trace", None) is not None or \
                getattr(getattr(value, "data", value), "_dt_trace", None) is not None:
            self._inplace(_sh.index_update(self, index, value), "__setitem__")
            return
        before_inplace(self, None)  # (nothing to record: write the values where they are)
        self.data[_plain_index(index)] = _device.like(getattr(value, "data", value), self.data)
        self._version[0] += 1

    # ---- PyTorch spellings that differ from NumPy's ---------------------------------------------------------
    def transpose(self, dim0, dim1) -> "Tensor":
        """PyTorch's: swap two dimensions (NumPy's `transpose(0, 1)` of a matrix would be the identity)."""
        return _sh.swapaxes(self, dim0, dim1)

    def t(self) -> "Tensor":
        """The transpose of a matrix (a vector is returned as it is)."""
        return self if self.ndim < 2 else _sh.swapaxes(self, 0, 1)

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        _floating_only(source, "mean(): could not infer output dtype. Input dtype must be either a floating "
                               "point or complex dtype. Got: {}")
        dim = dim if axis is None else axis
        name = "MeanBackward0" if dim is None else "MeanBackward1"  # (PyTorch's overloads: all, or dims)
        return _composite(name, _red.mean, source, dim, keepdim or keepdims)

    def softmax(self, dim=-1):
        _floating_only(self, "softmax(): expected a floating point or complex tensor as input. Got {}")
        return _composite("SoftmaxBackward0", _red.softmax, self, dim)

    def log_softmax(self, dim=-1):
        _floating_only(self, "log_softmax(): expected a floating point or complex tensor as input. Got {}")
        return _composite("LogSoftmaxBackward0", _red.log_softmax, self, dim)

    def norm(self, p="fro", dim=None, keepdim=False):
        _floating_only(self, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}")
        return _composite("LinalgVectorNormBackward0", _methods.ARRAY_METHODS["norm"], self, p, dim, keepdim)

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False) -> "Tensor":
        """PyTorch's to(dtype), to(device, dtype=None), to(other) and to(device=, dtype=): self where nothing
        changes (unless copy=True), else a new tensor; moves and conversions are recorded in the graph."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (_device.device, int)) and not isinstance(arg, bool) or (
                    isinstance(arg, str) and arg.partition(":")[0] in ("cpu", "cuda")):
                device = arg
            else:
                dtype = arg
        out = self if device is None else _moved(self, _device.parse(device))
        out = out if dtype is None else out.astype(dtype)
        return _clone(out) if copy and out is self else out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        """A copy on the GPU (self if it is there already); needs CuPy and a GPU."""
        return self.to("cuda" if device is None else _device.parse(device))


def _stop_gradient(out, prim):
    """A traced result (or results) that transforms differentiate as a constant."""
    if prim is not None and prim.multiple_results:
        return [bind(stop_gradient_p, o) for o in out]
    return bind(stop_gradient_p, out)


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
    if isinstance(index, tuple):
        return tuple(e.data if isinstance(e, Tensor) else e for e in index)
    return index.data if isinstance(index, Tensor) else index


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


def _is_inexact(t: Tensor) -> bool:
    """Whether t holds floating point or complex values (the only ones that can require grad)."""
    return t.dtype.kind in "fc"


_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long"}


def _floating_only(t: Tensor, message: str) -> None:
    """PyTorch's refusal of integer and boolean inputs to mean, softmax, norm, var, ...: message names the
    dtype at its {}."""
    if not _is_inexact(t):
        name = _TORCH_NAMES.get(t.dtype.name, t.dtype.name)
        raise RuntimeError(message.format(name) + "; convert the tensor first, e.g. with .float()")


def _composite(name, fn, tensor, *static):
    from .composite import composite  # (composite nodes build on this module)

    return composite(name, fn, [tensor], *static)


def _clone(t: Tensor) -> Tensor:
    """A copy; recorded (as a multiplication by one) when t requires grad, so gradients flow through it."""
    if t.requires_grad:
        return t * 1
    if getattr(t.data, "_dt_trace", None) is not None:  # (a traced value is immutable: no copy needed)
        return Tensor._wrap(t.data)
    return Tensor._wrap(t.data.copy() if _device.is_device_array(t.data) else np.array(t.data, copy=True))


def _moved(t: Tensor, dev) -> Tensor:
    """t on device dev: t itself if it is there, else a copy recorded as ToCopyBackward0."""
    source = t.device
    if source == dev:
        return t
    out = Tensor._wrap(_device.move(t.data, dev))
    if t.requires_grad and grad_mode.STATE.enabled:
        out.grad_fn, out.requires_grad = _device.ToCopyNode(t, source), True
    return out


def _inplace_method(name: str, op):
    def method(self, other, *args):
        return self._inplace(op(self, other, *args), name)

    method.__name__ = name
    return method


_own = {name: Tensor.__dict__[name] for name in ("mean", "softmax", "log_softmax", "norm", "transpose", "item")}
_methods.install_array_methods(Tensor)
for _name, _method in _own.items():  # PyTorch's versions win over the shared method set
    setattr(Tensor, _name, _method)
for _name, _op in {"add_": _methods.ARRAY_METHODS["__add__"], "sub_": _methods.ARRAY_METHODS["__sub__"],
                   "mul_": _methods.ARRAY_METHODS["__mul__"], "div_": _methods.ARRAY_METHODS["__truediv__"],
                   "pow_": _methods.ARRAY_METHODS["__pow__"]}.items():
    setattr(Tensor, _name, _inplace_method(_name, _op))
for _name in ("__iadd__", "__isub__", "__imul__", "__itruediv__"):
    setattr(Tensor, _name, _inplace_method(_name, _methods.ARRAY_METHODS["__" + _name[3:]]))


def _scaled(other, alpha):
    """alpha * other (the multiplication skipped when alpha is the Python number 1)."""
    return other if type(alpha) in (int, float) and alpha == 1 else other * alpha


def _add_(self, other, *, alpha=1):
    """self += alpha * other (PyTorch's add_ with alpha=)."""
    return self._inplace(self + _scaled(other, alpha), "add_")


def _sub_(self, other, *, alpha=1):
    """self -= alpha * other."""
    return self._inplace(self - _scaled(other, alpha), "sub_")


def _addcmul_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 * tensor2."""
    return self._inplace(self + _scaled(tensor1, value) * tensor2, "addcmul_")


def _addcdiv_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 / tensor2."""
    return self._inplace(self + _scaled(tensor1, value) / tensor2, "addcdiv_")


for _fn in (_add_, _sub_, _addcmul_, _addcdiv_):  # (add_ and sub_ replace the alpha-less versions above)
    _fn.__name__ = _fn.__qualname__ = _fn.__name__[1:]
    setattr(Tensor, _fn.__name__, _fn)
