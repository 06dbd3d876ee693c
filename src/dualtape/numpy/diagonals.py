"""dnp diagonals and triangles: diagonal and trace read a diagonal with the diagonal primitive (of the last two
axes, once the plane is moved there: a view; adjoint: an exact scatter-add onto it); diag and diagflat write a
vector onto one (index_update of zeros); triu and tril keep a triangle with where and a constant np.tri mask,
batched over leading axes. tri and the *_indices constructors are NumPy's own (they make constants from shapes)."""

from __future__ import annotations

import operator

import numpy as np
from numpy import diag_indices, tri, tril_indices, triu_indices  # noqa: F401  (constants from shapes)

from ..core.primitive import bind
from ..ops.shape import diagonal_p, diagonal_positions
from ._base import arr, ndim, shape, shape_error
from ._base import dtype as dtype_of
from .elementwise import where
from .joins import axis_index
from .reductions import sum as sum_
from .shapes import index_update, moveaxis, ravel


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The offset-th diagonal of the matrices in the plane (axis1, axis2), as a last axis after the others."""
    a = arr(a)
    n = ndim(a)
    if n < 2:
        raise shape_error("diagonal", f"needs an array of at least two dimensions, got shape {shape(a)}",
                          fix="use dnp.diag(v) to make a matrix with v on its diagonal")
    first, second = axis_index(axis1, n, "diagonal"), axis_index(axis2, n, "diagonal")
    if first == second:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same, got {axis1} and {axis2} for an array of "
                         f"dimension {n}")
    return bind(diagonal_p, moveaxis(a, (first, second), (-2, -1)), offset=operator.index(offset))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """The sum along the offset-th diagonal (of each matrix in the plane (axis1, axis2))."""
    return sum_(diagonal(a, offset, axis1, axis2), -1, dtype=dtype)


def diag(v, k=0):
    """A vector's square matrix, zero but for v on the k-th diagonal; a matrix's k-th diagonal."""
    v = arr(v)
    if ndim(v) == 2:
        return diagonal(v, k)
    if ndim(v) != 1:
        raise shape_error("diag", f"input must be 1-d or 2-d, got shape {shape(v)}",
                          fix="use dnp.diagonal(a, offset, axis1, axis2) for the diagonals of a stack of matrices")
    size = shape(v)[0] + abs(int(k))
    return index_update(np.zeros((size, size), dtype_of(v)), diagonal_positions(size, size, int(k)), v)


def diagflat(v, k=0):
    """The flattened input on the k-th diagonal of a square matrix of zeros."""
    return diag(ravel(arr(v)), k)


def _triangle(op: str, m, k, lower: bool):
    m = arr(m)
    if ndim(m) < 1:
        raise shape_error(op, f"needs an array of at least one dimension, got shape {shape(m)}",
                          fix="give a matrix (or a stack of matrices)")
    rows, cols = shape(m)[-2:] if ndim(m) > 1 else shape(m) * 2
    mask = tri(rows, cols, int(k) - (not lower), dtype=bool)
    zero = np.zeros((), dtype_of(m))
    return where(mask, m, zero) if lower else where(mask, zero, m)


def tril(m, k=0):
    """m with the elements above the k-th diagonal zeroed (of each matrix in the last two axes)."""
    return _triangle("tril", m, k, lower=True)


def triu(m, k=0):
    """m with the elements below the k-th diagonal zeroed (of each matrix in the last two axes)."""
    return _triangle("triu", m, k, lower=False)


def tril_indices_from(arr, k=0):  # noqa: A002 - NumPy's parameter name
    """The indices of the lower triangle of a matrix of arr's shape (constants: only the shape is read)."""
    rows, cols = _matrix_shape("tril_indices_from", arr)
    return tril_indices(rows, k, cols)


def triu_indices_from(arr, k=0):  # noqa: A002 - NumPy's parameter name
    """The indices of the upper triangle of a matrix of arr's shape (constants: only the shape is read)."""
    rows, cols = _matrix_shape("triu_indices_from", arr)
    return triu_indices(rows, k, cols)


def diag_indices_from(arr):  # noqa: A002 - NumPy's parameter name
    """The indices of the main diagonal of arr, a square array of any dimension (constants from its shape)."""
    dims = shape(arr)
    if len(dims) < 2 or len(set(dims)) != 1:
        raise shape_error("diag_indices_from", f"needs an array of at least 2 dimensions, all of equal length, "
                                               f"got shape {dims}", fix="use dnp.diagonal for other shapes")
    return diag_indices(dims[0], len(dims))


def _matrix_shape(op: str, arr) -> tuple:
    dims = shape(arr)
    if len(dims) != 2:
        raise shape_error(op, f"input array must be 2-d, got shape {dims}", fix="give a matrix")
    return dims
