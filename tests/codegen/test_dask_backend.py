"""backend="dask": every primitive's value, JVP and VJP programs run lazily on dask arrays (chunked inputs) and
agree with the NumPy-compiled ones, on empty arrays and empty slices too; scatter-adds with repeated indices
accumulate; loops and branches are refused with a pointer to dt.parallel; an MLP gradient over an input of many
chunks stays lazy until asked; a reshape dask cannot split evenly keeps the chunks of the axes it keeps."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.errors import BackendError
from primitive_cases import CUMULATIVE, DIFFERENTIABLE, EXAMPLES, REDUCTIONS, SHAPES, draw_args, draw_case

da = pytest.importorskip("dask.array")

BOUNDED = settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.data_too_large])


def chunked(a):
    """a as a dask array cut in two along its first axis (one chunk where it is 0-d or short)."""
    a = np.asarray(a)
    return da.from_array(a, chunks=(max(1, (a.shape[0] + 1) // 2),) + a.shape[1:] if a.ndim else ())


def assert_same(lazy, eager, what=""):
    lazy_leaves, eager_leaves = dt.tree.leaves(lazy), dt.tree.leaves(eager)
    assert len(lazy_leaves) == len(eager_leaves), what
    for got, want in zip(lazy_leaves, eager_leaves):
        got, want = np.asarray(got), np.asarray(want)
        assert got.shape == want.shape and got.dtype == want.dtype, f"{what}: {got.dtype}{got.shape}"
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True, err_msg=what)


def on_both(fn, *args):
    with np.errstate(all="ignore"):
        return dt.jit(fn, backend="dask", to_host=True)(*map(chunked, args)), dt.jit(fn)(*args)


def check_value_jvp_and_vjp(name, fn, args):
    """fn's value, JVP and VJP on dask (chunked args) against the NumPy-compiled ones (or the loop refusal)."""
    n = len(args)
    with np.errstate(all="ignore"):
        out = np.asarray(fn(*args))
    tangents = tuple(np.linspace(-1.0, 1.0, a.size).reshape(a.shape).astype(a.dtype) for a in args)
    cotangent = np.linspace(1.0, -1.0, out.size).reshape(out.shape).astype(out.dtype)
    try:
        assert_same(*on_both(fn, *args), f"{name} value")
    except BackendError as e:
        assert "straight-line programs" in str(e) and "dt.parallel" in str(e)
        return
    assert_same(*on_both(lambda *a: dt.jvp(fn, a[:n], a[n:]), *args, *tangents), f"{name} jvp")
    assert_same(*on_both(lambda *a: dt.vjp(fn, *a[:n])[1](a[n]), *args, cotangent), f"{name} vjp")


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@BOUNDED
@given(data=st.data())
def test_value_jvp_and_vjp_match_numpy(name, data):
    case, shape_list, params, dtypes, args = draw_case(data, name)
    note(f"shapes={shape_list} params={params}")
    check_value_jvp_and_vjp(name, case.call(params), args)


def has_an_empty_operand(layout):
    return any(0 in shape for shape in layout[0])


# the primitives whose dask form moves chunks about (max and min of nothing are undefined: no empty layouts)
REARRANGING = sorted(name for name in {**SHAPES, **REDUCTIONS, **CUMULATIVE}
                     if name in DIFFERENTIABLE and name not in ("reduce_max", "reduce_min"))


@pytest.mark.parametrize("name", REARRANGING)
@BOUNDED
@given(data=st.data())
def test_on_arrays_with_a_zero_length_axis_too(name, data):
    case = DIFFERENTIABLE[name]
    shape_list, params, dtypes = data.draw(case.layout.filter(has_an_empty_operand), label="layout")
    note(f"shapes={shape_list} params={params}")
    check_value_jvp_and_vjp(name, case.call(params), draw_args(data.draw, case, shape_list, dtypes))


@pytest.mark.parametrize("shape, new_shape", [
    ((0, 2), (2, 0)), ((2, 0), (0,)), ((2, 0, 2), (0,)), ((2, 0, 0), (0,)), ((1, 0, 2), (2, 0, 1)),
    ((0,), (3, 0, 1)), ((4, 0), (2, 2, 0)), ((0, 3), (0, 1, 3))])
def test_reshape_to_and_from_shapes_with_a_zero(shape, new_shape):
    check_value_jvp_and_vjp("reshape", lambda x: dnp.reshape(x, new_shape), (np.zeros(shape),))
    source = dt.source(lambda x: dnp.reshape(x, new_shape), np.zeros(shape), backend="dask")
    assert f"xp.reshape(x, {new_shape!r})" in source and "numpy_task" not in source


@pytest.mark.parametrize("shape, index, value_shape", [
    ((0, 2), (), (0, 2)), ((0, 2), (), ()), ((0, 2), (slice(None), 1), (0,)), ((3, 2), slice(1, 1), (1, 2)),
    ((3, 2), (slice(0, 0), 0), (0,)), ((4, 0), np.array([2, 0]), (2, 0))])
def test_index_update_into_an_empty_region(shape, index, value_shape):
    x, v = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape), np.full(value_shape, 2.5)
    check_value_jvp_and_vjp("index_update", lambda x, v: dnp.index_update(x, index, v), (x, v))


@pytest.mark.parametrize("index", [np.s_[-4::-2], np.s_[-5:1:-1, 1], np.s_[None, 1:, -9::-3]])
def test_a_slice_stepping_back_from_before_its_axis_selects_nothing(index):
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    check_value_jvp_and_vjp("getitem", lambda x: x[index], (x,))
    check_value_jvp_and_vjp("index_update", lambda x: dnp.index_update(x, index, 2.5), (x,))
    empty = np.zeros(np.zeros((3, 4))[index].shape)
    check_value_jvp_and_vjp("index_add", lambda g: dnp.index_add(np.zeros((3, 4)), index, g), (empty,))


def test_a_reshape_dask_cannot_split_evenly_keeps_the_chunks_of_the_axes_it_keeps():
    x = np.arange(48.0).reshape(4, 2, 6)
    lazy = dt.jit(lambda x: dnp.reshape(x, (4, 3, 4)), backend="dask")(da.from_array(x, chunks=(2, 1, 3)))
    assert isinstance(lazy, da.Array) and lazy.chunks == ((2, 2), (3,), (4,))
    np.testing.assert_array_equal(lazy.compute(), x.reshape(4, 3, 4))
    check_value_jvp_and_vjp("reshape", lambda x: dnp.reshape(x, (3, 16)), (x,))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_values_of_the_other_primitives_match_numpy(name):
    fn, arg_lists = EXAMPLES[name]
    for args in arg_lists:
        try:
            assert_same(*on_both(fn, *args), f"{name} on {args[0].dtype}")
        except BackendError as e:
            assert "straight-line programs" in str(e)


def test_results_stay_lazy_until_asked_and_to_host_computes_them_together():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((6, 3)), rng.standard_normal((40, 6))
    loss = lambda w, x: dnp.mean(dnp.tanh(x @ w) ** 2)  # noqa: E731
    lazy = dt.value_and_grad(loss, backend="dask")(w, da.from_array(x, chunks=(10, 6)))
    assert all(isinstance(v, da.Array) for v in dt.tree.leaves(lazy))
    value, grad = dt.value_and_grad(loss, backend="dask", to_host=True)(w, da.from_array(x, chunks=(10, 6)))
    assert isinstance(grad, np.ndarray)
    np.testing.assert_allclose(grad, dt.grad(loss)(w, x), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(lazy[1]), grad, rtol=1e-12)


def test_scatter_adds_with_repeated_indices_accumulate():
    f = lambda w, x, idx: dnp.sum(dnp.tanh(x @ w)[:, idx] ** 2)  # noqa: E731
    w, x, idx = np.linspace(-1, 1, 12).reshape(4, 3), np.linspace(0, 1, 20).reshape(5, 4), np.array([0, 2, 2, 1, 2])
    got = dt.grad(f, backend="dask", to_host=True)(w, da.from_array(x, chunks=(2, 4)), idx)
    np.testing.assert_allclose(got, dt.grad(f)(w, x, idx), rtol=1e-12)


def test_statements_dask_cannot_run_are_single_numpy_tasks_in_the_source():
    f = lambda a, b: dnp.sum(dnp.linalg.solve(a, b))  # noqa: E731
    source = dt.source(dt.grad(f), np.eye(3) * 2, np.ones((3, 2)), backend="dask")
    assert "numpy_task(lambda" in source and "np.linalg.solve" in source and "one NumPy task" in source
    assert "xp.linalg" not in source


def test_loops_are_refused_with_a_pointer_to_dt_parallel():
    looped = dt.grad(lambda w, x: dnp.sum(dt.fori_loop(0, 3, lambda i, h: dnp.tanh(h * w), x)), backend="dask")
    with pytest.raises(BackendError, match=r"straight-line programs.*dt\.parallel\.data_parallel"):
        looped(0.5, da.ones((4, 2), chunks=2))


def test_without_dask_the_error_names_the_extra(monkeypatch):
    import importlib

    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: (_ for _ in ()).throw(ImportError(name)) if name == "dask.array"
                        else real(name, *a))
    with pytest.raises(BackendError, match=r"pip install 'dualtape\[dask\]'"):
        dt.jit(lambda x: x * 2, backend="dask")
