"""The `dt.*` function forms of the tensor methods, with PyTorch's argument names (dim, keepdim); on tensors
they are the tensors' own methods (one graph node with PyTorch's name)."""

from __future__ import annotations

from ..numpy import contractions as _la
from ..numpy import elementwise as _ew
from ..numpy import methods as _methods
from ..numpy import reductions as _red
from ..numpy import shapes as _sh
from ..ops.neural import log_softmax_p, softmax_p
from .promotion import same_dtype
from .tensor import Tensor
from .tensor_methods import TorchMethods, along_dim, correction_of, scaled, values_indices  # noqa: F401

amax, amin, _squeeze = TorchMethods.amax, TorchMethods.amin, TorchMethods.squeeze  # (dt.amax, dt.amin)

exp, log, sin, cos, tan, tanh, sigmoid, sqrt, abs = (  # noqa: A001 - PyTorch's names
    _ew.exp, _ew.log, _ew.sin, _ew.cos, _ew.tan, _ew.tanh, _ew.sigmoid, _ew.sqrt, _ew.abs)
neg, square, log1p, expm1, sign, pow, where, maximum, minimum = (  # noqa: A001
    _ew.negative, _ew.square, _ew.log1p, _ew.expm1, _ew.sign, _ew.power, _ew.where, _ew.maximum,
    _ew.minimum)


def matmul(input, other):  # noqa: A002
    """The matrix product (NumPy's rules for 1-D and batched operands); tensors of one dtype, as PyTorch's."""
    return _la.matmul(*same_dtype(input, other))


def mm(input, mat2):  # noqa: A002
    """The product of two matrices (of one dtype)."""
    return _la.matmul(*same_dtype(input, mat2))


def dot(input, other):  # noqa: A002
    """The inner product of two vectors (of one dtype)."""
    return _la.dot(*same_dtype(input, other))


def sum(t, dim=None, keepdim=False):  # noqa: A001
    return _red.sum(t, dim, keepdim)


def mean(t, dim=None, keepdim=False):
    return t.mean(dim, keepdim) if isinstance(t, Tensor) else _red.mean(t, dim, keepdim)


def prod(t, dim=None, keepdim=False):
    return _red.prod(t, dim, keepdim)


def softmax(t, dim=-1):
    return t.softmax(dim) if isinstance(t, Tensor) else along_dim(softmax_p, t, dim)


def log_softmax(t, dim=-1):
    return t.log_softmax(dim) if isinstance(t, Tensor) else along_dim(log_softmax_p, t, dim)


def relu(t):
    return t.relu() if isinstance(t, Tensor) else _ew.relu(t)


def logsumexp(t, dim=None, keepdim=False):
    return _red.logsumexp(t, dim, keepdim)


def clamp(t, min=None, max=None):  # noqa: A002
    return _ew.clip(t, min, max)


def cat(tensors, dim=0):
    return _sh.concatenate(list(tensors), dim)


def stack(tensors, dim=0):
    return _sh.stack(list(tensors), dim)


def reshape(t, shape):
    return _sh.reshape(t, shape)


def transpose(t, dim0, dim1):
    return _sh.swapaxes(t, dim0, dim1)


def norm(t, p="fro", dim=None, keepdim=False):
    return t.norm(p, dim, keepdim) if isinstance(t, Tensor) else _methods.ARRAY_METHODS["norm"](t, p, dim, keepdim)


clip = clamp


def max(input, dim=None, keepdim=False):  # noqa: A001, A002 - PyTorch's names
    """torch.max: the maximum; with dim, (values, indices); with a tensor as second argument, elementwise."""
    if isinstance(input, Tensor):
        return input.max(dim, keepdim)
    return _extremum(input, dim, keepdim, _ew.maximum, _red.max, _red.argmax)


def min(input, dim=None, keepdim=False):  # noqa: A001, A002
    if isinstance(input, Tensor):
        return input.min(dim, keepdim)
    return _extremum(input, dim, keepdim, _ew.minimum, _red.min, _red.argmin)


def _extremum(x, dim, keepdim, elementwise, whole, arg):
    """max / min of an array or traced value, with torch.max's three forms (values read at the indices)."""
    if dim is None:
        return whole(x)
    if hasattr(dim, "shape"):
        return elementwise(x, dim)
    indices = arg(x, dim, True)
    values = _sh.take_along_axis(x, indices, dim)
    if keepdim:
        return values_indices(values, indices)
    return values_indices(_sh.squeeze(values, dim), _sh.squeeze(indices, dim))


def argmax(input, dim=None, keepdim=False):  # noqa: A002
    return _red.argmax(input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):  # noqa: A002
    return _red.argmin(input, dim, keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """torch.var: Bessel-corrected (correction=1) unless unbiased=False or another correction is given."""
    if isinstance(input, Tensor):
        return input.var(dim, unbiased, keepdim, correction=correction)
    ddof = correction_of(input, dim, unbiased, correction)
    return _red.var(input, None if isinstance(dim, bool) else dim, keepdim, ddof)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    if isinstance(input, Tensor):
        return input.std(dim, unbiased, keepdim, correction=correction)
    ddof = correction_of(input, dim, unbiased, correction)
    return _red.std(input, None if isinstance(dim, bool) else dim, keepdim, ddof)


def unsqueeze(input, dim):  # noqa: A002
    return _sh.expand_dims(input, dim)


def squeeze(input, dim=None):  # noqa: A002
    """Remove size-1 dimensions (among dim, when given; a dim of another size is left as it is)."""
    return _squeeze(input, dim)


def permute(input, dims):  # noqa: A002
    return _sh.transpose(input, tuple(dims))


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    """Dimensions start_dim..end_dim merged into one."""
    return _methods.ARRAY_METHODS["flatten"](input, start_dim, end_dim)


def add(input, other, *, alpha=1):  # noqa: A002
    """input + alpha * other."""
    return _ew.add(input, scaled(other, alpha))


def sub(input, other, *, alpha=1):  # noqa: A002
    """input - alpha * other."""
    return _ew.subtract(input, scaled(other, alpha))


def mul(input, other):  # noqa: A002
    return _ew.multiply(input, other)


def div(input, other, *, rounding_mode=None):  # noqa: A002
    """input / other; rounding_mode "floor" rounds the quotient down, "trunc" towards zero."""
    if rounding_mode is None:
        return _ew.divide(input, other)
    if rounding_mode == "floor":
        return _ew.floor_divide(input, other)
    if rounding_mode == "trunc":  # (floor, plus one where the quotient is negative and inexact)
        inexact = _ew.not_equal(_ew.mod(input, other), 0)
        negative = _ew.logical_xor(_ew.less(input, 0), _ew.less(other, 0))
        return _ew.add(_ew.floor_divide(input, other), _ew.logical_and(inexact, negative))
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}")
