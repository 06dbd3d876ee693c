"""Eigendecompositions of stacks of matrices, `eigh`, `eigvalsh`, `eig`, and `pinv` (a row of its own: its rule needs
no singular vectors, so repeated singular values cost it no accuracy); the helpers they share with svd and qr
(ops/linalg_svd_qr.py).

Rules: eigh after Giles (2008); eig as JAX's eigenvalues (dw = diag(V^-1 dA V)) and PyTorch's unit-norm vectors;
pinv after Golub & Pereyra (1973), for a constant rank; eigvalsh: v_i^H dA v_i, defined everywhere. At repeated
eigenvalues the vectors have no derivative: the 1/(λ_j - λ_i) of pairs closer than n·eps·max|λ| are set to 0
(Kasim, arXiv:2011.04366): finite values, and the exact first derivative of functions of whole repeated
eigenspaces (their projectors; not of V f(Λ) V^T, whose part inside such a space is lost). eigh's derivative is
that of the symmetric (Hermitian) matrix built from the triangle it reads (UPLO).

Complex matrices (JAX's convention, ops/complex_parts.py): eigh reads a Hermitian matrix, its eigenvalues real;
eig gives complex eigenvalues and vectors for every matrix, real ones included (as NumPy >= 2.5 and JAX). Each
eigenvector's phase is arbitrary, so only functions that do not depend on it (|v|^2, v v^H) have derivatives;
the rules keep Im(v_i^H dv_i) = 0 for eigh, and unit norms for eig. Rules conjugate through `mH` and `conj`,
nothing on real values, so real programs gain no complex op.
"""

from __future__ import annotations

import numpy as np

from ..avals import aval_of
from ..core.faces import FULL, Faces, Facts
from ..core.primitive import Primitive
from ..errors import ShapeError
from .complex_parts import conj_p, real_p
from .elementwise import abs_p, where_p
from .indexing import Index, Slice, getitem_p
from .linalg import matmul_p
from .linalg_solve import _eye, _mask, _unary_batch, conj, is_complex, mH, mT, solve_p
from .reduction import reduce_max_p, reduce_sum_p
from .rules import add_any, defjvp, defvjp, fit_dtype, helper_evaluator
from .shape import expand_dims_p

NEW = Facts(new_array=True, precision=FULL)  # (every row here: a new array, float32 under mixed precision)


# ---- shape rules -------------------------------------------------------------------------------------
def matrix_shape(op: str, x, square: bool = False) -> tuple:
    """(batch, m, n) of x, a matrix or a stack of them; else a ShapeError naming op."""
    if x.ndim < 2 or square and x.shape[-1] != x.shape[-2]:
        kind = "square matrix or a stack of them (..., n, n)" if square else "matrix or a stack of them (..., m, n)"
        raise ShapeError(op, f"expected a {kind}, got shape {x.shape}",
                         fix="pass an array whose last two axes are the rows and columns of its matrices")
    return x.shape[:-2], x.shape[-2], x.shape[-1]


def _eigen_shapes(op: str):
    def rule(x, **_):
        batch, n, _ = matrix_shape(op, x, square=True)
        return batch + (n,), batch + (n, n)

    return rule


def _pinv_shape(x, rcond):
    batch, m, n = matrix_shape("pinv", x)
    return batch + (n, m)


def _pinv_dtype(x, rcond):
    """NumPy's: floating (or complex) as svd makes it, but an empty matrix keeps its dtype (an integer one too)."""
    return x.dtype if x.shape[-1] * x.shape[-2] == 0 or x.dtype.kind in "fc" else np.dtype(np.float64)


# ---- eig's evaluation: complex results always ------------------------------------------------------------
def _eig_helper(xp):
    """eig on xp with complex results for every matrix: NumPy before 2.5 returns real arrays when every
    eigenvalue is real (CuPy and NumPy 2.5 complex ones always): those become complex of their precision."""

    def eig_complex(x):
        w, v = xp.linalg.eig(x)
        if not xp.iscomplexobj(w):
            kind = xp.complex64 if w.dtype == xp.float32 else xp.complex128
            w, v = xp.asarray(w, dtype=kind), xp.asarray(v, dtype=kind)
        return w, v

    return eig_complex




# ---- the rows ----------------------------------------------------------------------------------------
eigh_p = Primitive("eigh", ("x",), "xp.linalg.eigh(x, UPLO=UPLO)", _eigen_shapes("eigh"), multiple_results=True,
                   faces=Faces(torch_node="LinalgEighBackward0"), facts=NEW)
eigh_p.non_standard = (
    "UPLO=: the standard's eigh reads a triangle of its own choosing")
eigvalsh_p = Primitive("eigvalsh", ("x",), "xp.linalg.eigvalsh(x, UPLO=UPLO)",
                       lambda x, UPLO: _eigen_shapes("eigvalsh")(x)[0],
                       faces=Faces(torch_node="LinalgEighBackward0"), facts=NEW)
eigvalsh_p.non_standard = 'UPLO=, as eigh'
eig_p = Primitive("eig", ("x",), "eig_complex(x)", _eigen_shapes("eig"), multiple_results=True, facts=NEW,
                  impl=helper_evaluator(_eig_helper), helpers={"eig_complex": _eig_helper},
                  faces=Faces(torch_node="LinalgEigBackward0"))
eig_p.non_standard = (
    "a runtime helper over xp.linalg.eig (no eig in the standard's linalg extension), real where it can be")
pinv_p = Primitive("pinv", ("x",), "xp.linalg.pinv(x, rcond)", _pinv_shape, dtype_rule=_pinv_dtype,
                   faces=Faces(torch_node="LinalgPinvBackward0"), facts=NEW)
pinv_p.non_standard = (
    "rcond by position: CuPy 14's pinv has no rtol= (the standard's keyword)")


# ---- helpers of the rules ----------------------------------------------------------------------------
def row(v):
    """v (..., k) as (..., 1, k): multiplying a stack of matrices by it scales their columns."""
    return expand_dims_p(v, axes=(aval_of(v).ndim - 1,))


def col(v):
    """v (..., k) as (..., k, 1): multiplying by it scales rows."""
    return expand_dims_p(v, axes=(aval_of(v).ndim,))


def columns(x, start: int, stop: int | None = None, from_end: int = 1):
    """x[..., start:stop] (the rows x[..., start:stop, :] with from_end=2)."""
    whole = (Slice(None, None, None),)
    return getitem_p(x, index=Index(whole * (aval_of(x).ndim - from_end) + (Slice(start, stop, None),)))


def column_sums(x):
    return reduce_sum_p(x, axes=(aval_of(x).ndim - 2,), keepdims=False)


def tolerance(values, scale: int):
    """scale·eps·max|values| per stack entry, shaped (..., 1): values closer than this count as equal."""
    a = aval_of(values)
    if a.shape[-1] == 0:
        return 0.0
    return reduce_max_p(abs_p(values), axes=(a.ndim - 1,), keepdims=True) * (float(np.finfo(a.dtype).eps) * scale)


def inverse_where(keep, x):
    """1 / x where keep, else 0 (no division by the x left out)."""
    return where_p(keep, 1.0 / where_p(keep, x, 1.0), 0.0)


def inverse_gaps(values, scale: int, squares: bool = False):
    """F[..., i, j] = 1 / (v_j - v_i) (1 / (v_j^2 - v_i^2) with squares): 0 on the diagonal and for pairs
    closer than tolerance (their derivative is undefined; 0 is exact for basis-invariant functions)."""
    r, c, tol = row(values), col(values), tolerance(values, scale)
    delta = r - c
    apart = abs_p(delta) > (tol if type(tol) is float else col(tol))
    return inverse_where(apart, delta * (r + c) if squares else delta)


# ---- eigh and eigvalsh: S = the symmetric (Hermitian) matrix read from one triangle -------------------------
def from_triangle(t, UPLO):
    """The symmetric matrix eigh reads from t: its lower (UPLO='L') or upper triangle, mirrored; of a complex t
    the Hermitian one, whose diagonal is real (LAPACK does not read its imaginary parts)."""
    n, lower = aval_of(t).shape[-1], UPLO == "L"
    if is_complex(t):
        strict = t * _mask(n, t, lower, strict=True)
        return strict + mH(strict) + real_p(t * _eye(n, t))
    return t * _mask(n, t, lower) + mT(t * _mask(n, t, lower, strict=True))


def _onto_triangle(s_bar, UPLO):
    """The cotangent of t for the cotangent s_bar of from_triangle(t) (its transpose)."""
    n, lower = aval_of(s_bar).shape[-1], UPLO == "L"
    if is_complex(s_bar):
        return (s_bar + mH(s_bar)) * _mask(n, s_bar, lower, strict=True) + real_p(s_bar * _eye(n, s_bar))
    return s_bar * _mask(n, s_bar, lower) + mT(s_bar) * _mask(n, s_bar, lower, strict=True)


def _eigh_jvp(primals, tangents, UPLO):
    """dw = diag(V^H dS V), dV = V (F ∘ V^H dS V), F_ij = 1/(w_j - w_i)."""
    (x,), (t,) = primals, tangents
    w, v = eigh_p(x, UPLO=UPLO)
    ds_v = matmul_p(from_triangle(t, UPLO), v)
    rotation = inverse_gaps(w, aval_of(w).shape[-1]) * matmul_p(mH(v), ds_v)
    return [w, v], [fit_dtype(column_sums(conj(v) * ds_v), aval_of(w)), matmul_p(v, rotation)]


def _eigh_vjp(g, x, *, out, needed=None, UPLO):
    """S_bar = conj(V) (diag(w_bar) + F ∘ V^T V_bar) V^T, the transpose of the JVP."""
    (w, v), (w_bar, v_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    inner = None if w_bar is None else conj(v) * row(w_bar)
    if v_bar is not None:
        inner = add_any(inner, matmul_p(conj(v), inverse_gaps(w, aval_of(w).shape[-1]) * matmul_p(mT(v), v_bar)))
    return (None if inner is None else _onto_triangle(matmul_p(inner, mT(v)), UPLO),)


def _eigvalsh_jvp(primals, tangents, UPLO):
    (x,), (t,) = primals, tangents
    w, v = eigh_p(x, UPLO=UPLO)
    ds_v = matmul_p(from_triangle(t, UPLO), v)
    return w, fit_dtype(column_sums(conj(v) * ds_v), aval_of(w))


def _eigvalsh_x_bar(g, ans, x, UPLO):
    _, v = eigh_p(x, UPLO=UPLO)
    return _onto_triangle(matmul_p(conj(v) * row(g), mT(v)), UPLO)


# ---- eig: dw = diag(E), dV = V (F ∘ E) kept at unit norm, E = V^-1 dA V ------------------------------------
def _eig_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    w, v = eig_p(x)
    e = solve_p(v, matmul_p(t, v))
    dv = matmul_p(v, inverse_gaps(w, aval_of(w).shape[-1]) * e)
    dv = dv - v * row(real_p(column_sums(conj_p(v) * dv)))  # (Re v^H dv = 0: unit norms kept)
    return [w, v], [column_sums(e * _eye(aval_of(e).shape[-1], e)), dv]


def _eig_vjp(g, x, *, out, needed=None):
    """A_bar = V^-T (diag(w_bar) + F ∘ V^T V_bar') V^T, V_bar' = V_bar less conj(V) Re(diag(V^T V_bar)) (the
    transpose of keeping unit norms)."""
    (w, v), (w_bar, v_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    inner = None if w_bar is None else _eye(aval_of(w).shape[-1], w) * row(w_bar)
    if v_bar is not None:
        v_bar = v_bar - conj_p(v) * row(real_p(column_sums(v * v_bar)))
        inner = add_any(inner, inverse_gaps(w, aval_of(w).shape[-1]) * matmul_p(mT(v), v_bar))
    return (None if inner is None else fit_dtype(solve_p(mT(v), matmul_p(inner, mT(v))), aval_of(x)),)


# ---- pinv: Golub & Pereyra (1973), X = A^+ ------------------------------------------------------------
def _pinv_jvp(t, ans, x, rcond):
    """dX = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X."""
    th = mH(t)
    first = -matmul_p(matmul_p(ans, t), ans)
    second = matmul_p(matmul_p(ans, mH(ans)), th - matmul_p(matmul_p(th, x), ans))
    third = matmul_p(th - matmul_p(ans, matmul_p(x, th)), matmul_p(mH(ans), ans))
    return first + second + third


def _pinv_x_bar(g, ans, x, rcond):
    """A_bar = -X^T G X^T + (I - conj(A X)) G^H conj(X) X^T + X^T conj(X) G^H (I - conj(X A)), the JVP's
    transpose."""
    xt, gh, x_conj, a_conj = mT(ans), mH(g), conj(ans), conj(x)
    first = -matmul_p(matmul_p(xt, g), xt)
    second = matmul_p(gh - matmul_p(a_conj, matmul_p(x_conj, gh)), matmul_p(x_conj, xt))
    third = matmul_p(matmul_p(xt, x_conj), gh - matmul_p(matmul_p(gh, x_conj), a_conj))
    return first + second + third


eigh_p.jvp, eigh_p.vjp = _eigh_jvp, _eigh_vjp
eigvalsh_p.jvp = _eigvalsh_jvp
defvjp(eigvalsh_p, _eigvalsh_x_bar, reads="x")
eig_p.jvp, eig_p.vjp = _eig_jvp, _eig_vjp
defjvp(pinv_p, _pinv_jvp)
defvjp(pinv_p, _pinv_x_bar, reads="x ans")
for _prim in (eigh_p, eigvalsh_p, eig_p, pinv_p):
    _prim.batch = _unary_batch(_prim)  # (the batch axis is one more leading axis)
