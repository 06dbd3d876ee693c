"""Structured control flow (`cond`, `while_loop`, `fori_loop`, `scan`): values against plain Python / NumPy runs,
derivatives in both modes against central finite differences (float64), the compiled program reused across
branches and trip counts, the emitted `if` / `while` / `for` statements and the while loop's tape, nested
programs in the printer, and vmap against stacking per-example results.

Finite differences need the function smooth around the point: every point used here keeps the branch taken
and the trip count of each loop unchanged within the difference stencil (the property test checks this with a
NumPy twin of each function that records how close each decision came to flipping).
"""

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape import tree
from gradcheck import (
    assert_close,
    check_jacfwd,
    check_jacrev,
    check_jvp,
    check_vjp,
    numerical_jacobian,
    numerical_jvp,
    numerical_vjp,
)
from testkit import EXACT

X = np.array([0.3, -0.7, 1.1])
S = np.array(0.7)


def numerical_grad(f, args, argnums=0):
    """d f / d args[argnums] of a scalar f by central differences (a tuple for a tuple argnums)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    bars = numerical_vjp(f, args, np.array(1.0), nums)
    return bars[0] if isinstance(argnums, int) else tuple(bars)


def check_compiled_grad(f, args, argnums=0):
    """dt.grad and dt.jit(dt.grad) of sum(f) equal finite differences."""
    loss = lambda *a: dnp.sum(f(*a))
    expected = numerical_grad(lambda *a: np.sum(f(*a)), args, argnums)
    for how, grad in (("grad", dt.grad(loss, argnums)), ("jit(grad)", dt.jit(dt.grad(loss, argnums)))):
        got = grad(*args)
        for g, e in zip(tree.leaves(got), tree.leaves(expected)):
            assert_close(g, e, how)


# ---- a doubling loop, then a branch ----------------------------------------------------------------
def double_then_branch(a):
    b = a * 2
    while dnp.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def double_then_branch_loss(a):
    return double_then_branch(a).sum()


def double_then_branch_np(a):
    """double_then_branch in plain NumPy, with its trip count and branch."""
    b, trips = a * 2, 0
    while np.linalg.norm(b) < 1000:
        b, trips = b * 2, trips + 1
    return (b if b.sum() > 0 else 100 * b), trips, bool(b.sum() > 0)


# points away from the trip-count jumps, taking both branches and several trip counts
DOUBLING_POINTS = [np.array([0.3, -0.1]), np.array([-0.3, 0.1]), np.array([3.0, 1.0]), np.array([-20.0, 7.0]),
                   np.array([0.011, 0.002])]


def test_doubling_points_cover_both_branches_and_several_trip_counts():
    runs = [double_then_branch_np(a)[1:] for a in DOUBLING_POINTS]
    assert {branch for _, branch in runs} == {True, False}
    assert len({trips for trips, _ in runs}) >= 4


@pytest.mark.parametrize("a", DOUBLING_POINTS, ids=lambda a: str(a.tolist()))
def test_double_then_branch_value_grad_jacrev_vjp_match_numpy_and_finite_differences(a):
    expected = double_then_branch_np(a)[0]
    assert_close(dt.jit(double_then_branch)(a), expected, "value", rtol=1e-14)
    fd = numerical_grad(lambda x: double_then_branch_np(x)[0].sum(), (a,))
    assert_close(dt.grad(double_then_branch_loss)(a), fd, "grad")
    jacobian = numerical_jacobian(lambda x: double_then_branch_np(x)[0], (a,))
    assert_close(dt.jacrev(double_then_branch)(a), jacobian, "jacrev")
    out, vjp_fn = dt.vjp(double_then_branch, a)
    assert_close(out, expected, "vjp value")
    ct = np.array([0.5, -2.0])
    (bar,) = vjp_fn(ct)
    assert_close(bar, numerical_vjp(lambda x: double_then_branch_np(x)[0], (a,), ct)[0], "vjp")


def test_double_then_branch_compiled_once_across_branches_and_trip_counts():
    g, f = dt.jit(dt.grad(double_then_branch_loss)), dt.jit(double_then_branch)
    for a in DOUBLING_POINTS:
        fd = numerical_grad(lambda x: double_then_branch_np(x)[0].sum(), (a,))
        assert_close(g(a), fd, f"jit(grad) at {a}")
        assert_close(f(a), double_then_branch_np(a)[0], f"jit at {a}", rtol=1e-14)
    assert g.trace_count == 1 and f.trace_count == 1


def test_double_then_branch_on_eager_tensors():
    for a in (np.array([0.3, -0.1]), np.array([-0.3, 0.1])):
        t = dt.tensor(a, requires_grad=True)
        double_then_branch(t).sum().backward()
        assert_close(t.grad.numpy(), dt.grad(double_then_branch_loss)(a), "eager backward")


# ---- cond ----------------------------------------------------------------------------------------------
W = np.array([1.5, -2.0, 0.5])


def cond_fn(p, x):
    # the true branch closes over W (a constant) and the false one over p (a differentiated argument)
    return dt.cond(p.sum() > 0, lambda a: dnp.sin(a) * W, lambda a: a ** 2 * p, x)


def cond_numpy(p, x):
    return np.sin(x) * W if p.sum() > 0 else x ** 2 * p


@pytest.mark.parametrize("sign", [1, -1], ids=["true", "false"])
def test_cond_both_branches_with_closures_in_both_modes(sign):
    p = sign * X
    assert_close(cond_fn(p, X), cond_numpy(p, X), "value", rtol=1e-14)
    assert_close(dt.jit(cond_fn)(p, X), cond_numpy(p, X), "jit value", rtol=1e-14)
    check_vjp(cond_fn, (p, X))
    check_jvp(cond_fn, (p, X))
    check_jacfwd(cond_fn, (p, X), argnums=(0, 1))
    check_compiled_grad(cond_fn, (p, X), argnums=(0, 1))


def test_cond_with_pytree_operands_and_outputs():
    def f(x, s):
        ops = {"u": x, "v": (x[:2], s)}
        out = dt.cond(x[0] > 0, lambda d: {"a": d["u"] * d["v"][1], "b": d["v"][0].sum()},
                      lambda d: {"a": d["u"] ** 3, "b": d["v"][0].prod() * d["v"][1]}, ops)
        return out["a"] * out["b"]

    def reference(x, s):
        return x * s * x[:2].sum() if x[0] > 0 else x ** 3 * x[:2].prod() * s

    for x in (X, -X):
        assert_close(f(x, S), reference(x, S), "value", rtol=1e-14)
        check_vjp(f, (x, S))
        check_jvp(f, (x, S))
        check_compiled_grad(f, (x, S), argnums=(0, 1))


def test_cond_on_a_concrete_predicate_runs_one_branch_as_python():
    calls = []
    out = dt.cond(True, lambda a: calls.append("t") or a + 1, lambda a: calls.append("f") or a - 1, 1.0)
    assert out == 2.0 and calls == ["t"]


def test_cond_errors_name_the_problem():
    with pytest.raises(ValueError, match="scalar"):
        dt.jit(lambda x: dt.cond(x > 0, lambda a: a, lambda a: -a, x))(X)
    with pytest.raises(ValueError, match="different types"):
        dt.jit(lambda x: dt.cond(x.sum() > 0, lambda a: a, lambda a: a[:2], x))(X)
    with pytest.raises(TypeError, match="different structures"):
        dt.jit(lambda x: dt.cond(x.sum() > 0, lambda a: (a, a), lambda a: a, x))(X)


# ---- while_loop ----------------------------------------------------------------------------------------
def while_fn(x, s):
    """Grows x until its squared norm passes 50: a data-dependent trip count; the body closes over s."""
    def body(c):
        i, v = c
        return i + 1, dnp.tanh(v * s) + v

    return dt.while_loop(lambda c: dnp.sum(c[1] ** 2) < 50.0, body, (0, x))[1]


def while_numpy(x, s):
    trips = 0
    while np.sum(x ** 2) < 50.0:
        x, trips = np.tanh(x * s) + x, trips + 1
    return x, trips


def test_while_loop_value_and_trip_count_depend_on_the_data():
    g = dt.jit(while_fn)
    trips = set()
    for x in (X, 3 * X, 0.1 * X):
        expected, n = while_numpy(x, S)
        trips.add(n)
        assert_close(g(x, S), expected, "value", rtol=1e-14)
    assert len(trips) == 3 and g.trace_count == 1


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_while_loop_gradients_wrt_initial_state_and_closed_over_value(scale):
    args = (scale * X, S)
    check_vjp(while_fn, args)  # both arguments: the initial state and the value the body closes over
    check_jvp(while_fn, args)
    check_jacrev(while_fn, args, argnums=(0, 1))
    check_jacfwd(while_fn, args, argnums=(0, 1))
    check_compiled_grad(while_fn, args, argnums=(0, 1))


def test_while_loop_that_never_runs_passes_values_and_cotangents_through():
    f = lambda x, s: dt.while_loop(lambda v: dnp.sum(v) < -100.0, lambda v: v * s, x) * 2
    assert_close(dt.jit(f)(X, S), 2 * X, "value")
    check_vjp(f, (X, S))
    g = dt.jit(dt.grad(lambda x, s: dnp.sum(f(x, s)), argnums=(0, 1)))(X, S)
    assert_close(g[0], 2 * np.ones(3), "d/dx") and assert_close(g[1], 0.0, "d/ds")


def test_while_loop_hessian_matches_finite_differences():
    """Forward over reverse through the loop's tape (test_higher_order.py has the rest)."""
    loss = lambda x: dnp.sum(while_fn(x, S))
    expected = numerical_jacobian(dt.grad(loss), (X,))
    assert_close(dt.hessian(loss)(X), expected, "hessian", rtol=1e-5, atol=1e-6)


def test_while_loop_errors():
    with pytest.raises(TypeError, match="while_loop: the body returns"):
        dt.jit(lambda x: dt.while_loop(lambda c: c[0] < 3, lambda c: c[0] + 1, (0, x)))(X)
    with pytest.raises(ValueError, match="changes from f64\\[3\\] to f64\\[6\\]"):
        dt.jit(lambda x: dt.while_loop(lambda v: v.sum() < 3, lambda v: dnp.concatenate([v, v]), x))(X)


# ---- fori_loop -----------------------------------------------------------------------------------------
A3 = np.random.default_rng(0).standard_normal((3, 3)) * 0.5


def fori_fn(x, a):
    return dt.fori_loop(0, 5, lambda i, v: dnp.tanh(a @ v) + i * 0.1 * v, x)


def fori_numpy(x, a):
    for i in range(5):
        x = np.tanh(a @ x) + i * 0.1 * x
    return x


def test_fori_loop_with_static_bounds_in_both_modes():
    assert_close(fori_fn(X, A3), fori_numpy(X, A3), "value", rtol=1e-14)
    assert_close(dt.jit(fori_fn)(X, A3), fori_numpy(X, A3), "jit value", rtol=1e-14)
    check_vjp(fori_fn, (X, A3))
    check_jvp(fori_fn, (X, A3))
    check_jacfwd(fori_fn, (X, A3), argnums=0)
    check_compiled_grad(fori_fn, (X, A3), argnums=(0, 1))


def test_fori_loop_with_offset_and_empty_range():
    f = lambda x: dt.fori_loop(2, 5, lambda i, v: v * i, x)
    assert_close(dt.jit(f)(X), X * 2 * 3 * 4, "offset", rtol=1e-14)
    check_compiled_grad(f, (X,))
    empty = lambda x: dt.fori_loop(3, 3, lambda i, v: v * 7.0, x)
    assert_close(dt.jit(empty)(X), X, "empty")
    check_compiled_grad(empty, (X,))


def traced_fori(x, n):
    return dt.fori_loop(0, n, lambda i, v: dnp.sin(v) * 1.1 + 0.01 * i, x)


def traced_fori_numpy(x, n):
    for i in range(n):
        x = np.sin(x) * 1.1 + 0.01 * i
    return x


def test_fori_loop_with_a_traced_bound_is_compiled_once():
    f = dt.jit(traced_fori)
    g = dt.jit(dt.grad(lambda x, n: dnp.sum(traced_fori(x, n))))
    for n in (0, 1, 4, 9):
        assert_close(f(X, n), traced_fori_numpy(X, n), f"value n={n}", rtol=1e-14)
        fd = numerical_grad(lambda x, n=n: np.sum(traced_fori_numpy(x, n)), (X,))
        assert_close(g(X, n), fd, f"grad n={n}")
    assert f.trace_count == 1 and g.trace_count == 1
    check_jvp(lambda x: traced_fori(x, np.int64(4)), (X,))


def test_fori_loop_hessian_forward_over_reverse():
    f = lambda x: dnp.sum(dt.fori_loop(0, 4, lambda i, v: dnp.sin(v) * v, x))
    expected = numerical_jacobian(dt.grad(f), (X,))
    assert_close(dt.hessian(f)(X), expected, "hessian", rtol=1e-6, atol=1e-6)


# ---- scan ----------------------------------------------------------------------------------------------
XS = np.random.default_rng(1).standard_normal((4, 3))


def scan_fn(x, xs):
    return dt.scan(lambda c, xi: (c * dnp.cos(xi) + xi, dnp.sin(c) * xi), x, xs)


def scan_numpy(x, xs, reverse=False):
    ys = [None] * len(xs)
    for i in (reversed(range(len(xs))) if reverse else range(len(xs))):
        x, ys[i] = x * np.cos(xs[i]) + xs[i], np.sin(x) * xs[i]
    return x, np.stack(ys)


def test_scan_carry_and_stacked_ys_in_both_modes():
    for got in (scan_fn(X, XS), dt.jit(scan_fn)(X, XS)):
        for g, e in zip(got, scan_numpy(X, XS)):
            assert_close(g, e, "value", rtol=1e-14)
    check_vjp(scan_fn, (X, XS))
    check_jvp(scan_fn, (X, XS))
    check_jacrev(scan_fn, (X, XS), argnums=(0, 1))
    check_jacfwd(scan_fn, (X, XS), argnums=(0, 1))
    check_compiled_grad(lambda x, xs: scan_fn(x, xs)[1] + scan_fn(x, xs)[0], (X, XS), argnums=(0, 1))


def test_scan_reverse_with_pytree_xs_and_ys():
    def f(x, xs):
        return dt.scan(lambda c, d: (c * dnp.cos(d["a"]) + d["b"], (dnp.sin(c), d["b"] * c)), x,
                       {"a": xs, "b": xs * 2}, reverse=True)

    def reference(x, xs):
        ys0, ys1 = [None] * 4, [None] * 4
        for i in reversed(range(4)):
            ys0[i], ys1[i] = np.sin(x), xs[i] * 2 * x
            x = x * np.cos(xs[i]) + xs[i] * 2
        return x, (np.stack(ys0), np.stack(ys1))

    for got in (f(X, XS), dt.jit(f)(X, XS)):
        for g, e in zip(tree.leaves(got), tree.leaves(reference(X, XS))):
            assert_close(g, e, "value", rtol=1e-14)
    check_vjp(f, (X, XS))
    check_jvp(f, (X, XS))
    check_compiled_grad(lambda x, xs: f(x, xs)[1][1], (X, XS), argnums=(0, 1))


def test_scan_closing_over_a_differentiated_value_and_hessian():
    f = lambda x, s: dnp.sum(dt.scan(lambda c, xi: (dnp.tanh(c * s + xi), c * s), x, XS)[1] ** 2)
    check_vjp(f, (X, S))
    check_jvp(f, (X, S))
    g = lambda x: f(x, S)
    assert_close(dt.hessian(g)(X), numerical_jacobian(dt.grad(g), (X,)), "hessian", rtol=1e-6, atol=1e-6)


def test_scan_errors():
    with pytest.raises(ValueError, match="leading length"):
        dt.scan(lambda c, x: (c, x), 0.0, (np.zeros(3), np.zeros(4)))
    with pytest.raises(TypeError, match="carry"):
        dt.jit(lambda x: dt.scan(lambda c, xi: ((c, c), xi), x, XS))(X)


# ---- compositions ----------------------------------------------------------------------------------------
def nested_fori(x, s):
    return dt.fori_loop(0, 3, lambda i, v: dt.fori_loop(0, 3, lambda j, u: dnp.sin(u * s) + 0.1 * j, v) * 0.9, x)


def nested_while(x, s):
    def body(v):
        return dt.while_loop(lambda u: dnp.sum(u) < 4.0, lambda u: u * s + 0.1, v) * 1.5

    return dt.while_loop(lambda v: dnp.max(v) < 30.0, body, x)


def loop_in_cond(x, s):
    return dt.cond(x.sum() > 0,
                   lambda v: dt.while_loop(lambda u: dnp.sum(u ** 2) < 20.0, lambda u: u * s, v),
                   lambda v: dt.fori_loop(0, 3, lambda i, u: dnp.cos(u) * s, v), x)


def cond_in_fori(x, s):
    body = lambda i, v: dt.cond(v.sum() > 1.0, lambda u: u * 0.5 * s, lambda u: dnp.exp(u * 0.3) * s, v)
    return dt.fori_loop(0, 6, body, x)


def cond_in_while(x, s):
    def body(c):
        k, v = c
        return k + 1, dt.cond(v.sum() > 1.0, lambda u: u * 0.5 * s, lambda u: dnp.exp(u * 0.3) * s, v)

    return dt.while_loop(lambda c: c[0] < 5, body, (0, x))[1]


def scan_in_while(x, s):
    def body(v):
        return dt.scan(lambda c, xi: (c * s + xi, c), v.sum(), v)[1] + v

    return dt.while_loop(lambda v: dnp.sum(v ** 2) < 30.0, body, x)


POS = np.array([0.3, 0.7, 1.1])
COMPOSITIONS = [(nested_fori, X), (nested_while, POS), (loop_in_cond, POS), (loop_in_cond, -POS),
                (cond_in_fori, X), (cond_in_while, X), (scan_in_while, POS)]


@pytest.mark.parametrize("f, x", COMPOSITIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_nested_control_flow_in_both_modes(f, x):
    s = np.array(1.3)
    check_vjp(f, (x, s))
    check_jvp(f, (x, s))
    check_compiled_grad(f, (x, s), argnums=(0, 1))


def test_checkpoint_inside_a_loop_body():
    step = dt.checkpoint(lambda v: dnp.tanh(A3 @ v) * 1.1)
    f = lambda x: dt.fori_loop(0, 4, lambda i, v: step(v) + 0.1 * v, x)
    assert_close(f(X), np.asarray(dt.fori_loop(0, 4, lambda i, v: np.tanh(A3 @ v) * 1.1 + 0.1 * v, X)), "value")
    check_vjp(f, (X,))
    check_compiled_grad(f, (X,))


def test_a_loop_input_also_used_after_the_loop_gets_both_cotangents():
    """A value read by a loop and again after it: its cotangent sums both uses (the compiled adjoint loop
    must not overwrite the saved residuals with its own carry)."""
    forms = [
        lambda y: dnp.sum(dt.fori_loop(0, 3, lambda i, v: dnp.tanh(v), y)) + dnp.sum(y),
        lambda y: dnp.sum(dt.fori_loop(0, 3, lambda i, v: dnp.tanh(v), y) * y),
        lambda y: dnp.sum(dt.fori_loop(0, 3, lambda i, v: dnp.tanh(v) + i, y)) + dnp.sum(
            dt.fori_loop(0, 2, lambda i, v: dnp.sin(v), y)),
        lambda y: dnp.sum(dt.while_loop(lambda v: dnp.sum(v) < 5.0, lambda v: v * 1.5 + dnp.tanh(v), y) * y),
    ]
    for k, f in enumerate(forms):
        expected = numerical_grad(f, (POS,))
        assert_close(dt.grad(f)(POS), expected, f"grad of form {k}")
        assert_close(dt.jit(dt.grad(f))(POS), expected, f"jit(grad) of form {k}")


def test_float32_stays_float32_through_every_primitive():
    x = X.astype(np.float32)

    def f(x):
        y = dt.cond(x.sum() > 0, lambda v: v * 2, lambda v: dnp.sin(v), x)
        y = dt.while_loop(lambda v: dnp.sum(v ** 2) < 20.0, lambda v: v * 1.5 + 0.1, y)
        c, ys = dt.scan(lambda c, xi: (c * 0.9 + xi, c * xi), y[0], y)
        return c + ys.sum() + dt.fori_loop(0, 3, lambda i, v: dnp.tanh(v), y).sum()

    assert np.asarray(dt.jit(f)(x)).dtype == np.float32
    assert dt.grad(f)(x).dtype == np.float32 and dt.jit(dt.grad(f))(x).dtype == np.float32
    assert dt.jvp(f, (x,), (np.ones(3, np.float32),))[1].dtype == np.float32


def test_optimisation_off_gives_the_same_numbers():
    f = lambda x, s: dnp.sum(loop_in_cond(x, s)) + dnp.sum(cond_in_fori(x, s)) + dnp.sum(scan_in_while(x, s))
    s = np.array(1.3)  # > 1: the while loops grow their state, so they end
    on = dt.jit(dt.grad(f, argnums=(0, 1)))(POS, s)
    old = dt.config.optimize
    dt.config.optimize = False
    try:
        off = dt.jit(dt.grad(f, argnums=(0, 1)))(POS, s)
    finally:
        dt.config.optimize = old
    for a, b in zip(on, off):
        assert_close(a, b, "optimize on vs off", rtol=1e-12)


# ---- an ODE integrated by a loop ---------------------------------------------------------------------
N_STATE, N_STEPS = 8, 50
RNG = np.random.default_rng(3)
A_ODE = RNG.standard_normal((N_STATE, N_STATE)) * 0.3
X0_ODE = RNG.standard_normal(N_STATE)


def ode_fori(a, x0):
    x = dt.fori_loop(0, N_STEPS, lambda i, x: x + 0.01 * dnp.tanh(a @ x), x0)
    return dnp.sum(x ** 2)


def ode_python_for(a, x0):
    x = x0
    for _ in range(N_STEPS):  # a concrete range: autograph unrolls it
        x = x + 0.01 * dnp.tanh(a @ x)
    return dnp.sum(x ** 2)


def ode_numpy(a, x0):
    x = x0
    for _ in range(N_STEPS):
        x = x + 0.01 * np.tanh(a @ x)
    return np.sum(x ** 2)


def test_ode_gradient_wrt_A_by_fori_loop_equals_python_for_and_finite_differences():
    assert_close(dt.jit(ode_fori)(A_ODE, X0_ODE), ode_numpy(A_ODE, X0_ODE), "value", rtol=1e-13)
    by_fori = dt.jit(dt.grad(ode_fori))(A_ODE, X0_ODE)
    by_for = dt.jit(dt.grad(ode_python_for))(A_ODE, X0_ODE)
    assert_close(by_fori, by_for, "fori vs for", rtol=1e-12)
    assert_close(dt.grad(ode_fori)(A_ODE, X0_ODE), by_fori, "grad vs jit(grad)", rtol=1e-12)
    h = 1e-5
    for i, j in [(0, 0), (3, 5), (7, 1)]:
        e = np.zeros_like(A_ODE)
        e[i, j] = h
        fd = (ode_numpy(A_ODE + e, X0_ODE) - ode_numpy(A_ODE - e, X0_ODE)) / (2 * h)
        assert_close(by_fori[i, j], fd, f"dA[{i},{j}]", rtol=1e-6)


def test_ode_python_for_unrolls_while_fori_loop_stays_one_loop():
    unrolled = dt.trace(ode_python_for)(A_ODE, X0_ODE)
    looped = dt.trace(ode_fori)(A_ODE, X0_ODE)
    assert sum(e.prim.name == "tanh" for e in unrolled.eqns) == N_STEPS
    assert [e.prim.name for e in looped.eqns].count("scan") == 1 and len(looped.eqns) < 5


# ---- liveness: a value defined before a loop and used after it ----------------------------------------
def liveness_while(x):
    y = x * 3
    z = x
    while dnp.sum(z) < 10.0:
        z = z + y
    return z + y


def liveness_reference(x):
    y, z = x * 3, x
    while np.sum(z) < 10.0:
        z = z + y
    return z + y


def test_a_value_used_in_and_after_a_loop_gets_its_adjoint_through_the_loop():
    x = np.array([0.5, 0.2])
    assert_close(dt.jit(liveness_while)(x), liveness_reference(x), "value")
    expected = numerical_grad(lambda v: np.sum(liveness_reference(v)), (x,))
    assert not np.allclose(expected, 4.0)  # the loop's contribution is not negligible
    assert_close(dt.grad(lambda v: dnp.sum(liveness_while(v)))(x), expected, "grad")
    assert_close(dt.jit(dt.grad(lambda v: dnp.sum(liveness_while(v))))(x), expected, "jit(grad)")
    check_vjp(liveness_while, (x,))


def test_liveness_through_a_traced_for_loop_and_a_primitive_loop():
    def f(x, n):
        y = dnp.sin(x)
        z = x * 1.0
        for _ in range(n):
            z = z * 0.5 + y
        return z * y

    def reference(x, n):
        y, z = np.sin(x), x * 1.0
        for _ in range(n):
            z = z * 0.5 + y
        return z * y

    x = np.array([0.5, 0.2])
    g = dt.jit(dt.grad(lambda v, n: dnp.sum(f(v, n))))
    for n in (0, 2, 5):
        assert_close(g(x, n), numerical_grad(lambda v, n=n: np.sum(reference(v, n)), (x,)), f"n={n}")
    assert g.trace_count == 1
    prim = lambda x: dnp.sum(dt.fori_loop(0, 4, lambda i, z: z * 0.5 + dnp.sin(x), x) * dnp.sin(x))
    assert_close(dt.grad(prim)(x), numerical_grad(lambda v: np.sum(reference(v, 4)), (x,)), "fori_loop")


# ---- emission and printing -----------------------------------------------------------------------------
def all_forms(x, n):
    y = dt.cond(x.sum() > 0, lambda v: v * 2, lambda v: dnp.sin(v), x)
    y = dt.while_loop(lambda v: dnp.sum(v ** 2) < 20.0, lambda v: v * 1.5 + 0.1, y)
    c, ys = dt.scan(lambda c, xi: (c * 0.9 + xi, c * xi), y[0], y)
    z = dt.fori_loop(0, 3, lambda i, v: dnp.tanh(v) + i, y)
    w = dt.fori_loop(0, n, lambda i, v: v * 0.5, z)
    return c + ys.sum() + w.sum()


def test_source_has_real_if_while_and_for_statements():
    src = dt.source(all_forms, X, 3)
    assert re.search(r"^\s+if \w+:$", src, re.M) and re.search(r"^\s+else:$", src, re.M)
    assert re.search(r"^\s+while \w+:$", src, re.M)
    assert re.search(r"^\s+for \w+ in range\(3\):$", src, re.M)
    assert "cond" not in src.replace("# ", "") or "dt.cond" in src  # no call of a cond function


def test_gradient_source_shows_the_tape_and_the_reversed_loops():
    src = dt.source(dt.grad(all_forms), X, 3)
    assert re.search(r"^\s+tape\w* = \[\]$", src, re.M)
    forward, adjoint = src.index(".append(("), src.index("in reversed(tape")
    assert forward < adjoint
    assert re.search(r"^(\s+)while \w+:\n(?:\1\s+.*\n)*?\1\s+tape\w*\.append\(\(", src, re.M)  # in the loop
    assert re.search(r"^\s+for (\(.*\)|_) in reversed\(tape\w*\):", src, re.M)  # popped by the adjoint loop
    assert "in reversed(range(3)):" in src  # scan and fori_loop run backwards over their saved values
    assert_close(dt.jit(dt.grad(all_forms))(X, 3), numerical_grad(lambda x: all_forms(x, 3), (X,)), "grad")


def test_a_while_tape_holds_what_the_adjoint_reads_not_the_state():
    """The body's forward and backward parts are split as for scan: tanh's derivative reads 1 - tanh(v)**2,
    computed in the forward loop and pushed; a linear body pushes nothing and the tape only counts steps."""
    def f(x):
        return dnp.sum(dt.while_loop(lambda v: dnp.sum(v * v) < 50.0, lambda v: dnp.tanh(v) + 1.5 * v, x))

    src = dt.source(dt.grad(f), X)
    (pushed,) = re.findall(r"tape\w*\.append\(\((\w+),\)\)", src)
    before_push = src[:src.index(".append(")].splitlines()[-2].strip()
    assert before_push == f"{pushed} = 1 - {pushed}"  # 1 - tanh(v)**2, computed forward
    assert "xp.tanh" not in src[src.index("reversed(tape"):]  # the adjoint loop does not recompute the body
    assert_close(dt.grad(f)(X), numerical_grad(f, (X,)), "while with a residual tape")

    def linear(x):
        return dnp.sum(dt.while_loop(lambda v: dnp.sum(v * v) < 50.0, lambda v: 1.5 * v, x))

    src = dt.source(dt.grad(linear), X)
    assert "tape.append(())" in src and "for _ in reversed(tape):" in src
    assert_close(dt.grad(linear)(X), numerical_grad(linear, (X,)), "while counting steps")


def test_source_comments_name_the_users_lines():
    src = dt.source(dt.grad(double_then_branch_loss), DOUBLING_POINTS[0])
    assert "while dnp.linalg.norm(b) < 1000:" in src and "c = 100 * b" in src
    assert "test_flow.py:" in src


def test_printed_program_shows_nested_blocks_and_checks():
    prog = dt.trace(all_forms)(X, 3)
    text = str(prog)
    for name in ("false_branch", "true_branch", "cond", "body"):
        assert re.search(rf"^\s{{4,}}program {name}\(", text, re.M), name
    assert re.search(r"^  \w+:f64\[3\] = while_loop\[", text, re.M)
    assert re.search(r"^        \w+:f64\[3\] = mul ", text, re.M)  # an equation inside a nested block
    prog.check()
    nested = dt.trace(lambda x, s: dnp.sum(loop_in_cond(x, s)) + dnp.sum(cond_in_while(x, s)))(POS, 1.3)
    nested.check()
    dt.trace(dt.grad(all_forms))(X, 3).check()
    dt.trace(dt.grad(lambda x, s: dnp.sum(nested_while(x, s))))(POS, 1.3).check()


# ---- vmap ----------------------------------------------------------------------------------------------
BATCH = np.random.default_rng(4).standard_normal((4, 3))


def _stack(outs):
    leaves = [tree.leaves(o) for o in outs]
    return tree.unflatten(tree.flatten(outs[0])[1], [np.stack(z) for z in zip(*leaves)])


VMAPPED = {
    "cond": lambda x: dt.cond(x.sum() > 0, lambda v: v * 2, lambda v: dnp.sin(v), x),
    "while_loop": lambda x: dt.while_loop(lambda v: dnp.sum(v ** 2) < 20.0, lambda v: v * 1.5 + 0.1, x),
    "scan": lambda x: dt.scan(lambda c, xi: (c * 0.9 + xi, c * xi), x[0], x),
    "fori_loop": lambda x: dt.fori_loop(0, 3, lambda i, v: dnp.tanh(v) + i, x),
    "cond_of_a_closed_over_value": lambda x: dt.cond(W.sum() > 0, lambda v: v * 2, lambda v: v, x),
}


@pytest.mark.parametrize("name", list(VMAPPED))
def test_vmap_equals_stacking_per_example_results(name):
    f = VMAPPED[name]
    expected = _stack([dt.jit(f)(x) for x in BATCH])
    for how, got in (("vmap", dt.vmap(f)(BATCH)), ("jit(vmap)", dt.jit(dt.vmap(f))(BATCH))):
        for g, e in zip(tree.leaves(got), tree.leaves(expected)):
            assert_close(g, e, how, rtol=1e-14)
    loss = lambda x: dnp.sum(tree.leaves(f(x))[0])
    per_example = np.stack([dt.grad(loss)(x) for x in BATCH])
    assert_close(dt.vmap(dt.grad(loss))(BATCH), per_example, "vmap(grad)", rtol=1e-14)


def test_vmap_of_a_while_loop_gradient_inside_jit_masks_the_examples_that_stopped():
    """One loop for the batch, its tape recording which examples ran each step: the trip counts differ."""
    loss = lambda x: dnp.sum(VMAPPED["while_loop"](x) ** 2)
    batch = BATCH * np.array([[0.2], [1.0], [3.0], [0.6]])
    trips = {int(dt.while_loop(lambda c: dnp.sum(c[1] ** 2) < 20.0, lambda c: (c[0] + 1, c[1] * 1.5 + 0.1), (0, x))[0])
             for x in batch}
    assert len(trips) > 1
    per_example = np.stack([dt.grad(loss)(x) for x in batch])
    assert_close(dt.jit(dt.vmap(dt.grad(loss)))(batch), per_example, "jit(vmap(grad))", rtol=1e-14)
    assert_close(per_example, np.stack([numerical_grad(loss, (x,)) for x in batch]), "grad")


# ---- property test: random compositions against a NumPy twin -------------------------------------------
class Twin:
    """A function built twice from the same recipe: with dualtape's control flow, and in plain NumPy, the
    latter recording each decision it takes (branch, loop test), so a test can see that no decision flips
    within the finite-difference stencil."""

    def __init__(self, recipe):
        self.recipe = recipe
        self.decisions = []

    def decisions_at(self, v, s):
        self.decisions = []
        self.numpy(v, s)
        return self.decisions

    def stable(self, v, s, h=2e-4):
        """Whether every point of the difference stencils (each input moved by up to 2h) takes the same
        decisions as (v, s)."""
        base = self.decisions_at(v, s)
        moves = [(v + d * e, s) for e in np.eye(len(v)) for d in (-h, h)] + [(v, s + d) for d in (-h, h)]
        moves += [(v + d * np.array([0.3, -0.5, 0.8]), s) for d in (-h, h)]
        return all(self.decisions_at(*m) == base for m in moves)

    def dual(self, v, s, recipe=None):
        kind, *parts = recipe or self.recipe
        if kind == "sin":
            return dnp.sin(v) * s
        if kind == "tanh":
            return dnp.tanh(v * s) + v
        if kind == "fanout":
            return self.dual(v, s, parts[0]) + 0.5 * v
        if kind == "cond":
            return dt.cond(v.sum() > 0.3, lambda u: self.dual(u, s, parts[0]), lambda u: self.dual(u, s, parts[1]), v)
        if kind == "fori":
            return dt.fori_loop(0, parts[1], lambda i, u: self.dual(u, s, parts[0]) * 0.7, v)
        if kind == "while_count":
            return dt.while_loop(lambda c: c[0] < parts[1], lambda c: (c[0] + 1, self.dual(c[1], s, parts[0]) * 0.7),
                                 (0, v))[1]
        if kind == "while_data":
            def test(c):
                return (c[0] < 6) & (dnp.sum(c[1] ** 2) < 4.0)
            return dt.while_loop(test, lambda c: (c[0] + 1, 1.5 * c[1] + 0.2 * self.dual(c[1], s, parts[0])),
                                 (0, v))[1]
        assert kind == "scan"
        c, ys = dt.scan(lambda c, x: (self.dual(c, s, parts[0]) * dnp.cos(x), dnp.sum(c) * x), v, v,
                        reverse=parts[1])
        return c + ys

    def numpy(self, v, s, recipe=None):
        kind, *parts = recipe or self.recipe
        if kind == "sin":
            return np.sin(v) * s
        if kind == "tanh":
            return np.tanh(v * s) + v
        if kind == "fanout":
            return self.numpy(v, s, parts[0]) + 0.5 * v
        if kind == "cond":
            return self.numpy(v, s, parts[0] if self.note(v.sum() > 0.3) else parts[1])
        if kind in ("fori", "while_count"):
            for _ in range(parts[1]):
                v = self.numpy(v, s, parts[0]) * 0.7
            return v
        if kind == "while_data":
            k = 0
            while k < 6 and self.note(np.sum(v ** 2) < 4.0):
                v, k = 1.5 * v + 0.2 * self.numpy(v, s, parts[0]), k + 1
            return v
        ys = [None] * len(v)
        c = v
        for i in (reversed(range(len(v))) if parts[1] else range(len(v))):
            c, ys[i] = self.numpy(c, s, parts[0]) * np.cos(v[i]), np.sum(c) * v[i]
        return c + np.array(ys)

    def note(self, decision):
        self.decisions.append(bool(decision))
        return decision


LEAVES = st.sampled_from([("sin",), ("tanh",)])


def _extend(inner):
    return st.one_of(
        st.tuples(st.just("fanout"), inner),
        st.tuples(st.just("cond"), inner, inner),
        st.tuples(st.just("fori"), inner, st.integers(0, 3)),
        st.tuples(st.just("while_count"), inner, st.integers(0, 3)),
        st.tuples(st.just("while_data"), inner),
        st.tuples(st.just("scan"), inner, st.booleans()),
    )


RECIPES = st.recursive(LEAVES, _extend, max_leaves=4)
VALUES = st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=3, max_size=3).map(np.array)


@settings(max_examples=20, deadline=None)
@given(RECIPES, VALUES, st.floats(0.3, 1.5))
def test_random_compositions_match_numpy_and_finite_differences(recipe, v, s):
    twin, s = Twin(recipe), np.array(s)
    expected = twin.numpy(v, s)
    assume(np.all(np.abs(expected) < 1e3) and twin.stable(v, s))  # no decision flips inside the stencil
    assert_close(dt.jit(twin.dual)(v, s), expected, "value", **EXACT)
    loss = lambda v, s: dnp.sum(twin.dual(v, s))
    fd = numerical_grad(lambda v, s: np.sum(twin.numpy(v, s)), (v, s), (0, 1))
    for how, grad in (("grad", dt.grad(loss, (0, 1))), ("jit(grad)", dt.jit(dt.grad(loss, (0, 1))))):
        for g, e in zip(grad(v, s), fd):
            assert_close(g, e, f"{how} of {recipe}", rtol=2e-4, atol=1e-6)  # loops amplify the FD error
    t = np.array([0.3, -0.5, 0.8])
    _, out_dot = dt.jvp(lambda v: twin.dual(v, s), (v,), (t,))
    assert_close(out_dot, numerical_jvp(lambda v: twin.numpy(v, s), (v,), (t,))[0], f"jvp of {recipe}",
                 rtol=2e-4, atol=1e-6)


def test_loops_whose_bodies_emit_nothing_compile():
    """A loop body that leaves its state as it was (an identity fori_loop, the adjoint of an additive while
    loop) is written with `pass`, not as an empty block."""

    def f(v):
        while dnp.sum(v) < 10.0:
            v = v + 1.0
        return dnp.sum(v)

    x = np.array([0.3, -0.2, 0.5])
    np.testing.assert_allclose(dt.grad(f)(x), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(dt.jit(lambda v: dt.fori_loop(0, 3, lambda i, c: c, v))(x), x)
    assert "pass" in dt.source(dt.grad(f), x)


def test_a_python_number_starting_a_loop_takes_the_type_the_body_gives_it():
    """As in JAX: `s = 0.0` (or `s = 0`) summing float32 values in a loop carries float32."""
    x32 = np.array([0.3, -0.2, 0.5], np.float32)

    def total(x, start):
        s = start
        for i in range(dnp.argmax(x) + 1):  # a traced trip count: a loop primitive
            s = s + x[i]
        return s

    for start in (0.0, 0):
        out = dt.jit(lambda x, start=start: total(x, start))(x32)
        assert np.asarray(out).dtype == np.float32
        np.testing.assert_allclose(out, x32.sum(), rtol=1e-6)
    assert np.asarray(dt.jit(lambda v: dt.fori_loop(0, 3, lambda i, s: s + v[i], 0.0))(x32)).dtype == np.float32
    assert np.asarray(dt.jit(lambda v: dt.scan(lambda c, x: (c + x, None), 0, v)[0])(x32)).dtype == np.float32
    assert np.asarray(dt.jit(lambda v: dt.while_loop(lambda s: s < 10, lambda s: s + v[0], 0.0))(x32)).dtype \
        == np.float32
    counted = dt.jit(lambda v: dt.fori_loop(0, 3, lambda i, s: s + 1, 0))(x32)  # ints stay ints
    assert np.asarray(counted).dtype == np.int64 and counted == 3
