"""dt.Precision and dt.jit(f, precision=...): matrix products round to the compute dtype (operands and result,
float32 accumulation), sums and exp/log compute in float32, everything else follows its operands; inputs are
taken in the params dtype and outputs keep their dtypes. Checked against the same arithmetic written in NumPy,
against float32 and finite differences to the low dtype's precision, and through grad, vjp, jvp, vmap and
control flow. float16 needs nothing optional; bfloat16 runs where ml_dtypes is installed."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.bench.models import mlp_init, mlp_loss
from dualtape.core.primitive import REGISTRY
from gradcheck import numerical_jvp

F16, F32 = np.dtype(np.float16), np.dtype(np.float32)


def layer(w, x):
    return dnp.sum(dnp.tanh(x @ w))


def rounded(a, dtype):
    return np.asarray(a).astype(dtype).astype(np.float32)


def test_policies_by_name_and_their_errors():
    assert dt.Precision.of(None) is None
    p = dt.Precision.of("float16")
    assert (p.compute, p.params, p.reductions) == (F16, F32, F32) and p == dt.Precision(np.float16)
    assert dt.Precision.of(p) is p and hash(p) == hash(dt.Precision("half"))
    assert repr(p) == "Precision(compute='float16', params='float32', reductions='float32')"
    rows = {name: REGISTRY[name] for name in ("matmul", "reduce_sum", "exp", "tanh", "add")}
    assert p.dtype_for(rows["matmul"]) == F16 and p.dtype_for(rows["reduce_sum"]) == F32
    assert p.dtype_for(rows["exp"]) == F32 and p.dtype_for(rows["tanh"]) is None and p.dtype_for(rows["add"]) is None
    for bad in ("int32", "complex64", "bfloat17", 3):
        with pytest.raises(TypeError, match="real floating dtype"):
            dt.Precision(compute=bad)


def test_a_product_rounds_its_operands_and_result_and_the_sum_is_float32():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal((5, 8)).astype(np.float32)
    out = dt.jit(layer, precision="float16")(w, x)
    product = (rounded(x, F16) @ rounded(w, F16)).astype(F16)  # float32 accumulation, result rounded
    expected = np.sum(np.tanh(product).astype(np.float32))  # tanh follows its float16 operand; the sum is float32
    assert out.dtype == F32 and out == expected
    source = dt.jit(layer, precision="float16").source(w, x)
    assert source.count("dtype=xp.float16") == 3 and "xp.sum" in source


def test_reductions_of_low_values_do_not_overflow():
    ones, wide = np.ones((4096, 1), np.float32), np.ones((1, 16), np.float32)
    total = lambda a, b: dnp.sum(a @ b)
    assert np.isinf(np.sum((ones @ wide).astype(np.float16)))  # the float16 sum overflows past 65504
    assert dt.jit(total, precision="float16")(ones, wide) == 65536.0


def test_outputs_keep_their_dtypes_and_inputs_take_the_params_dtype():
    params, x, y = mlp_init(6, 5, 3, 4)
    loss, grads = dt.jit(dt.value_and_grad(mlp_loss), precision="float16")(params, x, y)
    assert loss.dtype == F32 and all(g.dtype == F32 for g in grads)
    wide = tuple(p.astype(np.float64) for p in params)
    loss64 = dt.jit(mlp_loss, precision="float16")(wide, x.astype(np.float64), y.astype(np.float64))
    assert loss64.dtype == np.float64 and abs(loss64 - mlp_loss(params, x, y)) < 1e-2
    program = dt.jit(mlp_loss, precision="float16").program(wide, x.astype(np.float64), y.astype(np.float64))
    assert str(program).count("convert_element_type") >= 4 and "f64" in str(program.out_avals)


@pytest.mark.parametrize("compute", ["float16", "bfloat16"])
def test_gradients_under_the_policy_match_float32_and_finite_differences(compute):
    if compute == "bfloat16":
        pytest.importorskip("ml_dtypes")
    params, x, y = mlp_init(6, 5, 3, 4, seed=1)
    tolerance = 2e-2 if compute == "float16" else 6e-2
    reference = dt.grad(mlp_loss)(params, x, y)
    outer = dt.grad(dt.jit(mlp_loss, precision=compute))(params, x, y)  # differentiates the casts
    inner = dt.jit(dt.grad(mlp_loss), precision=compute)(params, x, y)  # the policy on the gradient program
    for r, a, b in zip(reference, outer, inner):
        assert a.dtype == b.dtype == F32
        scale = max(1.0, np.abs(r).max())
        np.testing.assert_allclose(a, r, atol=tolerance * scale)
        np.testing.assert_allclose(b, r, atol=tolerance * scale)
    wide = tuple(p.astype(np.float64) for p in params)
    direction = tuple(np.ones_like(p) for p in wide)
    (fd,) = numerical_jvp(lambda *ps: mlp_loss(ps, x.astype(np.float64), y.astype(np.float64)), wide, direction)
    along = sum(float(np.sum(g)) for g in outer)
    assert abs(along - fd) < tolerance * max(1.0, abs(fd)) * 4


def test_vmap_jvp_and_vjp_of_a_precision_function():
    rng = np.random.default_rng(2)
    w, xs = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((6, 2, 4)).astype(np.float32)
    f = dt.jit(layer, precision="float16")
    batched = dt.vmap(f, in_axes=(None, 0))(w, xs)
    np.testing.assert_array_equal(batched, [f(w, x) for x in xs])
    value, tangent = dt.jvp(lambda w: f(w, xs[0]), (w,), (np.ones_like(w),))
    (fd,) = numerical_jvp(lambda w: layer(w, xs[0].astype(np.float64)), (w.astype(np.float64),), (np.ones((4, 3)),))
    assert value == f(w, xs[0]) and abs(tangent - fd) < 2e-2 * max(1.0, abs(fd))
    _, pullback = dt.vjp(lambda w: f(w, xs[0]), w)
    (w_bar,) = pullback(np.float32(1.0))
    assert w_bar.dtype == F32 and abs(float(np.sum(w_bar)) - tangent) < 1e-3 * max(1.0, abs(fd))


def test_control_flow_bodies_compute_under_the_policy():
    rng = np.random.default_rng(3)
    w, x = 0.5 * rng.standard_normal((4, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)

    def f(w, x):
        h = dt.fori_loop(0, 3, lambda i, h: dnp.tanh(h @ w), x)
        h = dt.cond(dnp.sum(h) > 0, lambda: h * 2.0, lambda: h - 1.0)
        carry, ys = dt.scan(lambda c, row: (c + dnp.sum(row @ w), dnp.exp(row)), np.float32(0.0), h)
        return carry + dnp.sum(ys) + dnp.sum(dt.checkpoint(lambda h: dnp.sin(h @ w))(h))

    g = dt.jit(f, precision="float16")
    source = g.source(w, x)
    body = source[source.index("for "):]
    assert "dtype=xp.float16" in body  # (the loop body's product is rounded too)
    assert abs(g(w, x) - f(w, x)) < 2e-2 * max(1.0, abs(f(w, x)))
    np.testing.assert_allclose(dt.grad(g)(w, x), dt.grad(f)(w, x), atol=5e-2 * np.abs(dt.grad(f)(w, x)).max())


def test_bfloat16_policy_matches_the_same_arithmetic_in_numpy():
    bf16 = np.dtype(pytest.importorskip("ml_dtypes").bfloat16)
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal((5, 8)).astype(np.float32)
    product = (rounded(x, bf16) @ rounded(w, bf16)).astype(bf16)
    expected = np.sum(np.tanh(product).astype(np.float32))
    assert dt.jit(layer, precision="bfloat16")(w, x) == expected
    assert "xp.dtype('bfloat16')" in dt.jit(layer, precision=dt.bfloat16).source(w, x)
    with pytest.raises(dt.BackendError, match="cupy has no bfloat16"):  # (CuPy has no bfloat16)
        dt.jit(layer, precision="bfloat16", backend="cupy")
