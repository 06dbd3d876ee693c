"""dt.linalg: torch.linalg's functions, with PyTorch's names, arguments and result types, on eager tensors (and
on arrays and traced values), each a call of dnp.linalg's (one registry row or composition).

Where torch's conventions differ from NumPy's they are torch's here: solve's rule for a batch of vectors,
eigh's symmetric (Hermitian) gradient, pinv's and matrix_rank's atol/rtol, lstsq's four results per driver, eig's
and eigvals' complex results for every matrix. Each takes real or complex matrices; eager tensors see PyTorch's
complex gradients (the conjugates of the functional API's)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._util import user_source_line
from ..core.primitive import trace_of
from ..errors import UnsupportedError
from ..numpy import contractions as _con
from ..numpy import diagonals as _diag
from ..numpy import elementwise as _ew
from ..numpy import linalg as _la
from ..numpy import reductions as _red
from ..numpy import shapes as _sh
from ..numpy._base import arr, bind, dtype, ndim, shape, shape_error
from ..numpy.complex_parts import conjugate as _conj
from ..numpy.unsupported import unsupported
from ..ops import linalg_spectral as _sp
from ..ops.elementwise import stop_gradient_p
from .composite import one_node
from .factories import zeros_like
from .tensor import Tensor

linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
linalg_eig = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])
linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"])
linalg_qr = namedtuple("linalg_qr", ["Q", "R"])
linalg_lstsq = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])

matmul, det, inv, multi_dot, svdvals = _con.matmul, _la.det, _la.inv, _con.multi_dot, _la.svdvals

__all__ = ["cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
           "matmul", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet",
           "solve", "solve_triangular", "svd", "svdvals", "vecdot", "vector_norm"]


def _mT(x):
    return _sh.swapaxes(x, -1, -2)


def _stop(x):
    return bind(stop_gradient_p, x)


def _empty(like):
    """An empty 1-D value of like's kind (tensor, array or traced), dtype and device, with no gradient: torch's
    empty results (qr's Q for mode='r', lstsq's unused fields)."""
    return _stop(_sh.getitem(_sh.reshape(like, (-1,)), slice(0, 0)))


def _matrices(op: str, A, square: bool = False):
    A = arr(A)
    if ndim(A) < 2 or square and shape(A)[-1] != shape(A)[-2]:
        kind = "square matrices (*, n, n)" if square else "matrices (*, m, n)"
        raise shape_error(f"linalg.{op}", f"A must be a matrix or a batch of {kind}, got shape {shape(A)}",
                          fix="pass a tensor whose last two dimensions are the matrix's rows and columns")
    return A


# ---- solves, inverses, determinants ------------------------------------------------------------------------
def cholesky(A, *, upper=False):
    """L with A = L L^T (U = L^T with A = U^T U when upper), read from A's lower (upper) triangle; the gradient
    is symmetric, as torch's."""
    return _la.cholesky(_matrices("cholesky", A, square=True), upper=upper)


def solve(A, B, *, left=True):
    """X with A X = B (X A = B when left=False). B is a vector, or a batch of them, when B.ndim == 1 or when
    B.shape == A.shape[:-1] (torch's rule); otherwise a (batch of) (n, k) matrices. Batch dims broadcast."""
    A, B = _matrices("solve", A, square=True), arr(B)
    vector = ndim(B) == 1 or ndim(B) == ndim(A) - 1 and shape(B) == shape(A)[:-1]
    if not left:
        if vector:  # (torch reads such a B as (..., n, 1), which X A = B cannot fit unless n == 1)
            raise shape_error("linalg.solve", f"with left=False, B of shape {shape(B)} for A of shape {shape(A)} "
                              "is read as a vector, but X A = B needs B of shape (*, k, n)",
                              fix="give B a row dimension, e.g. B.unsqueeze(-2)")
        return one_node("LinalgSolveExBackward0", _solve_right, (A, B))
    if vector:
        return one_node("LinalgSolveExBackward0", _solve_vectors, (A, B))
    return _la.solve(A, B)


def _solve_right(A, B):
    return _mT(_la.solve(_mT(A), _mT(B)))


def _solve_vectors(A, B):
    return _sh.squeeze(_la.solve(A, _sh.expand_dims(B, -1)), -1)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (X A = B when left=False) for triangular A, read from its upper or lower triangle (the
    diagonal taken as ones when unitriangular). B is a (batch of) matrices, as torch requires."""
    A, B = _matrices("solve_triangular", A, square=True), arr(B)
    if ndim(B) < 2:
        raise shape_error("linalg.solve_triangular", f"B must have at least 2 dimensions, got shape {shape(B)}",
                          fix="give a vector B a column dimension: B.unsqueeze(-1)")
    if left:
        return _la.solve_triangular(A, B, lower=not upper, unit_diagonal=unitriangular)
    return one_node("LinalgSolveTriangularBackward0", _solve_triangular_right, (A, B), upper, unitriangular)


def _solve_triangular_right(A, B, upper, unitriangular):
    return _mT(_la.solve_triangular(A, _mT(B), trans=1, lower=not upper, unit_diagonal=unitriangular))


def slogdet(A):
    """(sign, logabsdet) of det(A), as torch.return_types.linalg_slogdet."""
    return linalg_slogdet(*_la.slogdet(_matrices("slogdet", A, square=True)))


def matrix_power(A, n):
    """A to the integer power n (n < 0 inverts A; n = 0 gives identities)."""
    A = _matrices("matrix_power", A, square=True)
    out = _la.matrix_power(A, n)
    if isinstance(A, Tensor) and not isinstance(out, Tensor):  # (n = 0: dnp's identities are a constant array)
        out = zeros_like(A) + out
    return out


# ---- spectral ---------------------------------------------------------------------------------------------
def _symmetric(A, UPLO: str, derivative: str):
    """The symmetric (Hermitian) matrix torch reads from A's UPLO triangle, its derivative that of (A + A^H)/2
    (derivative 'sym': eigh's symmetric gradient) or of A itself ('same': pinv's)."""
    if not np.issubdtype(dtype(A), np.inexact):  # (integers decompose in float64, as in dnp)
        A = _ew.astype(A, np.float64)
    S = _sp.from_triangle(A, UPLO)
    if trace_of(A) is None:  # (no derivative to shape)
        return S
    moving = A if derivative == "same" else _ew.multiply(_ew.add(A, _mT(_conj(A))), 0.5)
    return _ew.add(_stop(S), _ew.subtract(moving, _stop(moving)))  # (the value S exactly: m - m is 0)


def _uplo(UPLO) -> str:
    if str(UPLO).upper() not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return str(UPLO).upper()


def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric matrix in A's UPLO triangle, as
    torch.return_types.linalg_eigh; the gradient is torch's, symmetric."""
    A, UPLO = _matrices("eigh", A, square=True), _uplo(UPLO)
    return linalg_eigh(*_la.eigh(_symmetric(A, UPLO, "sym"), UPLO))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of the symmetric matrix in A's UPLO triangle; symmetric gradient as eigh's."""
    A, UPLO = _matrices("eigvalsh", A, square=True), _uplo(UPLO)
    return _la.eigvalsh(_symmetric(A, UPLO, "sym"), UPLO)


def eig(A):
    """(eigenvalues, unit eigenvectors as columns) of a general matrix, complex for every A (complex64 for
    float32), as torch.return_types.linalg_eig. Each vector's phase is arbitrary: a loss must not depend on it
    (torch checks; |v|^2 and v v^H do not)."""
    return linalg_eig(*_la.eig(_matrices("eig", A, square=True)))


def eigvals(A):
    """The eigenvalues of a general matrix, complex for every A, in eig's order."""
    return _la.eigvals(_matrices("eigvals", A, square=True))


def svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending, as torch.return_types.linalg_svd. driver is CUDA's only."""
    if driver is not None:
        raise ValueError("linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with cuSOLVER")
    return linalg_svd(*_la.svd(_matrices("svd", A), full_matrices=bool(full_matrices)))


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, as torch.return_types.linalg_qr: mode 'reduced', 'complete', or 'r' (Q empty)."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                         "(default), 'r', or 'complete'")
    A = _matrices("qr", A)
    if mode == "r":
        return linalg_qr(_empty(A), _la.qr(A, mode="r"))
    return linalg_qr(*_la.qr(A, mode=mode))


def _tolerances(A, atol, rtol):
    """torch's (atol, rtol): atol 0 when not given; rtol eps·max(m, n), or 0 when a positive atol is given."""
    eps = np.finfo(dtype(A) if np.issubdtype(dtype(A), np.inexact) else np.float64).eps
    default = eps * max(shape(A)[-2:])
    if rtol is None:
        rtol = default if atol is None else _ew.where(_ew.greater(atol, 0), 0.0, default)
    return (0.0 if atol is None else atol), rtol


def _concrete(x):
    """x's values as a NumPy array, or None when they are traced (known only when the program runs)."""
    raw = trace_of(x).unwrap(x) if isinstance(x, Tensor) else x
    if trace_of(raw) is not None:
        return None
    return x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(raw)


def _number(op: str, name: str, value) -> float:
    """One cutoff for every matrix: a Python number or a 0-d array or tensor with a known value."""
    concrete = None if value is None else _concrete(value)
    if concrete is None or concrete.size != 1:
        raise UnsupportedError(f"linalg.{op} with {name} an array of cutoffs, or a traced one",
                               where=user_source_line(), fix=f"pass {name} as one number")
    return float(concrete.reshape(()))


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse, cutting singular values <= max(atol, rtol·largest) as torch does. hermitian reads
    A's lower triangle; the gradient is the pseudo-inverse's of that matrix. A nonzero atol needs A's values
    (not traced ones): it becomes one relative cutoff per matrix."""
    A = _matrices("pinv", A, square=hermitian)
    atol = None if atol is None else _number("pinv", "atol", atol)
    atol, rtol = _tolerances(A, atol, None if rtol is None else _number("pinv", "rtol", rtol))
    M = _symmetric(A, "L", "same") if hermitian else A
    if atol <= 0:
        return bind(_sp.pinv_p, M, rcond=float(rtol))
    values = _concrete(M)
    if values is None:
        raise UnsupportedError("linalg.pinv with atol on traced values", where=user_source_line(),
                               fix="pass rtol (a cutoff relative to the largest singular value) instead")
    largest = np.linalg.svd(values, compute_uv=False)[..., 0].reshape(-1)
    rconds = np.maximum(atol / np.where(largest > 0, largest, 1.0), float(rtol))
    if np.all(rconds == rconds[0]):
        return bind(_sp.pinv_p, M, rcond=float(rconds[0]))
    batch, (m, n) = shape(M)[:-2], shape(M)[-2:]
    stack = _sh.reshape(M, (-1, m, n))
    pieces = [bind(_sp.pinv_p, _sh.getitem(stack, i), rcond=float(r)) for i, r in enumerate(rconds)]
    return _sh.reshape(_sh.stack(pieces), batch + (n, m))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values (|eigenvalues| when hermitian) above max(atol, rtol·largest), per matrix,
    as int64; atol and rtol may be numbers or one per matrix of the batch."""
    A = _stop(_matrices("matrix_rank", A))
    s = _ew.abs(_la.eigvalsh(A)) if hermitian else _la.svdvals(A)
    atol, rtol = _tolerances(A, atol, rtol)
    largest = _red.max(s, axis=-1, keepdims=True, initial=0.0)
    tol = _ew.maximum(_sh.expand_dims(arr(atol), -1), _ew.multiply(_sh.expand_dims(arr(rtol), -1), largest))
    return _ew.astype(_red.count_nonzero(_ew.greater(s, tol), axis=-1), np.int64)


def cond(A, p=None):
    """The condition number in norm p (None, 2, -2: extreme singular values; 'fro', 'nuc', 1, -1, inf, -inf:
    norm(A) norm(A^-1), A square)."""
    return _la.cond(_matrices("cond", A, square=p not in (None, 2, -2)), p)


_DRIVERS = (None, "gelsy", "gelsd", "gelss", "gels")


def _lstsq_solution(A, B, rcond):
    return matmul(bind(_sp.pinv_p, A, rcond=rcond), B)


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares (minimum-norm) solution of A X = B through the pseudo-inverse, with the four results of
    torch's CPU driver (default 'gelsy': residuals and singular values empty; 'gelsd', 'gelss': both; 'gels':
    residuals, no rank). B is a (batch of) vector(s) when B.ndim == A.ndim - 1. Residuals, given when m > n and
    every A has full rank (traced values: whatever the rank), are ||A X - B||^2 per column; singular values have
    no gradient, as in torch."""
    if driver not in _DRIVERS:
        raise ValueError(f"linalg.lstsq: parameter `driver` should be one of {_DRIVERS[1:]}, got {driver!r}")
    A, B = _matrices("lstsq", A), arr(B)
    (m, n), vector = shape(A)[-2:], ndim(B) == ndim(A) - 1
    if not 0 <= ndim(A) - ndim(B) <= 1 or shape(B)[-1 if vector else -2] != m:
        raise shape_error("linalg.lstsq", f"B of shape {shape(B)} does not fit A of shape {shape(A)}: B needs {m} "
                          "rows, and A.ndim - B.ndim must be 0 (matrices) or 1 (vectors)",
                          fix=f"give B the shape (*, {m}, k) or (*, {m})")
    rcond = _tolerances(A, None, None)[1] if rcond is None else _number("lstsq", "rcond", rcond)
    matrices = _sh.expand_dims(B, -1) if vector else B
    X = one_node("LinalgLstsqBackward0", _lstsq_solution, (A, matrices), float(rcond))
    s = _la.svdvals(_stop(A))  # (as torch's, without a gradient)
    largest = _red.max(s, axis=-1, keepdims=True, initial=0.0)
    rank = _ew.astype(_red.count_nonzero(_ew.greater(s, _ew.multiply(largest, rcond)), axis=-1), np.int64)
    full_rank = m > n and (_concrete(rank) is None or bool(np.all(_concrete(rank) == n)))
    residuals = _empty(X)
    if driver != "gelsy" and driver is not None and full_rank:
        misfit = _ew.subtract(matmul(A, X), matrices)
        magnitude = _ew.abs(misfit) if np.issubdtype(dtype(misfit), np.complexfloating) else misfit
        residuals = _red.sum(_ew.square(magnitude), axis=-2)
    return linalg_lstsq(_sh.squeeze(X, -1) if vector else X, residuals,
                        _empty(rank) if driver == "gels" else rank, s if driver in ("gelsd", "gelss") else _empty(s))


# ---- norms and products -----------------------------------------------------------------------------------
def _dims(dim):
    return dim if dim is None or isinstance(dim, int) else tuple(dim)


def vector_norm(x, ord=2, dim=None, keepdim=False):  # noqa: A002 - torch's name
    """The ord-norm of x's entries over dim (every dim when None), never a matrix norm."""
    return one_node("LinalgVectorNormBackward0", _la.vector_norm, (x,), _dims(dim), bool(keepdim), ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False):  # noqa: A002
    """The matrix norm ord ('fro', 'nuc', 1, -1, 2, -2, inf, -inf) over the two dims dim."""
    if isinstance(dim, int) or len(tuple(dim)) != 2:
        raise ValueError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    if ord not in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        raise ValueError(f"linalg.matrix_norm: Order {ord} not supported.")
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim)
    return _la.norm(arr(A), ord, tuple(dim), bool(keepdim))


def norm(A, ord=None, dim=None, keepdim=False):  # noqa: A002
    """torch.linalg.norm: a vector norm over an int or 1-tuple dim (or a 1-D A), a matrix norm over a 2-tuple dim
    (or a 2-D A); with ord and dim both None, the 2-norm of all entries."""
    dims = None if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if dims is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim)
        if ndim(A) not in (1, 2):
            raise ValueError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                             f"Got {ndim(A)}D.")
        dims = tuple(range(-ndim(A), 0))
    if len(dims) == 1:
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
    if len(dims) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
    raise ValueError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")


def vecdot(x, y, *, dim=-1):
    """The dot products of x's and y's vectors along dim, the other dims broadcast."""
    return _con.vecdot(x, y, axis=dim)


def cross(a, b, *, dim=-1):
    """The cross products of a's and b's 3-vectors along dim, the other dims broadcast."""
    return one_node("LinalgCrossBackward0", _cross, (a, b), dim)


def _cross(a, b, dim):
    return _la.cross(a, b, axis=dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal (offset above the main one when positive) of the matrices in dims dim1, dim2, as the last dim."""
    return _diag.diagonal(A, offset, dim1, dim2)


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(name, "dt.linalg", __all__)
