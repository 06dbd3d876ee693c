"""dnp's arrays from data: `array`, `asarray`, `asanyarray`, `ascontiguousarray`, as NumPy's, and from lists
and tuples holding traced values too (as JAX's): `dnp.array([x, 2 * x])` is the traced array stacked from its
elements, so derivatives flow through it. Data with no traced value in it goes to NumPy unchanged."""

from __future__ import annotations

import numpy as np

from ._base import SEQUENCES, holds_traced, ndim, shape, stacked
from .elementwise import astype
from .shapes import contiguous, reshape


def _is_plain(a) -> bool:
    """a holds no traced value (nor eager tensor), so NumPy makes the array."""
    if type(a) in SEQUENCES:
        return not holds_traced(a)
    return getattr(a, "_dt_trace", None) is None


def _device(device) -> dict:
    return {} if device is None else {"device": device}


def _traced(a, dtype):
    """A traced value (converted to dtype, if given) or the traced array a list or tuple of them stands for."""
    if type(a) in SEQUENCES:
        return stacked(a, dtype)
    return a if dtype is None else astype(a, dtype)


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """a as an array: a traced value itself (converted to dtype if one is given), a list or tuple holding
    traced values stacked into one, anything else NumPy's np.asarray. A traced value is immutable, so `copy`
    and `order` change nothing for it; `like` only picks the kind of array, which the data decides here."""
    if _is_plain(a):
        return np.asarray(a, dtype=dtype, order=order, copy=copy, **_device(device))
    return _traced(a, dtype)


def asanyarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """asarray, keeping NumPy's array subclasses (np.asanyarray) for data with no traced value in it."""
    if _is_plain(a):
        return np.asanyarray(a, dtype=dtype, order=order, copy=copy, **_device(device))
    return _traced(a, dtype)


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, ndmax=0, like=None):  # noqa: A002
    """An array of object's data (np.array): traced data as asarray does, copied (an eager tensor is cloned, so
    its gradient still flows; traced values are immutable, so theirs is the same value), with at least ndmin
    dimensions."""
    if _is_plain(object):
        limit = {"ndmax": ndmax} if ndmax else {}  # (NumPy before 2.4 has no ndmax)
        return np.array(object, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin, **limit)
    if type(object) not in SEQUENCES and copy:
        object = object.clone()
    out = _traced(object, dtype)
    if ndmax and ndim(out) > ndmax:
        raise TypeError(f"array(..., ndmax={ndmax}) of data with {ndim(out)} dimensions would be an array of "
                        "objects, which cannot hold traced values; leave ndmax out")
    missing = ndmin - ndim(out)
    return reshape(out, (1,) * missing + shape(out)) if missing > 0 else out


def ascontiguousarray(a, dtype=None, *, like=None):
    """a laid out row by row in memory, with at least one dimension (np.ascontiguousarray)."""
    if _is_plain(a):
        return np.ascontiguousarray(a, dtype=dtype)
    out = _traced(a, dtype)
    return contiguous(reshape(out, (1,)) if ndim(out) == 0 else out)
