"""The orthogonal (unitary) factorisations of stacks of matrices: `svd`, `svdvals` and `qr`.

Rules: svd after Townsend (2016), complement terms of non-square and full_matrices included; qr after Walter &
Lehmann (2018), as JAX and PyTorch; svdvals: u_i^H dA v_i, defined everywhere. At repeated singular values the
vectors have no derivative: the 1/(s_j^2 - s_i^2) of pairs closer than max(m, n)·eps·max(s) are set to 0, and 1/s
of s below it is 0 likewise (see ops/linalg_spectral.py). The extra columns of svd(full_matrices=True) and
qr(mode='complete') (any basis of a complement) move without rotating among themselves.

Complex matrices (JAX's convention, ops/complex_parts.py): A = U S V^H with real S, and A = Q R with R's diagonal
real (LAPACK's). A pair of singular vectors u_i, v_i shares one arbitrary phase, so only functions that do not
depend on it (u_i v_i^H, |u_i|^2, ...) have derivatives; the rule turns U's phases by Im(u_i^H dA v_i) / s_i and
leaves V's, as JAX does (a wide matrix goes through its conjugate transpose, so there V's turn). qr's factors
are unique: R's diagonal stays real. Rules conjugate through `mH` and `conj`, nothing on real values.
"""

from __future__ import annotations

from ..avals import ShapedArray, aval_of
from ..core.faces import Faces
from ..core.primitive import Primitive
from .complex_parts import real_p
from .linalg import matmul_p
from .linalg_solve import _eye, _mask, _unary_batch, conj, is_complex, mH, mT, solve_triangular_p
from .linalg_spectral import (
    NEW,
    col,
    column_sums,
    columns,
    inverse_gaps,
    inverse_where,
    matrix_shape,
    row,
    tolerance,
)
from .rules import add_any, defvjp, fit_dtype, zeros
from .shape import concatenate_p


# ---- shape rules -------------------------------------------------------------------------------------
def _svd_shapes(x, full_matrices):
    batch, m, n = matrix_shape("svd", x)
    k = min(m, n)
    return batch + (m, m if full_matrices else k), batch + (k,), batch + (n if full_matrices else k, n)


def _qr_shapes(x, mode):
    batch, m, n = matrix_shape("qr", x)
    k = m if mode == "complete" else min(m, n)
    return batch + (m, k), batch + (k, n)


# ---- the rows ----------------------------------------------------------------------------------------
svd_p = Primitive("svd", ("x",), "xp.linalg.svd(x, full_matrices=full_matrices)", _svd_shapes,
                  multiple_results=True, faces=Faces(torch_node="LinalgSvdBackward0"), facts=NEW)
svdvals_p = Primitive("svdvals", ("x",), "xp.linalg.svd(x, compute_uv=False)", lambda x: _svd_shapes(x, False)[1],
                      faces=Faces(torch_node="LinalgSvdBackward0"), facts=NEW)
svdvals_p.non_standard = (
    'xp.linalg.svd(x, compute_uv=False): CuPy 14 has no linalg.svdvals')
qr_p = Primitive("qr", ("x",), "xp.linalg.qr(x, mode=mode)", _qr_shapes, multiple_results=True,
                 faces=Faces(torch_node="LinalgQrBackward0"), facts=NEW)


# ---- svd: Townsend (2016), for m >= n; a wide matrix through its conjugate transpose ------------------------
def _inverse_values(s, m: int):
    """1 / s, 0 for s below tolerance."""
    return inverse_where(s > tolerance(s, m), s)


def _tall_svd_jvp(u, s, v, t):
    """(dU, ds, dV) of A = U S V^H (m >= k = n, V square, U with k or m columns) along t."""
    m, c = aval_of(u).shape[-2:]
    k = aval_of(s).shape[-1]
    uk = columns(u, 0, k) if c > k else u
    t_v = matmul_p(t, v)
    p = matmul_p(mH(uk), t_v)
    f = inverse_gaps(s, max(m, k), squares=True)
    p_s, s_p = p * row(s), col(s) * p
    du = matmul_p(uk, f * (p_s + mH(p_s)))
    dv = matmul_p(v, f * (s_p + mH(s_p)))
    diagonal = column_sums(conj(uk) * t_v)  # diag(P)
    if is_complex(diagonal):  # (the phases: i Im(P_ii) / s_i turns u_i)
        du = du + uk * row((diagonal - real_p(diagonal)) * _inverse_values(s, m))
    if m > k:
        outside = (t_v - matmul_p(uk, p)) * row(_inverse_values(s, m))  # (I - U U^H) dA V S^-1
        du = du + outside
        if c > k:  # the complement's columns, not rotated among themselves
            du = concatenate_p(du, -matmul_p(uk, matmul_p(mH(outside), columns(u, k))), axis=aval_of(du).ndim - 1)
    return du, fit_dtype(diagonal, aval_of(s)), dv


def _tall_svd_bar(u, s, v, u_bar, s_bar, v_bar):
    """A_bar = (conj(U) (diag(s_bar) + J) + C S^-1) V^T, the JVP's transpose: J from the antihermitian parts of
    U^T U_bar and V^T V_bar (and, complex, U's phases), C from U_bar's part outside U's columns (and, for full U,
    from the complement's cotangent)."""
    m, c = aval_of(u).shape[-2:]
    k = aval_of(s).shape[-1]
    uk = columns(u, 0, k) if c > k else u
    f = inverse_gaps(s, max(m, k), squares=True)
    inner = None if s_bar is None else _eye(k, s) * row(s_bar)
    outside = None
    if u_bar is not None:
        uk_bar = columns(u_bar, 0, k) if c > k else u_bar
        a = matmul_p(mT(uk), uk_bar)
        inner = add_any(inner, (f * (a - mH(a))) * row(s))
        if is_complex(a):  # (the phases' transpose)
            turns = column_sums(uk * uk_bar)
            inner = inner + _eye(k, a) * row((turns - real_p(turns)) * _inverse_values(s, m))
        if m > k:
            outside = uk_bar - matmul_p(conj(uk), a)
            if c > k:
                outside = outside - conj(matmul_p(columns(u, k), matmul_p(mT(columns(u_bar, k)), uk)))
            outside = outside * row(_inverse_values(s, m))
    if v_bar is not None:
        b = matmul_p(mT(v), v_bar)
        inner = add_any(inner, col(s) * (f * (b - mH(b))))
    left = add_any(None if inner is None else matmul_p(conj(uk), inner), outside)
    return None if left is None else matmul_p(left, mT(v))


def _svd_jvp(primals, tangents, full_matrices):
    (x,), (t,) = primals, tangents
    u, s, vh = svd_p(x, full_matrices=full_matrices)
    m, n = aval_of(x).shape[-2:]
    if m >= n:
        du, ds, dv = _tall_svd_jvp(u, s, mH(vh), t)
    else:  # A^H = V S U^H
        dv, ds, du = _tall_svd_jvp(mH(vh), s, u, mH(t))
    return [u, s, vh], [du, ds, mH(dv)]


def _svd_vjp(g, x, *, out, needed=None, full_matrices):
    (u, s, vh), (u_bar, s_bar, vh_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    m, n = aval_of(x).shape[-2:]
    if m >= n:
        return (_tall_svd_bar(u, s, mH(vh), u_bar, s_bar, None if vh_bar is None else mH(vh_bar)),)
    return (mH(_tall_svd_bar(mH(vh), s, u, None if vh_bar is None else mH(vh_bar), s_bar, u_bar)),)


def _svdvals_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    u, s, vh = svd_p(x, full_matrices=False)
    return s, fit_dtype(column_sums(conj(u) * matmul_p(t, mH(vh))), aval_of(s))


def _svdvals_x_bar(g, ans, x):
    u, _, vh = svd_p(x, full_matrices=False)
    return conj(matmul_p(u * row(g), vh))


# ---- qr: Walter & Lehmann (2018); m >= n on the first n columns, m < n through its square part --------------
def _times_r_inverse(y, r, transposed: bool = False):
    """y R^-1 (y R^-T when transposed), R upper triangular, by one triangular solve."""
    return mT(solve_triangular_p(r, mT(y), trans=0 if transposed else 1, lower=False, unit_diagonal=False))


def _tall_qr_jvp(q, r, t):
    """dQ = Q (Ω - C) + dA R^-1, dR = (C - Ω) R, with C = Q^H dA R^-1 and Ω its antihermitian lower part (plus,
    complex, i Im diag(C): R's diagonal stays real)."""
    t_r = _times_r_inverse(t, r)
    c = matmul_p(mH(q), t_r)
    k = aval_of(c).shape[-1]
    lower = c * _mask(k, c, strict=True)
    omega = lower - mH(lower)
    if is_complex(c):
        omega = omega + (c - real_p(c)) * _eye(k, c)
    return matmul_p(q, omega - c) + t_r, matmul_p(c - omega, r)


def _tall_qr_bar(q, r, q_bar, r_bar):
    """A_bar = (Q_bar + conj(Q) N) R^-T, N = M's upper triangle mirrored (conjugated; its diagonal's real part),
    M = R_bar R^T - Q^T Q_bar: the JVP's transpose."""
    middle = add_any(None if r_bar is None else matmul_p(r_bar, mT(r)),
                     None if q_bar is None else -matmul_p(mT(q), q_bar))
    k = aval_of(r).shape[-1]
    mirrored = middle * _mask(k, middle, lower=False) + mH(middle) * _mask(k, middle, strict=True)
    if is_complex(middle):
        mirrored = mirrored - (middle - real_p(middle)) * _eye(k, middle)
    return _times_r_inverse(add_any(q_bar, matmul_p(conj(q), mirrored)), r, transposed=True)


def _qr_jvp(primals, tangents, mode):
    (x,), (t,) = primals, tangents
    q, r = qr_p(x, mode=mode)
    m, n = aval_of(x).shape[-2:]
    if m < n:  # A = Q [U | V]: U from the square part, dV = Q^H (dA_V - dQ V)
        dq, du = _tall_qr_jvp(q, columns(r, 0, m), columns(t, 0, m))
        dv = matmul_p(mH(q), columns(t, m) - matmul_p(dq, columns(r, m)))
        return [q, r], [dq, concatenate_p(du, dv, axis=aval_of(du).ndim - 1)]
    if aval_of(q).shape[-1] == n:
        return [q, r], list(_tall_qr_jvp(q, r, t))
    qn, rest = columns(q, 0, n), columns(q, n)  # complete: the complement, not rotated among itself
    dq, dr = _tall_qr_jvp(qn, columns(r, 0, n, from_end=2), t)
    zero_rows = zeros(ShapedArray(aval_of(r).shape[:-2] + (m - n, n), aval_of(r).dtype))
    dq = concatenate_p(dq, -matmul_p(qn, matmul_p(mH(dq), rest)), axis=aval_of(dq).ndim - 1)
    return [q, r], [dq, concatenate_p(dr, zero_rows, axis=aval_of(dr).ndim - 2)]


def _qr_vjp(g, x, *, out, needed=None, mode):
    (q, r), (q_bar, r_bar) = out, g
    if needed is not None and not needed[0]:
        return (None,)
    m, n = aval_of(x).shape[-2:]
    if m < n:  # (see _qr_jvp: the columns past m take conj(Q) V_bar, and Q_bar gains -conj(Q) V_bar V^T)
        r_bar = zeros(aval_of(r)) if r_bar is None else r_bar
        v_bar = columns(r_bar, m)
        q_bar = add_any(q_bar, -matmul_p(conj(q), matmul_p(v_bar, mT(columns(r, m)))))
        x_bar = _tall_qr_bar(q, columns(r, 0, m), q_bar, columns(r_bar, 0, m))
        return (concatenate_p(x_bar, matmul_p(conj(q), v_bar), axis=aval_of(x_bar).ndim - 1),)
    if aval_of(q).shape[-1] == n:
        return (_tall_qr_bar(q, r, q_bar, r_bar),)
    qn, rest = columns(q, 0, n), columns(q, n)
    qn_bar = None if q_bar is None else columns(q_bar, 0, n) - conj(matmul_p(rest, matmul_p(mT(columns(q_bar, n)), qn)))
    r_bar = None if r_bar is None else columns(r_bar, 0, n, from_end=2)
    return (_tall_qr_bar(qn, columns(r, 0, n, from_end=2), qn_bar, r_bar),)


svd_p.jvp, svd_p.vjp = _svd_jvp, _svd_vjp
svdvals_p.jvp = _svdvals_jvp
defvjp(svdvals_p, _svdvals_x_bar, reads="x")
qr_p.jvp, qr_p.vjp = _qr_jvp, _qr_vjp
for _prim in (svd_p, svdvals_p, qr_p):
    _prim.batch = _unary_batch(_prim)  # (the batch axis is one more leading axis)
