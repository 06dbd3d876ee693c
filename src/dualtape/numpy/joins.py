"""dnp joining and splitting: the stack family (vstack, hstack, dstack, column_stack), append, the split family,
atleast_Nd and NumPy's r_ / c_ index expressions. Each is concatenate, reshape or a slicing getitem, so their
derivatives, batching and emission are those primitives'. Sequences may mix traced values, NumPy arrays and
lists."""

from __future__ import annotations

import operator
import warnings

import numpy as np
from numpy.exceptions import AxisError

from .._util import user_source_line
from ..core.primitive import trace_of
from ..errors import UnsupportedError
from . import _base
from ._base import arr, ndim, shape, shape_error
from ._base import dtype as dtype_of
from .elementwise import astype
from .shapes import concatenate, expand_dims, getitem, ravel, reshape, transpose


def axis_index(axis, n: int, op: str) -> int:
    """axis of an n-d array as a non-negative int; NumPy's AxisError (a ValueError and an IndexError) naming op."""
    axis = operator.index(axis)
    if not -n <= axis < n:
        raise AxisError(axis, n, op)
    return axis % n


# ---- at least N dimensions ----------------------------------------------------------------------------
def _one_or_tuple(results: list):
    return results[0] if len(results) == 1 else tuple(results)


def _at_least_1d(x):
    return reshape(x, (1,)) if ndim(x) == 0 else x


def _at_least_2d(x):
    n = ndim(x)
    return reshape(x, (1, 1)) if n == 0 else expand_dims(x, 0) if n == 1 else x


def _at_least_3d(x):
    """NumPy's placement: a vector (n,) becomes (1, n, 1), a matrix (m, n) becomes (m, n, 1)."""
    n = ndim(x)
    if n == 0:
        return reshape(x, (1, 1, 1))
    return reshape(x, (1,) + shape(x) + (1,)) if n == 1 else expand_dims(x, 2) if n == 2 else x


def atleast_1d(*arys):
    """Each input with at least one dimension (a scalar becomes shape (1,)); one result, or a tuple for several."""
    return _one_or_tuple([_at_least_1d(arr(a)) for a in arys])


def atleast_2d(*arys):
    """Each input with at least two dimensions (a vector (n,) becomes (1, n))."""
    return _one_or_tuple([_at_least_2d(arr(a)) for a in arys])


def atleast_3d(*arys):
    """Each input with at least three dimensions (a vector (n,) becomes (1, n, 1), a matrix gets a last axis)."""
    return _one_or_tuple([_at_least_3d(arr(a)) for a in arys])


# ---- joining -------------------------------------------------------------------------------------------
def _sequence(tup, op: str) -> list:
    """The arrays of a stacking function's sequence argument (an array counts as the sequence of its rows)."""
    if not hasattr(tup, "__getitem__"):
        raise TypeError(f'{op}: arrays to stack must be passed as a "sequence" type such as list or tuple')
    if trace_of(tup) is not None or isinstance(tup, np.ndarray):
        if not ndim(tup):
            raise TypeError(f"{op}: iteration over a 0-d array: give a list or tuple of arrays")
        return [getitem(tup, i) for i in range(shape(tup)[0])]
    return [arr(a) for a in tup]


def _join(op: str, arrays: list, axis: int, dtype=None, casting="same_kind"):
    """concatenate along axis, checked under op's name, in dtype (or the arrays' common one) by NumPy's casting."""
    if not arrays:
        raise ValueError(f"{op}: need at least one array to concatenate")
    dims = [shape(a) for a in arrays]
    if len({len(d) for d in dims}) > 1 or len({d[:axis] + d[axis + 1:] for d in dims}) > 1:
        raise shape_error(op, f"all input arrays must have the same shape except along the joined axis {axis}, "
                              f"got {dims}", fix="reshape or pad the arrays so the other axes agree")
    target = np.dtype(dtype) if dtype is not None else np.result_type(*[dtype_of(a) for a in arrays])
    for a in arrays:
        if not np.can_cast(dtype_of(a), target, casting):
            raise TypeError(f"{op}: cannot cast array data from {dtype_of(a)!r} to {target!r} according to the "
                            f"rule {casting!r}")
    if dtype is not None:
        arrays = [astype(a, target) for a in arrays]
    return concatenate(arrays, axis)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Rows joined: the arrays (vectors as rows (1, n)) concatenated along the first axis."""
    return _join("vstack", [_at_least_2d(a) for a in _sequence(tup, "vstack")], 0, dtype, casting)


def row_stack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's deprecated alias of vstack (it warns, as NumPy does)."""
    warnings.warn("`row_stack` alias is deprecated. Use `dnp.vstack` directly.", DeprecationWarning, stacklevel=2)
    return vstack(tup, dtype=dtype, casting=casting)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Columns joined: along the second axis, or the first for vectors."""
    arrays = [_at_least_1d(a) for a in _sequence(tup, "hstack")]
    axis = 0 if arrays and ndim(arrays[0]) == 1 else 1
    return _join("hstack", arrays, axis, dtype, casting)


def dstack(tup):
    """Joined along the third axis (vectors as (1, n, 1), matrices as (m, n, 1))."""
    return _join("dstack", [_at_least_3d(a) for a in _sequence(tup, "dstack")], 2)


def column_stack(tup):
    """Vectors as the columns of a matrix (higher arrays joined along their second axis)."""
    arrays = [reshape(a, (-1, 1)) if ndim(a) < 2 else a for a in _sequence(tup, "column_stack")]
    return _join("column_stack", arrays, 1)


def append(arr, values, axis=None):  # noqa: A002 - NumPy's parameter name
    """values appended to arr along axis (both flattened when axis is None)."""
    arr, values = _base.arr(arr), _base.arr(values)
    if axis is None:
        return _join("append", [ravel(arr), ravel(values)], 0)
    return _join("append", [arr, values], axis_index(axis, ndim(arr), "append"))


# ---- splitting -----------------------------------------------------------------------------------------
def _slice_along(x, axis: int, start, stop):
    return getitem(x, (slice(None),) * axis + (slice(start, stop),))


def _cuts(indices_or_sections) -> list | None:
    """The cut indices of a split, or None for a number of sections (as NumPy: whatever has no len())."""
    try:
        len(indices_or_sections)
    except TypeError:
        return None
    return [operator.index(i) for i in indices_or_sections]


def array_split(ary, indices_or_sections, axis=0):
    """Sub-arrays along axis: `sections` nearly equal parts (the first ones one longer), or cut before each
    index of a list (Python's slicing rules for indices past the end or negative)."""
    x = arr(ary)
    axis = axis_index(axis, ndim(x), "array_split")
    total = shape(x)[axis]
    cuts = _cuts(indices_or_sections)
    if cuts is not None:
        bounds = [0, *cuts, total]
    else:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"array_split: the number of sections must be larger than 0, got {sections}")
        each, extra = divmod(total, sections)
        bounds = [0]
        for k in range(sections):
            bounds.append(bounds[-1] + each + (k < extra))
    return [_slice_along(x, axis, start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]


def split(ary, indices_or_sections, axis=0):
    """array_split, but an int number of sections must divide the axis exactly (as NumPy)."""
    if _cuts(indices_or_sections) is None:
        x, sections = arr(ary), operator.index(indices_or_sections)
        total = shape(x)[axis_index(axis, ndim(x), "split")]
        if sections > 0 and total % sections:
            raise shape_error("split", f"array split does not result in an equal division: an axis of length "
                                       f"{total} into {sections} sections (shape {shape(x)}, axis {axis})",
                              fix="use dnp.array_split for nearly equal parts, or give the cut indices as a list")
        return array_split(x, sections, axis)
    return array_split(ary, indices_or_sections, axis)


def _split_at_least(op: str, ary, dims: int, axis: int, indices_or_sections):
    x = arr(ary)
    if ndim(x) < dims:
        raise shape_error(op, f"{op} only works on arrays of {dims} or more dimensions, got shape {shape(x)}",
                          fix=f"use dnp.split(x, ..., axis=...) for a {ndim(x)}-d array")
    return split(x, indices_or_sections, axis)


def vsplit(ary, indices_or_sections):
    """split along the first axis (of an array of two or more dimensions)."""
    return _split_at_least("vsplit", ary, 2, 0, indices_or_sections)


def hsplit(ary, indices_or_sections):
    """split along the second axis (the first, for a vector)."""
    x = arr(ary)
    return _split_at_least("hsplit", x, 1, 1 if ndim(x) > 1 else 0, indices_or_sections)


def dsplit(ary, indices_or_sections):
    """split along the third axis (of an array of three or more dimensions)."""
    return _split_at_least("dsplit", ary, 3, 2, indices_or_sections)


# ---- r_ and c_ -----------------------------------------------------------------------------------------
class AxisConcatenator:
    """NumPy's r_ / c_: `dnp.r_[x, 0:3, 5.0]` joins arrays, slices (as ranges; a complex step as linspace)
    and scalars along an axis; a leading string directive ('0,2,-1': axis, ndmin, where 1-d items' axis goes)
    changes how. np.matrix results ('r', 'c', matrix strings) have no traced counterpart and raise."""

    __slots__ = ("axis", "ndmin", "trans1d")

    def __init__(self, axis=0, ndmin=1, trans1d=-1):
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __getitem__(self, key):
        if isinstance(key, str):
            raise _matrix_unsupported()
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        values, kinds = [], []  # kinds: each value's dtype, or a Python scalar itself (weak in result_type)
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k:
                    raise ValueError("r_/c_: special directives must be the first entry")
                if item in ("r", "c"):
                    raise _matrix_unsupported()
                axis, ndmin, trans1d = _directive(item, ndmin, trans1d)
                continue
            if isinstance(item, slice):
                value = _with_ndmin(_range(item), ndmin)
                value = transpose(value, _swap_last(ndim(value), trans1d)) if ndmin > 1 and trans1d != -1 else value
            elif type(item) in np.ScalarType:
                values.append(item)
                kinds.append(item)
                continue
            else:
                item = arr(item)
                value = _with_ndmin(item, ndmin)
                if trans1d != -1 and ndim(item) < ndmin:
                    value = transpose(value, _one_d_axes(ndim(item), ndmin, trans1d))
            values.append(value)
            kinds.append(dtype_of(value))
        if not values:
            raise ValueError("r_/c_: need at least one array to concatenate")
        final = np.result_type(*kinds)
        return concatenate([_with_ndmin(astype(v, final), ndmin) for v in values], axis)


def _matrix_unsupported() -> UnsupportedError:
    return UnsupportedError("dnp.r_ / dnp.c_ building an np.matrix", "dnp.concatenate", user_source_line(),
                            "np.matrix has no traced counterpart: join plain arrays with dnp.r_[...], "
                            "dnp.concatenate or dnp.stack")


def _directive(item: str, ndmin: int, trans1d: int) -> tuple:
    """(axis, ndmin, trans1d) from a string directive: 'axis' or 'axis,ndmin' or 'axis,ndmin,trans1d'."""
    try:
        fields = [int(v) for v in item.split(",")]
    except ValueError:
        raise ValueError(f"r_/c_: unknown special directive {item!r}") from None
    if len(fields) == 1:
        return fields[0], ndmin, trans1d
    return fields[0], fields[1], fields[2] if len(fields) > 2 else trans1d


def _range(item: slice):
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, (complex, np.complexfloating)):
        return np.linspace(start, item.stop, num=int(abs(step)))
    return np.arange(start, item.stop, step)


def _with_ndmin(x, n: int):
    x = arr(x)
    return x if ndim(x) >= n else reshape(x, (1,) * (n - ndim(x)) + shape(x))


def _swap_last(n: int, axis: int) -> tuple:
    perm = list(range(n))
    perm[-1], perm[axis] = perm[axis], perm[-1]
    return tuple(perm)


def _one_d_axes(item_ndim: int, ndmin: int, trans1d: int) -> tuple:
    """Where an item's own axes go among ndmin (NumPy's trans1d): they start at trans1d, ones fill the rest."""
    added = ndmin - item_ndim
    start = trans1d + added + 1 if trans1d < 0 else trans1d
    order = list(range(ndmin))
    return tuple(order[:start] + order[added:] + order[start:added])


r_ = AxisConcatenator(0)
c_ = AxisConcatenator(-1, ndmin=2, trans1d=0)
