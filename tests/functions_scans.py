"""The scans section of the per-function table: dnp's running sums and products, differences (diff, ediff1d,
gradient), sorting (sort, argsort, partition, argpartition, searchsorted), select, nan_to_num and linspace
(dualtape/numpy/scans.py). Sorting draws distinct values (a sort is not differentiable at ties); cumprod draws
zeros on purpose (it is multilinear, so finite differences are exact there). partition's reference is the full
sort, one valid partition (tests/numpy/test_scans.py checks NumPy's partition property itself)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import dualtape.numpy as dnp
from function_case import FnCase
from strategies import ANY, Domain, arrays, shapes


def _torch():
    import torch

    return torch


def _distinct(x):
    """Values at least 0.3 apart (ranks times 1/2, nudged by x): no ties to sort."""
    ranks = np.argsort(np.argsort(x.ravel(), kind="stable"), kind="stable").reshape(x.shape)
    return ranks * 0.5 + 0.1 * np.sin(x) - 2.0


def _with_zeros(x):
    return np.where(np.abs(x) < 0.6, 0.0, x)


def _axis(ndim: int, none=True):
    side = max(ndim, 1)
    ints = st.integers(-side, side - 1)
    return st.none() | ints if none else ints


@st.composite
def one_array(draw, domain=ANY, shape=None, value_map=None, min_dims=1, min_side=0, axis=True, none=True, **kwargs):
    """((x,), kwargs): x of a drawn (or given) shape, mapped by value_map; kwargs with an axis for it (when
    axis) and the other kwargs (strategies drawn, or functions of x's shape returning strategies)."""
    shape = shape or draw(shapes(min_dims=min_dims, min_side=min_side))
    x = draw(arrays(np.float64, shape, domain))
    x = x if value_map is None else value_map(x)
    chosen = {"axis": draw(_axis(len(shape), none))} if axis else {}
    for key, value in kwargs.items():
        value = value(shape, chosen) if callable(value) and not isinstance(value, st.SearchStrategy) else value
        chosen[key] = draw(value) if isinstance(value, st.SearchStrategy) else value
    return (x,), chosen


def _flat(x, axis):
    """(x, dim) for torch: x flattened for NumPy's axis=None."""
    return (x.reshape(-1), 0) if axis is None else (x, axis)


# ---- running sums and products -----------------------------------------------------------------------
def _cumulative_sum_layout():
    return one_array(include_initial=st.booleans()).map(
        lambda d: (d[0], {**d[1], "axis": d[1]["axis"] if d[1]["axis"] is not None or np.ndim(d[0][0]) <= 1
                          else 0}))


SCANS = {
    "cumsum": FnCase(lambda x, axis: dnp.cumsum(x, axis), lambda x, axis: np.cumsum(x, axis), one_array(),
                     numpy=lambda x, axis: np.cumsum(x, axis=axis),
                     torch=lambda x, axis: _torch().cumsum(*_flat(x, axis))),
    "cumprod": FnCase(lambda x, axis: dnp.cumprod(x, axis), lambda x, axis: np.cumprod(x, axis),
                      one_array(Domain(-2.0, 2.0), value_map=_with_zeros),
                      numpy=lambda x, axis: np.cumprod(x, axis=axis),
                      torch=lambda x, axis: _torch().cumprod(*_flat(x, axis))),
    "cumulative_sum": FnCase(lambda x, **kw: dnp.cumulative_sum(x, **kw), lambda x, **kw: np.cumulative_sum(x, **kw),
                             _cumulative_sum_layout(), numpy=lambda x, **kw: np.cumulative_sum(x, **kw)),
    "cumulative_prod": FnCase(lambda x, **kw: dnp.cumulative_prod(x, **kw),
                              lambda x, **kw: np.cumulative_prod(x, **kw), _cumulative_sum_layout(),
                              numpy=lambda x, **kw: np.cumulative_prod(x, **kw)),
}


# ---- differences -------------------------------------------------------------------------------------
@st.composite
def _diff_edges(draw):
    """x, and arrays to prepend and append (one element thick, or thicker) along the drawn axis."""
    shape = draw(shapes(min_dims=1))
    axis = draw(_axis(len(shape), none=False))
    sized = lambda: shape[:axis % len(shape)] + (draw(st.integers(1, 2)),) + shape[axis % len(shape) + 1:]
    x, before, after = (draw(arrays(np.float64, s, ANY)) for s in (shape, sized(), sized()))
    return (x, before, after), {"n": draw(st.integers(1, 3)), "axis": axis}


@st.composite
def _ediff1d_edges(draw):
    return tuple(draw(arrays(np.float64, draw(shapes(max_dims=2)), ANY)) for _ in range(3)), {}


@st.composite
def _gradient_layout(draw, edge_orders=(1, 2)):
    """f with at least 3 elements on each axis; spacing a scalar; axis None, an int or a tuple of them."""
    shape = draw(shapes(min_dims=1, min_side=3))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1)
                | st.permutations(range(len(shape))).map(lambda p: tuple(p[:2])))
    spacing = draw(st.sampled_from([1.0, 0.5, 2.0, 3]))
    return (draw(arrays(np.float64, shape, ANY)),), {"spacing": spacing, "axis": axis,
                                                      "edge_order": draw(st.sampled_from(edge_orders))}


@st.composite
def _coordinates_layout(draw):
    """f along one axis and coordinates there, increasing with steps in [0.5, 2] (so the spacing varies)."""
    n = draw(st.integers(3, 5))
    f = draw(arrays(np.float64, (n,), ANY))
    steps = draw(arrays(np.float64, (n - 1,), Domain(0.5, 2.0)))
    coordinates = np.concatenate([[draw(st.floats(-2.0, 2.0))], steps]).cumsum()
    return (f, coordinates), {"edge_order": draw(st.sampled_from([1, 2]))}


def _torch_gradient(f, spacing, axis, edge_order):
    return _torch().gradient(f, spacing=spacing, dim=axis, edge_order=edge_order)


DIFFERENCES = {
    "diff": FnCase(lambda x, n, axis: dnp.diff(x, n, axis), lambda x, n, axis: np.diff(x, n, axis),
                   one_array(none=False, n=st.integers(0, 3)), numpy=lambda x, n, axis: np.diff(x, n, axis),
                   torch=lambda x, n, axis: _torch().diff(x, n, axis) if n else x),
    "diff_prepend_append": FnCase(
        lambda x, p, a, n, axis: dnp.diff(x, n, axis, prepend=p, append=a),
        lambda x, p, a, n, axis: np.diff(x, n, axis, prepend=p, append=a), _diff_edges(),
        numpy=lambda x, p, a, n, axis: np.diff(x, n, axis, prepend=p, append=a),
        torch=lambda x, p, a, n, axis: _torch().diff(x, n, axis, prepend=p, append=a)),
    "diff_scalar_prepend": FnCase(lambda x, axis, p: dnp.diff(x, axis=axis, prepend=p, append=-p),
                                  lambda x, axis, p: np.diff(x, axis=axis, prepend=p, append=-p),
                                  one_array(none=False, p=st.sampled_from([0, 1.5])),
                                  numpy=lambda x, axis, p: np.diff(x, axis=axis, prepend=p, append=-p)),
    "ediff1d": FnCase(lambda x, b, e: dnp.ediff1d(x, to_end=e, to_begin=b),
                      lambda x, b, e: np.ediff1d(x, to_end=e, to_begin=b), _ediff1d_edges(),
                      numpy=lambda x, b, e: np.ediff1d(x, to_end=e, to_begin=b)),
    "gradient": FnCase(lambda f, spacing, **kw: dnp.gradient(f, spacing, **kw),
                       lambda f, spacing, **kw: np.gradient(f, spacing, **kw), _gradient_layout(),
                       numpy=lambda f, spacing, **kw: np.gradient(f, spacing, **kw), torch=_torch_gradient),
    "gradient_coordinates": FnCase(lambda f, x, edge_order: dnp.gradient(f, x, edge_order=edge_order),
                                   lambda f, x, edge_order: np.gradient(f, x, edge_order=edge_order),
                                   _coordinates_layout(),
                                   numpy=lambda f, x, edge_order: np.gradient(f, x, edge_order=edge_order),
                                   torch=lambda f, x, edge_order: _torch().gradient(f, spacing=(x,),
                                                                                    edge_order=edge_order)),
}


# ---- sorting -----------------------------------------------------------------------------------------
def _kth(shape, chosen):
    axis = chosen["axis"]
    n = int(np.prod(shape)) if axis is None else shape[axis]
    return st.integers(-n, n - 1) | st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)


def _torch_sort(x, axis):
    x, dim = _flat(x, axis)
    return _torch().sort(x, dim=dim, stable=True).values


_SORTABLE = one_array(value_map=_distinct)
_PARTITIONABLE = one_array(min_side=1, value_map=_distinct, kth=_kth)


@st.composite
def _searchsorted_layout(draw):
    a = np.sort(draw(arrays(np.float64, (5,), Domain(-3.0, 3.0, nonfinite=draw(st.booleans())))))
    v = draw(arrays(np.float64, (2, 3), Domain(-4.0, 4.0)))
    return (a, v), {"side": draw(st.sampled_from(["left", "right"]))}


SORTING = {
    "sort": FnCase(lambda x, axis: dnp.sort(x, axis), lambda x, axis: np.sort(x, axis), _SORTABLE,
                   numpy=lambda x, axis: np.sort(x, axis=axis), torch=_torch_sort),
    "argsort": FnCase(lambda x, axis: dnp.argsort(x, axis), lambda x, axis: np.argsort(x, axis, kind="stable"),
                      one_array(), numpy=lambda x, axis: np.argsort(x, axis=axis, kind="stable"), differentiable=False),
    "partition": FnCase(lambda x, kth, axis: dnp.partition(x, kth, axis), lambda x, kth, axis: np.sort(x, axis),
                        _PARTITIONABLE, numpy=lambda x, kth, axis: np.partition(x, kth, axis=axis),
                        torch=lambda x, kth, axis: _torch_sort(x, axis)),
    "argpartition": FnCase(lambda x, kth, axis: dnp.argpartition(x, kth, axis),
                           lambda x, kth, axis: np.argsort(x, axis, kind="stable"), _PARTITIONABLE,
                           numpy=lambda x, kth, axis: np.argpartition(x, kth, axis=axis), differentiable=False),
    "searchsorted": FnCase(lambda a, v, side: dnp.searchsorted(a, v, side), np.searchsorted, _searchsorted_layout(),
                           numpy=lambda a, v, side: np.searchsorted(a, v, side=side), differentiable=False),
}


# ---- choices, replacements and ranges ----------------------------------------------------------------
@st.composite
def _select_layout(draw):
    """Two or three choices (one maybe 0-d), conditions that broadcast against them, and a default."""
    count = draw(st.integers(1, 3))
    choices = tuple(draw(arrays(np.float64, draw(st.sampled_from([(2, 3), (3,), ()])), ANY)) for _ in range(count))
    conditions = [draw(arrays(np.bool_, draw(st.sampled_from([(2, 3), (2, 1), ()])), ANY)) for _ in range(count)]
    return choices, {"conditions": conditions, "default": draw(st.sampled_from([0, -1.5]))}


_HOLES = [0.0, np.nan, np.inf, -np.inf]


@st.composite
def _nan_to_num_layout(draw):
    """x, and holes (0, NaN or ±inf) added to it: the derivative is 1 where x + holes is finite, else 0. The
    replacements are moderate (finite differences of the dtype's largest numbers overflow: tests/numpy/test_scans.py
    checks the defaults)."""
    (x,), _ = draw(one_array(axis=False))
    holes = draw(arrays(np.float64, x.shape, ANY).map(lambda r: np.asarray(_HOLES)[(np.abs(r) * 7).astype(int) % 4]))
    return (x,), {"holes": holes, "nan": draw(st.sampled_from([0.0, 2.5])),
                  "posinf": draw(st.sampled_from([7.0, 1e3])), "neginf": draw(st.sampled_from([-7.0, 0]))}


def _nan_to_num_torch(x, holes, **kw):
    return _torch().nan_to_num(x + _torch().tensor(holes), **kw)


@st.composite
def _linspace_layout(draw):
    """start and stop (0-d, or 1-D broadcasting together), num, endpoint and an output axis."""
    shape = draw(st.sampled_from([(), (2,), (3,)]))
    start, stop = (draw(arrays(np.float64, s, ANY)) for s in (shape, draw(st.sampled_from([(), shape]))))
    ndim = 1 + len(shape)
    return (start, stop), {"num": draw(st.integers(0, 5)), "endpoint": draw(st.booleans()),
                           "axis": draw(st.integers(-ndim, ndim - 1))}


OTHERS = {
    "select": FnCase(lambda *xs, conditions, default: dnp.select(conditions, list(xs), default),
                     lambda *xs, conditions, default: np.select(conditions, list(xs), default), _select_layout(),
                     numpy=lambda *xs, conditions, default: np.select(conditions, list(xs), default), vmap=False),
    "nan_to_num": FnCase(lambda x, holes, **kw: dnp.nan_to_num(x + holes, **kw),
                         lambda x, holes, **kw: np.nan_to_num(x + holes, **kw), _nan_to_num_layout(),
                         numpy=lambda x, holes, **kw: np.nan_to_num(x + holes, **kw), torch=_nan_to_num_torch),
    "linspace": FnCase(lambda a, b, **kw: dnp.linspace(a, b, **kw), lambda a, b, **kw: np.linspace(a, b, **kw),
                       _linspace_layout(), numpy=lambda a, b, **kw: np.linspace(a, b, **kw)),
    "linspace_retstep": FnCase(lambda a, b, num: dnp.linspace(a, b, num, retstep=True),
                               lambda a, b, num: np.linspace(a, b, num, retstep=True),
                               one_array(shape=(), axis=False, num=st.integers(2, 6)).map(
                                   lambda d: ((d[0][0], d[0][0] * 0.5 + 1.0), d[1])),
                               numpy=lambda a, b, num: np.linspace(a, b, num, retstep=True)),
}

SECTION: dict[str, FnCase] = {**SCANS, **DIFFERENCES, **SORTING, **OTHERS}
