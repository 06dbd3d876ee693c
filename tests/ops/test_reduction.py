"""Reduction primitives against NumPy: sum, prod, max, min over axis None / int / negative / tuple with
keepdims, and argmax / argmin; eager, per-equation impl and abstract_eval, and dt.jit."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from opcheck import check_op, prim_names
from primitive_cases import REDUCTIONS
from strategies import NUMERIC


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(REDUCTIONS[name].values, label="case")
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name])


METHOD_CALLS = [
    (method, axis, keepdims)
    for method in ["sum", "prod", "max", "min", "argmax", "argmin", "mean", "var", "std"]
    for axis in [None, 0, -1, (0, 2), (-1, 0)]
    for keepdims in [False, True]
    if not (method.startswith("arg") and isinstance(axis, tuple))  # argmax / argmin take one axis
]


@pytest.mark.parametrize("method, axis, keepdims", METHOD_CALLS)
def test_methods_on_traced_values(method, axis, keepdims):
    """x.sum(axis=..., keepdims=...) and friends under dt.jit give NumPy's x.sum(...)."""
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    f = lambda x: getattr(x, method)(axis=axis, keepdims=keepdims)
    check_op(f, f, (x,), eager=False)


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min"])
def test_torch_spellings_dim_and_keepdim(name):
    x = np.arange(24.0).reshape(2, 3, 4)
    f = lambda x: getattr(x, name)(dim=1, keepdim=True)
    expected = getattr(np, name)(x, axis=1, keepdims=True)
    out = dt.jit(f)(x)
    if name in ("max", "min"):  # (with PyTorch's dim=, PyTorch's (values, indices) pair)
        out = out.values
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("fn", [dnp.argmax, dnp.argmin])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 1, 3)])
def test_argmax_argmin_keepdims_without_axis_keeps_every_axis(fn, shape):
    x = np.random.default_rng(1).permutation(math.prod(shape)).reshape(shape).astype(np.float64)
    reference = getattr(np, fn.__name__)
    check_op(lambda x: reference(x, keepdims=True), lambda x: fn(x, keepdims=True), (x,))
    check_op(reference, fn, (x,))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_argmax_ties_pick_the_first(name, axis):
    x = np.array([[1, 3, 3], [2, 2, 0]], np.int32)
    np_fn, dt_fn = getattr(np, name), getattr(dnp, name)
    check_op(lambda x: np_fn(x, axis), lambda x: dt_fn(x, axis), (x,))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_sum_dtypes_follow_numpy(dtype):
    x = (np.arange(6).reshape(2, 3) % 3).astype(dtype)
    for fn in ("sum", "prod"):
        check_op(getattr(np, fn), getattr(dnp, fn), (x,))
    check_op(lambda x: np.sum(x, dtype=np.float32), lambda x: dnp.sum(x, dtype=np.float32), (x,))


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_zero_size_reduction_without_identity_raises_at_trace_time(name):
    x = np.ones((0, 3), np.float32)
    fn, op = getattr(dnp, name), REGISTRY.get(name) or REGISTRY[f"reduce_{name}"]

    def f(x):
        return fn(x, axis=0)  # the failing line

    with pytest.raises(ValueError, match=op.name) as info:
        dt.jit(f)(x)
    assert f"test_reduction.py:{f.__code__.co_firstlineno + 1}" in str(info.value)
    with pytest.raises(ValueError):
        getattr(np, name)(x, axis=0)
    np.testing.assert_array_equal(dt.jit(lambda x: fn(x, axis=1))(x), getattr(np, name)(x, axis=1))


@pytest.mark.parametrize("axis", [2, -3, (0, 0), (1, -1)])
def test_bad_axes_raise(axis):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError):
        np.sum(x, axis=axis)
    with pytest.raises(ValueError, match="sum"):
        dt.jit(lambda x: dnp.sum(x, axis=axis))(x)


def test_reductions_record_one_equation_each():
    x = np.ones((2, 3), np.float32)
    program = dt.trace(lambda x: (dnp.sum(x, 0), dnp.prod(x, -1), dnp.max(x), dnp.min(x, (0, 1), keepdims=True)))(x)
    assert prim_names(program) == ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"]
    assert [e.params["axes"] for e in program.eqns] == [(0,), (1,), (0, 1), (0, 1)]


@pytest.mark.parametrize("dtype", NUMERIC)
def test_float32_reductions_stay_float32(dtype):
    x = np.arange(12).reshape(3, 4).astype(dtype)
    program = dt.trace(lambda x: dnp.sum(x, 0) + dnp.max(x, 0) * dnp.prod(x, 0))(x)
    expected = (np.sum(x, 0) + np.max(x, 0) * np.prod(x, 0)).dtype
    assert program.out_avals[0].dtype == expected
