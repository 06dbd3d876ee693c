"""dnp.linalg's spectral functions with NumPy's names, signatures and result types: `eigh`, `eigvalsh`, `eig`,
`eigvals` and `pinv` bind rows of ops/linalg_spectral.py, `svd`, `svdvals` and `qr` rows of ops/linalg_svd_qr.py
(whose docstrings say what the derivatives are where they are undefined: repeated eigenvalues, zero singular
values, the phases of complex vectors); `lstsq`, `matrix_rank` and `cond` are compositions of them. Each takes a
real or complex matrix or a stack of them (..., m, n), as NumPy does."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._util import user_source_line
from ..core.primitive import trace_of
from ..errors import UnsupportedError
from ..ops import linalg_spectral as sp
from ..ops import linalg_svd_qr as sq
from ..ops.elementwise import stop_gradient_p
from . import elementwise as ew
from . import reductions as red
from ._base import arr, bind, dtype, ndim, shape, shape_error
from .contractions import matmul
from .shapes import expand_dims, getitem, reshape

_UNSET = object()  # (pinv's rtol when not given: NumPy's default then depends on whether rcond is)


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class EigResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


class QRResult(NamedTuple):
    Q: object
    R: object


def _matrix(op: str, a, square: bool = False):
    """a as an array, checked to be a matrix (square if asked) or a stack of them."""
    a = arr(a)
    if ndim(a) < 2 or square and shape(a)[-1] != shape(a)[-2]:
        kind = "square matrix or a stack of them (..., n, n)" if square else "matrix or a stack of them (..., m, n)"
        raise shape_error(op, f"expected a {kind}, got shape {shape(a)}",
                          fix="pass an array whose last two axes are the matrix's rows and columns")
    return a


def _uplo(UPLO) -> str:
    if str(UPLO).upper() not in ("L", "U"):
        raise ValueError(f"eigh: UPLO argument must be 'L' or 'U', got {UPLO!r}")
    return str(UPLO).upper()


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending, real) and eigenvectors (columns) of a symmetric (complex: Hermitian) matrix, read
    from its lower (UPLO='L') or upper triangle; the derivative is that of the symmetric (Hermitian) matrix built
    from that triangle. Each vector's sign (complex: phase) is arbitrary, as in NumPy: only functions that do not
    depend on it (|v|^2, v v^H) have derivatives. At repeated eigenvalues the vectors have no derivative: the rule
    drops the repeated pairs' terms, which is exact for functions of whole repeated eigenspaces (projectors onto
    them) and finite otherwise (V f(w) V^H then misses its part inside such a space)."""
    a = _matrix("eigh", a, square=True)
    return EighResult(*bind(sp.eigh_p, a, UPLO=_uplo(UPLO)))


def eigvalsh(a, UPLO="L"):
    """The eigenvalues (ascending, real) of a symmetric (Hermitian) matrix; derivative v_i^H dA v_i, defined
    everywhere (at a repeated eigenvalue it is that of one basis of the eigenspace; their sum's is exact)."""
    a = _matrix("eigvalsh", a, square=True)
    return bind(sp.eigvalsh_p, a, UPLO=_uplo(UPLO))


def eig(a):
    """Eigenvalues and unit eigenvectors of a general real or complex matrix, as complex arrays always (as NumPy
    from 2.5 and JAX: NumPy before 2.5 returns real arrays when every eigenvalue is real; take `.real` of the
    results for those). Their order is LAPACK's, which can change between nearby matrices; the derivative follows
    each eigenpair. Each vector's phase is arbitrary: only functions that do not depend on it (|v|^2, v v^H)
    have derivatives. Derivatives need distinct eigenvalues and a diagonalisable matrix (they solve with the
    eigenvector matrix); a real matrix gets a real gradient."""
    a = _matrix("eig", a, square=True)
    return EigResult(*bind(sp.eig_p, a))


def eigvals(a):
    """The eigenvalues of a general matrix, complex always (see eig): eig's, so that their order is the one its
    vectors (which the derivative needs) come in; NumPy's eigvals may list them in another order."""
    a = _matrix("eigvals", a, square=True)
    return bind(sp.eig_p, a)[0]


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """U, S, Vh with a = U diag(S) Vh, singular values descending; compute_uv=False gives S alone (whose
    derivative u_i^T dA v_i is always defined). hermitian=True reads a's lower triangle as a symmetric matrix
    (NumPy then goes through eigh: the vectors may differ from its by signs). Derivatives: svd's rule (see
    ops/linalg_spectral.py) on the vectors, the extra columns of full_matrices included."""
    a = _matrix("svd", a, square=hermitian)
    if hermitian:
        a = sp.from_triangle(a, "L")
    if not compute_uv:
        return bind(sq.svdvals_p, a)
    return SVDResult(*bind(sq.svd_p, a, full_matrices=bool(full_matrices)))


def svdvals(x, /):
    """The singular values, descending (NumPy 2's linalg.svdvals)."""
    return bind(sq.svdvals_p, _matrix("svdvals", x))


def qr(a, mode="reduced"):
    """Q with orthonormal (unitary) columns and upper-triangular R, a = Q R (R's diagonal real, as LAPACK's): mode
    'reduced' (k = min(m, n) columns), 'complete' (Q square) or 'r' (R alone); 'raw' (LAPACK's Householder form)
    is not supported. Derivatives need the first min(m, n) columns of a independent (R invertible there)."""
    if mode == "raw":
        raise UnsupportedError("dnp.linalg.qr(mode='raw')", where=user_source_line(),
                               fix="use mode='reduced' or 'complete' (Q and R), or 'r'")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: unrecognized mode {mode!r}: use 'reduced', 'complete' or 'r'")
    q, r = bind(sq.qr_p, _matrix("qr", a), mode="complete" if mode == "complete" else "reduced")
    return r if mode == "r" else QRResult(q, r)


def _static_float(op: str, value) -> float:
    """One concrete cutoff: a traced one, or one per matrix of a stack, is not supported."""
    if trace_of(value) is not None or np.size(value) != 1:
        raise UnsupportedError(f"dnp.linalg.{op} with an array of cutoffs, or a traced one", where=user_source_line(),
                               fix="pass one number (a Python float) for every matrix of the stack")
    return float(np.asarray(value))


def pinv(a, rcond=None, hermitian=False, *, rtol=_UNSET):
    """The Moore-Penrose pseudo-inverse, singular values below rcond (relative to the largest) cut as NumPy
    does. Its derivative (Golub & Pereyra) holds where the rank stays constant; it needs no singular vectors,
    so repeated singular values cost no accuracy. hermitian=True reads a's lower triangle as symmetric."""
    a = _matrix("pinv", a, square=hermitian)
    if rcond is None:
        eps = np.finfo(dtype(a) if np.issubdtype(dtype(a), np.inexact) else np.float64).eps
        rcond = 1e-15 if rtol is _UNSET else max(shape(a)[-2:]) * eps if rtol is None else rtol
    elif rtol is not _UNSET:
        raise ValueError("pinv: `rtol` and `rcond` can't be both set")
    return bind(sp.pinv_p, sp.from_triangle(a, "L") if hermitian else a, rcond=_static_float("pinv", rcond))


def lstsq(a, b, rcond=None):
    """NumPy's (x, residuals, rank, s): x = pinv(a) b (derivatives of x and s in both modes), computed in float64
    (complex128) as NumPy does; residuals and s are real. residuals are empty when m <= n or a's rank is below n; a
    traced rank is unknown until run, so with traced operands and m > n they are given whatever the rank."""
    a, b = _matrix("lstsq", a), arr(b)
    if ndim(a) != 2 or ndim(b) not in (1, 2) or shape(b)[0] != shape(a)[0]:
        raise shape_error("lstsq", f"expected a (m, n) matrix a and b of shape (m,) or (m, k) with the same m, got "
                          f"{shape(a)} and {shape(b)}", fix="give b as many rows as a")
    result = np.result_type(dtype(a), dtype(b), np.float32)
    real_result = np.finfo(result).dtype  # (of residuals and s)
    m, n = shape(a)
    rcond = np.finfo(np.float64).eps * max(m, n) if rcond is None else _static_float("lstsq", rcond)
    computed = np.complex128 if result.kind == "c" else np.float64
    a, b = ew.astype(a, computed), ew.astype(b, computed)
    x = matmul(bind(sp.pinv_p, a, rcond=float(rcond)), b)
    s = bind(sq.svdvals_p, a)
    rank = ew.astype(red.count_nonzero(ew.greater(s, red.max(s, initial=0.0) * rcond)), np.int32)
    if m > n and (trace_of(rank) is not None or int(rank) == n):
        misfit = ew.subtract(b, matmul(a, x))
        residuals = red.sum(ew.square(ew.abs(misfit) if result.kind == "c" else misfit), axis=0)
        residuals = ew.astype(reshape(residuals, (1,)) if ndim(b) == 1 else residuals, real_result)
    else:
        residuals = np.zeros((0,), real_result)
    return ew.astype(x, result), residuals, rank, ew.astype(s, real_result)


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """The number of singular values above tol (default: max(M, N)·eps·largest, or rtol·largest), as NumPy; an
    integer, so no derivative. A 0-d or 1-D A has rank 1 unless it is all zeros."""
    if tol is not None and rtol is not None:
        raise ValueError("matrix_rank: `tol` and `rtol` can't be both set")
    A = bind(stop_gradient_p, arr(A))
    if ndim(A) < 2:
        return ew.astype(ew.greater(red.count_nonzero(A), 0), np.int64)
    s = ew.abs(eigvalsh(A)) if hermitian else svdvals(A)
    if tol is None:
        if rtol is None:
            rtol = max(shape(A)[-2:]) * np.finfo(dtype(s)).eps
        else:
            rtol = expand_dims(arr(rtol), -1)
        tol = ew.multiply(red.max(s, axis=-1, keepdims=True, initial=0), rtol)
    else:
        tol = expand_dims(arr(tol), -1)
    return red.count_nonzero(ew.greater(s, tol), axis=-1)


def cond(x, p=None):
    """The condition number in the norm p: the ratio of the extreme singular values for p None, 2 or -2, else
    norm(x, p) · norm(inv(x), p) (p 'fro', 'nuc', 1, -1, inf, -inf; x square; a singular x raises NumPy's
    LinAlgError there, where NumPy gives inf)."""
    from .linalg_solve import inv  # (the solve family's)
    from .norms import norm

    x = _matrix("cond", x, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = svdvals(x)
        first, last = getitem(s, (Ellipsis, 0)), getitem(s, (Ellipsis, -1))
        return ew.divide(last, first) if p == -2 else ew.divide(first, last)
    return ew.multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))
