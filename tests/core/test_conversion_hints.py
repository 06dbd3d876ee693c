"""The fix a conversion error offers names what helps for the call that did it: dnp's function for math.sin(x),
dnp.asarray for np.asarray(x), dnp functions and returning the value for float(x) / int(x) / x.item(); and
dt.compile, refusing a Python loop on a tensor's value, says that dt.jit and dt.grad run such loops."""

import math

import numpy as np
import pytest

import dualtape as dt
from testkit import d2l


def fix_of(fn, *args) -> str:
    with pytest.raises(dt.ConcretizationError) as info:
        fn(*args)
    message = str(info.value)
    return message.split("\n  fix: ", 1)[1]


@pytest.mark.parametrize("transform", [dt.jit, dt.grad])
@pytest.mark.parametrize("fn, name", [
    (lambda x: math.sin(x), "dnp.sin(x)"),
    (lambda x: math.exp(x) * 2.0, "dnp.exp(x)"),
    (lambda x: math.atan2(x, 1.0), "dnp.arctan2(x)"),  # NumPy's name, not math's
])
def test_math_functions_point_at_dnp(transform, fn, name):
    fix = fix_of(transform(fn), 0.5)
    assert fix.startswith(f"use {name} (dualtape.numpy) in place of math.")
    assert "exists only outside dt.jit / dt.grad" in fix and "return it" in fix
    assert "dt.cond" not in fix  # deciding is not what helps here


@pytest.mark.parametrize("fn", [lambda x: float(x), lambda x: int(x), lambda x: x.item(), lambda x: x.sum().item()])
def test_numbers_point_at_dnp_functions_returning_the_value_and_stop_gradient(fn):
    fix = fix_of(dt.grad(fn), np.float64(0.5))
    assert fix.startswith("compute with it as an array: dualtape.numpy's functions (dnp.sin(x)")
    assert "return it from the function and convert it there" in fix and "dt.stop_gradient(x)" in fix


@pytest.mark.parametrize("fn, name", [  # (one to a line: Python 3.10's error names the line, not the call)
    (lambda x: np.asarray(x) * 2, "asarray"),
    (lambda x: np.array(x), "array"),
])
def test_numpy_array_conversion_points_at_dnp_asarray(fn, name):
    fix = fix_of(dt.jit(fn), np.ones(2))
    assert fix.startswith(f"use dnp.{name}(...) in place of np.{name}(...): it keeps traced values traced")


def test_the_suggested_replacements_work():
    import dualtape.numpy as dnp

    assert np.isclose(dt.grad(lambda x: dnp.sin(x))(0.5), math.cos(0.5))
    assert np.allclose(dt.jit(lambda x: dnp.asarray(x) * 2)(np.ones(2)), [2.0, 2.0])


def test_compile_refusing_a_data_dependent_loop_says_jit_and_grad_run_it():
    a = dt.tensor(np.array([0.1, -0.2, 0.3]), requires_grad=True)
    with pytest.raises(dt.ConcretizationError) as info:
        dt.compile(d2l)(a)
    message = str(info.value)
    assert "while b.norm() < 1000:" in message
    assert "dt.jit and dt.grad can" in message and "autograph" in message
    assert "dt.jit(f)(x) in place of dt.compile(f)(x)" in message and "dt.grad(lambda x: f(x).sum())(x)" in message
    # ... and they do, on the same tensor
    expected = a.detach().numpy() * 2 ** 12  # |2a| = 0.748: eleven doublings reach 1532, so c = 2^12 a
    assert np.allclose(np.asarray(dt.jit(d2l)(a)), expected)
    assert np.allclose(np.asarray(dt.grad(lambda x: d2l(x).sum())(a)), [2 ** 12] * 3)
