"""backend="array_api": programs run on the namespace of their arguments (array-api-compat), so torch tensors in
give torch tensors out with the NumPy backend's numbers; NumPy arrays stay NumPy. A program calling what
portable.NON_STANDARD lists is refused; without array-api-compat the error names the extra. Every primitive's
value, JVP and VJP programs (those NON_STANDARD does not skip) run on torch tensors as on NumPy, and each of
array_api_backend.DIFFERENCES is shown on torch itself, so the list cannot go stale.
"""

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape import tree
from dualtape.codegen import array_api_backend
from dualtape.codegen.portable import non_standard
from dualtape.codegen.runtime import Compiled
from dualtape.core.ir import Program, all_eqns
from dualtape.transforms.passes import optimize
from primitive_cases import CASES, DIFFERENTIABLE, EXAMPLES, draw_args
from testkit import DTYPE_TOLERANCES, EXACT, bounded, derivative_programs, line_of

NON_STANDARD = non_standard()  # (read from the rows)


@pytest.fixture(scope="module")
def torch():
    pytest.importorskip("array_api_compat")
    return pytest.importorskip("torch")


def test_without_array_api_compat_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "array_api_compat", None)  # (import array_api_compat now raises ImportError)
    for make in (lambda f: dt.jit(f, backend="array_api"), lambda f: dt.grad(f, backend="array_api")):
        with pytest.raises(dt.BackendError, match=r"needs array-api-compat.*pip install 'dualtape\[array-api\]'"):
            make(lambda x: dnp.sum(x * x))


# ---- an MLP on torch tensors ----------------------------------------------------------------------------------
def mlp_loss(params, x, y):
    h = dnp.tanh(x @ params["W1"] + params["b1"])
    return dnp.mean((h @ params["W2"] + params["b2"] - y) ** 2)


def mlp_data(dtype=np.float64):
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(4, 8)), "b1": rng.normal(size=8), "W2": rng.normal(size=(8, 2)),
              "b2": rng.normal(size=2)}
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    return tree.tree_map(lambda a: a.astype(dtype), (params, x, y))


def test_mlp_value_and_gradient_on_torch_equal_numpys(torch):
    args = mlp_data()
    on_torch = tree.tree_map(torch.from_numpy, args)
    value, grads = dt.value_and_grad(mlp_loss, backend="array_api")(*on_torch)
    expected_value, expected_grads = dt.value_and_grad(mlp_loss)(*args)
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float64 and value.shape == ()
    np.testing.assert_allclose(value.item(), expected_value, **EXACT)
    for name, g in grads.items():
        assert isinstance(g, torch.Tensor) and g.dtype == torch.float64, name
        np.testing.assert_allclose(g.numpy(), expected_grads[name], **EXACT, err_msg=name)
    only_grad = dt.grad(mlp_loss, backend="array_api")(*on_torch)
    assert all(torch.equal(only_grad[k], grads[k]) for k in grads)
    jitted = dt.jit(mlp_loss, backend="array_api")
    np.testing.assert_allclose(jitted(*on_torch).item(), expected_value, **EXACT)
    assert jitted(*args) == pytest.approx(expected_value, rel=1e-12) and jitted.cache_size == 1  # (one signature)


def test_float32_stays_float32(torch):
    on_torch = tree.tree_map(torch.from_numpy, mlp_data(np.float32))
    value, grads = dt.value_and_grad(mlp_loss, backend="array_api")(*on_torch)
    assert value.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grads.values())
    expected = dt.grad(mlp_loss)(*mlp_data(np.float32))
    rtol, atol = DTYPE_TOLERANCES[np.dtype(np.float32)]
    for name, g in grads.items():
        np.testing.assert_allclose(g.numpy(), expected[name], rtol=rtol, atol=atol, err_msg=name)


def test_numpy_arguments_give_numpy_results():
    pytest.importorskip("array_api_compat")
    args = mlp_data()
    grads = dt.grad(mlp_loss, backend="array_api")(*args)
    expected = dt.grad(mlp_loss)(*args)
    for name, g in grads.items():
        assert type(g) is np.ndarray, name
        np.testing.assert_allclose(g, expected[name], **EXACT, err_msg=name)


def test_numpy_arrays_beside_tensors_are_converted_and_captured_ones_once(torch, monkeypatch):
    converted = []  # (library, shape) of each NumPy array converted to a namespace
    convert = array_api_backend._in_namespace

    def counted(value, xp, device):
        if isinstance(value, np.ndarray):
            converted.append((xp.__name__.rpartition(".")[2], value.shape))
        return convert(value, xp, device)

    monkeypatch.setattr(array_api_backend, "_in_namespace", counted)
    weights = np.linspace(0.5, 2.0, 5)  # (captured: converted once per namespace, not per call)
    f = dt.jit(lambda x, y: dnp.sum(dnp.sin(x) * y * weights), backend="array_api")
    x, y = np.linspace(-1.0, 1.0, 5), np.linspace(2.0, 3.0, 5)
    for _ in range(3):
        out = f(torch.from_numpy(x), y)
        assert isinstance(out, torch.Tensor)
        np.testing.assert_allclose(out.item(), np.sum(np.sin(x) * y * weights), **EXACT)
    # the constant once per namespace (NumPy's, bound when compiled, and torch's), y on each of the three calls
    assert sorted(converted) == [("numpy", (5,))] + [("torch", (5,))] * 4


def test_results_to_host_and_the_source_it_runs(torch):
    f = dt.jit(lambda x: x * np.float32(0.5) + 1, backend="array_api", to_host=True)
    out = f(torch.ones(3, dtype=torch.float32))
    assert type(out) is np.ndarray and out.dtype == np.float32 and np.all(out == 1.5)
    text = dt.source(lambda x: x * np.float32(0.5) + 1, np.ones(3, np.float32), backend="array_api")
    assert "xp.asarray(0.5, dtype=xp.float32)" in text


def test_two_array_libraries_in_one_call_are_refused(torch):
    strict = pytest.importorskip("array_api_strict")
    f = dt.jit(lambda x, y: x + y, backend="array_api")
    with pytest.raises(TypeError, match="pass arrays of one library"):
        f(torch.ones(2, dtype=torch.float64), strict.ones(2, dtype=strict.float64))


# ---- refused: what the standard lacks -------------------------------------------------------------------------
def running_totals(x, w):
    c = dnp.cumsum(x)
    return dnp.einsum("i,i->", c, w)


def test_a_program_calling_beyond_the_standard_is_refused_naming_the_statements(torch):
    x = torch.linspace(0.0, 1.0, 4, dtype=torch.float64)
    with pytest.raises(dt.BackendError) as caught:
        dt.jit(running_totals, backend="array_api")(x, x)
    message = str(caught.value)
    for name, text in (("cumsum", "c = dnp.cumsum(x)"), ("einsum", 'return dnp.einsum("i,i->", c, w)')):
        assert f"{name} (test_array_api_backend.py:{line_of(running_totals, text)}: {text}): " in message
        assert NON_STANDARD[name] in message
    assert "backend='numpy'" in message
    on_numpy = x.numpy()  # (NumPy runs it)
    assert dt.jit(running_totals)(on_numpy, on_numpy) == pytest.approx(np.cumsum(on_numpy) @ on_numpy)


# ---- where torch differs, which array-api-compat leaves as it is ----------------------------------------------
F32, F64, I32 = np.ones((2, 2), np.float32), np.ones((2, 2)), np.full((2, 2), 3, np.int32)
SHOWN_BY = {  # each listed difference: a function and NumPy operands on which torch gives another dtype, or raises
    "0-d operand": (lambda a, b: a * b, (F32, np.array(2.0))),
    "mixed kinds": (lambda a, b: a + b, (I32, F32)),
    "integer true division": (lambda a, b: a / b, (I32, I32)),
    "matmul of two dtypes": (lambda a, b: a @ b, (F32, F64)),
}


def test_each_listed_torch_difference_is_real_and_caught(torch):
    assert sorted(SHOWN_BY) == sorted(array_api_backend.DIFFERENCES["torch"])
    for name, (fn, args) in SHOWN_BY.items():
        tensors = [torch.from_numpy(a) for a in args]
        try:
            on_torch = fn(*tensors).dtype
        except RuntimeError:
            on_torch = None
        assert on_torch != getattr(torch, str(fn(*args).dtype)), f"{name}: torch agrees with NumPy"
        expected = dt.BackendError if on_torch is not None else RuntimeError
        with pytest.raises(expected, match="where the program computes" if on_torch is not None else None):
            dt.jit(fn, backend="array_api")(*tensors)


# ---- every primitive's programs on torch tensors --------------------------------------------------------------
def _prims(program) -> set[str]:
    return {eqn.prim.name for eqn in all_eqns(program)}


def _assert_same_on_torch(torch, program: Program, args, what: str) -> None:
    """The program compiled for array_api, on torch tensors, gives torch tensors of NumPy's dtypes and values."""
    with np.errstate(all="ignore"):
        expected = Compiled(program)(*args)
    got = Compiled(program, "array_api")(*[torch.asarray(np.array(a)) if isinstance(a, np.ndarray) else a
                                           for a in args])
    single = len(program.outputs) == 1
    for g, e in zip((got,) if single else got, (expected,) if single else expected):
        e = np.asarray(e)
        if isinstance(g, torch.Tensor):
            g = g.numpy()
        assert (np.shape(g), np.asarray(g).dtype) == (e.shape, e.dtype), what
        rtol, atol = DTYPE_TOLERANCES.get(e.dtype, (0, 0))
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name", sorted(set(DIFFERENTIABLE) - set(NON_STANDARD)))
@bounded(2)
@given(data=st.data())
def test_value_jvp_and_vjp_programs_run_on_torch(torch, name, data):
    case = CASES[name]
    shape_list, params, dtypes = data.draw(case.layout)
    args = draw_args(data.draw, case, shape_list, dtypes)
    if name == "custom_vjp_call":  # (its rule returns (g, g): one shape)
        args = (args[0], np.full_like(args[0], 0.5))
    for kind, program, program_args in derivative_programs(case.call(params), args):
        if not _prims(program) & set(NON_STANDARD):  # (else refused, as the test above checks)
            _assert_same_on_torch(torch, program, program_args, f"{name} {kind}")


@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - set(NON_STANDARD)))
def test_other_primitives_value_programs_run_on_torch(torch, name):
    fn, arg_lists = EXAMPLES[name]
    for args in arg_lists:
        with np.errstate(all="ignore"):
            program = optimize(dt.trace(fn)(*args))
        if not _prims(program) & set(NON_STANDARD):
            _assert_same_on_torch(torch, program, args, f"{name} on {[np.asarray(a).dtype for a in args]}")


def test_source_of_torch_tensors_reads_their_shapes_and_dtypes(torch):
    """dt.source(f, a torch.Tensor) shows the program for its shape and dtype, as backend="array_api" traces it
    (it raised NumPy's "Cannot interpret 'torch.float32' as a data type")."""
    def f(x):
        return dnp.sum(dnp.sin(x) * 2)

    assert dt.source(f, torch.ones(3, dtype=torch.float64)) == dt.source(f, np.ones(3))
    assert dt.source(dt.grad(f), torch.ones(3)) == dt.source(dt.grad(f), np.ones(3, np.float32))


def test_numpy_backend_given_a_torch_tensor_names_the_fix(torch):
    with pytest.raises(TypeError, match=r"backend='numpy' cannot take a torch\.Tensor.*backend='array_api'.*numpy\(\)"):
        dt.jit(lambda x: dnp.sum(x))(torch.ones(3))
