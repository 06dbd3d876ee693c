"""Solves and factorisations: `cholesky`, `solve`, `solve_triangular`, `inv`, `det`, `slogdet`.

Each row takes matrices stacked over leading (batch) axes, as NumPy's linalg does. The two solves take b as a
stack of matrices (..., n, k) with a's batch shape: the dnp functions (numpy/linalg_solve.py) broadcast and turn
a vector into a column first, so every row means one thing on NumPy and on CuPy (whose solve does not broadcast).
cholesky and solve_triangular call named helpers (ops/lapack.py): SciPy's LAPACK on the CPU where SciPy is
installed (its own BLAS pool held at one thread, so as not to spin beside NumPy's), CuPy's own on a GPU.

Derivatives: Giles, "Collected matrix derivative results for forward and reverse mode AD" (2008) for solve, inv,
det and slogdet; Murray, "Differentiation of the Cholesky decomposition" (2016) for cholesky, whose rules are for
a symmetric input: the tangent is symmetrised and the cotangent is symmetric, as in JAX, PyTorch and autograd.
det's and slogdet's derivatives solve with the matrix, so at an exactly singular matrix NumPy's solve raises
LinAlgError ("Singular matrix") rather than return the adjugate.

Complex matrices follow JAX's convention (ops/complex_parts.py): solve, solve_triangular, inv and det are
holomorphic, so their rules (plain transposes, no conjugates) serve complex values unchanged; cholesky (A = L L^H,
A Hermitian) and slogdet (a complex sign det/|det|, a real log|det|) are not, and their rules conjugate through
`mH` and `conj`, which are the plain transpose and nothing on real values: real programs gain no complex op.
"""

from __future__ import annotations

import numpy as np

from ..avals import aval_of
from ..core.faces import FULL, Faces, Facts
from ..core.primitive import Primitive
from ..errors import ShapeError
from .complex_parts import conj_p, real_p
from .lapack import cholesky_helper, solve_triangular_helper
from .linalg import eye_like, matmul_p
from .reduction import reduce_sum_p
from .rules import declare_reads, defjvp, defvjp, fit, fit_dtype, helper_evaluator, materialise_batch
from .shape import reshape_p, transpose_p

NEW = Facts(new_array=True, precision=FULL)  # (every row here: a new array, float32 under mixed precision)


# ---- shape rules -------------------------------------------------------------------------------------
def _square(op: str, x) -> int:
    """The side n of x, a square matrix or a stack of them (..., n, n); else a ShapeError naming op."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(op, f"expected a square matrix or a stack of them (..., n, n), got shape {x.shape}",
                         fix="pass a matrix whose last two axes have the same length")
    return x.shape[-1]


def _square_rule(op: str):
    def rule(x, **_):
        _square(op, x)
        return x.shape

    return rule


def _batch_rule(op: str):
    def rule(x, **_):
        _square(op, x)
        return x.shape[:-2]

    return rule


def _solve_rule(op: str):
    def rule(a, b, **_):
        n = _square(op, a)
        if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != n:
            raise ShapeError(op, f"b of shape {b.shape} is not a stack of (n, k) matrices matching a of shape "
                             f"{a.shape}", fix="give b the shape a.shape[:-2] + (n, k)")
        return b.shape

    return rule


# ---- the rows ----------------------------------------------------------------------------------------
cholesky_p = Primitive("cholesky", ("x",), "cholesky(x)", _square_rule("cholesky"),
                       impl=helper_evaluator(cholesky_helper), facts=NEW, helpers={"cholesky": cholesky_helper},
                       faces=Faces(torch_node="LinalgCholeskyExBackward0"))
cholesky_p.non_standard = (
    "a runtime helper: SciPy's LAPACK potrf on the CPU, the module's own linalg.cholesky elsewhere")
solve_p = Primitive("solve", ("a", "b"), "xp.linalg.solve(a, b)", _solve_rule("solve"), facts=NEW,
                    faces=Faces(torch_node="LinalgSolveExBackward0"))
solve_triangular_p = Primitive(
    "solve_triangular", ("a", "b"), "solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)",
    _solve_rule("solve_triangular"), impl=helper_evaluator(solve_triangular_helper), facts=NEW,
    helpers={"solve_triangular": solve_triangular_helper},
    faces=Faces(torch_node="LinalgSolveTriangularBackward0"))
solve_triangular_p.non_standard = (
    "a runtime helper: SciPy's (cupyx.scipy.linalg's on a GPU), else xp.linalg.solve of a masked triangle")
inv_p = Primitive("inv", ("x",), "xp.linalg.inv(x)", _square_rule("inv"), facts=NEW,
                  faces=Faces(torch_node="LinalgInvExBackward0"))
det_p = Primitive("det", ("x",), "xp.linalg.det(x)", _batch_rule("det"), facts=NEW,
                  faces=Faces(torch_node="LinalgDetBackward0"))
# part 0 is the sign (piecewise constant), part 1 log|det|: two rows' worth in one, so that a program using
# only log|det| (the usual case) keeps one factorisation, and eager mode sees one result per primitive
slogdet_p = Primitive("slogdet", ("x",), "xp.linalg.slogdet(x)[part]", _batch_rule("slogdet"), facts=NEW,
                      faces=Faces(torch_node="LinalgSlogdetBackward0"))


# ---- helpers of the rules ----------------------------------------------------------------------------
def mT(x):
    """The matrix transpose of a stack of matrices (the last two axes swapped)."""
    n = aval_of(x).ndim
    return transpose_p(x, perm=tuple(range(n - 2)) + (n - 1, n - 2))


def is_complex(x) -> bool:
    return aval_of(x).dtype.kind == "c"


def conj(x):
    """The complex conjugate of a complex value; a real value itself (no op recorded)."""
    return conj_p(x) if is_complex(x) else x


def mH(x):
    """The conjugate transpose of a stack of matrices: mT of a real one."""
    return mT(conj(x))


def _constant(make, like):
    """make(**kw), an array built where `like` lives: through NumPy's like=, a CuPy value gets a CuPy one."""
    if type(like) is np.ndarray or getattr(like, "_dt_trace", None) is not None or not hasattr(
            like, "__array_function__"):
        return make()
    return make(like=like)


def _eye(n: int, like):
    return eye_like(n, aval_of(like).dtype, like)


def _mask(n: int, like, lower: bool = True, strict: bool = False, diagonal: float = 1.0, below: float = 1.0):
    """The matrix keeping a triangle: `below` off the diagonal, `diagonal` on it (0 when strict), in like's
    dtype (transposed for the upper triangle)."""
    dtype = aval_of(like).dtype

    def make(**kw):
        tri = np.tri(n, k=-1, dtype=dtype, **kw) * dtype.type(below)
        if not strict:
            tri = tri + np.eye(n, dtype=dtype, **kw) * dtype.type(diagonal)
        return tri if lower else tri.T

    return _constant(make, like)


def _trace(x):
    """The traces of a stack of matrices."""
    n = aval_of(x).ndim
    return reduce_sum_p(x * _eye(aval_of(x).shape[-1], x), axes=(n - 2, n - 1), keepdims=False)


def _as_matrices(v, like_batch):
    """v (shape batch) as a stack of 1x1 matrices (batch + (1, 1)), to scale a stack of matrices."""
    return reshape_p(v, shape=tuple(like_batch) + (1, 1))


def _needs(needed, i: int) -> bool:
    return needed is None or bool(needed[i])


# ---- solve: X = A^-1 B -------------------------------------------------------------------------------
def _solve_jvp(primals, tangents):
    """dX = A^-1 (dB - dA X): one solve for both tangents."""
    (a, b), (a_dot, b_dot) = primals, tangents
    x = solve_p(a, b)
    product = None if a_dot is None else matmul_p(a_dot, x)
    rhs = product if b_dot is None else b_dot if product is None else b_dot - product
    if rhs is None:
        return x, None
    x_dot = solve_p(a, rhs)
    return x, fit(x_dot if b_dot is not None else -x_dot, aval_of(x))


def _solve_vjp(g, a, b, *, out, needed=None):
    """B_bar = A^-T G; A_bar = -B_bar X^T."""
    b_bar = solve_p(mT(a), g)
    a_bar = -matmul_p(b_bar, mT(out)) if _needs(needed, 0) else None
    return fit_dtype(a_bar, aval_of(a)), fit_dtype(b_bar, aval_of(b)) if _needs(needed, 1) else None


# ---- solve_triangular: X = op(A)^-1 B, op(A) = A or A^T, A's triangle read -----------------------------
def _read_part(m, lower, unit_diagonal):
    """m with only the entries solve_triangular reads of a matrix kept (its triangle; strict if unit_diagonal)."""
    return m * _mask(aval_of(m).shape[-1], m, lower, strict=unit_diagonal)


def _solve_triangular_jvp(primals, tangents, *, trans, lower, unit_diagonal):
    (a, b), (a_dot, b_dot) = primals, tangents
    params = dict(trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    x = solve_triangular_p(a, b, **params)
    product = None
    if a_dot is not None:
        a_dot = _read_part(a_dot, lower, unit_diagonal)
        product = matmul_p(mT(a_dot) if trans else a_dot, x)
    rhs = product if b_dot is None else b_dot if product is None else b_dot - product
    if rhs is None:
        return x, None
    x_dot = solve_triangular_p(a, rhs, **params)
    return x, fit(x_dot if b_dot is not None else -x_dot, aval_of(x))


def _solve_triangular_vjp(g, a, b, *, out, needed=None, trans, lower, unit_diagonal):
    b_bar = solve_triangular_p(a, g, trans=1 - trans, lower=lower, unit_diagonal=unit_diagonal)
    a_bar = None
    if _needs(needed, 0):
        outer = matmul_p(out, mT(b_bar)) if trans else matmul_p(b_bar, mT(out))
        a_bar = -_read_part(outer, lower, unit_diagonal)
    return fit_dtype(a_bar, aval_of(a)), fit_dtype(b_bar, aval_of(b)) if _needs(needed, 1) else None


def _solve_batch(prim):
    """Both stacks batched: as they are. Only a: b broadcast along the batch. Only b: its batch folded into
    the columns of b, so one factorisation of a serves every example."""

    def rule(values, batched, size, **params):
        (a, b), (a_batched, b_batched) = values, batched
        if a_batched and b_batched:
            return prim(a, b, **params)
        if a_batched:
            return prim(*materialise_batch(values, batched, size), **params)
        shape = aval_of(b).shape  # (size, *batch, n, k)
        r = len(shape) - 1
        columns = transpose_p(b, perm=tuple(range(1, r)) + (0, r))  # (*batch, n, size, k)
        flat = reshape_p(columns, shape=shape[1:-1] + (size * shape[-1],))
        out = reshape_p(prim(a, flat, **params), shape=shape[1:-1] + (size, shape[-1]))
        return transpose_p(out, perm=(r - 1,) + tuple(range(r - 1)) + (r,))

    return rule


# ---- cholesky: A = L L^H, Murray (2016) ----------------------------------------------------------------
def _half_phi(m):
    """Half of Murray's Phi: m's strict lower triangle halved, its diagonal quartered (the 1/2 of a
    symmetrisation folded in, so that it costs no pass of its own)."""
    return m * _mask(aval_of(m).shape[-1], m, diagonal=0.25, below=0.5)


def _cholesky_jvp(primals, tangents):
    """dL = L Phi(L^-1 sym(dA) L^-H), sym(dA) = (dA + dA^H) / 2."""
    (x,), (x_dot,) = primals, tangents
    chol = cholesky_p(x)
    if x_dot is None:
        return chol, None
    twice_sym = x_dot + mH(x_dot)
    left = solve_triangular_p(chol, twice_sym, trans=0, lower=True, unit_diagonal=False)  # L^-1 2sym(dA)
    both = solve_triangular_p(chol, mH(left), trans=0, lower=True, unit_diagonal=False)  # ... L^-H
    return chol, fit(matmul_p(chol, _half_phi(both)), aval_of(chol))


def _cholesky_x_bar(g, ans, x):
    """A_bar = S + S^H, S = L^-T Phi(L^T L_bar) conj(L)^-1: the cotangent of a symmetric (Hermitian) input, the
    transpose of the JVP. (Each solve's right-hand side is a transpose: laid out as LAPACK wants it, so SciPy
    copies less.)"""
    p = _half_phi(matmul_p(mT(ans), g))
    right = solve_triangular_p(ans, mH(p), trans=1, lower=True, unit_diagonal=False)  # L^-T P^H
    s = solve_triangular_p(ans, mH(right), trans=1, lower=True, unit_diagonal=False)  # L^-T P conj(L)^-1
    return s + mH(s)


# ---- det and slogdet: d det = det tr(A^-1 dA), d log|det| = tr(A^-1 dA) ------------------------------------
def _inverse_transpose_times(x, scale):
    """scale A^-T (scale one number per matrix), by one solve with A^T."""
    batch = aval_of(x).shape[:-2]
    return solve_p(mT(x), _eye(aval_of(x).shape[-1], x) * _as_matrices(scale, batch))


def _slogdet_jvp(primals, tangents, *, part):
    """d log|det| = Re tr(A^-1 dA); a complex sign turns by i Im tr(A^-1 dA) (a real one is constant), as JAX."""
    (x,), (x_dot,) = primals, tangents
    out = slogdet_p(x, part=part)
    if x_dot is None or part == 0 and not is_complex(x):
        return out, None
    d_log_det = _trace(solve_p(x, x_dot))
    return out, fit(out * (d_log_det - real_p(d_log_det)) if part == 0 else d_log_det, aval_of(out))


def _slogdet_vjp(g, x, *, out, needed=None, part):
    if not _needs(needed, 0) or part == 0 and not is_complex(x):
        return (None,)
    if part == 0:  # (the transpose of t -> sign (t - Re t))
        g = g * out
        g = g - real_p(g)
    return (fit_dtype(_inverse_transpose_times(x, g), aval_of(x)),)


def _unary_batch(prim):
    """A primitive over the last two axes: the batch axis is one more leading axis."""
    return lambda values, batched, size, **params: prim(values[0], **params)


defjvp(inv_p, lambda t, ans, x: -matmul_p(matmul_p(ans, t), ans))
defvjp(inv_p, lambda g, ans, x: -matmul_p(matmul_p(mT(ans), g), mT(ans)), reads="ans")
defjvp(det_p, lambda t, ans, x: ans * _trace(solve_p(x, t)))
defvjp(det_p, lambda g, ans, x: _inverse_transpose_times(x, g * ans), reads="x ans")
cholesky_p.jvp = _cholesky_jvp
defvjp(cholesky_p, _cholesky_x_bar, reads="ans")
solve_p.jvp, solve_p.vjp = _solve_jvp, _solve_vjp
declare_reads(solve_p, ("a ans", "a"))
solve_triangular_p.jvp, solve_triangular_p.vjp = _solve_triangular_jvp, _solve_triangular_vjp
declare_reads(solve_triangular_p, ("a ans", "a"))
slogdet_p.jvp, slogdet_p.vjp = _slogdet_jvp, _slogdet_vjp
declare_reads(slogdet_p, "x ans")  # (ans: a complex sign's rule reads it)
for _prim in (cholesky_p, inv_p, det_p, slogdet_p):
    _prim.batch = _unary_batch(_prim)
for _prim in (solve_p, solve_triangular_p):
    _prim.batch = _solve_batch(_prim)
