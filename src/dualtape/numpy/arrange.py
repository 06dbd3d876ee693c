"""dnp rearrangements: flip, rot90, roll, rollaxis, repeat, tile. Each is a reversed-slice or integer-array
getitem, a concatenate of slices, or reshape / broadcast_to / transpose, so derivatives, batching and emitted code
are those primitives' (a gather's adjoint is an exact scatter-add; tile's is a sum over the copies)."""

from __future__ import annotations

import operator

import numpy as np

from .._util import normalize_axes
from ._base import arr, ndim, shape, shape_error
from .joins import axis_index
from .shapes import broadcast_to, concatenate, expand_dims, getitem, ravel, reshape, transpose


def _take(x, axis: int, index):
    """x[:, ..., index] with index (an integer array) on axis: one gather, its adjoint one scatter-add."""
    return getitem(x, (slice(None),) * axis + (index,))


def _axes(axis, n: int, op: str) -> tuple:
    """NumPy's axis argument (None: all; an int; a sequence) as sorted non-negative axes, checked for op."""
    if axis is None:
        return tuple(range(n))
    axes = (axis,) if hasattr(axis, "__index__") else tuple(axis)
    return normalize_axes(tuple(axis_index(a, n, op) for a in axes), n, op)


# ---- flips and rotations -------------------------------------------------------------------------------
def flip(m, axis=None):
    """m with the order of its elements reversed along axis (all axes when None): one reversed-slice getitem."""
    m = arr(m)
    axes = _axes(axis, ndim(m), "flip")
    if not axes:
        return m
    return getitem(m, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(axes[-1] + 1)))


def flipud(m):
    """m upside down: reversed along its first axis."""
    m = arr(m)
    if ndim(m) < 1:
        raise shape_error("flipud", f"needs an array of at least 1 dimension, got shape {shape(m)}",
                          fix="give an array with an axis to reverse (dnp.atleast_1d)")
    return flip(m, 0)


def fliplr(m):
    """m left to right: reversed along its second axis."""
    m = arr(m)
    if ndim(m) < 2:
        raise shape_error("fliplr", f"needs an array of at least 2 dimensions, got shape {shape(m)}",
                          fix="use dnp.flip(m) for a vector, or dnp.atleast_2d(m)")
    return flip(m, 1)


def rot90(m, k=1, axes=(0, 1)):
    """m rotated by 90 degrees k times in the plane of axes, from the first axis towards the second."""
    m = arr(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError(f"rot90: len(axes) must be 2, got axes={axes}")
    n = ndim(m)
    first, second = axis_index(axes[0], n, "rot90"), axis_index(axes[1], n, "rot90")
    if first == second:
        raise ValueError(f"rot90: the two axes must be different, got axes={axes} for an array of dimension {n}")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(m, (first, second))
    perm = list(range(n))
    perm[first], perm[second] = second, first
    return transpose(flip(m, second), perm) if k == 1 else flip(transpose(m, perm), second)


# ---- rolls ---------------------------------------------------------------------------------------------
def roll(a, shift, axis=None):
    """a's elements shifted along axis (flattened when None), those past the end coming back at the start;
    shift and axis may be sequences (broadcast together; shifts of a repeated axis add up)."""
    a = arr(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape(a))
    n = ndim(a)
    pairs = np.broadcast(shift, axis)
    if pairs.ndim > 1:
        raise ValueError(f"roll: 'shift' and 'axis' should be scalars or 1D sequences, got {shift} and {axis}")
    totals: dict[int, int] = {}
    for step, ax in pairs:
        ax = axis_index(ax, n, "roll")
        totals[ax] = totals.get(ax, 0) + int(step)
    for ax, step in sorted(totals.items()):
        size = shape(a)[ax]
        step = step % size if size else 0
        if step:
            before = (slice(None),) * ax
            a = concatenate([getitem(a, before + (slice(size - step, None),)),
                             getitem(a, before + (slice(None, size - step),))], ax)
    return a


def rollaxis(a, axis, start=0):
    """a with axis moved to stand before position start (NumPy's older spelling of moveaxis)."""
    a = arr(a)
    n = ndim(a)
    axis = axis_index(axis, n, "rollaxis")
    start = operator.index(start)
    start = start + n if start < 0 else start
    if not 0 <= start < n + 1:
        raise ValueError(f"rollaxis: 'start' arg requires {-n} <= start < {n + 1}, got {start}")
    start = start - 1 if axis < start else start
    perm = [i for i in range(n) if i != axis]
    perm.insert(start, axis)
    return transpose(a, perm)


# ---- repeats -------------------------------------------------------------------------------------------
def repeat(a, repeats, axis=None):
    """Each element of a repeated along axis (of the flattened a when None): `repeats` times, or repeats[i]
    times for element i (repeats must be known when tracing: it fixes the result's shape)."""
    a = arr(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = axis_index(axis, ndim(a), "repeat")
    size = shape(a)[axis]
    # (as NumPy: an array of counts must hold integers; Python numbers are truncated to them)
    counts = np.asarray(repeats) if hasattr(repeats, "dtype") else np.asarray(repeats, dtype=np.intp)
    if not np.can_cast(counts.dtype, np.intp, "safe"):
        raise TypeError(f"repeat: repeats must be integers, got an array of dtype {counts.dtype}")
    if counts.ndim > 1 or counts.size not in (1, size):
        raise shape_error("repeat", f"repeats of shape {counts.shape} do not match an axis of length {size} "
                                    f"(shape {shape(a)}, axis {axis})",
                          fix="give one count, or one count per element along the axis")
    if (counts < 0).any():
        raise ValueError(f"repeat: repeats may not contain negative values, got {repeats}")
    if counts.size == 1:  # the same count for every element: a broadcast, no gather
        count = int(counts.reshape(()))
        copies = broadcast_to(expand_dims(a, axis + 1), shape(a)[:axis + 1] + (count,) + shape(a)[axis + 1:])
        return reshape(copies, shape(a)[:axis] + (size * count,) + shape(a)[axis + 1:])
    return _take(a, axis, np.repeat(np.arange(size), counts))


def tile(A, reps):  # noqa: N803 - NumPy's parameter name
    """A repeated reps[i] times along each axis i (A or reps padded with leading ones to the same length)."""
    a = arr(A)
    try:
        reps = tuple(operator.index(r) for r in reps)
    except TypeError:  # (one count: NumPy takes whatever does not iterate as one)
        reps = (operator.index(reps),)
    if any(r < 0 for r in reps):
        raise shape_error("tile", f"reps may not be negative, got {reps}", fix="give non-negative counts")
    if len(reps) > ndim(a):
        a = reshape(a, (1,) * (len(reps) - ndim(a)) + shape(a))
    reps = (1,) * (ndim(a) - len(reps)) + reps
    dims = shape(a)
    if all(r == 1 for r in reps):
        return a
    copies = broadcast_to(reshape(a, sum(((1, d) for d in dims), ())), sum(zip(reps, dims), ()))
    return reshape(copies, tuple(r * d for r, d in zip(reps, dims)))
