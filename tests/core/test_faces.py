"""Every face a primitive's row declares exists and reaches that primitive: its dnp function, NumPy's ufunc on
a traced value, the array method of traced values and Tensors, the Tensor's in-place form, PyTorch's node
name and promotion, and the functions its emitted code calls (the portable list CuPy is checked against)."""

import ast

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen import portable
from dualtape.core.primitive import REGISTRY

WITH_FACES = sorted(name for name, prim in REGISTRY.items() if prim.faces != type(prim.faces)())
ELEMENTWISE = sorted(name for name in WITH_FACES if REGISTRY[name].elementwise and REGISTRY[name].faces.dnp)
LOGICAL = ("logical_", "bitwise_", "invert")


def operands(prim):
    """Example operands in every primitive's domain: booleans for logic, values in (0.1, 0.9) otherwise."""
    n = len(prim.operands)
    if prim.name.startswith(LOGICAL):
        return [np.array([True, False, True]), np.array([False, False, True])][:n]
    if prim.name == "where":
        return [np.array([True, False, True]), np.array([0.2, 0.4, 0.6]), np.array([0.3, 0.5, 0.7])]
    return [np.array([0.2, 0.5, 0.8]), np.array([0.3, 0.6, 0.7])][:n]


def recorded(fn, args) -> set:
    return {e.prim.name for e in dt.trace(fn)(*args).eqns}


def test_the_rows_declare_faces():
    assert {"sin", "add", "matmul", "reduce_sum", "where"} <= set(WITH_FACES)
    assert len(ELEMENTWISE) >= 40


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_dnp_functions_and_ufuncs_reach_the_primitive(name):
    prim, args = REGISTRY[name], operands(REGISTRY[name])
    for dnp_name in prim.faces.dnp:
        fn = getattr(dnp, dnp_name)
        assert name in recorded(fn, args), f"dnp.{dnp_name} does not record {name}"
        expected = np.asarray(prim.impl(*args))
        np.testing.assert_array_equal(fn(*args), expected)
    if prim.faces.ufunc:
        ufunc = getattr(np, prim.faces.ufunc)
        assert isinstance(ufunc, np.ufunc)
        assert name in recorded(lambda *a: ufunc(*a), args), f"np.{prim.faces.ufunc} on a tracer misses {name}"


@pytest.mark.parametrize("name", [n for n in WITH_FACES if REGISTRY[n].faces.method])
def test_methods_of_traced_values_and_tensors_reach_the_primitive(name):
    prim = REGISTRY[name]
    method = prim.faces.method
    args = operands(prim) if prim.elementwise else [np.eye(2) * 0.5, np.ones((2, 2))]
    assert name in recorded(lambda x, *rest: getattr(x, method)(*rest), args)
    tensors = [dt.tensor(a) for a in args]
    np.testing.assert_allclose(getattr(tensors[0], method)(*tensors[1:]).numpy(), prim.impl(*args))


@pytest.mark.parametrize("name", [n for n in WITH_FACES if REGISTRY[n].faces.torch_inplace])
def test_in_place_forms_write_the_out_of_place_result(name):
    prim = REGISTRY[name]
    x = np.array([0.2, 0.5, 0.8])
    t = dt.tensor(x.copy())
    assert getattr(t, prim.faces.torch_inplace)() is t
    np.testing.assert_allclose(t.numpy(), getattr(dt.tensor(x), prim.faces.method)().numpy())
    if not prim.differentiable:
        return
    w = dt.tensor(x, requires_grad=True)
    y = w * 1.0
    getattr(y, prim.faces.torch_inplace)()
    y.sum().backward()
    ref = dt.tensor(x, requires_grad=True)
    getattr(ref * 1.0, prim.faces.method)().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), ref.grad.numpy())


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if REGISTRY[n].faces.torch_node])
def test_eager_nodes_carry_pytorchs_name(name):
    prim = REGISTRY[name]
    tensors = [dt.tensor(a, requires_grad=a.dtype.kind == "f") for a in operands(prim)]
    out = getattr(dnp, prim.faces.dnp[0])(*tensors)
    expected = prim.faces.torch_node
    if name in ("pow", "mod"):
        expected = expected[:-1] + "1"  # (tensor ** tensor, tensor % tensor: PyTorch's overload 1)
    assert out.grad_fn.name() == expected


def test_matmul_node_name_and_every_declared_node_name_is_pytorchs_spelling():
    a = dt.tensor(np.ones((2, 2)), requires_grad=True)
    assert (a @ a).grad_fn.name() == REGISTRY["matmul"].faces.torch_node == "MmBackward0"
    for name in WITH_FACES:
        node = REGISTRY[name].faces.torch_node
        assert node is None or node.endswith("Backward0") or node == "CopySlices", (name, node)


@pytest.mark.parametrize("name", [n for n in WITH_FACES if REGISTRY[n].faces.promotion])
def test_declared_promotion_is_what_eager_applies(name):
    """Integer tensors give float32 where the row says the result is floating, int64 where it says the operands
    are promoted together (an int32 tensor meeting an int64 one)."""
    prim = REGISTRY[name]
    positions, floating = prim.faces.promotion
    if prim.name == "where":
        return
    fn = getattr(dnp, prim.faces.dnp[0])
    ints = [dt.tensor(np.array([1, 1, 1])) for _ in prim.operands]
    if floating:
        assert fn(*ints).dtype == np.float32, f"{name}: an integer tensor gives {fn(*ints).dtype}, PyTorch float32"
    else:
        mixed = [dt.tensor(np.array([1, 1, 1], np.int32)), dt.tensor(np.array([1, 1, 1], np.int64))]
        out = fn(*mixed).dtype
        assert positions == (0, 1) and out in (np.int64, np.bool_), f"{name}: {out}"  # (comparisons give bool)


@pytest.mark.parametrize("name", [n for n, p in REGISTRY.items() if p.template])
def test_every_xp_function_a_template_calls_is_on_the_portable_list(name):
    calls = {portable._path(node.func) for node in ast.walk(ast.parse(REGISTRY[name].template, mode="eval"))
             if isinstance(node, ast.Call) and portable._path(node.func)}
    assert calls <= set(portable.FUNCTIONS), f"{name} calls {calls - set(portable.FUNCTIONS)}"
