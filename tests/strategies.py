"""Shared hypothesis strategies for the op tests: shapes (0-d and size-0 included), broadcast-compatible
shape tuples, dtypes, and arrays whose values keep an op defined (log of positive numbers, arcsin in [-1, 1]).

A `Domain` bounds the values drawn: floats lie in [lo, hi]; integer dtypes draw the integers inside it (or
inside its `ints` override, e.g. non-negative exponents for integer powers); booleans ignore it."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
INTS = (np.dtype(np.int32), np.dtype(np.int64))
BOOL = (np.dtype(np.bool_),)
NUMERIC = FLOATS + INTS
# NumPy before 2.3 computes `a ** b` of 0-d arrays by a fast path (b 0, 0.5, 1, 2, ...) that keeps a's dtype, so it
# can differ from np.power there; dualtape's pow is `**`, what users write, so older NumPy is compared with `**`
POWER_BY_VALUE = np.lib.NumpyVersion(np.__version__) < "2.3.0"  # (its dtype there may depend on a 0-d exponent)
NUMPY_POWER = (lambda x, y: x ** y) if POWER_BY_VALUE else np.power


def power_by_value(name: str, args) -> bool:
    """NumPy before 2.3 gives `a ** b` of a 0-d array b (-1, 0, 0.5, 1, 2) a's own dtype by a fast path that
    other exponents do not take, so no dtype rule can predict it: such draws are left out there."""
    return POWER_BY_VALUE and name == "pow" and type(args[1]) is np.ndarray and args[1].ndim == 0
ALL = NUMERIC + BOOL

MAX_DIMS = 3
MAX_SIDE = 4


class Domain(NamedTuple):
    """Values in [lo, hi] with |v| >= away; `ints` replaces the domain for integer dtypes."""

    lo: float
    hi: float
    away: float = 0.0
    nonfinite: bool = False
    ints: "Domain | None" = None


ANY = Domain(-10.0, 10.0)
SMALL = Domain(-3.0, 3.0)
NONZERO = Domain(-10.0, 10.0, away=0.5)
POSITIVE = Domain(0.125, 10.0)
NONNEGATIVE = Domain(0.0, 10.0)
UNIT = Domain(-1.0, 1.0)
ABOVE_MINUS_ONE = Domain(-0.875, 10.0)
EXPONENT = Domain(-3.0, 3.0, ints=Domain(0.0, 3.0))
WIDE = Domain(-100.0, 100.0)
NONFINITE = Domain(-10.0, 10.0, nonfinite=True)


def shapes(min_dims=0, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE):
    """Array shapes, 0-d and size-0 included by default."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE):
    """Tuples of `num_shapes` shapes that broadcast together under NumPy's rules."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda b: b.input_shapes)


def dtypes(choices=ALL):
    return st.sampled_from(tuple(np.dtype(d) for d in choices))


def _float_bound(value: float, dtype, up: bool) -> float:
    """value, moved inward to the nearest number dtype can represent exactly (hypothesis insists on it)."""
    v = dtype.type(value)
    if (up and v < value) or (not up and v > value):
        v = np.nextafter(v, dtype.type(np.inf if up else -np.inf))
    return float(v)


def elements(dtype, domain: Domain = ANY):
    """Scalar values of dtype inside domain."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return st.booleans()
    if dtype.kind in "iu":
        domain = domain.ints or domain
        info = np.iinfo(dtype)
        ints = st.integers(max(math.ceil(domain.lo), info.min), min(math.floor(domain.hi), info.max))
        return ints.filter(lambda v: abs(v) >= domain.away) if domain.away else ints
    if domain.nonfinite:
        return st.floats(width=dtype.itemsize * 8)
    lo, hi = _float_bound(domain.lo, dtype, up=True), _float_bound(domain.hi, dtype, up=False)
    floats = st.floats(lo, hi, width=dtype.itemsize * 8, allow_nan=False, allow_infinity=False)
    return floats.filter(lambda v: abs(v) >= domain.away) if domain.away else floats


def arrays(dtype, shape, domain: Domain = ANY):
    """NumPy arrays of dtype and shape (a strategy or a tuple) with values inside domain."""
    return hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype, domain))


def python_scalar(dtype, domain: Domain = ANY):
    """A Python bool, int or float (weakly typed for NumPy) of dtype's kind, inside domain."""
    kind = {"b": bool, "i": int, "u": int}.get(np.dtype(dtype).kind, float)
    return elements(dtype, domain).map(kind)


@st.composite
def operands(draw, shape_list, dtype_choices=ALL, domains=(ANY,), scalars=True):
    """One value per shape, each with its own dtype; a 0-d operand may be a Python scalar, but never all of
    them (NumPy itself applies Python semantics to all-scalar expressions)."""
    values, kinds = [], []
    for i, shape in enumerate(shape_list):
        dtype = draw(dtypes(dtype_choices))
        domain = domains[min(i, len(domains) - 1)]
        if scalars and shape == () and draw(st.booleans()):
            values.append(draw(python_scalar(dtype, domain)))
        else:
            values.append(draw(arrays(dtype, shape, domain)))
        kinds.append(dtype)
    if all(not isinstance(v, np.ndarray) for v in values):
        values[0] = np.asarray(values[0], dtype=kinds[0])
    return tuple(values)


@st.composite
def axes(draw, ndim: int, allow_none=True, allow_tuple=True):
    """An axis argument for an ndim-array: None, an int (maybe negative), or a tuple of distinct axes."""
    kinds = (["none"] if allow_none else []) + (["int"] if ndim else []) + (["tuple"] if allow_tuple else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)
