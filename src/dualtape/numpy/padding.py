"""dnp.pad, with NumPy's modes as compositions of primitives. The modes that copy elements (edge, wrap, reflect,
symmetric) are one getitem with integer index arrays, computed by np.pad itself on positions (so they agree with
NumPy's rules everywhere, repeated reflections included), whose adjoint is an exact scatter-add; constant, the
statistics and linear_ramp pad one axis after another by concatenate, as NumPy does (later axes fill the corners)."""

from __future__ import annotations

import math

import numpy as np

from .._util import user_source_line
from ..errors import UnsupportedError
from . import elementwise as ew
from . import reductions as red
from ._base import arr, ndim, shape, shape_error
from ._base import dtype as dtype_of
from .arrange import flip
from .contractions import matmul
from .shapes import broadcast_to, concatenate, getitem, moveaxis, ravel, reshape

_KEYWORDS = {"constant": {"constant_values"}, "empty": set(), "edge": set(), "wrap": set(),
             "reflect": {"reflect_type"}, "symmetric": {"reflect_type"}, "linear_ramp": {"end_values"},
             "maximum": {"stat_length"}, "minimum": {"stat_length"}, "mean": {"stat_length"},
             "median": {"stat_length"}}
_STATISTICS = {"maximum": red.max, "minimum": red.min, "mean": red.mean}


def pad(array, pad_width, mode="constant", *, constant_values=None, end_values=None, stat_length=None,
        reflect_type=None):
    """array padded by pad_width ((before, after) per axis, in any of NumPy's forms) in one of NumPy's modes:
    constant (constant_values, traced ones too), edge, wrap, reflect and symmetric (reflect_type 'even' or
    'odd'), linear_ramp (end_values), maximum, minimum and mean (stat_length); 'empty' pads with zeros. The
    keywords are NumPy's **kwargs, named; one that mode does not take raises, as in NumPy."""
    x = arr(array)
    n = ndim(x)
    widths = _widths(pad_width, n)
    if callable(mode):
        raise UnsupportedError("dnp.pad with a function as mode", None, user_source_line(),
                               "use one of NumPy's named modes, or build the padding with dnp.concatenate")
    if mode not in _KEYWORDS:
        raise ValueError(f"pad: mode {mode!r} is not supported; NumPy's modes are {sorted(_KEYWORDS)}")
    given = {"constant_values": constant_values, "end_values": end_values, "stat_length": stat_length,
             "reflect_type": reflect_type}
    unknown = {k for k, v in given.items() if v is not None} - _KEYWORDS[mode]
    if unknown:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: {sorted(unknown)}")
    if mode == "median":
        raise UnsupportedError("dnp.pad(..., mode='median')", "dnp.pad(..., mode='mean')", user_source_line())
    if mode in ("constant", "empty"):
        values = _pairs(0 if constant_values is None else constant_values, n) if mode == "constant" else [(0, 0)] * n
        return _pad_by_axis(x, widths, lambda x, axis, pair: _constant_blocks(x, axis, pair, values[axis]))
    for axis, pair in enumerate(widths):
        if shape(x)[axis] == 0 and any(pair):
            raise shape_error("pad", f"can't extend empty axis {axis} using modes other than 'constant' or 'empty' "
                                     f"(shape {shape(x)}, pad_width {pair})", fix="pad it with mode='constant'")
    if mode in _STATISTICS:
        lengths = _lengths(stat_length, n)
        if mode != "mean" and math.prod(shape(x)) and any(0 in pair for pair in lengths):
            raise ValueError(f"pad: stat_length of 0 yields no value for padding in mode {mode!r}")
        return _pad_by_axis(x, widths, lambda x, axis, pair: _statistic_blocks(x, axis, pair, lengths[axis], mode))
    if mode == "linear_ramp":
        ends = _pairs(0 if end_values is None else end_values, n)
        return _pad_by_axis(x, widths, lambda x, axis, pair: _ramp_blocks(x, axis, pair, ends[axis]))
    if reflect_type == "odd":  # (any other reflect_type is 'even', as in NumPy)
        return _pad_by_axis(x, widths, lambda x, axis, pair: _odd_blocks(x, axis, pair, mode))
    return _pad_by_gather(x, widths, mode)


def _widths(pad_width, n: int) -> list[tuple[int, int]]:
    """pad_width (an int, (before, after), one pair per axis, or NumPy 2.3's {axis: width}) as int pairs."""
    if isinstance(pad_width, dict):
        table = [(0, 0)] * n
        for axis, width in pad_width.items():
            table[axis] = (width, width) if hasattr(width, "__index__") else tuple(width)
        pad_width = table
    widths = np.asarray(pad_width)
    if widths.dtype.kind != "i":
        raise TypeError(f"pad: `pad_width` must be of integral type, got {widths.dtype}")
    pairs = [(int(b), int(a)) for b, a in _pairs(widths, n)]
    if any(b < 0 or a < 0 for b, a in pairs):
        raise ValueError(f"pad: pad widths can't be negative, got {pad_width}")
    return pairs


def _pairs(values, n: int) -> list:
    """NumPy's (before, after) per axis from one value, one (before, after) pair, or a row per axis (broadcast
    to (n, 2)); the values may be traced."""
    values = arr(values)
    dims = shape(values)
    if len(dims) < 3 and math.prod(dims) in (1, 2) and dims != (2, 1):
        flat = ravel(values)
        return [(flat[0], flat[-1])] * n
    table = broadcast_to(values, (n, 2))
    return [(table[i, 0], table[i, 1]) for i in range(n)]


def _lengths(stat_length, n: int) -> list:
    if stat_length is None:
        return [(None, None)] * n
    pairs = [(int(np.round(b)), int(np.round(a))) for b, a in _pairs(np.asarray(stat_length), n)]
    if any(b < 0 or a < 0 for b, a in pairs):
        raise ValueError(f"pad: stat_length can't be negative, got {stat_length}")
    return pairs


def _pad_by_axis(x, widths, blocks):
    """x padded one axis after another: blocks(x, axis, (before, after)) gives the two pieces to put around x."""
    for axis, pair in enumerate(widths):
        if any(pair):
            before, after = blocks(x, axis, pair)
            pieces = ([before] if pair[0] else []) + [x] + ([after] if pair[1] else [])
            x = concatenate(pieces, axis)
    return x


def _block_shape(x, axis: int, width: int) -> tuple:
    return shape(x)[:axis] + (width,) + shape(x)[axis + 1:]


def _constant_blocks(x, axis, pair, values):
    return tuple(broadcast_to(ew.astype(v, dtype_of(x)), _block_shape(x, axis, w)) for v, w in zip(values, pair))


def _along(x, axis: int, start, stop):
    return getitem(x, (slice(None),) * axis + (slice(start, stop),))


def _statistic_blocks(x, axis, pair, lengths, mode):
    """The statistic of the first (last) stat_length elements along axis, repeated over the pad's width."""
    size = shape(x)[axis]
    first, last = (size if k is None or k > size else k for k in lengths)
    statistic = lambda part: _rounded(_STATISTICS[mode](part, axis, keepdims=True), dtype_of(x))
    left = statistic(_along(x, axis, 0, first))
    right = left if first == last == size else statistic(_along(x, axis, size - last, size))
    return tuple(broadcast_to(s, _block_shape(x, axis, w)) for s, w in zip((left, right), pair))


def _rounded(value, dtype):
    """value in dtype; rounded first (half to even) where dtype is an integer type, as NumPy's pad does."""
    return ew.astype(ew.round(value) if np.issubdtype(dtype, np.integer) else value, dtype)


def _ramp_blocks(x, axis, pair, ends):
    """Linear ramps from each end value to the edge element (np.linspace(end, edge, width, endpoint=False))."""
    size = shape(x)[axis]
    left = _ramp(_along(x, axis, 0, 1), ends[0], pair[0], axis)
    right = flip(_ramp(_along(x, axis, size - 1, size), ends[1], pair[1], axis), axis)
    return left, right


def _ramp(edge, end, width: int, axis: int):
    """NumPy's linspace arithmetic: steps of (edge - end) / width in floating point (or (i / width) * delta
    where some step is 0), floored for integer arrays."""
    if width == 0:
        return edge
    work = np.result_type(dtype_of(end), dtype_of(edge))
    work = work if np.issubdtype(work, np.inexact) else np.dtype(np.float64)
    delta = ew.subtract(ew.astype(edge, work), ew.astype(end, work))
    step = ew.divide(delta, width)
    count = reshape(np.arange(width, dtype=work), (width,) + (1,) * (ndim(edge) - axis - 1))
    some_zero = ew.greater(red.count_nonzero(ew.equal(step, 0)), 0)
    ramp = ew.add(ew.where(some_zero, ew.multiply(ew.divide(count, width), delta), ew.multiply(count, step)), end)
    if np.issubdtype(dtype_of(edge), np.integer):
        ramp = ew.floor(ramp)
    return ew.astype(ramp, dtype_of(edge))


def _pad_by_gather(x, widths, mode):
    """One getitem: per axis from the first padded one to the last, the positions np.pad gives (arange on the
    axes in between), shaped to broadcast against each other (an open mesh)."""
    padded = [axis for axis, pair in enumerate(widths) if any(pair)]
    if not padded:
        return x
    block = range(padded[0], padded[-1] + 1)
    index = []
    for k, axis in enumerate(block):
        positions = np.arange(shape(x)[axis])
        positions = np.pad(positions, widths[axis], mode) if any(widths[axis]) else positions
        index.append(positions.reshape([-1 if j == k else 1 for j in range(len(block))]))
    return getitem(x, (slice(None),) * padded[0] + tuple(index))


def _odd_blocks(x, axis: int, pair, mode):
    """Odd reflection (2 * edge - mirrored, repeated while the pad is longer than the axis) is linear in the
    elements next to each end: each pad block is a small matrix, np.pad's odd padding of unit vectors, applied
    to the elements it reads (the first / last width + 1)."""
    size = shape(x)[axis]

    def block(width: int, window: slice, rows: slice):
        if not width:
            return None
        units = np.eye(size)[:, window]
        coefficients = np.pad(units, (pair, (0, 0)), mode, reflect_type="odd")[rows].astype(dtype_of(x))
        near = moveaxis(_along(x, axis, window.start, window.stop), axis, -1)
        return moveaxis(matmul(near, coefficients.T), -1, axis)

    before, after = pair
    left, right = min(size, before + 1), min(size, after + 1)
    return block(before, slice(0, left), slice(0, before)), block(after, slice(size - right, size),
                                                                  slice(before + size, None))
