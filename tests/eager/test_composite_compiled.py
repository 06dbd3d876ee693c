"""Composite eager ops (mean, var, std, norm, max along a dim) compile their forward and
pullback once a signature is met again: the compiled calls give the interpreted results bit for bit, first
and second order, and operands that take no gradient (indices, tensors without requires_grad) get none."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape.eager import composite

OPS = {
    "mean": lambda t: t.mean(1),
    "var": lambda t: t.var(0),
    "std": lambda t: t.std(),
    "norm": lambda t: t.norm(dim=1),
    "max along a dim": lambda t: t.max(1).values,
}


def _value_and_grad(op, x, w):
    t = dt.tensor(x, requires_grad=True)
    out = op(t)
    (out * dt.tensor(w)).sum().backward()
    return out.detach().numpy().copy(), t.grad.numpy().copy()


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**16), rows=st.integers(1, 4), cols=st.integers(2, 5))
def test_compiled_calls_equal_interpreted_ones_bit_for_bit(name, seed, rows, cols):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols))
    w = rng.standard_normal(np.shape(OPS[name](dt.tensor(x)).numpy()))
    composite._programs.clear()
    first = _value_and_grad(OPS[name], x, w)  # (interpreted: the signature's first use)
    for _ in range(composite.COMPILE_AFTER):
        again = _value_and_grad(OPS[name], x, w)
    assert any(c.forward is not None for c in composite._programs.values())
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_second_order_through_a_compiled_composite():
    x = np.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]])
    results = []
    for _ in range(composite.COMPILE_AFTER + 1):
        t = dt.tensor(x, requires_grad=True)
        (g,) = dt.autograd.grad(t.var(1)[0] * t.std(), t, create_graph=True)
        (h,) = dt.autograd.grad((g * g).sum(), t)
        results.append((g.detach().numpy(), h.numpy()))
    for g, h in results[1:]:
        np.testing.assert_array_equal(g, results[0][0])
        np.testing.assert_array_equal(h, results[0][1])


def test_an_operand_without_requires_grad_gets_no_gradient():
    x, y = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.5, 0.5], [0.2, 0.8]])
    for _ in range(composite.COMPILE_AFTER + 1):
        a, b = dt.tensor(x, requires_grad=True), dt.tensor(y)
        dt.nn.functional.cross_entropy(a, b).backward()
        assert b.grad is None
        expected = (np.exp(x) / np.exp(x).sum(1, keepdims=True) - y) / 2
        np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-12)
