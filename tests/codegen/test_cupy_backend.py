"""The CuPy backend on a real GPU (skipped unless CuPy imports and CUDA finds a device): every primitive's
value, JVP and VJP programs compiled for CuPy agree with the NumPy-compiled ones within float32 tolerance;
NumPy inputs are moved, results are CuPy arrays (NumPy with to_host); control flow, the index_add scatter
and an MLP gradient run on the device."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from test_device_backend import control

import dualtape as dt
import dualtape.numpy as dnp
from corpus import CORPUS
from primitive_cases import DIFFERENTIABLE, EXAMPLES, draw_case
from testkit import GPU_FLOAT32

try:
    import cupy
except Exception as error:  # not installed, or its CUDA libraries fail to load
    pytest.skip(f"CuPy is not importable: {error}", allow_module_level=True)


def _device_count() -> int:
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


pytestmark = pytest.mark.skipif(_device_count() == 0, reason="CuPy is installed but CUDA finds no GPU")

BOUNDED = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.data_too_large])


def assert_same(on_gpu, on_cpu, what=""):
    """GPU results (CuPy arrays or scalars) match the CPU's in shape, dtype and value."""
    gpu_leaves, cpu_leaves = dt.tree.leaves(on_gpu), dt.tree.leaves(on_cpu)
    assert len(gpu_leaves) == len(cpu_leaves), what
    for g, c in zip(gpu_leaves, cpu_leaves):
        g_host, c_host = cupy.asnumpy(g), np.asarray(c)
        assert g_host.shape == c_host.shape and g_host.dtype == c_host.dtype, f"{what}: {g_host.dtype}{g_host.shape}"
        if c_host.dtype.kind in "fc":
            np.testing.assert_allclose(g_host, c_host, **GPU_FLOAT32, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(g_host, c_host, err_msg=what)


def on_both(fn, *args):
    """(fn compiled for CuPy, fn compiled for NumPy), each called on the same NumPy arguments."""
    with np.errstate(all="ignore"):
        return dt.jit(fn, backend="cupy")(*args), dt.jit(fn)(*args)


# ---- every primitive ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@BOUNDED
@given(data=st.data())
def test_value_jvp_and_vjp_match_the_cpu(name, data):
    case, shape_list, params, dtypes, args = draw_case(data, name)
    if dtypes is None:
        args = tuple(a.astype(np.float32) for a in args)
    note(f"shapes={shape_list} params={params}")
    fn = case.call(params)
    n = len(args)
    with np.errstate(all="ignore"):
        out = np.asarray(fn(*args))
    tangents = tuple(np.linspace(-1.0, 1.0, a.size).reshape(a.shape).astype(a.dtype) for a in args)
    cotangent = np.linspace(1.0, -1.0, out.size).reshape(out.shape).astype(out.dtype)
    assert_same(*on_both(fn, *args), f"{name} value")
    assert_same(*on_both(lambda *a: dt.jvp(fn, a[:n], a[n:]), *args, *tangents), f"{name} jvp")
    assert_same(*on_both(lambda *a: dt.vjp(fn, *a[:n])[1](a[n]), *args, cotangent), f"{name} vjp")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_values_of_the_other_primitives_match_the_cpu(name):
    fn, arg_lists = EXAMPLES[name]
    for args in arg_lists:
        assert_same(*on_both(fn, *args), f"{name} on {args[0].dtype}")


# ---- moving data -------------------------------------------------------------------------------------------
def mlp_loss(W1, b1, W2, x, labels):
    h = dnp.tanh(x @ W1 + b1)
    return -dnp.mean(dnp.sum(dnp.log_softmax(h @ W2, axis=-1) * labels, axis=-1))


def mlp_args(dtype=np.float32):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((16, 32)).astype(dtype) / 4, np.zeros(32, dtype),
            rng.standard_normal((32, 10)).astype(dtype) / 6, rng.standard_normal((64, 16)).astype(dtype),
            np.eye(10, dtype=dtype)[rng.integers(0, 10, 64)])


def test_numpy_inputs_move_and_results_stay_on_the_device():
    args = mlp_args()
    grads = dt.grad(mlp_loss, argnums=(0, 1, 2), backend="cupy")(*args)
    assert all(isinstance(g, cupy.ndarray) for g in grads)
    on_cpu = dt.grad(mlp_loss, argnums=(0, 1, 2))(*args)
    assert all(type(g) is np.ndarray for g in on_cpu)  # (the default backend's results stay NumPy)
    assert_same(grads, on_cpu, "MLP gradient")
    device_args = [cupy.asarray(a) for a in args]
    assert_same(dt.grad(mlp_loss, argnums=(0, 1, 2), backend="cupy")(*device_args), on_cpu, "device inputs")


def test_to_host_gives_numpy_arrays():
    args = mlp_args()
    value, grads = dt.value_and_grad(mlp_loss, argnums=(0, 2), backend="cupy", to_host=True)(*args)
    assert type(value) is np.ndarray and all(type(g) is np.ndarray for g in grads)
    expected_value, expected_grads = dt.value_and_grad(mlp_loss, argnums=(0, 2))(*args)
    assert_same((cupy.asarray(value), *map(cupy.asarray, grads)), (expected_value, *expected_grads))


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_corpus_values_and_gradients_match_the_cpu(case):
    args = case.make_args(np.random.default_rng(0))
    assert_same(*on_both(case.fn, *args), f"{case.name} value")
    if np.shape(dt.jit(case.fn)(*args)) == ():
        nums = tuple(range(len(args)))
        assert_same(dt.grad(case.fn, argnums=nums, backend="cupy")(*args), dt.grad(case.fn, argnums=nums)(*args),
                    f"{case.name} gradient")


# ---- control flow and the scatter helper ------------------------------------------------------------------
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_control_flow_and_its_gradient_run_on_the_device(sign):
    x = sign * np.array([0.1, 0.2, 0.3], np.float32)
    assert_same(*on_both(control, x), "control flow")
    assert_same(dt.grad(control, backend="cupy")(x), dt.grad(control)(x), "gradient of control flow")


def test_index_add_accumulates_repeated_indices_on_the_device():
    index = np.array([0, 0, 2, 1, 0])
    f = lambda x: dnp.sum(dnp.sin(x[index]) * np.arange(5, dtype=np.float32))
    x = np.array([0.1, 0.2, 0.3], np.float32)
    grad = dt.grad(f, backend="cupy")(x)
    assert isinstance(grad, cupy.ndarray)
    assert_same(grad, dt.grad(f)(x), "index_add")
