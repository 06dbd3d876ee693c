"""Scan and sorting primitives against NumPy: cumsum, cumprod, argsort and searchsorted over every dtype, axis
None / int / negative, 0-d and size-0 operands (each case's `values`); cumprod's derivatives exact at zeros, to
second order, against the closed form and PyTorch; the cost of its rules; cumsum's reverse-cumsum VJP; the
stable order of argsort (NaN last); searchsorted under vmap; errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from cases_cumulative import CUMULATIVE, with_zeros
from dualtape.core.primitive import REGISTRY
from opcheck import check_op, prim_names
from strategies import Domain, arrays, shapes
from testkit import EXACT, leaf, torch_or_skip


@pytest.mark.parametrize("name", sorted(CUMULATIVE))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(CUMULATIVE[name].values, label="case")
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name])


# ---- cumprod: exact derivatives where the operand holds zeros ----------------------------------------
def cumprod_jacobian(x):
    """d cumprod(x)[j] / d x[i] for a 1-D x: the product of x[:j + 1] without x[i] (i <= j), else 0."""
    n = len(x)
    return np.array([[math.prod(x[k] for k in range(j + 1) if k != i) if i <= j else 0.0 for i in range(n)]
                     for j in range(n)])


def cumprod_hessian(x, w):
    """d^2 sum(w * cumprod(x)) / d x[a] d x[b]: the sum over j >= a, b (a != b) of w[j] times the product of
    x[:j + 1] without x[a] and x[b]."""
    n = len(x)
    return np.array([[sum(w[j] * math.prod(x[k] for k in range(j + 1) if k not in (a, b))
                          for j in range(max(a, b), n)) if a != b else 0.0 for b in range(n)] for a in range(n)])


ZEROS = [[0.0], [0.0, 0.0], [2.0, 0.0, 3.0], [0.0, 1.5, -2.0, 4.0], [1.5, -2.0, 3.0, 0.0],
         [2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 0.0, 2.0], [1.5, 0.5, -3.0, 0.25, 2.0, 0.0, 1.0, -1.0, 0.0]]


@pytest.mark.parametrize("values", ZEROS, ids=str)
def test_cumprod_jacobian_is_exact_at_zeros(values):
    x = np.array(values)
    expected = cumprod_jacobian(x)
    f = lambda x: dnp.cumprod(x)
    np.testing.assert_allclose(dt.jacfwd(f)(x), expected, **EXACT)
    np.testing.assert_allclose(dt.jacrev(f)(x), expected, **EXACT)
    np.testing.assert_allclose(dt.jit(dt.jacrev(f))(x), expected, **EXACT)


@pytest.mark.parametrize("values", ZEROS, ids=str)
def test_cumprod_second_derivatives_are_exact_at_zeros(values):
    x = np.array(values)
    w = np.cos(np.arange(len(x)) + 1.0)
    f = lambda x: dnp.sum(w * dnp.cumprod(x))
    expected = cumprod_hessian(x, w)
    np.testing.assert_allclose(dt.hessian(f)(x), expected, **EXACT)
    np.testing.assert_allclose(dt.jacfwd(dt.jacfwd(f))(x), expected, **EXACT)


def test_cumprod_gradient_in_eager_mode_matches_pytorch_at_zeros():
    torch = torch_or_skip()
    x = np.array([[2.0, 0.0, 3.0, 0.0], [0.0, 1.5, -2.0, 4.0], [1.0, 2.0, 0.5, -1.0]])
    w = np.sin(np.arange(x.size) + 1.0).reshape(x.shape)
    for axis in (0, 1):
        t = leaf(x)
        out = dnp.cumprod(t, axis)
        assert out.grad_fn.name() == "CumprodBackward0"
        (out * dt.tensor(w)).sum().backward()
        theirs = torch.tensor(x, requires_grad=True)
        (torch.cumprod(theirs, axis) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), theirs.grad.numpy(), **EXACT)


@settings(max_examples=10, deadline=None)
@given(x=arrays(np.float64, shapes(1, 2, min_side=1), Domain(-2.0, 2.0)).map(with_zeros), data=st.data())
def test_cumprod_gradient_matches_the_closed_form_along_any_axis(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    w = np.cos(np.arange(x.size)).reshape(x.shape)
    grad = dt.grad(lambda x: dnp.sum(w * dnp.cumprod(x, axis)))(x)
    moved_x, moved_w = np.moveaxis(x, axis, -1), np.moveaxis(w, axis, -1)
    expected = np.empty_like(moved_x)
    for index in np.ndindex(moved_x.shape[:-1]):
        expected[index] = moved_w[index] @ cumprod_jacobian(moved_x[index])
    np.testing.assert_allclose(grad, np.moveaxis(expected, -1, axis), **EXACT)


def test_cumprod_rules_cost_n_log_n():
    """The derivative programs grow with log2 of the scanned length (one level of the scan per doubling)."""
    def size(n):
        x = np.linspace(0.5, 1.5, n)
        return len(dt.trace(dt.grad(lambda x: dnp.sum(dnp.cumprod(x))))(x).eqns)

    assert size(1024) - size(512) == size(512) - size(256) > 0
    assert size(1024) < 20 * math.log2(1024)


# ---- cumsum: linear, its VJP the reverse cumsum ------------------------------------------------------
def test_cumsum_gradient_is_a_reverse_cumsum():
    x = np.arange(12.0).reshape(3, 4)
    source = dt.source(dt.grad(lambda x: dnp.sum(dnp.cumsum(x, 1) ** 2)), x)
    assert source.count("xp.cumsum(") == 2 and "[:, ::-1]" in source
    g = np.cos(np.arange(12.0)).reshape(3, 4)
    _, pullback = dt.vjp(lambda x: dnp.cumsum(x, 1), x)
    np.testing.assert_allclose(pullback(g)[0], np.cumsum(g[:, ::-1], 1)[:, ::-1], **EXACT)
    _, tangent = dt.jvp(lambda x: dnp.cumsum(x, 0), (x,), (g,))
    np.testing.assert_allclose(tangent, np.cumsum(g, 0), **EXACT)


def test_cumsum_in_eager_mode_matches_pytorch():
    torch = torch_or_skip()
    x = np.random.default_rng(0).normal(size=(3, 4))
    t, theirs = leaf(x), torch.tensor(x, requires_grad=True)
    out = dnp.cumsum(t, 0)
    assert out.grad_fn.name() == "CumsumBackward0"
    (out ** 2).sum().backward()
    (torch.cumsum(theirs, 0) ** 2).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), theirs.grad.numpy(), **EXACT)


# ---- spellings, equations, errors --------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_zero_dimensional_operands_scan_as_one_element(fn, axis):
    x = np.array(2.5)
    check_op(lambda x: getattr(np, fn)(x, axis=axis), lambda x: getattr(dnp, fn)(x, axis=axis), (x,))
    assert np.asarray(getattr(dnp, fn)(3, axis=axis)).dtype == getattr(np, fn)(3, axis=axis).dtype


def test_each_scan_records_one_equation():
    x = np.ones((2, 3), np.float32)
    program = dt.trace(lambda x: (dnp.cumsum(x, 1), dnp.cumprod(x, -2), dnp.argsort(x, 0)))(x)
    assert prim_names(program) == ["cumsum", "cumprod", "argsort"]
    assert [e.params["axis"] for e in program.eqns] == [1, 0, 0]
    assert prim_names(dt.trace(lambda x: dnp.cumsum(x))(x)) == ["reshape", "cumsum"]
    assert "kind='stable'" in dt.source(lambda x: dnp.argsort(x), x)


@pytest.mark.parametrize("fn", ["cumsum", "cumprod", "argsort"])
@pytest.mark.parametrize("axis", [2, -3])
def test_bad_axes_raise(fn, axis):
    x = np.ones((2, 3))
    with pytest.raises(ValueError):
        getattr(np, fn)(x, axis=axis)
    with pytest.raises(ValueError, match=fn):
        dt.jit(lambda x: getattr(dnp, fn)(x, axis=axis))(x)


def test_primitives_refuse_unnormalised_axes():
    """The rows take a normalised axis of an operand of at least one dimension (dnp's functions give it)."""
    with pytest.raises(ValueError, match="cumsum: axis 1 is out of bounds"):
        dt.jit(lambda x: REGISTRY["cumsum"](x, axis=1))(np.ones(3))
    with pytest.raises(ValueError, match="argsort"):
        dt.jit(lambda x: REGISTRY["argsort"](x, axis=0))(np.array(1.0))


# ---- argsort and searchsorted ------------------------------------------------------------------------
def test_argsort_is_stable_and_puts_nan_last():
    x = np.array([[2.0, np.nan, 1.0, 2.0, -np.inf, 1.0, np.nan, np.inf]])
    expected = np.argsort(x, axis=1, kind="stable")
    np.testing.assert_array_equal(dt.jit(dnp.argsort)(x), expected)
    np.testing.assert_array_equal(dt.jit(lambda x: np.argsort(x, kind="quicksort"))(x), expected)
    np.testing.assert_array_equal(dnp.argsort(np.array([True, False, True, False])), [1, 3, 0, 2])


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_vmap_of_argsort_and_searchsorted_matches_a_loop(data):
    """argsort's batch rule shifts its axis; searchsorted's counts comparisons (NaN last, both sides)."""
    size, n = data.draw(st.integers(1, 3), label="batch"), data.draw(st.integers(0, 4), label="n")
    domain = data.draw(st.sampled_from([Domain(-3.0, 3.0), Domain(-3.0, 3.0, nonfinite=True)]), label="domain")
    a = np.sort(data.draw(arrays(np.float64, (size, n), domain), label="a"), axis=1)
    v = data.draw(arrays(np.float64, (size, 2, 3), domain), label="v")
    side = data.draw(st.sampled_from(["left", "right"]), label="side")
    axis = data.draw(st.sampled_from([0, 1, -1, None]), label="axis")
    np.testing.assert_array_equal(dt.vmap(lambda v: dnp.argsort(v, axis))(v),
                                  np.stack([np.argsort(e, axis, kind="stable") for e in v]))
    loop = lambda a_of, v_of: np.stack([np.searchsorted(a_of(i), v_of(i), side) for i in range(size)])
    search = lambda a, v: dnp.searchsorted(a, v, side)
    np.testing.assert_array_equal(dt.vmap(search)(a, v), loop(lambda i: a[i], lambda i: v[i]))
    np.testing.assert_array_equal(dt.vmap(search, in_axes=(0, None))(a, v[0]), loop(lambda i: a[i], lambda i: v[0]))
    np.testing.assert_array_equal(dt.vmap(search, in_axes=(None, 0))(a[0], v), loop(lambda i: a[0], lambda i: v[i]))
    scalar = dt.vmap(search, in_axes=(0, None))(a, 1.0)
    np.testing.assert_array_equal(scalar, loop(lambda i: a[i], lambda i: 1.0))


def test_searchsorted_needs_a_one_dimensional_sorted_array():
    with pytest.raises(ValueError, match="searchsorted: the sorted array must be 1-D"):
        dt.jit(lambda a: dnp.searchsorted(a, 0.5))(np.ones((2, 2)))
    with pytest.raises(ValueError, match="side"):
        dt.jit(lambda a: dnp.searchsorted(a, 0.5, side="middle"))(np.ones(3))


def test_integer_results_have_no_derivative():
    x = np.array([3.0, 1.0, 2.0])
    grad = dt.grad(lambda x: dnp.sum(dnp.argsort(x) * x + dnp.searchsorted(np.array([1.5]), x)))(x)
    np.testing.assert_array_equal(grad, np.argsort(x))
