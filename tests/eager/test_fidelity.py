"""Where eager dualtape used to differ from PyTorch silently, it now behaves as PyTorch: the warning on a
non-leaf's .grad, a second backward through freed saved values, inference tensors, graph node names, integer
outputs of a Function, mixed dtypes in matrix products, the dtype of low-precision gradients, and a docstring on
every public Tensor method. Each is checked against PyTorch's behaviour written out here and, where torch is
installed, against torch itself."""

import inspect
import warnings

import numpy as np
import pytest

import dualtape as dt
from dualtape.core.primitive import REGISTRY

LIBS = ["dualtape", "torch"]


def lib_named(name):
    return dt if name == "dualtape" else pytest.importorskip("torch")


def node_name(node) -> str:
    return node.name() if hasattr(node, "_name") else type(node).__name__


# ---- .grad of a non-leaf ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LIBS)
def test_reading_a_non_leafs_grad_warns_unless_it_retains_it(name):
    lib = lib_named(name)
    a = lib.ones(2, requires_grad=True)
    b = a * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor.*retain_grad"):
        assert b.grad is None
    c = a * 3
    c.retain_grad()
    c.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert a.grad is not None and c.grad.tolist() == [1.0, 1.0] and lib.ones(2).grad is None


# ---- a second backward --------------------------------------------------------------------------------------
OPS = {  # op -> whether its backward reads saved values (PyTorch then refuses a second backward)
    "mul": (lambda a: a * a, True), "mul by a number": (lambda a: a * 2, True), "div": (lambda a: a / 2, True),
    "rdiv": (lambda a: 2 / a, True), "exp": (lambda a: a.exp(), True), "pow": (lambda a: a ** 2, True),
    "tanh": (lambda a: a.tanh(), True), "matmul": (lambda a: a @ a, True),
    "add": (lambda a: a + 1, False), "sub": (lambda a: 1 - a, False), "neg": (lambda a: -a, False),
    "reshape": (lambda a: a.reshape(-1), False), "slice": (lambda a: a[1:], False), "select": (lambda a: a[0], False),
    "transpose": (lambda a: a.t(), False), "clone": (lambda a: a.clone(), False),
    "sum": (lambda a: a.sum(0), False), "unsqueeze": (lambda a: a[None], False),
}


@pytest.mark.parametrize("name", LIBS)
@pytest.mark.parametrize("op", OPS)
def test_a_second_backward_fails_exactly_where_saved_values_were_freed(name, op):
    lib = lib_named(name)
    fn, saves = OPS[op]
    a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = fn(a).sum()
    y.backward()
    first = a.grad.tolist()
    if saves:
        with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
            y.backward()
    else:
        y.backward()
        np.testing.assert_allclose(a.grad.tolist(), 2 * np.array(first))


# ---- inference mode -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LIBS)
def test_inference_tensors_cannot_be_saved_for_backward(name):
    lib = lib_named(name)
    with lib.inference_mode():
        x = lib.ones(2)
        inside = x * 2
    assert x.is_inference() and inside.is_inference() and not lib.ones(2).is_inference()
    w = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        w * x
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        x * w
    (w + x).sum().backward()  # (add saves nothing)
    assert w.grad.tolist() == [1.0, 1.0] and (w * x.clone()).requires_grad
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
        x.add_(1)
    with lib.inference_mode():
        x.add_(1)
    with lib.no_grad():
        assert not (lib.ones(2) * 2).is_inference()

    @lib.inference_mode()
    def made():
        return lib.zeros(1)

    assert made().is_inference()
    with lib.inference_mode():
        with lib.inference_mode(False):
            assert lib.is_grad_enabled() and not lib.ones(1).is_inference()


def test_a_composite_op_refuses_inference_tensors_too():
    with dt.inference_mode():
        x = dt.ones(3)
    w = dt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Inference tensors"):
        dt.xlogy(w, x)  # (one XlogyBackward0 node, which saves both operands)
    assert dt.where(dt.tensor([True, False, True]), w, x).sum().item() == 3.0  # (where saves the mask only)


# ---- node names ---------------------------------------------------------------------------------------------
NAMES = {
    "clone": (lambda a, lib: a.clone(), "CloneBackward0"),
    "a[None]": (lambda a, lib: a[None], "UnsqueezeBackward0"),
    "a[:, None]": (lambda a, lib: a[:, None], "UnsqueezeBackward0"),
    "a[0, None]": (lambda a, lib: a[0, None], "UnsqueezeBackward0"),
    "a[None, 0]": (lambda a, lib: a[None, 0], "SelectBackward0"),
    "a[..., None]": (lambda a, lib: a[..., None], "UnsqueezeBackward0"),
    "a[0]": (lambda a, lib: a[0], "SelectBackward0"),
    "a[:, 0]": (lambda a, lib: a[:, 0], "SelectBackward0"),
    "a[0, :]": (lambda a, lib: a[0, :], "SelectBackward0"),
    "a[0, ...]": (lambda a, lib: a[0, ...], "SelectBackward0"),
    "a[1:]": (lambda a, lib: a[1:], "SliceBackward0"),
    "a[0, 1:]": (lambda a, lib: a[0, 1:], "SliceBackward0"),
    "a[:, None, 1:]": (lambda a, lib: a[:, None, 1:], "SliceBackward0"),
    "a[1:, 0]": (lambda a, lib: a[1:, 0], "SelectBackward0"),
    "a[index]": (lambda a, lib: a[lib.tensor([0, 1])], "IndexBackward0"),
    "a[mask]": (lambda a, lib: a[a > 2], "IndexBackward0"),
    "a.t()": (lambda a, lib: a.t(), "TBackward0"),
    "v.t()": (lambda a, lib: a[0].t(), "TBackward0"),
    "a.T": (lambda a, lib: a.T, "PermuteBackward0"),
    "a.mT": (lambda a, lib: a.mT, "TransposeBackward0"),
    "transpose": (lambda a, lib: a.transpose(0, 1), "TransposeBackward0"),
    "swapaxes": (lambda a, lib: a.swapaxes(0, 1), "TransposeBackward0"),
    "permute": (lambda a, lib: a.permute(1, 0), "PermuteBackward0"),
    "2 / a": (lambda a, lib: 2 / a, "MulBackward0"),
    "a / 2": (lambda a, lib: a / 2, "DivBackward0"),
    "2 - a": (lambda a, lib: 2 - a, "RsubBackward1"),
    "expand": (lambda a, lib: a[:, :1].expand(2, 3), "ExpandBackward0"),
    "reshape": (lambda a, lib: a.reshape(6), "ViewBackward0"),
}


@pytest.mark.parametrize("name", LIBS)
@pytest.mark.parametrize("case", NAMES)
def test_nodes_are_named_as_torch_names_them(name, case):
    lib = lib_named(name)
    fn, expected = NAMES[case]
    a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert node_name(fn(a, lib).grad_fn) == expected


def test_reciprocal_then_product_as_torch_computes_a_number_over_a_tensor():
    a = dt.tensor([3.0, 7.0], requires_grad=True)
    out = 2 / a
    assert [node_name(n) for n, _ in out.grad_fn.next_functions if n is not None] == ["ReciprocalBackward0"]
    assert out.tolist() == (dt.tensor([1.0, 1.0]) / a.detach() * 2).tolist()
    out.sum().backward()
    np.testing.assert_allclose(a.grad.tolist(), [-2 / 9, -2 / 49], rtol=1e-6)
    assert (2 / dt.tensor([1, 2])).tolist() == [2.0, 1.0] and (2 / dt.tensor([1, 2])).dtype == np.float32


# ---- autograd.Function outputs ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LIBS)
def test_integer_and_boolean_outputs_of_a_function_do_not_require_grad(name):
    lib = lib_named(name)

    class Split(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x > 0, x.long(), x * 2

        @staticmethod
        def backward(ctx, positive, whole, doubled):
            return doubled * 2

    class Sign(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x > 0

        @staticmethod
        def backward(ctx, g):
            return g

    x = lib.tensor([1.0, -2.0], requires_grad=True)
    positive, whole, doubled = Split.apply(x)
    assert [t.requires_grad for t in (positive, whole, doubled)] == [False, False, True]
    doubled.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    single = Sign.apply(x)
    assert not single.requires_grad and single.grad_fn is None


# ---- dtypes: matrix products, elementwise promotion, low-precision gradients -------------------------------
@pytest.mark.parametrize("name", LIBS)
def test_matrix_products_refuse_mixed_dtypes_and_elementwise_ops_promote(name):
    lib = lib_named(name)
    f32, f64 = lib.ones(2, 2), lib.ones(2, 2, dtype=lib.float64)
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != double"):
        f32 @ f64
    with pytest.raises(RuntimeError, match="same dtype"):
        lib.ones(2, 2, dtype=lib.float16) @ f32
    with pytest.raises(RuntimeError, match="dot : expected both vectors to have same dtype, but found Float and Doub"):
        lib.ones(2).dot(lib.ones(2, dtype=lib.float64))
    assert str((f32 * f64).dtype).endswith("float64") and str((f32 @ f32).dtype).endswith("float32")
    assert str((lib.ones(2, dtype=lib.float16) * lib.ones(2)).dtype).endswith("float32")
    assert str((lib.ones(2, dtype=lib.int64) * lib.ones(2)).dtype).endswith("float32")


LOW = ["float16", "bfloat16"]


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")  # (torch's, of the reference cycle)
@pytest.mark.parametrize("name", LIBS)
@pytest.mark.parametrize("low", LOW)
def test_gradients_of_low_precision_leaves_have_their_dtype(name, low):
    lib = lib_named(name)
    if name == "dualtape" and low == "bfloat16":
        pytest.importorskip("ml_dtypes")
    dtype = getattr(lib, low)

    def leaf():
        return lib.ones(2, dtype=dtype, requires_grad=True)

    x = leaf()
    (x * lib.ones(2)).sum().backward()
    assert x.grad.dtype == dtype
    x = leaf()
    (x.float() * lib.ones(2, dtype=lib.float64)).sum().backward(create_graph=True)
    assert x.grad.dtype == dtype
    x = leaf()
    (g,) = lib.autograd.grad((x.double() * 3).sum(), x, create_graph=True)
    assert g.dtype == dtype
    x = leaf()
    x.register_hook(lambda grad: grad.float())
    with pytest.raises(RuntimeError, match="hook .* has changed the type of value"):
        (x * 2).sum().backward()


# ---- docstrings ---------------------------------------------------------------------------------------------
def test_every_public_tensor_method_and_property_has_a_docstring():
    missing = []
    for name in dir(dt.Tensor):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(dt.Tensor, name)
        doc = member.__doc__ if isinstance(member, property) else getattr(getattr(dt.Tensor, name), "__doc__", None)
        if callable(getattr(dt.Tensor, name)) or isinstance(member, property):
            if not (doc or "").strip():
                missing.append(name)
    assert not missing, f"Tensor members without a docstring: {missing}"


# ---- piecewise-constant ops stay in the graph, with zero gradients ----------------------------------------
@pytest.mark.parametrize("name", LIBS)
@pytest.mark.parametrize("op", ["floor", "ceil", "round", "sign"])
def test_piecewise_constant_results_require_grad_and_give_zero_gradients(name, op):
    """PyTorch records floor, ceil, round and sign (FloorBackward0, ...): their results require grad, a backward
    through them gives zeros, and a straight-through estimator x + (round(x) - x).detach() gives ones."""
    lib = lib_named(name)
    x = lib.tensor(np.array([0.4, -1.6, 2.5, -0.0]), requires_grad=True)
    y = getattr(x * 1, op)()
    assert y.requires_grad and node_name(y.grad_fn).endswith(op.capitalize() + "Backward0")
    (g,) = lib.autograd.grad((y * 3).sum(), x)
    np.testing.assert_array_equal(g.numpy(), np.zeros(4))
    z = x * 1
    getattr(z, op + "_")()
    assert node_name(z.grad_fn).endswith(op.capitalize() + "Backward0")
    (x + (getattr(x, op)() - x).detach()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(4))
    assert not (x > 0).requires_grad  # (a comparison's boolean result stays out of the graph)


# ---- PyTorch's method names for the elementwise rows --------------------------------------------------------
METHOD_CALLS = {
    "add(alpha)": lambda x, y: x.add(y, alpha=2.5), "sub(alpha)": lambda x, y: x.sub(y, alpha=0.5),
    "mul": lambda x, y: x.mul(y), "div": lambda x, y: x.div(y), "remainder": lambda x, y: x.remainder(y),
    "maximum": lambda x, y: x.maximum(y), "minimum": lambda x, y: x.minimum(y), "atan2": lambda x, y: x.atan2(y),
    "asin": lambda x, y: (x / 4).asin(), "acos": lambda x, y: (x / 4).acos(), "atan": lambda x, y: x.atan(),
    "sinh": lambda x, y: x.sinh(), "cosh": lambda x, y: x.cosh(), "exp2": lambda x, y: x.exp2(),
    "log2": lambda x, y: y.log2() * x, "log10": lambda x, y: y.log10() * x,
    "floor_divide": lambda x, y: x.detach().floor_divide(y.detach()) + x, "asin_": lambda x, y: (x / 4).asin_(),
    "remainder(2.5)": lambda x, y: x.remainder(2.5),
    "comparisons": lambda x, y: x * x.gt(y) + x * x.le(y) + y * x.eq(x) - x * x.ne(y) + x * x.lt(y) * x.ge(y),
    "logical": lambda x, y: x * x.gt(0).logical_and(y.gt(1)).logical_or(x.lt(-1)).logical_not(),
}


@pytest.mark.parametrize("call", list(METHOD_CALLS))
def test_pytorch_method_names_of_elementwise_ops(call):
    """x.add(y, alpha=), x.gt(y), x.asin(), ... as PyTorch's: values, node names and gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0, y0 = rng.uniform(-2.0, 2.0, (3, 4)), rng.uniform(0.5, 2.0, (3, 4))
    results = []
    for lib in (dt, torch):
        x, y = lib.tensor(x0, requires_grad=True), lib.tensor(y0, requires_grad=True)
        out = METHOD_CALLS[call](x * 1, y)
        out.sum().backward()
        results.append((out.detach().numpy(), node_name(out.grad_fn), x.grad.numpy(), y.grad))
    (ours, our_node, our_x, our_y), (theirs, their_node, their_x, their_y) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert our_node == their_node.replace("torch::autograd::", "")
    np.testing.assert_allclose(our_x, their_x, rtol=1e-12)
    assert (our_y is None) == (their_y is None)
    if our_y is not None:
        np.testing.assert_allclose(our_y.numpy(), their_y.numpy(), rtol=1e-12)


ROW_METHODS = {prim.faces.method: prim for prim in REGISTRY.values() if prim.faces.method and prim.name != "matmul"}


@pytest.mark.parametrize("name", sorted(ROW_METHODS))
def test_function_forms_of_the_row_methods_are_pytorchs(name):
    """dt.asin(x), dt.floor(x), dt.gt(x, y), ...: each row method's function form, as torch.asin and friends."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x0, y0 = rng.uniform(-0.9, 0.9, (2, 3)), rng.uniform(0.5, 2.0, (2, 3))
    integers = name.startswith("bitwise")
    results = []
    for lib in (dt, torch):
        x, y = (lib.tensor((v * 10).astype(np.int64) if integers else v) for v in (x0, y0))
        args = (x, y)[:len(ROW_METHODS[name].operands)]
        results.append((getattr(lib, name)(*args).numpy(), getattr(x, name)(*args[1:]).numpy()))
    (ours, our_method), (theirs, _) = results
    np.testing.assert_array_equal(ours, our_method)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
