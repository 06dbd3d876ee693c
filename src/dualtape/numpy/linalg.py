"""`dnp.linalg`: NumPy's linear-algebra namespace on every value kind. Each function differentiates in both
modes; the decompositions are primitives (ops/linalg_*.py), the rest compositions of them."""

from __future__ import annotations

from .contractions import linalg_cross as cross  # noqa: F401
from .contractions import linalg_outer as outer  # noqa: F401
from .contractions import linalg_tensordot as tensordot  # noqa: F401
from .contractions import matmul, matrix_transpose, multi_dot, vecdot  # noqa: F401
from .linalg_solve import cholesky, det, inv, matrix_power, slogdet, solve, solve_triangular  # noqa: F401
from .linalg_spectral import cond, eig, eigh, eigvals, eigvalsh, lstsq, matrix_rank, pinv, qr, svd, svdvals  # noqa: F401
from .norms import norm, vector_norm  # noqa: F401
from .unsupported import public_names as _public_names
from .unsupported import unsupported as _unsupported


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unsupported(name, "dnp.linalg", _public_names(globals()))
