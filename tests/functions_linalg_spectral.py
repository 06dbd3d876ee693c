"""dnp.linalg's spectral functions as functions (tests/numpy/test_functions.py runs each entry): the compositions
(eigvals, lstsq, matrix_rank, cond, the spectral matrix norms) and each decomposition seen through results that do
not depend on the signs of its vectors (V f(Λ) V^T, projectors, the complements of full_matrices and
mode='complete' through theirs), each with PyTorch's function as the gradient oracle where it has one. Each
function maps its drawn operand inside to a matrix with well-separated eigenvalues or singular values (the
constructions of tests/cases_spectral.py), so any draw (vmap's resized ones too) is well conditioned."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import dualtape.numpy as dnp
from cases_spectral import NUDGE, _fixed, _orthogonal, numpy_eigvals
from function_case import FnCase
from strategies import UNIT, arrays, shapes

F64 = np.dtype(np.float64)


def _torch():
    import torch

    return torch


def _is_torch(a) -> bool:
    return type(a).__module__.startswith("torch")


def _constant(c, like):
    return _torch().as_tensor(c) if _is_torch(like) else c


def _mT(a):
    return a.mT if _is_torch(a) else np.swapaxes(a, -1, -2)  # (np.swapaxes on a traced value is dnp.swapaxes)


def _mH(a):
    return a.mH if _is_torch(a) else np.conj(np.swapaxes(a, -1, -2))


# ---- well-separated spectra, in any of the three namespaces ---------------------------------------------------
def _symmetric(a):
    """Q diag(1, ..., n) Q^T plus a small symmetric part of a: eigenvalues about 1 apart."""
    n = a.shape[-1]
    q = _orthogonal(n, 0)
    return _constant((q * (1.0 + np.arange(n))) @ q.T, a) + NUDGE * (a + _mT(a)) / 2


def _general(a):
    """U diag(k+1, ..., 2) V^T plus a small part of a: singular values about 1 apart, none near 0."""
    m, n = a.shape[-2:]
    k = min(m, n)
    base = (_orthogonal(m, 1)[:, :k] * (2.0 + np.arange(k)[::-1])) @ _orthogonal(n, 2)[:, :k].T
    return _constant(base, a) + NUDGE * a


def _real(a):
    """Q (diag(1, ..., n) + a / 10) Q^T, Q a fixed generic orthogonal matrix: the eigenvalues stay real (each in
    its own Gershgorin disc) and the matrix is never triangular (whose eigenvalue order LAPACK changes)."""
    n = a.shape[-1]
    q = _constant(np.linalg.qr(_fixed(n, n, 5))[0], a)
    return q @ (_constant(np.diag(1.0 + np.arange(n)), a) + a / 10) @ _mT(q)


def _rotating(a):
    """Q (D + a / 10) Q^T, D = diag(1, ..., n) with pairs of rows coupled by ±1.5: complex-conjugate pairs of
    eigenvalues 1.5 ± 1.4i, 3.5 ± 1.4i (and a real one for odd n), well apart."""
    n = a.shape[-1]
    base = np.diag(1.0 + np.arange(n))
    for i in range(0, n - 1, 2):
        base[i, i + 1], base[i + 1, i] = -1.5, 1.5
    q = _constant(np.linalg.qr(_fixed(n, n, 6))[0], a)
    return q @ (_constant(base, a) + a / 10) @ _mT(q)


def _independent(a):
    m, n = a.shape[-2:]
    return _constant(3 * np.eye(m, n) + 0.5 * _fixed(m, n, 4), a) + NUDGE * a


# ---- the decompositions through sign-free results ---------------------------------------------------------------
def _eigh(a, UPLO, linalg):
    w, v = linalg.eigh(_symmetric(a), UPLO)
    return w, (v * (w * w)[..., None, :]) @ _mT(v), v[..., :1] @ _mT(v[..., :1])


def _power_sums(w):
    """Re sum_i w_i^k for k = 1, 2, 3 (the traces of A^k): eigenvalues whatever their order (LAPACK's can change
    between nearby matrices, and NumPy's eigvals may list them in another order than eig, whose order dnp's
    follow), as real numbers (eigvals are complex arrays in dnp and PyTorch)."""
    return w.sum(-1).real, (w * w).sum(-1).real, (w * w * w).sum(-1).real


def _eig_sums(a, linalg):
    """The real and imaginary parts of sum_i w_i v_i v_i^H and sum_i v_i v_i^H of a real matrix with complex
    eigenvalues: functions of whole eigenpairs, whatever their order and the vectors' phases."""
    w, v = linalg.eig(_rotating(a))
    weighted, projectors = (v * w[..., None, :]) @ _mH(v), v @ _mH(v)
    return weighted.real, weighted.imag, projectors.real, projectors.imag


def _complement(columns, full, like):
    """The projector onto the complement of orthonormal columns: through the extra columns of `full` (dnp, NumPy),
    or as I - C C^T (PyTorch's derivatives ignore the extra columns)."""
    if not _is_torch(like):
        return full[..., columns.shape[-1]:] @ _mT(full[..., columns.shape[-1]:])
    return _constant(np.eye(columns.shape[-2]), like) - columns @ _mT(columns)


def _svd(a, full_matrices, linalg):
    u, s, vh = linalg.svd(_general(a), full_matrices=full_matrices and not _is_torch(a))
    k = s.shape[-1]
    uk, vk = u[..., :k], _mT(vh)[..., :k]
    out = (s, (uk * (s * s)[..., None, :]) @ _mT(vk), uk[..., :1] @ _mT(uk[..., :1]))
    return out + ((_complement(uk, u, a), _complement(vk, _mT(vh), a)) if full_matrices else ())


def _qr(a, mode, linalg):
    q, r = linalg.qr(_independent(a), "reduced" if _is_torch(a) else mode)
    k = min(a.shape[-2:])
    return (q[..., :k], r[..., :k, :]) + ((_complement(q[..., :k], q, a),) if mode == "complete" else ())


def _lstsq(a, b, linalg):
    """x, residuals and s (the rank, an integer, is checked in tests/ops/test_linalg_spectral.py)."""
    x, residuals, _, s = linalg.lstsq(_general(a), b)
    return x, residuals, s


def _lstsq_torch(a, b):
    torch = _torch()
    a = _general(a)
    column = b.ndim == 1
    x = torch.linalg.lstsq(a, b[:, None] if column else b, driver="gelsd").solution
    x = x[..., 0] if column else x
    residuals = ((b - a @ x) ** 2).sum(0).reshape(-1) if a.shape[0] > a.shape[1] else torch.zeros(0, dtype=a.dtype)
    return x, residuals, torch.linalg.svdvals(a)


def _cond_torch(a, p):
    """torch.linalg.cond's maths by hand (its own modifies inv's result in place for 1x1 matrices: no gradient)."""
    torch, a = _torch(), _general(a)
    if p in (None, 2, -2):
        s = torch.linalg.svdvals(a)
        return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    return torch.linalg.matrix_norm(a, p) * torch.linalg.matrix_norm(torch.linalg.inv(a), p)


def _norm_torch(a, ord, axis, keepdims):
    return _torch().linalg.matrix_norm(a, ord, dim=(-2, -1) if axis is None else axis, keepdim=keepdims)


# ---- draws ---------------------------------------------------------------------------------------------------
@st.composite
def matrices(draw, square: bool = False, **kwargs):
    """((a,), kwargs): a stack (up to one batch axis) of m x n matrices, entries in [-1, 1]."""
    batch, m = draw(shapes(max_dims=1, min_side=1, max_side=3)), draw(st.integers(1, 4))
    a = draw(arrays(F64, batch + (m, m if square else draw(st.integers(1, 4))), UNIT))
    return (a,), {k: draw(v) for k, v in kwargs.items()}


@st.composite
def least_squares(draw):
    """((a, b), {}): a (m, n) and b (m,) or (m, k)."""
    m, n = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    b_shape = (m,) if draw(st.booleans()) else (m, draw(st.integers(1, 3)))
    return (draw(arrays(F64, (m, n), UNIT)), draw(arrays(F64, b_shape, UNIT))), {}


@st.composite
def matrix_norms(draw):
    """((a,), {ord, axis, keepdims}): a 2-D or 3-D array and the two axes (in either order) of its matrices, which
    have well-separated singular values (built along the last two axes, then moved to those)."""
    a = _general(draw(arrays(F64, draw(shapes(min_dims=2, max_dims=3, min_side=1, max_side=3)), UNIT)))
    axis = None if a.ndim == 2 and draw(st.booleans()) else tuple(draw(st.permutations(range(a.ndim)))[:2])
    a = a if axis is None else np.moveaxis(a, (-2, -1), axis)
    return (a,), {"ord": draw(st.sampled_from([2, -2, "nuc"])), "axis": axis, "keepdims": draw(st.booleans())}


UPLO = st.sampled_from(["L", "U"])
CONDITION = st.sampled_from([None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])

SECTION: dict[str, FnCase] = {
    "linalg.eigh": FnCase(
        lambda a, UPLO: _eigh(a, UPLO, dnp.linalg), lambda a, UPLO: _eigh(a, UPLO, np.linalg),
        matrices(True, UPLO=UPLO), numpy=lambda a, UPLO: _eigh(a, UPLO, np.linalg),
        torch=lambda a, UPLO: _eigh(a, UPLO, _torch().linalg)),
    "linalg.eigvalsh": FnCase(
        lambda a: dnp.linalg.eigvalsh(_symmetric(a)), lambda a: np.linalg.eigvalsh(_symmetric(a)), matrices(True),
        numpy=lambda a: np.linalg.eigvalsh(_symmetric(a)), torch=lambda a: _torch().linalg.eigvalsh(_symmetric(a))),
    "linalg.eigvals": FnCase(
        lambda a: _power_sums(dnp.linalg.eigvals(_real(a))), lambda a: _power_sums(numpy_eigvals(_real(a))),
        matrices(True), numpy=lambda a: _power_sums(np.linalg.eigvals(_real(a))),
        torch=lambda a: _power_sums(_torch().linalg.eigvals(_real(a)))),
    "linalg.eig (complex eigenvalues)": FnCase(
        lambda a: _eig_sums(a, dnp.linalg), lambda a: _eig_sums(a, np.linalg), matrices(True),
        numpy=lambda a: _eig_sums(a, np.linalg), torch=lambda a: _eig_sums(a, _torch().linalg)),
    "linalg.svd": FnCase(
        lambda a, full_matrices: _svd(a, full_matrices, dnp.linalg),
        lambda a, full_matrices: _svd(a, full_matrices, np.linalg), matrices(full_matrices=st.booleans()),
        numpy=lambda a, full_matrices: _svd(a, full_matrices, np.linalg),
        torch=lambda a, full_matrices: _svd(a, full_matrices, _torch().linalg)),
    "linalg.svd(compute_uv=False, hermitian=True)": FnCase(
        lambda a: dnp.linalg.svd(_symmetric(a) - 2.3, compute_uv=False, hermitian=True),
        lambda a: np.linalg.svd(_symmetric(a) - 2.3, compute_uv=False, hermitian=True), matrices(True),
        numpy=lambda a: np.linalg.svd(_symmetric(a) - 2.3, compute_uv=False, hermitian=True),
        torch=lambda a: _torch().linalg.svdvals(_symmetric(a) - 2.3)),
    "linalg.qr": FnCase(
        lambda a, mode: _qr(a, mode, dnp.linalg), lambda a, mode: _qr(a, mode, np.linalg),
        matrices(mode=st.sampled_from(["reduced", "complete"])), numpy=lambda a, mode: _qr(a, mode, np.linalg),
        torch=lambda a, mode: _qr(a, mode, _torch().linalg)),
    "linalg.pinv": FnCase(
        lambda a: dnp.linalg.pinv(_general(a)), lambda a: np.linalg.pinv(_general(a)), matrices(),
        numpy=lambda a: np.linalg.pinv(_general(a)), torch=lambda a: _torch().linalg.pinv(_general(a))),
    "linalg.lstsq": FnCase(
        lambda a, b: _lstsq(a, b, dnp.linalg), lambda a, b: _lstsq(a, b, np.linalg), least_squares(),
        numpy=lambda a, b: _lstsq(a, b, np.linalg), torch=_lstsq_torch),
    "linalg.matrix_rank": FnCase(
        dnp.linalg.matrix_rank, np.linalg.matrix_rank, matrices(), numpy=np.linalg.matrix_rank, differentiable=False),
    "linalg.cond": FnCase(
        lambda a, p: dnp.linalg.cond(_general(a), p), lambda a, p: np.linalg.cond(_general(a), p),
        matrices(True, p=CONDITION), numpy=lambda a, p: np.linalg.cond(_general(a), p),
        torch=_cond_torch),
    "linalg.norm(ord=2, -2, 'nuc')": FnCase(
        dnp.linalg.norm, np.linalg.norm, matrix_norms(), numpy=np.linalg.norm, torch=_norm_torch),
}
