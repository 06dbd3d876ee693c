"""The loop pass that turns a carry summing outer products into one matrix product after the loop: where it
applies (the weight cotangent of `A @ x` in a loop), where it must not, and that it never changes a result."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.transforms.hoist import hoist_outer_products
from gradcheck import assert_close, numerical_jacobian
from testkit import EXACT

RNG = np.random.default_rng(7)


def grad_unoptimised(f, *args, argnums=0):
    old = dt.config.optimize
    dt.config.optimize = False
    try:
        return dt.grad(f, argnums=argnums)(*args)
    finally:
        dt.config.optimize = old


def scans(program):
    return [e for e in program.eqns if e.prim.name == "scan"]


def ode(steps):
    def f(A, x0):
        x = dt.fori_loop(0, steps, lambda i, x: x + 0.01 * dnp.tanh(A @ x), x0)
        return dnp.sum(x * x)

    return f


def test_the_ode_weight_cotangent_is_one_matrix_product_after_the_adjoint_loop():
    A, x0 = RNG.normal(size=(6, 6)) / 3, RNG.normal(size=6)
    f = ode(20)
    source = dt.source(dt.grad(f), A, x0)
    lines = source[source.index("reversed(range(20))"):].splitlines()[1:]
    loop_body = [line for line in lines if line.startswith(" " * 8)]
    after = [line.strip() for line in lines if not line.startswith(" " * 8)]
    assert not any("expand_dims" in line or "A_bar" in line for line in loop_body)  # no per-step outer product
    assert after[0].endswith(".T") and after[1].startswith("A_bar = ") and " @ " in after[1]  # one GEMM after
    expected = grad_unoptimised(f, A, x0)
    assert_close(dt.grad(f)(A, x0), expected, "hoisted vs per-step accumulation", **EXACT)


def test_the_python_loop_and_the_fori_loop_agree():
    A, x0 = RNG.normal(size=(5, 5)) / 3, RNG.normal(size=5)

    def unrolled(A, x0):
        x = x0
        for _ in range(12):
            x = x + 0.01 * dnp.tanh(A @ x)
        return dnp.sum(x * x)

    assert_close(dt.grad(ode(12))(A, x0), dt.grad(unrolled)(A, x0), "fori vs for", **EXACT)


def test_an_accumulator_the_body_also_reads_is_left_alone():
    def f(A, x0):
        def step(i, state):
            x, acc = state
            acc = acc + dnp.outer(x, x)
            return x + 0.1 * dnp.tanh(acc @ x + A @ x), acc

        x, acc = dt.fori_loop(0, 6, step, (x0, dnp.zeros((4, 4))))
        return dnp.sum(x) + dnp.sum(acc)

    A, x0 = RNG.normal(size=(4, 4)) / 3, RNG.normal(size=4)
    program = dt.trace(f)(A, x0)
    assert hoist_outer_products(program) is program  # the forward carry is read by the step: not a pure sum
    assert_close(dt.grad(f)(A, x0), grad_unoptimised(f, A, x0), "unchanged", **EXACT)
    assert_close(dt.grad(f)(A, x0), numerical_jacobian(f, (A, x0)), "finite differences", rtol=1e-6,
                 atol=1e-8)


def test_a_forward_scan_summing_outer_products_becomes_one_product():
    def f(xs, ys):
        acc = dt.scan(lambda acc, xy: (acc + dnp.expand_dims(xy[0], 1) * xy[1], None),
                      dnp.zeros((3, 2)), (xs, ys))[0]
        return acc

    xs, ys = RNG.normal(size=(7, 3)), RNG.normal(size=(7, 2))
    program = dt.trace(f)(xs, ys)
    hoisted = hoist_outer_products(program)
    assert hoisted is not program
    names = [e.prim.name for e in hoisted.eqns]
    assert names[-3:] == ["transpose", "matmul", "add"] and scans(hoisted)[0].params["n_carry"] == 0
    np.testing.assert_allclose(dt.jit(f)(xs, ys), xs.T @ ys, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), m=st.integers(1, 5), steps=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_two_weights_in_one_loop_match_unoptimised_and_finite_differences(n, m, steps, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(n, n)) / 3, rng.normal(size=(n, m)) / 3
    x0, u = rng.normal(size=n), rng.normal(size=(steps, m))

    def f(A, B, x0, u):
        def step(x, u_t):
            return x + 0.1 * dnp.tanh(A @ x + B @ u_t), None

        x, _ = dt.scan(step, x0, u)
        return dnp.sum(dnp.sin(x))

    got = dt.grad(f, argnums=(0, 1))(A, B, x0, u)
    want = grad_unoptimised(f, A, B, x0, u, argnums=(0, 1))
    numeric = numerical_jacobian(f, (A, B, x0, u), argnums=(0, 1))
    for g, w, fd in zip(got, want, numeric):
        assert_close(g, w, "hoisted vs unoptimised", rtol=1e-10, atol=1e-12)
        assert_close(g, fd, "finite differences", rtol=1e-6, atol=1e-8)
