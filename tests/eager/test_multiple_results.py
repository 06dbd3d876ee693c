"""Eager differentiation of the several-result primitives (eigh, svd, qr, eig): each result's grad_fn shows as
PyTorch's node, the primitive's VJP rule runs once on the cotangents of all results (zeros for unused ones), and
the gradients are those of the compiled transform, to second order."""

import gc

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

RNG = np.random.default_rng(0)
Q = np.linalg.qr(RNG.normal(size=(4, 4)))[0]
SYMMETRIC = Q @ np.diag([1.0, 2.0, 3.5, 5.0]) @ Q.T + 0.01 * (lambda a: a + a.T)(RNG.normal(size=(4, 4)))
GENERAL = RNG.normal(size=(2, 4, 3))
REAL_EIG = np.triu(RNG.normal(size=(3, 3)), 1) + np.diag([1.0, 2.0, 3.0]) + 0.05 * RNG.normal(size=(3, 3))
W = [RNG.normal(size=s) for s in [(4,), (2, 3)]]


def _eigh(x):
    w, v = dnp.linalg.eigh(x)
    return dnp.sum(w ** 3) + dnp.sum(v[:, 0] ** 4)  # (the vectors seen where their signs cancel)


def _svd(x):
    u, s, vh = dnp.linalg.svd(x, full_matrices=False)
    return dnp.sum(s * W[1]) + dnp.sum(u[..., 0] ** 2 * u[..., 1] ** 2) + dnp.sum(vh ** 4)


def _qr(x):
    q, r = dnp.linalg.qr(x)
    return dnp.sum(q ** 3) + dnp.sum(r * r)


def _eig(x):
    w, v = dnp.linalg.eig(x)
    return dnp.real(dnp.sum(w ** 2) + dnp.sum((v * v) @ w))


def _values_only(x):
    return dnp.sum(dnp.linalg.eigh(x)[0] * W[0])  # (the vectors get no cotangent: zeros stand in)


CASES = [(_eigh, SYMMETRIC), (_svd, GENERAL), (_qr, GENERAL), (_eig, REAL_EIG), (_values_only, SYMMETRIC)]


@pytest.mark.parametrize("loss, a", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_backward_is_the_compiled_gradient(loss, a):
    x = dt.tensor(a, requires_grad=True)
    loss(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), dt.grad(loss)(a), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss, a", CASES[:3], ids=lambda c: getattr(c, "__name__", ""))
def test_second_order_through_create_graph(loss, a):
    x = dt.tensor(a, requires_grad=True)
    (g,) = dt.autograd.grad(loss(x), x, create_graph=True)
    v = RNG.normal(size=a.shape)
    (g * dt.tensor(v)).sum().backward()
    expected = dt.grad(lambda y: dnp.sum(dt.grad(loss)(y) * v))(a)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-8, atol=1e-10)


def test_each_result_shows_as_pytorchs_node():
    x = dt.tensor(SYMMETRIC, requires_grad=True)
    w, v = dnp.linalg.eigh(x)
    assert w.grad_fn.name() == v.grad_fn.name() == "LinalgEighBackward0"
    assert w.grad_fn.next_functions == v.grad_fn.next_functions == ((x.grad_fn or x._leaf_node(), 0),)
    u, s, vh = dnp.linalg.svd(dt.tensor(GENERAL, requires_grad=True))
    assert {t.grad_fn.name() for t in (u, s, vh)} == {"LinalgSvdBackward0"}


def test_hooks_and_retained_grads_see_their_own_result():
    x = dt.tensor(SYMMETRIC, requires_grad=True)
    w, v = dnp.linalg.eigh(x)
    w.retain_grad()
    seen = []
    v.register_hook(lambda g: seen.append(g.numpy().copy()))
    (w * dt.tensor(W[0])).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), W[0])
    assert seen == []  # (v got no cotangent)


def test_the_graph_is_freed_unless_retained():
    x = dt.tensor(GENERAL, requires_grad=True)
    s = dnp.linalg.svd(x)[1]
    s.sum().backward(retain_graph=True)
    s.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * dt.grad(lambda y: dnp.sum(dnp.linalg.svd(y)[1]))(GENERAL))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        s.sum().backward()


def test_a_result_dropped_before_a_create_graph_backward_is_stood_in_for():
    x = dt.tensor(SYMMETRIC, requires_grad=True)
    w = dnp.linalg.eigh(x)[0]  # (the vectors' tensor is gone; the rule still reads their values)
    gc.collect()
    (g,) = dt.autograd.grad((w ** 2).sum(), x, create_graph=True)
    g.sum().backward()
    expected = dt.grad(lambda y: dnp.sum(dt.grad(lambda z: dnp.sum(dnp.linalg.eigh(z)[0] ** 2))(y)))(SYMMETRIC)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-8, atol=1e-10)


def test_without_grad_the_results_are_plain_tensors():
    with dt.no_grad():
        q, r = dnp.linalg.qr(dt.tensor(GENERAL, requires_grad=True))
    assert q.grad_fn is None and not r.requires_grad
