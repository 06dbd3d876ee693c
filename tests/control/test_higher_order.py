"""Higher derivatives through loops: Hessians (forward over reverse), reverse over reverse, Hessian-vector
products and third derivatives of while_loop, fori_loop with traced bounds, nested loops (an inner bound that
depends on the outer index), scan, and cond inside loops, against closed forms and central finite differences
(float64); staged (dt.jit) and vectorised (vmap); Newton's method on functions computed by a while loop. Also
the errors for a scan body that does not return a pair, and fori_loop bounds that are not integers.

Every point keeps each loop's trip count and each branch unchanged within the difference stencil."""

import re

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from gradcheck import assert_close, check_grads, numerical_jacobian


# ---- loops computing powers, against closed forms ----------------------------------------------------------
def power_by_while(x):
    """x**6: five multiplications by x in a while loop (f)."""
    return dt.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * x), (0, x))[1]


def power_by_nested_fori(x):
    """x**4: an outer fori_loop over i in range(3) running an inner one over range(i), a while loop (g)."""
    def outer(i, acc):
        return dt.fori_loop(0, i, lambda j, a: a * x, acc)
    return dt.fori_loop(0, 3, outer, x)


SECOND_ORDER = {
    "hessian": dt.hessian,
    "jacfwd(jacrev)": lambda f: dt.jacfwd(dt.jacrev(f)),
    "jacrev(jacrev)": lambda f: dt.jacrev(dt.jacrev(f)),
    "grad(grad)": lambda f: dt.grad(dt.grad(f)),
    "hvp": lambda f: lambda x: dt.hvp(f, (x,), (1.0,))[0],
    "jit(hessian)": lambda f: dt.jit(dt.hessian(f)),
    "jit(jacrev(jacrev))": lambda f: dt.jit(dt.jacrev(dt.jacrev(f))),
    "jit(hvp)": lambda f: dt.jit(lambda x: dt.hvp(f, (x,), (1.0,))[0]),
}


@pytest.mark.parametrize("how", list(SECOND_ORDER))
def test_second_derivative_of_power_loops_equals_the_closed_form(how):
    second = SECOND_ORDER[how]
    assert_close(second(power_by_while)(1.5), 30 * 1.5 ** 4, f"{how} of x**6 by while_loop", rtol=1e-12)
    assert_close(second(power_by_nested_fori)(1.1), 12 * 1.1 ** 2, f"{how} of x**4 by nested fori_loop", rtol=1e-12)


def test_third_derivatives_through_a_while_loop():
    third = 120 * 1.5 ** 3
    assert_close(dt.grad(dt.grad(dt.grad(power_by_while)))(1.5), third, "grad(grad(grad))", rtol=1e-12)
    assert_close(dt.jacfwd(dt.hessian(power_by_while))(1.5), third, "jacfwd(hessian)", rtol=1e-12)
    assert_close(dt.jit(dt.jacrev(dt.hessian(power_by_nested_fori)))(1.1), 24 * 1.1, "jit(jacrev(hessian))",
                 rtol=1e-12)


def test_a_loop_that_never_runs_has_the_hessian_of_what_follows_it():
    f = lambda x: dnp.sum(dt.while_loop(lambda v: dnp.sum(v) > 100.0, lambda v: v * v, x) ** 3)
    for how, hessian in (("jit(hessian)", dt.jit(dt.hessian(f))), ("jacrev(jacrev)", dt.jacrev(dt.jacrev(f)))):
        assert_close(hessian(X), np.diag(6 * X), how, rtol=1e-14)


def test_hessian_program_records_tangent_tapes_and_walks_them_with_the_tape():
    """The staged Hessian: a while loop pushing onto the tape and its tangent tape, then an adjoint loop
    popping both in step."""
    src = dt.source(dt.hessian(power_by_while), 1.5)
    assert re.search(r"^\s+while \w+:$", src, re.M)
    assert len(re.findall(r"^\s+\w+\.append\(\(", src, re.M)) >= 2
    assert re.search(r"^\s+for .* in zip\(reversed\(\w+\), reversed\(\w+\)\):$", src, re.M)


# ---- many loop forms, to second order, against finite differences ----------------------------------------
X = np.array([0.3, -0.7, 1.1])
S = np.array(0.6)


def while_closing_over(x, s):
    """A vector state and a closed-over value that is differentiated too."""
    return dt.while_loop(lambda v: dnp.sum(v * v) < 20.0, lambda v: dnp.tanh(v * s) + v * 1.2, x)


def fori_traced_bound(x):
    n = dnp.floor(dnp.sum(x * x) * 2).astype(int)  # 4 steps at X
    return dt.fori_loop(0, n, lambda i, v: dnp.sin(v) * 0.9 + v * 0.3 + i * 0.01, x)


def nested_fori(x):
    def outer(i, acc):
        return dt.fori_loop(0, i + 1, lambda j, a: dnp.sin(a) * x + 0.1 * j, acc) * 0.8
    return dt.fori_loop(0, 3, outer, x)


def while_in_while(x):
    def body(c):
        inner = dt.while_loop(lambda d: d[0] < c[0] + 1, lambda d: (d[0] + 1, dnp.sin(d[1]) * x + 0.2), (0, c[1]))
        return c[0] + 1, inner[1] * 0.9
    return dt.while_loop(lambda c: c[0] < 3, body, (0, x))[1]


def while_in_scan(x):
    def body(c, w):
        inner = dt.while_loop(lambda d: dnp.sum(d * d) < 4.0 * w, lambda d: d * 1.3 + dnp.tanh(c) * 0.1, c + w)
        return dnp.cos(inner) * x, inner.sum()
    carry, ys = dt.scan(body, x, np.array([1.0, 2.5, 1.5]))
    return carry + ys.sum()


def inner_loop_not_reading_the_outer_state(x):
    """The inner loop's tape does not change from step to step of the outer one (it is recorded at each)."""
    def body(c):
        inner = dt.while_loop(lambda d: d[0] < 3, lambda d: (d[0] + 1, dnp.sin(d[1]) + x), (0, x))[1]
        return c[0] + 1, c[1] * 0.5 + inner * c[1]
    return dt.while_loop(lambda c: c[0] < 3, body, (0, x))[1]


def cond_in_while(x):
    def body(c):
        v = dt.cond(c[0] % 2 == 0, lambda a: dnp.sin(a) * x, lambda a: a * a * 0.5 + x, c[1])
        return c[0] + 1, v
    return dt.while_loop(lambda c: c[0] < 4, body, (0, x))[1]


def while_in_cond(x):
    loop = lambda a: dt.while_loop(lambda v: dnp.sum(v * v) < 9.0, lambda v: v * 1.4 + dnp.sin(v) * 0.1, a)
    return dt.cond(x.sum() > 0, loop, lambda a: dnp.exp(a), x)


def scan_of_cond(x):
    body = lambda c, w: (dt.cond(c.sum() > 0, lambda a: dnp.sin(a) * w, lambda a: a * a, c), c * w)
    carry, ys = dt.scan(body, x, np.array([0.5, 1.5, -1.0]))
    return carry + ys.sum(0)


FUNCTIONS = {
    "while_closing_over": (while_closing_over, (X, S)),
    "fori_traced_bound": (fori_traced_bound, (X,)),
    "nested_fori": (nested_fori, (X,)),
    "while_in_while": (while_in_while, (X,)),
    "while_in_scan": (while_in_scan, (X,)),
    "inner_loop_not_reading_the_outer_state": (inner_loop_not_reading_the_outer_state, (X,)),
    "cond_in_while": (cond_in_while, (X,)),
    "while_in_cond": (while_in_cond, (X,)),
    "scan_of_cond": (scan_of_cond, (X,)),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_second_order_forward_over_reverse_and_reverse_over_reverse_match_finite_differences(name):
    f, args = FUNCTIONS[name]
    check_grads(f, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_hessians_agree_across_compositions_and_with_finite_differences(name):
    f, args = FUNCTIONS[name]
    loss = lambda *a: dnp.sum(f(*a) ** 2)
    argnums = tuple(range(len(args)))
    expected = numerical_jacobian(dt.grad(loss, argnums), args, argnums)
    for how, hessian in (("hessian", dt.hessian(loss, argnums)), ("jit(hessian)", dt.jit(dt.hessian(loss, argnums))),
                         ("jacrev(jacrev)", dt.jacrev(dt.jacrev(loss, argnums), argnums))):
        got = hessian(*args)
        for i in argnums:
            for j in argnums:
                assert_close(got[i][j], expected[i][j], f"{how} block {i}{j}", rtol=1e-6, atol=1e-7)


def test_hessian_vector_product_equals_the_hessian_times_the_vector():
    f, args = FUNCTIONS["while_in_while"]
    loss = lambda x: dnp.sum(f(x) ** 2)
    v = np.array([0.5, -1.0, 2.0])
    expected = dt.hessian(loss)(X) @ v
    assert_close(dt.hvp(loss, (X,), (v,))[0], expected, "hvp", rtol=1e-12)
    assert_close(dt.jit(lambda x, t: dt.hvp(loss, (x,), (t,))[0])(X, v), expected, "jit(hvp)", rtol=1e-12)


def test_vmap_of_a_hessian_over_examples_with_different_trip_counts():
    """One loop for the batch: each example's steps, and its tangent tape's, are masked once it has stopped."""
    loss = lambda x: dnp.sum(while_closing_over(x, S) ** 2)
    batch = np.stack([X, 0.2 * X, 2.0 * X, -X])
    trips = {int(dt.while_loop(lambda c: dnp.sum(c[1] * c[1]) < 20.0,
                               lambda c: (c[0] + 1, dnp.tanh(c[1] * S) + c[1] * 1.2), (0, x))[0]) for x in batch}
    assert len(trips) >= 3
    expected = np.stack([dt.hessian(loss)(x) for x in batch])
    assert_close(dt.vmap(dt.hessian(loss))(batch), expected, "vmap(hessian)", rtol=1e-12)
    assert_close(dt.jit(dt.vmap(dt.hessian(loss)))(batch), expected, "jit(vmap(hessian))", rtol=1e-12)
    for x, h in zip(batch, expected):
        assert_close(h, numerical_jacobian(dt.grad(loss), (x,)), "hessian", rtol=1e-6, atol=1e-7)


# ---- Newton's method ----------------------------------------------------------------------------------------
def exp_by_series(w):
    """exp(w), elementwise, summing its Taylor series in a while loop until the terms are negligible (the trip
    count depends on w)."""
    def body(c):
        k, term, total = c
        term = term * w / (k + 1)
        return k + 1, term, total + term
    return dt.while_loop(lambda c: dnp.max(dnp.abs(c[1])) > 1e-17, body, (0, dnp.ones_like(w), dnp.ones_like(w)))[2]


def test_newton_minimises_a_function_computed_by_a_while_loop():
    """F(w) = sum(exp(w)) - b.w has its minimum at w = log(b) and Hessian diag(exp(w)); Newton steps with the
    Hessian of the while loop converge quadratically."""
    b = np.array([0.5, 2.0, 3.0])
    F = lambda w: dnp.sum(exp_by_series(w)) - dnp.dot(b, w)
    grad, hessian = dt.jit(dt.grad(F)), dt.jit(dt.hessian(F))
    w, errors = np.full(3, 0.5), []
    for _ in range(8):
        h = hessian(w)
        assert_close(h, np.diag(np.exp(w)), "Hessian", rtol=1e-12, atol=1e-14)
        w = w - np.linalg.solve(h, grad(w))
        errors.append(np.max(np.abs(w - np.log(b))))
    assert errors[-1] < 1e-12
    assert errors[3] < errors[2] ** 2 * 2  # quadratic convergence


def test_newton_root_of_a_one_dimensional_while_loop():
    """The minimum of x**6 / 6 - x, with x**6 from power_by_while: Newton lands on x = 1."""
    F = lambda x: power_by_while(x) / 6 - x
    x = 1.7
    for _ in range(12):
        x = x - dt.grad(F)(x) / dt.hessian(F)(x)
    assert_close(x, 1.0, "Newton", rtol=1e-14)


# ---- errors -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, returned", [
    (lambda c, x: c + x, r"a single value of type f64\[\]"),
    (lambda c, x: (c + x, c, x), "a tuple of 3 values"),
    (lambda c, x: [c + x], "a list of 1 value"),
])
def test_a_scan_body_that_does_not_return_a_pair_is_named(body, returned):
    for run in (lambda x: dt.scan(body, x, np.ones(3)), dt.jit(lambda x: dt.scan(body, x, np.ones(3)))):
        with pytest.raises(TypeError, match=rf"^scan: the body must return a pair \(new_carry, y\), but it returned "
                                            rf"{returned}; return `carry, y`"):
            run(1.0)


@pytest.mark.parametrize("lower, upper, shown", [
    (0, 3.0, r"lower=0 \(int\), upper=3\.0 \(float\)"),
    (np.float32(1.0), 4, r"lower=np\.float32\(1\.0\) \(float32\), upper=4 \(int\)"),
])
def test_fori_loop_refuses_bounds_that_are_not_integers(lower, upper, shown):
    with pytest.raises(TypeError, match=rf"^fori_loop: the bounds must be integers .*, got {shown}"):
        dt.fori_loop(lower, upper, lambda i, v: v * 2, 1.0)
    with pytest.raises(TypeError, match=r"fori_loop: .*upper=a traced value of type f64\[\]"):
        dt.jit(lambda x, n: dt.fori_loop(0, n, lambda i, v: v * 2, x))(1.0, 3.0)
    assert dt.fori_loop(np.int32(1), np.int64(4), lambda i, v: v * 2, 1.0) == 8.0


def test_a_while_loop_pullback_called_twice_inside_a_differentiated_function_says_what_is_unsupported():
    def f(x):
        _, pullback = dt.vjp(power_by_while, x)
        return pullback(1.0)[0] + pullback(2.0)[0]

    assert_close(f(1.5), 3 * 6 * 1.5 ** 5, "first order", rtol=1e-12)
    with pytest.raises(NotImplementedError, match="tape read twice .* cannot be added") as info:
        dt.grad(f)(1.5)
    assert "fori_loop" not in str(info.value) and "scan" not in str(info.value)
    for fix in (lambda x: dt.vjp(power_by_while, x)[1](3.0)[0],  # the two fixes the message gives
                lambda x: dt.vjp(power_by_while, x)[1](1.0)[0] + dt.vjp(power_by_while, x)[1](2.0)[0]):
        assert_close(dt.grad(fix)(1.5), 3 * 30 * 1.5 ** 4, "fixed", rtol=1e-12)
