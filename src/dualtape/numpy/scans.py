"""dnp scans, differences and sorting: running sums and products (cumsum, cumprod, cumulative_sum,
cumulative_prod), differences (diff, ediff1d, gradient), sorting (sort, argsort, partition, argpartition,
searchsorted), select, nan_to_num, and linspace with traced endpoints. Each normalises its arguments as NumPy does
and binds the primitives of ops/cumulative.py and ops/sorting.py or composes others, so derivatives come free: a
sort's is its gather's (each value's cotangent goes to the element it was read from)."""

from __future__ import annotations

import operator

import numpy as np

from .._util import normalize_axis
from ..avals import aval_of
from ..core.primitive import trace_of
from ..ops import cumulative as cu
from ..ops import sorting as so
from . import elementwise as ew
from ._base import arr, bind, ndim, shape
from ._base import dtype as dtype_of
from .shapes import broadcast_to, concatenate, expand_dims, getitem, moveaxis, ravel, reshape, take_along_axis


def _traced(x) -> bool:
    return trace_of(x) is not None


def _as_array(x):
    """Traced values as they are; anything else as a NumPy array (as NumPy's functions take it)."""
    return x if _traced(x) else np.asarray(x)


def _along(axis: int, entry) -> tuple:
    return (slice(None),) * axis + (entry,)


def _slice(x, axis: int, start=None, stop=None):
    return getitem(x, _along(axis, slice(start, stop)))


# ---- running sums and products -----------------------------------------------------------------------
def _scan(prim, op: str, a, axis, dtype):
    """a's running sum or product along axis (of the flattened a for axis None, or for a 0-d a), computed in
    `dtype` as NumPy's: the operand converted first, and the result too where NumPy widens small integers."""
    x = arr(a) if dtype is None else ew.astype(a, dtype)
    if axis is None or ndim(x) == 0:
        if axis is not None:
            normalize_axis(axis, 1, op)
        x, axis = ravel(x), 0
    out = bind(prim, x, axis=normalize_axis(axis, ndim(x), op))
    return out if dtype is None else ew.astype(out, dtype)


def cumsum(a, axis=None, dtype=None):
    """The running sum along axis (of the flattened array for axis None)."""
    return _scan(cu.cumsum_p, "cumsum", a, axis, dtype)


def cumprod(a, axis=None, dtype=None):
    """The running product along axis; its derivatives are exact where the array holds zeros (no division:
    O(n log n) for a length-n axis, see ops/cumulative.py)."""
    return _scan(cu.cumprod_p, "cumprod", a, axis, dtype)


def _cumulative(prim, op: str, identity, x, axis, dtype, include_initial):
    """NumPy 2.1's cumulative_sum / cumulative_prod: axis required beyond 1-D; include_initial puts the
    identity first."""
    x = arr(x)
    if axis is None:
        if ndim(x) > 1:
            raise ValueError(f"{op}: for arrays which have more than one dimension ``axis`` argument is required")
        axis = 0
    out = _scan(prim, op, x, axis, dtype)
    if not include_initial:
        return out
    axis = normalize_axis(axis, ndim(out), op)
    dims = shape(out)
    initial = np.full(dims[:axis] + (1,) + dims[axis + 1:], identity, dtype_of(out))
    return concatenate([initial, out], axis)


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    return _cumulative(cu.cumsum_p, "cumulative_sum", 0, x, axis, dtype, include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    return _cumulative(cu.cumprod_p, "cumulative_prod", 1, x, axis, dtype, include_initial)


# ---- differences -------------------------------------------------------------------------------------
def _edge(value, a, axis: int):
    """diff's prepend / append: a scalar is broadcast to a slice of a one element thick along axis."""
    if value is None:
        return None
    value = _as_array(value)
    if ndim(value) == 0:
        dims = shape(a)
        value = broadcast_to(value, dims[:axis] + (1,) + dims[axis + 1:])
    return value


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The n-th difference along axis (not_equal for booleans, as NumPy), after prepend / append if given."""
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n!r}")
    a = arr(a)
    if n == 0:
        return a
    if ndim(a) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis(axis, ndim(a), "diff")
    if prepend is not None or append is not None:
        pieces = [_edge(prepend, a, axis), a, _edge(append, a, axis)]
        a = concatenate([p for p in pieces if p is not None], axis)
    op = ew.not_equal if dtype_of(a) == np.bool_ else ew.subtract
    for _ in range(n):
        a = op(_slice(a, axis, 1), _slice(a, axis, None, -1))
    return a


def _ediff_edge(value, dtype, name: str):
    if value is None:
        return None
    value = _as_array(value)
    if not np.can_cast(dtype_of(value), dtype, casting="same_kind"):
        raise TypeError(f"ediff1d: dtype of `{name}` must be compatible with input `ary` under the `same_kind` rule.")
    return ravel(ew.astype(value, dtype))


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences of the flattened array, with to_begin and to_end (cast to its dtype) around them."""
    ary = ravel(arr(ary))
    dtype = dtype_of(ary)
    differences = ew.astype(ew.subtract(_slice(ary, 0, 1), _slice(ary, 0, None, -1)), dtype)
    pieces = [_ediff_edge(to_begin, dtype, "to_begin"), differences, _ediff_edge(to_end, dtype, "to_end")]
    return concatenate([p for p in pieces if p is not None])


# ---- gradient ----------------------------------------------------------------------------------------
def _spacing(distances, size: int):
    """gradient's spacing along one axis: a scalar (uniform), or the differences of 1-D coordinates, a scalar
    where NumPy finds them all equal (only known for concrete coordinates: traced ones stay 1-D)."""
    distances = _as_array(distances)
    if ndim(distances) == 0:
        return distances
    if ndim(distances) != 1:
        raise ValueError("gradient: distances must be either scalars or 1d")
    if shape(distances)[0] != size:
        raise ValueError("gradient: when 1d, distances must match the length of the corresponding dimension")
    if np.issubdtype(dtype_of(distances), np.integer):
        distances = ew.astype(distances, np.float64)
    if _traced(distances):
        return diff(distances)
    steps = np.diff(distances)
    return steps[0] if (steps == steps[0]).all() else steps


def _gradient_along(f, axis: int, dx, edge_order: int):
    """Central differences inside, one-sided ones (of edge_order) at both ends, along axis."""
    if shape(f)[axis] < edge_order + 1:
        raise ValueError("gradient: Shape of array too small to calculate a numerical gradient, at least "
                         "(edge_order + 1) elements are required.")
    at = lambda i: _slice(f, axis, i, i + 1 if i != -1 else None)  # (one element thick: axis kept)
    uniform = ndim(dx) == 0
    if uniform:
        interior = ew.divide(ew.subtract(_slice(f, axis, 2), _slice(f, axis, None, -2)), ew.multiply(2.0, dx))
    else:
        along = lambda c: reshape(c, tuple(-1 if i == axis else 1 for i in range(ndim(f))))  # (to broadcast)
        dx1, dx2 = _slice(dx, 0, None, -1), _slice(dx, 0, 1)
        a, b, c = -dx2 / (dx1 * (dx1 + dx2)), (dx2 - dx1) / (dx1 * dx2), dx1 / (dx2 * (dx1 + dx2))
        interior = (along(a) * _slice(f, axis, None, -2) + along(b) * _slice(f, axis, 1, -1)
                    + along(c) * _slice(f, axis, 2))
    first_dx, last_dx = (dx, dx) if uniform else (getitem(dx, 0), getitem(dx, -1))
    if edge_order == 1:
        first = ew.divide(ew.subtract(at(1), at(0)), first_dx)
        last = ew.divide(ew.subtract(at(-1), at(-2)), last_dx)
    else:
        first = _weighted(at(0), at(1), at(2), _start_weights(dx, uniform))
        last = _weighted(at(-3), at(-2), at(-1), _end_weights(dx, uniform))
    return concatenate([first, interior, last], axis)


def _weighted(p, q, r, weights):
    a, b, c = weights
    return ew.add(ew.add(ew.multiply(a, p), ew.multiply(b, q)), ew.multiply(c, r))


def _start_weights(dx, uniform: bool):
    """Second-order one-sided weights of f[0], f[1], f[2] (NumPy's, for uniform or varying spacing)."""
    if uniform:
        return ew.divide(-1.5, dx), ew.divide(2.0, dx), ew.divide(-0.5, dx)
    dx1, dx2 = getitem(dx, 0), getitem(dx, 1)
    return -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2)), (dx1 + dx2) / (dx1 * dx2), -dx1 / (dx2 * (dx1 + dx2))


def _end_weights(dx, uniform: bool):
    """Second-order one-sided weights of f[-3], f[-2], f[-1]."""
    if uniform:
        return ew.divide(0.5, dx), ew.divide(-2.0, dx), ew.divide(1.5, dx)
    dx1, dx2 = getitem(dx, -2), getitem(dx, -1)
    return dx2 / (dx1 * (dx1 + dx2)), -(dx2 + dx1) / (dx1 * dx2), (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))


def _ordered_axes(axis, n: int, op: str) -> tuple:
    if axis is None:
        return tuple(range(n))
    axes = tuple(normalize_axis(a, n, op) for a in ((axis,) if hasattr(axis, "__index__") else axis))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return axes


def gradient(f, *varargs, axis=None, edge_order=1):
    """NumPy's gradient: second-order central differences inside, first- or second-order one-sided ones at the
    ends; spacing per axis a scalar or the coordinates; one array for one axis, else a tuple of them."""
    f = arr(f)
    axes = _ordered_axes(axis, ndim(f), "gradient")
    if not varargs:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and ndim(arr(varargs[0])) == 0:
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacings = [_spacing(d, shape(f)[a]) for d, a in zip(varargs, axes)]
    else:
        raise TypeError("gradient: invalid number of arguments")
    if edge_order > 2:
        raise ValueError("gradient: 'edge_order' greater than 2 not supported")
    out_dtype = dtype_of(f)
    if not np.issubdtype(out_dtype, np.inexact):
        if np.issubdtype(out_dtype, np.integer):
            f = ew.astype(f, np.float64)
        out_dtype = np.dtype(np.float64)
    outs = [ew.astype(_gradient_along(f, a, dx, edge_order), out_dtype) for a, dx in zip(axes, spacings)]
    return outs[0] if len(outs) == 1 else tuple(outs)


# ---- sorting -----------------------------------------------------------------------------------------
def _no_order(op: str, order) -> None:
    if order is not None:
        raise NotImplementedError(f"{op}(..., order=...) sorts structured arrays by field; dualtape has none")


def _sort_axis(a, axis, op: str):
    """(the array to sort, its axis): the flattened array for axis None; a 0-d array has no axis (as NumPy)."""
    x = arr(a)
    if axis is None:
        return ravel(x), 0
    if ndim(x) == 0:
        raise np.exceptions.AxisError(operator.index(axis), 0, op)
    return x, normalize_axis(axis, ndim(x), op)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort a along axis, always in the stable order (equal values keep their order, for every
    `kind`). A 0-d array sorts as a 1-D one, as NumPy's."""
    _no_order("argsort", order)
    x = arr(a)
    if axis is None or ndim(x) == 0:
        if axis is not None:
            normalize_axis(axis, 1, "argsort")
        x, axis = ravel(x), 0
    return bind(so.argsort_p, x, axis=normalize_axis(axis, ndim(x), "argsort"))


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """a sorted along axis: a gather at argsort's indices, so each value's derivative goes to the element it
    came from (between equal values the gather's choice: sort is not differentiable at ties)."""
    _no_order("sort", order)
    x, axis = _sort_axis(a, axis, "sort")
    return take_along_axis(x, bind(so.argsort_p, x, axis=axis), axis)


def _check_kth(kth, size: int, op: str) -> None:
    if _traced(kth):
        raise TypeError(f"{op}: kth must be concrete ints (it chooses which elements land where)")
    ks = np.asarray(kth)
    if not np.issubdtype(ks.dtype, np.integer):
        raise TypeError(f"{op}: Partition index must be integer")
    for k in ks.ravel():
        if not -size <= k < size:
            raise ValueError(f"{op}: kth(={k % size if size and k < 0 else k}) out of bounds ({size})")


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """a with the elements at positions kth where a sorted array has them, smaller ones before, larger after:
    the fully sorted array, which is one such partition (NumPy's arrangement inside each side differs)."""
    _no_order("partition", order)
    x, axis = _sort_axis(a, axis, "partition")
    _check_kth(kth, shape(x)[axis], "partition")
    return sort(x, axis)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition a (see partition): those that sort it fully, in the stable order."""
    _no_order("argpartition", order)
    x = arr(a)
    flat = axis is None or ndim(x) == 0
    size = int(np.prod(shape(x))) if flat else shape(x)[normalize_axis(axis, ndim(x), "argpartition")]
    _check_kth(kth, size, "argpartition")
    return argsort(x, axis)


def searchsorted(a, v, side="left", sorter=None):
    """Where v's values would go in the sorted 1-D array a to keep it sorted (NaN sorts last); `sorter`: the
    indices that sort a, when a itself is not sorted. Integer positions: no derivative."""
    a = arr(a)
    if sorter is not None:
        a = getitem(a, _as_array(sorter))
    return bind(so.searchsorted_p, a, arr(v), side=side)


# ---- choices, replacements and ranges ----------------------------------------------------------------
def _promotion_key(x):
    """What np.result_type makes of x: Python scalars (and weakly typed traced ones) weakly, others by dtype."""
    if type(x) in (bool, int, float, complex):
        return x
    return dtype_of(x).type(0).item() if aval_of(x).weak else dtype_of(x)


def select(condlist, choicelist, default=0):
    """The element of the first choice whose condition holds, default where none does (NumPy's select)."""
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    choices = [c if type(c) in (int, float, complex) else _as_array(c) for c in [*choicelist, default]]
    try:
        dtype = np.result_type(*[_promotion_key(c) for c in choices])
    except TypeError as e:
        raise TypeError(f"select: Choicelist and default value do not have a common dtype: {e}") from None
    conditions = [_as_array(c) for c in condlist]
    for i, condition in enumerate(conditions):
        if dtype_of(condition) != np.bool_:
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray")
    result = ew.astype(choices[-1], dtype)
    for condition, choice in reversed(list(zip(conditions, choices[:-1]))):
        result = ew.where(condition, ew.astype(choice, dtype), result)
    return result


def _fill(value, dtype):
    if _traced(value):
        return ew.astype(value, dtype)
    with np.errstate(over="ignore"):
        return np.asarray(value).astype(dtype)[()]


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """x with NaN, +inf and -inf replaced (by nan, posinf / neginf, or the dtype's largest finite numbers); the
    derivative is 1 where x is finite, 0 where it was replaced. Integers and booleans come back as they are."""
    x = arr(x)
    dtype = dtype_of(x)
    if not np.issubdtype(dtype, np.inexact):
        return x if _traced(x) else np.asarray(x)[()]
    if np.issubdtype(dtype, np.complexfloating):
        raise NotImplementedError("nan_to_num of complex values is not supported; apply it to the real and "
                                  "imaginary parts separately")
    info = np.finfo(dtype)
    big = _fill(info.max if posinf is None else posinf, dtype)
    small = _fill(info.min if neginf is None else neginf, dtype)
    out = ew.where(ew.not_equal(x, x), _fill(nan, dtype), x)
    out = ew.where(ew.equal(x, np.inf), big, out)
    return ew.where(ew.equal(x, -np.inf), small, out)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """num evenly spaced values from start to stop (NumPy's linspace), differentiable in start and stop when
    either is traced; plain values take NumPy's own."""
    if not (_traced(start) or _traced(stop)):
        extra = {} if device is None else {"device": device}
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis, **extra)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: Number of samples, {num}, must be non-negative.")
    start, stop = arr(start), arr(stop)
    work = np.result_type(_promotion_key(start), _promotion_key(stop))
    work = work if np.issubdtype(work, np.inexact) else np.dtype(np.float64)
    start, stop = ew.astype(start, work), ew.astype(stop, work)
    delta = ew.subtract(stop, start)
    counts = np.arange(num, dtype=work).reshape((-1,) + (1,) * ndim(delta))
    div = num - 1 if endpoint else num
    step = ew.divide(delta, div) if div > 0 else np.nan
    y = ew.add(ew.multiply(counts, step if div > 0 else delta), start)
    if endpoint and num > 1:  # (the last value is stop itself, as NumPy's)
        last = expand_dims(broadcast_to(stop, shape(y)[1:]), 0)
        y = concatenate([_slice(y, 0, None, -1), last], 0)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    target = np.dtype(dtype) if dtype is not None else work
    if np.issubdtype(target, np.integer):
        y = ew.floor(y)
    y = ew.astype(y, target)
    return (y, step) if retstep else y
