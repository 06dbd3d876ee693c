"""Forward mode (jvp, jacfwd, linearize) against central finite differences in float64: every differentiable
primitive alone, random compositions of primitives over random shapes, float32, pytrees, errors, nesting
with itself and with jit, and the symbolic zeros that keep undifferentiated inputs free of tangent work."""

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape import tree
from dualtape.core.ir import Var
from dualtape.core.primitive import REGISTRY
from gradcheck import (
    assert_close,
    check_grads,
    check_jacfwd,
    check_jvp,
    numerical_jacobian,
    numerical_jvp,
    random_tangents,
)
from opcheck import prim_names
from primitive_cases import DIFFERENTIABLE, draw_args
from strategies import Domain, arrays, shapes
from testkit import EXACT, bounded


def _draw_case(data, name):
    case = DIFFERENTIABLE[name]
    shape_list, params, dtypes = data.draw(case.layout, label="layout")
    note(f"shapes={shape_list} params={params} dtypes={dtypes}")
    args = draw_args(data.draw, case, shape_list, dtypes)
    return case, case.call(params), args, params


# ---- the registry: every differentiable primitive has rules and a case here --------------------------
# Internal primitives of a while loop's reverse mode, reached only through it: control/test_higher_order.py
# checks their derivatives (forward over reverse, reverse over reverse) against finite differences.
REACHED_BY_VJP = {"while_loop_tape", "while_loop_adjoint"}


def _differentiable():
    return {name for name, prim in REGISTRY.items() if prim.differentiable}


def test_every_differentiable_primitive_has_a_jvp_rule_and_a_case():
    differentiable = _differentiable()
    assert not sorted(n for n in differentiable if REGISTRY[n].jvp is None), "primitives without a jvp rule"
    missing = sorted(differentiable - set(DIFFERENTIABLE) - REACHED_BY_VJP)
    unknown = sorted(set(DIFFERENTIABLE) - differentiable)
    assert not missing, f"differentiable primitives without a derivative case in primitive_cases.py: {missing}"
    assert not unknown, f"cases for primitives that are not differentiable (or not registered): {unknown}"


def test_every_differentiable_primitive_has_a_batch_rule():
    """jacfwd pushes all basis tangents in one batched pass only through primitives with a batch rule (or an
    expansion into such primitives); the others run once per example."""
    unbatched = sorted(n for n in _differentiable() if REGISTRY[n].batch is None and REGISTRY[n].expand is None)
    assert not unbatched, f"primitives without a batch rule (or an expansion into batchable ones): {unbatched}"


# ---- every primitive alone ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@bounded(15)
@given(data=st.data())
def test_primitive_jvp_and_jacfwd_match_finite_differences(name, data):
    case, f, args, _ = _draw_case(data, name)
    program = dt.trace(f)(*args)
    assert name in prim_names(program), f"the case does not reach {name}:\n{program}"
    check_jvp(f, args, seed=data.draw(st.integers(0, 2**16), label="seed"), **case.tolerances())
    check_jacfwd(f, args, argnums=tuple(range(len(args))), **case.tolerances())


@pytest.mark.parametrize("name", sorted(set(DIFFERENTIABLE) - {"convert_element_type"}))
@bounded(8)
@given(data=st.data())
def test_float32_primals_and_tangents_give_float32_tangents(name, data):
    case, f, args, params = _draw_case(data, name)
    args32 = tuple(a.astype(np.float32) for a in args)
    tangents = random_tangents(args32, np.random.default_rng(0))
    with np.errstate(all="ignore"):
        out, out_dot = dt.jvp(f, args32, tangents)
        expected = case.ref(*args32, **params)
    assert np.asarray(out).dtype == np.asarray(out_dot).dtype == np.asarray(expected).dtype == np.float32
    assert np.shape(out_dot) == np.shape(expected)
    (numerical,) = numerical_jvp(f, args, tangents)  # the same tangents, in float64
    assert_close(out_dot, numerical, "float32 tangent", rtol=2e-3, atol=2e-4)


def test_non_differentiable_primitives_have_zero_tangents():
    x = np.array([0.3, -1.7, 2.2])
    for fn in (dnp.floor, dnp.ceil, dnp.sign, dnp.round, lambda v: dnp.floor_divide(v, 0.7), dt.stop_gradient):
        out, out_dot = dt.jvp(fn, (x,), (np.ones(3),))
        np.testing.assert_array_equal(out_dot, np.zeros(3))
        assert out_dot.dtype == out.dtype
    check_jacfwd(lambda v: dnp.floor(v) * v, (x,))  # piecewise: v's own derivative survives
    out, out_dot = dt.jvp(lambda v: (v > 0, dnp.argmax(v)), (x,), (np.ones(3),))
    assert not np.any(out_dot[0]) and not np.any(out_dot[1])


# ---- random compositions -----------------------------------------------------------------------------
def _mask(shape):
    return (np.arange(int(np.prod(shape))) % 3 == 0).reshape(shape)


def _binary_operands(x, y):
    """x and y, with y summed to a scalar when the two shapes do not broadcast."""
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        y = dnp.sum(y)
    return x, y


def _matmul_pair(x, y):
    if x.ndim >= 1 and y.ndim >= 1 and x.shape[-1] == y.shape[-2 if y.ndim >= 2 else 0]:
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
            return x @ y
        except ValueError:
            pass
    if x.ndim == 0:
        return x * dnp.sum(y)
    return x @ dnp.swapaxes(x, -1, -2) if x.ndim >= 2 else x @ x


UNARY_MENU = {
    "sin": dnp.sin, "cos": dnp.cos, "tanh": dnp.tanh, "sigmoid": dnp.sigmoid, "arctan": dnp.arctan,
    "square": lambda x: x ** 2, "neg": lambda x: -x, "exp": lambda x: dnp.exp(dnp.sin(x)),
    "log1p": lambda x: dnp.log1p(x * x), "sqrt": lambda x: dnp.sqrt(1.0 + x * x), "affine": lambda x: 0.5 * x + 1.0,
    "cube": lambda x: x ** 3,
}
BINARY_MENU = {
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (1.0 + y * y), "pow": lambda x, y: (1.0 + x * x) ** dnp.sin(y),
    "arctan2": lambda x, y: dnp.arctan2(x, 1.5 + dnp.cos(y)),
    "where": lambda x, y: dnp.where(_mask(np.broadcast_shapes(x.shape, y.shape)), x, y),
}
REDUCE_MENU = {"sum": dnp.sum, "mean": dnp.mean}
SHAPE_MENU = {
    "T": lambda x, k: x.T,
    "ravel": lambda x, k: dnp.reshape(x, (-1,)),
    "expand": lambda x, k: dnp.expand_dims(x, k % (x.ndim + 1)),
    "flip": lambda x, k: x[::-1] if x.ndim else x[None],
    "take": lambda x, k: x[np.array([k % x.shape[0], 0, -1])] if x.ndim and x.shape[0] else x[None],
    "first": lambda x, k: x[..., k % x.shape[-1]] if x.ndim and x.shape[-1] else x,
    "broadcast": lambda x, k: dnp.broadcast_to(x, (2,) + x.shape),
    "self_matmul": lambda x, k: _matmul_pair(x, x),
}
PAIR_SHAPE_MENU = {
    "concatenate": lambda x, y: dnp.concatenate([dnp.reshape(x, (-1,)), dnp.reshape(y, (-1,))]),
    "matmul": _matmul_pair,
    "einsum": lambda x, y: dnp.einsum("i,j->ij", dnp.reshape(x, (-1,)), dnp.reshape(y, (-1,))),
}
MENU = [("unary", k) for k in UNARY_MENU] + [("binary", k) for k in BINARY_MENU] + [
    ("reduce", k) for k in REDUCE_MENU] + [("shape", k) for k in SHAPE_MENU] + [("pair", k) for k in PAIR_SHAPE_MENU]


def build(steps, n_out):
    """A function of the inputs: each step applies a menu op to earlier values (picked by index) and appends
    the result; the last n_out values are returned (a tuple when there are two)."""

    def f(*inputs):
        values = list(inputs)
        for (kind, name), i, j, k in steps:
            x, y = values[i % len(values)], values[j % len(values)]
            if kind == "unary":
                out = UNARY_MENU[name](x)
            elif kind == "binary":
                out = BINARY_MENU[name](*_binary_operands(x, y))
            elif kind == "reduce":
                axis = None if k % 3 == 0 or x.ndim == 0 else k % x.ndim
                out = REDUCE_MENU[name](x, axis=axis, keepdims=bool(k % 2))
            elif kind == "shape":
                out = SHAPE_MENU[name](x, k)
            else:
                out = PAIR_SHAPE_MENU[name](x, y)
            values.append(out)
        return values[-1] if n_out == 1 else (values[-1], values[-2])

    return f


@st.composite
def compositions(draw):
    n_in = draw(st.integers(1, 2))
    in_shapes = [draw(shapes(max_dims=3, min_side=1, max_side=3)) for _ in range(n_in)]
    args = tuple(draw(arrays(np.float64, s, Domain(-1.5, 1.5))) for s in in_shapes)
    steps = draw(st.lists(st.tuples(st.sampled_from(MENU), *[st.integers(0, 7)] * 3), min_size=2, max_size=6))
    n_out = draw(st.integers(1, 2))
    note(f"shapes={in_shapes} steps={steps} n_out={n_out}")
    return build(steps, n_out), args


@bounded(25)
@given(case=compositions(), seed=st.integers(0, 2**16))
def test_random_compositions_match_finite_differences(case, seed):
    f, args = case
    argnums = tuple(range(len(args)))
    check_jvp(f, args, seed=seed, rtol=1e-5)
    check_jacfwd(f, args, argnums, rtol=1e-5)
    tangents = random_tangents(args, np.random.default_rng(seed))
    jitted = dt.jit(lambda xs, ts: dt.jvp(f, xs, ts))(args, tangents)[1]
    for got, want in zip(jitted if isinstance(jitted, tuple) else (jitted,), numerical_jvp(f, args, tangents)):
        assert_close(got, want, "jit(jvp)", rtol=1e-5)
    args32, tangents32 = tuple(a.astype(np.float32) for a in args), tuple(t.astype(np.float32) for t in tangents)
    out, out_dot = dt.jvp(f, args32, tangents32)
    for o, d in zip(tree.leaves(out), tree.leaves(out_dot)):
        assert np.asarray(o).dtype == np.asarray(d).dtype == np.float32, "float32 in, float32 tangents out"


# ---- dtypes, pytrees, errors -------------------------------------------------------------------------
def with_constants(x):
    return 2.0 * dnp.sin(x) + x ** 2 / 3.0 - 1 + dnp.maximum(x, 0.5) * 1.5 + dnp.sum(x * 0.25)


X32 = np.array([0.3, -1.2, 2.1], np.float32)


def test_python_scalar_constants_keep_float32():
    t = np.array([1.0, -0.5, 2.0], np.float32)
    out, out_dot = dt.jvp(with_constants, (X32,), (t,))
    assert out.dtype == out_dot.dtype == with_constants(X32).dtype == np.float32
    (numerical,) = numerical_jvp(with_constants, (X32,), (t,))
    assert_close(out_dot, numerical, rtol=1e-5, atol=1e-5)
    jac = dt.jacfwd(with_constants)(X32)
    assert jac.dtype == np.float32
    assert_close(jac, numerical_jacobian(with_constants, (X32,)), rtol=1e-5, atol=1e-5)
    _, f_jvp = dt.linearize(with_constants, X32)
    assert f_jvp(t).dtype == np.float32
    staged = dt.jit(lambda x, t: dt.jvp(with_constants, (x,), (t,)))(X32, t)
    assert staged[1].dtype == np.float32


def test_float32_meeting_a_float64_array_promotes_as_numpy_does():
    w = np.array([1.0, 2.0, 3.0])
    f = lambda x: dnp.sin(x) * w
    out, out_dot = dt.jvp(f, (X32,), (np.ones(3, np.float32),))
    assert out.dtype == out_dot.dtype == (np.sin(X32) * w).dtype == np.float64


def tree_fn(params, inputs):
    w, b = params["w"], params["b"]
    x, scale = inputs
    h = dnp.tanh(x @ w + b)
    return {"loss": dnp.sum(h * h) * scale, "parts": (h, dnp.exp(b * scale))}


def tree_args():
    rng = np.random.default_rng(3)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    return params, (rng.standard_normal((4, 3)), np.float64(0.7))


def test_pytree_primals_and_tangents():
    params, inputs = tree_args()
    out, out_dot = check_jvp(tree_fn, (params, inputs))
    assert set(out_dot) == {"loss", "parts"} and len(out_dot["parts"]) == 2
    jac = check_jacfwd(tree_fn, (params, inputs), argnums=0)
    assert jac["parts"][0]["w"].shape == (4, 2, 3, 2)
    check_jacfwd(tree_fn, (params, inputs), argnums=(0, 1))


def test_list_primals_and_mismatched_structures():
    f = lambda xs: xs[0] * xs[1]
    check_jvp(f, ([np.ones(2), np.arange(2.0)],))
    with pytest.raises(ValueError, match="structure"):
        dt.jvp(f, ([np.ones(2), np.ones(2)],), ((np.ones(2), np.ones(2)),))
    with pytest.raises(ValueError, match="structure"):
        dt.jvp(tree_fn, tree_args(), ({"w": np.ones((3, 2))}, tree_args()[1]))


def test_mismatched_tangent_shape_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"tangent shape \(4,\).*primal shape \(3,\)"):
        dt.jvp(dnp.sin, (np.ones(3),), (np.ones(4),))
    with pytest.raises(ValueError, match=r"tangent shape \(3, 1\)"):
        dt.jvp(tree_fn, tree_args(), ({"w": np.ones((3, 2)), "b": np.ones((3, 1))}, tree_args()[1]))


def test_mismatched_tangent_dtype_is_a_clear_type_error():
    with pytest.raises(TypeError, match="tangent dtype float64 does not match primal dtype float32"):
        dt.jvp(dnp.sin, (X32,), (np.ones(3),))
    with pytest.raises(TypeError, match="float32"):
        dt.jvp(dnp.sin, (np.ones(3),), (np.ones(3, np.float32),))


def test_wrong_argument_kinds_are_clear_errors():
    with pytest.raises(TypeError, match="tuples"):
        dt.jvp(dnp.sin, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        dt.jvp(lambda a, b: a * b, (np.ones(3), np.ones(3)), (np.ones(3),))


@pytest.mark.parametrize("bad", [np.arange(3), np.array([True, False]), 3])
def test_integer_inputs_to_jacfwd_raise_type_error(bad):
    with pytest.raises(TypeError, match="floating"):
        dt.jacfwd(lambda x: x * 2)(bad)


def test_integer_argument_outside_argnums_is_fine():
    f = lambda x, n: x ** 2 * n
    jac = dt.jacfwd(f)(np.array([1.0, 2.0]), np.array([3, 4]))
    np.testing.assert_allclose(jac, np.diag([6.0, 16.0]))


# ---- nesting -----------------------------------------------------------------------------------------
def smooth(x):
    return dnp.sin(x) * dnp.exp(0.3 * x) + dnp.sum(x ** 3) * dnp.tanh(x)


X = np.array([0.4, -1.1, 0.9])


def test_jvp_of_jvp_is_the_second_derivative():
    t1, t2 = np.array([1.0, 0.5, -2.0]), np.array([0.3, -1.0, 0.7])
    first = lambda x: dt.jvp(smooth, (x,), (t1,))[1]
    check_jvp(first, (X,), (t2,), rtol=1e-5)
    check_grads(smooth, (X,), order=2)
    # and against second differences of f itself (no AD in the reference)
    second = dt.jvp(first, (X,), (t2,))[1]
    h = 1e-3
    shifted = lambda a, b: smooth(X + a * h * t1 + b * h * t2)
    numerical = (shifted(1, 1) - shifted(1, -1) - shifted(-1, 1) + shifted(-1, -1)) / (4 * h * h)
    assert_close(second, numerical, rtol=1e-5, atol=1e-5)


def test_jacfwd_of_jacfwd_is_the_symmetric_hessian():
    f = lambda x: dnp.sum(dnp.sin(x) * dnp.exp(0.3 * x)) + dnp.sum(x) ** 3 * dnp.prod(dnp.cos(x))
    hess = dt.jacfwd(dt.jacfwd(f))(X)
    numerical = numerical_jacobian(lambda x: numerical_jacobian(f, (x,), h=1e-4), (X,), h=1e-3)
    assert hess.shape == (3, 3)
    assert_close(hess, numerical, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hess, hess.T, **EXACT)


def test_jit_of_a_jvp_function_is_one_staged_program():
    t = np.array([1.0, -1.0, 0.5])
    jvp_fn = lambda x, t: dt.jvp(smooth, (x,), (t,))
    out, out_dot = dt.jit(jvp_fn)(X, t)
    eager = jvp_fn(X, t)
    np.testing.assert_allclose(out, eager[0], rtol=1e-14)
    np.testing.assert_allclose(out_dot, eager[1], rtol=1e-13, atol=1e-14)
    assert_close(out_dot, numerical_jvp(smooth, (X,), (t,))[0])
    program = dt.trace(jvp_fn)(X, t)
    names = prim_names(program)
    assert "cos" in names and "sin" in names  # sin's tangent is cos: one fused program
    assert len(program.outputs) == 2
    assert "def " in dt.source(jvp_fn, X, t)


def test_jvp_and_jacfwd_of_a_jitted_function():
    jitted = dt.jit(smooth)
    check_jvp(jitted, (X,))
    check_jacfwd(jitted, (X,))
    check_jvp(dt.jit(tree_fn), tree_args())


def _tangent_dependent(program):
    """Var ids that depend on the program's inputs (its tangents), and the equations that depend on none."""
    live = {v.id for v in program.inputs}
    constant = []
    for eqn in program.eqns:
        if any(type(a) is Var and a.id in live for a in eqn.inputs):
            live.update(v.id for v in eqn.outs)
        else:
            constant.append(eqn)
    return live, constant


def test_linearize_matches_jvp_and_its_program_has_only_tangent_work():
    t = np.array([0.5, 2.0, -1.0])
    out, f_jvp = dt.linearize(smooth, X)
    np.testing.assert_allclose(out, np.sin(X) * np.exp(0.3 * X) + np.sum(X ** 3) * np.tanh(X), rtol=1e-14)
    assert_close(f_jvp(t), numerical_jvp(smooth, (X,), (t,))[0])
    np.testing.assert_allclose(f_jvp(t), dt.jvp(smooth, (X,), (t,))[1], rtol=1e-13)
    np.testing.assert_allclose(f_jvp(2 * t), 2 * f_jvp(t), rtol=1e-13)  # linear
    _, constant = _tangent_dependent(f_jvp.program)
    assert not constant, f"equations of primals only in the linear program:\n{f_jvp.program}"
    assert not {"sin", "exp", "tanh", "cos"} & set(prim_names(f_jvp.program))


def test_linearize_with_pytrees():
    params, inputs = tree_args()
    out, f_jvp = dt.linearize(tree_fn, params, inputs)
    tangents = random_tangents((params, inputs), np.random.default_rng(1))
    got = f_jvp(*tangents)
    for g, n in zip(tree.leaves(got), numerical_jvp(tree_fn, (params, inputs), tangents), strict=True):
        assert_close(g, n)
    with pytest.raises(ValueError, match="structure"):
        f_jvp(params)


W = np.random.default_rng(0).standard_normal((4, 3))
B = np.random.default_rng(1).standard_normal(4)


def layer(x):
    return dnp.tanh(W @ x + B)


def test_symbolic_zeros_closed_over_weights_get_no_tangent_work():
    x, t = np.array([0.1, 0.2, 0.3]), np.array([1.0, 0.0, -1.0])
    program = dt.trace(lambda x, t: dt.jvp(layer, (x,), (t,)))(x, t)
    names = prim_names(program)
    assert "full" not in names and "broadcast_to" not in names, f"a zero tangent was materialised:\n{program}"
    w_var = next(v for v, value in program.captures if value.shape == W.shape and np.array_equal(value, W))
    reads_w = [e.prim.name for e in program.eqns if any(a is w_var for a in e.inputs)]
    assert reads_w == ["matmul", "matmul"], program  # W @ x and W @ t, nothing for W's (zero) tangent
    primal_only = dt.trace(layer)(x)
    assert len(primal_only.eqns) == 3
    assert len(program.eqns) == 3 + 1 + 3, program  # + W @ t, + t * (1 - tanh^2)
    assert_close(dt.jvp(layer, (x,), (t,))[1], numerical_jvp(layer, (x,), (t,))[0])


def test_differentiating_one_argument_leaves_the_other_without_tangent_ops():
    f = lambda x, w: dnp.sum(dnp.sin(x * w) * w)
    x, w = np.array([0.5, 1.0]), np.array([2.0, -1.0])
    only_x = dt.trace(lambda x, w, t: dt.jvp(lambda x: f(x, w), (x,), (t,)))(x, w, x)
    both = dt.trace(lambda x, w, t: dt.jvp(f, (x, w), (t, t)))(x, w, x)
    assert "full" not in prim_names(only_x)
    # primal: mul, sin, mul, sum; x's tangent: mul, cos, mul, mul, sum. w's tangent would add 2 muls, 2 adds.
    assert len(only_x.eqns) == 4 + 5, only_x
    assert len(both.eqns) == 4 + 5 + 4, both
    assert_close(dt.jacfwd(f)(x, w), numerical_jacobian(f, (x, w)))


def test_jvp_through_a_closure_over_an_outer_jit_tracer():
    @dt.jit
    def g(w, x):
        return dt.jvp(lambda x: dnp.sin(w * x), (x,), (np.ones_like(x),))[1]

    w, x = np.array([1.5, -0.5]), np.array([0.3, 0.8])
    assert_close(g(w, x), np.cos(w * x) * w)
    check_jvp(g, (w, x))


def test_nested_jvp_does_not_confuse_perturbations():
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1 (a confused implementation gives 2)
    inner = lambda x: dt.jvp(lambda y: x + y, (1.0,), (1.0,))[1]
    _, out_dot = dt.jvp(lambda x: x * inner(x), (1.0,), (1.0,))
    assert out_dot == 1.0
    # d/dw [d/dx sin(w x) · t] checked against finite differences in w
    x, t = np.array([0.3, 0.8]), np.array([1.0, -2.0])
    check_jvp(lambda w: dt.jvp(lambda x: dnp.sin(w * x), (x,), (t,))[1], (np.array([1.5, -0.5]),), rtol=1e-5)


def test_jacfwd_of_jit_of_jacfwd():
    f = lambda x: dnp.sum(dnp.sin(x) ** 2 * x)
    hess = dt.jacfwd(dt.jit(dt.jacfwd(f)))(X)
    assert_close(hess, numerical_jacobian(lambda x: numerical_jacobian(f, (x,)), (X,), h=1e-3), rtol=1e-5, atol=1e-6)


def test_outputs_that_do_not_depend_on_the_input_have_zero_tangents():
    out, out_dot = dt.jvp(lambda x: (np.ones(2), x.sum() * 0 + 3.0, 2.0), (X,), (X,))
    np.testing.assert_array_equal(out_dot[0], np.zeros(2))
    assert out_dot[1] == 0.0 and out_dot[2] == 0.0
    np.testing.assert_array_equal(dt.jacfwd(lambda x: np.ones(2))(X), np.zeros((2, 3)))


@pytest.mark.parametrize("x", [np.array([0.0, 2.0, -3.0]), np.array([[0.0, 2.0], [0.0, 1.5]]), np.zeros(3)],
                         ids=["one zero", "zero per column", "all zeros"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_prod_at_zeros_is_the_product_of_the_others(x, axis):
    f = lambda v: dnp.prod(v, axis=axis)
    check_jvp(f, (x,))
    check_jacfwd(f, (x,))


def test_python_scalar_primals_and_tangents():
    out, out_dot = dt.jvp(lambda a, b: a * dnp.sin(b), (2.0, 0.5), (1.0, -1.0))
    assert_close(out_dot, np.sin(0.5) - 2.0 * np.cos(0.5))
    assert_close(dt.jacfwd(lambda a: a ** 3)(2.0), 12.0)


def test_jvp_program_is_a_program_of_outputs_and_tangents():
    """The JVP transform as Program -> Program: inputs (x, x_dot), outputs (f(x), J x_dot)."""
    from dualtape.transforms.evaluate import eval_program
    from dualtape.transforms.jvp import jvp_program

    x, t = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -2.0])
    program = dt.trace(lambda x: dnp.sin(x) * x)(x)
    joint = jvp_program(program).check()
    assert [v.hint for v in joint.inputs] == ["x", "x_dot"]
    out, out_dot = eval_program(joint, [x, t])
    np.testing.assert_allclose(out, np.sin(x) * x)
    np.testing.assert_allclose(out_dot, (np.cos(x) * x + np.sin(x)) * t)
