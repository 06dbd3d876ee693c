"""Spectral decompositions of stacks of matrices: `eigh`, `eigvalsh`, `eig`, `svd`, `svdvals`, `qr`, and `pinv`
(a row of its own: its rule needs no singular vectors, so repeated singular values cost it no accuracy).

Rules: eigh after Giles (2008); svd after Townsend (2016), complement terms of non-square and full_matrices
included; qr after Walter & Lehmann (2018), as JAX and PyTorch; eig as JAX (unit-norm vectors); pinv after
Golub & Pereyra (1973), for a constant rank; eigvalsh and svdvals: v_i^T dA v_i, defined everywhere. At repeated
eigenvalues (singular values) the vectors have no derivative: the 1/(λ_j - λ_i) of pairs closer than n·eps·max|λ|
are set to 0 (Kasim, arXiv:2011.04366): finite values, and the exact first derivative of functions of whole
repeated eigenspaces (their projectors; not of V f(Λ) V^T, whose part inside such a space is lost); 1/s of s below
max(m, n)·eps·max(s) is 0 likewise. The extra columns of svd(full_matrices=True) and qr(mode='complete') (any
basis of a complement) move without rotating among themselves. eigh's derivative is that of the symmetric matrix
built from the triangle it reads (UPLO). eig gives real eigenvalues only.
"""

from __future__ import annotations

import sys

import numpy as np

from ..avals import ShapedArray, aval_of
from ..core.faces import FULL, Faces, Facts
from ..core.primitive import Primitive
from ..errors import ShapeError, UnsupportedError
from .elementwise import abs_p, where_p
from .indexing import Index, Slice, getitem_p
from .linalg import matmul_p
from .linalg_solve import _eye, _mask, _unary_batch, mT, solve_p, solve_triangular_p
from .reduction import reduce_max_p, reduce_sum_p
from .rules import add_any, defjvp, defvjp, zeros
from .shape import concatenate_p, expand_dims_p

NEW = Facts(new_array=True, precision=FULL)  # (every row here: a new array, float32 under mixed precision)


# ---- shape rules -------------------------------------------------------------------------------------
def _matrix(op: str, x, square: bool = False) -> tuple:
    """(batch, m, n) of x, a matrix or a stack of them; else a ShapeError naming op."""
    if x.ndim < 2 or square and x.shape[-1] != x.shape[-2]:
        kind = "square matrix or a stack of them (..., n, n)" if square else "matrix or a stack of them (..., m, n)"
        raise ShapeError(op, f"expected a {kind}, got shape {x.shape}",
                         fix="pass an array whose last two axes are the rows and columns of its matrices")
    return x.shape[:-2], x.shape[-2], x.shape[-1]


def _eigen_shapes(op: str):
    def rule(x, **_):
        batch, n, _ = _matrix(op, x, square=True)
        return batch + (n,), batch + (n, n)

    return rule


def _svd_shapes(x, full_matrices):
    batch, m, n = _matrix("svd", x)
    k = min(m, n)
    return batch + (m, m if full_matrices else k), batch + (k,), batch + (n if full_matrices else k, n)


def _pinv_shape(x, rcond):
    batch, m, n = _matrix("pinv", x)
    return batch + (n, m)


def _pinv_dtype(x, rcond):
    """NumPy's: floating as svd makes it, but an empty matrix keeps its dtype (an integer one too)."""
    return x.dtype if x.shape[-1] * x.shape[-2] == 0 or x.dtype.kind == "f" else np.dtype(np.float64)


def _qr_shapes(x, mode):
    batch, m, n = _matrix("qr", x)
    k = m if mode == "complete" else min(m, n)
    return batch + (m, k), batch + (k, n)


# ---- eig's evaluation: real eigenvalues only ------------------------------------------------------------
def _eig_helper(xp):
    """eig of real matrices with real eigenvalues, on xp. NumPy returns real arrays then; CuPy returns complex
    ones, whose vectors are made real by their phase (v / sqrt(sum v^2), a sign at most)."""

    def eig_real(x):
        w, v = xp.linalg.eig(x)
        if xp.iscomplexobj(w):
            if bool(xp.any(xp.imag(w))):
                raise UnsupportedError(
                    "eig of a real matrix with complex eigenvalues", reason="is not supported by dualtape (it "
                    "has no complex derivatives)", fix="use eigh for a symmetric matrix, or call numpy.linalg.eig "
                    "outside the traced function")
            w, v = xp.real(w), xp.real(v / xp.sqrt(xp.sum(v * v, axis=-2, keepdims=True)))
        return w, v

    return eig_real


def _eig_impl(x):
    """The evaluator eager mode runs: NumPy's eig for NumPy values, CuPy's for CuPy arrays."""
    return (_eig_helper(sys.modules["cupy"]) if type(x).__module__.startswith("cupy") else _EIG_ON_CPU)(x)


_EIG_ON_CPU = _eig_helper(np)


# ---- the rows ----------------------------------------------------------------------------------------
eigh_p = Primitive("eigh", ("x",), "xp.linalg.eigh(x, UPLO=UPLO)", _eigen_shapes("eigh"), multiple_results=True,
                   faces=Faces(torch_node="LinalgEighBackward0"), facts=NEW)
eigvalsh_p = Primitive("eigvalsh", ("x",), "xp.linalg.eigvalsh(x, UPLO=UPLO)",
                       lambda x, UPLO: _eigen_shapes("eigvalsh")(x)[0],
                       faces=Faces(torch_node="LinalgEighBackward0"), facts=NEW)
eig_p = Primitive("eig", ("x",), "eig_real(x)", _eigen_shapes("eig"), multiple_results=True, facts=NEW,
                  impl=_eig_impl, helpers={"eig_real": _eig_helper},
                  faces=Faces(torch_node="LinalgEigBackward0"))
svd_p = Primitive("svd", ("x",), "xp.linalg.svd(x, full_matrices=full_matrices)", _svd_shapes,
                  multiple_results=True, faces=Faces(torch_node="LinalgSvdBackward0"), facts=NEW)
svdvals_p = Primitive("svdvals", ("x",), "xp.linalg.svd(x, compute_uv=False)", lambda x: _svd_shapes(x, False)[1],
                      faces=Faces(torch_node="LinalgSvdBackward0"), facts=NEW)
qr_p = Primitive("qr", ("x",), "xp.linalg.qr(x, mode=mode)", _qr_shapes, multiple_results=True,
                 faces=Faces(torch_node="LinalgQrBackward0"), facts=NEW)
pinv_p = Primitive("pinv", ("x",), "xp.linalg.pinv(x, rcond)", _pinv_shape, dtype_rule=_pinv_dtype,
                   faces=Faces(torch_node="LinalgPinvBackward0"), facts=NEW)


# ---- helpers of the rules ----------------------------------------------------------------------------
def _row(v):
    """v (..., k) as (..., 1, k): multiplying a stack of matrices by it scales their columns."""
    return expand_dims_p(v, axes=(aval_of(v).ndim - 1,))


def _col(v):
    """v (..., k) as (..., k, 1): multiplying by it scales rows."""
    return expand_dims_p(v, axes=(aval_of(v).ndim,))


def _columns(x, start: int, stop: int | None = None, from_end: int = 1):
    """x[..., start:stop] (the rows x[..., start:stop, :] with from_end=2)."""
    whole = (Slice(None, None, None),)
    return getitem_p(x, index=Index(whole * (aval_of(x).ndim - from_end) + (Slice(start, stop, None),)))


def _column_sums(x):
    return reduce_sum_p(x, axes=(aval_of(x).ndim - 2,), keepdims=False)


def _tolerance(values, scale: int):
    """scale·eps·max|values| per stack entry, shaped (..., 1): values closer than this count as equal."""
    a = aval_of(values)
    if a.shape[-1] == 0:
        return 0.0
    return reduce_max_p(abs_p(values), axes=(a.ndim - 1,), keepdims=True) * (float(np.finfo(a.dtype).eps) * scale)


def _inverse_where(keep, x):
    """1 / x where keep, else 0 (no division by the x left out)."""
    return where_p(keep, 1.0 / where_p(keep, x, 1.0), 0.0)


def _inverse_gaps(values, scale: int, squares: bool = False):
    """F[..., i, j] = 1 / (v_j - v_i) (1 / (v_j^2 - v_i^2) with squares): 0 on the diagonal and for pairs
    closer than _tolerance (their derivative is undefined; 0 is exact for basis-invariant functions)."""
    row, col, tol = _row(values), _col(values), _tolerance(values, scale)
    delta = row - col
    apart = abs_p(delta) > (tol if type(tol) is float else _col(tol))
    return _inverse_where(apart, delta * (row + col) if squares else delta)


# ---- eigh and eigvalsh: S = the symmetric matrix read from one triangle ----------------------------------
def from_triangle(t, UPLO):
    """The symmetric matrix eigh reads from t: its lower (UPLO='L') or upper triangle, mirrored."""
    n, lower = aval_of(t).shape[-1], UPLO == "L"
    return t * _mask(n, t, lower) + mT(t * _mask(n, t, lower, strict=True))


def _onto_triangle(s_bar, UPLO):
    """The cotangent of t for the cotangent s_bar of from_triangle(t) (its transpose)."""
    n, lower = aval_of(s_bar).shape[-1], UPLO == "L"
    return s_bar * _mask(n, s_bar, lower) + mT(s_bar) * _mask(n, s_bar, lower, strict=True)


def _eigh_jvp(primals, tangents, UPLO):
    """dw = diag(V^T dS V), dV = V (F ∘ V^T dS V), F_ij = 1/(w_j - w_i)."""
    (x,), (t,) = primals, tangents
    w, v = eigh_p(x, UPLO=UPLO)
    ds_v = matmul_p(from_triangle(t, UPLO), v)
    rotation = _inverse_gaps(w, aval_of(w).shape[-1]) * matmul_p(mT(v), ds_v)
    return [w, v], [_column_sums(v * ds_v), matmul_p(v, rotation)]


def _eigh_vjp(g, x, *, out, needed=None, UPLO):
    """S_bar = V (diag(w_bar) + F ∘ V^T V_bar) V^T."""
    (w, v), (w_bar, v_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    inner = None if w_bar is None else v * _row(w_bar)
    if v_bar is not None:
        inner = add_any(inner, matmul_p(v, _inverse_gaps(w, aval_of(w).shape[-1]) * matmul_p(mT(v), v_bar)))
    return (None if inner is None else _onto_triangle(matmul_p(inner, mT(v)), UPLO),)


def _eigvalsh_jvp(primals, tangents, UPLO):
    (x,), (t,) = primals, tangents
    w, v = eigh_p(x, UPLO=UPLO)
    ds_v = matmul_p(from_triangle(t, UPLO), v)
    return w, _column_sums(v * ds_v)


def _eigvalsh_x_bar(g, ans, x, UPLO):
    _, v = eigh_p(x, UPLO=UPLO)
    return _onto_triangle(matmul_p(v * _row(g), mT(v)), UPLO)


# ---- svd: Townsend (2016), for m >= n; a wide matrix through its transpose ---------------------------------
def _tall_svd_jvp(u, s, v, t):
    """(dU, ds, dV) of A = U S V^T (m >= k = n, V square, U with k or m columns) along t."""
    m, c = aval_of(u).shape[-2:]
    k = aval_of(s).shape[-1]
    uk = _columns(u, 0, k) if c > k else u
    t_v = matmul_p(t, v)
    p = matmul_p(mT(uk), t_v)
    f = _inverse_gaps(s, max(m, k), squares=True)
    p_s, s_p = p * _row(s), _col(s) * p
    du = matmul_p(uk, f * (p_s + mT(p_s)))
    dv = matmul_p(v, f * (s_p + mT(s_p)))
    ds = _column_sums(uk * t_v)
    if m > k:
        outside = (t_v - matmul_p(uk, p)) * _row(_inverse_where(s > _tolerance(s, m), s))  # (I - U U^T) dA V S^-1
        du = du + outside
        if c > k:  # the complement's columns, not rotated among themselves
            du = concatenate_p(du, -matmul_p(uk, matmul_p(mT(outside), _columns(u, k))), axis=aval_of(du).ndim - 1)
    return du, ds, dv


def _tall_svd_bar(u, s, v, u_bar, s_bar, v_bar):
    """A_bar = (U (diag(s_bar) + J) + C S^-1) V^T: J from the antisymmetric parts of U^T U_bar and V^T V_bar,
    C from U_bar's part outside U's columns (and, for full U, from the complement's cotangent)."""
    m, c = aval_of(u).shape[-2:]
    k = aval_of(s).shape[-1]
    uk = _columns(u, 0, k) if c > k else u
    f = _inverse_gaps(s, max(m, k), squares=True)
    inner = None if s_bar is None else _eye(k, s) * _row(s_bar)
    outside = None
    if u_bar is not None:
        uk_bar = _columns(u_bar, 0, k) if c > k else u_bar
        a = matmul_p(mT(uk), uk_bar)
        inner = add_any(inner, (f * (a - mT(a))) * _row(s))
        if m > k:
            outside = uk_bar - matmul_p(uk, a)
            if c > k:
                outside = outside - matmul_p(_columns(u, k), matmul_p(mT(_columns(u_bar, k)), uk))
            outside = outside * _row(_inverse_where(s > _tolerance(s, m), s))
    if v_bar is not None:
        b = matmul_p(mT(v), v_bar)
        inner = add_any(inner, _col(s) * (f * (b - mT(b))))
    left = add_any(None if inner is None else matmul_p(uk, inner), outside)
    return None if left is None else matmul_p(left, mT(v))


def _svd_jvp(primals, tangents, full_matrices):
    (x,), (t,) = primals, tangents
    u, s, vh = svd_p(x, full_matrices=full_matrices)
    m, n = aval_of(x).shape[-2:]
    if m >= n:
        du, ds, dv = _tall_svd_jvp(u, s, mT(vh), t)
    else:  # A^T = V S U^T
        dv, ds, du = _tall_svd_jvp(mT(vh), s, u, mT(t))
    return [u, s, vh], [du, ds, mT(dv)]


def _svd_vjp(g, x, *, out, needed=None, full_matrices):
    (u, s, vh), (u_bar, s_bar, vh_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    m, n = aval_of(x).shape[-2:]
    if m >= n:
        return (_tall_svd_bar(u, s, mT(vh), u_bar, s_bar, None if vh_bar is None else mT(vh_bar)),)
    return (mT(_tall_svd_bar(mT(vh), s, u, None if vh_bar is None else mT(vh_bar), s_bar, u_bar)),)


def _svdvals_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    u, s, vh = svd_p(x, full_matrices=False)
    return s, _column_sums(u * matmul_p(t, mT(vh)))


def _svdvals_x_bar(g, ans, x):
    u, _, vh = svd_p(x, full_matrices=False)
    return matmul_p(u * _row(g), vh)


# ---- qr: Walter & Lehmann (2018); m >= n on the first n columns, m < n through its square part --------------
def _times_r_inverse(y, r, transposed: bool = False):
    """y R^-1 (y R^-T when transposed), R upper triangular, by one triangular solve."""
    return mT(solve_triangular_p(r, mT(y), trans=0 if transposed else 1, lower=False, unit_diagonal=False))


def _tall_qr_jvp(q, r, t):
    """dQ = Q (Ω - C) + dA R^-1, dR = (C - Ω) R, with C = Q^T dA R^-1 and Ω its antisymmetric lower part."""
    t_r = _times_r_inverse(t, r)
    c = matmul_p(mT(q), t_r)
    lower = c * _mask(aval_of(c).shape[-1], c, strict=True)
    omega = lower - mT(lower)
    return matmul_p(q, omega - c) + t_r, matmul_p(c - omega, r)


def _tall_qr_bar(q, r, q_bar, r_bar):
    """A_bar = (Q_bar + Q N) R^-T, N = M's upper triangle mirrored, M = R_bar R^T - Q^T Q_bar."""
    middle = add_any(None if r_bar is None else matmul_p(r_bar, mT(r)),
                     None if q_bar is None else -matmul_p(mT(q), q_bar))
    k = aval_of(r).shape[-1]
    mirrored = middle * _mask(k, middle, lower=False) + mT(middle) * _mask(k, middle, strict=True)
    return _times_r_inverse(add_any(q_bar, matmul_p(q, mirrored)), r, transposed=True)


def _qr_jvp(primals, tangents, mode):
    (x,), (t,) = primals, tangents
    q, r = qr_p(x, mode=mode)
    m, n = aval_of(x).shape[-2:]
    if m < n:  # A = Q [U | V]: U from the square part, dV = Q^T (dA_V - dQ V)
        dq, du = _tall_qr_jvp(q, _columns(r, 0, m), _columns(t, 0, m))
        dv = matmul_p(mT(q), _columns(t, m) - matmul_p(dq, _columns(r, m)))
        return [q, r], [dq, concatenate_p(du, dv, axis=aval_of(du).ndim - 1)]
    if aval_of(q).shape[-1] == n:
        return [q, r], list(_tall_qr_jvp(q, r, t))
    qn, rest = _columns(q, 0, n), _columns(q, n)  # complete: the complement, not rotated among itself
    dq, dr = _tall_qr_jvp(qn, _columns(r, 0, n, from_end=2), t)
    zero_rows = zeros(ShapedArray(aval_of(r).shape[:-2] + (m - n, n), aval_of(r).dtype))
    dq = concatenate_p(dq, -matmul_p(qn, matmul_p(mT(dq), rest)), axis=aval_of(dq).ndim - 1)
    return [q, r], [dq, concatenate_p(dr, zero_rows, axis=aval_of(dr).ndim - 2)]


def _qr_vjp(g, x, *, out, needed=None, mode):
    (q, r), (q_bar, r_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    m, n = aval_of(x).shape[-2:]
    if m < n:  # (see _qr_jvp: the columns past m take Q V_bar, and Q_bar gains -Q V_bar V^T)
        r_bar = zeros(aval_of(r)) if r_bar is None else r_bar
        v_bar = _columns(r_bar, m)
        q_bar = add_any(q_bar, -matmul_p(q, matmul_p(v_bar, mT(_columns(r, m)))))
        x_bar = _tall_qr_bar(q, _columns(r, 0, m), q_bar, _columns(r_bar, 0, m))
        return (concatenate_p(x_bar, matmul_p(q, v_bar), axis=aval_of(x_bar).ndim - 1),)
    if aval_of(q).shape[-1] == n:
        return (_tall_qr_bar(q, r, q_bar, r_bar),)
    qn, rest = _columns(q, 0, n), _columns(q, n)
    qn_bar = None if q_bar is None else _columns(q_bar, 0, n) - matmul_p(rest, matmul_p(mT(_columns(q_bar, n)), qn))
    r_bar = None if r_bar is None else _columns(r_bar, 0, n, from_end=2)
    return (_tall_qr_bar(qn, _columns(r, 0, n, from_end=2), qn_bar, r_bar),)


# ---- eig (real eigenvalues): dw = diag(E), dV = V (F ∘ E) normalised, E = V^-1 dA V -------------------------
def _eig_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    w, v = eig_p(x)
    e = solve_p(v, matmul_p(t, v))
    dv = matmul_p(v, _inverse_gaps(w, aval_of(w).shape[-1]) * e)
    dv = dv - v * _row(_column_sums(v * dv))  # (unit norm kept)
    return [w, v], [_column_sums(e * _eye(aval_of(e).shape[-1], e)), dv]


def _eig_vjp(g, x, *, out, needed=None):
    """A_bar = V^-T (diag(w_bar) + F ∘ V^T V_bar') V^T, V_bar' = V_bar less its part along each vector."""
    (w, v), (w_bar, v_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    inner = None if w_bar is None else _eye(aval_of(w).shape[-1], w) * _row(w_bar)
    if v_bar is not None:
        v_bar = v_bar - v * _row(_column_sums(v * v_bar))
        inner = add_any(inner, _inverse_gaps(w, aval_of(w).shape[-1]) * matmul_p(mT(v), v_bar))
    return (None if inner is None else solve_p(mT(v), matmul_p(inner, mT(v))),)


# ---- pinv: Golub & Pereyra (1973), X = A^+ ------------------------------------------------------------
def _pinv_jvp(t, ans, x, rcond):
    """dX = -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X."""
    tt = mT(t)
    first = -matmul_p(matmul_p(ans, t), ans)
    second = matmul_p(matmul_p(ans, mT(ans)), tt - matmul_p(matmul_p(tt, x), ans))
    third = matmul_p(tt - matmul_p(ans, matmul_p(x, tt)), matmul_p(mT(ans), ans))
    return first + second + third


def _pinv_x_bar(g, ans, x, rcond):
    """A_bar = -X^T G X^T + (I - A X) G^T X X^T + X^T X G^T (I - X A)."""
    xt, gt = mT(ans), mT(g)
    first = -matmul_p(matmul_p(xt, g), xt)
    second = matmul_p(gt - matmul_p(x, matmul_p(ans, gt)), matmul_p(ans, xt))
    third = matmul_p(matmul_p(xt, ans), gt - matmul_p(matmul_p(gt, ans), x))
    return first + second + third


eigh_p.jvp, eigh_p.vjp = _eigh_jvp, _eigh_vjp
eigvalsh_p.jvp = _eigvalsh_jvp
defvjp(eigvalsh_p, _eigvalsh_x_bar, reads="x")
svd_p.jvp, svd_p.vjp = _svd_jvp, _svd_vjp
svdvals_p.jvp = _svdvals_jvp
defvjp(svdvals_p, _svdvals_x_bar, reads="x")
qr_p.jvp, qr_p.vjp = _qr_jvp, _qr_vjp
eig_p.jvp, eig_p.vjp = _eig_jvp, _eig_vjp
defjvp(pinv_p, _pinv_jvp)
defvjp(pinv_p, _pinv_x_bar, reads="x ans")
for _prim in (eigh_p, eigvalsh_p, eig_p, svd_p, svdvals_p, qr_p, pinv_p):
    _prim.batch = _unary_batch(_prim)  # (the batch axis is one more leading axis)
