"""The dnp namespace's compositions against NumPy: mean / var / std (ints give float64), logsumexp, softmax,
log_softmax (stable for huge inputs, and compositions rather than primitives), clip, dot (NumPy's N-D rule),
outer, inner, vdot, norm (every implemented ord), stack and friends; eager and under dt.jit."""

import warnings

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from opcheck import check_op, prim_names
from strategies import ALL, ANY, FLOATS, NUMERIC, SMALL, arrays, axes, broadcastable_shapes, dtypes, operands, shapes


# ---- mean / var / std --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mean", "var", "std"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_statistics_match_numpy(name, data):
    shape = data.draw(shapes(min_side=1), label="shape")
    axis = data.draw(axes(len(shape)), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    x = data.draw(arrays(data.draw(dtypes(ALL)), shape, ANY), label="x")
    kwargs = dict(axis=axis, keepdims=keepdims)
    if name != "mean":  # (up to 3: as many degrees of freedom as elements or more, NaN as NumPy's)
        kwargs["ddof"] = data.draw(st.integers(0, 3), label="ddof")
    np_fn, dt_fn = getattr(np, name), getattr(dnp, name)
    loose = x.dtype == np.float32  # var's two passes round differently from NumPy's in float32
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's "Degrees of freedom <= 0")
        check_op(lambda x: np_fn(x, **kwargs), lambda x: dt_fn(x, **kwargs), (x,),
                 rtol=1e-4 if loose else None, atol=1e-5 if loose else None)


@pytest.mark.parametrize("name", ["mean", "var", "std"])
@pytest.mark.parametrize("dtype, expected", [(np.int32, np.float64), (np.int64, np.float64), (np.bool_, np.float64),
                                             (np.float32, np.float32), (np.float64, np.float64)])
def test_statistics_dtypes(name, dtype, expected):
    """As NumPy: integers and booleans give float64, float32 stays float32."""
    x = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    fn = getattr(dnp, name)
    program = check_op(getattr(np, name), fn, (x,))
    assert program.out_avals[0].dtype == expected
    assert dt.jit(lambda x: fn(x, axis=0)).program(x).out_avals[0].dtype == expected


def test_statistics_of_empty_axes_are_nan_like_numpy():
    x = np.ones((0, 3), np.float32)
    check_op(lambda x: np.mean(x, axis=0), lambda x: dnp.mean(x, axis=0), (x,))
    check_op(lambda x: np.var(x, axis=0), lambda x: dnp.var(x, axis=0), (x,))



def test_var_without_degrees_of_freedom_is_nan_as_numpy_and_pytorch():
    """ddof at least the count (one sample with ddof=1, none at all): NaN, not -0.0 from a negative divisor."""
    with np.errstate(all="ignore"):
        assert np.isnan(dnp.var(np.ones(1), ddof=2)) and np.isnan(dnp.std(np.ones((2, 1)), axis=1, ddof=1)).all()
        assert np.isnan(dt.tensor(np.zeros(0, np.float32)).var().item())

# ---- logsumexp / softmax / log_softmax -----------------------------------------------------------------
def _naive_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _naive_softmax(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_logsumexp_softmax_match_the_textbook_formulas(data):
    """For moderate inputs the naive formulas are exact enough to serve as the reference."""
    shape = data.draw(shapes(min_dims=1, min_side=1), label="shape")
    x = data.draw(arrays(data.draw(dtypes(FLOATS)), shape, ANY), label="x")
    axis = data.draw(axes(len(shape)), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    check_op(lambda x: _naive_logsumexp(x, axis, keepdims), lambda x: dnp.logsumexp(x, axis, keepdims), (x,))
    one_axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="softmax axis")
    check_op(lambda x: _naive_softmax(x, one_axis), lambda x: dnp.softmax(x, one_axis), (x,))
    check_op(lambda x: np.log(_naive_softmax(x, one_axis)), lambda x: dnp.log_softmax(x, one_axis), (x,),
             atol=1e-5 if x.dtype == np.float32 else None)


@pytest.mark.parametrize("dtype", FLOATS)
def test_logsumexp_and_softmax_are_stable_for_huge_inputs(dtype):
    x = np.array([[1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4, -1e4]], dtype)
    offsets = np.array([0.0, -1.0, -2.0])
    with np.errstate(all="raise"):
        lse = dt.jit(lambda x: dnp.logsumexp(x, axis=1))(x)
        sm = dt.jit(lambda x: dnp.softmax(x, axis=1))(x)
        lsm = dt.jit(lambda x: dnp.log_softmax(x, axis=1))(x)
    assert lse.dtype == sm.dtype == lsm.dtype == dtype
    assert np.all(np.isfinite(lse)) and np.all(np.isfinite(sm)) and np.all(np.isfinite(lsm))
    np.testing.assert_allclose(lse, [1e4 + np.log(np.exp(offsets).sum()), -1e4 + np.log(3.0)], rtol=1e-6)
    np.testing.assert_allclose(sm, [np.exp(offsets) / np.exp(offsets).sum(), np.full(3, 1 / 3)], rtol=1e-5)
    np.testing.assert_allclose(lsm[0], offsets - np.log(np.exp(offsets).sum()), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dnp.logsumexp(x), 1e4 + np.log(np.exp(offsets).sum()), rtol=1e-6)


def test_logsumexp_with_infinities():
    x = np.array([[-np.inf, 0.0], [-np.inf, -np.inf], [np.inf, 1.0]])
    with np.errstate(divide="ignore"):  # log(0) for the all -inf row
        out = dt.jit(lambda x: dnp.logsumexp(x, axis=1))(x)
    np.testing.assert_array_equal(out, [0.0, -np.inf, np.inf])


def test_logsumexp_and_softmax_are_compositions():
    assert "logsumexp" not in REGISTRY  # (softmax and log_softmax are rows, for eager; dnp's are compositions)
    x = np.ones((2, 3), np.float32)
    for fn in (dnp.logsumexp, dnp.softmax, dnp.log_softmax):
        names = set(prim_names(dt.trace(fn)(x)))
        assert {"reduce_max", "exp", "reduce_sum"} <= names, names


# ---- clip, relu and other elementwise compositions ------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_clip_matches_numpy(data):
    x_shape, lo_shape, hi_shape = data.draw(broadcastable_shapes(3), label="shapes")
    x, lo, hi = data.draw(operands((x_shape, lo_shape, hi_shape), NUMERIC, (ANY,)), label="x, lo, hi")
    x = np.asarray(x)  # np.clip makes x an array first (a Python-scalar x is not weakly typed there)
    which = data.draw(st.sampled_from(["both", "lo", "hi"]), label="bounds")
    lo, hi = (lo if which != "hi" else None), (hi if which != "lo" else None)
    check_op(lambda x: np.clip(x, lo, hi), lambda x: dnp.clip(x, lo, hi), (x,))


def test_clip_keeps_float32_and_clamp_spelling():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    check_op(lambda x: np.clip(x, -1.0, 2), lambda x: dnp.clip(x, -1.0, 2), (x,))
    check_op(lambda x: np.clip(x, -1.0, 2.0), lambda x: x.clamp(-1.0, 2.0), (x,), eager=False)
    check_op(lambda x: np.clip(x, None, 0.5), lambda x: x.clamp(max=0.5), (x,), eager=False)
    check_op(lambda x: np.clip(x, -1, 1), lambda x: x.clip(-1, 1), (x,), eager=False)


@pytest.mark.parametrize(
    "np_fn, dt_fn",
    [
        (np.square, dnp.square),
        (np.reciprocal, dnp.reciprocal),
        (lambda x: np.maximum(x, 0), dnp.relu),
        (lambda x: np.count_nonzero(x, axis=0), lambda x: dnp.count_nonzero(x, axis=0)),
        (lambda x: np.zeros_like(x), dnp.zeros_like),
        (lambda x: np.ones_like(x, dtype=np.int32), lambda x: dnp.ones_like(x, dtype=np.int32)),
        (lambda x: x.astype(np.int64), lambda x: dnp.astype(x, np.int64)),
        (lambda x: np.asarray(x, np.float64), lambda x: dnp.asarray(x, np.float64)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_compositions(np_fn, dt_fn, dtype):
    x = np.array([[0.5, -2.0, 0.0], [3.0, 1.0, -0.25]], dtype)
    check_op(np_fn, dt_fn, (x,))


# ---- dot, outer, inner, vdot ---------------------------------------------------------------------------
@st.composite
def _dot_operands(draw):
    """NumPy's dot rule: scalars multiply; otherwise x's last axis meets y's second-to-last (or only) axis."""
    nx, ny = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    k = draw(st.integers(0, 3))
    x_shape = tuple(draw(st.integers(1, 3)) for _ in range(max(nx - 1, 0))) + ((k,) if nx else ())
    y_shape = tuple(draw(st.integers(1, 3)) for _ in range(max(ny - 2, 0))) + ((k,) if ny else ())
    if ny >= 2:
        y_shape += (draw(st.integers(0, 3)),)
    note(f"dot of {x_shape} and {y_shape}")
    return (draw(arrays(draw(dtypes(NUMERIC)), x_shape, SMALL)), draw(arrays(draw(dtypes(NUMERIC)), y_shape, SMALL)))


@settings(max_examples=30, deadline=None)
@given(args=_dot_operands())
def test_dot_matches_numpy(args):
    check_op(np.dot, dnp.dot, args)
    check_op(np.dot, lambda x, y: x.dot(y) if np.ndim(x) else dnp.dot(x, y), args, eager=False)


@pytest.mark.parametrize("x_shape, y_shape", [((3,), (4,)), ((2, 3), (4,)), ((2, 2), (3, 1, 2))])
def test_outer_inner_vdot(x_shape, y_shape):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=x_shape).astype(np.float32), rng.normal(size=y_shape).astype(np.float32)
    check_op(np.outer, dnp.outer, (x, y))
    if x_shape[-1] == y_shape[-1]:
        check_op(np.inner, dnp.inner, (x, y))
    if x.size == y.size:
        check_op(np.vdot, dnp.vdot, (x, y))
    check_op(np.vdot, dnp.vdot, (x, x))
    check_op(np.linalg.vecdot, dnp.linalg.vecdot, (x, x))


# ---- norm --------------------------------------------------------------------------------------------
VECTOR_ORDS = [None, 1, 2, np.inf, -np.inf, 0, 3, 0.5]
MATRIX_ORDS = [None, "fro", 1, -1, np.inf, -np.inf]


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_vector_norms_match_numpy(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1), label="shape")
    x = data.draw(arrays(data.draw(dtypes(NUMERIC)), shape, SMALL), label="x")
    ord = data.draw(st.sampled_from(VECTOR_ORDS), label="ord")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis") if len(shape) > 1 else None
    keepdims = data.draw(st.booleans(), label="keepdims")
    check_op(lambda x: np.linalg.norm(x, ord, axis, keepdims), lambda x: dnp.norm(x, ord, axis, keepdims), (x,),
             rtol=1e-4 if x.dtype == np.float32 else 1e-9)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_matrix_norms_match_numpy(data):
    shape = data.draw(shapes(min_dims=2, max_dims=3, min_side=1), label="shape")
    x = data.draw(arrays(data.draw(dtypes(NUMERIC)), shape, SMALL), label="x")
    ord = data.draw(st.sampled_from(MATRIX_ORDS), label="ord")
    pair = data.draw(st.permutations(range(len(shape))), label="axes")[:2]
    axis = tuple(a - len(shape) if data.draw(st.booleans()) else a for a in pair)
    if len(shape) == 2 and data.draw(st.booleans()):
        axis = None
    keepdims = data.draw(st.booleans(), label="keepdims")
    check_op(lambda x: np.linalg.norm(x, ord, axis, keepdims), lambda x: dnp.norm(x, ord, axis, keepdims), (x,),
             rtol=1e-4 if x.dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_spectral_matrix_norms_match_numpy(ord):
    x = np.array([[2.0, -1.0, 0.5], [0.3, 1.5, -2.0]])
    check_op(lambda x: np.linalg.norm(x, ord), lambda x: dnp.norm(x, ord), (x,))


def test_norm_of_a_bad_rank_is_explicit():
    with pytest.raises(ValueError, match="norm"):
        dt.jit(lambda x: dnp.norm(x, 1))(np.ones((2, 2, 2)))


@pytest.mark.parametrize("ord", [1, 2, np.inf, 0])
def test_vector_norm_over_all_axes(ord):
    x = np.arange(-6.0, 6.0).reshape(3, 4)
    check_op(lambda x: np.linalg.vector_norm(x, ord=ord), lambda x: dnp.linalg.vector_norm(x, ord=ord), (x,))
    check_op(lambda x: np.linalg.vector_norm(x, axis=(0, 1), keepdims=True, ord=ord),
             lambda x: dnp.linalg.vector_norm(x, axis=(0, 1), keepdims=True, ord=ord), (x,))


# ---- stack and other shape compositions ----------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_stack_matches_numpy(data):
    shape = data.draw(shapes(), label="shape")
    count = data.draw(st.integers(1, 3), label="count")
    xs = tuple(data.draw(arrays(data.draw(dtypes(ALL)), shape), label=f"x{i}") for i in range(count))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    program = check_op(lambda *xs: np.stack(xs, axis), lambda *xs: dnp.stack(xs, axis), xs)
    assert "concatenate" in prim_names(program) or count == 1


def test_stack_of_different_shapes_raises():
    with pytest.raises(ValueError, match=r"stack.*\(2,\).*\(3,\)"):
        dt.jit(lambda x, y: dnp.stack([x, y]))(np.ones(2), np.ones(3))


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_moveaxis_swapaxes_ravel(data):
    shape = data.draw(shapes(min_dims=1), label="shape")
    x = data.draw(arrays(data.draw(dtypes(ALL)), shape), label="x")
    a, b = (data.draw(st.integers(-len(shape), len(shape) - 1), label=n) for n in "ab")
    check_op(lambda x: np.moveaxis(x, a, b), lambda x: dnp.moveaxis(x, a, b), (x,))
    check_op(lambda x: np.swapaxes(x, a, b), lambda x: dnp.swapaxes(x, a, b), (x,))
    check_op(np.ravel, dnp.ravel, (x,))


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_take_along_axis(data):
    """NumPy's take_along_axis (as dnp.take_along_axis and through np.take_along_axis on traced values), at the
    argmax: each value's gradient goes to the one element it was read from."""
    shape = data.draw(shapes(min_dims=1, min_side=1), label="shape")
    x = data.draw(arrays(data.draw(dtypes(FLOATS)), shape, SMALL), label="x")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    check_op(lambda x: np.take_along_axis(x, np.argmax(x, axis, keepdims=True), axis),
             lambda x: dnp.take_along_axis(x, dnp.argmax(x, axis, keepdims=True), axis), (x,))
    check_op(lambda x: np.take_along_axis(x, np.argmin(x, axis, keepdims=True), axis),
             lambda x: np.take_along_axis(x, np.argmin(x, axis, keepdims=True), axis), (x,), eager=False)
    grad = dt.grad(lambda x: dnp.sum(dnp.take_along_axis(x, dnp.argmax(x, axis, keepdims=True), axis)))(x)
    assert grad.sum() == np.prod(shape) // shape[axis] and set(np.unique(grad)) <= {0.0, 1.0}


def test_numpy_integer_axes_become_python_ints_in_params():
    program = dt.trace(lambda x: x.transpose(np.int64(1), np.int64(0)).sum(axis=np.int32(0)))(np.ones((2, 3)))
    assert "perm=(1, 0)" in str(program) and "axes=(0,)" in str(program)


# ---- NumPy's and JAX's signatures: round(decimals), moveaxis(sequences), clip(min=, max=), reshape(shape=),
# max / min (initial=), functional index updates -------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 2, 3])
def test_round_with_decimals_matches_numpy(dtype, decimals):
    """NumPy's algorithm (scale, round half to even, scale back), so the values are NumPy's to the last bit;
    float32 stays float32; the derivative is zero."""
    x = (np.random.default_rng(decimals + 5).normal(size=(3, 4)) * 100).astype(dtype)
    x[0, :3] = [12.5, -0.125, 2.675]  # halfway cases
    check_op(lambda x: np.round(x, decimals), lambda x: dnp.round(x, decimals), (x,))
    check_op(lambda x: np.round(x, decimals=decimals), lambda x: dnp.round(x, decimals=decimals), (x,))
    np.testing.assert_array_equal(dt.grad(lambda x: dnp.sum(dnp.round(x, decimals) * x))(x), dnp.round(x, decimals))


@pytest.mark.parametrize("decimals", [-2, -1, 0, 1])
def test_round_of_integers_matches_numpy(decimals):
    x = np.array([15, 25, -35, 349, -351, 7])
    check_op(lambda x: np.round(x, decimals), lambda x: dnp.round(x, decimals), (x,))


@pytest.mark.parametrize("decimals", [-1, 0, 2])
def test_round_with_decimals_agrees_with_jax(jax, decimals):
    jnp = jax.numpy
    x = np.random.default_rng(1).normal(size=(4, 5)) * 10
    np.testing.assert_allclose(dt.jit(lambda x: dnp.round(x, decimals))(x), jnp.round(x, decimals), rtol=1e-15)
    np.testing.assert_array_equal(dt.grad(lambda x: dnp.sum(dnp.round(x, decimals)))(x),
                                  jax.grad(lambda x: jnp.sum(jnp.round(x, decimals)))(x))


@pytest.mark.parametrize("source, destination", [
    ((0, 1), (1, 0)), ((0, 1), (2, 0)), ([0, -1], [-1, 0]), ((2,), (0,)), ((), ()), ((0, 1, 2), (1, 2, 0)), (1, -1),
])
def test_moveaxis_with_sequences_of_axes(source, destination):
    x = np.arange(24.0).reshape(2, 3, 4)
    check_op(lambda x: np.moveaxis(x, source, destination), lambda x: dnp.moveaxis(x, source, destination), (x,))


def test_moveaxis_errors_like_numpy():
    x = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="same number of elements"):
        dnp.moveaxis(x, (0, 1), (1,))
    with pytest.raises(ValueError, match="repeated axis"):
        dnp.moveaxis(x, (0, 0), (1, 2))
    with pytest.raises(ValueError, match="out of bounds"):
        dnp.moveaxis(x, (0, 3), (1, 2))


def test_clip_takes_numpy_2s_min_and_max_keywords():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    check_op(lambda x: np.clip(x, min=-1.0, max=2.0), lambda x: dnp.clip(x, min=-1.0, max=2.0), (x,))
    check_op(lambda x: np.clip(x, max=0.5), lambda x: dnp.clip(x, max=0.5), (x,))
    check_op(lambda x: np.clip(x, min=0), lambda x: dnp.clip(x, min=0), (x,))
    with pytest.raises(ValueError, match="not both"):
        dnp.clip(x, -1.0, 1.0, min=0.0)


def test_reshape_takes_the_shape_keyword():
    x = np.arange(6.0)
    check_op(lambda x: np.reshape(x, shape=(3, 2)), lambda x: dnp.reshape(x, shape=(3, 2)), (x,))
    check_op(lambda x: np.reshape(x, shape=-1), lambda x: dnp.reshape(x, shape=-1), (x,))
    with pytest.raises(TypeError, match="twice"):
        dnp.reshape(x, (3, 2), shape=(3, 2))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 1), False)])
@pytest.mark.parametrize("initial", [0.5, -1, np.float64(2.5)])
def test_max_min_with_initial_match_numpy(name, dtype, axis, keepdims, initial):
    """initial is one more value in the reduction (cast to the array's dtype, as NumPy)."""
    x = (np.arange(12).reshape(3, 4) % 5 - 2).astype(dtype)
    np_fn, dt_fn = getattr(np, name), getattr(dnp, name)
    check_op(lambda x: np_fn(x, axis=axis, keepdims=keepdims, initial=initial),
             lambda x: dt_fn(x, axis=axis, keepdims=keepdims, initial=initial), (x,))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_of_an_empty_axis_give_initial(name):
    x = np.ones((0, 3), np.float32)
    np_fn, dt_fn = getattr(np, name), getattr(dnp, name)
    check_op(lambda x: np_fn(x, axis=0, initial=4.0), lambda x: dt_fn(x, axis=0, initial=4.0), (x,))
    check_op(lambda x: np_fn(x, axis=0, keepdims=True, initial=4.0),
             lambda x: dt_fn(x, axis=0, keepdims=True, initial=4.0), (x,))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_initial_differentiate_as_jax(jax, name):
    jnp = jax.numpy
    dt_fn, jax_fn = getattr(dnp, name), getattr(jnp, name)
    x = np.random.default_rng(2).normal(size=(3, 4))
    loss = lambda fn, xp: lambda x: xp.sum(fn(x, axis=0, initial=0.3) ** 2)
    np.testing.assert_allclose(dt.grad(loss(dt_fn, dnp))(x), jax.grad(loss(jax_fn, jnp))(x), rtol=1e-12)
    np.testing.assert_allclose(dt.jit(lambda x: dt_fn(x, axis=1, initial=-0.2))(x), jax_fn(x, axis=1, initial=-0.2),
                               rtol=1e-15)


@pytest.mark.parametrize("index, value", [
    ((0, 1), 2.0), (np.s_[:, 1], np.float32(-1.5)), (np.s_[:, 1], np.array([1, 2, 3], np.float32)),
    ((np.array([0, 0, 2]),), np.arange(4, dtype=np.float32)), ((slice(None), np.array([3, 3])), 0.5),
])
@pytest.mark.parametrize("name", ["add", "set"])
def test_index_add_and_update_match_jax(jax, index, value, name):
    """dnp.index_update / dnp.index_add are JAX's x.at[index].set / .add: new arrays, repeated indices adding
    up, the value cast to x's dtype and broadcast over the indexed region."""
    x = np.arange(12.0).reshape(3, 4).astype(np.float32)
    expected = np.asarray(getattr(jax.numpy.asarray(x).at[index], name)(value))
    ours = dnp.index_add if name == "add" else dnp.index_update
    check_op(lambda x: expected, lambda x: ours(x, index, value), (x,))


def test_index_add_and_update_differentiate_as_jax(jax):
    loss = lambda update: lambda x, v: (update(x, v) ** 2).sum()
    args = (np.arange(4.0), np.array([1.5, -2.0]))
    idx = np.array([1, 1])
    for ours, theirs in ((lambda x, v: dnp.index_add(x, idx, v), lambda x, v: x.at[idx].add(v)),
                         (lambda x, v: dnp.index_update(x, 2, v[0]), lambda x, v: x.at[2].set(v[0]))):
        for got, want in zip(dt.grad(loss(ours), argnums=(0, 1))(*args),
                             jax.grad(loss(theirs), argnums=(0, 1))(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def gather_out_of_bounds(x):
    return x[:, np.array([0, 5])]  # axis 1 has size 3


def test_an_out_of_bounds_index_array_names_the_op_shapes_and_line_traced_and_eager():
    """A known index array outside its axis is an IndexError (as NumPy's) that also names the op, both shapes
    and the user's line — at trace time, not later from inside the compiled program."""
    x = np.ones((2, 3))
    runs = {"jit": lambda: dt.jit(gather_out_of_bounds)(x),
            "grad": lambda: dt.grad(lambda x: gather_out_of_bounds(x).sum())(x),
            "eager": lambda: gather_out_of_bounds(dt.tensor(x, requires_grad=True)),
            "numpy protocol": lambda: dt.jit(lambda x: np.sum(gather_out_of_bounds(x)))(x)}
    for name, run in runs.items():
        with pytest.raises(IndexError) as err:
            run()
        message = str(err.value)
        assert isinstance(err.value, dt.ShapeError), name
        assert message.startswith("getitem: index 5 is out of bounds for axis 1 with size 3"), (name, message)
        assert "index array of shape (2,) into an array of shape (2, 3)" in message, (name, message)
        assert "test_namespace.py" in message and "return x[:, np.array([0, 5])]" in message, (name, message)
    with pytest.raises(IndexError, match=r"index_update: index -4 is out of bounds for axis 0 with size 3"):
        dt.jit(lambda v: dnp.index_update(v, [1, -4], 0.0))(np.ones(3))
    t = dt.zeros(3)
    with pytest.raises(IndexError, match=r"index_update: index 3 is out of bounds .* shape \(3,\)"):
        t[dt.tensor([3])] = dt.tensor([1.0], requires_grad=True)  # (recorded: a gradient flows through it)
    np.testing.assert_array_equal(dt.jit(lambda v: v[np.array([-3, 2])])(np.arange(3.0)), [0.0, 2.0])  # in bounds
