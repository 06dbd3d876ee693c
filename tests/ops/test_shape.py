"""Shape primitives against NumPy: reshape, transpose, broadcast_to, squeeze, expand_dims, concatenate and
indexing (basic: ints, slices with any step, None, Ellipsis; advanced: integer arrays adjacent or not, and
concrete boolean masks); eager, per-equation impl and abstract_eval, and dt.jit."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from opcheck import assert_like_numpy, check_op, prim_names
from primitive_cases import SHAPES
from strategies import shapes
from value_cases import indices, substitute


@pytest.mark.parametrize("name", sorted(SHAPES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(SHAPES[name].values, label="case")
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name])


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_indexing_matches_numpy(data):
    """Eager and jitted x[index] equal NumPy's, with the index arrays closed over and passed as arguments."""
    shape = data.draw(shapes(min_dims=1, max_dims=4), label="shape")
    index, index_arrays = data.draw(indices(shape), label="index")
    x = np.arange(math.prod(shape), dtype=np.float32).reshape(shape)
    expected = x[index]
    assert_like_numpy(dnp.getitem(x, index), expected, "eager")
    assert_like_numpy(dt.jit(lambda x: x[index])(x), expected, "jit, closed over")
    with_args = lambda x, *arrays: x[substitute(index, arrays)]
    assert_like_numpy(dt.jit(with_args)(x, *index_arrays), expected, "jit, index arrays traced")
    program = dt.trace(with_args)(x, *index_arrays)
    assert (program.out_avals[0].shape, program.out_avals[0].dtype) == (expected.shape, expected.dtype)


@pytest.mark.parametrize(
    "index",
    [
        (np.array([0, 2]), np.array([1, 0])),  # adjacent arrays: result axes where they were
        (slice(None), np.array([0, 2]), np.array([1, 3])),  # adjacent after a slice
        (np.array([0, 2]), slice(None), np.array([1, 3])),  # separated by a slice: broadcast axes go first
        (np.array([[0], [1]]), slice(1, None), np.array([0, 3])),  # broadcast (2,1) with (2,) to (2,2), first
        (1, slice(None), np.array([0, 3])),  # an int next to an array counts as advanced (non-adjacent)
        (slice(None), 1, np.array([0, 3])),  # int and array adjacent
        (Ellipsis, np.array([3, -1])),
        (None, np.array([1]), None, slice(None, None, -1)),
        ([0, 1, 1],),
    ],
)
def test_advanced_indexing_positions(index):
    x = np.arange(48.0).reshape(3, 4, 4)
    expected = x[index]
    program = check_op(lambda x: x[index], lambda x: dnp.getitem(x, index), (x,), prim=REGISTRY["getitem"])
    assert program.out_avals[0].shape == expected.shape


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_concrete_boolean_masks(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3), label="shape")
    start = data.draw(st.integers(0, len(shape) - 1), label="first masked axis")
    stop = data.draw(st.integers(start + 1, len(shape)), label="end of masked axes")
    mask = data.draw(hnp.arrays(np.bool_, shape[start:stop]), label="mask")
    index = (slice(None),) * start + (mask,)
    x = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    check_op(lambda x: x[index], lambda x: dnp.getitem(x, index), (x,))
    assert_like_numpy(dt.jit(lambda x: x[index])(x), x[index], "jit")


MASK = np.array([True, False, True, True])


@pytest.mark.parametrize(
    "index",
    [(0, slice(None), MASK), (Ellipsis, MASK), (slice(None), [True, False, True]), (MASK[:2], 1, MASK),
     (np.ones((2, 3), bool), slice(None, None, -1)), (slice(None), np.array([[True, False, True, False]] * 3))],
)
def test_boolean_mask_with_other_entries(index):
    x = np.arange(24).reshape(2, 3, 4)
    check_op(lambda x: x[index], lambda x: dnp.getitem(x, index), (x,))
    check_op(lambda x: x[index], lambda x: x[index], (x,), eager=False)


@pytest.mark.parametrize("index", [True, np.True_, (True, 0), (0, True), (slice(None), True), (True, slice(1, 3)),
                                   (Ellipsis, True)])
def test_a_true_entry_is_numpys_new_axis_of_length_one(index):
    x = np.arange(24.0).reshape(2, 3, 4)
    check_op(lambda x: x[index], lambda x: x[index], (x,))
    assert dt.ones(2)[True].shape == (1, 2)  # (as torch.ones(2)[True])


@pytest.mark.parametrize("index", [False, (False, 0), (True, [0, 1]), (True, True)])
def test_false_and_bools_beside_index_arrays_are_refused_clearly(index):
    with pytest.raises(IndexError, match="0-d mask.*write None"):
        dt.jit(lambda x: x[index])(np.ones((3, 4)))


def test_traced_boolean_mask_raises_not_implemented():
    x = np.arange(6.0)
    with pytest.raises(NotImplementedError, match="boolean mask"):
        dt.jit(lambda x: x[x > 2])(x)
    with pytest.raises(NotImplementedError, match="boolean mask"):
        dt.jit(lambda x, m: x[m])(x, x > 2)


@pytest.mark.parametrize("index", [5, -6, (0, 3), (Ellipsis, -4), (slice(None), 7)])
def test_out_of_bounds_int_raises_at_trace_time(index):
    x = np.zeros((5, 3))
    with pytest.raises(IndexError):
        x[index]

    def f(x):
        return x[index]  # the failing line

    with pytest.raises((IndexError, ValueError), match="out of bounds") as info:
        dt.trace(f)(x)
    message = str(info.value)
    assert "getitem" in message and f"test_shape.py:{f.__code__.co_firstlineno + 1}" in message, message


def test_too_many_indices_raises():
    with pytest.raises((IndexError, ValueError), match="too many indices"):
        dt.trace(lambda x: x[0, 0, 0])(np.zeros((2, 2)))


def test_full_slices_record_nothing():
    x = np.zeros((2, 3))
    assert prim_names(dt.trace(lambda x: x[:, ...])(x)) == []
    assert prim_names(dt.trace(lambda x: x[...])(x)) == []


def test_float_index_array_raises():
    with pytest.raises(IndexError, match="integer"):
        dt.trace(lambda x: x[np.array([0.0, 1.0])])(np.zeros(3))


@pytest.mark.parametrize(
    "fn, args, op",
    [
        (lambda x: dnp.reshape(x, (4, 2)), [np.ones((2, 3))], "reshape"),
        (lambda x: dnp.broadcast_to(x, (2, 4)), [np.ones(3)], "broadcast_to"),
        (lambda x, y: dnp.concatenate([x, y], axis=0), [np.ones((2, 3)), np.ones((2, 4))], "concatenate"),
        (lambda x, y: dnp.stack([x, y]), [np.ones((2, 3)), np.ones((3, 2))], "stack"),
        (lambda x: dnp.squeeze(x, 0), [np.ones((2, 3))], "squeeze"),
        (lambda x: dnp.transpose(x, (0, 0)), [np.ones((2, 3))], "transpose"),
    ],
)
def test_shape_errors_name_the_op_and_shapes(fn, args, op):
    with pytest.raises(ValueError, match=op) as info:
        dt.jit(fn)(*args)
    message = str(info.value)
    assert str(args[0].shape) in message and "test_shape.py" in message, message
    if len(args) > 1:
        assert str(args[1].shape) in message


def test_shape_methods_and_reshape_spellings():
    x = np.arange(24.0).reshape(2, 3, 4)
    cases = [
        (lambda x: x.reshape(6, 4), lambda x: x.reshape(6, 4)),
        (lambda x: x.reshape((4, -1)), lambda x: x.reshape((4, -1))),
        (lambda x: x.reshape(-1), lambda x: x.view(-1)),
        (lambda x: x.ravel(), lambda x: x.flatten()),
        (lambda x: x[:, None], lambda x: x.unsqueeze(1)),
        (lambda x: np.moveaxis(x, 0, -1), lambda x: dnp.moveaxis(x, 0, -1)),
        (lambda x: np.swapaxes(x, 0, 2), lambda x: x.swapaxes(0, 2)),
        (lambda x: x.T, lambda x: x.T),
        (lambda x: np.atleast_1d(x), lambda x: dnp.atleast_1d(x)),
    ]
    for np_fn, dt_fn in cases:
        check_op(np_fn, dt_fn, (x,), eager=False)
    check_op(np.atleast_1d, dnp.atleast_1d, (np.float32(3.0),))
