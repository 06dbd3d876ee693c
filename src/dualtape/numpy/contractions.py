"""dnp contractions: matmul, dot, einsum, outer, inner, vdot, vecdot."""

from __future__ import annotations

from ..ops import linalg as la
from . import elementwise as ew
from . import reductions as red
from ._base import arr, bind, ndim
from .shapes import ravel

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def matmul(x, y):
    """Matrix product with NumPy's rules for 1-D operands and broadcast batch axes."""
    return bind(la.matmul_p, arr(x), arr(y))


def einsum(subscripts: str, *operands):
    """Einstein summation over one or two operands ('ij,jk->ik'); implicit output as in NumPy."""
    if len(operands) not in (1, 2):
        raise NotImplementedError(
            f"einsum with {len(operands)} operands: dualtape's einsum takes one or two; chain two-operand calls"
        )
    spec = subscripts.replace(" ", "")
    if "->" not in spec:
        letters = spec.replace(",", "")
        spec += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return bind(la.einsum_p, *[arr(o) for o in operands], spec=spec)


def dot(x, y):
    """NumPy's dot: product for scalars, matmul up to 2-D, sum over x's last and y's second-to-last axis."""
    x, y = arr(x), arr(y)
    nx, ny = ndim(x), ndim(y)
    if nx == 0 or ny == 0:
        return ew.multiply(x, y)
    if nx <= 2 and ny <= 2:
        return matmul(x, y)
    a = _LETTERS[:nx]
    b = _LETTERS[nx:nx + ny - 2] + a[-1] + _LETTERS[nx + ny - 2] if ny >= 2 else a[-1]
    out = a[:-1] + b.replace(a[-1], "")
    return einsum(f"{a},{b}->{out}", x, y)


def vdot(x, y):
    return red.sum(ew.multiply(ravel(x), ravel(y)))


def vecdot(x, y, axis=-1):
    """NumPy's linalg.vecdot: dot products along axis, broadcasting the other axes (not vdot's flattening)."""
    return red.sum(ew.multiply(x, y), axis)


def inner(x, y):
    x, y = arr(x), arr(y)
    if ndim(x) == 0 or ndim(y) == 0:
        return ew.multiply(x, y)
    a = _LETTERS[: ndim(x)]
    b = _LETTERS[ndim(x): ndim(x) + ndim(y) - 1] + a[-1]
    return einsum(f"{a},{b}->{a[:-1] + b[:-1]}", x, y)


def outer(x, y):
    return einsum("i,j->ij", ravel(x), ravel(y))
