"""Python numbers follow NumPy in every mode: where Python's own arithmetic raises (1 / 0.0, 1e40 ** 10.0,
0.0 ** -0.5) dualtape gives NumPy's inf or nan with NumPy's RuntimeWarning, and the value stays a weakly typed
Python number (float32 arrays it meets stay float32)."""

import math
import warnings

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp


def numpy_says(fn, *args):
    """fn on NumPy scalars (float64, int64): the value NumPy gives, as a Python number."""
    with np.errstate(all="ignore"):
        return fn(*[np.asarray(a)[()] for a in args]).item()


def same(a, b) -> bool:
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


MODES = {
    "grad": lambda f, x: dt.grad(f)(x),
    "jit(grad)": lambda f, x: dt.jit(dt.grad(f))(x),
    "jvp": lambda f, x: dt.jvp(f, (x,), (1.0,))[1],
    "jacfwd": lambda f, x: dt.jacfwd(f)(x),
    "vjp": lambda f, x: dt.vjp(f, x)[1](1.0)[0],
}
CASES = [  # (function, point, its derivative written out for NumPy)
    (lambda x: 1 / x, 0.0, lambda x: -1 / x / x),
    (lambda x: x ** 10.0, 1e40, lambda x: 10.0 * x ** 9.0),
    (lambda x: x ** 0.5, 0.0, lambda x: 0.5 * x ** -0.5),
    (lambda x: dnp.log(x), 0.0, lambda x: 1 / x),
    (lambda x: dnp.arctan2(x, 0.0), 0.0, lambda x: 0.0 / (x * x + 0.0)),
    (lambda x: 3.0 % x, 0.0, lambda x: -np.floor_divide(3.0, x)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_derivatives_at_python_numbers_are_numpys_inf_and_nan(mode, case):
    f, x, derivative = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = MODES[mode](f, x)
    assert same(got, numpy_says(derivative, x)), (got, numpy_says(derivative, x))


@pytest.mark.parametrize("f, x", [(lambda x: 1 / x, 0.0), (lambda x: x ** 10.0, 1e40), (lambda x: 2 // x, 0),
                                  (lambda x: (-8.0) ** x, 1 / 3)])
def test_values_at_python_numbers_warn_as_numpy_does(f, x):
    for run in (dt.jit(f), lambda x: dt.jvp(f, (x,), (0.0,))[0]):
        with pytest.warns(RuntimeWarning):
            got = run(x)
        assert same(got, numpy_says(f, x)) and type(got) in (float, int)


def test_an_np_float64_argument_gives_inf_too():
    with pytest.warns(RuntimeWarning):
        assert dt.grad(lambda x: 1 / x)(np.float64(0.0)) == -np.inf


def test_mean_of_an_empty_array_is_nan_and_its_gradient_empty():
    with pytest.warns(RuntimeWarning):
        assert math.isnan(dt.jit(dnp.mean)(np.zeros(0)))
    with pytest.warns(RuntimeWarning):
        g = dt.grad(lambda x: dnp.mean(x))(np.zeros(0))
    assert g.shape == (0,) and g.dtype == np.float64


def test_the_result_stays_a_weak_python_number():
    x32 = np.ones(3, np.float32)
    f = lambda s, x: (1 / s) * x
    with pytest.warns(RuntimeWarning):
        out = dt.jit(f)(0.0, x32)
    assert out.dtype == np.float32 and np.all(np.isinf(out))
    with pytest.warns(RuntimeWarning):
        tangent = dt.jvp(lambda s: f(s, x32), (0.0,), (1.0,))[1]
    assert tangent.dtype == np.float32


def test_the_source_calls_numpys_function_only_where_every_operand_is_a_python_number():
    scalars = dt.source(lambda x: 1 / x, 0.5)
    assert "true_divide(1, x)" in scalars
    arrays = dt.source(lambda x: 1 / x, np.ones(2))
    assert "1 / x" in arrays and "true_divide" not in arrays
