"""Small compiled helpers that code lowered for Numba (codegen/numba_lower.py) calls where NumPy's own function
has no Numba form: reductions over the last axis of a 2-D array. A reduction over any axes is lowered to one
of them (the reduced axes moved last and flattened: shapes are static). Importing this module needs Numba."""

from __future__ import annotations

import numba
import numpy as np

_JIT = {"cache": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def sum_rows(a, zero):
    """The sum of each row of the 2-D array a, accumulated in zero's type (NumPy's result dtype)."""
    out = np.full(a.shape[0], zero)
    for i in range(a.shape[0]):
        total = zero
        for j in range(a.shape[1]):
            total += a[i, j]
        out[i] = total
    return out


@numba.njit(**_JIT)
def prod_rows(a, one):
    """The product of each row of the 2-D array a, in one's type."""
    out = np.full(a.shape[0], one)
    for i in range(a.shape[0]):
        total = one
        for j in range(a.shape[1]):
            total *= a[i, j]
        out[i] = total
    return out


@numba.njit(**_JIT)
def max_rows(a):
    """The largest entry of each row of the 2-D array a (NaN wins, as in NumPy)."""
    out = np.empty(a.shape[0], a.dtype)
    for i in range(a.shape[0]):
        best = a[i, 0]
        for j in range(1, a.shape[1]):
            v = a[i, j]
            if v > best or v != v:
                best = v
                if v != v:
                    break
        out[i] = best
    return out


@numba.njit(**_JIT)
def min_rows(a):
    """The smallest entry of each row of the 2-D array a (NaN wins, as in NumPy)."""
    out = np.empty(a.shape[0], a.dtype)
    for i in range(a.shape[0]):
        best = a[i, 0]
        for j in range(1, a.shape[1]):
            v = a[i, j]
            if v < best or v != v:
                best = v
                if v != v:
                    break
        out[i] = best
    return out


@numba.njit(fastmath={"reassoc"}, **_JIT)  # (summed in vector lanes, in another order, as BLAS does)
def matvec(a, x):
    """a @ x for a C-contiguous 2-D a and 1-D x, as loops (a small product costs less than a BLAS call)."""
    out = np.empty(a.shape[0], a.dtype)
    for i in range(a.shape[0]):
        total = a.dtype.type(0)
        for k in range(a.shape[1]):
            total += a[i, k] * x[k]
        out[i] = total
    return out


@numba.njit(**_JIT)
def matmat(a, b):
    """a @ b for C-contiguous 2-D a and b (a 1-D operand reshaped to a row or a column first), as loops."""
    out = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for i in range(a.shape[0]):
        for k in range(a.shape[1]):
            scale = a[i, k]
            for j in range(b.shape[1]):
                out[i, j] += scale * b[k, j]
    return out
