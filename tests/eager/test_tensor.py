"""The eager Tensor as PyTorch's tutorials show it: leaves and requires_grad, gradient accumulation, grad_fn
names and next_functions, retain_grad, detach sharing storage, hooks, dtype rules, in-place operations and
their version counters, and NumPy interop. Every number is a tutorial value, a hand-derived derivative, or
(where PyTorch is installed) what torch prints for the same script."""

import numpy as np
import pytest

import dualtape as dt
from testkit import torch_or_skip


# ---- the autograd tutorial, value for value ---------------------------------------------------------
def test_two_backward_calls_accumulate_then_zero():
    x = dt.tensor(2.0, requires_grad=True)
    y = x ** 2
    y.backward()
    assert x.grad.item() == 4.0
    (x ** 2).backward()
    assert x.grad.item() == 8.0  # accumulated, not replaced
    grad = x.grad
    x.grad.zero_()
    assert x.grad is grad and x.grad.item() == 0.0  # zeroed in place
    (x ** 2).backward()
    assert x.grad.item() == 4.0


def test_derivative_of_sin_of_square():
    x = dt.tensor(2.0, requires_grad=True)
    dt.sin(x ** 2).backward()
    assert x.grad.item() == pytest.approx(2 * 2.0 * np.cos(4.0), rel=1e-6)


def test_partials_of_a_polynomial_in_two_variables():
    x = dt.tensor(1.0, requires_grad=True)
    y = dt.tensor(2.0, requires_grad=True)
    z = x ** 2 * y + x * y ** 2
    z.backward()
    assert (x.grad.item(), y.grad.item()) == (8.0, 5.0)  # 2xy + y^2, x^2 + 2xy


def test_non_scalar_backward_takes_a_gradient():
    x = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(gradient=dt.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    x.grad = None
    (x * x).backward(gradient=dt.tensor([1.0, 0.0, -1.0]))  # a weighted vector-Jacobian product
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, -6.0])


def test_retain_graph_allows_a_second_backward():
    x = dt.tensor(2.0, requires_grad=True)
    y = x.exp()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * np.exp(2.0), rel=1e-6)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = x * 4
    y.retain_grad()
    assert y.retains_grad and not z.retains_grad
    (y * y + z).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 12.0])  # d/dy of y^2
    np.testing.assert_array_equal(x.grad.numpy(), [22.0, 40.0])  # 18 x + 4
    assert z.grad is None


def test_is_leaf():
    a = dt.tensor([1.0, 2.0], requires_grad=True)
    b = dt.tensor([1.0, 2.0])
    assert a.is_leaf and b.is_leaf
    assert not (a * 2).is_leaf
    assert (b * 2).is_leaf and not (b * 2).requires_grad  # no input requires grad: nothing recorded
    with dt.no_grad():
        c = a * 2
    assert c.is_leaf and not c.requires_grad and c.grad_fn is None
    d = a.detach()
    assert d.is_leaf and not d.requires_grad


# ---- grad_fn ---------------------------------------------------------------------------------------------
V = np.array([0.5, 1.5])
M = np.array([[1.0, 2.0], [3.0, 4.0]])

GRAD_FN_NAMES = [  # (PyTorch's name, the op); every operand is a float64 leaf requiring grad
    ("AddBackward0", lambda a, b, m: a + b),
    ("SubBackward0", lambda a, b, m: a - b),
    ("MulBackward0", lambda a, b, m: a * b),
    ("DivBackward0", lambda a, b, m: a / b),
    ("PowBackward0", lambda a, b, m: a ** 2),
    ("PowBackward1", lambda a, b, m: a ** b),
    ("SumBackward0", lambda a, b, m: a.sum()),
    ("MeanBackward0", lambda a, b, m: a.mean()),
    ("ExpBackward0", lambda a, b, m: a.exp()),
    ("SinBackward0", lambda a, b, m: dt.sin(a)),
    ("MmBackward0", lambda a, b, m: m @ m),
    ("MmBackward0", lambda a, b, m: dt.matmul(m, m)),
    ("MvBackward0", lambda a, b, m: m @ a),
    ("DotBackward0", lambda a, b, m: a.dot(b)),
    ("NegBackward0", lambda a, b, m: -a),
    ("TanhBackward0", lambda a, b, m: a.tanh()),
    ("SigmoidBackward0", lambda a, b, m: a.sigmoid()),
    ("LogBackward0", lambda a, b, m: a.log()),
    ("SqrtBackward0", lambda a, b, m: a.sqrt()),
    ("MeanBackward1", lambda a, b, m: m.mean(0)),
    ("LinalgVectorNormBackward0", lambda a, b, m: a.norm()),
    ("ReluBackward0", lambda a, b, m: a.relu()),
    ("SoftmaxBackward0", lambda a, b, m: a.softmax(0)),
    ("LogSoftmaxBackward0", lambda a, b, m: dt.log_softmax(a, dim=0)),
    ("ViewBackward0", lambda a, b, m: m.reshape(4)),
    ("UnsqueezeBackward0", lambda a, b, m: a.unsqueeze(0)),
    ("PermuteBackward0", lambda a, b, m: m.T),
    ("SelectBackward0", lambda a, b, m: m[0]),
]


@pytest.mark.parametrize("name, op", GRAD_FN_NAMES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GRAD_FN_NAMES)])
def test_grad_fn_is_named_as_in_pytorch(name, op):
    a, b, m = (dt.tensor(v, requires_grad=True) for v in (V, V[::-1].copy(), M))
    fn = op(a, b, m).grad_fn
    assert fn.name() == name
    assert repr(fn) == f"<{name}>"


def test_next_functions_point_at_accumulate_grad_for_leaves():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    w = dt.tensor([3.0, 4.0], requires_grad=True)
    s = (x * w).sum()
    ((mul, index),) = s.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and index == 0
    (acc_x, _), (acc_w, _) = mul.next_functions
    assert repr(acc_x) == "<AccumulateGrad>" and acc_x.variable is x and acc_w.variable is w
    assert acc_x.next_functions == ()
    assert x.grad_fn is None  # a leaf has no grad_fn; its AccumulateGrad is the same node every time
    assert (x + 1).grad_fn.next_functions[0][0] is acc_x
    # an operand that does not require grad is a None edge, as in PyTorch
    assert (x * 2).grad_fn.next_functions[1] == (None, 0)
    assert (x * dt.tensor([1.0, 1.0])).grad_fn.next_functions[1] == (None, 0)


def test_grad_fn_name_survives_backward():
    """The name a node is shown with does not change once its saved values are freed."""
    m = dt.tensor(M, requires_grad=True)
    y = (m @ m).sum()
    node = y.grad_fn.next_functions[0][0]
    y.backward()
    assert node.name() == "MmBackward0"


# ---- dtypes and factories ----------------------------------------------------------------------------
def test_dtype_rules():
    assert dt.tensor([1.0, 2.0]).dtype == np.float32  # PyTorch's default dtype
    assert dt.tensor(np.array([1.0, 2.0])).dtype == np.float64  # a NumPy array keeps its dtype
    assert dt.tensor([1, 2]).dtype == np.int64
    assert dt.tensor([1.0], dtype=np.float64).dtype == np.float64
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.dtype == np.float32  # the gradient has its leaf's dtype
    y = dt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (y * y).sum().backward()
    assert y.grad.dtype == np.float64
    with pytest.raises(RuntimeError, match="floating point"):
        dt.tensor([1, 2], requires_grad=True)


def test_factories():
    for t in (dt.zeros(2, 3), dt.ones((2, 3)), dt.randn(2, 3), dt.rand(2, 3), dt.full((2, 3), 7.0)):
        assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
    w = dt.randn(3, 2, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(dt.eye(2).numpy(), np.eye(2))
    assert dt.arange(3).dtype == np.int64 and dt.arange(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_allclose(dt.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    like = dt.ones_like(dt.tensor(np.zeros(3)))
    assert like.dtype == np.float64 and like.shape == (3,) and like.tolist() == [1.0, 1.0, 1.0]
    assert dt.zeros_like(w).shape == (3, 2)


def test_attributes():
    x = dt.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.shape == (1, 3) and x.ndim == 2 and x.T.shape == (3, 1)
    assert x.sum().item() == 6.0 and isinstance(x.sum().item(), float)
    assert x.detach().tolist() == [[1.0, 2.0, 3.0]]


def test_pytorch_spellings_win_over_numpy_ones():
    """transpose(d0, d1) swaps two dimensions (NumPy's transpose(0, 1) of a matrix is the identity); item()
    keeps an integer an int; max(dim) gives values and indices."""
    m = dt.tensor(M, requires_grad=True)
    np.testing.assert_array_equal(m.transpose(0, 1).detach().numpy(), M.T)
    np.testing.assert_array_equal(m.t().detach().numpy(), M.T)
    assert dt.zeros(2, 3, 4).transpose(0, 2).shape == (4, 3, 2)
    (m.transpose(0, 1) * dt.tensor(np.array([[0.0, 1.0], [0.0, 0.0]]))).sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), [[0.0, 0.0], [1.0, 0.0]])
    assert dt.tensor(3).item() == 3 and isinstance(dt.tensor(3).item(), int)
    values, indices = dt.tensor(M).max(dim=0)
    assert values.tolist() == [3.0, 4.0] and indices.tolist() == [1, 1]


def test_requires_grad_():
    x = dt.tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    assert y.requires_grad


# ---- detach ------------------------------------------------------------------------------------------
def test_detach_shares_storage():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.add_(1)  # in-place on the detached tensor shows in the original
    np.testing.assert_array_equal(x.detach().numpy(), [2.0, 3.0])
    d.zero_()
    np.testing.assert_array_equal(x.detach().numpy(), [0.0, 0.0])
    assert np.shares_memory(x.detach().numpy(), x.detach().numpy())


def test_detach_shares_the_version_counter():
    """Modifying a saved value through a detached alias is caught like modifying it directly."""
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    c = (a * a).sum()
    a.detach().mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.backward()
    assert x.grad is None


def test_detach_in_place():
    x = dt.tensor([1.0], requires_grad=True)
    y = x * 2
    assert y.detach_() is y and y.grad_fn is None and not y.requires_grad and y.is_leaf


# ---- hooks -----------------------------------------------------------------------------------------------
def test_hook_modifies_the_gradient_and_its_handle_removes_it():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: g * 10)
    observer = x.register_hook(lambda g: seen.append(g.tolist()))  # returning None leaves g as it is
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 40.0])
    assert seen == [[20.0, 40.0]]  # hooks run in order, each seeing the previous one's result
    handle.remove()
    observer.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert len(seen) == 1


def test_hook_on_a_non_leaf_changes_what_flows_on():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 0.5)
    (y * y).sum().backward()  # dy = 2y = [6, 12], halved, then times 3
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 18.0])


def test_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        dt.tensor([1.0]).register_hook(lambda g: g)


# ---- in-place operations and version counters ------------------------------------------------------------
def test_in_place_ops_bump_the_version():
    t = dt.tensor([1.0, 2.0])
    assert t._version[0] == 0
    t.add_(1).mul_(2)
    t += 1
    assert t._version[0] == 3
    np.testing.assert_array_equal(t.numpy(), [5.0, 7.0])


@pytest.mark.parametrize("op, expected", [  # y = x * x, then y op= c in place; d(sum y)/dx at x = [1, 2]
    (lambda y: y.mul_(2), [4.0, 8.0]),
    (lambda y: y.add_(1), [2.0, 4.0]),
    (lambda y: y.sub_(1), [2.0, 4.0]),
    (lambda y: y.div_(2), [1.0, 2.0]),
    (lambda y: y.pow_(2), [4.0, 32.0]),  # d x^4 = 4 x^3
    (lambda y: y.__imul__(3), [6.0, 12.0]),
])
def test_in_place_on_a_non_leaf_is_differentiated(op, expected):
    """As PyTorch: the in-place op joins the graph, and the gradient is that of the value computed."""
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    assert op(y) is y and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_in_place_multiply_by_a_tensor_requiring_grad():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    w = dt.tensor([3.0, 4.0], requires_grad=True)
    y = x * 1
    y.mul_(w)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])  # the value y had before mul_


def test_in_place_after_an_op_that_saves_its_output_is_never_silently_wrong():
    """exp saves its result; changing it in place must not change the gradient (PyTorch raises instead)."""
    x = dt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    e = x.exp()
    s = e.sum()
    e.mul_(2)
    try:
        s.backward()
    except RuntimeError as err:
        assert "inplace" in str(err)
    else:
        np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]))


def test_hooks_and_retain_grad_follow_a_tensor_through_in_place_ops():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.mul_(2)
    y.retain_grad()
    y.register_hook(lambda g: g * 3)
    (y * 1).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_in_place_under_no_grad_on_a_leaf_is_allowed():
    """What optimizers do: p -= lr * p.grad."""
    p = dt.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    with dt.no_grad():
        p -= 0.5 * p.grad
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    np.testing.assert_array_equal(p.detach().numpy(), [0.0, 0.0])


# ---- NumPy interop --------------------------------------------------------------------------------------
def test_numpy_of_a_detached_tensor_shares_memory():
    x = dt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    arr = x.detach().numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
    arr[0] = 5.0
    assert x.detach().tolist() == [5.0, 2.0]
    np.testing.assert_array_equal(np.asarray(x.detach()), [5.0, 2.0])
    np.testing.assert_array_equal(np.asarray(dt.tensor([1.0, 2.0])), [1.0, 2.0])


def test_numpy_of_a_tensor_requiring_grad_suggests_detach():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\.detach\(\)\.numpy\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match=r"detach"):
        np.asarray(x)
    with pytest.raises(RuntimeError, match=r"\.detach\(\)\.numpy\(\)"):
        (x * 2).numpy()


# ---- PyTorch as the oracle ---------------------------------------------------------------------------
TORCH_SCRIPTS = {  # one script, run once with dt and once with torch: (lib, leaves) -> output
    "polynomial": lambda lib, x, w: (x ** 2 * w + x * w ** 2).sum(),
    "transcendental": lambda lib, x, w: (lib.sin(x * w) + lib.exp(-x) / (1 + w ** 2)).sum(),
    "matrix": lambda lib, x, w: lib.tanh(x.reshape(2, 2) @ w.reshape(2, 2)).sum(),
    "broadcast": lambda lib, x, w: ((x.reshape(4, 1) - w.reshape(1, 4)) ** 2).mean(),
    "reductions": lambda lib, x, w: (lib.softmax(x, dim=0) * w).sum() + x.norm() + lib.relu(w).max(),
    "log_softmax": lambda lib, x, w: -(lib.log_softmax(x * w, dim=0)[1]),
    "sigmoid_sqrt": lambda lib, x, w: (lib.sigmoid(x) * lib.sqrt(w * w + 1)).sum() - lib.abs(x - w).sum(),
}


def _torch_names(node, seen=None):
    """The names of every node reachable from node, in a deterministic walk (depth first)."""
    seen = [] if seen is None else seen
    if node is None:
        return seen
    name = node.name().split("::")[-1]
    seen.append(name)
    for nxt, _ in node.next_functions:
        _torch_names(nxt, seen)
    return seen


@pytest.mark.parametrize("script", sorted(TORCH_SCRIPTS))
def test_same_numbers_and_graph_as_torch(script):
    torch = torch_or_skip()
    f = TORCH_SCRIPTS[script]
    xv = np.array([0.3, -1.2, 0.7, 1.1])
    wv = np.array([1.5, 0.4, -0.6, 0.9])
    x, w = dt.tensor(xv, requires_grad=True), dt.tensor(wv, requires_grad=True)
    tx, tw = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
    out, t_out = f(dt, x, w), f(torch, tx, tw)
    out.backward()
    t_out.backward()
    np.testing.assert_allclose(out.item(), t_out.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert _torch_names(out.grad_fn) == _torch_names(t_out.grad_fn)


def test_tutorial_numbers_as_torch():
    torch = torch_or_skip()
    for lib in (dt, torch):
        x = lib.tensor(2.0, requires_grad=True)
        (x ** 2).backward()
        (x ** 2).backward()
        assert x.grad.item() == 8.0
        x = lib.tensor(1.0, requires_grad=True)
        y = lib.tensor(2.0, requires_grad=True)
        (x ** 2 * y + x * y ** 2).backward()
        assert (x.grad.item(), y.grad.item()) == (8.0, 5.0)
        assert str(lib.tensor([1.0, 2.0]).dtype).endswith("float32")
        assert str(lib.tensor(np.array([1.0, 2.0])).dtype).endswith("float64")


@pytest.mark.parametrize("op", [lambda y: y.mul_(2), lambda y: y.add_(1), lambda y: y.div_(2),
                                lambda y: y.pow_(2), lambda y: y.sub_(0.5)])
def test_in_place_on_a_non_leaf_as_torch(op):
    torch = torch_or_skip()
    grads = []
    for lib in (dt, torch):
        x = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = x * x
        op(y)
        (y * x).sum().backward()
        grads.append(np.array(x.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
