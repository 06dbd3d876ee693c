"""float16 and bfloat16 (ml_dtypes', which NumPy files as a void dtype) through every face: evaluation, dt.jit and
its emitted source, grad, vjp, jvp, vmap, and eager tensors with backward(). Derivatives are checked against
central differences of the same function in float64, to the low dtype's precision."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
import dualtape.numpy as dnp
from gradcheck import numerical_jvp
from testkit import bounded

LOW_TOLERANCE = {"float16": 2e-2, "bfloat16": 8e-2}  # relative, for a few ops in the dtype on values of size ~1


def low_dtype(name):
    """np.float16, or ml_dtypes' bfloat16 (the test is skipped where ml_dtypes is not installed)."""
    if name == "bfloat16":
        return pytest.importorskip("ml_dtypes").bfloat16
    return np.float16


def loss(w, x):
    """A small smooth function with a product, elementwise ops and reductions."""
    return dnp.sum(dnp.tanh(x @ w) ** 2) + dnp.mean(dnp.sin(w))


def close(actual, expected, name, scale=1.0):
    actual = np.asarray(actual).astype(np.float64)
    tol = LOW_TOLERANCE[name] * max(scale, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, atol=tol, rtol=0)


values = hnp.arrays(np.float64, (3, 2), elements=st.floats(-1.5, 1.5))


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@bounded(8)
@given(w=values, x=hnp.arrays(np.float64, (4, 3), elements=st.floats(-1.5, 1.5)))
def test_values_and_derivatives_in_the_low_dtype_match_float64(name, w, x):
    low = low_dtype(name)
    wl, xl = w.astype(low), x.astype(low)
    w64, x64 = wl.astype(np.float64), xl.astype(np.float64)  # (the values the low dtype holds)
    close(loss(wl, xl), loss(w64, x64), name)
    close(dt.jit(loss)(wl, xl), loss(w64, x64), name)
    (fd_w,) = numerical_jvp(lambda w: loss(w, x64), (w64,), (np.ones_like(w64),))
    g = dt.grad(loss)(wl, xl)
    assert g.dtype == low
    assert np.isclose(float(np.sum(g.astype(np.float64))), fd_w, atol=LOW_TOLERANCE[name] * max(1.0, abs(fd_w)) * 6)
    t = np.ones_like(wl)
    value, tangent = dt.jvp(lambda w: loss(w, xl), (wl,), (t,))
    numpy_dtype = np.asarray(loss(wl, xl)).dtype  # (NumPy's: a bfloat16 matmul gives float32)
    assert np.asarray(tangent).dtype == numpy_dtype and np.asarray(value).dtype == numpy_dtype
    close(tangent, fd_w, name, scale=6.0)
    _, pullback = dt.vjp(lambda w: loss(w, xl), wl)
    (w_bar,) = pullback(np.asarray(1.0, low))
    assert w_bar.dtype == low
    close(w_bar, np.asarray(g, np.float64), name)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_jit_grad_vmap_and_emitted_source(name):
    low = low_dtype(name)
    rng = np.random.default_rng(0)
    w, xs = rng.standard_normal((3, 2)).astype(low), rng.standard_normal((5, 4, 3)).astype(low)
    per_example = dt.jit(dt.vmap(dt.grad(loss), in_axes=(None, 0)))(w, xs)
    assert per_example.shape == (5, 3, 2) and per_example.dtype == low
    for k in range(5):
        close(per_example[k], np.asarray(dt.grad(loss)(w, xs[k]), np.float64), name)
    source = dt.source(lambda w: (w.astype(np.float32) * 2).astype(low) * low(1.5), w)
    assert "xp.float32" in source
    if name == "bfloat16":  # (NumPy has no np.bfloat16: the source names the dtype by its registered name)
        assert "xp.dtype('bfloat16')" in source
    out = dt.jit(lambda w: (w.astype(np.float32) * 2).astype(low) * low(1.5))(w)
    assert out.dtype == low
    np.testing.assert_array_equal(out, (w.astype(np.float32) * 2).astype(low) * low(1.5))


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_eager_tensors_in_the_low_dtype(name):
    low = low_dtype(name)
    t = dt.tensor([0.5, -1.0, 2.0], dtype=low, requires_grad=True)
    assert t.dtype == low and t.requires_grad
    (t.tanh() ** 2).sum().backward()
    assert t.grad.dtype == low
    close(t.grad.numpy(), 2 * np.tanh([0.5, -1.0, 2.0]) / np.cosh([0.5, -1.0, 2.0]) ** 2, name)
    f = dt.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (f.to(low) * dt.tensor([1.0, 2.0, 3.0])).sum().backward()  # (float32 meets the low dtype: float32 wins)
    assert f.grad.dtype == np.float32 and f.grad.numpy().tolist() == [1.0, 2.0, 3.0]
    assert f"dtype=dualtape.{name}" in repr(t.detach())


def test_dt_bfloat16_is_ml_dtypes_type():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert dt.bfloat16 is ml_dtypes.bfloat16 and dt.Precision("bfloat16").compute == np.dtype(ml_dtypes.bfloat16)
    assert dt.tensor([1.0], dtype=dt.bfloat16).dtype == dt.bfloat16
    with pytest.raises(AttributeError, match="no attribute 'bfloat17'"):
        dt.bfloat17  # noqa: B018


def test_bfloat16_without_ml_dtypes_names_the_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # (import ml_dtypes now raises ImportError)
    with pytest.raises(ImportError, match="pip install ml_dtypes"):
        dt.bfloat16  # noqa: B018
    with pytest.raises(ImportError, match="pip install ml_dtypes"):
        dt.jit(loss, precision="bfloat16")


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_modules_and_parameters_in_the_low_dtype(name):
    low = low_dtype(name)
    dt.manual_seed(0)
    layer = dt.nn.Linear(3, 2).to(low)
    assert layer.weight.dtype == low and layer.weight.requires_grad
    layer(dt.ones(4, 3, dtype=low)).float().sum().backward()
    assert layer.weight.grad.dtype == low and layer.weight.grad.numpy().astype(np.float32).tolist() == [[4.0] * 3] * 2
    layer.to(np.float32)  # (and back: every floating parameter converts)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert dt.nn.Parameter(dt.ones(2, dtype=low)).requires_grad
