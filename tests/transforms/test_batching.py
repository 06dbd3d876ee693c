"""vmap against NumPy run one example at a time and stacked: every primitive (batch rules, and the
per-example fallback where a rule declines), in_axes as an int, None, per argument and per pytree leaf,
out_axes, batched and unbatched operand mixes, nesting; and jacfwd, which pushes every basis tangent
through the program in one batched pass."""

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.transforms.batching import BatchTrace
from gradcheck import assert_close, check_jvp, numerical_jacobian
from layouts import EINSUM_SPECS
from primitive_cases import DIFFERENTIABLE, operand
from testkit import EXACT, bounded


def assert_matches(got, expected, what=""):
    assert getattr(got, "_dt_trace", None) is None, f"{what}: a tracer escaped"
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, NumPy gives {expected.shape}"
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, NumPy gives {expected.dtype}"
    np.testing.assert_allclose(got, expected, **EXACT, err_msg=what)  # (sums may run in other orders)


def stacked(ref, batched_args, axes, size, out_axis=0):
    """ref applied to each example (axis `axes[k]` of argument k; None: the whole argument) and stacked."""
    outs = []
    for i in range(size):
        example = [x if a is None else np.take(x, i, axis=a) for x, a in zip(batched_args, axes)]
        with np.errstate(all="ignore"):
            outs.append(np.asarray(ref(*example)))
    return np.stack(outs, axis=out_axis)


# ---- every primitive ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@bounded(12)
@given(data=st.data())
def test_vmap_of_each_primitive_matches_stacked_numpy(name, data):
    case = DIFFERENTIABLE[name]
    shape_list, params, dtypes = data.draw(case.layout, label="layout")
    dtypes = dtypes or [np.dtype(np.float64)] * len(shape_list)
    size = data.draw(st.integers(1, 3), label="batch size")
    axes = [data.draw(st.none() | st.integers(0, len(s)), label=f"in_axis {k}") for k, s in enumerate(shape_list)]
    if all(a is None for a in axes):
        axes[0] = 0
    args = []
    for k, (shape, a) in enumerate(zip(shape_list, axes)):
        draws = [data.draw(operand(case, k, shape, dtypes[k])) for _ in range(1 if a is None else size)]
        args.append(draws[0] if a is None else np.stack(draws, axis=a))
    in_axes = tuple(a if a is None or not data.draw(st.booleans()) else a - np.ndim(x) for a, x in zip(axes, args))
    if len(set(in_axes)) == 1 and data.draw(st.booleans()):
        in_axes = in_axes[0]  # one int (or None) for every argument
    ref = lambda *xs: case.ref(*xs, **params)
    out_ndim = np.ndim(stacked(ref, args, axes, size))
    out_axis = data.draw(st.integers(0, out_ndim - 1), label="out_axes")
    note(f"shapes={shape_list} params={params} in_axes={in_axes} out_axes={out_axis}")
    expected = stacked(ref, args, axes, size, out_axis)
    got = dt.vmap(case.call(params), in_axes=in_axes, out_axes=out_axis)(*args)
    assert_matches(got, expected, f"vmap of {name}")


# ---- operand mixes -----------------------------------------------------------------------------------
RNG = np.random.default_rng(0)
MATMUL_SHAPES = {"1-D": ((3,), (3,)), "2-D": ((2, 3), (3, 4)), "batched": ((5, 2, 3), (5, 3, 4))}
BATCHED = {"x": (0, None), "y": (None, 0), "both": (0, 0)}


@pytest.mark.parametrize("x_kind", sorted(MATMUL_SHAPES))
@pytest.mark.parametrize("y_kind", sorted(MATMUL_SHAPES))
@pytest.mark.parametrize("which", sorted(BATCHED))
def test_vmap_of_matmul_with_batched_and_unbatched_sides(x_kind, y_kind, which):
    x_shape, y_shape = MATMUL_SHAPES[x_kind][0], MATMUL_SHAPES[y_kind][1]
    if x_kind == "batched" and y_kind == "batched":
        y_shape = (1,) + y_shape[1:]  # broadcast batch axes
    axes = BATCHED[which]
    x = RNG.standard_normal(((4,) if axes[0] == 0 else ()) + x_shape)
    y = RNG.standard_normal(((4,) if axes[1] == 0 else ()) + y_shape)
    got = dt.vmap(lambda a, b: a @ b, in_axes=axes)(x, y)
    assert_matches(got, stacked(np.matmul, [x, y], axes, 4))
    got_t = dt.vmap(lambda a, b: dnp.matmul(a, b), in_axes=axes, out_axes=-1)(x, y)
    assert_matches(got_t, stacked(np.matmul, [x, y], axes, 4, out_axis=-1))


@pytest.mark.parametrize("spec", EINSUM_SPECS)
@pytest.mark.parametrize("which", sorted(BATCHED))
def test_vmap_of_einsum_with_batched_and_unbatched_operands(spec, which):
    terms = spec.split("->")[0].split(",")
    sizes = dict(zip("abcdefghijk", (2, 3, 4, 2, 3, 4, 2, 3, 4, 2, 3)))
    operands_ = [RNG.standard_normal(tuple(sizes[c] for c in t)) for t in terms]
    axes = BATCHED[which][: len(terms)] if len(terms) == 2 else (0,)
    axes = tuple(None if a is None else min(1, o.ndim) for o, a in zip(operands_, axes))
    args = [np.stack([o * (i + 1) + i for i in range(3)], axis=a) if a is not None else o
            for o, a in zip(operands_, axes)]
    got = dt.vmap(lambda *xs: dnp.einsum(spec, *xs), in_axes=axes)(*args)
    assert_matches(got, stacked(lambda *xs: np.einsum(spec, *xs), args, axes, 3))


def test_vmap_of_concatenate_and_binary_ops_with_mixed_operands():
    x, y, z = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((2, 1)), RNG.standard_normal((3, 2, 2))
    f = lambda a, b, c: dnp.concatenate([a, b, c], axis=-1)
    assert_matches(dt.vmap(f, in_axes=(0, None, 0))(x, y, z),
                   stacked(lambda *v: np.concatenate(v, axis=-1), [x, y, z], (0, None, 0), 3))
    g = lambda a, b: dnp.maximum(a, b) * b - a / (1 + b * b)
    ref = lambda a, b: np.maximum(a, b) * b - a / (1 + b * b)
    for axes in [(0, None), (None, 1), (2, 1)]:
        a = RNG.standard_normal((3, 2, 4) if axes[0] == 0 else (2, 4, 3) if axes[0] == 2 else (2, 4))
        b = RNG.standard_normal((4, 3) if axes[1] == 1 else (4,))
        assert_matches(dt.vmap(g, in_axes=axes)(a, b), stacked(ref, [a, b], axes, 3))


def _logsumexp_np(v, axis, keepdims):
    return np.log(np.sum(np.exp(v), axis=axis, keepdims=keepdims))


REDUCTIONS = {"sum": (dnp.sum, np.sum), "max": (dnp.max, np.max), "min": (dnp.min, np.min),
              "prod": (dnp.prod, np.prod), "mean": (dnp.mean, np.mean), "logsumexp": (dnp.logsumexp, _logsumexp_np)}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, True), (1, False), ((0, 1), True), (-1, False)])
def test_vmap_of_reductions(name, axis, keepdims):
    x = RNG.standard_normal((3, 4, 2, 5))
    dt_fn, np_fn = REDUCTIONS[name]
    for in_axis in (0, 2):
        got = dt.vmap(lambda v: dt_fn(v, axis=axis, keepdims=keepdims), in_axes=in_axis)(x)
        expected = stacked(lambda v: np_fn(v, axis=axis, keepdims=keepdims), [x], (in_axis,), x.shape[in_axis])
        assert_matches(got, expected, name)


# ---- indexing, and the per-example fallback ----------------------------------------------------------
@pytest.fixture
def fallbacks(monkeypatch):
    """The primitives that vmap ran one example at a time."""
    seen = []
    original = BatchTrace.map_examples

    def spy(self, prim, values, batched, params):
        seen.append(prim.name)
        return original(self, prim, values, batched, params)

    monkeypatch.setattr(BatchTrace, "map_examples", spy)
    return seen


X4 = np.arange(3 * 4 * 5 * 2, dtype=np.float64).reshape(3, 4, 5, 2) * 0.5 - 7


@pytest.mark.parametrize("index", [
    (slice(None, None, -1), 2), (Ellipsis, 1), (None, 0, slice(1, 4, 2)), (np.array([2, 0, 2]),),
    (slice(None), np.array([[0, 1], [4, 4]]), 1), (np.array([0, -1]), np.array([1, 0])),
], ids=["slice-int", "ellipsis", "newaxis", "array", "slice-array-int", "two-arrays"])
def test_vmap_of_indexing_with_an_unbatched_index_uses_the_batch_rule(index, fallbacks):
    got = dt.vmap(lambda v: v[index])(X4)
    assert_matches(got, stacked(lambda v: v[index], [X4], (0,), 3))
    assert fallbacks == []


def test_vmap_of_separated_advanced_indices_falls_back_per_example(fallbacks):
    index = (np.array([0, 2]), slice(None), np.array([1, 0]))  # NumPy puts the broadcast axis first
    got = dt.vmap(lambda v: v[index])(X4)
    assert_matches(got, stacked(lambda v: v[index], [X4], (0,), 3))
    assert fallbacks == ["getitem"]


@pytest.mark.parametrize("in_axes", [(None, 0), (0, 0), (1, 1)])
def test_vmap_over_index_arrays_falls_back_per_example(in_axes, fallbacks):
    x = {None: X4[0, :, 0, 0], 0: X4[:, :, 0, 0], 1: X4[:, :, 0, 0].T}[in_axes[0]]  # examples of shape (4,)
    idx = np.array([[0, 3, 3], [1, 1, 0], [2, 0, -1]])
    f = lambda v, i: dnp.getitem(v, i) * 2.0
    got = dt.vmap(f, in_axes=in_axes)(x, idx)
    assert_matches(got, stacked(lambda v, i: v[i] * 2.0, [x, idx], in_axes, 3))
    assert fallbacks == ["getitem"]
    # and the fallback is differentiable: jacfwd through it (a nested vmap) against finite differences
    g = lambda v: dt.vmap(f, in_axes=in_axes)(v, idx)
    assert_close(dt.jacfwd(g)(x), numerical_jacobian(g, (x,)))


# ---- in_axes / out_axes forms, pytrees, errors -------------------------------------------------------
def test_in_axes_as_pytrees_with_unmapped_leaves():
    a, b, c = RNG.standard_normal((3, 2)), RNG.standard_normal(2), RNG.standard_normal((2, 3))

    def f(d, scale):
        return d["a"] * d["b"] + scale[0] * scale[1]

    got = dt.vmap(f, in_axes=({"a": 0, "b": None}, (None, 1)))({"a": a, "b": b}, (2.0, c))
    expected = np.stack([a[i] * b + 2.0 * c[:, i] for i in range(3)])
    assert_matches(got, expected)
    got = dt.vmap(f, in_axes=(0, None))({"a": a, "b": a}, (np.float64(2.0), b))
    assert_matches(got, np.stack([a[i] * a[i] + 2.0 * b for i in range(3)]))


def test_pytree_outputs_and_unbatched_outputs():
    x = RNG.standard_normal((4, 3))
    out = dt.vmap(lambda v: {"s": v.sum(), "pair": (v * 2, np.ones(2))}, out_axes=0)(x)
    assert_matches(out["s"], x.sum(axis=1))
    assert_matches(out["pair"][0], x * 2)
    assert_matches(out["pair"][1], np.ones((4, 2)))  # an output that ignores the batch is broadcast
    assert_matches(dt.vmap(lambda v: v * 2, out_axes=1)(x), (x * 2).T)
    assert_matches(dt.vmap(lambda v: v * 2, in_axes=1, out_axes=-1)(x), x * 2)


def test_out_axes_per_output_and_per_pytree_leaf():
    x = RNG.standard_normal((2, 3))
    pair = dt.vmap(lambda v: (v, dnp.sum(v)), out_axes=(1, 0))(x)
    assert_matches(pair[0], x.T)
    assert_matches(pair[1], x.sum(axis=1))
    out = dt.vmap(lambda v: {"a": v * 2, "b": (v, v.sum())}, out_axes={"a": -1, "b": (1, 0)})(x)
    assert_matches(out["a"], (x * 2).T)
    assert_matches(out["b"][0], x.T)
    assert_matches(out["b"][1], x.sum(axis=1))
    out = dt.vmap(lambda v, c: (v * 2, c * 3), in_axes=(0, None), out_axes=[0, None])(x, np.ones(4))
    assert_matches(out[0], x * 2)
    assert_matches(out[1], np.full(4, 3.0))  # an unmapped result with out_axes None is not broadcast
    jac = dt.jacfwd(lambda v: dt.vmap(lambda r: (r * r, r.sum()), out_axes=(1, 0))(v)[0])(x)
    assert jac.shape == (3, 2, 2, 3)


def test_out_axes_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"out_axes \(0, 1, 2\) does not match the structure of the results"):
        dt.vmap(lambda v: (v, v), out_axes=(0, 1, 2))(x)
    with pytest.raises(ValueError, match="out_axes is None for a result that depends on the mapped inputs"):
        dt.vmap(lambda v: v, out_axes=None)(x)
    with pytest.raises(ValueError, match=r"out_axes 2 is out of range for a result of shape \(3,\)"):
        dt.vmap(lambda v: v, out_axes=2)(x)


def test_vmap_errors():
    with pytest.raises(ValueError, match="one size"):
        dt.vmap(lambda a, b: a + b)(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="at least one"):
        dt.vmap(lambda a: a, in_axes=None)(np.ones(3))
    with pytest.raises(ValueError):
        dt.vmap(lambda a, b: a + b, in_axes=(0,))(np.ones(3), np.ones(3))


# ---- nesting and composition with jvp ----------------------------------------------------------------
def test_nested_vmap_matches_a_double_loop():
    x, w = RNG.standard_normal((3, 4, 5)), RNG.standard_normal((5, 2))
    f = lambda v, w: dnp.tanh(v @ w).sum() + v[0] * v[-1]
    got = dt.vmap(dt.vmap(f, in_axes=(0, None)), in_axes=(0, None))(x, w)
    expected = np.array([[np.tanh(x[i, j] @ w).sum() + x[i, j, 0] * x[i, j, -1] for j in range(4)]
                         for i in range(3)])
    assert_matches(got, expected)
    w = RNG.standard_normal((4, 2))
    inner_over_axis_1 = dt.vmap(dt.vmap(f, in_axes=(1, None)), in_axes=(0, None), out_axes=1)(x, w)
    expected_swapped = np.array([[np.tanh(x[i, :, j] @ w).sum() + x[i, 0, j] * x[i, -1, j] for j in range(5)]
                                 for i in range(3)]).T
    assert_matches(inner_over_axis_1, expected_swapped)


def test_jvp_of_vmap_and_vmap_of_jvp():
    x, t = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    f = lambda v: dnp.sin(v) * dnp.sum(v ** 2)
    check_jvp(dt.vmap(f), (x,))
    got = dt.vmap(lambda v, s: dt.jvp(f, (v,), (s,))[1])(x, t)
    expected = np.stack([np.cos(v) * s * np.sum(v ** 2) + np.sin(v) * np.sum(2 * v * s) for v, s in zip(x, t)])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ---- jacfwd: one batched pass ------------------------------------------------------------------------
def _layer(n_in, n_out):
    w = np.random.default_rng(n_in + n_out).standard_normal((n_out, n_in)) / np.sqrt(n_in)

    def f(x):
        return dnp.tanh(w @ x) * dnp.sum(x * x) + dnp.sin(x[:n_out % n_in + 1]).sum()

    return f


@pytest.mark.parametrize("n_in,n_out", [(8, 512), (512, 8)])
def test_jacfwd_of_wide_and_tall_functions(n_in, n_out):
    f = _layer(n_in, n_out)
    x = np.random.default_rng(1).standard_normal(n_in) * 0.5
    jac = dt.jacfwd(f)(x)
    assert jac.shape == (n_out, n_in)
    assert_close(jac, numerical_jacobian(f, (x,)), rtol=1e-6)


def test_jacfwd_is_one_pass_whatever_the_input_size(fallbacks):
    counts = {}
    for n_in in (8, 64, 512):
        program = dt.trace(dt.jacfwd(_layer(n_in, 8)))(np.ones(n_in))
        counts[n_in] = len(program.eqns)
    assert len(set(counts.values())) == 1, f"equations per input size (one pass would be constant): {counts}"
    assert fallbacks == [], "a primitive ran once per basis tangent"
