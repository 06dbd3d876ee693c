"""backend="auto"'s rule (codegen/numba_auto.py) on constructed programs: a fused chain keeps a large program on
Numba when it has enough arithmetic statements per libm call (chain_pays), a short or call-heavy chain over
large arrays goes to NumPy, and so does a BLAS-bound product; loops stay on Numba. The chain analysis needs no
Numba; the choice itself does."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen import numba_auto
from dualtape.codegen.numba_auto import ARITHMETIC_PER_CALL, SMALL_ELEMENTS, chain_pays, paying_chains

BIG = np.linspace(-1.0, 1.0, 16 * SMALL_ELEMENTS)
SMALL = np.linspace(-1.0, 1.0, 64)


def short_chain(x):
    return dnp.tanh(x) + 1.0  # (2 statements, 1 libm call)


def arithmetic_chain(x):
    y = x * x
    for step in range(9):
        y = y * 0.5 + x if step % 2 else y - x
    return y


def long_chain_one_call(x):
    y = dnp.exp(x * 0.5)
    for _ in range(4):
        y = y * x - 0.25
    return y  # (10 statements, 1 libm call)


def call_heavy_chain(x):
    return dnp.cos(dnp.exp(dnp.sin(dnp.tanh(x)) * x) + x) * x  # (7 statements, 4 libm calls, one after another)


def chain_and_big_statements(x):
    fused = arithmetic_chain(x)
    return dnp.tanh(fused[::2]), dnp.sin(fused[1::2])  # (two big statements outside any chain)


def program(fn, *args):
    return dt.jit(fn).program(*args)


@pytest.mark.parametrize("statements, calls, pays", [
    (1, 0, False), (2, 0, True), (10, 0, True), (2, 1, False), (3, 1, True), (10, 1, True), (4, 2, False),
    (10, 2, True), (10, 3, True), (10, 4, False), (13, 4, True)])
def test_a_chain_pays_with_enough_arithmetic_per_libm_call(statements, calls, pays):
    assert ARITHMETIC_PER_CALL == 2  # (the table below is the measured one: docs/numba.md)
    assert chain_pays(statements, calls) is pays


def test_the_paying_statements_are_those_of_the_chains_numba_fuses():
    whole = program(arithmetic_chain, BIG)
    assert paying_chains(whole) == {id(e) for e in whole.eqns}
    assert paying_chains(program(short_chain, BIG)) == set()  # (fused, but one call per arithmetic statement)
    assert paying_chains(program(call_heavy_chain, BIG)) == set()
    one_call = program(long_chain_one_call, BIG)
    assert len(paying_chains(one_call)) == len(one_call.eqns) >= 8


@pytest.fixture(scope="module")
def numba():
    return pytest.importorskip("numba")


@pytest.mark.parametrize("fn, size, chosen", [
    (short_chain, SMALL, "numba"), (short_chain, BIG, "numpy"),
    (arithmetic_chain, BIG, "numba"), (long_chain_one_call, BIG, "numba"),
    (call_heavy_chain, SMALL, "numba"), (call_heavy_chain, BIG, "numpy"),
    (chain_and_big_statements, BIG, "numpy")],
    ids=["short-small", "short-big", "arithmetic-big", "one-call-big", "calls-small", "calls-big", "mixed-big"])
def test_auto_chooses_by_chain_and_size(numba, fn, size, chosen):
    assert numba_auto.choose(program(fn, size)) == chosen


def test_a_blas_bound_product_goes_to_numpy_even_beside_a_long_chain(numba):
    a = np.random.default_rng(0).standard_normal((64, 64))

    def loss(w):
        return dnp.sum(arithmetic_chain(a @ w))

    why = numba_auto.choose(dt.grad(loss).program(a), explain=True)
    assert why.startswith("numpy: matmul of ") and "BLAS-bound" in why


def test_the_reason_names_the_fused_chains(numba):
    why = numba_auto.choose(program(arithmetic_chain, BIG), explain=True)
    assert why.startswith("numba: ") and "fused chains that pay at any size" in why
    why = numba_auto.choose(program(chain_and_big_statements, BIG), explain=True)
    assert why.startswith("numpy: arrays of ") and "outside" in why


def test_a_loop_stays_on_numba_at_any_size(numba):
    def looped(x):
        return dt.fori_loop(0, 3, lambda i, y: dnp.tanh(y) + 1.0, x)

    assert numba_auto.choose(program(looped, BIG)) == "numba"


def test_auto_runs_a_long_chain_on_numba_with_numpys_numbers(numba, tmp_path, monkeypatch):
    monkeypatch.setenv("DUALTAPE_NUMBA_CACHE", str(tmp_path))
    from dualtape.codegen.numba_runtime import NumbaCompiled

    auto = dt.jit(arithmetic_chain, backend="auto")
    np.testing.assert_allclose(auto(BIG), dt.jit(arithmetic_chain)(BIG), rtol=1e-12, atol=1e-12)
    assert isinstance(next(iter(auto._cache.values())).compiled, NumbaCompiled)


def test_the_mlp_gradient_stays_on_numpy(numba):
    """The 784-256-10 MLP of `dualtape bench --only fused_cpu`: its products are BLAS-bound, and the chains of
    its gradient must not pull it onto Numba (measured 1.7x slower there)."""
    from dualtape.bench.models import mlp_init, mlp_loss

    params, x, y = mlp_init()
    why = numba_auto.choose(dt.grad(mlp_loss).program(params, x, y), explain=True)
    assert why.startswith("numpy: matmul of ") and "BLAS-bound" in why
