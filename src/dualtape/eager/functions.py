"""The `dt.*` function forms of the tensor methods, with PyTorch's argument names (dim, keepdim); on tensors
they are the tensors' own methods (one graph node with PyTorch's name)."""

from __future__ import annotations

from ..numpy import elementwise as _ew
from ..numpy import methods as _methods
from ..numpy import reductions as _red
from ..numpy import shapes as _sh
from ..numpy.linalg import dot, einsum, matmul, outer  # noqa: F401  (dt.dot, dt.einsum, ...)
from .tensor import Tensor

exp, log, sin, cos, tan, tanh, sigmoid, sqrt, abs = (  # noqa: A001 - PyTorch's names
    _ew.exp, _ew.log, _ew.sin, _ew.cos, _ew.tan, _ew.tanh, _ew.sigmoid, _ew.sqrt, _ew.abs)
neg, square, log1p, expm1, sign, pow, where, maximum, minimum = (  # noqa: A001
    _ew.negative, _ew.square, _ew.log1p, _ew.expm1, _ew.sign, _ew.power, _ew.where, _ew.maximum,
    _ew.minimum)
mm = matmul


def sum(t, dim=None, keepdim=False):  # noqa: A001
    return _red.sum(t, dim, keepdim)


def mean(t, dim=None, keepdim=False):
    return t.mean(dim, keepdim) if isinstance(t, Tensor) else _red.mean(t, dim, keepdim)


def prod(t, dim=None, keepdim=False):
    return _red.prod(t, dim, keepdim)


def softmax(t, dim=-1):
    return t.softmax(dim) if isinstance(t, Tensor) else _red.softmax(t, dim)


def log_softmax(t, dim=-1):
    return t.log_softmax(dim) if isinstance(t, Tensor) else _red.log_softmax(t, dim)


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
