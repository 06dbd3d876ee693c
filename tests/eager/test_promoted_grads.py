"""Gradients through operands that PyTorch's promotion cast before the op (a real tensor meeting a complex one,
float32 meeting float64): each operand's cotangent comes back real / in its own dtype, first and second order,
with and without create_graph; checked against central finite differences and, where installed, PyTorch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt

CASES = {  # name: loss of (z complex leaf, x real leaf, c complex constant, library), real-valued
    "z - z.real": lambda z, x, c, m: ((z - z.real) * c).real.sum(),
    "z.real - z": lambda z, x, c, m: ((z.real - z) * z * c).real.sum(),
    "z.real * c": lambda z, x, c, m: (z.real * c).real.sum(),
    "z.imag * c": lambda z, x, c, m: (z.imag * c * z).real.sum(),
    "z / |z|": lambda z, x, c, m: ((z / z.abs()) * c).real.sum(),
    "x * z": lambda z, x, c, m: (x * z * c).real.sum() + (x * x).sum(),
    "x + z": lambda z, x, c, m: ((x + z) * (x - z) * c).real.sum(),
    "x ** 2 / z": lambda z, x, c, m: (x ** 2 / z * c).imag.sum(),
}

finite = st.floats(-1.5, 1.5, allow_nan=False).filter(lambda v: abs(v) > 0.2)
values = st.lists(finite, min_size=9, max_size=9)


def _leaves(v):
    z = np.array(v[0:3]) + 1j * np.array(v[3:6])
    return z, np.array(v[6:9])


def _grads(name, z, x, create_graph=False):
    zt, xt = dt.tensor(z, requires_grad=True), dt.tensor(x, requires_grad=True)
    c = dt.tensor(np.array([0.5 - 0.25j, 1.5 + 1j, -0.75 + 0.5j]))
    gz, gx = dt.autograd.grad(CASES[name](zt, xt, c, dt), (zt, xt), create_graph=create_graph, allow_unused=True)
    return (gz, dt.zeros(3, dtype=dt.float64) if gx is None else gx), (zt, xt)


def _loss_value(name, z, x):
    c = dt.tensor(np.array([0.5 - 0.25j, 1.5 + 1j, -0.75 + 0.5j]))
    return CASES[name](dt.tensor(z), dt.tensor(x), c, dt).item()


def _finite_difference(f, z, x, eps=1e-6):
    """PyTorch's gradient of a real f: dRe + i dIm for the complex leaf, d for the real one."""
    gz = np.zeros_like(z)
    for i in range(z.size):
        for unit in (1, 1j):
            step = np.zeros_like(z)
            step[i] = eps * unit
            gz[i] += unit * (f(z + step, x) - f(z - step, x)) / (2 * eps)
    gx = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = eps
        gx[i] = (f(z, x + step) - f(z, x - step)) / (2 * eps)
    return gz, gx


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=8, deadline=None)
@given(v=values)
def test_first_order_matches_finite_differences(name, create_graph, v):
    z, x = _leaves(v)
    (gz, gx), _ = _grads(name, z, x, create_graph)
    assert gz.dtype == np.complex128 and gx.dtype == np.float64
    want_z, want_x = _finite_difference(lambda a, b: _loss_value(name, a, b), z, x)
    np.testing.assert_allclose(gz.detach().numpy(), want_z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx.detach().numpy(), want_x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=5, deadline=None)
@given(v=values)
def test_second_order_matches_finite_differences_of_the_first(name, v):
    """d/d(leaves) of Re(sum(w * gz)) + sum(u * gx): the first-order gradients differentiated again."""
    z, x = _leaves(v)
    w, u = np.array([0.3 + 0.6j, -1.0 + 0.2j, 0.7 - 0.4j]), np.array([0.5, -0.8, 1.1])

    def contracted(gz, gx):
        return (gz * dt.tensor(w)).real.sum() + (gx * dt.tensor(u)).sum()

    (gz, gx), leaves = _grads(name, z, x, create_graph=True)
    total = contracted(gz, gx)  # (of a loss linear in the leaves: constant, the second derivative zero)
    hz, hx = dt.autograd.grad(total, leaves, allow_unused=True) if total.requires_grad else (None, None)
    hz = np.zeros_like(z) if hz is None else hz.numpy()
    hx = np.zeros_like(x) if hx is None else hx.numpy()
    want_z, want_x = _finite_difference(lambda a, b: contracted(*_grads(name, a, b)[0]).item(), z, x)
    np.testing.assert_allclose(hz, want_z, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hx, want_x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_and_second_order_match_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    z, x = rng.standard_normal(3) + 1j * rng.standard_normal(3), rng.standard_normal(3)
    c = np.array([0.5 - 0.25j, 1.5 + 1j, -0.75 + 0.5j])
    results = []
    for m in (dt, torch):
        zt, xt = m.tensor(z, requires_grad=True), m.tensor(x, requires_grad=True)
        gz, gx = m.autograd.grad(CASES[name](zt, xt, m.tensor(c), m), (zt, xt), create_graph=True,
                                 allow_unused=True)
        second = (gz * m.tensor(c)).real.sum() + (0 if gx is None else gx.sum())
        hz, hx = m.autograd.grad(second, (zt, xt), allow_unused=True) if second.requires_grad else (None, None)
        results.append([None if t is None else np.array(t.detach().tolist()) for t in (gz, gx, hz, hx)])
    for ours, theirs in zip(*results):
        if theirs is None or ours is None:
            assert ours is None or not np.any(ours)
            continue
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_a_float32_tensor_meeting_float64_gets_float32_gradients():
    """As PyTorch: the op runs in float64, the float32 operand's cotangent (a retained non-leaf's .grad and the
    leaf's) is float32."""
    leaf = dt.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    middle = leaf * 3
    middle.retain_grad()
    (middle * dt.tensor(np.array([0.1, 0.2]))).sum().backward()
    assert middle.grad.dtype == np.float32 and leaf.grad.dtype == np.float32
    np.testing.assert_allclose(middle.grad.numpy(), [0.1, 0.2], rtol=1e-6)
    np.testing.assert_allclose(leaf.grad.numpy(), [0.3, 0.6], rtol=1e-6)
