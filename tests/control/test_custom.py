"""custom_jvp and custom_vjp with nondiff_argnums, as in JAX: those arguments go to the rules first, as they
are (a Python int stays an int, a function stays a function), and are never differentiated; keyword
arguments are placed by position. References are closed forms (and JAX itself, when it is installed)."""

import functools

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from gradcheck import assert_close, check_grads

X = np.array([0.3, -0.2, 0.5])


@functools.partial(dt.custom_jvp, nondiff_argnums=(1,))
def power(v, n):
    return v ** n


@power.defjvp
def power_jvp(n, primals, tangents):
    assert isinstance(n, int) or getattr(n, "_dt_trace", None) is not None, f"n came as {n!r}"
    (v,), (t,) = primals, tangents
    return power(v, n), n * v ** (n - 1) * t


def test_custom_jvp_nondiff_argnums_in_every_mode():
    expected = 3 * X ** 2
    assert_close(power(X, 3), X ** 3, "value")
    assert_close(dt.jvp(lambda v: power(v, 3), (X,), (np.ones(3),))[1], expected, "jvp")
    assert_close(dt.grad(lambda v: dnp.sum(power(v, 3)))(X), expected, "grad")
    assert_close(dt.grad(lambda v: dnp.sum(power(v, n=3)))(X), expected, "grad, n by keyword")
    assert_close(dt.jacfwd(lambda v: power(v, 3))(X), np.diag(expected), "jacfwd")
    assert_close(dt.jacrev(lambda v: power(v, 3))(X), np.diag(expected), "jacrev")
    assert_close(dt.hessian(lambda v: dnp.sum(power(v, 3)))(X), np.diag(6 * X), "hessian")
    assert_close(dt.vmap(lambda v: power(v, 2))(X), X ** 2, "vmap")
    assert_close(dt.jit(dt.grad(lambda v: dnp.sum(power(v, 3))))(X), expected, "jit of grad")


def test_a_nondiff_argument_left_to_its_default():
    @functools.partial(dt.custom_jvp, nondiff_argnums=(1,))
    def scaled(v, s=2.0):
        return v * s

    scaled.defjvp(lambda s, primals, tangents: (scaled(primals[0], s), tangents[0] * s * 10))
    assert_close(dt.grad(lambda v: dnp.sum(scaled(v)))(X), np.full(3, 20.0), "grad")


def test_a_traced_nondiff_argument_has_zero_derivative():
    # n = v, but behind stop_gradient: d/dv v**n = n * v**(n-1) with n held fixed
    x = np.array([0.3, 0.2, 0.5])
    assert_close(dt.grad(lambda v: dnp.sum(power(v[:2], v[2])))(x), [0.5 * 0.3 ** -0.5, 0.5 * 0.2 ** -0.5, 0.0],
                 "grad")


@functools.partial(dt.custom_vjp, nondiff_argnums=(0,))
def apply(f, v):
    return f(v)


def apply_fwd(f, v):
    return f(v), v


def apply_bwd(f, v, g):
    return (g * 10.0,)


apply.defvjp(apply_fwd, apply_bwd)


def test_custom_vjp_nondiff_argnums_pass_functions_to_the_rules():
    assert_close(apply(np.sin, X), np.sin(X), "value")
    assert_close(dt.grad(lambda v: dnp.sum(apply(dnp.sin, v)))(X), np.full(3, 10.0), "grad")
    assert_close(dt.grad(lambda v: dnp.sum(apply(f=dnp.sin, v=v * 2)))(X), np.full(3, 20.0), "by keyword")
    assert_close(dt.jit(lambda v: apply(dnp.sin, v))(X), np.sin(X), "jit")


def test_custom_vjp_traced_nondiff_argument():
    @functools.partial(dt.custom_vjp, nondiff_argnums=(1,))
    def scale(v, s):
        return v * s

    scale.defvjp(lambda v, s: (v * s, None), lambda s, residuals, g: (g * s,))
    assert_close(dt.grad(lambda v: dnp.sum(scale(v, 3.0)))(X), np.full(3, 3.0), "grad")
    assert_close(dt.grad(lambda v: dnp.sum(scale(v, v)))(X), X, "s = v is not differentiated")


def test_nondiff_argnums_errors():
    @functools.partial(dt.custom_vjp, nondiff_argnums=(1,))
    def scale(v, s):
        return v * s

    scale.defvjp(lambda v, s: (v * s, None), lambda s, residuals, g: (g * s, g))
    with pytest.raises(TypeError, match=r"tuple of 1 cotangents, one per argument not in nondiff_argnums"):
        dt.grad(lambda v: dnp.sum(scale(v, 2.0)))(X)
    identity = dt.custom_jvp(lambda a: a, nondiff_argnums=(3,))
    identity.defjvp(lambda primals, tangents: (primals[0], tangents[0]))
    with pytest.raises(ValueError, match=r"nondiff_argnums \(3,\) is out of range for a call with 1 arguments"):
        dt.grad(lambda v: dnp.sum(identity(v)))(X)
    with pytest.raises(TypeError, match="custom_jvp function power: .*unexpected keyword argument 'm'"):
        power(X, 2, m=2)



def test_nondiff_argnums_match_jax(jax):
    def make(custom_jvp, np_):
        @functools.partial(custom_jvp, nondiff_argnums=(0,))
        def clipped(limit, v):
            return np_.tanh(v) * limit

        @clipped.defjvp
        def clipped_jvp(limit, primals, tangents):
            (v,), (t,) = primals, tangents
            return clipped(limit, v), np_.minimum(1.0 - np_.tanh(v) ** 2, limit) * t

        return lambda v: np_.sum(clipped(0.9, v * 3.0))

    ours = dt.grad(make(dt.custom_jvp, dnp))(X)
    theirs = jax.grad(make(jax.custom_jvp, jax.numpy))(X)
    assert_close(ours, np.asarray(theirs), "grad")


# ---- second-order checks see a rule's dependence on the cotangent or tangent it receives ------------------
@dt.custom_vjp
def cube_stopped_cotangent(x):
    return x ** 3


cube_stopped_cotangent.defvjp(lambda x: (x ** 3, x), lambda x, g: (3 * x * x * dt.stop_gradient(g),))


@dt.custom_jvp
def cube_stopped_tangent(x):
    return x ** 3


@cube_stopped_tangent.defjvp
def _cube_stopped_tangent_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return x ** 3, 3 * x * x * dt.stop_gradient(t)


def test_check_grads_second_order_fails_a_rule_that_stops_the_cotangent_or_tangent_it_receives():
    """Right first derivatives, wrong second ones where the cotangent (tangent) depends on x: grad(grad) of
    cube(x)^2 gives 12x^4, not 30x^4. check_grads makes the cotangent (tangent) an argument, as PyTorch's
    gradgradcheck does, so it fails them (with a fixed one it passed)."""
    square_of = lambda cube: lambda x: cube(x) ** 2
    np.testing.assert_allclose(dt.grad(lambda x: dt.grad(square_of(cube_stopped_cotangent))(x))(0.5), 12 * 0.5 ** 4)
    check_grads(cube_stopped_cotangent, (X,), order=1, modes=("fwd", "rev"))
    check_grads(cube_stopped_tangent, (X,), order=1, modes=("fwd",))  # (transposed, its stopped tangent gives 0)
    with pytest.raises(AssertionError, match="cotangent of input leaf 1"):  # d/dȳ of Jᵀȳ came out 0
        check_grads(cube_stopped_cotangent, (X,), order=2, modes=("rev",))
    with pytest.raises(AssertionError, match="jvp tangent"):
        check_grads(cube_stopped_tangent, (X,), order=2, modes=("fwd",))
    check_grads(lambda x: x ** 3, (X,), order=2, modes=("fwd", "rev"))
