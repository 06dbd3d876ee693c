"""Helpers shared by the dnp namespace: argument preparation and static-value checks."""

from __future__ import annotations

import math
import operator

import numpy as np

from .._util import user_source_line
from ..avals import aval_of
from ..core.trace import bind  # noqa: F401  (re-exported for the namespace modules)
from ..errors import ShapeError
from ..ops.elementwise import convert_element_type_p
from ..ops.shape import concatenate_p, reshape_p

SEQUENCES = (list, tuple)  # (what arr() stacks or hands to NumPy)
NUMPY_VERSION = tuple(int(v) for v in np.__version__.split(".")[:2])  # (where NumPy's own rules changed)


def arr(x):
    """Lists and tuples become arrays: NumPy's, or, when an element at any depth is a traced value, the traced
    array they stand for (`dnp.mean([x, y])`); arrays, scalars and traced values pass through."""
    if type(x) in SEQUENCES:
        return stacked(x) if holds_traced(x) else np.asarray(x)
    return x


def holds_traced(seq) -> bool:
    """Whether a (nested) list or tuple holds a traced value (or an eager tensor) at any depth."""
    for e in seq:
        if type(e) in SEQUENCES:
            if holds_traced(e):
                return True
        elif getattr(e, "_dt_trace", None) is not None:
            return True
    return False


def stacked(seq, dtype=None):
    """The array a nested list or tuple of traced values, arrays and numbers stands for, with NumPy's shape
    and dtype for np.array of their values (or dtype): the leaves raveled in order, concatenated and reshaped
    (a regular nesting's leaves, in order, are its elements in row-major order)."""
    leaves: list = []
    dims = nested_shape(seq, leaves, 0)
    dtype = np.dtype(dtype) if dtype is not None else np.result_type(*[creation_dtype(v) for v in leaves])
    chunks, plain = [], []
    for v in leaves:
        if getattr(v, "_dt_trace", None) is None:
            plain.append(np.asarray(v, dtype).ravel())
            continue
        if plain:
            chunks.append(np.concatenate(plain))
            plain = []
        aval = aval_of(v)
        if aval.dtype != dtype or aval.weak:
            v = bind(convert_element_type_p, v, dtype=dtype)
        chunks.append(v if len(aval.shape) == 1 else bind(reshape_p, v, shape=(math.prod(aval.shape),)))
    if plain:
        chunks.append(np.concatenate(plain))
    flat = chunks[0] if len(chunks) == 1 else bind(concatenate_p, *chunks, axis=0)
    return flat if len(dims) == 1 else bind(reshape_p, flat, shape=dims)


def nested_shape(seq, leaves: list, depth: int) -> tuple:
    """The shape of the array a nested list or tuple stands for (its elements' shapes must agree at every
    depth, as NumPy requires), appending its leaves to `leaves` in order."""
    shapes = []
    for e in seq:
        if type(e) in SEQUENCES:
            shapes.append(nested_shape(e, leaves, depth + 1))
        else:
            leaves.append(e)
            shapes.append(aval_of(e).shape)
    if any(s != shapes[0] for s in shapes):
        raise shape_error("array", f"the elements at depth {depth} of a nested sequence have different shapes "
                                   f"{list(dict.fromkeys(shapes))}, so it is not an array (NumPy refuses it too)",
                          fix="give every row the same length and every element the same shape")
    return (len(seq),) + (shapes[0] if shapes else ())


def creation_dtype(v):
    """The dtype NumPy's array creation gives a leaf: a Python number its default dtype (not weak, as in
    arithmetic: np.array([x32, 1.0]) is float64), an array or traced value its own."""
    if getattr(v, "_dt_trace", None) is not None:
        return aval_of(v).dtype
    return np.asarray(v).dtype


def ndim(x) -> int:
    return len(aval_of(x).shape)


def shape(x) -> tuple:
    return aval_of(x).shape


def dtype(x):
    return aval_of(x).dtype


def static_int(v, what: str):
    """A concrete Python int (or None); a traced value here raises the concretization error."""
    return None if v is None else operator.index(v)


def shape_error(op: str, message: str, fix: str | None = None) -> ShapeError:
    """A ShapeError found by a dnp function itself (not a primitive's rule), located at the user's line too."""
    return ShapeError(op, message, user_source_line(), fix)
