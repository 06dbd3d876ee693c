"""Sorting primitives, integer-valued and so not differentiable (the `axis` param arrives normalised by
`dualtape.numpy`):

- argsort along one axis, always stable (equal values keep their order): the building block of dnp's sort,
  partition and argpartition, which gather at its indices, so their derivatives are the gather's;
- searchsorted of values v in a sorted 1-D array a: O(len(v) log len(a)). Under vmap NumPy has no batched form,
  so the batch rule counts comparisons instead, O(len(v) len(a)) per example, in NumPy's order (NaN last).
"""

from __future__ import annotations

import numpy as np

from ..avals import aval_of
from ..core.primitive import Primitive
from ..errors import ShapeError
from .cumulative import along_axis_shape
from .elementwise import convert_element_type_p, le_p, logical_and_p, logical_not_p, logical_or_p, lt_p, ne_p
from .reduction import reduce_sum_p
from .rules import batch_with_params, defzero
from .shape import expand_dims_p, reshape_p


def _searchsorted_shape(a, v, side):
    if a.ndim != 1:
        raise ShapeError("searchsorted", f"the sorted array must be 1-D, got shape {a.shape}",
                         fix="search each row separately (dt.vmap), or ravel the sorted array")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    return v.shape


argsort_p = Primitive("argsort", ("x",), "xp.argsort(x, axis=axis, kind='stable')", along_axis_shape("argsort"),
                      differentiable=False)
argsort_p.non_standard = (
    "kind='stable': CuPy 14's argsort has no stable= (the standard's keyword)")
searchsorted_p = Primitive("searchsorted", ("a", "v"), "xp.searchsorted(a, v, side=side)", _searchsorted_shape,
                           differentiable=False)


def _is_nan(x):
    return ne_p(x, x)


def _precedes(a, v, side: str):
    """Where a sorts before v in NumPy's order (NaN after every number): a < v for side 'left', a <= v for
    'right'; the position of v is how many elements of a precede it."""
    if side == "right":
        return logical_or_p(le_p(a, v), _is_nan(v))
    return logical_or_p(lt_p(a, v), logical_and_p(_is_nan(v), logical_not_p(_is_nan(a))))


def _searchsorted_batch(values, batched, size, side):
    """Each example's positions as counts of the elements of its sorted row that precede each value."""
    (a, v), (a_batched, v_batched) = values, batched
    v_rank = aval_of(v).ndim - v_batched
    if a_batched:
        n = aval_of(a).shape[1]
        a = reshape_p(a, shape=(size,) + (1,) * v_rank + (n,))
    v = expand_dims_p(v, axes=(aval_of(v).ndim,))  # (each value against the whole row, on the last axis)
    precedes = convert_element_type_p(_precedes(a, v, side), dtype=np.dtype(np.intp))
    return reduce_sum_p(precedes, axes=(v_rank + 1,), keepdims=False)


defzero(argsort_p, searchsorted_p)
argsort_p.batch = batch_with_params(argsort_p, lambda params, size: {"axis": params["axis"] + 1})
searchsorted_p.batch = _searchsorted_batch
