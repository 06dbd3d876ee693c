"""Tensor methods whose PyTorch meaning differs from the shared (NumPy-style) method set, or that only tensors
have: max/min over a dim returning (values, indices) with the gradient at the index, var/std with Bessel's
correction, squeeze(dim) as a no-op on a dimension that is not 1, expand (a view), casts to integer dtypes
outside the graph, masked_fill, and the in-place forms ending in `_` (each the out-of-place result written back
by `_inplace`, so the graph, the version counter and the leaf check behave as for add_). Installed on Tensor
after the shared set, so these win."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._util import normalize_axes, normalize_axis
from ..numpy import elementwise as _ew
from ..numpy import reductions as _red
from ..numpy import shapes as _sh
from . import devices as _device
from . import grad_mode
from .composite import composite
from .tensor import Tensor, _composite, _floating_only

values_indices = namedtuple("return_types_max", ["values", "indices"])

# the differentiable unary methods that get an in-place form (exp_, relu_, ...)
UNARY_INPLACE = ("abs", "cos", "exp", "expm1", "log", "log1p", "neg", "relu", "sigmoid", "sign", "sin", "sqrt",
                 "square", "tan", "tanh")


# ---- reductions over a dim ------------------------------------------------------------------------------------
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
    values = composite(name, _gather, [t, indices, *grids], dim, keepdim)
    return values_indices(values, indices if keepdim else _sh.squeeze(indices, dim))


def _gather(x, indices, *grids_dim_keepdim):
    """x at indices along dim; the other dims indexed by their grids (NumPy's take_along_axis)."""
    *grids, dim, keepdim = grids_dim_keepdim
    grids.insert(dim, indices)
    values = _sh.getitem(x, tuple(grids))
    return values if keepdim else _sh.squeeze(values, dim)


def amax(self, dim=(), keepdim=False):
    """The maximum over dim (an int, tuple or list; all dims when empty); ties share the gradient evenly."""
    return _red.max(self, None if dim == () else dim, keepdim)


def amin(self, dim=(), keepdim=False):
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


# ---- shapes, casts, masks ---------------------------------------------------------------------------------------
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
    if np.dtype(dtype).kind in "fc" or not self.requires_grad:
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
    return expand(self, other.shape)


def masked_fill(self, mask, value):
    """self with value where the boolean mask (broadcast to self's shape) is True."""
    mask_dtype = np.dtype(mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype)
    if mask_dtype != np.bool_:
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask_dtype}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        value = value.to(self.dtype)
    else:
        value = np.asarray(value, dtype=self.dtype)  # (the tensor's dtype, whatever the Python value's type)
    return _ew.where(mask, value, self)


# ---- in-place forms -------------------------------------------------------------------------------------------
def masked_fill_(self, mask, value):
    return self._inplace(masked_fill(self, mask, value), "masked_fill_")


def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
    return self._inplace(self.clamp(min, max), "clamp_")


def clip_(self, min=None, max=None):  # noqa: A002
    return self._inplace(self.clip(min, max), "clip_")


def uniform_(self, a=0.0, b=1.0):
    """Fill with values drawn uniformly from [a, b), from the generator dt.manual_seed seeds."""
    return _random_fill(self, "random", lambda u: u * (b - a) + a, "uniform_")


def normal_(self, mean=0.0, std=1.0):
    """Fill with values drawn from N(mean, std**2), from the generator dt.manual_seed seeds."""
    return _random_fill(self, "standard_normal", lambda z: z * std + mean, "normal_")


def _random_fill(self, method: str, transform, name: str):
    """Draw (as dt.rand / dt.randn do, so dt.compile replays it), transform, and write into self in place. The
    new values do not depend on the old ones: a gradient reaching them goes nowhere."""
    from .factories import _random  # (the factories build on this module's Tensor)

    _floating_only(self, f"{name}: expected a floating point tensor. Got {{}}")
    with grad_mode.no_grad():
        values = transform(_random(method, self.shape, self.dtype, False, None))
    return self._inplace(_in_graph(self, values), name)


def _in_graph(self, result):
    """result, to be written into self in place. Where self is recorded but result is not (new random values,
    sign), result gets a place in the graph with zero gradient to self; else self would keep its old grad_fn,
    and gradients would flow to what self was computed from as if its values were still there."""
    if self.requires_grad and not result.requires_grad and grad_mode.STATE.enabled:
        return _ew.where(_device.move(np.ones(self.shape, np.bool_), self.device), result, self)
    return result


def _unary_inplace(name: str):
    def method(self):
        return self._inplace(_in_graph(self, getattr(self, name)()), name + "_")

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"self.{name}() written into self."
    return method


for _fn in (max, min, amax, amin, var, std, squeeze, astype, expand, expand_as, masked_fill, masked_fill_, clamp_,
            clip_, uniform_, normal_):
    setattr(Tensor, _fn.__name__, _fn)
for _name in UNARY_INPLACE:
    setattr(Tensor, _name + "_", _unary_inplace(_name))
