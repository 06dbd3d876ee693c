"""Vector and matrix norms (`dnp.linalg.norm`, `vector_norm`) as compositions of primitives, as NumPy defines them."""

from __future__ import annotations

import numpy as np

from .._util import normalize_axes, normalize_axis
from . import elementwise as ew
from . import reductions as red
from ._base import arr, dtype, ndim
from .shapes import reshape


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, -inf, 0, p) and matrix norms ('fro', 1, -1, inf, -inf), as NumPy."""
    x = _inexact(x)
    n = ndim(x)
    if isinstance(axis, int):
        axis = (axis,)
    axes = normalize_axes(axis, n, "norm")
    if ord is None or ord == "fro" and len(axes) == 2:
        return ew.sqrt_of_sum(red.sum(_squares(x), axes, keepdims))
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:  # in the order given: the first is the row axis of a matrix norm
        order = axes if axis is None else tuple(normalize_axis(a, n, "norm") for a in axis)
        return _matrix_norm(x, ord, order, keepdims)
    raise ValueError(f"norm: ord={ord!r} needs one or two axes, got {axes} for an array of rank {n}")


def vector_norm(x, axis=None, keepdims=False, ord=2):
    """NumPy 2's linalg.vector_norm: the vector norm over axis (every axis when None), never a matrix norm."""
    x = _inexact(x)
    return _vector_norm(x, ord, normalize_axes(axis, ndim(x), "vector_norm"), keepdims)


def _inexact(x):
    """x, converted to float64 unless it is already floating or complex (NumPy takes norms of ints in float)."""
    x = arr(x)
    return x if np.issubdtype(dtype(x), np.inexact) else ew.astype(x, np.float64)


def _is_complex(x) -> bool:
    return np.issubdtype(np.dtype(getattr(x, "dtype", np.float64)), np.complexfloating)


def _squares(x):
    """|x|^2 elementwise: x * x of a real array; of a complex one, re^2 + im^2 (a real array)."""
    return ew.square(ew.abs(x) if _is_complex(x) else x)


def _vector_norm(x, ord, axes, keepdims):
    a = ew.abs(x)
    if ord == 2:
        return ew.sqrt_of_sum(red.sum(_squares(x), axes, keepdims))
    if ord == np.inf:
        return red.max(a, axes, keepdims)
    if ord == -np.inf:
        return red.min(a, axes, keepdims)
    if ord == 0:
        return red.sum(ew.astype(ew.not_equal(x, 0), ew._dtype_of(a)), axes, keepdims)
    if ord == 1:
        return red.sum(a, axes, keepdims)
    if isinstance(ord, (int, float)):
        total = red.sum(ew.power(a, float(ord)), axes, keepdims)
        zero = ew.equal(total, 0)  # (derivative 0 at the zero vector, as for ord=2)
        return ew.where(zero, 0, ew.power(ew.where(zero, 1, total), 1.0 / ord))
    raise ValueError(f"norm: invalid order {ord!r} for a vector norm")


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    a = ew.abs(x)
    if ord in (1, -1):
        pick = red.max if ord == 1 else red.min
        out = pick(red.sum(a, row, keepdims=True), col, keepdims=True)
    elif ord in (np.inf, -np.inf):
        pick = red.max if ord == np.inf else red.min
        out = pick(red.sum(a, col, keepdims=True), row, keepdims=True)
    elif ord in (2, -2, "nuc"):  # the largest, smallest or summed singular values, the two axes moved last
        from .linalg_spectral import svdvals
        from .shapes import expand_dims, moveaxis

        pick = {2: red.max, -2: red.min, "nuc": red.sum}[ord]
        out = expand_dims(pick(svdvals(moveaxis(x, (row, col), (-2, -1))), -1), tuple(sorted(axes)))
    else:
        raise ValueError(f"norm: invalid order {ord!r} for a matrix norm")
    return out if keepdims else reshape(out, tuple(d for i, d in enumerate(out.shape) if i not in axes))
