"""stop_gradient, checkpoint, custom_jvp and custom_vjp: their values, their derivatives in both modes
(against hand-derived formulas and finite differences), the residuals checkpoint saves, and vmap through them."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.ir import Var
from dualtape.transforms.vjp import Pullback
from gradcheck import check_grads, check_jvp, check_vjp

X = np.array([0.5, -1.0, 2.0])
ONES = np.ones(3)


# ---- stop_gradient -----------------------------------------------------------------------------------
def test_stop_gradient_has_zero_derivative_in_both_modes():
    f = lambda x: dt.stop_gradient(x * x) * x + dnp.sin(dt.stop_gradient(x))
    np.testing.assert_allclose(f(X), X ** 3 + np.sin(X))
    np.testing.assert_allclose(dt.grad(lambda x: dnp.sum(f(x)))(X), X ** 2)  # only the last factor x
    out, out_dot = dt.jvp(f, (X,), (ONES,))
    np.testing.assert_allclose(out_dot, X ** 2)
    np.testing.assert_allclose(dt.jacrev(f)(X), np.diag(X ** 2))
    np.testing.assert_allclose(dt.jacfwd(f)(X), np.diag(X ** 2))
    np.testing.assert_array_equal(dt.grad(lambda x: dnp.sum(dt.stop_gradient(x)))(X), np.zeros(3))


def test_stop_gradient_of_a_pytree_and_under_jit_and_second_order():
    p = dt.stop_gradient({"a": X, "b": (2.0,)})
    assert set(p) == {"a", "b"} and p["b"] == (2.0,)
    g = dt.jit(dt.grad(lambda x: dnp.sum(dt.stop_gradient(dnp.exp(x)) * x)))
    np.testing.assert_allclose(g(X), np.exp(X))
    # d/dx [stop(x) * x^2] = 2 x stop(x); once more: 2 stop(x)  (stop_gradient stays flat at second order)
    h = dt.hessian(lambda x: dt.stop_gradient(x) * x ** 2)(1.5)
    np.testing.assert_allclose(h, 3.0)


# ---- checkpoint --------------------------------------------------------------------------------------
def block(a):
    b = dnp.sin(a)
    c = dnp.tanh(b * a)
    d = dnp.exp(c) * b
    return dnp.cos(d)


def plain(x):
    return dnp.sum(block(x) * x)


def checkpointed(x):
    return dnp.sum(dt.checkpoint(block)(x) * x)


def test_checkpoint_keeps_values_and_gradients():
    np.testing.assert_allclose(dt.checkpoint(block)(X), block(X))
    check_grads(checkpointed, (X,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(dt.grad(checkpointed)(X), dt.grad(plain)(X), rtol=1e-14)
    np.testing.assert_allclose(dt.jit(dt.grad(checkpointed))(X), dt.grad(plain)(X), rtol=1e-14)
    np.testing.assert_allclose(dt.hessian(checkpointed)(X), dt.hessian(plain)(X), rtol=1e-12)


def _forward_values_read_backward(program, n_forward):
    """The values computed by the first n_forward equations (the forward sweep) or given as inputs that the
    later equations (the backward sweep) read: what reverse mode has to keep."""
    forward = {v.id for v in program.inputs} | {v.id for e in program.eqns[:n_forward] for v in e.outs}
    return {a.id for e in program.eqns[n_forward:] for a in e.inputs if type(a) is Var and a.id in forward}


def test_checkpoint_stores_fewer_residuals(monkeypatch):
    monkeypatch.setattr(dt.config, "optimize", False)  # the program as the adjoint transform writes it
    n_plain = len(dt.trace(plain)(X).eqns)
    n_ckpt = len(dt.trace(checkpointed)(X).eqns)
    assert n_ckpt == 3  # checkpoint, mul, reduce_sum
    kept_plain = _forward_values_read_backward(dt.trace(dt.grad(plain))(X), n_plain)
    kept_ckpt = _forward_values_read_backward(dt.trace(dt.grad(checkpointed))(X), n_ckpt)
    assert len(kept_plain) >= 5  # x, b, c, d, the block's output (and b * a, exp(c))
    assert len(kept_ckpt) == 2  # x and the block's output; the rest is recomputed in the backward sweep
    # the same on arrays: what the Pullback holds between its forward and backward sweeps
    held = lambda f: Pullback(dt.trace(f)(X), [X]).env
    assert len(held(checkpointed)) < len(held(plain))


def test_checkpoint_recomputes_in_the_compiled_gradient():
    source = dt.source(dt.grad(checkpointed), X, comments=False)
    assert source.count("xp.sin(x)") == 2  # once forward, once again in the backward sweep
    assert dt.source(dt.grad(plain), X, comments=False).count("xp.sin(x)") == 1


def test_checkpoint_with_pytrees_closures_and_nesting():
    def f(p):
        out = dt.checkpoint(lambda q: {"u": dnp.sin(q["a"]) * q["b"], "v": q["b"] ** 2})(p)
        return dnp.sum(out["u"]) + dnp.sum(out["v"])

    g = dt.grad(f)({"a": X, "b": 2 * X})
    np.testing.assert_allclose(g["a"], np.cos(X) * 2 * X)
    np.testing.assert_allclose(g["b"], np.sin(X) + 4 * X)
    closure = lambda a: dnp.sum(dt.checkpoint(lambda z: dnp.sin(z * a))(X))
    np.testing.assert_allclose(dt.grad(closure)(1.5), np.sum(np.cos(1.5 * X) * X))
    np.testing.assert_allclose(dt.jvp(closure, (1.5,), (1.0,))[1], np.sum(np.cos(1.5 * X) * X))
    nested = lambda x: dnp.sum(dt.checkpoint(lambda z: dt.checkpoint(dnp.sin)(z) * z)(x))
    np.testing.assert_allclose(dt.grad(nested)(X), np.cos(X) * X + np.sin(X))
    x32 = X.astype(np.float32)
    assert dt.grad(lambda x: dnp.sum(dt.checkpoint(lambda z: dnp.sin(z) * 2.0)(x)))(x32).dtype == np.float32


def test_vmap_through_checkpoint():
    xs = np.stack([X, 2 * X, -X])
    np.testing.assert_allclose(dt.vmap(dt.checkpoint(block))(xs), np.stack([block(x) for x in xs]))
    np.testing.assert_allclose(dt.vmap(dt.grad(checkpointed))(xs), np.stack([dt.grad(plain)(x) for x in xs]))
    np.testing.assert_allclose(dt.grad(lambda x: dnp.sum(dt.vmap(dt.checkpoint(block))(x)))(xs),
                               dt.grad(lambda x: dnp.sum(block(x)))(xs))
    check_vjp(lambda x: dt.vmap(dt.checkpoint(block))(x), (xs,))


# ---- custom_jvp --------------------------------------------------------------------------------------
@dt.custom_jvp
def twice_sin(x):
    """Deliberately 'wrong' rule (twice the true derivative), so that using it is observable."""
    return dnp.sin(x)


@twice_sin.defjvp
def _twice_sin_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return twice_sin(x), 2.0 * dnp.cos(x) * t


def test_custom_jvp_rule_is_used_in_forward_mode():
    np.testing.assert_allclose(twice_sin(X), np.sin(X))
    out, out_dot = dt.jvp(twice_sin, (X,), (ONES,))
    np.testing.assert_allclose(out, np.sin(X))
    np.testing.assert_allclose(out_dot, 2 * np.cos(X))
    np.testing.assert_allclose(dt.jacfwd(twice_sin)(X), np.diag(2 * np.cos(X)))


def test_custom_jvp_rule_is_transposed_in_reverse_mode():
    f = lambda x: dnp.sum(twice_sin(x) * x)
    expected = 2 * np.cos(X) * X + np.sin(X)
    np.testing.assert_allclose(dt.grad(f)(X), expected)
    np.testing.assert_allclose(dt.jit(dt.grad(f))(X), expected)
    np.testing.assert_allclose(dt.vjp(twice_sin, X)[1](X)[0], 2 * np.cos(X) * X)
    np.testing.assert_allclose(dt.jacrev(twice_sin)(X), np.diag(2 * np.cos(X)))
    # second order: d/dx 2 cos x = -2 sin x, through the rule's own derivative
    np.testing.assert_allclose(dt.hessian(lambda x: dnp.sum(twice_sin(x)))(X), np.diag(-2 * np.sin(X)))
    np.testing.assert_allclose(dt.grad(dt.grad(lambda x: twice_sin(x)))(0.5), -2 * np.sin(0.5))


@dt.custom_jvp
def safe_norm(x):
    return dnp.sqrt(dnp.sum(x * x))


@safe_norm.defjvp
def _safe_norm_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    n = safe_norm(x)
    return n, dnp.sum(x * t) / dnp.maximum(n, 1e-12)


def test_a_true_custom_rule_matches_finite_differences_and_fixes_a_nan():
    check_grads(safe_norm, (X,), order=1, modes=("fwd", "rev"))
    np.testing.assert_array_equal(dt.grad(safe_norm)(np.zeros(3)), np.zeros(3))  # sqrt's rule would give NaN
    with np.errstate(all="ignore"):
        assert np.isnan(dt.grad(lambda x: dnp.sqrt(dnp.sum(x * x)))(np.zeros(3))).all()


@dt.custom_jvp
def scaled_pair(x, y):
    return x * y, dnp.sin(x)


@scaled_pair.defjvp
def _scaled_pair_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return scaled_pair(x, y), (tx * y + x * ty, dnp.cos(x) * tx)


def test_custom_jvp_with_several_arguments_and_outputs():
    check_vjp(scaled_pair, (X, 2 * X))
    check_jvp(scaled_pair, (X, 2 * X))
    gy = dt.grad(lambda x, y: dnp.sum(scaled_pair(x, y)[0]), argnums=1)(X, 2 * X)
    np.testing.assert_allclose(gy, X)


def test_custom_rules_refuse_derivatives_of_closed_over_values():
    def h(a):
        @dt.custom_jvp
        def f(z):
            return dnp.sin(z * a)

        @f.defjvp
        def f_jvp(p, t):
            return f(p[0]), dnp.cos(p[0] * a) * a * t[0]

        return dnp.sum(f(X))

    for attempt in (lambda: dt.grad(h)(1.5), lambda: dt.jvp(h, (1.5,), (1.0,))):
        with pytest.raises(TypeError, match="closes over a value that is being differentiated"):
            attempt()

    def k(a):
        @dt.custom_vjp
        def f(z):
            return dnp.sin(z * a)

        f.defvjp(lambda z: (f(z), z), lambda z, g: (dnp.cos(z * a) * a * g,))
        return dnp.sum(f(X))

    with pytest.raises(TypeError, match="closes over a value that is being differentiated"):
        dt.grad(k)(1.5)
    # closing over a value that is *not* differentiated is fine
    np.testing.assert_allclose(dt.grad(lambda x: k(1.5) * 0 + dnp.sum(x))(X), ONES)


def test_custom_jvp_without_a_rule_is_a_clear_error():
    @dt.custom_jvp
    def f(x):
        return x

    with pytest.raises(TypeError, match="defjvp"):
        f(X)


# ---- custom_vjp --------------------------------------------------------------------------------------
@dt.custom_vjp
def clip_gradient(x):
    return x * 1.0


clip_gradient.defvjp(lambda x: (clip_gradient(x), None), lambda res, g: (dnp.clip(g, -0.1, 0.1),))


def test_custom_vjp_backward_is_used_by_grad():
    f = lambda x: dnp.sum(clip_gradient(x) * np.array([3.0, -0.05, 0.0]))
    np.testing.assert_allclose(clip_gradient(X), X)
    np.testing.assert_allclose(dt.grad(f)(X), [0.1, -0.05, 0.0])
    np.testing.assert_allclose(dt.jit(dt.grad(f))(X), [0.1, -0.05, 0.0])
    np.testing.assert_allclose(dt.vjp(clip_gradient, X)[1](np.array([5.0, -5.0, 0.01]))[0], [0.1, -0.1, 0.01])
    # forward mode differentiates the function itself
    np.testing.assert_allclose(dt.jvp(clip_gradient, (X,), (ONES * 5,))[1], ONES * 5)


@dt.custom_vjp
def sin_times(x, y):
    return dnp.sin(x) * y


def _sin_times_fwd(x, y):
    s = dnp.sin(x)
    return s * y, (dnp.cos(x), s, y)


def _sin_times_bwd(res, g):
    c, s, y = res
    return c * y * g, s * g


sin_times.defvjp(_sin_times_fwd, _sin_times_bwd)


def test_a_true_custom_vjp_matches_finite_differences():
    check_vjp(sin_times, (X, 2 * X))
    gx, gy = dt.grad(lambda x, y: dnp.sum(sin_times(x, y) ** 2), argnums=(0, 1))(X, 2 * X)
    np.testing.assert_allclose(gx, 2 * np.sin(X) * 2 * X * np.cos(X) * 2 * X)
    np.testing.assert_allclose(gy, 2 * np.sin(X) * 2 * X * np.sin(X))
    x32 = X.astype(np.float32)
    assert dt.grad(lambda x: dnp.sum(sin_times(x, 2.0 * x)))(x32).dtype == np.float32


def test_custom_vjp_backward_may_return_none_for_a_zero_cotangent():
    @dt.custom_vjp
    def f(x, y):
        return dnp.sin(x) * y

    f.defvjp(lambda x, y: (f(x, y), dnp.sin(x)), lambda s, g: (None, s * g))
    gx, gy = dt.grad(lambda x, y: dnp.sum(f(x, y)), argnums=(0, 1))(X, 2 * X)
    np.testing.assert_array_equal(gx, np.zeros(3))
    np.testing.assert_allclose(gy, np.sin(X))


def test_custom_vjp_with_pytree_arguments():
    @dt.custom_vjp
    def f(p):
        return p["a"] * p["b"]

    f.defvjp(lambda p: (f(p), p), lambda p, g: ({"a": g * p["b"] * 100, "b": g * p["a"]},))
    ga, gb = dt.grad(lambda a, b: dnp.sum(f({"a": a, "b": b})), argnums=(0, 1))(X, 2 * X)
    np.testing.assert_allclose(ga, 200 * X)
    np.testing.assert_allclose(gb, X)


def test_custom_vjp_backward_errors_are_clear():
    @dt.custom_vjp
    def f(x, s):
        return x * s

    f.defvjp(lambda x, s: (f(x, s), (x, s)), lambda r, g: (g * r[1], g * r[0]))  # s's cotangent not summed
    with pytest.raises(ValueError, match=r"shape \(3,\) for argument 1 of shape \(\)"):
        dt.grad(lambda x, s: dnp.sum(f(x, s)), argnums=(0, 1))(X, 2.0)

    @dt.custom_vjp
    def g(x):
        return x

    g.defvjp(lambda x: (x, None), lambda r, ct: ct)  # not a tuple
    with pytest.raises(TypeError, match="tuple of 1 cotangents"):
        dt.grad(lambda x: dnp.sum(g(x)))(X)

    @dt.custom_vjp
    def h(x):
        return x

    with pytest.raises(TypeError, match="defvjp"):
        h(X)


def test_custom_vjp_forward_function_gives_the_primal_once():
    calls = []

    @dt.custom_vjp
    def f(x):
        return dnp.sin(x)

    def f_fwd(x):
        calls.append("fwd")
        return dnp.sin(x), dnp.cos(x)

    f.defvjp(f_fwd, lambda c, g: (c * g,))
    loss = lambda x: dnp.sum(f(x))
    value, g = dt.value_and_grad(loss)(X)
    assert value == pytest.approx(np.sin(X).sum()) and calls == ["fwd"]  # not again in the backward sweep
    np.testing.assert_allclose(g, np.cos(X))
    program = dt.trace(dt.value_and_grad(loss))(X)
    assert [e.prim.name for e in program.eqns].count("sin") == 1

    @dt.custom_vjp
    def h(x):
        return x * 2.0

    h.defvjp(lambda x: (dnp.sum(x), None), lambda r, g: (g,))  # forward output of the wrong shape
    with pytest.raises(TypeError, match="output shaped like h's"):
        dt.grad(lambda x: dnp.sum(h(x)))(X)


def test_custom_rules_closing_over_values_computed_inside_grad_are_a_clear_error():
    def with_jvp(x):
        a = dnp.floor(x[2])  # computed inside the differentiated function, itself not differentiated

        @dt.custom_jvp
        def f(z):
            return dnp.sin(z * a)

        @f.defjvp
        def f_jvp(p, t):
            return f(p[0]), dnp.cos(p[0] * a) * a * t[0]

        return dnp.sum(f(x))

    def with_vjp(x):
        a = dnp.floor(x[2])

        @dt.custom_vjp
        def f(z):
            return dnp.sin(z * a)

        f.defvjp(lambda z: (f(z), z), lambda z, g: (dnp.cos(z * a) * a * g,))
        return dnp.sum(f(x))

    np.testing.assert_allclose(dt.jvp(with_jvp, (X,), (ONES,))[1], np.sum(2 * np.cos(2 * X)))  # forward: fine
    for fn in (with_jvp, with_vjp):
        with pytest.raises(NotImplementedError, match="pass that value to f as an argument"):
            dt.grad(fn)(X)


def test_custom_rules_closing_over_constants_and_outer_traced_values():
    scale = np.array([1.0, 2.0, 3.0])

    @dt.custom_vjp
    def scaled(z):
        return z * scale  # scale is a captured constant

    scaled.defvjp(lambda z: (scaled(z), None), lambda r, g: (g * scale * 10,))
    np.testing.assert_allclose(dt.grad(lambda x: dnp.sum(scaled(x)))(X), 10 * scale)

    def inner(x, a):  # a is a value of the enclosing jit trace, alive while grad runs
        @dt.custom_jvp
        def f(z):
            return dnp.sin(z * a)

        @f.defjvp
        def f_jvp(p, t):
            return f(p[0]), 2 * dnp.cos(p[0] * a) * a * t[0]

        return dt.grad(lambda z: dnp.sum(f(z)))(x)

    np.testing.assert_allclose(dt.jit(inner)(X, np.array(1.5)), 3 * np.cos(1.5 * X))
