"""dnp shape functions and indexing; they normalise arguments so the primitives' params are exact."""

from __future__ import annotations

import math

import numpy as np

from .._util import normalize_axes, normalize_axis, user_source_line
from ..avals import aval_of
from ..core.primitive import trace_of
from ..errors import IndexBoundsError
from ..ops import indexing as ix
from ..ops import shape as sh
from ._base import arr, bind, ndim, shape, shape_error, static_int
from .elementwise import add, astype


def _shape_arg(args) -> tuple:
    if len(args) == 1 and not isinstance(args[0], int) and hasattr(args[0], "__iter__"):
        args = tuple(args[0])
    return tuple(static_int(d, "shape") for d in args)


def reshape(x, *new_shape, shape=None):
    """Reshape (one axis may be -1); accepts a tuple, separate ints, or `shape=` (NumPy 2.1's keyword)."""
    x = arr(x)
    if shape is not None:
        if new_shape:
            raise TypeError("reshape() got the new shape twice: positionally and as shape=")
        new_shape = (shape,)
    new_shape = _shape_arg(new_shape)
    old = aval_of(x).shape
    size = math.prod(old)
    if new_shape.count(-1) > 1:
        raise shape_error("reshape", f"only one axis may be -1, got {new_shape}")
    if -1 in new_shape:
        known = math.prod(d for d in new_shape if d != -1)
        if known == 0 or size % known:
            raise shape_error("reshape", f"cannot reshape an array of shape {old} into {new_shape}")
        new_shape = tuple(size // known if d == -1 else d for d in new_shape)
    if new_shape == old:
        return x
    return bind(sh.reshape_p, x, shape=new_shape)


def contiguous(x):
    """x laid out row by row (np.asarray(x, order="C")): the same values, a copy only where needed."""
    return bind(sh.contiguous_p, arr(x))


def ravel(x):
    return reshape(x, (-1,))


def transpose(x, axes=None):
    x = arr(x)
    n = ndim(x)
    perm = tuple(reversed(range(n))) if axes is None else tuple(normalize_axis(a, n, "transpose") for a in axes)
    if perm == tuple(range(n)):
        return x
    return bind(sh.transpose_p, x, perm=perm)


def swapaxes(x, axis1, axis2):
    n = ndim(x)
    perm = list(range(n))
    a, b = normalize_axis(axis1, n, "swapaxes"), normalize_axis(axis2, n, "swapaxes")
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    """Move axes (an int or a sequence of them) to new positions; the others keep their order (as NumPy)."""
    n = ndim(x)
    src, dst = _distinct_axes(source, n), _distinct_axes(destination, n)
    if len(src) != len(dst):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same number of elements")
    perm = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return transpose(x, perm)


def _distinct_axes(axis, n: int) -> list[int]:
    """An int or a sequence of ints as non-negative axes, in the order given (repeats raise, as NumPy)."""
    axes = [normalize_axis(a, n, "moveaxis") for a in ((axis,) if hasattr(axis, "__index__") else axis)]
    if len(set(axes)) != len(axes):
        raise ValueError(f"moveaxis: repeated axis in {axis}")
    return axes


def broadcast_to(x, new_shape):
    x = arr(x)
    new_shape = _shape_arg((new_shape,))
    if shape(x) == new_shape:
        return x
    return bind(sh.broadcast_to_p, x, shape=new_shape)


def squeeze(x, axis=None):
    x = arr(x)
    dims = shape(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(dims) if d == 1)
    else:
        axes = normalize_axes(axis, len(dims), "squeeze")
    if not axes:
        return x
    return bind(sh.squeeze_p, x, axes=axes)


def expand_dims(x, axis):
    x = arr(x)
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = normalize_axes(axis, ndim(x) + len(axis), "expand_dims")
    return bind(sh.expand_dims_p, x, axes=axes)


def concatenate(arrays, axis=0):
    arrays = [arr(a) for a in arrays]
    if not arrays:
        raise ValueError("concatenate: need at least one array")
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    axis = normalize_axis(axis, ndim(arrays[0]), "concatenate")
    if len(arrays) == 1:
        return arrays[0]
    return bind(sh.concatenate_p, *arrays, axis=axis)


def stack(arrays, axis=0):
    arrays = [arr(a) for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array")
    shapes = {shape(a) for a in arrays}
    if len(shapes) > 1:
        raise shape_error("stack", f"all input arrays must have the same shape, got {[shape(a) for a in arrays]}")
    axis = normalize_axis(axis, ndim(arrays[0]) + 1, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis)


# ---- indexing ----------------------------------------------------------------------------------------
def getitem(x, index):
    """x[index] for ints, slices, None, Ellipsis and integer arrays (NumPy's basic and advanced indexing)."""
    x = arr(x)
    entries, arrays = _index_entries(x, index)
    if all(e is Ellipsis or type(e) is ix.Slice and e == (None, None, None) for e in entries):
        return x
    return bind(ix.getitem_p, x, *arrays, index=ix.Index(entries))


def take_along_axis(x, indices, axis=-1):
    """x's values at indices along axis (NumPy's take_along_axis): indexing, so each value's gradient goes to
    the one element it was read from."""
    x = arr(x) if axis is not None else ravel(x)
    dims = shape(x)
    axis = normalize_axis(0 if axis is None else axis, len(dims), "take_along_axis")
    if ndim(indices) != len(dims):
        raise shape_error("take_along_axis", f"indices of shape {shape(indices)} and an array of shape {dims} "
                          f"need the same number of dimensions")
    grids = tuple(indices if a == axis else np.arange(d).reshape([-1 if b == a else 1 for b in range(len(dims))])
                  for a, d in enumerate(dims))
    return getitem(x, grids)


def index_update(x, index, value):
    """A copy of x with value written at index (`x[index] = value` that leaves x as it was): JAX's
    `x.at[index].set(value)`; the eager `tensor[index] = value` records it."""
    x = arr(x)
    entries, arrays = _index_entries(x, index, "index_update")
    return bind(ix.index_update_p, x, value, *arrays, index=ix.Index(entries))


def index_add(x, index, value):
    """A copy of x with value added at index (repeated integer indices accumulate): JAX's
    `x.at[index].add(value)`. value takes x's dtype and broadcasts to the indexed region, as in JAX."""
    x = arr(x)
    entries, arrays = _index_entries(x, index, "index_add")
    index = ix.Index(entries)
    region = ix.getitem_p.abstract_eval(aval_of(x), *[aval_of(a) for a in arrays], index=index).shape
    value = broadcast_to(astype(value, aval_of(x).dtype), region)
    return add(x, bind(ix.index_add_p, value, *arrays, index=index, shape=shape(x)))


def _index_entries(x, index, op: str = "getitem") -> tuple[list, list]:
    """getitem's index param entries for a Python index, and the index arrays they refer to (each known one
    checked against the axis it indexes, for op's error)."""
    if not isinstance(index, tuple):
        index = (index,)
    index = tuple(_scalar_bool(e, index, op) for e in index)
    consumed = sum(_axes_consumed(e) for e in index)
    entries, arrays, seen_ellipsis, axis = [], [], False, 0
    for e in index:
        if e is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            width = ndim(x) - consumed
            # an ellipsis spanning no axis still separates advanced indices (NumPy then puts their axes first)
            entries.extend([ix.Slice(None, None, None)] * width if width > 0 else [Ellipsis])
            axis += max(width, 0)
        elif e is None:
            entries.append(None)
        elif isinstance(e, slice):
            entries.append(ix.Slice(static_int(e.start, "slice"), static_int(e.stop, "slice"),
                                    static_int(e.step, "slice")))
            axis += 1
        elif isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_)):
            entries.append(int(e))
            axis += 1
        else:
            for a in _index_arrays(e):
                _check_bounds(op, x, a, axis)
                entries.append(ix.ArrayIndex(len(arrays)))
                arrays.append(a)
                axis += 1
    return entries, arrays


def _scalar_bool(e, index: tuple, op: str):
    """A Python or NumPy bool entry: NumPy's 0-d mask, which adds an axis of length 1 (True) there, read as None;
    False (an axis of length 0) and a bool beside index arrays (where NumPy broadcasts it) are refused clearly."""
    if not isinstance(e, (bool, np.bool_)):
        return e
    others = [f for f in index if isinstance(f, (bool, np.bool_)) or not isinstance(f, (slice, int, np.integer))
              and f is not None and f is not Ellipsis]
    if e and len(others) == 1:  # (itself: NumPy broadcasts several 0-d masks and index arrays together)
        return None
    raise IndexError(f"{op}: a {e!r} index entry {'beside index arrays or bools ' if len(others) > 1 else ''}is "
                     f"not supported "
                     f"(NumPy reads it as a 0-d mask); write None for a new axis of length 1, or index with an "
                     f"explicit mask array")


def _check_bounds(op: str, x, index, axis: int) -> None:
    """A known integer index array lies within the axis it indexes (else the error names op, the shapes and
    the user's line now, at trace time, rather than NumPy's bare IndexError when the program runs)."""
    dims = shape(x)
    if type(index) is not np.ndarray or index.size == 0 or axis >= len(dims):
        return  # (a traced index is only known when the program runs; a device array is checked there)
    size, low, high = dims[axis], index.min(), index.max()
    if -size <= low and high < size:
        return
    bad = high if high >= size else low
    raise IndexBoundsError(op, f"index {bad} is out of bounds for axis {axis} with size {size} (an index array "
                               f"of shape {index.shape} into an array of shape {dims})", user_source_line(),
                           f"indices into that axis must lie in [-{size}, {size}); clip them or fix how "
                           "they are computed")


def _axes_consumed(e) -> int:
    """How many axes of the indexed array an index entry uses up (a boolean mask: one per dimension)."""
    if e is None or e is Ellipsis:
        return 0
    return ndim(arr(e)) if _is_bool_array(e) else 1


def _is_bool_array(e) -> bool:
    return hasattr(e, "dtype") and aval_of(e).dtype == np.bool_ or (
        type(e) is list and len(e) > 0 and all(type(v) is bool for v in e)
    )


def _index_arrays(e) -> list:
    """An index array (or a concrete boolean mask turned into its index arrays)."""
    trace = trace_of(e)
    if trace is not None and trace_of(trace.unwrap(e)) is None:
        e = trace.unwrap(e)  # (an eager tensor's values are known: an index like a NumPy array's)
    if trace_of(e) is None and not hasattr(e, "__array_function__"):
        e = np.asarray(e)  # (lists; arrays, NumPy's or a GPU's, stay as they are)
    dt = aval_of(e).dtype
    if dt == np.bool_:
        if trace_of(e) is not None:
            raise NotImplementedError(
                "indexing with a traced boolean mask gives a data-dependent shape; "
                "use dnp.where(mask, x, 0) or sum over x * mask instead"
            )
        return list(np.nonzero(e))
    if not np.issubdtype(dt, np.integer):
        raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {dt}")
    return [e]
