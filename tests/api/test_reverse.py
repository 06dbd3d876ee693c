"""The reverse-mode API: grad, value_and_grad, vjp, jacrev, hessian, hvp — their pytree and argnums handling,
higher-order compositions with each other, with forward mode and with jit, the errors SPEC §3 asks for,
float32 results, the readable adjoint source, and `dt.config.optimize` giving the same numbers. References
are finite differences or hand-derived formulas, never dualtape's own output alone."""

import ast
import re

import numpy as np
import pytest
from hypothesis import given, settings

import dualtape as dt
import dualtape.numpy as dnp
from dualtape import tree
from gradcheck import assert_close, check_grads, check_jacrev, check_vjp, numerical_jacobian, numerical_vjp
from strategies import Domain, arrays
from testkit import EXACT

X = np.array([0.5, -1.0, 2.0])
V = np.array([1.0, -0.5, 0.25])


def f3(x):
    """A scalar function of a vector with a full Hessian."""
    return dnp.sum(dnp.sin(x) * x ** 2) + dnp.prod(1.5 + dnp.tanh(x)) + dnp.logsumexp(x * x[::-1])


def hessian_fd(f, x):
    """The Hessian as the central-difference Jacobian of the (separately checked) gradient."""
    return numerical_jacobian(dt.grad(f), (x,))


VECTORS = arrays(np.float64, (3,), Domain(-1.5, 1.5))


# ---- grad / value_and_grad ---------------------------------------------------------------------------
def test_grad_matches_finite_differences():
    for f in (f3, lambda x: dnp.sum(x ** 3) / 3.0, lambda x: dnp.max(dnp.cos(x) * x)):
        assert_close(dt.grad(f)(X), numerical_vjp(f, (X,), np.array(1.0))[0], "grad")
    assert dt.grad(lambda s: s * dnp.sin(s))(0.5) == pytest.approx(np.sin(0.5) + 0.5 * np.cos(0.5), rel=1e-14)


def test_argnums_int_tuple_and_negative():
    f = lambda x, y, z: dnp.sum(dnp.sin(x) * y) + z ** 2
    gx = dt.grad(f)(X, V, 3.0)
    np.testing.assert_allclose(gx, np.cos(X) * V)
    gy, gz = dt.grad(f, argnums=(1, 2))(X, V, 3.0)
    np.testing.assert_allclose(gy, np.sin(X))
    assert gz == pytest.approx(6.0)
    np.testing.assert_allclose(dt.grad(f, argnums=-3)(X, V, 3.0), gx)
    (only,) = dt.grad(f, argnums=(0,))(X, V, 3.0)
    np.testing.assert_allclose(only, gx)
    with pytest.raises(ValueError, match="out of range"):
        dt.grad(f, argnums=3)(X, V, 3.0)


def test_a_position_listed_twice_in_argnums_gets_its_whole_derivative_each_time():
    """As JAX: argnums=(0, 0) differentiates x once and hands that derivative to both places (not 0 to one)."""
    f = lambda x, y: dnp.sum(x * y * x)  # df/dx = 2xy, df/dy = x^2, d2f/dx2 = diag(2y)
    gx, gy = 2 * X * V, X * X
    for got in (dt.grad(f, argnums=(0, 0))(X, V), dt.value_and_grad(f, argnums=(0, -2))(X, V)[1]):
        assert len(got) == 2
        np.testing.assert_allclose(got[0], gx)
        np.testing.assert_allclose(got[1], gx)
    a, b, c = dt.jit(dt.grad(f, argnums=(1, 0, 1)))(X, V)
    np.testing.assert_allclose(a, gy)
    np.testing.assert_allclose(b, gx)
    np.testing.assert_allclose(c, gy)
    g = lambda x, y: x * y * x
    for jacobian in (dt.jacrev, dt.jacfwd):
        first, second = jacobian(g, argnums=(0, 0))(X, V)
        np.testing.assert_allclose(first, np.diag(gx))
        np.testing.assert_allclose(second, np.diag(gx))
    blocks = dt.hessian(f, argnums=(0, 0))(X, V)
    assert len(blocks) == 2 and all(len(row) == 2 for row in blocks)
    for block in (b for row in blocks for b in row):
        np.testing.assert_allclose(block, np.diag(2 * V))
    twice = dt.grad(lambda x, y: x * y, argnums=(0, 0))(2.0, 3.0)
    assert twice == (3.0, 3.0) and type(twice[0]) is type(twice[1])  # (a Python number is not copied to an array)


def test_pytree_arguments_give_pytree_gradients():
    params = {"w": np.array([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]), "b": [np.array([0.1, -0.2]), 0.5]}

    def loss(p, x):
        return dnp.sum(dnp.tanh(x @ p["w"] + p["b"][0]) * p["b"][1])

    g = dt.grad(loss)(params, X)
    assert set(g) == {"w", "b"} and isinstance(g["b"], list) and len(g["b"]) == 2
    leaves, treedef = tree.flatten(params)
    flat = lambda *ls: loss(tree.unflatten(treedef, list(ls)), X)
    expected = numerical_vjp(flat, tuple(leaves), np.array(1.0))
    for got, want in zip(tree.leaves(g), expected):
        assert_close(got, want, "pytree grad")
    assert type(g["b"][1]) in (float, np.float64) or np.shape(g["b"][1]) == ()


def test_value_and_grad_with_and_without_aux():
    def f(x, y):
        loss = dnp.sum(dnp.sin(x) * y)
        return loss, {"loss_times_2": loss * 2, "x": x, "n": 3}

    (value, aux), g = dt.value_and_grad(f, has_aux=True)(X, V)
    assert value == pytest.approx(np.sum(np.sin(X) * V))
    assert aux["n"] == 3 and aux["loss_times_2"] == pytest.approx(2 * value)
    np.testing.assert_array_equal(aux["x"], X)
    assert all(getattr(leaf, "_dt_trace", None) is None for leaf in tree.leaves(aux))  # never tracers
    np.testing.assert_allclose(g, np.cos(X) * V)
    g2, aux2 = dt.grad(f, argnums=(0, 1), has_aux=True)(X, V)
    np.testing.assert_allclose(g2[1], np.sin(X))
    assert aux2["n"] == 3
    value, g3 = dt.value_and_grad(lambda x: dnp.sum(x ** 2))(X)
    assert value == pytest.approx(np.sum(X ** 2))
    np.testing.assert_allclose(g3, 2 * X)
    with pytest.raises(TypeError, match="pair"):
        dt.grad(lambda x: dnp.sum(x), has_aux=True)(X)


class Tag:
    """An object that is neither an array nor a number (aux may hold one)."""


def test_aux_may_hold_strings_none_bools_and_objects_which_pass_through_unchanged():
    tag = Tag()

    def f(x):
        loss = dnp.sum(x ** 2)
        return loss, {"loss": loss, "tag": "train", "none": None, "flag": True, "obj": tag, "names": ("a", 1)}

    g = dt.grad(f, has_aux=True)
    for _ in range(2):  # the second call reuses the compiled function
        grads, aux = g(X)
        np.testing.assert_allclose(grads, 2 * X)
        assert aux["tag"] == "train" and aux["none"] is None and aux["flag"] is True and aux["obj"] is tag
        assert aux["names"] == ("a", 1) and aux["loss"] == pytest.approx(np.sum(X ** 2))
    assert g.trace_count == 1
    (value, aux), grads = dt.value_and_grad(f, has_aux=True)(X)
    assert value == pytest.approx(np.sum(X ** 2)) and aux["tag"] == "train" and aux["obj"] is tag
    out, vjp_fn, aux = dt.vjp(f, X, has_aux=True)
    assert aux["tag"] == "train" and aux["obj"] is tag
    np.testing.assert_allclose(vjp_fn(1.0)[0], 2 * X)
    hess = dt.jacfwd(lambda x: dt.grad(f, has_aux=True)(x)[0])(X)  # under an outer transform
    np.testing.assert_allclose(hess, 2 * np.eye(3))
    assert "train" not in dt.source(dt.grad(f, has_aux=True), X)  # aux objects are not part of the program


def test_only_aux_may_hold_non_array_values():
    with pytest.raises(TypeError, match="str"):
        dt.grad(lambda x: (dnp.sum(x), "tag"))(X)
    with pytest.raises(TypeError, match="outside its aux"):
        dt.vjp(lambda x: ((x, "tag"), None), X, has_aux=True)


def test_gradient_of_a_function_that_ignores_its_input_is_zero():
    np.testing.assert_array_equal(dt.grad(lambda x: 3.0)(X), np.zeros(3))
    np.testing.assert_array_equal(dt.grad(lambda x, y: dnp.sum(y), argnums=0)(X, V), np.zeros(3))
    np.testing.assert_array_equal(dt.grad(lambda x: dnp.sum(dnp.floor(x)))(X), np.zeros(3))


# ---- vjp ---------------------------------------------------------------------------------------------
def test_vjp_returns_the_value_and_a_pullback_per_primal():
    f = lambda x, y: (dnp.sin(x) * y, dnp.sum(x))
    out, vjp_fn = dt.vjp(f, X, V)
    np.testing.assert_allclose(out[0], np.sin(X) * V)
    x_bar, y_bar = vjp_fn((np.ones(3), 2.0))
    np.testing.assert_allclose(x_bar, np.cos(X) * V + 2.0)
    np.testing.assert_allclose(y_bar, np.sin(X))
    x_bar2, _ = vjp_fn((V, 0.0))  # the pullback can be called again
    np.testing.assert_allclose(x_bar2, np.cos(X) * V * V)
    check_vjp(f, (X, V))


def test_vjp_with_aux():
    out, vjp_fn, aux = dt.vjp(lambda x: (dnp.exp(x), dnp.sum(x)), X, has_aux=True)
    np.testing.assert_allclose(out, np.exp(X))
    assert aux == pytest.approx(X.sum())
    np.testing.assert_allclose(vjp_fn(V)[0], np.exp(X) * V)


# ---- jacrev ------------------------------------------------------------------------------------------
def test_jacrev_shapes_argnums_and_pytrees():
    f = lambda x, w: {"y": dnp.tanh(w @ x), "s": dnp.sum(x * x)}
    w = np.arange(6.0).reshape(2, 3) / 5
    jac = check_jacrev(f, (X, w), argnums=(0, 1))
    assert jac["y"][0].shape == (2, 3) and jac["y"][1].shape == (2, 2, 3) and jac["s"][0].shape == (3,)
    assert check_jacrev(lambda m: m.T @ m, (w,)).shape == (3, 3, 2, 3)
    assert check_jacrev(lambda s: dnp.sin(s) * X, (0.5,)).shape == (3,)


@settings(max_examples=10, deadline=None)
@given(x=VECTORS)
def test_jacrev_equals_jacfwd_and_finite_differences(x):
    f = lambda a: dnp.softmax(a * a[::-1], axis=0) * dnp.cos(a)
    assert_close(dt.jacrev(f)(x), numerical_jacobian(f, (x,)), "jacrev")
    np.testing.assert_allclose(dt.jacrev(f)(x), dt.jacfwd(f)(x), rtol=1e-12, atol=1e-14)


# ---- second order ------------------------------------------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(x=VECTORS)
def test_hessian_matches_finite_differences_of_grad_and_is_symmetric(x):
    h = dt.hessian(f3)(x)
    assert h.shape == (3, 3)
    assert_close(h, hessian_fd(f3, x), "hessian", rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h, h.T, **EXACT)


@settings(max_examples=10, deadline=None)
@given(x=VECTORS, v=VECTORS)
def test_hvp_equals_hessian_times_v(x, v):
    hv = dt.hvp(f3, (x,), (v,))
    hv = hv[0] if isinstance(hv, tuple) else hv
    np.testing.assert_allclose(hv, hessian_fd(f3, x) @ v, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(hv, dt.hessian(f3)(x) @ v, **EXACT)


def test_hvp_needs_tuples_of_primals_and_tangents_as_jvp_does():
    with pytest.raises(TypeError, match=r"hvp: primals and tangents must be tuples.*got ndarray and ndarray"):
        dt.hvp(lambda a: dnp.sum(a ** 3), X, np.ones(3))
    with pytest.raises(TypeError, match="hvp: primals and tangents must be tuples"):
        dt.hvp(lambda a: dnp.sum(a ** 3), np.array([2.0]), np.array([1.0]))  # never unpacked as arguments
    with pytest.raises(ValueError, match="hvp: 1 primals but 2 tangents"):
        dt.hvp(lambda a: dnp.sum(a ** 3), (X,), (X, X))
    np.testing.assert_allclose(dt.hvp(lambda a: dnp.sum(a ** 3), [np.array([2.0])], [np.array([1.0])])[0], [12.0])


def test_hessian_and_hvp_of_several_arguments():
    f = lambda x, y: dnp.sum(x * x * y) + dnp.sum(dnp.sin(x * y))
    (hxx, hxy), (hyx, hyy) = dt.hessian(f, argnums=(0, 1))(X, V)
    s = np.sin(X * V)
    np.testing.assert_allclose(hxx, np.diag(2 * V - V * V * s))
    np.testing.assert_allclose(hxy, np.diag(2 * X + np.cos(X * V) - X * V * s))
    np.testing.assert_allclose(hyx, hxy.T)
    np.testing.assert_allclose(hyy, np.diag(-X * X * s))
    hv_x, hv_y = dt.hvp(f, (X, V), (np.ones(3), 2 * np.ones(3)))
    np.testing.assert_allclose(hv_x, hxx @ np.ones(3) + hxy @ (2 * np.ones(3)))
    np.testing.assert_allclose(hv_y, hyx @ np.ones(3) + hyy @ (2 * np.ones(3)))


def test_grad_of_grad_and_higher():
    f = lambda s: dnp.sin(s) * s ** 3
    d1 = lambda s: np.cos(s) * s ** 3 + 3 * s ** 2 * np.sin(s)
    d2 = lambda s: -np.sin(s) * s ** 3 + 6 * s ** 2 * np.cos(s) + 6 * s * np.sin(s)
    d3 = lambda s: -np.cos(s) * s ** 3 - 9 * s ** 2 * np.sin(s) + 18 * s * np.cos(s) + 6 * np.sin(s)
    for s in (0.5, -1.25, 2.0):
        assert dt.grad(f)(s) == pytest.approx(d1(s), rel=1e-13)
        assert dt.grad(dt.grad(f))(s) == pytest.approx(d2(s), rel=1e-12)
        assert dt.grad(dt.grad(dt.grad(f)))(s) == pytest.approx(d3(s), rel=1e-12)
        assert dt.grad(dt.grad(f))(np.array(s)) == pytest.approx(d2(s), rel=1e-12)


@settings(max_examples=8, deadline=None)
@given(x=VECTORS)
def test_forward_over_reverse_equals_reverse_over_forward(x):
    f = lambda a: dnp.tanh(a) * dnp.sum(a ** 2) + a[::-1] * dnp.exp(a[0])
    fr = dt.jacfwd(dt.jacrev(f))(x)
    rf = dt.jacrev(dt.jacfwd(f))(x)
    rr = dt.jacrev(dt.jacrev(f))(x)
    assert fr.shape == rf.shape == rr.shape == (3, 3, 3)
    assert_close(fr, numerical_jacobian(dt.jacrev(f), (x,)), "jacfwd(jacrev)", rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(rf, fr, **EXACT)
    np.testing.assert_allclose(rr, fr, **EXACT)


def test_check_grads_second_order_in_both_modes():
    check_grads(f3, (X,), order=2, modes=("fwd", "rev"))
    check_grads(lambda x, y: dnp.tanh(x @ y) * x[:, :1], (np.ones((2, 3)) * X, np.eye(3)[:, :2] + 0.5),
                order=2, modes=("fwd", "rev"))


# ---- composition with jit and with outer traces ------------------------------------------------------
def test_jit_of_grad_equals_grad_of_jit_equals_grad():
    f = lambda x, y: dnp.sum(dnp.exp(dnp.sin(x) * y) / (1.0 + x * x))
    expected = numerical_vjp(f, (X, V), np.array(1.0), (0,))[0]
    for g in (dt.grad(f), dt.jit(dt.grad(f)), dt.grad(dt.jit(f)), dt.jit(dt.grad(dt.jit(f)))):
        assert_close(g(X, V), expected, "grad")
    jitted = dt.jit(dt.grad(f))
    jitted(X, V)
    jitted(X + 1, V)
    assert jitted.cache_size == 1  # compiled once per signature
    np.testing.assert_allclose(jitted(X + 1, V), dt.grad(f)(X + 1, V), rtol=1e-14)


def test_grad_of_a_function_calling_jitted_functions():
    inner = dt.jit(lambda a, k: dnp.sin(a) * k, static_argnums=1)
    f = lambda x: dnp.sum(inner(x, 3) * inner(x * 2, 1))
    assert_close(dt.grad(f)(X), numerical_vjp(f, (X,), np.array(1.0))[0], "grad through jit")


def test_grad_closing_over_an_outer_tracer():
    def inner_grad(a):  # d/dz sum(sin(a z)) at X: a cos(a X)
        return dt.grad(lambda z: dnp.sum(dnp.sin(a * z)))(X)

    np.testing.assert_allclose(dt.jit(inner_grad)(np.array(1.5)), 1.5 * np.cos(1.5 * X))
    outer = lambda a: dnp.sum(inner_grad(a))
    # d/da sum(a cos(a X)) = sum(cos(a X) - a X sin(a X))
    expected = np.sum(np.cos(1.5 * X) - 1.5 * X * np.sin(1.5 * X))
    assert dt.grad(outer)(1.5) == pytest.approx(expected, rel=1e-12)
    assert dt.grad(outer)(np.array(1.5)) == pytest.approx(expected, rel=1e-12)
    assert dt.jit(dt.grad(outer))(np.array(1.5)) == pytest.approx(expected, rel=1e-12)
    # and through forward mode
    assert dt.jvp(outer, (1.5,), (1.0,))[1] == pytest.approx(expected, rel=1e-12)
    # an inner vjp closing over the outer value
    pulled = lambda a: dnp.sum(dt.vjp(lambda z: dnp.sin(a * z), X)[1](V)[0])
    want = numerical_vjp(pulled, (np.array(1.5),), np.array(1.0))[0]
    assert_close(dt.grad(pulled)(np.array(1.5)), want, "grad of a vjp")


def test_optimize_off_gives_the_same_gradients(monkeypatch):
    f = lambda x, y: dnp.sum(dnp.tanh(x @ y) ** 2) * 1.0 + 0.0 * dnp.sum(x)
    x, y = np.ones((2, 3)) * X, np.eye(3) - 0.25
    on = [dt.grad(f, argnums=(0, 1))(x, y), dt.hessian(lambda a: f(a, y))(x), dt.jacrev(dt.grad(f))(x, y)]
    monkeypatch.setattr(dt.config, "optimize", False)
    off = [dt.grad(f, argnums=(0, 1))(x, y), dt.hessian(lambda a: f(a, y))(x), dt.jacrev(dt.grad(f))(x, y)]
    for a, b in zip(tree.leaves(on), tree.leaves(off)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    assert_close(off[0][0], numerical_vjp(f, (x, y), np.array(1.0), (0,))[0], "grad, optimize off")


# ---- float32 -----------------------------------------------------------------------------------------
def test_float32_in_float32_out_with_python_scalar_constants():
    x = X.astype(np.float32)
    f = lambda a: dnp.sum(dnp.sin(a) * 0.5 + a ** 2 / 3.0 - 2.0 * dnp.exp(-a)) + 1.0
    value, g = dt.value_and_grad(f)(x)
    assert np.asarray(value).dtype == np.float32 and g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(X) * 0.5 + 2 * X / 3.0 + 2 * np.exp(-X), rtol=1e-6)
    assert dt.jit(dt.grad(f))(x).dtype == np.float32
    assert dt.vjp(lambda a: dnp.exp(a) * 2.0, x)[1](np.ones(3, np.float32))[0].dtype == np.float32
    assert dt.jacrev(lambda a: dnp.tanh(a) * 1.5)(x).dtype == np.float32
    assert dt.hessian(f)(x).dtype == np.float32
    assert dt.hvp(f, (x,), (x,))[0].dtype == np.float32
    assert dt.grad(lambda a: dnp.mean(a * a))(x).dtype == np.float32
    assert dt.grad(lambda a: a * 2.0)(np.float32(1.5)).dtype == np.float32
    assert dt.grad(dt.grad(lambda a: a ** 3 * 0.5))(np.float32(1.5)).dtype == np.float32
    # a float64 argument next to a float32 one keeps its own dtype
    g32, g64 = dt.grad(lambda a, b: dnp.sum(a * b), argnums=(0, 1))(x, X)
    assert g32.dtype == np.float32 and g64.dtype == np.float64


# ---- errors (SPEC §3) --------------------------------------------------------------------------------
def test_grad_of_a_non_scalar_output_names_the_shape_and_suggests_jacrev_or_vjp():
    with pytest.raises(TypeError, match=r"\(3,\)") as info:
        dt.grad(lambda x: x * 2)(X)
    assert "jacrev" in str(info.value) and "vjp" in str(info.value)
    with pytest.raises(TypeError, match=r"\(2, 3\)"):
        dt.grad(lambda x: dnp.ones((2, 3)) * dnp.sum(x))(X)
    with pytest.raises(TypeError, match="scalar"):
        dt.grad(lambda x: (dnp.sum(x), dnp.sum(x)))(X)


@pytest.mark.parametrize("bad", [np.arange(3), np.array([True, False]), 3, True, np.int32(2)])
def test_integer_or_boolean_inputs_to_grad_are_type_errors(bad):
    with pytest.raises(TypeError, match="float"):
        dt.grad(lambda x: dnp.sum(x * 1.0))(bad)
    with pytest.raises(TypeError, match="float"):
        dt.grad(lambda p: dnp.sum(p["a"]) * 2.0)({"a": X, "b": bad})
    # an integer argument left out of argnums is fine
    assert dt.grad(lambda x, n: dnp.sum(x) * dnp.sum(n))(X, bad).shape == (3,)


def test_integer_inputs_to_vjp_and_jacrev_are_type_errors():
    with pytest.raises(TypeError, match="float"):
        dt.vjp(lambda x: x * 2.0, np.arange(3))
    with pytest.raises(TypeError, match="float"):
        dt.jacrev(lambda x: x * 2.0)(np.arange(3))


OBJECTS = np.array([0.5, -1.0, 2.0], dtype=object)
NOT_SUPPORTED = r"arrays of dtype object are not supported.*np\.asarray\(x, dtype=float\)"


def test_an_object_array_argument_to_a_transform_says_object_arrays_are_not_supported():
    for run in (lambda: dt.jacrev(lambda x: x * 2.0)(OBJECTS), lambda: dt.jacfwd(lambda x: x * 2.0)(OBJECTS),
                lambda: dt.vjp(lambda x: x * 2.0, OBJECTS), lambda: dt.hessian(lambda x: dnp.sum(x ** 3))(OBJECTS)):
        with pytest.raises(TypeError, match=NOT_SUPPORTED):
            run()


def test_an_object_array_argument_to_grad_or_jit_says_object_arrays_are_not_supported():
    for run in (lambda: dt.grad(lambda x: dnp.sum(x * 2.0))(OBJECTS), lambda: dt.jit(lambda x: x * 2.0)(OBJECTS)):
        with pytest.raises(TypeError, match=NOT_SUPPORTED) as err:
            run()
        assert "static" not in str(err.value)


def test_integer_output_of_grad_is_a_type_error():
    with pytest.raises(TypeError, match="float"):
        dt.grad(lambda x: dnp.sum(x > 0))(X)


def test_wrong_cotangent_shape_or_structure_to_vjp_fn_is_a_value_error():
    _, vjp_fn = dt.vjp(lambda x: x * 2, X)
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        vjp_fn(np.ones(2))
    with pytest.raises(ValueError):
        vjp_fn(np.ones((3, 1)))
    _, pair_fn = dt.vjp(lambda x: (x, dnp.sum(x)), X)
    with pytest.raises(ValueError, match="structure"):
        pair_fn(np.ones(3))
    np.testing.assert_allclose(vjp_fn(np.ones(3))[0], 2 * np.ones(3))  # a failed call leaves it usable


# ---- readable adjoint source -------------------------------------------------------------------------
def loss(w, x):
    h = dnp.tanh(x @ w)
    return dnp.sum(h * h)


GOLDEN = """\
def grad_loss(w, x):
    a = x @ w
    h = xp.tanh(a)
    b = h * h
    h_bar = h + h
    b = 1 - b
    b *= h_bar
    c = x.T
    w_bar = c @ b
    return w_bar
"""


def test_adjoint_source_golden():
    w, x = np.ones((3, 2)), np.ones((4, 3))
    assert dt.source(dt.grad(loss), w, x, comments=False).strip() == GOLDEN.strip()


def test_adjoint_source_of_an_mlp_reads_like_a_hand_written_gradient():
    def mlp_loss(w1, b1, w2, x, y):
        h = dnp.tanh(x @ w1 + b1)
        out = h @ w2
        return dnp.mean((out - y) ** 2)

    rng = np.random.default_rng(0)
    args = (rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((4, 2)),
            rng.standard_normal((5, 3)), rng.standard_normal((5, 2)))
    source = dt.source(dt.grad(mlp_loss, argnums=(0, 1, 2)), *args, comments=False)
    lines = [line.strip() for line in source.strip().splitlines()[1:]]
    assert lines[-1] == "return (w1_bar, b1_bar, w2_bar)"
    assigned = [re.split(r" [-+*/]?= ", line)[0] for line in lines[:-1]]  # (a = ..., a += ...)
    for name in ("w1_bar", "b1_bar", "w2_bar", "h", "out"):
        assert name in assigned, source
    # primal statements first: everything up to the loss's inputs is computed before any *_bar
    first_bar = next(i for i, n in enumerate(assigned) if n.endswith("_bar"))
    assert {"h", "out"} <= set(assigned[:first_bar])
    assert not any(n.endswith("_bar") for n in assigned[:first_bar])
    # no multiplication by 1, no unused statements
    body = ast.parse(source).body[0].body
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            assert not any(isinstance(o, ast.Constant) and o.value == 1 for o in (node.left, node.right)), source
    for i, stmt in enumerate(body[:-1]):
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        assert _read_before_rebound(target.id, body[i + 1:]), f"line {i + 2} is never used:\n{source}"
    # and the compiled source computes the right numbers
    grads = dt.grad(mlp_loss, argnums=(0, 1, 2))(*args)
    for g, n in zip(grads, numerical_vjp(mlp_loss, args, np.array(1.0), (0, 1, 2))):
        assert_close(g, n, "mlp grad")


def _read_before_rebound(name, statements) -> bool:
    """Whether `name` is read by one of the statements before one of them assigns it again."""
    for stmt in statements:
        if isinstance(stmt, ast.AugAssign) and stmt.target.id == name:  # (a += b reads a)
            return True
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Return)) else stmt
        if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(value)):
            return True
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            return False
    return False


def test_adjoint_program_names_gradients_after_their_primals():
    program = dt.trace(dt.grad(loss))(np.ones((3, 2)), np.ones((4, 3)))
    assert program.outputs[0].hint == "w_bar"
    printed = str(program)
    assert "w_bar" in printed and "h_bar" in printed
    assert printed.index("tanh") < printed.index("h_bar")  # primal statements come first
