"""Constants a traced function closes over follow one rule, JAX's: their values are taken when the function is
traced (StagingTrace.to_atom copies a captured array), so a later in-place change of a captured NumPy array is
not seen by a cached compiled function, in any transform; a new trace takes the new values."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

X = np.array([1.0, 1.0])

CASES = {
    "jit": lambda c: dt.jit(lambda x: dnp.sum(x * c)),
    "jit of a constant expression": lambda c: dt.jit(lambda x: dnp.sum(x * (c * 2.0))),
    "jit of a 0-d array": lambda c: dt.jit(lambda x: dnp.sum(x * c[0:1].reshape(()))),
    "grad": lambda c: dt.grad(lambda x: dnp.sum(x * c)),
    "jit of grad": lambda c: dt.jit(dt.grad(lambda x: dnp.sum(x * c))),
    "value_and_grad": lambda c: dt.value_and_grad(lambda x: dnp.sum(x * c)),
    "linearize": lambda c: dt.linearize(lambda x: x * x * c, X)[1],
}
@pytest.mark.parametrize("make", list(CASES.values()), ids=list(CASES))
def test_a_captured_array_changed_in_place_after_tracing_is_not_seen(make):
    c = np.array([1.0, 2.0])
    f = make(c)
    before = dt.tree.leaves(f(X))
    c[:] = [10.0, 20.0]
    for got, want in zip(dt.tree.leaves(f(X)), before):
        np.testing.assert_array_equal(got, want)
    retraced = dt.tree.leaves(make(c)(X))  # a new trace takes the new values
    assert any(not np.array_equal(r, b) for r, b in zip(retraced, before))
