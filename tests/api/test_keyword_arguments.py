"""Keyword arguments to transformed functions, as in JAX: grad, value_and_grad, jacfwd, jacrev and hessian pass
them to the function without differentiating them; vmap maps them over axis 0; checkpoint passes them as
operands. References are closed forms (and JAX itself, when it is installed)."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from gradcheck import assert_close

X = np.array([0.3, -0.2, 0.5])


def loss(w, scale=1.0):
    return dnp.sum(dnp.sin(w) * scale)


def vector(w, scale=1.0):
    return dnp.sin(w) * scale


def test_derivative_transforms_pass_keyword_arguments_through():
    assert_close(dt.grad(loss)(X, scale=2.0), 2 * np.cos(X), "grad")
    value, g = dt.value_and_grad(loss)(X, scale=2.0)
    assert_close(value, 2 * np.sin(X).sum(), "value")
    assert_close(g, 2 * np.cos(X), "value_and_grad")
    assert_close(dt.jacfwd(vector)(X, scale=2.0), np.diag(2 * np.cos(X)), "jacfwd")
    assert_close(dt.jacrev(vector)(X, scale=2.0), np.diag(2 * np.cos(X)), "jacrev")
    assert_close(dt.hessian(loss)(X, scale=2.0), np.diag(-2 * np.sin(X)), "hessian")
    assert_close(dt.grad(loss)(X), np.cos(X), "the default")


def test_keyword_arrays_are_not_differentiated_and_key_the_cache():
    def f(w, *, b):
        return dnp.sum(w * b)

    g = dt.grad(f)
    assert_close(g(X, b=X), X, "grad")  # d/dw only, although b is the same array
    assert_close(g(X, b=2 * X), 2 * X, "grad, new value")
    assert g.trace_count == 1  # an array keyword is traced, as dt.jit traces it
    assert_close(dt.jacrev(lambda w, b: w * b)(X, b=X), np.diag(X), "jacrev")
    assert_close(dt.grad(f, argnums=0)(X, b=np.float32(3.0)), np.full(3, 3.0), "numpy scalar")
    assert_close(dt.jit(dt.grad(f))(X, b=X), X, "jit of grad")
    assert_close(dt.grad(lambda w: dt.grad(f)(w, b=w).sum())(X), np.ones(3), "grad of grad")


def test_python_objects_as_arguments_to_grad_are_static():
    def f(w, mode, *, k=None, training=True):
        out = dnp.sum(w ** 2) if mode == "square" else dnp.sum(w)
        return out * 2.0 if training else out

    g = dt.grad(f)
    assert_close(g(X, "square"), 4 * X, "positional string")
    assert_close(g(X, "sum", k="tag", training=False), np.ones(3), "keyword string and bool")
    assert_close(g(X, mode="square", k=print), 4 * X, "keyword function")
    value, grad = dt.value_and_grad(f)(X, "sum", k=("a", "b"))
    assert_close(value, 2 * X.sum(), "value")
    assert_close(grad, np.full(3, 2.0), "value_and_grad")


def test_errors_never_blame_the_function_for_a_keyword_it_accepts():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'nope'") as info:
        dt.grad(loss)(X, nope=1.0)
    assert "loss()" in str(info.value)  # Python's own message: loss does not take `nope`


def test_vmap_maps_keyword_arguments_over_axis_0():
    xs, ss = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
    assert_close(dt.vmap(lambda v, s: v * s)(xs, s=ss), xs * ss[:, None], "vmap")
    assert_close(dt.vmap(lambda v, s: v * s, in_axes=(1,))(xs.T, s=ss), xs * ss[:, None], "with in_axes")
    with pytest.raises(ValueError, match=r"keyword argument 'scale' has shape \(\).*in_axes.*functools.partial"):
        dt.vmap(loss)(xs, scale=2.0)


def test_checkpoint_passes_keyword_arguments_and_differentiates_them():
    block = dt.checkpoint(lambda a, s=1.0: a * s)
    assert_close(block(X, s=2.0), 2 * X, "value")
    assert_close(dt.grad(lambda w: dnp.sum(block(w, s=2.0)))(X), np.full(3, 2.0), "grad of the argument")
    assert_close(dt.grad(lambda w: dnp.sum(block(X, s=w)))(X), X, "grad of the keyword argument")



def test_keyword_arguments_match_jax(jax):
    jnp = jax.numpy

    def body(np_):
        return lambda w, scale=1.0: np_.sum(np_.sin(w) * scale * w)

    for name in ("grad", "jacfwd", "jacrev", "hessian"):
        ours = getattr(dt, name)(body(dnp))(X, scale=2.0)
        theirs = getattr(jax, name)(body(jnp))(X, scale=2.0)
        assert_close(ours, np.asarray(theirs), name)
    xs, ss = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
    assert_close(dt.vmap(lambda v, s: v * s)(xs, s=ss), np.asarray(jax.vmap(lambda v, s: v * s)(xs, s=ss)), "vmap")
