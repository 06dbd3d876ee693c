"""Shape primitives against NumPy: reshape, transpose, broadcast_to, squeeze, expand_dims, concatenate and
indexing (basic: ints, slices with any step, None, Ellipsis; advanced: integer arrays adjacent or not, and
concrete boolean masks); eager, per-equation impl and abstract_eval, and dt.jit."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from dualtape.numpy.shapes import contiguous
from opcheck import assert_like_numpy, check_op, prim_names
from strategies import ALL, arrays, dtypes, shapes


def _array(draw, shape, choices=ALL):
    return draw(arrays(draw(dtypes(choices)), shape))


@st.composite
def _reshape_case(draw):
    """A new shape for the same elements: the old axes permuted, with 1s added or dropped, maybe one -1."""
    shape = draw(shapes())
    dims = [d for d in draw(st.permutations(shape)) if d != 1 or draw(st.booleans())]
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if math.prod(dims) != math.prod(shape):
        dims.append(math.prod(shape))
    new = tuple(dims)
    assume(new != shape)
    if new and draw(st.booleans()):
        i = draw(st.integers(0, len(new) - 1))
        if math.prod(new[:i] + new[i + 1:]) > 0:
            new = new[:i] + (-1,) + new[i + 1:]
    x = _array(draw, shape)
    if new and draw(st.booleans()):  # the separate-ints spelling
        return (lambda x: np.reshape(x, new)), (lambda x: dnp.reshape(x, *new)), (x,)
    return (lambda x: np.reshape(x, new)), (lambda x: dnp.reshape(x, new)), (x,)


@st.composite
def _transpose_case(draw):
    shape = draw(shapes(min_dims=2))
    perm = draw(st.permutations(range(len(shape))))
    assume(perm != list(range(len(shape))))
    perm = tuple(p - len(shape) if draw(st.booleans()) else p for p in perm)
    x = _array(draw, shape)
    if draw(st.booleans()):
        return np.transpose, dnp.transpose, (x,)
    return (lambda x: np.transpose(x, perm)), (lambda x: dnp.transpose(x, perm)), (x,)


@st.composite
def _broadcast_to_case(draw):
    target = draw(shapes())
    shape = draw(hnp.broadcastable_shapes(target, min_dims=0, max_dims=len(target), min_side=0))
    assume(shape != target and np.broadcast_shapes(shape, target) == target)
    x = _array(draw, shape)
    return (lambda x: np.broadcast_to(x, target)), (lambda x: dnp.broadcast_to(x, target)), (x,)


@st.composite
def _squeeze_case(draw):
    shape = list(draw(shapes(max_dims=2)))
    for _ in range(draw(st.integers(1, 2))):
        shape.insert(draw(st.integers(0, len(shape))), 1)
    ones = [i for i, d in enumerate(shape) if d == 1]
    chosen = draw(st.lists(st.sampled_from(ones), unique=True, min_size=1))
    axis = draw(st.sampled_from([None, tuple(a - len(shape) if a % 2 else a for a in chosen), chosen[0]]))
    x = _array(draw, tuple(shape))
    return (lambda x: np.squeeze(x, axis)), (lambda x: dnp.squeeze(x, axis)), (x,)


@st.composite
def _expand_dims_case(draw):
    shape = draw(shapes())
    n = draw(st.integers(1, 2))
    out_ndim = len(shape) + n
    chosen = draw(st.lists(st.integers(0, out_ndim - 1), unique=True, min_size=n, max_size=n))
    chosen = [a - out_ndim if draw(st.booleans()) else a for a in chosen]
    axis = chosen[0] if n == 1 and draw(st.booleans()) else tuple(chosen)
    x = _array(draw, shape)
    return (lambda x: np.expand_dims(x, axis)), (lambda x: dnp.expand_dims(x, axis)), (x,)


@st.composite
def _concatenate_case(draw):
    base = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(base), len(base) - 1))
    count = draw(st.integers(2, 3))
    xs = []
    for _ in range(count):
        shape = list(base)
        shape[axis] = draw(st.integers(0, 3))
        xs.append(_array(draw, tuple(shape)))
    if draw(st.booleans()):  # axis=None flattens arrays of any shapes
        xs = [_array(draw, draw(shapes())) for _ in range(count)]
        axis = None
    return (lambda *xs: np.concatenate(xs, axis)), (lambda *xs: dnp.concatenate(xs, axis)), tuple(xs)


# ---- indices -----------------------------------------------------------------------------------------
@st.composite
def _slices(draw, size):
    bound = st.none() | st.integers(-size - 2, size + 2)
    step = st.none() | st.integers(-3, 3).filter(bool)
    return slice(draw(bound), draw(bound), draw(step))


@st.composite
def indices(draw, shape, advanced=True):
    """An index for an array of `shape`: ints (negative too), slices (any step), None, at most one Ellipsis,
    and (if advanced) integer arrays or lists whose shapes broadcast together. Returns (index, arrays) where
    arrays are the ndarray entries, in order, so a test can also pass them as traced arguments."""
    ndim = len(shape)
    ellipsis = draw(st.booleans())
    lead = draw(st.integers(0, ndim))
    trail = draw(st.integers(0, ndim - lead)) if ellipsis else 0
    positions = list(range(lead)) + list(range(ndim - trail, ndim))
    kinds = []
    for axis in positions:
        options = ["slice"] + (["int"] + ["array"] * advanced if shape[axis] > 0 else [])
        kinds.append(draw(st.sampled_from(options)))
    n_arrays = kinds.count("array")
    array_shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n_arrays, max_dims=2, max_side=3)).input_shapes \
        if n_arrays else ()
    entries, arrays, k = [], [], 0
    for axis, kind in zip(positions, kinds):
        size = shape[axis]
        if kind == "int":
            entries.append(draw(st.integers(-size, size - 1).map(draw(st.sampled_from([int, np.int64])))))
        elif kind == "slice":
            entries.append(draw(_slices(size)))
        else:
            values = draw(hnp.arrays(draw(st.sampled_from([np.int64, np.int32])), array_shapes[k],
                                     elements=st.integers(-size, size - 1)))
            k += 1
            if values.ndim == 1 and draw(st.booleans()):
                entries.append(values.tolist())
            else:
                entries.append(values)
                arrays.append(values)
    if ellipsis:
        entries.insert(lead, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        entries.insert(draw(st.integers(0, len(entries))), None)
    index = entries[0] if len(entries) == 1 and draw(st.booleans()) else tuple(entries)
    return index, arrays


def _substitute(index, arrays):
    """index with its ndarray entries replaced, in order, by `arrays` (e.g. by traced values)."""
    it = iter(arrays)
    if not isinstance(index, tuple):
        return next(it) if isinstance(index, np.ndarray) else index
    return tuple(next(it) if isinstance(e, np.ndarray) else e for e in index)


@st.composite
def _getitem_case(draw):
    shape = draw(shapes(min_dims=1))
    index, _ = draw(indices(shape))
    entries = index if isinstance(index, tuple) else (index,)
    assume(not all(e is Ellipsis or isinstance(e, slice) and e == slice(None) for e in entries))  # x[:, ...] is x
    note(f"index={index!r}")
    x = _array(draw, shape)
    return (lambda x: x[index]), (lambda x: dnp.getitem(x, index)), (x,)


@st.composite
def _index_add_case(draw):
    """index_add (getitem's transpose): zeros of x's shape with g added at x[index], duplicates summed."""
    shape = draw(shapes(min_dims=1))
    index, _ = draw(indices(shape))
    program = dt.trace(lambda x: dnp.getitem(x, index))(np.zeros(shape))
    assume(program.eqns)
    (eqn,) = program.eqns
    captured = {v.id: value for v, value in program.captures}
    arrays = [captured.get(getattr(a, "id", None), getattr(a, "value", None)) for a in eqn.inputs[1:]]
    note(f"index={index!r}")
    g = _array(draw, np.zeros(shape)[index].shape)

    def by_numpy(g):
        out = np.zeros(shape, g.dtype)
        np.add.at(out, index, g)
        return out

    prim = REGISTRY["index_add"]
    return by_numpy, (lambda g: prim(g, *arrays, index=eqn.params["index"], shape=shape)), (g,)


@st.composite
def _contiguous_case(draw):
    """A transposed array laid out row by row: the same values."""
    x = _array(draw, draw(shapes()))
    return (lambda x: np.asarray(x.T, order="C")), (lambda x: contiguous(dnp.transpose(x))), (x,)


@st.composite
def _index_update_case(draw):
    """index_update: a copy of x with a value (of x's dtype, broadcasting to x[index]) written at index; with
    repeated integer indices the last write wins, as NumPy writes."""
    shape = draw(shapes(min_dims=1))
    index, _ = draw(indices(shape, advanced=draw(st.booleans())))
    x = _array(draw, shape)
    target = np.zeros(shape)[index].shape
    value = draw(arrays(x.dtype, target[draw(st.integers(0, len(target))):]))
    note(f"index={index!r}")

    def by_numpy(x, value):
        out = x.copy()
        out[index] = value
        return out

    return by_numpy, (lambda x, value: dnp.index_update(x, index, value)), (x, value)


CASES = {
    "index_add": _index_add_case(),
    "index_update": _index_update_case(),
    "reshape": _reshape_case(),
    "contiguous": _contiguous_case(),
    "transpose": _transpose_case(),
    "broadcast_to": _broadcast_to_case(),
    "squeeze": _squeeze_case(),
    "expand_dims": _expand_dims_case(),
    "concatenate": _concatenate_case(),
    "getitem": _getitem_case(),
}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(CASES[name], label="case")
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
    with_args = lambda x, *arrays: x[_substitute(index, arrays)]
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
