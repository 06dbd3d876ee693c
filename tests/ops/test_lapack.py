"""The runtime helpers of cholesky and solve_triangular (ops/lapack.py): SciPy's own BLAS pool held at one thread
during its calls (a pool apart from NumPy's, whose workers would spin beside NumPy's), the user's setting back
after each call (one that raises, nested and concurrent ones too), large problems keeping their threads, and
everything working without threadpoolctl. (Their results against NumPy: tests/ops/test_linalg_solve.py.)"""

import concurrent.futures
import os
import sys

import numpy as np
import pytest

from dualtape.ops import lapack

RNG = np.random.default_rng(0)


def positive_definite(n):
    m = RNG.normal(size=(n, n))
    return m @ m.T + n * np.eye(n)


@pytest.fixture
def scipy_pool_at_two_threads():
    """SciPy's own BLAS libraries (skip where threadpoolctl is absent or SciPy shares NumPy's BLAS), set to two
    threads for the test (as a user's default would be) and put back after."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    scipy = pytest.importorskip("scipy")
    pytest.importorskip("scipy.linalg")
    home = os.path.realpath(os.path.dirname(scipy.__file__))
    libs = [lib for lib in threadpoolctl.ThreadpoolController().lib_controllers if lib.user_api == "blas"
            and os.path.realpath(lib.filepath).startswith((home + os.sep, home + ".libs" + os.sep))]
    if not libs:
        pytest.skip("SciPy has no BLAS of its own here (it shares NumPy's or the system's)")
    before = [lib.get_num_threads() for lib in libs]
    for lib in libs:
        lib.set_num_threads(2)
    _release(libs)
    yield libs
    for lib, n in zip(libs, before):
        lib.set_num_threads(n)
    _release(libs)


def _release(libs):
    """Hand threadpoolctl's control of OpenBLAS's count back (3.6+: one thread at a time may set it)."""
    for kind in {type(lib) for lib in libs}:
        getattr(kind, "clear_controlling_thread", lambda: None)()


def _recording(monkeypatch, module, name, libs):
    """Replace module.name by a wrapper that records SciPy's pools' thread counts at each call."""
    real, seen = getattr(module, name), []

    def call(*args, **kwargs):
        seen.append([lib.get_num_threads() for lib in libs])
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, call)
    return seen


def test_scipys_own_blas_is_not_numpys():
    """The pools SCIPY_POOL holds are loaded from SciPy's folders; NumPy's (which serves the matmuls) is not one."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy.linalg")
    numpy_home = os.path.realpath(os.path.dirname(np.__file__))
    ours = {lib.filepath for lib in lapack.ScipyPool.scipy_own_blas()}
    numpys = {info["filepath"] for info in threadpoolctl.threadpool_info()
              if os.path.realpath(info["filepath"]).startswith((numpy_home + os.sep, numpy_home + ".libs" + os.sep))}
    assert not ours & numpys


def test_scipys_calls_run_at_one_thread_and_the_users_setting_comes_back(monkeypatch, scipy_pool_at_two_threads):
    """SciPy's BLAS is a pool apart from NumPy's: its potrf and trtrs run at one thread, so that its workers do
    not spin beside NumPy's after every call; the user's two threads come back after each call, and after one
    that raises."""
    import scipy.linalg
    import scipy.linalg.lapack

    libs = scipy_pool_at_two_threads
    potrf_counts = _recording(monkeypatch, scipy.linalg.lapack, "dpotrf", libs)
    solve_counts = _recording(monkeypatch, scipy.linalg, "solve_triangular", libs)
    cholesky, solve_triangular = lapack.cholesky_helper(np), lapack.solve_triangular_helper(np)
    a = positive_definite(60)
    chol = cholesky(a)
    x = solve_triangular(chol, RNG.normal(size=(60, 60)), trans=1, lower=True, unit_diagonal=False)
    with pytest.raises(np.linalg.LinAlgError):
        cholesky(-np.eye(60))
    solve_triangular(chol, np.ones((60, 1)), trans=0, lower=True, unit_diagonal=False)  # (one column: no pool)
    small = positive_definite(lapack.POTRF_ALONE_BELOW - 1)  # (potrf wakes no worker: no pool either)
    np.testing.assert_allclose(cholesky(small), np.linalg.cholesky(small), rtol=1e-12)
    assert potrf_counts == [[1] * len(libs)] * 2 + [[2] * len(libs)]
    assert solve_counts == [[1] * len(libs), [2] * len(libs)]
    assert [lib.get_num_threads() for lib in libs] == [2] * len(libs)
    np.testing.assert_allclose(chol, np.linalg.cholesky(a), rtol=1e-12)
    assert x.shape == (60, 60)


def test_nested_and_concurrent_entries_restore_the_setting_once(monkeypatch, scipy_pool_at_two_threads):
    """The thread that set the count puts it back, once its last nested entry is out; threads calling at once
    leave the user's setting as it was, and a worker thread that held the pool leaves no hold behind: the main
    thread's calls are at one thread after it, its own settings work after it."""
    import scipy.linalg.lapack

    libs = scipy_pool_at_two_threads
    counts = lambda: [lib.get_num_threads() for lib in libs]  # noqa: E731
    with lapack.SCIPY_POOL:
        with lapack.SCIPY_POOL:
            assert counts() == [1] * len(libs)
        assert counts() == [1] * len(libs)
    assert counts() == [2] * len(libs)
    potrf_counts = _recording(monkeypatch, scipy.linalg.lapack, "dpotrf", libs)
    cholesky, a = lapack.cholesky_helper(np), positive_definite(60)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(cholesky, a).result()
    assert potrf_counts == [[1] * len(libs)] and counts() == [2] * len(libs)  # (a worker thread's call)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: [cholesky(a) for _ in range(20)], range(8)))
    assert counts() == [2] * len(libs)
    cholesky(a)
    assert potrf_counts[-1] == [1] * len(libs) and counts() == [2] * len(libs)
    for lib in libs:
        lib.set_num_threads(3)
    assert counts() == [3] * len(libs)  # (the main thread's own setting still takes)


def test_large_problems_keep_their_threads(monkeypatch, scipy_pool_at_two_threads):
    """From SPIN_WORK on a call is long beside the workers' spinning: cholesky goes to numpy.linalg.cholesky
    (NumPy's own threaded pool, the matmuls'), a triangular solve to SciPy with its pool as the user set it."""
    import scipy.linalg
    import scipy.linalg.lapack

    libs = scipy_pool_at_two_threads
    monkeypatch.setattr(lapack, "SPIN_WORK", 8 ** 3)  # (so that n = 30 counts as large)
    monkeypatch.setattr(lapack, "POTRF_ALONE_BELOW", 1)  # (and n = 5 is held)
    potrf_counts = _recording(monkeypatch, scipy.linalg.lapack, "dpotrf", libs)
    solve_counts = _recording(monkeypatch, scipy.linalg, "solve_triangular", libs)
    cholesky, solve_triangular = lapack.cholesky_helper(np), lapack.solve_triangular_helper(np)
    a = positive_definite(30)
    np.testing.assert_allclose(cholesky(a), np.linalg.cholesky(a), rtol=1e-12)
    assert potrf_counts == []  # (NumPy's)
    cholesky(a[:5, :5])
    assert potrf_counts == [[1] * len(libs)]  # (small: SciPy's, at one thread)
    solve_triangular(np.linalg.cholesky(a), np.ones((30, 2)), trans=0, lower=True, unit_diagonal=False)
    assert solve_counts == [[2] * len(libs)]


def test_without_threadpoolctl_scipys_calls_run_as_before(monkeypatch):
    """threadpoolctl is optional: without it SCIPY_POOL finds no pool and holds nothing; results are the same."""
    pytest.importorskip("scipy.linalg")
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # importing it now fails
    monkeypatch.setattr(lapack, "SCIPY_POOL", lapack.ScipyPool())
    assert lapack.ScipyPool.scipy_own_blas() == ()
    a = positive_definite(6)
    chol = lapack.cholesky_helper(np)(a)
    np.testing.assert_allclose(chol, np.linalg.cholesky(a), rtol=1e-12)
    b = RNG.normal(size=(6, 2))
    x = lapack.solve_triangular_helper(np)(chol, b, trans=0, lower=True, unit_diagonal=False)
    np.testing.assert_allclose(chol @ x, b, rtol=1e-10, atol=1e-12)
    assert lapack.SCIPY_POOL._libs == () and lapack.SCIPY_POOL._depth == 0
