"""Tensor methods with PyTorch's meaning where it differs from the shared (NumPy-style) method set, or that only
tensors have, as the mixin TorchMethods that Tensor inherits ahead of numpy.methods.ArrayMethods: max/min over a
dim returning (values, indices) with the gradient at the index, var/std with Bessel's correction, squeeze(dim)
as a no-op on a dimension that is not 1, transpose(dim0, dim1), mean/softmax/norm as one node each, expand (a
view), casts (to, float, cpu, cuda; to an integer dtype outside the graph) and masked_fill."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._util import normalize_axes, normalize_axis
from ..avals import is_float
from ..core.primitive import bind
from ..numpy import contractions as _la
from ..numpy import elementwise as _ew
from ..numpy import methods as _methods
from ..numpy import reductions as _red
from ..numpy import shapes as _sh
from ..numpy._base import arr
from ..ops.neural import log_softmax_p, softmax_p
from ..ops.shape import transpose_p
from . import devices as _device
from . import grad_mode
from .promotion import same_dtype
from .storage import clone as _clone

values_indices = namedtuple("return_types_max", ["values", "indices"])


def _tensor():
    from .tensor import Tensor  # (Tensor is built on this module's mixin)

    return Tensor


def _factories():
    from . import factories  # (it builds on Tensor, which is built on this module's mixin)

    return factories


class TorchMethods:
    """Tensor's methods with PyTorch's own meaning."""

    __slots__ = ()

    def max(self, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
        """The maximum (ties share the gradient evenly); with dim, (values, indices) as in PyTorch, the gradient
        going to the returned index; with a tensor, the elementwise maximum."""
        if dim is None:
            return _red.max(self)
        if hasattr(dim, "shape"):
            return _ew.maximum(self, dim)
        return _with_indices(self, dim, keepdim, "MaxBackward0", _red.argmax)

    def min(self, dim=None, keepdim=False):  # noqa: A001
        """The minimum; with dim, (values, indices); with a tensor, the elementwise minimum."""
        if dim is None:
            return _red.min(self)
        if hasattr(dim, "shape"):
            return _ew.minimum(self, dim)
        return _with_indices(self, dim, keepdim, "MinBackward0", _red.argmin)

    def amax(self, dim=(), keepdim=False):
        """The maximum over dim (an int, tuple or list; all dims when empty); ties share the gradient evenly."""
        return _red.max(self, None if dim == () else dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        """The minimum over dim (an int, tuple or list; all dims when empty); ties share the gradient evenly."""
        return _red.min(self, None if dim == () else dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """PyTorch's variance: Bessel-corrected (correction=1) unless unbiased=False or another correction is
        given; dim an int, a tuple or a list of dims (all by default)."""
        ddof = correction_of(self, dim, unbiased, correction)
        dim = None if isinstance(dim, bool) else dim  # (var(False): the unbiased flag given by position)
        return _composite("VarBackward0", _red.var, self, dim, keepdim, ddof)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The square root of var (same arguments)."""
        ddof = correction_of(self, dim, unbiased, correction)
        dim = None if isinstance(dim, bool) else dim
        return _composite("StdBackward0", _red.std, self, dim, keepdim, ddof)

    def squeeze(self, dim=None, *, axis=None):
        """Remove size-1 dimensions: all of them, or those among dim (an int or a tuple) that have size 1; a
        named dimension of another size stays (PyTorch's rule, where NumPy would raise)."""
        dim = dim if axis is None else axis
        if dim is None:
            return _sh.squeeze(self)
        shape = self.shape
        axes = normalize_axes(dim, len(shape), "squeeze")
        return _sh.squeeze(self, tuple(a for a in axes if shape and shape[a] == 1))

    def astype(self, dtype):
        """self converted to dtype; a conversion to an integer or boolean dtype is not differentiable, so its
        result does not require grad (as PyTorch's .to(torch.int64))."""
        if is_float(dtype) or not self.requires_grad:
            return _ew.astype(self, dtype)
        with grad_mode.no_grad():
            return _ew.astype(self, dtype)

    def expand(self, *sizes):
        """A view of self broadcast to sizes (a tuple, or sizes one by one); -1 keeps a dimension's size."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                               f"number of dimensions in the tensor ({self.ndim})")
        if any(n == -1 for n in sizes[:lead]):
            raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension (sizes {list(sizes)})")
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
        return _sh.broadcast_to(self, shape)

    def expand_as(self, other):
        """self expanded to other's shape."""
        return self.expand(other.shape)

    def masked_fill(self, mask, value):
        """self with value where the boolean mask (broadcast to self's shape) is True."""
        mask_dtype = np.dtype(mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype)
        if mask_dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask_dtype}")
        if isinstance(value, _tensor()):
            if value.ndim:
                raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got tensor with "
                                   f"{value.ndim} dimension(s).")
            value = value.to(self.dtype)
        else:
            value = np.asarray(value, dtype=self.dtype)  # (the tensor's dtype, whatever the Python value's type)
        return _ew.where(mask, value, self)

    # ---- PyTorch spellings that differ from NumPy's ---------------------------------------------------------
    def transpose(self, dim0, dim1):
        """PyTorch's: swap two dimensions (NumPy's `transpose(0, 1)` of a matrix would be the identity)."""
        return _named(_sh.swapaxes(self, dim0, dim1), "TransposeBackward0")

    def swapaxes(self, axis0, axis1):
        """A view with dimensions axis0 and axis1 swapped (PyTorch's alias of transpose)."""
        return _named(_sh.swapaxes(self, axis0, axis1), "TransposeBackward0")

    @property
    def mT(self):  # noqa: N802 - PyTorch's name
        """The transpose of the last two dimensions (of each matrix in a batch)."""
        return _named(_sh.swapaxes(self, -1, -2), "TransposeBackward0")

    @property
    def mH(self):  # noqa: N802 - PyTorch's name
        """The conjugate transpose of the last two dimensions (mT of a real tensor)."""
        return self.mT.conj() if self.dtype.kind == "c" else self.mT

    @property
    def H(self):  # noqa: N802 - PyTorch's name
        """The conjugate transpose of a matrix (PyTorch's: 2-D tensors only)."""
        if self.ndim != 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor "
                               "(use .mH for the conjugate transpose of each matrix in a batch)")
        return self.mH

    def t(self):
        """The transpose of a matrix; a vector or a 0-d tensor as it is (a view, as PyTorch's)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return _named(bind(transpose_p, self, perm=(1, 0) if self.ndim == 2 else tuple(range(self.ndim))), "TBackward0")

    def __matmul__(self, other):
        """self @ other: PyTorch's matrix product, of operands of one dtype."""
        return _la.matmul(*same_dtype(self, other))

    def __rmatmul__(self, other):
        return _la.matmul(*same_dtype(other, self))

    def matmul(self, other):
        """The matrix product (NumPy's rules for 1-D and batched operands), of operands of one dtype."""
        return _la.matmul(*same_dtype(self, other))

    def mm(self, mat2):
        """The product of two matrices of one dtype."""
        return _la.matmul(*same_dtype(self, mat2))

    def dot(self, other):
        """The inner product of two vectors of one dtype."""
        return _la.dot(*same_dtype(self, other))

    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        return self + scaled(other, alpha)

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        return self - scaled(other, alpha)

    def __rtruediv__(self, other):
        """other / self as PyTorch computes it: self's reciprocal (ReciprocalBackward0) times other (MulBackward0)."""
        return _ew.multiply(_named(_ew.divide(1, self), "ReciprocalBackward0"), other)

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=False, dtype=None):
        """The mean of the elements, over dim when given (keepdim keeps it); floating point tensors only."""
        source = self if dtype is None else self.to(dtype)
        _floating_only(source, "mean(): could not infer output dtype. Input dtype must be either a floating "
                               "point or complex dtype. Got: {}")
        dim = dim if axis is None else axis
        name = "MeanBackward0" if dim is None else "MeanBackward1"  # (PyTorch's overloads: all, or dims)
        return _composite(name, _red.mean, source, dim, keepdim or keepdims)

    def softmax(self, dim=-1):
        """exp(self) normalised to sum to 1 along dim (one primitive: SoftmaxBackward0)."""
        _floating_only(self, "softmax(): expected a floating point or complex tensor as input. Got {}")
        return along_dim(softmax_p, self, dim)

    def log_softmax(self, dim=-1):
        """The logarithm of softmax along dim, computed stably (one primitive: LogSoftmaxBackward0)."""
        _floating_only(self, "log_softmax(): expected a floating point or complex tensor as input. Got {}")
        return along_dim(log_softmax_p, self, dim)

    def norm(self, p="fro", dim=None, keepdim=False):
        """The p-norm of the elements (2-norm for "fro"), over dim when given."""
        _floating_only(self, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}")
        return _composite("LinalgVectorNormBackward0", _methods.ARRAY_METHODS["norm"], self, p, dim, keepdim)

    def float(self):
        """self as float32."""
        return self.to(np.float32)

    def double(self):
        """self as float64."""
        return self.to(np.float64)

    def half(self):
        """self as float16."""
        return self.to(np.float16)

    def bfloat16(self):
        """self as bfloat16 (ml_dtypes' type: an optional dependency)."""
        from ..api.precision import bfloat16  # (imported on first use)

        return self.to(bfloat16())

    def long(self):
        """self as int64 (outside the graph, as every integer conversion)."""
        return self.to(np.int64)

    def int(self):  # noqa: A003 - PyTorch's name
        """self as int32."""
        return self.to(np.int32)

    def short(self):
        """self as int16."""
        return self.to(np.int16)

    def char(self):
        """self as int8."""
        return self.to(np.int8)

    def byte(self):
        """self as uint8."""
        return self.to(np.uint8)

    def bool(self):  # noqa: A003
        """self as bool (True where nonzero)."""
        return self.to(np.bool_)

    def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False):
        """PyTorch's to(dtype), to(device, dtype=None), to(other) and to(device=, dtype=): self where nothing
        changes (unless copy=True), else a new tensor; moves and conversions are recorded in the graph."""
        for arg in args:
            if isinstance(arg, _tensor()):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (_device.device, int)) and not isinstance(arg, bool) or (
                    isinstance(arg, str) and arg.partition(":")[0] in ("cpu", "cuda")):
                device = arg
            else:
                dtype = arg
        out = self if device is None else _moved(self, _device.parse(device))
        out = out if dtype is None else out.astype(dtype)
        return _clone(out) if copy and out is self else out

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        """A new leaf holding a copy of data, with self's dtype and device unless given."""
        return _factories().new_tensor(self, data, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of the size given, with self's dtype and device unless given."""
        return _factories().new_zeros(self, *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """Ones of the size given, with self's dtype and device unless given."""
        return _factories().new_ones(self, *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of the size given, not to be read before written, with self's dtype and device."""
        return _factories().new_empty(self, *size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """size filled with fill_value, with self's dtype and device unless given."""
        return _factories().new_full(self, size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)

    def cpu(self):
        """self on the CPU (self itself if it is there)."""
        return self.to("cpu")

    def cuda(self, device=None):
        """A copy on the GPU (self if it is there already); needs CuPy and a GPU."""
        return self.to("cuda" if device is None else _device.parse(device))


def _with_indices(t, dim, keepdim, name, arg):
    """(values, indices) of max(dim) / min(dim), the values read at the indices, so each value's gradient goes
    to the one element the index names (PyTorch's rule; a full max() shares it among ties). The index grids
    of the other dims are made here, on t's device, and enter the recorded program as operands."""
    if t.ndim == 0:  # (one element along dim 0, or -1)
        normalize_axis(dim, 1, name[:3].lower())
        return _with_indices(_sh.reshape(t, (1,)), 0, False, name, arg)
    dims = t.shape
    dim = normalize_axis(dim, len(dims), name[:3].lower())
    indices = arg(t, dim, True)
    grids = [_device.move(np.arange(d).reshape([-1 if b == a else 1 for b in range(len(dims))]), t.device)
             for a, d in enumerate(dims) if a != dim]
    from .composite import composite  # (composite nodes build on Tensor)

    values = composite(name, _gather, [t, indices, *grids], dim, keepdim)
    return values_indices(values, indices if keepdim else _sh.squeeze(indices, dim))


def _gather(x, indices, *grids_dim_keepdim):
    """x at indices along dim; the other dims indexed by their grids (NumPy's take_along_axis)."""
    *grids, dim, keepdim = grids_dim_keepdim
    grids.insert(dim, indices)
    values = _sh.getitem(x, tuple(grids))
    return values if keepdim else _sh.squeeze(values, dim)


def along_dim(prim, x, dim):
    """prim (softmax_p or log_softmax_p) of x along dim, normalised as PyTorch's (0 or -1 for a 0-d x)."""
    x = arr(x)
    ndim = x.ndim if hasattr(x, "ndim") else np.ndim(x)  # (not np.ndim of a tensor: NumPy would dispatch it)
    return prim(x, axis=normalize_axis(dim, max(ndim, 1), prim.name))


def correction_of(t, dim, unbiased, correction):
    """The ddof of var/std from PyTorch's arguments: correction=, unbiased= (also by position), default 1."""
    _floating_only(t, "std and var only support floating point and complex dtypes (got {})")
    if isinstance(dim, bool):
        unbiased = dim
    if unbiased is not None and correction is not None:
        raise TypeError("var() / std(): pass either unbiased= or correction=, not both")
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def scaled(other, alpha):
    """alpha * other (the multiplication skipped when alpha is the Python number 1)."""
    return other if type(alpha) in (int, float) and alpha == 1 else other * alpha


def _is_inexact(t) -> bool:
    """Whether t holds floating point or complex values (the only ones that can require grad)."""
    return is_float(t.dtype)


_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long"}


def _floating_only(t, message: str) -> None:
    """PyTorch's refusal of integer and boolean inputs to mean, softmax, norm, var, ...: message names the
    dtype at its {}."""
    if not _is_inexact(t):
        name = _TORCH_NAMES.get(t.dtype.name, t.dtype.name)
        raise RuntimeError(message.format(name) + "; convert the tensor first, e.g. with .float()")


def _composite(name, fn, tensor, *static):
    from .composite import composite  # (composite nodes build on this module)

    return composite(name, fn, [tensor], *static)


def _named(out, name: str):
    """out, whose grad_fn (when it was recorded: a node made for out alone) is named `name`, as PyTorch's."""
    node = out._grad_fn
    if node is not None:
        node._name = name
    return out


def _moved(t, dev):
    """t on device dev: t itself if it is there, else a copy recorded as ToCopyBackward0."""
    source = t.device
    if source == dev:
        return t
    out = _tensor()._wrap(_device.move(t._array, dev))
    if t.requires_grad and grad_mode.STATE.enabled:
        out.grad_fn, out.requires_grad = _device.ToCopyNode(t, source), True
    return out

