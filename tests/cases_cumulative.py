"""The cumulative section of the per-primitive table (merged into tests/primitive_cases.py's CASES): cumsum and
cumprod (scans along one axis, axis None flattening), argsort and searchsorted (integer-valued). cumprod's
derivative draws hold zeros on purpose (about a third of the elements): cumprod is multilinear, so finite
differences are exact there too, and its rules must be (no division by x)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, note
from hypothesis import strategies as st

import dualtape.numpy as dnp
from case import Case
from strategies import ALL, NONFINITE, NUMERIC, SMALL, Domain, arrays, dtypes, shapes

F32, F64, I32, I64, B = (np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.bool_))


# ---- derivative layouts and value maps ---------------------------------------------------------------
def _axis(ndim: int):
    """An axis for a scan or sort of an ndim array: None (flattened), or an int (maybe negative); a 0-d array
    takes 0 or -1, as NumPy's cumsum treats it as 1-D."""
    side = max(ndim, 1)
    return st.none() | st.integers(-side, side - 1)


@st.composite
def scan_layout(draw):
    shape = draw(shapes())
    return (shape,), {"axis": draw(_axis(len(shape)))}, None


def with_zeros(x):
    """Elements of magnitude below 0.6 set to exactly 0 (with values in [-2, 2]: about 3 in 10)."""
    return np.where(np.abs(x) < 0.6, 0.0, x)


# ---- NumPy agreement ---------------------------------------------------------------------------------
def scan_values(dt_fn, np_fn):
    """Every dtype, 0-d and size-0 operands, axis None / int / negative, and dtype= (any of them)."""

    @st.composite
    def case(draw):
        shape = draw(shapes())
        kwargs = {"axis": draw(_axis(len(shape)))}
        accumulate_in = draw(st.sampled_from([None, None, *ALL]))
        if accumulate_in is not None:
            kwargs["dtype"] = accumulate_in
        note(f"{kwargs}")
        x = draw(arrays(draw(dtypes(ALL)), shape, SMALL))
        return (lambda x: np_fn(x, **kwargs)), (lambda x: dt_fn(x, **kwargs)), (x,)

    return case()


@st.composite
def argsort_values(draw):
    """Ties (booleans, small integers), NaN and infinities among floats: the stable order, NaN last."""
    shape = draw(shapes())
    axis = draw(_axis(len(shape)))
    dtype = draw(dtypes(ALL))
    x = draw(arrays(dtype, shape, draw(st.sampled_from([SMALL, Domain(-2.0, 2.0), NONFINITE]))))
    note(f"axis={axis}")
    return (lambda x: np.argsort(x, axis, kind="stable")), (lambda x: dnp.argsort(x, axis)), (x,)


@st.composite
def searchsorted_values(draw):
    """A sorted 1-D array (NaN sorts last) or an unsorted one with its sorter, values of any shape and dtype,
    side left or right."""
    a = np.sort(draw(arrays(draw(dtypes(NUMERIC)), draw(shapes(1, 1)), draw(st.sampled_from([SMALL, NONFINITE])))))
    v = draw(arrays(draw(dtypes(ALL)), draw(shapes(max_dims=2)), draw(st.sampled_from([SMALL, NONFINITE]))))
    side = draw(st.sampled_from(["left", "right"]))
    note(f"side={side}")
    if draw(st.booleans()):
        order = draw(st.permutations(range(a.size)))
        assume(a.size > 1)
        shuffled = a[np.asarray(order, dtype=np.int64)]
        sorter = np.argsort(shuffled, kind="stable")
        return ((lambda a, v: np.searchsorted(a, v, side, sorter)), (lambda a, v: dnp.searchsorted(a, v, side, sorter)),
                (shuffled, v))
    return (lambda a, v: np.searchsorted(a, v, side)), (lambda a, v: dnp.searchsorted(a, v, side)), (a, v)


# ---- fixed examples (emitted code of the integer-valued primitives) ---------------------------------
def _example(dtype, shape=(2, 3)):
    values = np.array([2.5, -1.0, 0.5, 2.5, -3.0, 0.0]).reshape(shape)
    return (values > 0) if dtype == B else values.astype(dtype)


_SORTED = np.array([-2.0, 0.0, 0.0, 1.5, 4.0])

CUMULATIVE: dict[str, Case] = {
    "cumsum": Case(lambda x, axis: dnp.cumsum(x, axis), lambda x, axis: np.cumsum(x, axis), scan_layout(),
                   values=scan_values(dnp.cumsum, np.cumsum)),
    "cumprod": Case(lambda x, axis: dnp.cumprod(x, axis), lambda x, axis: np.cumprod(x, axis), scan_layout(),
                    (Domain(-2.0, 2.0),), (with_zeros,), values=scan_values(dnp.cumprod, np.cumprod)),
    "argsort": Case(dnp.argsort, np.argsort, values=argsort_values(),
                    examples=(lambda x: dnp.argsort(x, axis=0), [(_example(d),) for d in (F32, F64, I64, B)])),
    "searchsorted": Case(dnp.searchsorted, np.searchsorted, values=searchsorted_values(),
                         examples=(lambda a, v: dnp.searchsorted(a, v, "right"),
                                   [(_SORTED.astype(d), _example(d)) for d in (F64, F32, I32)])),
}
