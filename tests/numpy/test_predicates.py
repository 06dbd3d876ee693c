"""dnp's predicates and queries against NumPy's: isclose (NaN, infinities, tolerances, dtypes), isnan / isinf /
isposinf / isneginf, all / any (axes, empty arrays), allclose / array_equal / array_equiv (a Python bool; refused
on traced data with the traced alternative, answered on shapes alone where they decide), the static queries on
traced values (shape, ndim, size, result_type, can_cast, iscomplexobj, isscalar), real / imag / conj of real
arrays, copy and empty_like; each eagerly, under dt.jit and through NumPy's own name on traced values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.errors import ConcretizationError
from opcheck import assert_like_numpy, quiet
from strategies import ANY, NONFINITE, arrays, axes, broadcastable_shapes, shapes


# ---- isclose -------------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_isclose_matches_numpy(data):
    a_shape, b_shape = data.draw(broadcastable_shapes(2), label="shapes")
    a_dtype, b_dtype = (np.dtype(data.draw(st.sampled_from([np.float32, np.float64, np.int32]))) for _ in "ab")
    a = data.draw(arrays(a_dtype, a_shape, NONFINITE), label="a")
    b = data.draw(arrays(b_dtype, b_shape, NONFINITE), label="b")
    if data.draw(st.booleans(), label="b near a") and a_dtype == b_dtype and a_shape == b_shape:
        b = a * a.dtype.type(1 + 2e-6) if a_dtype.kind == "f" else a
    kwargs = dict(rtol=data.draw(st.sampled_from([1e-5, 1e-3, 0.0])), atol=data.draw(st.sampled_from([1e-8, 0.5])),
                  equal_nan=data.draw(st.booleans()))
    with quiet():
        expected = np.isclose(a, b, **kwargs)
    assert_like_numpy(dnp.isclose(a, b, **kwargs), expected, "dnp.isclose")
    assert_like_numpy(dt.jit(lambda a, b: dnp.isclose(a, b, **kwargs))(a, b), expected, "under jit")
    assert_like_numpy(dt.jit(lambda a, b: np.isclose(a, b, **kwargs))(a, b), expected, "np.isclose on tracers")


def test_isclose_of_python_numbers_and_infinities():
    for a, b in [(1.0, 1.0 + 1e-9), (1, 2), (np.inf, np.inf), (-np.inf, np.inf), (np.nan, np.nan), (0.0, 1e-9)]:
        assert dnp.isclose(a, b) == np.isclose(a, b)
        assert dnp.isclose(a, b, equal_nan=True) == np.isclose(a, b, equal_nan=True)
    assert type(dnp.isclose(1.0, 2.0)) is type(np.isclose(1.0, 2.0))
    x = np.array([1.0, np.inf, np.nan], np.float32)
    with np.errstate(all="raise"):  # (no inf - inf is computed: NumPy's own isclose warns of none either)
        assert_like_numpy(dt.jit(dnp.isclose)(x, x), np.isclose(x, x), "isclose of infinities")


def test_isclose_in_a_differentiated_function():
    f = lambda x: dnp.sum(dnp.where(dnp.isclose(x, 1.0), 0.0, x ** 2))
    np.testing.assert_allclose(dt.grad(f)(np.array([1.0, 2.0])), [0.0, 4.0])


# ---- isnan / isinf / isposinf / isneginf -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["isnan", "isinf", "isposinf", "isneginf"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_nonfinite_tests_match_numpy(name, data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int64, np.bool_]), label="dtype")
    x = data.draw(arrays(np.dtype(dtype), shapes(), NONFINITE), label="x")
    ours, theirs = getattr(dnp, name), getattr(np, name)
    assert_like_numpy(ours(x), theirs(x), f"dnp.{name}")
    assert_like_numpy(dt.jit(ours)(x), theirs(x), f"dnp.{name} under jit")
    assert_like_numpy(dt.jit(theirs)(x), theirs(x), f"np.{name} on tracers")
    assert_like_numpy(dt.vmap(ours)(np.stack([x, x])), np.stack([theirs(x)] * 2), f"vmap of {name}")


def test_nan_masks_keep_gradients_finite():
    def f(x):
        bad = dnp.isnan(x) | dnp.isinf(x)
        safe = dnp.where(bad, 0.0, x)  # (where's other branch still gets a gradient: keep it finite)
        return dnp.sum(dnp.where(bad, 0.0, safe * safe))

    np.testing.assert_allclose(dt.grad(f)(np.array([1.0, np.nan, np.inf, 3.0])), [2.0, 0.0, 0.0, 6.0])


def test_isposinf_refuses_complex_values_as_numpy():
    with pytest.raises(TypeError, match="isposinf: .*complex"):
        dt.jit(dnp.isposinf)(np.array([1j]))


# ---- all / any -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["all", "any"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_truth_reductions_match_numpy(name, data):
    shape = data.draw(shapes(), label="shape")
    dtype = data.draw(st.sampled_from([np.float64, np.int32, np.bool_]), label="dtype")
    x = data.draw(arrays(np.dtype(dtype), shape, NONFINITE if dtype == np.float64 else ANY), label="x")
    x = np.where(x > 1, 0, x).astype(dtype)  # (zeros, so both answers occur)
    kwargs = dict(axis=data.draw(axes(len(shape)), label="axis"), keepdims=data.draw(st.booleans()))
    ours, theirs = getattr(dnp, name), getattr(np, name)
    expected = theirs(x, **kwargs)
    assert_like_numpy(ours(x, **kwargs), expected, f"dnp.{name}")
    assert_like_numpy(dt.jit(lambda x: ours(x, **kwargs))(x), expected, f"dnp.{name} under jit")
    assert_like_numpy(dt.jit(lambda x: theirs(x, **kwargs))(x), expected, f"np.{name} on tracers")


def test_truth_reductions_of_nothing_and_of_lists():
    assert dnp.all(np.zeros((0, 2)), axis=0).tolist() == [True, True]
    assert dnp.any(np.zeros((0, 2)), axis=0).tolist() == [False, False]
    assert dt.jit(lambda x, y: dnp.any([x > 1, y > 1]))(0.5, 2.0) == np.True_


# ---- one Python bool ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, args", [
    ("allclose", (np.array([1.0, np.nan]), np.array([1.0 + 1e-9, np.nan]))),
    ("array_equal", (np.array([1.0, 2.0]), np.array([1.0, 2.0]))),
    ("array_equal", (np.array([1.0, 2.0]), np.array([1.0, 3.0]))),
    ("array_equiv", (np.array([1.0, 1.0]), np.array([1.0]))),
    ("array_equiv", (np.ones((2, 3)), np.ones(2))),
])
def test_python_bools_match_numpy(name, args):
    ours, theirs = getattr(dnp, name), getattr(np, name)
    assert ours(*args) is theirs(*args)
    if name != "array_equiv":
        assert ours(*args, equal_nan=True) is theirs(*args, equal_nan=True)
    tensors = [dt.tensor(a) for a in args]
    assert ours(*tensors) is theirs(*args)  # (an eager tensor's values are known)
    assert dt.jvp(lambda *xs: (ours(*xs), xs[0])[1], args, args)[0] is not None  # (a dual value's too)


@pytest.mark.parametrize("name, alternative", [
    ("allclose", "dnp.all(dnp.isclose(a, b))"), ("array_equal", "dnp.all(a1 == a2)"),
    ("array_equiv", "dnp.all(a1 == a2)"),
])
def test_python_bools_of_traced_data_are_refused(name, alternative):
    for fn in (getattr(dnp, name), getattr(np, name)):
        with pytest.raises(ConcretizationError) as info:
            dt.jit(fn)(np.ones(3), np.ones(3))
        message = str(info.value)
        assert f"dnp.{name} (np.{name})" in message and alternative in message and "test_predicates.py" in message


def test_shapes_answer_without_values():
    x = np.ones(3)
    assert dt.jit(lambda a, b: dnp.array_equal(a, b), static_argnums=())(x, np.ones(2)) is False
    assert dt.jit(lambda a, b: np.array_equiv(a, b))(x, np.ones(2)) is False


# ---- static queries ------------------------------------------------------------------------------------------------
def test_static_queries_on_traced_values():
    x = np.ones((2, 3), np.float32)
    seen = {}

    def f(v):
        seen.update(shape=dnp.shape(v), ndim=dnp.ndim(v), size=dnp.size(v), size1=dnp.size(v, 1),
                    sizes=dnp.size(v, (0, -1)), np_shape=np.shape(v), np_result=np.result_type(v, 1.0),
                    result=dnp.result_type(v, np.int64), weak=dnp.result_type(2.0 * v.sum(), np.float16),
                    cast=dnp.can_cast(v, np.float64), no_cast=np.can_cast(v, np.int8), complex=dnp.iscomplexobj(v),
                    real=np.isrealobj(v), scalar=dnp.isscalar(v), scalar0=dnp.isscalar(v.sum()),
                    listed=dnp.shape([v, v]), list_dtype=dnp.result_type([v.sum(), 1.0]))
        return v

    dt.jit(f)(x)
    assert seen == dict(shape=(2, 3), ndim=2, size=6, size1=3, sizes=6, np_shape=(2, 3), np_result=np.float32,
                        result=np.float64, weak=np.float32, cast=True, no_cast=False, complex=False, real=True,
                        scalar=False, scalar0=True, listed=(2, 2, 3), list_dtype=np.float64)
    assert dnp.result_type(x, 1.0) == np.result_type(x, 1.0) and dnp.size(x, (0, 1)) == 6
    assert dnp.isscalar(1.5) and not dnp.isscalar(x) and dnp.shape([[1, 2]]) == (1, 2)
    assert dt.jit(lambda v: dnp.iscomplexobj(v))(np.array([1j])) is True


# ---- real / imag / conj, copy, empty_like ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["real", "imag", "conj", "conjugate", "isreal"])
def test_parts_of_real_arrays(name):
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    ours, theirs = getattr(dnp, name), getattr(np, name)
    assert_like_numpy(ours(x), theirs(x), f"dnp.{name}")
    assert_like_numpy(dt.jit(ours)(x), theirs(x), f"dnp.{name} under jit")
    assert_like_numpy(dt.jit(theirs)(x), theirs(x), f"np.{name} on tracers")
    z = np.array([1 + 2j])
    assert_like_numpy(ours(z), theirs(z), f"dnp.{name} of complex NumPy data")
    assert_like_numpy(dt.jit(ours)(z), theirs(z), f"dnp.{name} of traced complex values")


def test_derivatives_of_parts():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(dt.grad(lambda v: dnp.sum(dnp.real(v) * dnp.conj(v) + dnp.imag(v)))(x), 2 * x)


def test_copy():
    x = np.arange(3.0)
    assert dnp.copy(x) is not x and dnp.copy(x).tolist() == [0.0, 1.0, 2.0]
    program = dt.trace(lambda v: np.copy(v) * 2)(x)
    assert [e.prim.name for e in program.eqns] == ["mul"]  # (a traced value is its own copy)
    t = dt.tensor([1.0, 2.0], requires_grad=True)
    c = dnp.copy(t)
    assert c is not t
    (c * c).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [2.0, 4.0])
    plain = dt.tensor([1.0, 2.0])
    copied = dnp.copy(plain)
    copied[0] = 5.0
    assert plain.tolist() == [1.0, 2.0]
    assert dt.jit(lambda a, b: dnp.copy([a, b]))(1.0, 2.0).tolist() == [1.0, 2.0]


def test_empty_like():
    x = np.ones((2, 3), np.float32)
    for kwargs in ({}, {"dtype": np.int64}, {"shape": (4,)}, {"shape": 5, "dtype": np.bool_}):
        expected = np.empty_like(x, **kwargs)
        assert dnp.empty_like(x, **kwargs).shape == expected.shape
        for fn in (dnp.empty_like, np.empty_like):
            out = dt.jit(lambda v, fn=fn, kwargs=kwargs: fn(v, **kwargs))(x)
            assert (out.shape, out.dtype) == (expected.shape, expected.dtype)
