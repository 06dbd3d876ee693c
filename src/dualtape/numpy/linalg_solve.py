"""dnp.linalg's solves and factorisations with NumPy's names, signatures and batching: `cholesky`, `solve`, `inv`,
`det`, `slogdet`, `matrix_power` (a composition of matmul and inv), and SciPy's `solve_triangular`, which NumPy
lacks. Each checks its operands here and binds a row of ops/linalg_solve.py with b as a stack of matrices of
a's batch shape (broadcast here), so the rows mean the same on every backend. Each takes real or complex matrices
(complex64, complex128), differentiated in JAX's convention."""

from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from ..avals import broadcast_shapes
from ..errors import ShapeError
from ..ops import linalg_solve as ls
from . import elementwise as ew
from ._base import arr, bind, dtype, ndim, shape, shape_error
from .complex_parts import conjugate
from .contractions import matmul
from .shapes import broadcast_to, reshape, swapaxes


class SlogdetResult(NamedTuple):
    """slogdet's result, as NumPy names it: the sign of the determinant (0 when singular) and log|det|."""

    sign: object
    logabsdet: object


def _side(op: str, a) -> int:
    """n for a of shape (..., n, n); else a ShapeError naming op, as NumPy's LinAlgError would."""
    if ndim(a) < 2 or shape(a)[-1] != shape(a)[-2]:
        raise shape_error(op, f"expected a square matrix or a stack of them (..., n, n), got shape {shape(a)}",
                          fix="pass an array whose last two axes have the same length")
    return shape(a)[-1]


def _solver(op: str, prim, a, b, **params):
    """prim(a, b) with NumPy 2's rules: b is one vector when 1-D, else a stack of (n, k) matrices, the leading
    axes of a and b broadcast together."""
    a, b = arr(a), arr(b)
    n = _side(op, a)
    vector = ndim(b) == 1
    rows = shape(b)[0] if vector else shape(b)[-2] if ndim(b) >= 2 else None
    if rows != n:
        raise shape_error(op, f"b of shape {shape(b)} does not fit a of shape {shape(a)}: b needs {n} rows "
                          "(b.shape[0] for a vector, b.shape[-2] for a stack of matrices)",
                          fix=f"give b the shape ({n},) or (..., {n}, k)")
    matrices = reshape(b, (n, 1)) if vector else b
    try:
        batch = broadcast_shapes(op, shape(a)[:-2], shape(matrices)[:-2])
    except ShapeError:
        raise shape_error(op, f"the leading (batch) axes of a {shape(a)} and b {shape(b)} do not broadcast",
                          fix="make a.shape[:-2] and b.shape[:-2] broadcast together") from None
    a = broadcast_to(a, batch + (n, n))
    matrices = broadcast_to(matrices, batch + shape(matrices)[-2:])
    x = bind(prim, a, matrices, **params)
    return reshape(x, batch + (n,)) if vector else x


def cholesky(a, /, *, upper=False):
    """The Cholesky factor of a symmetric (Hermitian) positive-definite a: lower L with a = L L^H (upper U = L^H
    when asked), reading a's lower (upper) triangle as NumPy does. Derivatives are for symmetric (Hermitian)
    perturbations: the gradient is a symmetric (Hermitian) matrix (as in JAX, PyTorch and autograd)."""
    a = arr(a)
    _side("cholesky", a)
    if upper:
        return swapaxes(bind(ls.cholesky_p, swapaxes(a, -1, -2)), -1, -2)
    return bind(ls.cholesky_p, a)


def solve(a, b):
    """x with a @ x = b, for a (..., n, n) and b (n,) or (..., n, k), the batch axes broadcast (NumPy 2)."""
    return _solver("solve", ls.solve_p, a, b)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False):
    """SciPy's solve_triangular: x with op(a) @ x = b, op(a) = a (trans 0 or 'N'), a^T (1 or 'T') or a^H (2 or 'C'),
    reading only a's lower (or upper) triangle, and taking its diagonal as ones when unit_diagonal. b and the batch
    axes as in solve. A single matrix costs O(n^2 k) (LAPACK's trtrs through SciPy, where installed); a stack of
    them is one batched LU solve on the triangle, O(n^3) each."""
    codes = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}
    if trans not in codes:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    if codes[trans] == 2:  # a^H is the transpose of conj(a) (a real a's: no op)
        a = conjugate(arr(a))
    return _solver("solve_triangular", ls.solve_triangular_p, a, b, trans=min(codes[trans], 1), lower=bool(lower),
                   unit_diagonal=bool(unit_diagonal))


def inv(a):
    """The inverse of a square matrix, or of each in a stack."""
    a = arr(a)
    _side("inv", a)
    return bind(ls.inv_p, a)


def det(a):
    """The determinant of a square matrix, or of each in a stack. Its derivative, det(a) a^-T, is computed by a
    solve with a^T, so at an exactly singular matrix it raises NumPy's LinAlgError."""
    a = arr(a)
    _side("det", a)
    return bind(ls.det_p, a)


def slogdet(a):
    """(sign, log|det|) of a square matrix or a stack, without overflow; the sign's derivative is zero and
    log|det|'s is a^-T (by a solve, as for det). Each part is computed on its own: a compiled program that
    uses only log|det| factorises a once."""
    a = arr(a)
    _side("slogdet", a)
    return SlogdetResult(bind(ls.slogdet_p, a, part=0), bind(ls.slogdet_p, a, part=1))


def matrix_power(a, n):
    """a raised to the integer power n by repeated squaring (NumPy's order of products); n < 0 inverts a
    first; n = 0 gives identity matrices of a's shape and dtype."""
    a = arr(a)
    side = _side("matrix_power", a)
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("matrix_power: exponent must be an integer") from e
    if n == 0:
        return ew.zeros_like(a) + np.eye(side, dtype=dtype(a))
    if n < 0:
        a, n = inv(a), -n
    if n <= 3:
        return a if n == 1 else matmul(a, a) if n == 2 else matmul(matmul(a, a), a)
    square = result = None
    while n > 0:
        square = a if square is None else matmul(square, square)
        n, bit = divmod(n, 2)
        if bit:
            result = square if result is None else matmul(result, square)
    return result
