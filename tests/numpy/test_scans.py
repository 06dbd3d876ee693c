"""Edge cases of dnp's scans, differences and sorting (numpy/scans.py) beyond the per-function table
(tests/functions_scans.py): NumPy's partition property, nan_to_num's defaults and zero derivative where it
replaces, linspace's plain-value path, dtypes and closed-form derivative, gradient's spacings and errors, select's
promotion, diff on booleans, and the errors NumPy raises, raised alike."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from opcheck import assert_like_numpy
from strategies import Domain, arrays, shapes
from testkit import EXACT, leaf, torch_or_skip


# ---- partition ---------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(x=arrays(np.float64, shapes(1, 2, min_side=1), Domain(-2.0, 2.0)).map(np.round), data=st.data())
def test_partition_puts_kth_where_numpy_does(x, data):
    """Ties included: the kth elements equal NumPy's, smaller ones before them and larger ones after."""
    axis = data.draw(st.sampled_from([None, -1, 0]), label="axis")
    n = x.size if axis is None else x.shape[axis]
    kth = data.draw(st.integers(-n, n - 1) | st.lists(st.integers(-n, n - 1), min_size=1, max_size=3), label="kth")
    theirs = np.partition(x, kth, axis)
    ours = dt.jit(lambda x: dnp.partition(x, kth, axis))(x)
    by_index = np.take_along_axis(x.ravel() if axis is None else x,
                                  dt.jit(lambda x: np.argpartition(x, kth, axis))(x), -1 if axis is None else axis)
    for got in (ours, by_index):
        moved, reference = np.moveaxis(got, axis or 0, -1), np.moveaxis(theirs, axis or 0, -1)
        for k in np.atleast_1d(kth) % n:
            np.testing.assert_array_equal(moved[..., k], reference[..., k])
            assert (moved[..., :k] <= moved[..., k:k + 1]).all() and (moved[..., k + 1:] >= moved[..., k:k + 1]).all()


def test_partition_checks_kth():
    x = np.arange(3.0)
    for fn in (np.partition, dnp.partition, np.argpartition, dnp.argpartition):
        with pytest.raises(ValueError, match="out of bounds"):
            fn(x, 3)
        with pytest.raises(TypeError):
            fn(x, 1.5)
    with pytest.raises(TypeError, match="kth must be concrete"):
        dt.jit(lambda x, k: dnp.partition(x, k))(x, 1)


def test_sorting_refuses_zero_dimensional_axes_and_structured_orders():
    x = np.array(2.0)
    for fn in (np.sort, dnp.sort):
        with pytest.raises(np.exceptions.AxisError):
            fn(x)
        np.testing.assert_array_equal(fn(x, axis=None), [2.0])
    np.testing.assert_array_equal(dnp.argsort(x), np.argsort(x))
    with pytest.raises(NotImplementedError, match="order"):
        dnp.sort(np.arange(3.0), order="a")


def test_sort_of_eager_tensors_matches_pytorch():
    torch = torch_or_skip()
    x = np.array([[0.3, -1.0, 2.0], [5.0, 4.0, -2.0]])
    w = np.cos(np.arange(6.0)).reshape(2, 3)
    for axis in (0, 1):
        t, theirs = leaf(x), torch.tensor(x, requires_grad=True)
        (dnp.sort(t, axis) * dt.tensor(w)).sum().backward()
        (torch.sort(theirs, dim=axis, stable=True).values * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), theirs.grad.numpy(), **EXACT)


@pytest.mark.parametrize("v", [2.0, np.array([0.0, 2.5, np.nan])], ids=["scalar", "array"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_with_a_sorter_and_scalars(v, side):
    a = np.array([3.0, np.nan, 1.0, 2.0])
    sorter = np.argsort(a)
    assert_like_numpy(dt.jit(lambda a: dnp.searchsorted(a, v, side, sorter))(a), np.searchsorted(a, v, side, sorter))
    ordered = np.sort(a)
    assert_like_numpy(dt.jit(lambda v: np.searchsorted(ordered, v, side))(v), np.searchsorted(ordered, v, side))


# ---- nan_to_num --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_to_num_defaults_and_derivative(dtype):
    x = np.array([1.5, np.nan, np.inf, -np.inf, -2.0], dtype)
    assert_like_numpy(dt.jit(dnp.nan_to_num)(x), np.nan_to_num(x))
    assert_like_numpy(dt.jit(lambda x: np.nan_to_num(x, nan=-1.0, posinf=9.0))(x), np.nan_to_num(x, nan=-1.0,
                                                                                                  posinf=9.0))
    grad = dt.grad(lambda x: dnp.sum(dnp.nan_to_num(x) * 0.5))(x)
    np.testing.assert_array_equal(grad, np.where(np.isfinite(x), 0.5, 0.0).astype(dtype))


def test_nan_to_num_leaves_integers_and_booleans_alone():
    for x in (np.array([1, -2], np.int32), np.array([True, False]), 3, True, np.array(1.0)):
        assert_like_numpy(dnp.nan_to_num(x), np.nan_to_num(x))
    assert_like_numpy(dt.jit(dnp.nan_to_num)(np.array([1, 2])), np.array([1, 2]))


def test_nan_to_num_in_eager_mode_matches_pytorch():
    torch = torch_or_skip()
    x = np.array([1.5, np.nan, np.inf, -np.inf])
    t, theirs = leaf(x), torch.tensor(x, requires_grad=True)
    (dnp.nan_to_num(t, posinf=3.0, neginf=-3.0) * 2.0).sum().backward()
    (torch.nan_to_num(theirs, posinf=3.0, neginf=-3.0) * 2.0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), theirs.grad.numpy())


# ---- linspace ----------------------------------------------------------------------------------------
def test_linspace_of_plain_values_is_numpys():
    for args, kwargs in [((0, 1), {}), ((0.0, 2.0, 5), {"retstep": True}), (([0, 1], [2, 4], 3), {"axis": 1}),
                         ((0, 10, 4), {"dtype": int}), ((1.0, 2.0, 0), {}), ((1.0, 2.0, 1), {"retstep": True})]:
        ours, theirs = dnp.linspace(*args, **kwargs), np.linspace(*args, **kwargs)
        for a, b in zip(ours if kwargs.get("retstep") else [ours], theirs if kwargs.get("retstep") else [theirs]):
            assert_like_numpy(a, b)


@pytest.mark.parametrize("kwargs", [{}, {"num": 1, "retstep": True}, {"num": 0}, {"endpoint": False, "num": 4},
                                    {"dtype": np.int32, "num": 4}, {"dtype": np.float32, "num": 3}])
def test_linspace_of_traced_values_matches_numpy(kwargs):
    for start, stop in [(np.float32(-1.5), 2.0), (np.array([0.0, 1.0]), np.float64(3.0)), (2, np.int64(7))]:
        expected = np.linspace(start, stop, **kwargs)
        got = dt.jit(lambda a, b: np.linspace(a, b, **kwargs))(start, stop)
        for a, b in zip(*(r if kwargs.get("retstep") else (r,) for r in (got, expected))):
            assert_like_numpy(a, b)
    with pytest.raises(ValueError, match="must be non-negative"):
        dt.jit(lambda a: dnp.linspace(a, 1.0, -1))(0.0)


def test_linspace_derivatives_follow_the_endpoints():
    """y[k] = start + k (stop - start) / (num - 1): d/dstart = 1 - k / (num - 1), d/dstop = k / (num - 1)."""
    k = np.arange(5.0)
    d_start, d_stop = dt.jacfwd(lambda a, b: dnp.linspace(a, b, 5), argnums=(0, 1))(0.5, 3.0)
    np.testing.assert_allclose(d_start, 1 - k / 4, **EXACT)
    np.testing.assert_allclose(d_stop, k / 4, **EXACT)


# ---- gradient ----------------------------------------------------------------------------------------
_F = np.array([[1.0, 2.0, 4.0, 7.0], [0.0, 1.0, 0.0, 1.0], [2.0, 2.0, 3.0, 5.0]])
_EVEN = np.array([0.0, 1.0, 2.0, 3.0])  # (evenly spaced coordinates: NumPy's uniform formulas)


@pytest.mark.parametrize("args, kwargs", [((), {}), ((2.0,), {"axis": 1}), ((0.5, _EVEN), {}),
                                          ((_EVEN,), {"axis": -1}), ((np.array([0.0, 1.0, 3.0]), 2), {"edge_order": 2}),
                                          ((), {"axis": (1, 0)})])
def test_gradient_spacings_and_results(args, kwargs):
    expected = np.gradient(_F, *args, **kwargs)
    got = dt.jit(lambda f: dnp.gradient(f, *args, **kwargs))(_F)
    assert type(got) is type(expected)
    for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (got, expected))):
        assert_like_numpy(a, b)


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_gradient_dtypes(dtype):
    x = np.arange(5, dtype=dtype)
    assert_like_numpy(dt.jit(dnp.gradient)(x), np.gradient(x))


def test_gradient_is_differentiable_in_the_spacing():
    f = np.array([1.0, 2.0, 4.0, 7.0])
    d = dt.grad(lambda h: dnp.sum(dnp.gradient(f, h) * np.arange(4.0)))(0.5)
    h = 1e-6
    numeric = (np.sum(np.gradient(f, 0.5 + h) * np.arange(4.0)) - np.sum(np.gradient(f, 0.5 - h) * np.arange(4.0)))
    np.testing.assert_allclose(d, numeric / (2 * h), rtol=1e-6)


@pytest.mark.parametrize("args, kwargs, error", [
    ((np.ones(2),), {"edge_order": 2}, ValueError), ((np.ones(3), 1.0, 2.0), {}, TypeError),
    ((np.ones(3),), {"edge_order": 3}, ValueError), ((np.ones(3), np.ones((3, 1))), {}, ValueError),
    ((np.ones(3), np.arange(4.0)), {}, ValueError), ((np.ones((3, 3)),), {"axis": (0, 0)}, ValueError)])
def test_gradient_errors_match_numpy(args, kwargs, error):
    with pytest.raises(error):
        np.gradient(*args, **kwargs)
    with pytest.raises(error, match="gradient"):
        dt.jit(lambda f: dnp.gradient(f, *args[1:], **kwargs))(args[0])


# ---- differences, select, cumulative -----------------------------------------------------------------
@pytest.mark.parametrize("x, kwargs", [
    (np.array([True, False, False, True]), {}), (np.array([3, 1, 4, 1, 5], np.int32), {"n": 2}),
    (np.arange(3.0), {"n": 5}), (np.arange(3.0), {"n": 0}), (np.arange(3.0, dtype=np.float32), {"prepend": 0}),
    (np.ones((2, 3)), {"axis": 0, "append": np.zeros((1, 3))})])
def test_diff_spellings(x, kwargs):
    assert_like_numpy(dt.jit(lambda x: np.diff(x, **kwargs))(x), np.diff(x, **kwargs))


def test_diff_errors():
    for x, n in ((np.array(1.0), 1), (np.arange(3.0), -1)):
        with pytest.raises(ValueError):
            np.diff(x, n)
        with pytest.raises(ValueError, match="diff"):
            dnp.diff(x, n)


def test_ediff1d_casts_its_edges_like_numpy():
    x = np.array([[1, 4], [9, 16]], np.int32)
    assert_like_numpy(dt.jit(lambda x: np.ediff1d(x, to_begin=[-1, 0], to_end=99))(x),
                      np.ediff1d(x, to_begin=[-1, 0], to_end=99))
    for fn in (np.ediff1d, dnp.ediff1d):
        with pytest.raises(TypeError, match="same_kind"):
            fn(x, to_begin=0.5)


_X32 = np.array([1.0, -2.0, 3.0], np.float32)
_CONDITIONS = [_X32 > 0, _X32 < -1]


@pytest.mark.parametrize("choices, default", [([_X32, 2 * _X32], 0), ([_X32, 1.5], -1),
                                              ([np.array([1, 2, 3], np.int8), _X32], 0.5), ([np.arange(3), 7], 0)])
def test_select_promotes_as_numpy(choices, default):
    expected = np.select(_CONDITIONS, choices, default)
    assert_like_numpy(dt.jit(lambda c: np.select([c, _CONDITIONS[1]], choices, default))(_CONDITIONS[0]), expected)
    assert_like_numpy(dt.jit(lambda x: dnp.select(_CONDITIONS, [x, *choices[1:]], default))(choices[0]), expected)


def test_select_errors_match_numpy():
    for bad, error in [(([_X32], [_X32, _X32]), ValueError), (([], []), ValueError), (([_X32], [_X32]), TypeError)]:
        for fn in (np.select, dnp.select):
            with pytest.raises(error):
                fn(*bad)


def test_cumulative_sum_needs_an_axis_beyond_one_dimension():
    x = np.arange(6.0).reshape(2, 3)
    for fn in (np.cumulative_sum, dnp.cumulative_sum, dnp.cumulative_prod):
        with pytest.raises(ValueError, match="axis"):
            fn(x)


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@pytest.mark.parametrize("v, kwargs", [(np.array(2.0), {"include_initial": True}), (np.arange(3), {}),
                                       (np.arange(6.0).reshape(2, 3), {"axis": 1, "include_initial": True,
                                                                       "dtype": np.float32})])
def test_cumulative_spellings(name, v, kwargs):
    assert_like_numpy(dt.jit(lambda v: getattr(np, name)(v, **kwargs))(v), getattr(np, name)(v, **kwargs))
