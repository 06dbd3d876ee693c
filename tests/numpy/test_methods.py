"""The array methods of traced values (numpy/methods.py) that the breadth functions gave: NumPy's meanings,
checked against NumPy's own methods, compiled, with derivatives against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from gradcheck import check_grads
from strategies import arrays

# name: (the call on a value, the same on a NumPy array) -- NumPy's sort and argsort are the functions (its
# sort method sorts in place; a traced value's, as JAX's, returns the sorted copy)
CALLS = {
    "all": (lambda x: (x > 0).all(1), lambda x: (x > 0).all(1)),
    "any keepdims": (lambda x: (x > 0).any(0, keepdims=True), lambda x: (x > 0).any(0, keepdims=True)),
    "all dim=": (lambda x: (x > 0).all(dim=-1), lambda x: (x > 0).all(axis=-1)),
    "cumsum": (lambda x: x.cumsum(1), lambda x: x.cumsum(1)),
    "cumsum flat": (lambda x: x.cumsum(), lambda x: x.cumsum()),
    "cumprod dim=": (lambda x: x.cumprod(dim=0), lambda x: x.cumprod(axis=0)),
    "diagonal": (lambda x: x.diagonal(1), lambda x: x.diagonal(1)),
    "trace": (lambda x: x.trace(), lambda x: x.trace()),
    "trace offset": (lambda x: x.trace(-1), lambda x: x.trace(-1)),
    "repeat": (lambda x: x.repeat(2, 0), lambda x: x.repeat(2, 0)),
    "repeat flat": (lambda x: x[0].repeat([1, 0, 2]), lambda x: x[0].repeat([1, 0, 2])),
    "sort": (lambda x: x.sort(0), lambda x: np.sort(x, 0)),
    "argsort": (lambda x: x.argsort(), lambda x: np.argsort(x)),
}

MATRIX = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -2.5], [1.5, -0.75, 1.0]])


@pytest.mark.parametrize("name", sorted(CALLS))
def test_methods_match_numpys(name):
    mine, numpys = CALLS[name]
    expected = numpys(MATRIX)
    out = np.asarray(dt.jit(mine)(MATRIX))  # (traced: a NumPy array's own methods would run on MATRIX)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", [n for n in sorted(CALLS) if n.startswith(("cum", "diag", "trace", "repeat"))
                                  and "dim=" not in n])  # (finite differences call them on NumPy arrays too)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_derivatives_match_finite_differences(name, data):
    x = data.draw(arrays(np.float64, (3, 3)), label="x")
    check_grads(CALLS[name][0], (x,), order=2, modes=("fwd", "rev"))


def test_sorts_derivative_is_dnp_sorts():
    w = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(dt.grad(lambda x: dnp.sum(x.sort(0) * w))(MATRIX),
                                  dt.grad(lambda x: dnp.sum(dnp.sort(x, 0) * w))(MATRIX))
