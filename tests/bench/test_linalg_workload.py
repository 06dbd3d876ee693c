"""The linear-algebra workload (bench/linalg.py): gp_grad checks every contender's gradient against NumPy's by
hand, times them at default threads and at one thread, and says whether dualtape holds SciPy's own BLAS pool at
one thread."""

import os

import pytest

from dualtape.bench import Settings, linalg
from dualtape.ops import lapack

TINY = Settings(rounds=2, target_s=0.0005, repeats=1, quick=True, peers=False)


def test_gp_grad_says_whether_scipys_pool_is_held():
    pytest.importorskip("threadpoolctl")
    result = linalg.gp_grad(TINY)
    assert {"times_s (default threads)", "times_s (one thread)"} <= set(result.data)
    held = lapack.SCIPY_POOL.libraries()
    note = next(n for n in result.notes if "SciPy's LAPACK" in n or "not held" in n)
    if held:
        assert "at one thread" in note and all(os.path.basename(lib.filepath) in note for lib in held)
    else:
        assert "not held" in note
