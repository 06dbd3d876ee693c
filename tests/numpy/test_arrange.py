"""Edge cases of dnp's rearranging, joining, splitting, padding and diagonal functions (the drawn cases are in
tests/functions_arrange.py and functions_diagonals.py): empty and 0-d inputs as NumPy takes them, clear errors
naming the op (bad axes, unequal splits, bad pad arguments, shapes that do not join), NumPy's own functions on
sequences holding traced values, what emitted code looks like, and eager tensors."""

import warnings

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.errors import ConcretizationError, ShapeError, UnsupportedError
from dualtape.numpy import joins
from opcheck import assert_like_numpy

X = np.arange(24.0).reshape(2, 3, 4)
V = np.arange(1.0, 4.0)


def _both(fn, *args):
    """fn's result on arrays and through dt.jit (traced), each checked against NumPy's on arrays."""
    return fn(*args), dt.jit(fn)(*args)


# ---- empty and 0-d inputs ------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m, x: m.flip(x), lambda m, x: m.roll(x, 3), lambda m, x: m.repeat(x, 2), lambda m, x: m.tile(x, (2, 1)),
    lambda m, x: m.pad(x, 1), lambda m, x: m.pad(x, ((0, 0), (1, 2)), "edge"), lambda m, x: m.append(x, x),
    lambda m, x: m.split(x, 2, axis=1), lambda m, x: m.vstack([x, x]), lambda m, x: m.trace(x),
    lambda m, x: m.diagonal(x, 1), lambda m, x: m.triu(x), lambda m, x: m.rot90(x),
], ids=["flip", "roll", "repeat", "tile", "pad", "pad_edge", "append", "split", "vstack", "trace", "diagonal",
        "triu", "rot90"])
def test_empty_arrays_are_taken_as_numpy_takes_them(call):
    x = np.zeros((0, 4))
    for result in _both(lambda v: call(dnp, v), x):
        for got, expected in zip(np.atleast_1d(result) if not isinstance(result, list) else result,
                                 call(np, x) if isinstance(result, list) else np.atleast_1d(call(np, x))):
            assert_like_numpy(got, expected, "empty")


@pytest.mark.parametrize("call", [
    lambda m, x: m.flip(x), lambda m, x: m.roll(x, 2), lambda m, x: m.repeat(x, 3), lambda m, x: m.tile(x, 2),
    lambda m, x: m.pad(x, 2), lambda m, x: m.append(x, x), lambda m, x: m.atleast_2d(x),
    lambda m, x: m.atleast_3d(x), lambda m, x: m.diagflat(x, -1), lambda m, x: m.hstack([x, x]),
    lambda m, x: m.column_stack([x, x]), lambda m, x: m.dstack([x, x]),
], ids=["flip", "roll", "repeat", "tile", "pad", "append", "atleast_2d", "atleast_3d", "diagflat", "hstack",
        "column_stack", "dstack"])
def test_zero_dimensional_inputs(call):
    x = np.array(2.5)
    for result in _both(lambda v: call(dnp, v), x):
        assert_like_numpy(result, call(np, x), "0-d")


def test_atleast_nd_take_several_arrays_as_numpy():
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        ours = getattr(joins, name)(2.0, V, X[0], [1, 2])
        theirs = getattr(np, name)(2.0, V, X[0], [1, 2])
        assert isinstance(ours, tuple) and len(ours) == 4
        for a, b in zip(ours, theirs):
            assert_like_numpy(a, b, name)
        assert getattr(joins, name)() == ()


# ---- errors that name the op and the fix ----------------------------------------------------------------
@pytest.mark.parametrize("call, op", [
    (lambda: dnp.flip(X, 3), "flip"), (lambda: dnp.flip(np.array(1.0), 0), "flip"),
    (lambda: dnp.roll(X, 1, -4), "roll"), (lambda: dnp.repeat(X, 2, 5), "repeat"),
    (lambda: dnp.rot90(X, 1, (0, 3)), "rot90"), (lambda: dnp.rollaxis(X, 3), "rollaxis"),
    (lambda: dnp.split(X, 2, 3), "split"), (lambda: dnp.append(X, X, 3), "append"),
    (lambda: dnp.diagonal(X, 0, 0, 3), "diagonal"),
])
def test_bad_axis_raises_numpys_axis_error_naming_the_op(call, op):
    with pytest.raises(np.exceptions.AxisError, match=op):
        call()


def test_unequal_split_names_the_op_and_the_fix():
    with pytest.raises(ShapeError, match=r"(?s)split.*equal division.*length 3 into 2.*fix: use dnp.array_split"):
        dnp.split(X, 2, axis=1)
    assert [p.shape for p in dnp.array_split(X, 2, axis=1)] == [(2, 2, 4), (2, 1, 4)]  # (the fix works)


@pytest.mark.parametrize("call, pattern", [
    (lambda: dnp.vsplit(V, 1), r"vsplit only works on arrays of 2 or more dimensions, got shape \(3,\)"),
    (lambda: dnp.hsplit(np.array(1.0), 1), "hsplit only works on arrays of 1 or more"),
    (lambda: dnp.dsplit(X[0], 1), "dsplit only works on arrays of 3 or more"),
    (lambda: dnp.vstack([X[0], np.ones(5)]), r"vstack: all input arrays must have the same shape except along "
                                             r"the joined axis 0, got \[\(3, 4\), \(1, 5\)\]"),
    (lambda: dnp.append(X, V, axis=0), "append: all input arrays must have the same shape"),
    (lambda: dnp.repeat(V, [1, 2]), r"repeat: repeats of shape \(2,\) do not match an axis of length 3"),
    (lambda: dnp.tile(V, -1), "tile: reps may not be negative"),
    (lambda: dnp.flipud(np.array(1.0)), "flipud: needs an array of at least 1 dimension"),
    (lambda: dnp.fliplr(V), "(?s)fliplr: needs an array of at least 2 dimensions.*fix: use dnp.flip"),
    (lambda: dnp.diag(X), r"(?s)diag: input must be 1-d or 2-d, got shape \(2, 3, 4\).*fix: use dnp.diagonal"),
    (lambda: dnp.diagonal(V), "(?s)diagonal: needs an array of at least two dimensions.*fix: use dnp.diag"),
    (lambda: dnp.tril(np.array(1.0)), "tril: needs an array of at least one dimension"),
    (lambda: dnp.pad(np.zeros((0, 2)), 1, "edge"), "(?s)pad: can't extend empty axis 0 using modes other than "
                                                   "'constant' or 'empty'.*fix: pad it with mode='constant'"),
    (lambda: dnp.tril_indices_from(X), "tril_indices_from: input array must be 2-d"),
    (lambda: dnp.diag_indices_from(X[0]), "diag_indices_from: needs an array of at least 2 dimensions, all of"),
])
def test_shape_errors_name_the_op_and_the_shapes(call, pattern):
    with pytest.raises(ShapeError, match=pattern):
        call()


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: dnp.pad(V, 1.5), TypeError, "pad_width` must be of integral type"),
    (lambda: dnp.pad(V, -1), ValueError, "pad widths can't be negative"),
    (lambda: dnp.pad(V, 1, "nearest"), ValueError, "mode 'nearest' is not supported"),
    (lambda: dnp.pad(V, 1, "edge", constant_values=2), ValueError, "unsupported keyword arguments for mode 'edge'"),
    (lambda: dnp.pad(V, 1, "maximum", stat_length=0), ValueError, "stat_length of 0 yields no value"),
    (lambda: dnp.repeat(V, np.array([1.0, 2.0, 1.0])), TypeError, "repeats must be integers"),
    (lambda: dnp.repeat(V, -1), ValueError, "repeats may not contain negative values"),
    (lambda: dnp.array_split(V, 0), ValueError, "number of sections must be larger than 0"),
    (lambda: dnp.rot90(X, 1, (1, 1)), ValueError, "rot90: the two axes must be different"),
    (lambda: dnp.rot90(X, 1, (0, 1, 2)), ValueError, "rot90: len.axes. must be 2"),
    (lambda: dnp.rollaxis(X, 0, 5), ValueError, "rollaxis: 'start' arg requires -3 <= start < 4"),
    (lambda: dnp.roll(X, [[1]], [[0]]), ValueError, "'shift' and 'axis' should be scalars or 1D sequences"),
    (lambda: dnp.diagonal(X, 0, 1, -2), ValueError, "axis1 and axis2 cannot be the same"),
    (lambda: dnp.vstack(v for v in (V, V)), TypeError, "vstack: arrays to stack must be passed as a .sequence."),
    (lambda: dnp.vstack([V, V], dtype=np.int64), TypeError, "vstack: cannot cast array data from "
                                                            "dtype.'float64'. to dtype.'int64'."),
    (lambda: dnp.hstack([]), ValueError, "hstack: need at least one array to concatenate"),
    (lambda: dnp.r_[V, "0,2"], ValueError, "special directives must be the first entry"),
    (lambda: dnp.r_["a,b", V], ValueError, "unknown special directive"),
])
def test_bad_arguments_raise_numpys_errors_naming_the_op(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize("call, what", [
    (lambda: dnp.pad(V, 1, "median"), r"dnp.pad\(..., mode='median'\)"),
    (lambda: dnp.pad(V, 1, lambda *a: None), "dnp.pad with a function as mode"),
    (lambda: dnp.r_["r", V, V], "np.matrix"), (lambda: dnp.c_["c", V], "np.matrix"),
    (lambda: dnp.r_["1, 2; 3, 4"], "np.matrix"),
])
def test_what_has_no_traced_counterpart_raises_unsupported_error(call, what):
    with pytest.raises(UnsupportedError, match=what):
        call()


def test_repeat_counts_must_be_known_when_tracing():
    with pytest.raises(ConcretizationError):
        dt.jit(lambda x, r: dnp.repeat(x, r))(V, np.array([1, 2, 0]))


def test_row_stack_warns_as_numpy_and_is_vstack():
    with pytest.warns(DeprecationWarning, match="row_stack"):
        assert_like_numpy(dnp.row_stack([V, V]), np.vstack([V, V]), "row_stack")


# ---- NumPy's own functions on sequences holding traced values --------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m, x: m.vstack([x, np.ones(3), [1.0, 2.0, 3.0]]), lambda m, x: m.hstack((np.ones(2), x)),
    lambda m, x: m.column_stack([x, 2 * x]), lambda m, x: m.dstack([x, x]), lambda m, x: m.append([0.0], x),
    lambda m, x: m.split(x, [1]), lambda m, x: m.atleast_2d(x), lambda m, x: m.tile(x, 2),
    lambda m, x: m.pad(x, (1, 2), "reflect"), lambda m, x: m.diag(x, 1), lambda m, x: m.roll(x, -1),
], ids=["vstack", "hstack", "column_stack", "dstack", "append", "split", "atleast_2d", "tile", "pad", "diag",
        "roll"])
def test_numpy_functions_find_traced_values_inside_sequences(call):
    got = dt.jit(lambda x: call(np, x))(V)
    for a, b in zip(got if isinstance(got, list) else [got], call(np, V) if isinstance(got, list) else [call(np, V)]):
        assert_like_numpy(a, b, "np on tracers")


def test_lists_mixing_traced_values_and_numbers_are_arrays():
    grad = dt.grad(lambda a: dnp.trace(dnp.diag([a, 2.0 * a, 1.0])))(1.5)
    assert grad == pytest.approx(3.0)
    stacked = dt.jit(lambda a: dnp.vstack([[a, 1.0], np.zeros(2)]))(np.float64(4.0))
    assert_like_numpy(stacked, np.array([[4.0, 1.0], [0.0, 0.0]]), "vstack of a list holding a traced scalar")


def test_traced_constant_value_of_pad_gets_its_gradient():
    grad = dt.grad(lambda c: dnp.sum(dnp.pad(V, ((1, 2),), constant_values=c)))(0.5)
    assert grad == pytest.approx(3.0)  # (three padded elements)
    grad = dt.grad(lambda c: dnp.sum(dnp.pad(np.ones((2, 2)), 1, constant_values=((c, 0.0), (0.0, 0.0)))))(0.5)
    assert grad == pytest.approx(2.0)  # (the row before, without its corners: axis 1's values fill those)


def test_pad_empty_mode_has_the_padded_shape():
    assert dnp.pad(X, ((1, 0), (0, 2), (3, 3)), "empty").shape == (3, 5, 10)


# ---- what the emitted code looks like --------------------------------------------------------------------
def test_reflecting_pad_is_one_gather_and_its_adjoint_one_scatter_add():
    program = str(dt.trace(lambda x: dnp.pad(x, ((2, 3), (1, 1)), "reflect"))(X[0]))
    assert program.count("getitem") == 1 and "concatenate" not in program
    adjoint = str(dt.trace(dt.grad(lambda x: dnp.sum(dnp.pad(x, 2, "symmetric") ** 2)))(X[0]))
    assert adjoint.count("index_add") == 1 and "concatenate" not in adjoint


def test_flip_is_a_reversed_slice_and_roll_two_slices_joined():
    assert "x[::-1, :, ::-1]" in dt.source(lambda x: dnp.flip(x, (0, 2)), X)
    source = dt.source(lambda x: dnp.roll(x, 1, axis=-1), X)
    assert "x[:, :, 3:]" in source and "x[:, :, :3]" in source and "xp.concat(" in source


def test_tile_and_repeat_by_one_count_are_broadcasts_not_gathers():
    for fn in (lambda x: dnp.tile(x, (2, 1, 3)), lambda x: dnp.repeat(x, 3, axis=1)):
        program = str(dt.trace(fn)(X))
        assert "broadcast_to" in program and "getitem" not in program


def test_functions_record_eager_gradients():
    t = dt.tensor(X[0], requires_grad=True)
    dt.numpy.sum(dnp.triu(dnp.roll(t, 1, 0)) * 2.0).backward()
    assert_like_numpy(np.asarray(t.grad), np.roll(np.triu(np.ones((3, 4))), -1, 0) * 2.0, "eager gradient")


def test_functions_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dnp.pad(X, 1, "linear_ramp", end_values=(1, 2))
        dnp.pad(X, 2, "mean", stat_length=1)
