"""The spectral section of the per-primitive table (merged into tests/primitive_cases.py's CASES): the
decompositions of ops/linalg_spectral.py. Derivative draws are matrices (stacks too) with well-separated
eigenvalues or singular values, built around fixed generic bases (post maps), so finite differences are well
conditioned; each entry's function returns one array in which every vector is made unique: its sign (complex:
phase) fixed by its largest entry (well clear of the next, by construction), the extra columns of full_matrices
and mode='complete' (any basis of a complement) seen through their projector, and eig's eigenpairs (in LAPACK's
order, which can change between nearby matrices) through sums over them. The post maps take real or complex
matrices (tests/transforms/test_complex_linalg.py draws complex ones through them: Hermitian where eigh needs
it). NumPy-agreement draws cover float32, float64, int64, complex64 and complex128, stacks (size 0 included), 0x0
and non-square matrices, and each result of a decomposition."""

from __future__ import annotations

import numpy as np
from hypothesis import note
from hypothesis import strategies as st

import dualtape.numpy as dnp
from case import Case
from cases_linalg import VALUE_DTYPES, hermitian_transpose, values_of
from strategies import UNIT, Domain, dtypes, shapes

ENTRIES = Domain(-3.0, 3.0)  # (for the values: integers -3..3 for int64)
NUDGE = 0.05  # how far a drawn point moves a matrix from its fixed construction (its vectors keep their signs)


# ---- well-separated spectra: post maps over stacks (..., m, n) ---------------------------------------------------
def _fixed(m: int, n: int, seed: int):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (m, n))


def _orthogonal(n: int, seed: int):
    """A fixed orthogonal matrix near the identity (3 I + noise, orthonormalised): each column's largest entry
    is its diagonal one, well clear of the others."""
    q, r = np.linalg.qr(3 * np.eye(n) + _fixed(n, n, seed))
    return q * np.sign(np.diagonal(r))


def symmetric_spread(x):
    """Q diag(1, 2, ..., n) Q^T nudged by x's symmetric (Hermitian) part: eigenvalues about 1 apart."""
    n = x.shape[-1]
    q = _orthogonal(n, 0)
    return (q * (1.0 + np.arange(n))) @ q.T + NUDGE * (x + hermitian_transpose(x)) / 2


def general_spread(x):
    """U diag(k+1, ..., 2) V^T (k = min(m, n)) nudged by x: singular values about 1 apart, none near 0."""
    m, n = x.shape[-2:]
    k = min(m, n)
    return (_orthogonal(m, 1)[:, :k] * (1.0 + np.arange(k)[::-1] + 1)) @ _orthogonal(n, 2)[:, :k].T + NUDGE * x


def real_spread(x):
    """M diag(1, ..., n) M^-1 nudged by x (M = 3 I + noise, not orthogonal): real eigenvalues about 1 apart."""
    n = x.shape[-1]
    m = 3 * np.eye(n) + _fixed(n, n, 3)
    return (m * (1.0 + np.arange(n))) @ np.linalg.inv(m) + NUDGE * x


def independent_columns(x):
    """3 I + noise (m x n), nudged by x: its leading square part well conditioned, so R's diagonal is far from 0.
    A complex x gets complex noise too: LAPACK's complex QR jumps (a sign of R's last diagonal entry) at
    matrices whose last pivot is real."""
    m, n = x.shape[-2:]
    noise = _fixed(m, n, 4) + (1j * _fixed(m, n, 7) if np.iscomplexobj(x) else 0)
    return 3 * np.eye(m, n) + 0.5 * noise + NUDGE * x


# ---- unique forms of the results, in NumPy or dnp (`xp`) -----------------------------------------------------
def numpy_eig(x):
    """NumPy's eig as dnp's gives it: complex arrays always (NumPy from 2.5 returns them; before 2.5, real arrays
    when every eigenvalue is real), complex64 for float32 and complex64 matrices."""
    w, v = np.linalg.eig(x)
    kind = np.result_type(w.dtype, np.complex64)
    return type(np.linalg.eig(np.eye(1)))(w.astype(kind), v.astype(kind))


def numpy_eigvals(x):
    return numpy_eig(x)[0]


def signs_fixed(v, xp):
    """Each column of v times the sign of its largest-magnitude entry (complex: divided by its phase, so that
    entry is real and positive)."""
    largest = xp.take_along_axis(v, xp.argmax(xp.abs(v), axis=-2, keepdims=True), axis=-2)
    if np.iscomplexobj(v):
        return v * (xp.conj(largest) / xp.abs(largest))
    return v * xp.sign(largest)


def _flat(a, xp):
    """The last two axes of a stack of matrices as one."""
    return xp.reshape(a, a.shape[:-2] + (a.shape[-2] * a.shape[-1],))


def _projector(columns, xp):
    return columns @ hermitian_transpose(columns, xp)


def _eigh(x, UPLO, xp):
    w, v = xp.linalg.eigh(x, UPLO)
    return xp.concatenate([w[..., None, :], signs_fixed(v, xp)], axis=-2)


def _eig(x, xp):
    """The real and imaginary parts of sum_i w_i v_i v_i^H and sum_i v_i v_i^H: eig's order can change between
    nearby matrices (LAPACK's, not sorted), so its results are seen through sums over the eigenpairs, which also
    undo the vectors' phases."""
    w, v = (numpy_eig if xp is np else xp.linalg.eig)(x)
    sums = xp.concatenate([_flat((v * w[..., None, :]) @ hermitian_transpose(v, xp), xp),
                           _flat(_projector(v, xp), xp)], axis=-1)
    return xp.concatenate([xp.real(sums), xp.imag(sums)], axis=-1)


def _svd(x, full_matrices, xp):
    """U's and V's first k columns (signs fixed), S, and with full_matrices the complements' projectors."""
    u, s, vh = xp.linalg.svd(x, full_matrices=full_matrices)
    k = s.shape[-1]
    v = xp.swapaxes(vh, -1, -2)
    parts = [_flat(signs_fixed(u[..., :k], xp), xp), s, _flat(signs_fixed(v[..., :k], xp), xp)]
    if full_matrices:
        parts += [_flat(_projector(u[..., k:], xp), xp), _flat(_projector(v[..., k:], xp), xp)]
    return xp.concatenate(parts, axis=-1)


def _qr(x, mode, xp):
    """Q and R as they are (LAPACK's Householder signs are continuous here), Q's complement by its projector."""
    q, r = xp.linalg.qr(x, mode)
    k = min(x.shape[-2:])
    parts = [_flat(q[..., :k], xp), _flat(r, xp)]
    if q.shape[-1] > k:
        parts.append(_flat(_projector(q[..., k:], xp), xp))
    return xp.concatenate(parts, axis=-1)


def _both(fn):
    """(dualtape function, NumPy reference) of fn(*operands, **params, xp=module)."""
    return (lambda *xs, **kw: fn(*xs, **kw, xp=dnp)), (lambda *xs, **kw: fn(*xs, **kw, xp=np))


# ---- derivative layouts ------------------------------------------------------------------------------------
@st.composite
def matrix_layout(draw, square: bool = False, params=None):
    """One stack (up to two batch axes) of m x n matrices, m and n 1..4."""
    batch, m = draw(shapes(max_dims=2, min_side=1, max_side=3)), draw(st.integers(1, 4))
    n = m if square else draw(st.integers(1, 4))
    return (batch + (m, n),), {k: draw(v) for k, v in (params or {}).items()}, None


# ---- NumPy-agreement draws: each result of a decomposition, compared as it is --------------------------------
def values(dt_fn, np_fn, square: bool = False, post=None, params=None, results=None, dtype_choices=VALUE_DTYPES):
    """A stack of matrices of a dtype of VALUE_DTYPES (through post), params drawn, and one of `results`
    (indices into the decomposition's results; None: its one result)."""

    @st.composite
    def case(draw):
        dtype = draw(dtypes(dtype_choices))
        batch, m = draw(shapes(max_dims=2, max_side=3)), draw(st.integers(0, 4))
        n = m if square else draw(st.integers(0, 4))
        x = draw(values_of(dtype, batch + (m, n), ENTRIES))
        x = x if post is None else np.asarray(post(x), dtype)
        kw = {k: draw(v) for k, v in (params or {}).items()}
        i = None if results is None else draw(st.sampled_from(results))
        note(f"{x.dtype}{x.shape} {kw} result {i}")
        pick = (lambda r: r) if i is None else (lambda r: r[i])
        return (lambda x: pick(np_fn(x, **kw))), (lambda x: pick(dt_fn(x, **kw))), (x,)

    return case()


def _triangular(x):
    """The upper triangle: real eigenvalues (its diagonal), exactly, for every dtype."""
    return np.triu(x)


UPLO = {"UPLO": st.sampled_from(["L", "U", "l", "u"])}
VIA_SVD = {"via_svd": st.booleans()}  # (svd(x, compute_uv=False) is svdvals(x))


def _svdvals(linalg):
    return lambda x, via_svd: linalg.svd(x, compute_uv=False) if via_svd else linalg.svdvals(x)


# ---- the section ---------------------------------------------------------------------------------------------
_EIGH_DT, _EIGH_NP = _both(_eigh)
_EIG_DT, _EIG_NP = _both(_eig)
_SVD_DT, _SVD_NP = _both(_svd)
_QR_DT, _QR_NP = _both(_qr)

SPECTRAL: dict[str, Case] = {
    "eigh": Case(_EIGH_DT, _EIGH_NP, matrix_layout(True, {"UPLO": st.sampled_from(["L", "U"])}), (UNIT,),
                 (symmetric_spread,),
                 values=values(dnp.linalg.eigh, np.linalg.eigh, True, params=UPLO, results=(0, 1))),
    "eigvalsh": Case(lambda x, UPLO: dnp.linalg.eigvalsh(x, UPLO), lambda x, UPLO: np.linalg.eigvalsh(x, UPLO),
                     matrix_layout(True, {"UPLO": st.sampled_from(["L", "U"])}), (UNIT,), (symmetric_spread,),
                     values=values(dnp.linalg.eigvalsh, np.linalg.eigvalsh, True, params=UPLO)),
    "eig": Case(_EIG_DT, _EIG_NP, matrix_layout(True), (UNIT,), (real_spread,),
                values=values(dnp.linalg.eig, numpy_eig, True, _triangular, results=(0, 1))),
    "svd": Case(_SVD_DT, _SVD_NP, matrix_layout(params={"full_matrices": st.booleans()}), (UNIT,), (general_spread,),
                values=values(dnp.linalg.svd, np.linalg.svd, params={"full_matrices": st.booleans()},
                              results=(0, 1, 2))),
    "svdvals": Case(dnp.linalg.svdvals, np.linalg.svdvals, matrix_layout(), (UNIT,), (general_spread,),
                    values=values(_svdvals(dnp.linalg), _svdvals(np.linalg), params=VIA_SVD)),
    "qr": Case(_QR_DT, _QR_NP, matrix_layout(params={"mode": st.sampled_from(["reduced", "complete"])}), (UNIT,),
               (independent_columns,),
               values=values(dnp.linalg.qr, np.linalg.qr, params={"mode": st.sampled_from(["reduced", "complete"])},
                             results=(0, 1))),
    "pinv": Case(dnp.linalg.pinv, np.linalg.pinv, matrix_layout(), (UNIT,), (general_spread,),
                 values=values(dnp.linalg.pinv, np.linalg.pinv,
                               params={"rcond": st.sampled_from([None, 1e-15, 1e-3, 0.5])})),
}
