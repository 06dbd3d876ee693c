"""Abstract values: broadcasting against np.broadcast_shapes, and result dtypes against NumPy itself, with
Python scalars weak (NEP 50: a Python float never upcasts a float32 array)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
from dualtape.avals import ShapedArray, aval_of, broadcast_shapes, result_type, short_dtype
from dualtape.core.primitive import REGISTRY

DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.float16, np.float32, np.float64, np.complex64]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)


@settings(max_examples=30, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, min_side=0, max_side=3))
def test_broadcast_shapes_matches_numpy(shapes):
    expected = np.broadcast_shapes(*shapes.input_shapes)
    assert broadcast_shapes("add", *shapes.input_shapes) == expected == shapes.result_shape


@settings(max_examples=30, deadline=None)
@given(st.lists(SHAPES, min_size=1, max_size=3))
def test_broadcast_shapes_agrees_with_numpy_on_any_shapes(shapes):
    try:
        expected = np.broadcast_shapes(*shapes)
    except ValueError:
        with pytest.raises(dt.ShapeError) as info:
            broadcast_shapes("mul", *shapes)
        message = str(info.value)
        assert message.startswith("mul: ")
        for s in shapes:
            assert str(tuple(s)) in message
    else:
        assert broadcast_shapes("mul", *shapes) == expected


def test_broadcast_error_names_op_all_shapes_and_a_fix():
    with pytest.raises(ValueError) as info:
        broadcast_shapes("where", (2, 3), (1,), (4, 1))
    assert isinstance(info.value, dt.ShapeError)
    assert str(info.value).splitlines()[0] == (
        "where: operands could not be broadcast together with shapes (2, 3) and (1,) and (4, 1)"
    )
    assert "fix:" in str(info.value)


def test_broadcast_of_no_shapes_is_scalar():
    assert broadcast_shapes("add") == ()


# ---- result dtypes ---------------------------------------------------------------------------------------
def _numpy_add(a, b):
    return np.add(a, b).dtype


def _add_dtype(a, b):
    return REGISTRY["add"].abstract_eval(aval_of(a), aval_of(b)).dtype


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES), SHAPES, SHAPES)
def test_array_array_promotion_matches_numpy(d1, d2, s1, s2):
    a, b = np.zeros(s1, d1), np.zeros(s2, d2)
    try:
        np.broadcast_shapes(s1, s2)
    except ValueError:
        return
    assert _add_dtype(a, b) == _numpy_add(a, b)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(DTYPES), st.sampled_from([True, 0, 3, -2, 0.5, -1.5, 2j]))
def test_python_scalars_are_weak_like_numpy(dtype, scalar):
    a = np.ones((2,), dtype)
    with np.errstate(all="ignore"):
        try:
            expected = (a + scalar).dtype
        except OverflowError:  # e.g. uint8 + -2: NumPy refuses, we only need not to disagree on a dtype
            return
    assert _add_dtype(a, scalar) == expected


@pytest.mark.parametrize(
    "array, scalar, expected",
    [
        (np.ones(3, np.float32), 2.0, np.float32),
        (np.ones(3, np.int32), 2.5, np.float64),
        (np.ones(3, np.bool_), 1, np.int64),
        (np.ones(3, np.float16), 1e3, np.float16),
        (np.ones(3, np.int8), 3, np.int8),
        (np.ones(3, np.float32), 1j, np.complex64),
        (np.ones(3, np.float32), np.float64(2.0), np.float64),  # a NumPy scalar is not weak
        (np.ones(3, np.int32), np.int64(2), np.int64),
    ],
)
def test_named_promotions(array, scalar, expected):
    assert np.add(array, scalar).dtype == expected  # the table agrees with NumPy...
    assert _add_dtype(array, scalar) == expected  # ...and so does dualtape
    assert np.asarray(dt.jit(lambda a, s: a + s)(array, scalar)).dtype == expected


def test_two_python_scalars_promote_like_numpy():
    assert _add_dtype(2, 3.0) == np.result_type(2, 3.0) == np.float64
    assert _add_dtype(True, 1) == np.int64
    out = REGISTRY["add"].abstract_eval(aval_of(2), aval_of(3.0))
    assert out.weak and out.shape == ()  # scalar-with-scalar stays weak


def test_python_int_beyond_int64_promotes_like_numpy():
    big = 2**70
    x = np.ones(2)
    assert _add_dtype(x, big) == (x + big).dtype == np.float64
    np.testing.assert_array_equal(dt.jit(lambda a: a + big)(x), x + big)


def test_result_type_runs_numpy_with_params():
    aval = ShapedArray((3,), np.int32)
    assert result_type(lambda x, dtype: x.astype(dtype), [aval], {"dtype": np.float16}) == (np.float16, False)
    assert result_type(np.sin, [aval]) == (np.sin(np.ones(3, np.int32)).dtype, False)


def test_result_is_weak_only_when_numpy_returns_a_python_scalar():
    weak = ShapedArray((), np.float64, weak=True)
    assert result_type(lambda x, y: x * y, [weak, weak]) == (np.float64, True)
    assert result_type(np.sin, [weak]) == (np.float64, False)


# ---- ShapedArray and aval_of ------------------------------------------------------------------------------
def test_shaped_array_str_equality_and_hash():
    a = ShapedArray([2, 3], "float32")
    assert str(a) == "f32[2,3]" and repr(a) == "f32[2,3]"
    assert str(ShapedArray((), np.bool_)) == "bool[]"
    assert a == ShapedArray((2, 3), np.float32) and hash(a) == hash(ShapedArray((2, 3), np.float32))
    assert a != ShapedArray((2, 3), np.float64)
    assert a != ShapedArray((3, 2), np.float32)
    assert ShapedArray((), np.float64, weak=True) != ShapedArray((), np.float64)
    assert a.ndim == 2 and a.size == 6 and ShapedArray((), np.int8).size == 1
    assert ShapedArray((0, 4), np.float32).size == 0


def test_update_replaces_shape_or_dtype_and_drops_weakness():
    weak = ShapedArray((), np.float64, weak=True)
    assert weak.update(shape=(2,)) == ShapedArray((2,), np.float64)
    assert weak.update(dtype=np.float32) == ShapedArray((), np.float32)


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.zeros((2, 1), np.float32), ShapedArray((2, 1), np.float32)),
        (np.float32(1.0), ShapedArray((), np.float32)),
        (np.int8(1), ShapedArray((), np.int8)),
        (1.5, ShapedArray((), np.float64, weak=True)),
        (3, ShapedArray((), np.int64, weak=True)),
        (True, ShapedArray((), np.bool_, weak=True)),
        (2j, ShapedArray((), np.complex128, weak=True)),
    ],
)
def test_aval_of(value, expected):
    assert aval_of(value) == expected


def test_aval_of_rejects_non_arrays_by_type_name():
    with pytest.raises(TypeError, match="str"):
        aval_of("hello")


def test_short_dtype_names():
    assert [short_dtype(d) for d in (np.float64, np.int32, np.uint8, np.bool_, np.complex64)] == [
        "f64", "i32", "u8", "bool", "c64",
    ]
