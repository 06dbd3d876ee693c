"""dnp reductions and the stable compositions built on them (mean, var, logsumexp, softmax)."""

from __future__ import annotations

import math

import numpy as np

from .._util import normalize_axes, normalize_axis
from ..ops import reduction as red
from ..ops.elementwise import full_p, stop_gradient_p
from . import elementwise as ew
from ._base import arr, bind, ndim, shape
from ._base import dtype as dtype_of
from .shapes import reshape


def _axes(x, axis, name):
    return normalize_axes(axis, ndim(x), name)


def _reduce(prim, x, axis, keepdims):
    x = arr(x)
    return bind(prim, x, axes=_axes(x, axis, prim.name), keepdims=bool(keepdims))


def _in_dtype(x, dtype):
    """x converted to the dtype a reduction accumulates in (NumPy's and PyTorch's `dtype=`), if one is given."""
    return arr(x) if dtype is None else ew.astype(x, dtype)


def sum(x, axis=None, keepdims=False, dtype=None):  # noqa: A001 - NumPy's name
    return _reduce(red.reduce_sum_p, _in_dtype(x, dtype), axis, keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    return _reduce(red.reduce_prod_p, _in_dtype(x, dtype), axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - NumPy's name
    """The maximum over axis; `initial` (as NumPy's) is one more value to take the maximum with, so an empty
    reduction gives it."""
    return _extreme(red.reduce_max_p, ew.maximum, x, axis, keepdims, initial)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - NumPy's name
    return _extreme(red.reduce_min_p, ew.minimum, x, axis, keepdims, initial)


def _extreme(prim, combine, x, axis, keepdims, initial):
    x = arr(x)
    if initial is None:
        return _reduce(prim, x, axis, keepdims)
    initial = np.asarray(initial).astype(dtype_of(x))  # (NumPy casts initial to the array's dtype)
    if _count(x, axis) == 0:
        axes = _axes(x, axis, prim.name)
        dims = tuple(1 if i in axes else d for i, d in enumerate(shape(x)) if keepdims or i not in axes)
        return bind(full_p, shape=dims, fill_value=initial.item(), dtype=initial.dtype)
    return combine(_reduce(prim, x, axis, keepdims), initial)


amax, amin = max, min


def _count(x, axis) -> int:
    dims = shape(x)
    return math.prod(dims[a] for a in _axes(x, axis, "mean"))


def mean(x, axis=None, keepdims=False, dtype=None):
    """Sum divided by the count (a Python int, so float32 stays float32); with dtype, computed in and
    returned as that dtype (as NumPy)."""
    x = _in_dtype(x, dtype)
    out = ew.divide(sum(x, axis, keepdims), _count(x, axis))
    return out if dtype is None else ew.astype(out, dtype)


def var(x, axis=None, keepdims=False, ddof=0, dtype=None):
    x = _in_dtype(x, dtype)
    centred = ew.subtract(x, mean(x, axis, keepdims=True))
    freedom = _count(x, axis) - ddof  # (at least 0, as NumPy's: NaN where there is none, as PyTorch's too)
    return ew.divide(sum(ew.square(centred), axis, keepdims), freedom if freedom > 0 else 0)


def std(x, axis=None, keepdims=False, ddof=0, dtype=None):
    """The standard deviation; its derivative at a constant input is 0 (as PyTorch's), not NaN."""
    return ew.sqrt_of_sum(var(x, axis, keepdims, ddof, dtype))


def _index_reduce(prim, x, axis, keepdims):
    """argmax / argmin; axis=None searches the flattened array, and keepdims then keeps every axis (as NumPy)."""
    x = arr(x)
    if axis is None:
        out = bind(prim, reshape(x, (-1,)), axis=0, keepdims=False)
        return reshape(out, (1,) * ndim(x)) if keepdims else out
    return bind(prim, x, axis=normalize_axis(axis, ndim(x), prim.name), keepdims=bool(keepdims))


def argmax(x, axis=None, keepdims=False):
    return _index_reduce(red.argmax_p, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _index_reduce(red.argmin_p, x, axis, keepdims)


def _max_shift(x, axis):
    """The max along axis, kept as size 1, with derivative zero: the results below do not depend on the
    shift mathematically, so its derivative terms would only cancel (wasted work in every gradient)."""
    return stop_gradient_p(max(x, axis, keepdims=True))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the max, so it never overflows."""
    x = arr(x)
    m = _max_shift(x, axis)
    m = ew.where(ew.isfinite(m), m, 0)
    out = ew.add(ew.log(sum(ew.exp(ew.subtract(x, m)), axis, keepdims=True)), m)
    if keepdims:
        return out
    return reshape(out, tuple(d for i, d in enumerate(shape(out)) if i not in _axes(x, axis, "logsumexp")))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis, shifted by the max for stability."""
    x = arr(x)
    e = ew.exp(ew.subtract(x, _max_shift(x, axis)))
    return ew.divide(e, sum(e, axis, keepdims=True))


def log_softmax(x, axis=-1):
    """x - logsumexp(x), formed as (x - m) - log(sum(exp(x - m))): subtracting the max first keeps the
    precision that x - logsumexp(x) would lose when |x| is large."""
    x = arr(x)
    shifted = ew.subtract(x, _max_shift(x, axis))
    return ew.subtract(shifted, ew.log(sum(ew.exp(shifted), axis, keepdims=True)))


def count_nonzero(x, axis=None, keepdims=False):
    return sum(ew.astype(ew.not_equal(x, 0), np.int64), axis, keepdims)
