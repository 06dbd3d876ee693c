"""Reverse mode against finite differences: every differentiable primitive alone (vjp, grad and jacrev, through
its dnp function or operator), random compositions of primitives, and the adjoint transform's own duties
(fan-out sums cotangents, inactive values get none, the forward sweep keeps only what the backward reads)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape import tree
from dualtape.core.primitive import REGISTRY
from dualtape.transforms.vjp import Pullback, active_vars
from gradcheck import assert_close, check_grads, check_jacrev, check_vjp, numerical_jacobian, numerical_vjp
from primitive_cases import DIFFERENTIABLE, draw_args
from strategies import Domain, arrays

SETTINGS = settings(max_examples=12, deadline=None)
X3 = np.array([0.5, -1.0, 2.0])


def _draw_case(data, name):
    case = DIFFERENTIABLE[name]
    shapes, params, dtypes = data.draw(case.layout, label="layout")
    args = draw_args(data.draw, case, shapes, dtypes)
    return case, case.call(params), args


def _over_sub_programs(p) -> bool:
    """checkpoint / custom rules and control flow (their own suites, in tests/control/)."""
    return p.inline_param is not None or getattr(p, "emit_statements", None) is not None


def _differentiable():
    return sorted(n for n, p in REGISTRY.items() if p.differentiable and not _over_sub_programs(p))


# ---- every primitive alone ---------------------------------------------------------------------------
def test_every_differentiable_primitive_has_a_vjp_rule_and_a_case():
    assert {"checkpoint", "custom_jvp_call", "custom_vjp_call"} <= {
        n for n, p in REGISTRY.items() if _over_sub_programs(p)}
    without_rule = [n for n, p in REGISTRY.items() if p.differentiable and p.vjp is None
                    and getattr(p, "emit_statements", None) is None]  # (control flow: its own suite)
    assert not without_rule, f"differentiable primitives without a VJP rule: {without_rule}"
    without_case = sorted(set(_differentiable()) - set(DIFFERENTIABLE))
    assert not without_case, f"differentiable primitives without a case in primitive_cases.py: {without_case}"
    stale = sorted(n for n in DIFFERENTIABLE if n not in REGISTRY or not REGISTRY[n].differentiable)
    assert not stale, f"cases for primitives that are not differentiable primitives: {stale}"


@pytest.mark.parametrize("name", _differentiable())
@SETTINGS
@given(data=st.data())
def test_vjp_of_each_primitive_matches_finite_differences(name, data):
    case, f, args = _draw_case(data, name)
    check_vjp(f, args, **case.tolerances())


@pytest.mark.parametrize("name", _differentiable())
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_grad_and_jacrev_of_each_primitive_match_finite_differences(name, data):
    case, f, args = _draw_case(data, name)
    with np.errstate(all="ignore"):
        out = np.asarray(f(*args))
    weights = np.linspace(-1.0, 1.0, out.size).reshape(out.shape).astype(out.dtype)
    scalar = lambda *xs: dnp.sum(f(*xs) * weights)
    nums = tuple(range(len(args)))
    got = dt.grad(scalar, argnums=nums)(*args)
    for k, (g, x, n) in enumerate(zip(got, args, numerical_vjp(f, args, weights, nums, **case.tolerances("h")))):
        assert g.dtype == x.dtype and g.shape == x.shape, f"grad {k}: {g.dtype}{g.shape} for {x.dtype}{x.shape}"
        assert_close(g, n, f"grad of operand {k}", **case.tolerances("rtol", "atol"))
    check_jacrev(f, args, argnums=nums, **case.tolerances())


def test_jacrev_with_zero_size_output_and_input():
    jac = dt.jacrev(lambda a: a[0, ..., np.array(0)])(np.ones((1, 0, 1)))
    assert jac.shape == (0, 1, 0, 1)


def test_binary_operands_broadcast_both_ways():
    x, y = np.array([[0.5], [-1.5], [2.0]]), np.array([[1.0, -2.0, 0.25, 3.0]])
    for op in (lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a - b, dnp.arctan2, lambda a, b: a ** 2 * b):
        _, (x_bar, y_bar) = check_vjp(op, (x, y))
        assert x_bar.shape == (3, 1) and y_bar.shape == (1, 4)
    # and against a hand computation: d/dx sum(x * y) = row sums of y, d/dy = column sums of x
    gx, gy = dt.grad(lambda a, b: dnp.sum(a * b), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.full((3, 1), y.sum()))
    np.testing.assert_allclose(gy, np.full((1, 4), x.sum()))
    _, (s_bar, v_bar) = check_vjp(lambda s, v: s * v, (np.array(1.5), np.arange(6.0).reshape(2, 3)))
    assert s_bar.shape == () and v_bar.shape == (2, 3)


def test_max_and_min_send_the_cotangent_to_the_extremum():
    x = np.array([[0.3, 2.0, -1.0], [4.0, 0.5, 1.5]])
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.max(a))(x), [[0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(dnp.min(a, axis=1)))(x), [[0, 0, 1], [0, 1, 0]])
    for axis in (None, 0, 1, (0, 1)):
        for keepdims in (False, True):
            check_vjp(lambda a, axis=axis, k=keepdims: dnp.max(a, axis, keepdims=k), (x,))
            check_vjp(lambda a, axis=axis, k=keepdims: dnp.min(a, axis, keepdims=k), (x,))


def test_prod_away_from_zero_and_at_zeros():
    x = np.array([[0.5, -2.0, 1.5], [3.0, 0.75, -1.25]])
    np.testing.assert_allclose(dt.grad(lambda a: dnp.prod(a))(x), np.prod(x) / x)
    for axis in (0, 1, None):
        check_vjp(lambda a, axis=axis: dnp.prod(a, axis=axis, keepdims=True), (x,))
    # the derivative is the product of the other elements, also where one is zero (prod / x would be 0 / 0)
    z = np.array([[0.0, 2.0, 3.0], [4.0, 0.0, 0.0], [1.5, 2.0, -1.0]])
    others = np.array([[6.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-2.0, -1.5, 3.0]])
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(dnp.prod(a, axis=1)))(z), others)
    np.testing.assert_array_equal(dt.jvp(lambda a: dnp.prod(a, axis=1), (z,), (np.ones((3, 3)),))[1], others.sum(1))
    check_vjp(lambda a: dnp.prod(a, axis=1), (z,))
    check_vjp(lambda a: dnp.prod(a[:1]), (z,))
    # second order where a slice has a single zero: d2 (x y z) / dx dy = z
    np.testing.assert_array_equal(dt.hessian(lambda a: dnp.prod(a))(z[0]), [[0, 3, 2], [3, 0, 0], [2, 0, 0]])
    check_grads(lambda a: dnp.prod(a, axis=1), (z[[0, 2]],), order=2, modes=("fwd", "rev"))


def test_integer_array_indices_with_repeats_accumulate():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    idx = np.array([0, 2, 2, 2, -1])
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(a[idx]))(x), [1.0, 0.0, 3.0, 1.0])
    m = np.arange(12.0).reshape(3, 4)
    rows, cols = np.array([[0, 0], [2, 1]]), np.array([1, 1])
    expected = np.zeros((3, 4))
    np.add.at(expected, (rows, cols), 1.0)
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(a[rows, cols]))(m), expected)
    for index in ((idx,), (slice(None), np.array([3, 3, 0])), (np.array([1, 1]), slice(1, None, 2)),
                  (1, slice(None, None, -1)), (Ellipsis, None, 2)):
        check_vjp(lambda a, index=index: a[index] ** 2, (m if len(index) > 1 else x,))


def test_matmul_of_vectors_matrices_and_batches():
    rng = np.random.default_rng(0)
    shapes = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
              ((3,), (5, 3, 2)), ((5, 2, 3), (3,)), ((5, 1, 2, 3), (4, 3, 2)), ((2, 3), (4, 3, 1))]
    for sx, sy in shapes:
        x, y = rng.standard_normal(sx), rng.standard_normal(sy)
        check_vjp(lambda a, b: a @ b, (x, y))
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    gx, gy = dt.grad(lambda a, b: dnp.sum(a @ b), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.ones((2, 4)) @ y.T)
    np.testing.assert_allclose(gy, x.T @ np.ones((2, 4)))


@pytest.mark.parametrize("spec, shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 1)]),
                                          ("ij,ij->", [(2, 3), (2, 3)]), ("ijk,k->ij", [(2, 3, 4), (4,)]),
                                          ("i,j->ij", [(3,), (2,)]), ("ij->j", [(2, 3)]),
                                          ("ijk,ik->j", [(2, 3, 2), (2, 2)])])
def test_einsum(spec, shapes):
    rng = np.random.default_rng(1)
    args = tuple(rng.standard_normal(s) for s in shapes)
    check_vjp(lambda *xs: dnp.einsum(spec, *xs), args)


@pytest.mark.parametrize("spec, shapes", [("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij,jj->i", [(2, 3), (3, 3)]),
                                          ("iij->j", [(2, 2, 3)]), ("iii->i", [(2, 2, 2)]),
                                          ("iji->j", [(2, 3, 2)]), ("ii,jj->ij", [(2, 2), (3, 3)])])
def test_einsum_with_a_repeated_index_puts_the_cotangent_on_the_diagonal(spec, shapes):
    rng = np.random.default_rng(2)
    args = tuple(rng.standard_normal(s) for s in shapes)
    check_grads(lambda *xs: dnp.einsum(spec, *xs), args, order=2, modes=("rev",))
    a32 = tuple(a.astype(np.float32) for a in args)
    assert dt.grad(lambda *xs: dnp.sum(dnp.einsum(spec, *xs)))(*a32).dtype == np.float32
    if spec == "ii->":  # the trace: its gradient is the identity
        np.testing.assert_array_equal(dt.grad(lambda a: dnp.einsum(spec, a))(args[0]), np.eye(3))


def test_where_sends_the_cotangent_to_the_chosen_branch():
    c = np.array([True, False, True])
    x, y = np.array([1.0, 2.0, 3.0]), np.array([-1.0, -2.0, -3.0])
    gx, gy = dt.grad(lambda a, b: dnp.sum(dnp.where(c, a * a, b * 3)), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [2.0, 0.0, 6.0])
    np.testing.assert_array_equal(gy, [0.0, 3.0, 0.0])
    check_vjp(lambda a, b: dnp.where(a > 1.5, dnp.sin(a), b), (x, y[:1]))


def test_pow_and_integer_pow():
    x = np.array([0.5, 1.5, 2.5])
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(a ** 3))(x), 3 * x ** 2)
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(a ** -2))(x), -2 * x ** -3)
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(a ** 0))(x), np.zeros(3))
    check_vjp(lambda a, b: a ** b, (x, np.array([-1.5, 0.5, 2.0])))
    check_vjp(lambda a: dnp.power(2.0, a), (x,))
    # 0 ** y with y > 1: the derivative in y is 0 (no log 0 = -inf leaking in), and in x it is 0 too
    gx, gy = dt.grad(lambda a, b: dnp.sum(a ** b), argnums=(0, 1))(np.array([0.0, 2.0]), np.array([2.5, 2.0]))
    np.testing.assert_allclose(gx, [0.0, 4.0])
    np.testing.assert_allclose(gy, [0.0, 4 * np.log(2)])
    # x ** 0 at x = 0: the derivative in x is 0 (y x^(y-1) would be 0 * inf)
    gx, gy = dt.grad(lambda a, b: dnp.sum(a ** b), argnums=(0, 1))(np.array([0.0, 2.0]), np.array([0.0, 0.0]))
    np.testing.assert_array_equal(gx, [0.0, 0.0])
    np.testing.assert_allclose(gy, [0.0, np.log(2)])
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(dnp.power(a, 0.0)))(np.array([0.0, 3.0])), [0.0, 0.0])
    # and a constant exponent costs nothing extra: d/dx x ** 2.5 is 2.5 * x ** 1.5
    assert [e.prim.name for e in dt.trace(dt.grad(lambda a: dnp.sum(a ** 2.5)))(x).eqns] == ["pow", "mul"]


def test_sigmoid_softmax_and_logsumexp():
    x = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.5]])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(dnp.sigmoid(a)))(x), s * (1 - s))
    sm = np.exp(x[0]) / np.exp(x[0]).sum()
    np.testing.assert_allclose(dt.grad(lambda a: dnp.logsumexp(a))(x[0]), sm)  # d logsumexp = softmax
    w = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(dnp.softmax(a) * w))(x[0]), sm * (w - sm @ w))
    check_vjp(lambda a: dnp.softmax(a, axis=1), (x,))
    check_vjp(lambda a: dnp.logsumexp(a, axis=0), (x,))
    check_vjp(lambda a: dnp.log(dnp.softmax(a * 30.0, axis=-1)), (x,))  # large logits: stable


def test_convert_element_type_between_float_widths():
    x = np.array([0.5, -1.25], np.float32)
    g = dt.grad(lambda a: dnp.sum(dnp.astype(a, np.float64) ** 2))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x)
    g = dt.grad(lambda a: dnp.sum(dnp.astype(a, np.float32) * 3))(x.astype(np.float64))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [3.0, 3.0])
    # to an integer dtype the function is flat
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(dnp.astype(a, np.int64) * a))(x), [0.0, -1.0])


def test_shape_primitives():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    for f in (lambda a: a.reshape(3, 2) * np.arange(6.0).reshape(3, 2), lambda a: dnp.transpose(a) ** 2,
              lambda a: dnp.broadcast_to(a[:1], (4, 2, 3)) * np.arange(24.0).reshape(4, 2, 3),
              lambda a: dnp.squeeze(a[:1]) ** 2, lambda a: dnp.expand_dims(a, 1) ** 2,
              lambda a: dnp.concatenate([a, a ** 2, a[:, :1]], axis=1),
              lambda a: dnp.stack([a, dnp.sin(a)], axis=-1)):
        check_vjp(f, (x,))
    # concatenating one operand with itself: the slices' cotangents add up
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(dnp.concatenate([a, a], 0)))(x), np.full((2, 3), 2.0))


# ---- random compositions -----------------------------------------------------------------------------
W = np.array([[0.5, -1.0, 0.25], [1.5, 0.5, -0.75], [-0.5, 1.0, 2.0]])
MASK = np.array([[True, False, True], [False, False, True]])
UNARY = {
    "sin": dnp.sin, "cos": dnp.cos, "tanh": dnp.tanh, "sigmoid": dnp.sigmoid, "arctan": dnp.arctan,
    "square": lambda a: a * a, "cube": lambda a: a ** 3 / 4, "exp_neg_sq": lambda a: dnp.exp(-(a ** 2)),
    "log1p_sq": lambda a: dnp.log1p(a * a), "sqrt": lambda a: dnp.sqrt(1.0 + a * a),
    "abs_shift": lambda a: dnp.abs(a * a + 0.5), "transpose_matmul": lambda a: (W @ a.T).T,
    "matmul": lambda a: a @ W, "reverse": lambda a: a[:, ::-1], "gather": lambda a: a[:, np.array([2, 0, 2])],
    "row_gather": lambda a: a[np.array([1, 1])] * a, "softmax": lambda a: dnp.softmax(a, axis=1),
    "center": lambda a: a - dnp.mean(a, axis=0, keepdims=True),
    "cumulate": lambda a: a + dnp.sum(a, axis=1)[:, None],
    "logsumexp": lambda a: a - dnp.logsumexp(a, axis=1, keepdims=True),
    "reshape": lambda a: a.reshape(3, 2).T.reshape(2, 3),
    "mask": lambda a: dnp.where(MASK, a, 2 * a), "prod": lambda a: a * dnp.prod(1.5 + dnp.sin(a), axis=0),
    "concat": lambda a: dnp.concatenate([a[:, 1:], a[:, :1] ** 2], axis=1),
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.0 + b * b), "einsum": lambda a, b: dnp.einsum("ij,kj->ik", a, b) @ b / 4,
    "outer_sum": lambda a, b: a * dnp.sum(b, axis=0), "pow": lambda a, b: (1.5 + dnp.sin(a)) ** b,
}


@st.composite
def compositions(draw):
    """A program of 2–6 steps over inputs x, y (2x3): each step applies a unary map or a binary map of two
    earlier values (fan-out included); the result is the last value."""
    steps = []
    for i in range(draw(st.integers(2, 6))):
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, i + 1))))
        else:
            steps.append((draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, i + 1)),
                          draw(st.integers(0, i + 1))))
    return steps


def run_steps(steps, x, y):
    values = [x, y]
    for name, *operands in steps:
        op = UNARY.get(name) or BINARY[name]
        values.append(op(*[values[k] for k in operands]))
    return values[-1]


INPUT = arrays(np.float64, (2, 3), Domain(-1.5, 1.5))


@settings(max_examples=25, deadline=None)
@given(steps=compositions(), x=INPUT, y=INPUT)
def test_random_compositions_match_finite_differences(steps, x, y):
    f = lambda a, b: run_steps(steps, a, b)
    check_vjp(f, (x, y), rtol=1e-5, atol=1e-7)
    weights = np.linspace(-1, 1, 6).reshape(2, 3)
    loss = lambda a, b: dnp.sum(f(a, b) * weights)
    gx, gy = dt.grad(loss, argnums=(0, 1))(x, y)
    nx, ny = numerical_vjp(f, (x, y), weights)
    assert_close(gx, nx, "grad x", rtol=1e-5, atol=1e-7)
    assert_close(gy, ny, "grad y", rtol=1e-5, atol=1e-7)
    jac = dt.jacrev(f, argnums=1)(x, y)
    assert_close(jac, numerical_jacobian(f, (x, y), argnums=1), "jacrev", rtol=1e-5, atol=1e-7)


@settings(max_examples=8, deadline=None)
@given(steps=compositions(), x=INPUT, y=INPUT)
def test_random_compositions_second_order(steps, x, y):
    check_grads(lambda a, b: run_steps(steps, a, b), (x, y), order=2, modes=("rev",), rtol=1e-5, atol=1e-7)


# ---- the adjoint transform ---------------------------------------------------------------------------
def test_fan_out_sums_cotangents():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda a: dnp.sum(dnp.sin(a) * a + a * dnp.exp(a) - a)
    expected = np.cos(x) * x + np.sin(x) + np.exp(x) * (1 + x) - 1
    np.testing.assert_allclose(dt.grad(f)(x), expected)
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(a * a * a))(x), 3 * x ** 2)


def test_inactive_inputs_get_zero_cotangents_and_no_work():
    def f(x, y):
        return dnp.sin(x) * 2.0, dnp.cos(y)

    program = dt.trace(f)(np.ones(3), np.ones(3))
    pullback = Pullback(program, [np.array([0.5, 1.0, 1.5]), np.zeros(3)])
    x_bar, y_bar = pullback([np.ones(3), None])
    np.testing.assert_allclose(x_bar, 2 * np.cos([0.5, 1.0, 1.5]))
    assert y_bar is None  # a symbolic zero
    zx, zy = pullback.input_cotangents([None, np.ones(3)])
    np.testing.assert_array_equal(zx, np.zeros(3))
    np.testing.assert_allclose(zy, -np.sin(np.zeros(3)))
    _, vjp_fn = dt.vjp(lambda a, b: a * 3.0 + dt.stop_gradient(b) * a, np.ones(2), np.ones(2))
    a_bar, b_bar = vjp_fn(np.ones(2))
    np.testing.assert_array_equal(a_bar, [4.0, 4.0])
    np.testing.assert_array_equal(b_bar, [0.0, 0.0])


def test_values_reached_only_through_piecewise_constant_ops_are_inactive():
    def f(x):
        n = dnp.floor(x)  # no derivative flows through floor
        k = dnp.exp(n * 0.5)
        return dnp.sum(x * k + n * dnp.sin(x))

    x = np.array([0.5, 1.5])
    program = dt.trace(f)(x)
    active = active_vars(program)
    hints = {v.hint: v.id in active for e in program.eqns for v in e.outs if v.hint in ("n", "k")}
    assert hints == {"n": False, "k": False}
    np.testing.assert_allclose(dt.grad(f)(x), np.exp(np.floor(x) * 0.5) + np.floor(x) * np.cos(x))


def test_the_forward_sweep_keeps_no_values_of_inactive_equations():
    def f(x):
        n = dnp.floor(x)
        m = n * 0.25
        a = dnp.exp(m)
        return dnp.sum(dnp.sin(x) * a)

    x = np.array([0.1, 2.2])
    program = dt.trace(f)(x)
    pullback = Pullback(program, [x])
    by_hint = {v.hint: v.id for e in program.eqns for v in e.outs if v.hint}
    assert by_hint["a"] in pullback.env and program.inputs[0].id in pullback.env  # mul's rule reads a, sin's x
    assert by_hint["n"] not in pullback.env and by_hint["m"] not in pullback.env
    np.testing.assert_allclose(pullback([1.0])[0], np.cos(x) * np.exp(np.floor(x) * 0.25))


def test_pullback_on_tracers_builds_one_program_named_after_the_primals():
    def loss(w, x):
        return dnp.sum(dnp.tanh(x @ w))

    program = dt.trace(dt.grad(loss))(np.ones((3, 2)), np.ones((4, 3)))
    assert program.outputs[0].hint == "w_bar"
    assert {e.prim.name for e in program.eqns} >= {"matmul", "tanh", "transpose"}
    program.check()


def test_vjp_with_pytree_outputs_and_inputs():
    params = {"w": np.array([[0.5, -1.0], [2.0, 0.25]]), "b": np.array([0.1, -0.2])}
    x = np.array([1.0, -2.0])

    def f(p, x):
        h = dnp.tanh(x @ p["w"] + p["b"])
        return {"h": h, "parts": (dnp.sum(h), h[0] * x)}

    out, bars = check_vjp(f, (params, x))
    assert set(out) == {"h", "parts"} and set(bars[0]) == {"w", "b"}
    ct = tree.tree_map(np.ones_like, out)
    np.testing.assert_allclose(dt.vjp(f, params, x)[1](ct)[1], numerical_vjp(f, (params, x), ct, (1,))[0],
                               rtol=1e-6)


def test_symbolic_zero_cotangents_do_no_work(monkeypatch):
    calls = []
    for name in ("exp", "cos", "sin"):
        prim, rule = REGISTRY[name], REGISTRY[name].vjp
        monkeypatch.setattr(prim, "vjp", lambda *a, _rule=rule, _name=name, **k: calls.append(_name) or _rule(*a, **k))
    x = np.array([0.5, 1.5])
    program = dt.trace(lambda a, b: (dnp.exp(a) * 2.0, dnp.cos(b) + dnp.sin(b)))(x, x)
    Pullback(program, [x, x])([np.ones(2), None])
    assert calls == ["exp"]  # the second output's cotangent is zero: no rule runs for cos or sin


def test_undifferentiated_inputs_get_no_adjoint_statements(monkeypatch):
    monkeypatch.setattr(dt.config, "optimize", False)  # the adjoint as the transform writes it
    f = lambda x, y: dnp.sum(dnp.sin(x) * dnp.exp(y))
    program = dt.trace(dt.grad(f))(X3, X3)
    backward = [e.prim.name for e in program.eqns[4:]]  # after sin, exp, mul, reduce_sum
    assert backward == ["mul", "cos", "mul"]  # (sin x)_bar = g * exp y, then x_bar = (sin x)_bar * cos x

