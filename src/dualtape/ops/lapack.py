"""The CPU's and GPU's runtime helpers of `cholesky` and `solve_triangular` (ops/linalg_solve.py): LAPACK's potrf
and trtrs through SciPy on the CPU, for one matrix (NumPy has no triangular solve, and its cholesky wraps potrf
in a gufunc layer that costs 2.6x as much at n = 50), NumPy's own for stacks and without SciPy, CuPy's on a GPU.

SciPy's wheel bundles an OpenBLAS of its own, a thread pool apart from NumPy's, and an OpenBLAS worker busy-waits
after each call (for about 2^28 cycles) before it sleeps: a program that alternates NumPy's matmuls with SciPy's
solves kept both pools spinning on the same cores (the GP gradient, n = 200, 2 cores: 2.6x the time of either pool
at one thread). So SciPy's calls run with SciPy's own pool at one thread (`SCIPY_POOL`, through threadpoolctl when
installed), and the program's threads are NumPy's; calls large enough to outlast the spinning keep their threads.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

# Work (multiply-adds) from which a call is long beside the time an idle OpenBLAS worker busy-waits for more (2^28
# cycles, about 0.1 s): from here on SciPy's pool keeps its threads, and cholesky goes to NumPy's own (threaded) one.
SPIN_WORK = 2 ** 30
# The order below which potrf never woke an OpenBLAS worker (0.3.30, 2 threads: float64 from 128, complex from 64,
# float32 above 200): holding SciPy's pool there would only add its cost (about 10 us) to a call of a few.
POTRF_ALONE_BELOW = 48


class ScipyPool:
    """SciPy's own BLAS pools, held at one thread for the length of a call (`with SCIPY_POOL:`). The user's setting
    is read on entry and put back on exit, by the thread that set it (threadpoolctl lets one thread at a time set
    OpenBLAS's count: control is handed back after), nested entries counted; another thread's call meanwhile runs
    at one thread too, and one that finds the pool held by another thread changes nothing. Needs threadpoolctl,
    found on first entry: without it, or where SciPy shares NumPy's (or the system's) BLAS, it holds nothing."""

    def __init__(self):
        self._lock = threading.Lock()
        self._libs = None  # SciPy's own BLAS libraries (threadpoolctl controllers), found on first entry
        self._owner, self._depth = None, 0  # the thread holding the pools, and its nested entries
        self._saved = []  # (library, the user's thread count) for each one held at one thread

    @staticmethod
    def scipy_own_blas() -> tuple:
        """threadpoolctl's controllers of the BLAS libraries loaded from SciPy's own folders (a wheel's scipy.libs,
        or scipy/.dylibs), which NumPy never loads: () without threadpoolctl or SciPy, or when there are none."""
        try:
            import scipy.linalg  # (its BLAS loaded, so that threadpoolctl sees it)
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return ()
        root = os.path.realpath(os.path.dirname(scipy.__file__))
        homes = tuple(os.path.normcase(folder) + os.sep for folder in (root, root + ".libs"))
        return tuple(lib for lib in ThreadpoolController().lib_controllers
                     if lib.user_api == "blas" and os.path.normcase(os.path.realpath(lib.filepath)).startswith(homes))

    def libraries(self) -> tuple:
        """The pools held during a call (scipy_own_blas(), found once)."""
        if self._libs is None:
            self._libs = self.scipy_own_blas()
        return self._libs

    def __enter__(self):
        me = threading.get_ident()
        with self._lock:
            if self._owner is None:
                self._owner, self._depth = me, 1
                self._saved = [(lib, n) for lib in self.libraries() if (n := lib.get_num_threads()) not in (1, None)]
                for lib, _ in self._saved:
                    lib.set_num_threads(1)
            elif self._owner == me:
                self._depth += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            if self._owner == threading.get_ident():
                self._depth -= 1
                if self._depth == 0:
                    for lib, n in self._saved:
                        lib.set_num_threads(n)
                    for kind in {type(lib) for lib, _ in self._saved}:  # (threadpoolctl 3.6+: control handed back)
                        getattr(kind, "clear_controlling_thread", lambda: None)()
                    self._owner, self._saved = None, []
        return False


SCIPY_POOL = ScipyPool()
_THREADED = contextlib.nullcontext()  # (SciPy's pool as the user set it)


def solve_triangular_helper(xp):
    """solve_triangular for arrays of xp. A single matrix goes to LAPACK's trtrs through SciPy (cuBLAS's trsm
    through cupyx on a GPU): O(n^2 k), at one thread below SPIN_WORK (SCIPY_POOL: SciPy's pool would spin beside
    NumPy's) unless b has one column (OpenBLAS runs that on the caller's thread: no worker woke at n = 50 to
    2000). A stack of matrices, or NumPy without SciPy, goes to xp.linalg.solve on the triangle itself: an LU
    factorisation, O(n^3) per matrix (4x trtrs's time at n = 200 with 200 columns, 20x with one), but one
    batched call."""
    try:
        if xp is np:
            from scipy.linalg import solve_triangular as one_matrix
        else:
            from cupyx.scipy.linalg import solve_triangular as one_matrix
    except ImportError:
        one_matrix = None

    def solve_triangular(a, b, *, trans, lower, unit_diagonal):
        if a.ndim == 2 and one_matrix is not None:
            if xp is not np:
                return one_matrix(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
            k = b.shape[-1]  # (one column: OpenBLAS's trsv, on the caller's thread alone; nothing to hold)
            pool = SCIPY_POOL if 1 < k and a.shape[0] ** 2 * k < SPIN_WORK else _THREADED
            with pool:
                return one_matrix(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal, check_finite=False)
        n = a.shape[-1]
        keep = xp.tri(n, k=-1 if unit_diagonal else 0, dtype=bool)
        triangle = xp.where(keep if lower else keep.T, a, 0)
        if unit_diagonal:
            triangle = triangle + xp.eye(n, dtype=triangle.dtype)
        return xp.linalg.solve(xp.swapaxes(triangle, -1, -2) if trans else triangle, b)

    return solve_triangular


solve_triangular_helper.backend_specific = ("NumPy has no triangular solve: SciPy's (or numpy.linalg.solve on the "
                                             "triangle) on the CPU, cupyx.scipy.linalg's (or cupy.linalg.solve) "
                                             "on a GPU")


def cholesky_helper(xp):
    """cholesky for arrays of xp, as xp.linalg.cholesky (the lower factor, from the lower triangle). On the CPU a
    single float32/64 or complex64/128 matrix below SPIN_WORK (n < 1477) goes to LAPACK's potrf through SciPy, at
    one thread (SCIPY_POOL) from POTRF_ALONE_BELOW up: NumPy's gufunc layer around the same call costs 2.6x as
    much at n = 50. A larger
    one goes to xp.linalg.cholesky, threaded in NumPy's own pool, the matmuls' (its copies are small beside the
    factorisation); so do a stack, another dtype, an empty matrix, NumPy without SciPy, and a GPU (CuPy's own)."""
    if xp is not np:
        return xp.linalg.cholesky
    try:
        from scipy.linalg.lapack import cpotrf, dpotrf, spotrf, zpotrf
    except ImportError:
        return np.linalg.cholesky
    potrf = {"f": spotrf, "d": dpotrf, "F": cpotrf, "D": zpotrf}

    def cholesky(a):
        one_matrix = potrf.get(a.dtype.char) if a.ndim == 2 and a.size and a.shape[0] ** 3 < 3 * SPIN_WORK else None
        if one_matrix is None:
            return np.linalg.cholesky(a)
        # a.T read in Fortran order is a's own memory, its upper triangle a's lower one: potrf's upper factor U
        # (no copy but potrf's own) is L^T, L the lower factor of a, real or complex
        with SCIPY_POOL if a.shape[0] >= POTRF_ALONE_BELOW else _THREADED:
            upper, info = one_matrix(a.T, lower=False, clean=True)
        if info > 0:
            raise np.linalg.LinAlgError("Matrix is not positive definite")
        return upper.T

    return cholesky


cholesky_helper.backend_specific = ("SciPy's LAPACK potrf (or numpy.linalg.cholesky) on the CPU, cupy.linalg's "
                                     "on a GPU")
