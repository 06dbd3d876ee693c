"""Shared checks for the nn tests: a Tensor computation against its NumPy reference, value and gradients, with
the gradients also compared to central differences of the reference (float64, tests/gradcheck.py)."""

from __future__ import annotations

import numpy as np

import dualtape as dt
from gradcheck import assert_close, numerical_jacobian
from testkit import EXACT


def check_against_reference(forward, reference, leaves, reference_grads=None, seed=0):
    """forward() -> a Tensor computed from `leaves` (float64 tensors that require grad); reference(*arrays) the
    same function written in NumPy; reference_grads(cotangent, *arrays) -> its gradients, derived by hand.
    Checks the value, then the backward pass (with a random cotangent) against both references."""
    arrays = [leaf.detach().numpy().copy() for leaf in leaves]
    expected = np.asarray(reference(*arrays))
    for leaf in leaves:
        leaf.grad = None
    out = forward()
    assert out.dtype == np.float64 and out.shape == expected.shape, (out.dtype, out.shape, expected.shape)
    assert_close(out.detach().numpy(), expected, "forward value", **EXACT)
    cotangent = np.asarray(np.random.default_rng(seed).standard_normal(expected.shape))
    out.backward(dt.tensor(cotangent))
    grads = [leaf.grad.numpy() for leaf in leaves]
    if reference_grads is not None:
        for k, (g, e) in enumerate(zip(grads, reference_grads(cotangent, *arrays))):
            assert_close(g, e, f"gradient {k} vs the NumPy formula", rtol=1e-10, atol=1e-12)
    jacobians = numerical_jacobian(reference, arrays, tuple(range(len(arrays))))
    for k, (g, jac) in enumerate(zip(grads, jacobians)):
        assert_close(g, np.tensordot(cotangent, jac, axes=cotangent.ndim), f"gradient {k} vs central differences")
