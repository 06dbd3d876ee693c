"""The CuPy backend's host-side logic, run without a GPU through a strict stand-in `cupy` module (fake_cupy):
NumPy arguments are moved to the device on each call, captured constants once at compile time, results stay
device arrays (or come back to NumPy with to_host), every transform compiles for it, and the errors for a
missing CuPy, a missing GPU and an unknown backend say what to do."""

import importlib
import inspect
import sys

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
import fake_cupy
from corpus import CORPUS
from dualtape.codegen.runtime import Compiled, array_module
from fake_cupy import COPIES, DeviceArray
from testkit import EXACT

W = np.array([0.5, -1.0, 2.0])


def model(x, y):
    return dnp.sum(dnp.tanh(x * W) * y)


def vector(x):
    return dnp.sin(x) * W


X, Y = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.5])


@pytest.fixture
def cupy(monkeypatch):
    return fake_cupy.install(monkeypatch)


def _host(value):
    return np.array(value.view(np.ndarray)) if isinstance(value, DeviceArray) else value


# ---- moving data -------------------------------------------------------------------------------------------
def test_numpy_inputs_move_on_each_call_and_constants_once(cupy):
    f = dt.jit(model, backend="cupy")
    out = f(X, Y)
    assert isinstance(out, DeviceArray) and out.shape == ()
    np.testing.assert_allclose(_host(out), model(X, Y))
    assert COPIES == {"to_device": 3}  # x, y and the captured W
    f(X, Y)
    assert COPIES == {"to_device": 5} and f.trace_count == 1  # the inputs again; W stays on the device


def test_device_inputs_are_used_in_place(cupy):
    x, y = cupy.asarray(X), cupy.asarray(Y)
    f = dt.jit(model, backend="cupy")
    f(x, y)
    COPIES.clear()
    f(x, y)
    assert COPIES == {}


def test_to_host_returns_numpy_arrays(cupy):
    f = dt.jit(lambda x, y: (model(x, y), vector(x)), backend="cupy", to_host=True)
    value, vec = f(X, Y)
    assert type(value) is np.ndarray and type(vec) is np.ndarray and COPIES["to_host"] == 2
    np.testing.assert_allclose(vec, vector(X))


def test_each_backend_compiles_its_own_program(cupy):
    on_cpu, on_device = dt.jit(vector), dt.jit(vector, backend="cupy")
    assert type(on_cpu(X)) is np.ndarray
    assert isinstance(on_device(X), DeviceArray)
    np.testing.assert_allclose(_host(on_device(X)), on_cpu(X))
    assert on_cpu.trace_count == on_device.trace_count == 1


def test_python_scalar_arguments_stay_weakly_typed(cupy):
    """A Python float meets a float32 array as a float32 (as on NumPy), and reaches array-only functions
    (reshape, sum) through xp.asarray."""
    fn = lambda x, s: (x * s, dnp.concatenate([x, dnp.reshape(s, (1,))]), dnp.sum(s))
    x = np.ones(3, np.float32)
    for got, expected in zip(dt.jit(fn, backend="cupy")(x, 2.0), dt.jit(fn)(x, 2.0)):
        assert isinstance(got, DeviceArray) and got.dtype == np.asarray(expected).dtype
        np.testing.assert_array_equal(_host(got), expected)
    assert dt.jit(fn, backend="cupy")(x, 2.0)[0].dtype == np.float32


def test_literal_results_are_put_on_the_device(cupy):
    f = dt.jit(lambda x: (x * 0.0 + np.float32(1.0), np.float32(2.0)), backend="cupy")
    ones, two = f(np.zeros(2, np.float32))
    assert isinstance(ones, DeviceArray) and isinstance(two, DeviceArray) and two.dtype == np.float32


# ---- every transform, compiled for the device --------------------------------------------------------------
TRANSFORMS = {
    "grad": (lambda: dt.grad(model, argnums=(0, 1), backend="cupy"), lambda: dt.grad(model, argnums=(0, 1)), (X, Y)),
    "value_and_grad": (lambda: dt.value_and_grad(model, backend="cupy"), lambda: dt.value_and_grad(model), (X, Y)),
    "jacfwd": (lambda: dt.jit(dt.jacfwd(vector), backend="cupy"), lambda: dt.jacfwd(vector), (X,)),
    "jacrev": (lambda: dt.jit(dt.jacrev(vector), backend="cupy"), lambda: dt.jacrev(vector), (X,)),
    "hessian": (lambda: dt.jit(dt.hessian(model), backend="cupy"), lambda: dt.hessian(model), (X, Y)),
    "hvp": (lambda: dt.jit(lambda x, t: dt.hvp(lambda v: model(v, Y), (x,), (t,)), backend="cupy"),
            lambda: lambda x, t: dt.hvp(lambda v: model(v, Y), (x,), (t,)), (X, Y)),
    "vjp": (lambda: dt.jit(lambda x, c: dt.vjp(vector, x)[1](c), backend="cupy"),
            lambda: lambda x, c: dt.vjp(vector, x)[1](c), (X, Y)),
    "jvp": (lambda: dt.jit(lambda x, t: dt.jvp(vector, (x,), (t,)), backend="cupy"),
            lambda: lambda x, t: dt.jvp(vector, (x,), (t,)), (X, Y)),
    "linearize": (lambda: dt.jit(lambda x, t: dt.linearize(vector, x)[1](t), backend="cupy"),
                  lambda: lambda x, t: dt.linearize(vector, x)[1](t), (X, Y)),
    "vmap": (lambda: dt.jit(dt.vmap(vector), backend="cupy"), lambda: dt.vmap(vector), (np.outer(Y, X),)),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_compiles_for_the_device(cupy, name):
    on_device, reference, args = TRANSFORMS[name]
    got, expected = on_device()(*args), reference()(*args)
    got_leaves, expected_leaves = dt.tree.leaves(got), dt.tree.leaves(expected)
    assert len(got_leaves) == len(expected_leaves)
    for g, e in zip(got_leaves, expected_leaves):
        assert isinstance(g, DeviceArray), f"{name}: a {type(g).__name__} came back"
        np.testing.assert_allclose(_host(g), e, **EXACT)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_corpus_values_and_gradients_match_numpy(cupy, case):
    args = case.make_args(np.random.default_rng(0))
    value = dt.jit(case.fn, backend="cupy", to_host=True)(*args)
    np.testing.assert_allclose(value, dt.jit(case.fn)(*args), **EXACT)
    if np.shape(value) == ():
        grads = dt.grad(case.fn, argnums=tuple(range(len(args))), backend="cupy", to_host=True)(*args)
        expected = dt.grad(case.fn, argnums=tuple(range(len(args))))(*args)
        for g, e in zip(dt.tree.leaves(grads), dt.tree.leaves(expected)):
            assert type(g) is np.ndarray
            np.testing.assert_allclose(g, e, **EXACT)


def control(x):
    """cond, while_loop, fori_loop and scan on traced values: `if` / `while` on 0-d device arrays."""
    y = dt.cond(dnp.sum(x) > 0, lambda v: v * 2.0, lambda v: -v, x)
    _, y = dt.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, dnp.sin(s[1]) + 0.5 * s[1]), (0, y))
    y = dt.fori_loop(0, 3, lambda i, v: v * 0.9 + i, y)
    carry, ys = dt.scan(lambda c, a: (c * dnp.cos(a) + a, c * a), y, dnp.stack([x, y]))
    return dnp.sum(carry) + dnp.sum(ys)


def testcontrol_flow_and_its_gradient_run_on_the_device(cupy):
    for x in (X, -X):
        value = dt.jit(control, backend="cupy")(x)
        grad = dt.grad(control, backend="cupy")(x)
        assert isinstance(value, DeviceArray) and isinstance(grad, DeviceArray)
        np.testing.assert_allclose(_host(value), dt.jit(control)(x), rtol=1e-12)
        np.testing.assert_allclose(_host(grad), dt.grad(control)(x), rtol=1e-12)


def test_index_add_scatters_on_the_device(cupy):
    """The VJP of gathering with repeated indices is the index_add helper's xp.add.at."""
    index = np.array([0, 0, 2, 1, 0])
    f = lambda x: dnp.sum(dnp.sin(x[index]) * np.arange(5.0))
    grad = dt.grad(f, backend="cupy")(X)
    assert "add.at" in cupy.used
    np.testing.assert_allclose(_host(grad), np.cos(X) * [0.0 + 1.0 + 4.0, 3.0, 2.0], rtol=1e-12)


# ---- errors ------------------------------------------------------------------------------------------------
def test_missing_cupy_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    with pytest.raises(ImportError):
        importlib.import_module("cupy")
    for make in (lambda: dt.jit(vector, backend="cupy"), lambda: dt.grad(model, backend="cupy")):
        with pytest.raises(dt.BackendError, match=r"pip install 'dualtape\[cupy\]'"):
            make()  # at jit(...) time, not at the first call


def test_cupy_without_a_gpu_names_the_driver(monkeypatch):
    fake_cupy.install(monkeypatch, devices=RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is "
                                                        "insufficient for CUDA runtime version"))
    with pytest.raises(dt.BackendError, match=r"needs an NVIDIA GPU.*driver.*cudaErrorInsufficientDriver"):
        dt.jit(vector, backend="cupy")
    fake_cupy.install(monkeypatch, devices=0)
    with pytest.raises(dt.BackendError, match=r"finds no device.*backend='numpy'"):
        dt.value_and_grad(model, backend="cupy")


def test_unknown_backend_lists_the_choices():
    for make in (lambda: dt.jit(vector, backend="jax"), lambda: dt.grad(model, backend="jax")):
        with pytest.raises(ValueError, match=r"unknown backend 'jax'.*'numpy', 'cupy'"):
            make()


def test_a_program_cupy_cannot_run_is_refused_by_name(cupy):
    program = dt.trace(lambda x: dnp.astype(x, np.longdouble))(X)
    Compiled(program)  # NumPy runs it
    with pytest.raises(dt.BackendError, match=r"(?s)cannot run on backend='cupy'.*xp\.(float128|longdouble)"):
        Compiled(program, "cupy")


def test_array_module_is_the_installed_cupy(cupy):
    assert array_module("cupy") is cupy


def test_the_device_function_shows_the_generated_source(cupy):
    compiled = Compiled(dt.trace(vector)(X), "cupy", comments=False)
    assert compiled.fn.__name__ == "vector"
    assert inspect.getsource(compiled.fn) == compiled.source
