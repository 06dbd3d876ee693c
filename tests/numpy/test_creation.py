"""Arrays from lists and tuples holding traced values (dnp.array, dnp.asarray, and every dnp function given
such a list): NumPy's shape and dtype for any regular nesting of traced values, arrays and numbers, derivatives
through them in every mode and on eager tensors; plain data still goes to NumPy unchanged; and NumPy's own
conversions of traced values (np.array([x, 2 * x]), np.mean([x, y]), np.int64(x), float(x), ...) refused with an
error naming the expression, the user's line and the fix."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.errors import ConcretizationError, ShapeError
from dualtape.numpy import _base
from gradcheck import check_grads
from opcheck import assert_like_numpy

LEAF_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]


# ---- any nesting of traced values, arrays and numbers, against np.array of their values -------------------
class Traced:
    """A placeholder in a drawn nesting: the i-th argument of the traced function."""

    def __init__(self, i):
        self.i = i


@st.composite
def _node(draw, dims, values, depth=0):
    """A nesting standing for an array of shape dims: one leaf (a traced value, an array or, for a scalar, a
    Python or NumPy number) or, at the top and sometimes below, a list or tuple of nodes of shape dims[1:]."""
    if dims and (depth == 0 or draw(st.booleans())):
        kind = draw(st.sampled_from([list, tuple]))
        return kind(draw(_node(dims[1:], values, depth + 1)) for _ in range(dims[0]))
    dtype = np.dtype(draw(st.sampled_from(LEAF_DTYPES)))
    value = np.asarray(draw(st.integers(-3, 3)) if dtype != np.bool_ else draw(st.booleans())).astype(dtype)
    value = np.broadcast_to(value, dims) + np.zeros(dims, dtype)  # (an array of dims; ints differ below)
    value = value + np.arange(value.size, dtype=dtype).reshape(dims) if dtype.kind in "iuf" else value
    leaf = draw(st.sampled_from(["traced", "array"] + (["python", "numpy scalar"] if not dims else [])))
    if leaf == "traced":
        values.append(value)
        return Traced(len(values) - 1)
    if leaf == "python":
        return value.item()
    return value[()] if leaf == "numpy scalar" else value


def _fill(node, args):
    if isinstance(node, Traced):
        return args[node.i]
    if type(node) in (list, tuple):
        return type(node)(_fill(n, args) for n in node)
    return node


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_nesting_has_numpys_shape_dtype_and_values(data):
    dims = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), label="dims")
    values: list = []
    nesting = data.draw(_node(dims, values), label="nesting")
    dtype = data.draw(st.sampled_from([None, np.float32, np.float64]), label="dtype")
    expected = np.array(_fill(nesting, values), dtype=dtype)
    traced = dt.jit(lambda *args: dnp.array(_fill(nesting, args), dtype=dtype))(*values)
    assert_like_numpy(traced, expected, "dnp.array of traced values")
    assert_like_numpy(dnp.asarray(_fill(nesting, values), dtype=dtype), expected, "dnp.asarray of arrays")


def test_nested_lists_of_scalars_under_jit():
    f = dt.jit(lambda x, y: dnp.asarray([[x, 1.0], [0.0, y]]))
    np.testing.assert_array_equal(f(1.5, 2.5), [[1.5, 1.0], [0.0, 2.5]])
    program = dt.trace(lambda x, y: dnp.asarray([[x, 1.0], [0.0, y]]))(1.5, 2.5)
    assert [e.prim.name for e in program.eqns].count("concatenate") == 1  # (one concatenate, not one per row)


@pytest.mark.parametrize("leaves, expected", [
    ((np.float32(1), 2.0), np.float64),  # a Python float is float64 in np.array (not weak, as in arithmetic)
    ((np.float32(1), np.float32(2)), np.float32),
    ((np.int32(1), np.float32(2)), np.float64),
    ((np.int32(1), 2), np.int64),
    ((True, np.int32(2)), np.int32),
    ((1.5, 2.0), np.float64),
])
def test_dtypes_are_numpys(leaves, expected):
    assert np.array(leaves).dtype == expected
    traced = dt.trace(lambda x, y: dnp.array([x, y]))(*leaves)
    assert traced.out_avals[0].dtype == expected and not traced.out_avals[0].weak
    assert dt.trace(lambda x, y: dnp.array([x, y], dtype=np.float32))(*leaves).out_avals[0].dtype == np.float32


def test_ragged_nestings_are_refused_as_numpy_refuses_them():
    with pytest.raises(ValueError):
        np.array([[1.0, 2.0], [1.0]])
    with pytest.raises(ShapeError, match=r"array: .*depth 0 .*different shapes \[\(2,\), \(1,\)\]") as info:
        dt.jit(lambda x: dnp.array([[x, 2.0], [x]]))(1.0)
    assert "test_creation.py" in str(info.value)
    with pytest.raises(ShapeError, match=r"different shapes \[\(3,\), \(\)\]"):
        dt.jit(lambda x: dnp.array([x, 1.0]))(np.ones(3))


# ---- every form, and the functions that take lists --------------------------------------------------------
def test_lists_holding_traced_values_in_dnp_functions():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    np.testing.assert_allclose(dt.jit(lambda x, y: dnp.mean([x, y]))(x, y), 3.5)
    np.testing.assert_allclose(dt.jit(lambda x, y: dnp.sum((x, y), axis=0))(x, y), x + y)
    np.testing.assert_allclose(dt.jit(lambda x: dnp.stack([x, np.ones(3)]))(x), [x, np.ones(3)])
    np.testing.assert_allclose(dt.jit(lambda x: dnp.concatenate([x, [x[0], 7.0]]))(x), [1, 2, 3, 1, 7])
    np.testing.assert_allclose(dt.jit(lambda x, y: dnp.max([x, y], axis=1))(x, y), [3.0, 6.0])
    np.testing.assert_allclose(dt.jit(lambda x: dnp.dot([x[0], 1.0], [2.0, x[1]]))(x), 4.0)
    np.testing.assert_allclose(dt.jit(lambda x: dnp.reshape([x[0], x[1], 0.0, 1.0], (2, 2)))(x), [[1, 2], [0, 1]])


def test_plain_data_takes_numpys_path_unchanged(monkeypatch):
    monkeypatch.setattr(_base, "stacked", None)  # (never reached for data with no traced value in it)
    for data in ([1, 2.5], ((1, 2), (3, 4)), [np.ones(2), [1.0, 2.0]], [], [[]]):
        for ours, theirs in ((dnp.array, np.array), (dnp.asarray, np.asarray), (dnp.asanyarray, np.asanyarray)):
            got = ours(data)
            assert type(got) is np.ndarray
            assert_like_numpy(got, theirs(data), f"{ours.__name__}({data})")
    assert type(_base.arr([1.0, 2.0])) is np.ndarray
    x = np.arange(3.0)
    assert dnp.asarray(x) is x and dnp.array(x) is not x and dnp.asarray(x, dtype=np.float32).dtype == np.float32
    assert dnp.array(x, ndmin=3).shape == (1, 1, 3)
    assert dnp.ascontiguousarray(np.float64(1.5)).shape == np.ascontiguousarray(np.float64(1.5)).shape == (1,)


def test_traced_values_through_array_asarray_and_friends():
    x = np.arange(6.0).reshape(2, 3)
    assert dt.trace(lambda v: dnp.array(v, ndmin=4))(x).out_avals[0].shape == (1, 1, 2, 3)
    assert dt.trace(lambda v: dnp.asarray(v, dtype=np.float32))(x).out_avals[0].dtype == np.float32
    assert dt.trace(lambda v: dnp.asanyarray([v, v]))(x).out_avals[0].shape == (2, 2, 3)
    assert dt.trace(lambda v: dnp.ascontiguousarray(v.sum()))(x).out_avals[0].shape == (1,)
    np.testing.assert_array_equal(dt.jit(lambda v: dnp.ascontiguousarray(v.T))(x), x.T)
    assert dt.trace(lambda v: dnp.array([[v]], ndmin=1))(x).out_avals[0].shape == (1, 1, 2, 3)
    with pytest.raises(TypeError, match="ndmax=1"):
        dt.jit(lambda v: dnp.array([v, v], ndmax=1))(x)


# ---- derivatives: jit, grad, jvp, vmap, eager tensors -------------------------------------------------------
def _stacked_square_sum(x):
    return dnp.sum(dnp.array([x, 2 * x]) ** 2)  # 5 x**2


def test_derivatives_through_an_array_of_traced_values():
    assert dt.jit(lambda x: dnp.array([x, 2 * x]))(1.5).tolist() == [1.5, 3.0]
    assert dt.grad(_stacked_square_sum)(1.5) == pytest.approx(15.0)
    assert dt.jit(dt.grad(_stacked_square_sum))(1.5) == pytest.approx(15.0)
    primal, tangent = dt.jvp(lambda x: dnp.array([x, 2 * x]), (1.5,), (1.0,))
    np.testing.assert_allclose(primal, [1.5, 3.0])
    np.testing.assert_allclose(tangent, [1.0, 2.0])
    xs = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(dt.vmap(lambda x: dnp.array([[x, 1.0], [0.0, 2 * x]]))(xs),
                               [[[v, 1.0], [0.0, 2 * v]] for v in xs])
    np.testing.assert_allclose(dt.vmap(dt.grad(_stacked_square_sum))(xs), 10 * xs)
    assert dt.hessian(_stacked_square_sum)(1.5) == pytest.approx(10.0)


def test_ufuncs_take_lists_of_traced_values():
    assert dt.grad(lambda x: dnp.sum(dnp.sin([x, 2 * x])))(1.0) == pytest.approx(np.cos(1.0) + 2 * np.cos(2.0))
    assert dt.grad(lambda x: dnp.sum(dnp.multiply([x, 1.0], (3.0, x))))(2.0) == pytest.approx(4.0)


@settings(max_examples=6, deadline=None)
@given(x=st.floats(-3, 3), y=st.lists(st.floats(-3, 3), min_size=2, max_size=2))
def test_derivatives_match_finite_differences(x, y):
    f = lambda x, y: dnp.array([[x * y[0], 1.0], [dnp.sin(x), y[1] ** 2]]) @ dnp.asarray([y[1], x])
    check_grads(f, (np.float64(x), np.array(y)), order=2, modes=("fwd", "rev"))


def test_eager_tensors_in_a_list():
    t = dt.tensor([1.5, 2.0], requires_grad=True)
    y = dnp.array([t[0], 2 * t[1], 3.0])
    assert isinstance(y, dt.Tensor) and y.tolist() == [1.5, 4.0, 3.0]
    (y ** 2).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [3.0, 16.0])


def test_eager_tensors_keep_their_numpy_conversion():
    plain = dt.tensor([1.0, 2.0])
    assert type(np.asarray(plain)) is np.ndarray and np.asarray(plain).tolist() == [1.0, 2.0]
    assert dnp.asarray(plain) is plain
    copied = dnp.array(plain)
    copied[0] = 7.0
    assert plain.tolist() == [1.0, 2.0]  # np.array copies: a clone, not the same tensor
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(dt.tensor([1.0], requires_grad=True))


# ---- NumPy's own conversions of traced values are refused, naming the expression, line and fix --------------
EXPRESSIONS = sys.version_info >= (3, 11)  # (the refused expression is read from code positions, new in 3.11)


def _names(expression: str, message: str) -> bool:
    """The message quotes the user's expression (where Python says where it is)."""
    return not EXPRESSIONS or expression in message


def _refusal(fn, *args):
    with pytest.raises(ConcretizationError) as info:
        fn(*args)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert "test_creation.py" in message.splitlines()[1], message  # the user's line, not NumPy's
    return message


def test_numpy_array_of_traced_values_is_refused():
    message = _refusal(dt.jit(lambda x: np.array([x, 2*x])), 1.5)
    assert "NumPy array" in message and _names("`np.array([x, 2*x])`", message) and "dnp.array([x, 2 * x])" in message
    message = _refusal(dt.grad(lambda x: np.asarray(x).sum()), 1.5)
    assert _names("`np.asarray(x)`", message) and "dnp.stack" in message


def test_numpy_functions_of_lists_holding_traced_values_are_refused():
    message = _refusal(dt.jit(lambda x, y: np.mean([x, y])), 1.5, 2.0)
    assert _names("`np.mean([x, y])`", message) and "dnp.mean(dnp.stack([x, y]))" in message
    assert "cannot see one inside a list or tuple" in message


def test_numpy_scalar_types_of_traced_values_are_refused():
    message = _refusal(dt.jit(lambda x: np.int64(x)), 1.5)
    assert _names("`np.int64(x)`", message) and "x.astype(np.int64)" in message


@pytest.mark.parametrize("convert, name", [(float, "float"), (int, "int"), (complex, "complex")])
def test_python_numbers_of_traced_values_are_refused(convert, name):
    message = _refusal(dt.jit(lambda x: convert(x)), 1.5)
    assert f"Python {name}" in message and _names(f"Python {name}, in `convert(x)`", message)
    assert "x.astype(int)" in message and "static_argnums" in message


def test_other_conversions_name_their_expression_and_fix():
    message = _refusal(dt.jit(lambda n: list(range(n))), 3)
    assert _names("Python index, in `range(n)`", message) and "dt.fori_loop" in message
    message = _refusal(dt.jit(lambda x: x.tolist()), np.ones(2))
    assert "(.tolist())" in message and "iterate over it" in message

    message = _refusal(dt.jit(lambda x: x if x > 0 else -x, autograph=False), 1.5)
    assert _names("Python bool (in an if, while, and/or, or assert), in `x > 0`", message) and "dt.cond" in message
