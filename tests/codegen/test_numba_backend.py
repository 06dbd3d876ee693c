"""backend="numba" and backend="auto" (codegen/numba_*.py): loops and their gradients, float32 kept float32,
statements in object mode, the on-disk cache serving a second process, dt.source, the auto rule, and the error
naming the extra to install when Numba is missing (that one runs without Numba too)."""

import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen import numba_runtime
from dualtape.codegen.numba_runtime import NumbaCompiled
from dualtape.codegen.runtime import Compiled
from dualtape.errors import BackendError


def ode(A, x0):
    x = dt.fori_loop(0, 20, lambda i, x: x + 0.1 * dnp.tanh(A @ x), x0)
    return dnp.sum(x * x)


def ode_while(A, x0):
    def body(state):
        i, x = state
        return i + 1, x + 0.1 * dnp.tanh(A @ x)

    return dnp.sum(dt.while_loop(lambda s: s[0] < 20, body, (0, x0))[1] ** 2)


def cumulative(xs):
    return dt.scan(lambda c, x: (c * 0.9 + dnp.sin(x), c * x), 0.0, xs)[1].sum()


A = np.random.default_rng(0).standard_normal((6, 6)) / 3
X0 = np.linspace(-1.0, 1.0, 6)


# ---- loops and their gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, args", [(ode, (A, X0)), (ode_while, (A, X0)), (cumulative, (X0,))],
                         ids=["fori_loop", "while_loop", "scan"])
def test_loops_and_their_gradients_match_numpy(numba_cache, fn, args):
    nums = tuple(range(len(args)))
    for transform in (dt.jit, lambda f, **kw: dt.grad(f, argnums=nums, **kw)):
        got, want = transform(fn, backend="numba")(*args), transform(fn)(*args)
        for g, w in zip(dt.tree.leaves(got), dt.tree.leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    assert "numba.njit" in dt.source(dt.grad(fn), *args, backend="numba")


def test_while_loop_gradient_walks_its_tape_as_an_index_loop(numba_cache):
    text = dt.source(dt.grad(ode_while), A, X0, backend="numba")
    assert "reversed(" not in text and "range(len(" in text and "- 1, -1, -1)" in text


def growth(A, x0):
    """A while loop whose trip count depends on the data: it runs until |x|^2 reaches 1."""
    def body(state):
        i, x = state
        return i + 1, 1.01 * x + 0.01 * dnp.tanh(A @ x)

    n, x = dt.while_loop(lambda s: dnp.sum(s[1] * s[1]) < 1.0, body, (0, x0))
    return dnp.sum(x * dnp.sin(x)) + 0.5 * n


def steps(A, x0):
    return dt.while_loop(lambda s: dnp.sum(s[1] * s[1]) < 1.0, lambda s: (
        s[0] + 1, 1.01 * s[1] + 0.01 * dnp.tanh(A @ s[1])), (0, x0))[0]


@pytest.mark.parametrize("scale, fewest, most", [(2.0, 0, 0), (0.3, 50, 150), (1e-4, 600, 800)],
                         ids=["zero", "some", "long"])
def test_while_loop_gradient_with_a_data_dependent_trip_count_matches_numpy(numba_cache, scale, fewest, most):
    x0 = scale * X0 / np.linalg.norm(X0)
    n = dt.jit(steps, backend="numba")(A, x0)
    assert n == dt.jit(steps)(A, x0) and fewest <= n <= most
    grad = dt.grad(growth, argnums=(0, 1), backend="numba")
    for got, want in zip(grad(A, x0), dt.grad(growth, argnums=(0, 1))(A, x0)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_a_loop_state_accumulated_by_a_fused_chain_is_written_in_place(numba_cache):
    text = dt.source(dt.grad(ode_while), A, X0, backend="numba")
    assert "# (in place)" in text and "= xp.copy(A_bar)" in text  # (the adjoint's A_bar += q x^T, one pass)
    smooth = lambda x, w: dt.while_loop(lambda s: s[0] < 5, lambda s: (s[0] + 1, s[1] * 0.5 + w), (0, x))[1]
    x, w = X0.copy(), np.cos(X0)
    f = dt.jit(smooth, backend="numba")
    first, second = f(x, w), f(x, w)
    np.testing.assert_array_equal(x, X0)  # (the caller's array is the initial state: copied, not overwritten)
    np.testing.assert_allclose(first, dt.jit(smooth)(x, w), rtol=1e-15)
    np.testing.assert_array_equal(first, second)
    assert "# (in place)" in dt.source(smooth, x, w, backend="numba")
    pushed = lambda x, w: dt.while_loop(lambda s: s[0] < 5, lambda s: (s[0] + 1, s[1] * 0.5 + dnp.sum(s[1]) * w),
                                        (0, x))[1]
    assert "# (in place)" not in dt.source(pushed, x, w, backend="numba")  # (x is read outside the chain too)
    np.testing.assert_allclose(dt.jit(pushed, backend="numba")(x, w), dt.jit(pushed)(x, w), rtol=1e-14)


def test_float32_stays_float32(numba_cache):
    f = lambda x, s: dnp.sum(dnp.maximum(x * 0.5 + s, 0.0) * dnp.exp(-x)) / 3  # (a weak Python scalar s)
    x = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    value, grad = dt.value_and_grad(f, backend="numba")(x, 0.25)
    want_value, want_grad = dt.value_and_grad(f)(x, 0.25)
    assert type(value) is np.float32 and grad.dtype == np.float32
    np.testing.assert_allclose(value, want_value, rtol=1e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-6)
    assert "xp.float32(0.5)" in dt.source(f, x, 0.25, backend="numba")


# ---- object mode, reductions over axes ---------------------------------------------------------------------
def test_a_statement_without_lowering_runs_in_object_mode_alone(numba_cache):
    f = lambda x: dnp.sum(dnp.tanh(dnp.einsum("ij,jk->ik", x, x.T)), axis=1, keepdims=True)
    x = np.arange(6.0).reshape(2, 3) / 6
    compiled = dt.jit(f, backend="numba")
    np.testing.assert_allclose(compiled(x), dt.jit(f)(x), rtol=1e-12)
    text = dt.source(f, x, backend="numba")
    assert text.count("with objmode(") == 1 and "xp.einsum(" in text and "sum_rows(" in text
    assert "# einsum: NumPy, in object mode" in text and "1 statement(s) in object mode" in text
    assert Compiled(compiled.program(x), "numba").fallbacks == ["einsum"]


def test_reductions_over_axes_with_keepdims_and_squeeze(numba_cache):
    def f(x):
        return (dnp.max(x, axis=(0, 2), keepdims=True), dnp.prod(x, axis=1), dnp.min(x, axis=-1),
                dnp.squeeze(dnp.expand_dims(x, 0), 0), dnp.sum(x > 0, axis=0))

    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    for got, want in zip(dt.jit(f, backend="numba")(x), dt.jit(f)(x)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_captured_constants_are_arguments_not_frozen(numba_cache):
    make = lambda w: dt.jit(lambda x: dnp.sum(dnp.sin(x) * w), backend="numba")
    x = np.linspace(0.0, 1.0, 3)
    first, second = make(np.array([1.0, 2.0, 3.0])), make(np.array([-1.0, 0.0, 1.0]))
    assert first(x) == pytest.approx(np.sum(np.sin(x) * [1, 2, 3]))
    assert second(x) == pytest.approx(np.sum(np.sin(x) * [-1, 0, 1]))  # (same source, its own constant)


# ---- the cache ------------------------------------------------------------------------------------------------
def test_a_second_process_loads_the_compiled_kernel_from_the_cache(numba_cache):
    """The second process's kernel comes from Numba's on-disk cache (a hit, no compile); how fast that is, the
    fused_cpu benchmark measures."""
    script = textwrap.dedent("""
        import numpy as np, dualtape as dt, dualtape.numpy as dnp
        f = dt.grad(lambda x: dnp.sum(dnp.sin(x) * dnp.cos(x) + x ** 2 * dnp.exp(-x)), backend="numba")
        f(np.linspace(-1.0, 1.0, 8))
        kernel = next(iter(f._cache.values())).compiled.kernel
        print(sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))
    """)
    env = dict(os.environ, DUALTAPE_NUMBA_CACHE=str(numba_cache / "processes"))
    run = lambda: [int(n) for n in subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                                  text=True, check=True).stdout.split()[-2:]]
    cold, warm = run(), run()
    assert list((numba_cache / "processes").glob("__pycache__/*.nbi")), "no Numba cache index was written"
    assert cold == [0, 1] and warm == [1, 0], (cold, warm)  # (hits, misses): compiled once, then loaded


# ---- backend="auto" ----------------------------------------------------------------------------------------
def test_auto_takes_numba_for_small_arrays_and_loops_and_numpy_for_blas(numba_cache):
    small = dt.jit(lambda x: dnp.tanh(dnp.sin(x) * 2.0), backend="auto")
    small(X0)
    assert isinstance(next(iter(small._cache.values())).compiled, NumbaCompiled)
    looped = dt.grad(ode, backend="auto")
    looped(A, X0)
    assert isinstance(next(iter(looped._cache.values())).compiled, NumbaCompiled)
    big = np.ones((300, 300))
    blas = dt.jit(lambda a: dnp.tanh(a @ a), backend="auto")
    np.testing.assert_allclose(blas(big), np.tanh(big @ big))
    assert type(next(iter(blas._cache.values())).compiled) is Compiled
    assert "backend='auto' chose NumPy" in dt.source(lambda a: a @ a, big, backend="auto")


# ---- without Numba ------------------------------------------------------------------------------------------
def test_missing_numba_names_the_extra(monkeypatch):
    real = importlib.import_module

    def no_numba(name, *args):
        if name == "numba":
            raise ImportError("No module named 'numba'")
        return real(name, *args)

    monkeypatch.setattr(numba_runtime.importlib, "import_module", no_numba)
    with pytest.raises(BackendError, match=r'pip install "dualtape\[numba\]"'):
        dt.jit(lambda x: x * 2, backend="numba")
    with pytest.raises(BackendError, match="dualtape.numba"):
        dt.grad(lambda x: dnp.sum(x), backend="numba")
    auto = dt.jit(lambda x: x * 2, backend="auto")  # (auto falls back to NumPy)
    np.testing.assert_allclose(auto(X0), X0 * 2)
    assert type(next(iter(auto._cache.values())).compiled) is Compiled
