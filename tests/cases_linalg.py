"""The linalg section of the per-primitive table (merged into tests/primitive_cases.py's CASES): the solves and
factorisations of ops/linalg_solve.py. Derivative draws are well conditioned (post maps: strictly diagonally
dominant matrices, symmetric (Hermitian) positive-definite ones for cholesky; each takes real or complex
matrices: tests/transforms/test_complex_linalg.py draws complex ones through them); NumPy-agreement draws cover
float32, float64, int64, complex64 and complex128, stacks (size 0 included), 0x0 matrices, vector and broadcast
right-hand sides."""

from __future__ import annotations

import numpy as np
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape.numpy as dnp
from case import Case
from strategies import UNIT, Domain, arrays, dtypes, shapes

F32, F64, I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
C64, C128 = np.dtype(np.complex64), np.dtype(np.complex128)
VALUE_DTYPES = (F32, F64, I64, C64, C128)
ENTRIES = Domain(-3.0, 3.0)  # (for the values: integers -3..3 for int64)
TRANS = (0, 1, 2, "N", "T", "C")


def values_of(dtype, shape, domain):
    """Arrays of dtype inside domain; a complex one's real and imaginary parts each drawn from it."""
    dtype = np.dtype(dtype)
    if dtype.kind != "c":
        return arrays(dtype, shape, domain)
    part = arrays(np.finfo(dtype).dtype, shape, domain)
    return st.tuples(part, part).map(lambda p: (p[0] + 1j * p[1]).astype(dtype))


def hermitian_transpose(x, xp=np):
    return xp.conj(xp.swapaxes(x, -1, -2))


# ---- well-conditioned matrices: post maps over stacks (..., n, n) ---------------------------------------------
def _eye(x):
    return np.eye(x.shape[-1], dtype=x.dtype)


def dominant(x):
    """Entries in [-m, m] plus (m n + 1) on the diagonal: strictly diagonally dominant, so every triangle too."""
    n, m = x.shape[-1], np.max(np.abs(x), initial=1)
    return x + (m * n + 1) * _eye(x)


def signed_dominant(x):
    """As dominant, the diagonal's sign taken from each matrix's first entry: determinants of either sign."""
    sign = np.where(np.real(x[..., :1, :1]) < 0, -1, 1).astype(x.dtype)
    n, m = x.shape[-1], np.max(np.abs(x), initial=1)
    return x + sign * (m * n + 1) * _eye(x)


def spd(x):
    """x x^H + n I: symmetric (Hermitian) positive-definite, eigenvalues at least n."""
    return x @ hermitian_transpose(x) + x.shape[-1] * _eye(x)


def sym(a, xp=np):
    """The symmetric (Hermitian) part of a."""
    return (a + hermitian_transpose(a, xp)) * 0.5


# ---- references --------------------------------------------------------------------------------------------
def solve_triangular_np(a, b, trans=0, lower=False, unit_diagonal=False):
    """SciPy's solve_triangular by NumPy alone: the triangle read, then numpy.linalg.solve (NumPy 2's rules)."""
    n = a.shape[-1]
    keep = np.tri(n, k=-1 if unit_diagonal else 0, dtype=bool)
    triangle = np.where(keep if lower else keep.T, a, 0)
    if unit_diagonal:
        triangle = triangle + np.eye(n, dtype=triangle.dtype)
    if trans in (2, "C"):
        triangle = np.conj(triangle)
    return np.linalg.solve(np.swapaxes(triangle, -1, -2) if trans in (1, 2, "T", "C") else triangle, b)


def _slogdet_np(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return sign * logabsdet


def _slogdet_dt(a):
    sign, logabsdet = dnp.linalg.slogdet(a)
    return sign * logabsdet


def _cholesky_dt(a, upper):  # (symmetrised: finite differences then move a symmetric input symmetrically)
    return dnp.linalg.cholesky(sym(a, dnp), upper=upper)


def _cholesky_np(a, upper):
    return np.linalg.cholesky(sym(a), upper=upper)


def _solve_triangular_dt(a, b, trans, lower, unit_diagonal):
    return dnp.linalg.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


# ---- derivative layouts ------------------------------------------------------------------------------------
def _params(draw, params):
    return {k: draw(v) for k, v in (params or {}).items()}


@st.composite
def square_layout(draw, params=None):
    """One stack of n x n matrices (n 1..4, up to two batch axes)."""
    batch, n = draw(shapes(max_dims=2, min_side=1, max_side=3)), draw(st.integers(1, 4))
    return (batch + (n, n),), _params(draw, params), None


@st.composite
def solve_layout(draw, params=None):
    """a (..., n, n) and b: a vector (n,) or a stack (..., n, k) whose batch broadcasts with a's."""
    a_batch, b_batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=1,
                                                               max_side=3)).input_shapes
    n = draw(st.integers(1, 4))
    b_shape = (n,) if draw(st.booleans()) else b_batch + (n, draw(st.integers(1, 3)))
    return (a_batch + (n, n), b_shape), _params(draw, params), None


TRIANGULAR = {"trans": st.sampled_from(TRANS), "lower": st.booleans(), "unit_diagonal": st.booleans()}


# ---- NumPy-agreement draws ---------------------------------------------------------------------------------
def _matrices(draw, dtype, post, min_n=0, batch=None):
    batch = draw(shapes(max_dims=2, max_side=3)) if batch is None else batch
    n = draw(st.integers(min_n, 4))
    x = draw(values_of(dtype, batch + (n, n), ENTRIES))
    return x if post is None else np.asarray(post(x), dtype)


def square_values(dt_fn, np_fn, post, params=None):
    """One stack of square matrices of any dtype of VALUE_DTYPES, through post (None: as drawn)."""

    @st.composite
    def case(draw):
        x = _matrices(draw, draw(dtypes(VALUE_DTYPES)), post)
        kw = _params(draw, params)
        note(f"{x.dtype}{x.shape} {kw}")
        return (lambda x: np_fn(x, **kw)), (lambda x: dt_fn(x, **kw)), (x,)

    return case()


def solve_values(dt_fn, np_fn, params=None):
    """a (dominant) and b of independently drawn dtypes: b a vector or a stack broadcasting with a's batch."""

    @st.composite
    def case(draw):
        a_batch, b_batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
        a = _matrices(draw, draw(dtypes(VALUE_DTYPES)), dominant, batch=a_batch)
        n = a.shape[-1]
        b_shape = (n,) if draw(st.booleans()) else b_batch + (n, draw(st.integers(0, 3)))
        b = draw(values_of(draw(dtypes(VALUE_DTYPES)), b_shape, ENTRIES))
        kw = _params(draw, params)
        note(f"a {a.dtype}{a.shape}, b {b.dtype}{b.shape} {kw}")
        return (lambda a, b: np_fn(a, b, **kw)), (lambda a, b: dt_fn(a, b, **kw)), (a, b)

    return case()


# ---- the section ---------------------------------------------------------------------------------------------
LINALG: dict[str, Case] = {
    "cholesky": Case(_cholesky_dt, _cholesky_np, square_layout({"upper": st.booleans()}), (UNIT,), (spd,),
                     values=square_values(_cholesky_dt, _cholesky_np, spd, {"upper": st.booleans()})),
    "solve": Case(dnp.linalg.solve, np.linalg.solve, solve_layout(), (UNIT,), (dominant, None),
                  values=solve_values(dnp.linalg.solve, np.linalg.solve)),
    "solve_triangular": Case(_solve_triangular_dt, solve_triangular_np, solve_layout(TRIANGULAR), (UNIT,),
                             (dominant, None),
                             values=solve_values(_solve_triangular_dt, solve_triangular_np, TRIANGULAR)),
    "inv": Case(dnp.linalg.inv, np.linalg.inv, square_layout(), (UNIT,), (dominant,),
                values=square_values(dnp.linalg.inv, np.linalg.inv, dominant)),
    "det": Case(dnp.linalg.det, np.linalg.det, square_layout(), (UNIT,), (signed_dominant,),
                values=square_values(dnp.linalg.det, np.linalg.det, None)),
    "slogdet": Case(_slogdet_dt, _slogdet_np, square_layout(), (UNIT,), (signed_dominant,),
                    values=square_values(_slogdet_dt, _slogdet_np, None)),
}
