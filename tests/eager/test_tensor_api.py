"""PyTorch compatibility of the eager Tensor API beyond the tutorials: max/min over a dim (gradient to the
returned index) and against another tensor, var/std with Bessel's correction, dims given as lists, squeeze of a
dimension that is not 1, flatten, format specs, the dt.* function forms and dtype names, the in-place methods
ending in `_`, bitwise operators, full's dtype inference, casts to integers, and PyTorch's validation errors.
Each behaviour is checked by hand-derived values (so CI without torch still checks it) and, where torch is
installed, against what torch computes for the same program."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from testkit import torch_or_skip

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], np.float32)
CUBE = np.array([[[1.0, 5.0], [5.0, 2.0]], [[0.0, 0.0], [7.0, 7.0]], [[4.0, 1.0], [4.0, 9.0]]], np.float32)


def _grad(fn, data, module=dt):
    """(fn(x), dfn/dx summed) for a leaf x of module (dualtape or torch) holding data."""
    x = module.tensor(np.array(data), requires_grad=True)
    out = fn(x)
    out.sum().backward()
    return np.asarray(out.detach().numpy()), x.grad.numpy()


def _same_as_torch(fn, data, rtol=1e-6):
    torch = torch_or_skip()
    ours, theirs = _grad(fn, data, dt), _grad(fn, data, torch)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6)


# ---- max(dim) / min(dim): the gradient goes to the returned index ----------------------------------------
def test_max_dim_gradient_goes_to_the_returned_index_not_split_among_ties():
    x = dt.tensor(TIES, requires_grad=True)
    values, indices = x.max(dim=1)
    values.sum().backward()
    assert indices.tolist() == [1, 0] and values.tolist() == [3.0, 2.0]
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert values.grad_fn.name() == "MaxBackward0"
    y = dt.tensor(TIES, requires_grad=True)
    out = y.min(0, keepdim=True)
    out.values.sum().backward()
    assert out.indices.tolist() == [[0, 1, 1]] and out.values.shape == (1, 3)
    np.testing.assert_array_equal(y.grad.numpy(), [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])


def test_full_max_still_shares_the_gradient_among_ties():
    x = dt.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5])  # (as PyTorch too)


def test_max_dim_of_a_0d_tensor_and_second_order():
    s = dt.tensor(3.0, requires_grad=True)
    values, indices = s.max(0)
    values.backward()
    assert values.item() == 3.0 and indices.item() == 0 and s.grad.item() == 1.0
    x = dt.tensor(TIES, requires_grad=True)
    (g,) = dt.autograd.grad((x.max(1).values ** 2).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [[0.0, 6.0, 0.0], [4.0, 0.0, 0.0]])
    g.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 2.0, 0.0], [2.0, 0.0, 0.0]])


def test_max_dim_in_traced_code_agrees():
    f = lambda x: (x.max(dim=1).values ** 2).sum() + x.min(0, keepdim=True)[0].sum()
    np.testing.assert_array_equal(dt.autograd.functional.jacobian(f, dt.tensor(TIES)).numpy(),
                                  [[1.0, 6.0, 0.0], [4.0, 1.0, 1.0]])
    x = dt.tensor(TIES, requires_grad=True)
    dt.compile(f)(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 6.0, 0.0], [4.0, 1.0, 1.0]])


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_match_torch(op, dim, keepdim):
    torch = torch_or_skip()
    _same_as_torch(lambda x: getattr(x, op)(dim, keepdim).values * 2, CUBE)
    ours = getattr(dt.tensor(CUBE), op)(dim=dim, keepdim=keepdim).indices.numpy()
    np.testing.assert_array_equal(ours, getattr(torch.tensor(CUBE), op)(dim=dim, keepdim=keepdim).indices.numpy())


# ---- max(other) / min(other) ---------------------------------------------------------------------------
def test_max_and_min_of_another_tensor_are_elementwise():
    a, b = dt.tensor([1.0, 3.0]), dt.tensor([2.0, 2.0])
    assert a.max(b).tolist() == [2.0, 3.0] and a.min(b).tolist() == [1.0, 2.0]
    assert dt.max(a, b).tolist() == [2.0, 3.0] and dt.min(a, b).tolist() == [1.0, 2.0]
    assert dt.max(a).item() == 3.0 and dt.min(a, 0).indices.item() == 0


def test_max_of_another_tensor_matches_torch():
    torch = torch_or_skip()
    for mod in (dt, torch):
        x = mod.tensor([1.0, 3.0, 2.0], requires_grad=True)
        (x.max(mod.tensor([2.5, 2.5, 2.5])) * mod.tensor([1.0, 2.0, 3.0])).sum().backward()
        assert x.grad.tolist() == [0.0, 2.0, 0.0]


# ---- var / std ------------------------------------------------------------------------------------------
def test_var_and_std_use_bessels_correction_by_default():
    x = dt.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(5 / 3) and x.std().item() == pytest.approx(np.sqrt(5 / 3))
    for biased in (x.var(unbiased=False), x.var(False), x.var(correction=0), dt.var(x, unbiased=False)):
        assert biased.item() == pytest.approx(1.25)
    assert x.std(correction=2).item() == pytest.approx(np.sqrt(5 / 2))
    m = dt.tensor([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(m.std(dim=0).numpy(), [np.sqrt(2), np.sqrt(4.5)], rtol=1e-6)
    np.testing.assert_allclose(m.var(1, True, True).numpy(), [[0.5], [2.0]], rtol=1e-6)
    assert m.var([0, 1]).item() == pytest.approx(np.var([1, 2, 3, 5], ddof=1))
    assert m.var().grad_fn is None and dt.std(m, (0, 1), keepdim=True).shape == (1, 1)
    assert dnp.var(np.array([1.0, 2.0, 3.0, 4.0])) == 1.25  # (dnp keeps NumPy's ddof=0)
    with pytest.raises(TypeError, match="either"):
        x.var(unbiased=True, correction=1)


def test_var_gradient():
    x = dt.tensor([1.0, 2.0, 4.0], requires_grad=True)
    v = x.var()
    v.backward()
    assert v.grad_fn.name() == "VarBackward0"
    np.testing.assert_allclose(x.grad.numpy(), 2 * (x.detach().numpy() - 7 / 3) / 2, rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": 1, "keepdim": True}, {"dim": (0, 1)}, {"dim": [0]},
                                    {"unbiased": False}, {"dim": -1, "correction": 0}, {"correction": 2}])
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_and_std_match_torch(op, kwargs):
    _same_as_torch(lambda x: getattr(x, op)(**kwargs), [[1.0, 2.0, 4.5], [3.0, 5.0, -1.0]])


# ---- dims given as lists ---------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["mean", "sum", "var", "std", "norm", "prod", "amax", "logsumexp"])
def test_dims_given_as_a_list_work_with_requires_grad(op):
    x = dt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    call = {"norm": lambda t: t.norm(dim=[0, 1]), "amax": lambda t: dt.amax(t, [0, 1])}.get(
        op, lambda t: getattr(t, op)([0, 1]))
    out = call(x)
    out.backward()
    same = {"norm": lambda t: t.norm(dim=(0, 1)), "amax": lambda t: dt.amax(t, (0, 1))}.get(
        op, lambda t: getattr(t, op)((0, 1)))
    y = dt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    same(y).backward()
    assert out.item() == pytest.approx(same(y).item())
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy())


def test_dims_as_a_list_match_torch():
    _same_as_torch(lambda x: x.mean([0, 2]).sum() + x.var([1, 2]).sum() + x.norm(dim=[0, 1]).sum(), CUBE,
                   rtol=1e-5)


# ---- squeeze, flatten ------------------------------------------------------------------------------------
def test_squeeze_of_a_dimension_that_is_not_one_is_a_no_op():
    assert dt.zeros(4, 3).squeeze(1).shape == (4, 3)
    assert dt.zeros(4, 1, 3).squeeze((0, 1)).shape == (4, 3)
    assert dt.zeros(4, 1).squeeze(-1).shape == (4,) and dt.zeros(1, 2, 1).squeeze().shape == (2,)
    assert dt.squeeze(dt.zeros(2, 1, 3), 1).shape == (2, 3) and dt.squeeze(dt.zeros(2, 3), 0).shape == (2, 3)
    with pytest.raises(ValueError, match="out of bounds"):
        dt.zeros(4, 3).squeeze(2)


def test_flatten_with_start_and_end_dims():
    x = dt.zeros(8, 3, 4, 5)
    assert x.flatten(1).shape == (8, 60) and x.flatten().shape == (480,) and x.flatten(1, 2).shape == (8, 12, 5)
    assert x.flatten(0, -2).shape == (96, 5) and x.flatten(start_dim=2).shape == (8, 3, 20)
    assert dt.tensor(1.0).flatten().shape == (1,) and dt.flatten(x, 1, -1).shape == (8, 60)
    with pytest.raises(ValueError, match="start_dim cannot come after end_dim"):
        x.flatten(2, 1)
    program = dt.trace(lambda a: a.flatten(1))(np.ones((2, 3, 4)))  # (traced values take the same spelling)
    assert program.out_avals[0].shape == (2, 12)
    assert np.ones((2, 3)).flatten().shape == (6,) and dt.jit(lambda a: a.flatten())(np.ones((2, 3))).shape == (6,)


def test_squeeze_and_flatten_match_torch():
    torch = torch_or_skip()
    for shape, call in [((4, 3), lambda t: t.squeeze(1)), ((4, 1, 3), lambda t: t.squeeze((0, 1))),
                        ((2, 3, 4, 5), lambda t: t.flatten(1)), ((2, 3, 4, 5), lambda t: t.flatten(1, 2)),
                        ((), lambda t: t.flatten())]:
        assert call(dt.zeros(shape)).shape == tuple(call(torch.zeros(shape)).shape)


# ---- format specs ----------------------------------------------------------------------------------------
def test_format_spec_of_a_0d_tensor():
    loss = dt.tensor(1.23456)
    assert f"{loss:.2f}" == "1.23" and f"{dt.tensor(3):d}" == "3" and f"{dt.tensor(7):>3}" == "  7"
    assert f"{dt.tensor([1.0])}" == repr(dt.tensor([1.0]))
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{dt.tensor([1.0]):.2f}"


def test_format_matches_torch():
    torch = torch_or_skip()
    for spec in (".4f", "", ".3e", "8.2f"):
        assert format(dt.tensor(1.23456), spec) == format(torch.tensor(1.23456), spec)


# ---- function forms and dtype names ------------------------------------------------------------------------
def test_function_forms():
    x = dt.tensor([[1.0, 3.0], [4.0, 2.0]])
    assert dt.max(x).item() == 4.0 and dt.max(x, 1).indices.tolist() == [1, 0]
    assert dt.min(x, dim=0, keepdim=True).values.tolist() == [[1.0, 2.0]]
    assert dt.argmax(x).item() == 2 and dt.argmin(x, 1).tolist() == [0, 1]
    assert dt.unsqueeze(x, 0).shape == (1, 2, 2) and dt.permute(x, (1, 0)).tolist() == [[1.0, 4.0], [3.0, 2.0]]
    assert dt.add(x, 1, alpha=2).tolist() == [[3.0, 5.0], [6.0, 4.0]] and dt.sub(x, x, alpha=0.5)[0, 0].item() == 0.5
    assert dt.mul(x, 2)[1, 0].item() == 8.0 and dt.div(x, 2)[0, 1].item() == 1.5
    assert dt.div(dt.tensor([-7, 7]), 2, rounding_mode="trunc").tolist() == [-3, 3]
    assert dt.div(dt.tensor([-7.0, 7.0]), 2, rounding_mode="floor").tolist() == [-4.0, 3.0]
    assert dt.var(x).item() == pytest.approx(np.var([1, 3, 4, 2], ddof=1)) and dt.std(x, 0).shape == (2,)
    assert dt.clip(x, 2, 3).tolist() == [[2.0, 3.0], [3.0, 2.0]] and dt.amax(x, 0).tolist() == [4.0, 3.0]
    values, indices = dt.max(np.array([[1.0, 5.0], [3.0, 2.0]]), 1)  # (arrays too)
    assert values.tolist() == [5.0, 3.0] and indices.tolist() == [1, 0]
    assert dt.std(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(np.sqrt(5 / 3))


def test_function_forms_match_torch():
    torch = torch_or_skip()
    data = np.array([[1.0, -3.0, 2.0], [4.0, 2.0, -6.0]], np.float32)
    calls = [
        lambda m, t: m.max(t, 1)[0], lambda m, t: m.min(t, 0, True)[0], lambda m, t: m.argmax(t, 1),
        lambda m, t: m.argmin(t), lambda m, t: m.unsqueeze(t, -1), lambda m, t: m.squeeze(m.unsqueeze(t, 0), 0),
        lambda m, t: m.permute(t, (1, 0)), lambda m, t: m.flatten(t), lambda m, t: m.var(t, 1),
        lambda m, t: m.std(t, dim=0, correction=0), lambda m, t: m.add(t, t, alpha=3), lambda m, t: m.sub(t, 1),
        lambda m, t: m.mul(t, t), lambda m, t: m.div(t, 3), lambda m, t: m.div(t, 4, rounding_mode="trunc"),
        lambda m, t: m.div(t, 4, rounding_mode="floor"), lambda m, t: m.clamp(t, -1, 1), lambda m, t: m.amax(t, 1),
    ]
    for call in calls:
        ours, theirs = call(dt, dt.tensor(data)), call(torch, torch.tensor(data))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_dtype_names():
    assert dt.float32 is np.float32 and dt.float64 is np.float64 and dt.int64 is np.int64 and dt.bool is np.bool_
    assert dt.float16 is np.float16 and dt.int32 is np.int32 and dt.uint8 is np.uint8 and dt.int8 is np.int8
    assert dt.long is np.int64 and dt.double is np.float64 and dt.float is np.float32 and dt.half is np.float16
    assert dt.zeros(2, dtype=dt.bool).dtype == dt.bool and dt.tensor([1.0]).to(dt.float64).dtype == np.float64
    for value in (dt.tensor([1.0], dtype=dt.float64), dt.tensor([1], dtype=dt.int32), dt.tensor([1], dtype=dt.uint8)):
        name = repr(value).rsplit("dtype=dualtape.", 1)[1].rstrip(")")
        assert getattr(dt, name) == value.dtype  # (the name the repr prints exists)
    assert bool is not dt.bool and isinstance(dt.tensor(1.0).requires_grad, bool)  # (builtins stay builtins)


def test_dtype_names_are_torchs():
    torch = torch_or_skip()
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "long",
                 "double", "half", "float", "int", "short", "complex64", "complex128", "cfloat", "cdouble"):
        assert str(np.dtype(getattr(dt, name))) == str(getattr(torch, name)).replace("torch.", ""), name


# ---- in-place methods -------------------------------------------------------------------------------------
UNARY = ["abs", "cos", "exp", "expm1", "log", "log1p", "neg", "relu", "sigmoid", "sign", "sin", "sqrt",
         "square", "tan", "tanh"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_in_place_methods(name):
    data = np.array([0.5, 1.5, 2.0], np.float32)
    x = dt.tensor(data, requires_grad=True)
    y = x * 1
    assert getattr(y, name + "_")() is y and y._version[0] == 1
    expected = getattr(x, name)()
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy())
    y.sum().backward()
    if name == "sign":  # (piecewise constant: its gradient is zero, and the old graph is cut off)
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    else:
        reference = dt.tensor(data, requires_grad=True)
        getattr(reference, name)().sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        getattr(dt.tensor(data, requires_grad=True), name + "_")()


@pytest.mark.parametrize("name", UNARY)
def test_unary_in_place_methods_match_torch(name):
    _same_as_torch(lambda x: getattr(x * 1, name + "_")(), [0.25, 0.5, 2.0])


def test_clamp_and_masked_fill_in_place():
    x = dt.tensor([-1.0, 0.5, 2.0])
    assert x.clone().clamp_(0, 1).tolist() == [0.0, 0.5, 1.0] and x.clone().clip_(max=0.0).tolist() == [-1.0, 0.0, 0.0]
    assert x.masked_fill(x > 0, 7).tolist() == [-1.0, 7.0, 7.0] and x.tolist() == [-1.0, 0.5, 2.0]
    y = x.clone()
    assert y.masked_fill_(dt.tensor([True, False, True]), 0.25) is y and y.tolist() == [0.25, 0.5, 0.25]
    assert dt.tensor([1, 2]).masked_fill(dt.tensor([True, False]), 1.7).tolist() == [1, 2]  # (the tensor's dtype)
    with pytest.raises(RuntimeError, match="boolean masks"):
        x.masked_fill(dt.tensor([1, 0, 1]), 0.0)
    w = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * 1).masked_fill_(dt.tensor([False, True, False]), 0.0).sum().backward()
    assert w.grad.tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.clamp_(0, 1)
    with dt.no_grad():
        w.clamp_(0, 2.5)
    assert w.tolist() == [1.0, 2.0, 2.5]


def test_clamp_and_masked_fill_match_torch():
    mask = np.array([True, False, True, False])
    torch = torch_or_skip()

    def run(m):
        x = m.tensor([-1.0, 0.5, 2.0, 3.0], requires_grad=True)
        y = (x * 2).clamp_(-1.0, 4.5).masked_fill_(m.tensor(mask), -2.0)
        z = (x * 3).masked_fill(m.tensor(mask), 1.5).clip_(min=0.0)
        (y * z).sum().backward()
        return y.detach().numpy(), z.detach().numpy(), x.grad.numpy()

    for a, b in zip(run(dt), run(torch)):
        np.testing.assert_allclose(a, b)


def test_uniform_and_normal_fill_in_place_from_dts_generator():
    dt.manual_seed(0)
    u = dt.zeros(2000)
    assert u.uniform_(-2.0, 3.0) is u and u._version[0] == 1
    values = u.numpy()
    assert values.min() >= -2.0 and values.max() < 3.0 and abs(values.mean() - 0.5) < 0.2
    n = dt.zeros(2000, dtype=np.float64).normal_(5.0, 0.5)
    assert n.dtype == np.float64 and abs(n.numpy().mean() - 5.0) < 0.05 and abs(n.numpy().std() - 0.5) < 0.05
    dt.manual_seed(1)
    first = dt.zeros(3).normal_().tolist()
    dt.manual_seed(1)
    assert dt.zeros(3).normal_().tolist() == first
    w = dt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.uniform_()
    with dt.no_grad():
        w.uniform_()  # (initialisation, as nn.init does)
    assert w.requires_grad and w.is_leaf and np.all(w.detach().numpy() != 0)
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.normal_()
    (y * 2).sum().backward()  # (the new values do not depend on x)
    assert x.grad.tolist() == [0.0, 0.0]


def test_uniform_and_normal_exist_in_torch_with_these_signatures():
    torch = torch_or_skip()
    assert torch.zeros(3).uniform_(-2.0, 3.0).shape == dt.zeros(3).uniform_(-2.0, 3.0).shape
    assert torch.zeros(3).normal_(5.0, 0.5).shape == dt.zeros(3).normal_(5.0, 0.5).shape


# ---- bitwise operators -------------------------------------------------------------------------------------
def test_bitwise_operators_on_integer_and_bool_tensors():
    a, b = dt.tensor([1, 2, 4]), dt.tensor([3, 1, 6])
    assert (a & b).tolist() == [1, 0, 4] and (a | b).tolist() == [3, 3, 6] and (a ^ b).tolist() == [2, 3, 2]
    assert (~a).tolist() == [-2, -3, -5] and (a & b).dtype == np.int64 and (3 & a).tolist() == [1, 2, 0]
    p, q = dt.tensor([True, True, False]), dt.tensor([True, False, False])
    assert (p & q).tolist() == [True, False, False] and (p | q).tolist() == [True, True, False]
    assert (p ^ q).tolist() == [False, True, False] and (~p).tolist() == [False, False, True]
    assert (p | 0).dtype == np.int64 and (p | 0).tolist() == [1, 1, 0]
    assert (dt.tensor([1.0]) > 0) & (dt.tensor([2.0]) > 1)
    with pytest.raises(TypeError):
        dt.tensor([1.0]) & dt.tensor([2.0])
    assert dnp.bitwise_and(np.array([6]), 3).tolist() == [2] and dnp.invert(np.array([0], np.uint8)).tolist() == [255]
    assert dt.jit(lambda x, y: np.bitwise_xor(x, y) | np.invert(x))(np.array([5]), np.array([3])).tolist() == [-2]


def test_bitwise_operators_match_torch():
    torch = torch_or_skip()
    ints = (np.array([1, 2, 4, -7]), np.array([3, 1, 6, 5]))
    bools = (np.array([True, True, False, False]), np.array([True, False, True, False]))
    for x, y in (ints, bools):
        for op in (lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b, lambda a, b: ~a,
                   lambda a, b: a | 0, lambda a, b: 6 ^ a):
            ours, theirs = op(dt.tensor(x), dt.tensor(y)), op(torch.tensor(x), torch.tensor(y))
            assert ours.tolist() == theirs.tolist()
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


# ---- full, casts -------------------------------------------------------------------------------------------
def test_full_infers_the_dtype_from_the_fill_value():
    assert dt.full((2,), 3).dtype == np.int64 and dt.full((2,), 3).tolist() == [3, 3]
    assert dt.full((2,), True).dtype == np.bool_ and dt.full((2,), 2.5).dtype == np.float32
    assert dt.full((2,), 1 + 2j).dtype == np.complex64 and dt.full((2,), 3, dtype=np.float64).dtype == np.float64


def test_full_matches_torch():
    torch = torch_or_skip()
    for value in (3, True, 2.5, -1, 1 + 2j):
        assert str(dt.full((2,), value).dtype) == str(torch.full((2,), value).dtype).replace("torch.", "")


def test_casting_to_an_integer_dtype_leaves_the_graph():
    x = dt.tensor([1.5, -2.5], requires_grad=True)
    for cast in (x.astype(np.int64), x.to(np.int64), x.to(dt.int32), x.to(dt.bool)):
        assert not cast.requires_grad and cast.grad_fn is None
    assert x.to(np.int64).tolist() == [1, -2]
    assert x.to(np.float64).requires_grad and x.double().grad_fn is not None


# ---- errors --------------------------------------------------------------------------------------------
def test_leaf_in_place_hint_suggests_the_out_of_place_form():
    w = dt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"`w = w \+ \.\.\.`") as error:
        w += 1
    assert "__iadd_ " not in str(error.value) and "use __iadd_" not in str(error.value)
    with pytest.raises(RuntimeError, match=r"`w = w \* \.\.\.`"):
        w *= 2
    with pytest.raises(RuntimeError, match=r"w\.add\(\.\.\.\)"):
        w.add_(1)


def test_only_floating_point_tensors_can_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        dt.tensor([1, 2]).requires_grad_()
    a = dt.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        a.requires_grad = True
    assert not a.requires_grad
    for make in (lambda: dt.zeros(2, dtype="int64", requires_grad=True), lambda: dt.arange(3, requires_grad=True),
                 lambda: dt.full((2,), 3, requires_grad=True), lambda: dt.ones(2, dtype=dt.bool, requires_grad=True),
                 lambda: dt.zeros_like(dt.tensor([1]), requires_grad=True)):
        with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
            make()
    assert dt.full((2,), 3.0, requires_grad=True).requires_grad and dt.tensor([1.0]).requires_grad_().requires_grad


def test_requires_grad_false_on_a_non_leaf_raises():
    x = dt.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    y.requires_grad = True  # (a no-op)
    assert y.requires_grad and y.grad_fn is not None


def test_assigned_grad_must_be_a_tensor_of_the_same_shape():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        x.grad = dt.zeros(5)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None"):
        x.grad = np.zeros(2)
    assert x.grad is None
    x.grad = dt.ones(2)
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_validation_matches_torch():
    torch = torch_or_skip()

    def outcomes(m):
        def attempt(fn):
            try:
                fn()
            except (RuntimeError, TypeError) as e:
                return type(e).__name__
            return "ok"

        def set_attr(obj, name, value):
            return lambda: setattr(obj, name, value)

        x = m.tensor([1.0, 2.0], requires_grad=True)
        return [attempt(lambda: m.tensor([1, 2]).requires_grad_()),
                attempt(set_attr(m.tensor([1, 2]), "requires_grad", True)),
                attempt(lambda: m.zeros(2, dtype=m.int64, requires_grad=True)),
                attempt(set_attr(x * 2, "requires_grad", False)), attempt(set_attr(x, "grad", m.zeros(5))),
                attempt(set_attr(x, "grad", np.zeros(2))), attempt(set_attr(x, "grad", m.zeros(2))),
                attempt(lambda: m.tensor([1, 2]).mean()), attempt(lambda: m.tensor([1, 2]).softmax(0)),
                attempt(lambda: m.tensor([1, 2]).norm()), attempt(lambda: m.tensor([1, 2]).var()),
                attempt(lambda: m.tensor([1.0, 2.0]).std())]

    ours, theirs = outcomes(dt), outcomes(torch)
    theirs[8] = "RuntimeError" if theirs[8] == "ok" else theirs[8]  # (torch's softmax raises NotImplementedError)
    assert [o != "ok" for o in ours] == [t != "ok" for t in theirs]


@pytest.mark.parametrize("call", [lambda t: t.mean(), lambda t: t.mean(0), lambda t: t.softmax(0),
                                  lambda t: t.log_softmax(-1), lambda t: t.norm(), lambda t: t.var(),
                                  lambda t: t.std(dim=0), lambda t: dt.mean(t), lambda t: dt.softmax(t, 0)])
def test_integer_tensors_are_refused_by_floating_point_reductions(call):
    with pytest.raises(RuntimeError, match="floating point"):
        call(dt.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="Bool"):
        call(dt.tensor([True, False]))
    assert call(dt.tensor([1, 2, 3]).float()).dtype == np.float32


# ---- on the GPU (the strict fake CuPy: a host array reaching a device op fails) ----------------------------------
def test_new_methods_stay_on_the_device(monkeypatch):
    import fake_cupy

    fake_cupy.install(monkeypatch)

    def run(device):
        x = dt.tensor(TIES, requires_grad=True, device=device)
        y = x * 1
        y.sign_()
        z = (x * 2).clamp_(0.0, 5.0).exp_().masked_fill_(x.detach() > 2.5, 0.5)
        out = x.max(1).values.sum() + x.min(0, keepdim=True)[0].sum() + x.var(0).sum() + y.sum() + z.sum()
        out.backward()
        noise = dt.zeros(3, device=device).uniform_(-1, 1)
        bits = dt.tensor([5, 6], device=device) & dt.tensor([3, 3], device=device)
        arrays = [t._array.view(np.ndarray) if device else t._array for t in (out.detach(), x.grad, bits)]
        return [np.array(a) for a in arrays], noise

    (expected, _), (got, noise) = run(None), run("cuda")
    assert noise.is_cuda and noise.shape == (3,)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6)


def test_in_place_results_must_fit_the_tensor_as_in_torch():
    a = dt.zeros(2, 3)
    a.copy_(dt.tensor([1.0, 2.0, 3.0]))  # copy_ broadcasts
    np.testing.assert_array_equal(a.numpy(), [[1.0, 2.0, 3.0]] * 2)
    b = dt.zeros(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        b.add_(dt.ones(2, 3))
    assert b.shape == (3,)
    c = dt.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        c += 1.5
    with pytest.raises(RuntimeError, match="can't be cast"):
        c.div_(2)
    np.testing.assert_array_equal(c.numpy(), [1, 2])
    c.copy_(dt.tensor([3.7, 4.2]))  # (copy_ converts, as torch)
    np.testing.assert_array_equal(c.numpy(), [3, 4])


def test_zero_and_fill_of_a_leaf_requiring_grad_are_refused():
    w = dt.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.zero_(), lambda: w.fill_(5.0)):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            op()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])
    with dt.no_grad():
        w.zero_()
    np.testing.assert_array_equal(w.detach().numpy(), [0.0, 0.0])


def test_a_power_of_one_is_a_new_tensor():
    x = dt.tensor([1.0, 2.0])
    y = x ** 1
    y += 1.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
    w = dt.tensor([1.0, 2.0], requires_grad=True)
    assert (w ** 1).grad_fn is not None


def test_no_grad_and_detach_hold_under_functional_transforms():
    def f(x):
        with dt.no_grad():
            c = x * 3.0  # a constant, as far as differentiation goes
        return (x * c).sum()

    np.testing.assert_allclose(dt.autograd.functional.jacobian(f, dt.tensor([1.0, 2.0])).numpy(), [3.0, 6.0])
    jac = dt.autograd.functional.jacobian(lambda x: (x * x.detach()).sum(), dt.tensor([1.0, 2.0]))
    np.testing.assert_allclose(jac.numpy(), [1.0, 2.0])


def _written_in_body(cls) -> set:
    """The names a class's own body defines or assigns."""
    import ast
    import inspect

    body = ast.parse(inspect.getsource(cls)).body[0].body
    return {n.name for n in body if isinstance(n, ast.FunctionDef)} | {
        t.id for n in body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}


def test_tensor_is_one_class_built_from_explicit_mixins():
    """Tensor's methods all come from class bodies, nothing is set on it afterwards: its own body first, then
    its conversions (ConversionMethods) and storage (StorageMethods), PyTorch's meanings (TorchMethods),
    PyTorch's functions as methods (TorchFunctionMethods, made from eager.torch_functions' rows), the in-place
    forms (InPlaceMethods), and the method set it shares with traced values (ArrayMethods, made from
    numpy.methods' table, some copied with PyTorch's docstrings: DocumentedArrayMethods); the unary in-place
    forms come from the primitives' rows (UnaryInPlaceMethods, one per torch_inplace face)."""
    import inspect

    from dualtape.core.primitive import REGISTRY
    from dualtape.eager.conversions import ConversionMethods
    from dualtape.eager.inplace import InPlaceMethods, UnaryInPlaceMethods
    from dualtape.eager.method_docs import DOCS, DocumentedArrayMethods
    from dualtape.eager.storage import StorageMethods
    from dualtape.eager.tensor_methods import TorchMethods
    from dualtape.eager.torch_functions import ROWS, TorchFunctionMethods
    from dualtape.numpy.methods import ARRAY_METHODS, ARRAY_PROPERTIES, ArrayMethods

    mixins = (ConversionMethods, StorageMethods, TorchMethods, TorchFunctionMethods, InPlaceMethods,
              UnaryInPlaceMethods, DocumentedArrayMethods, ArrayMethods)
    assert dt.Tensor.__mro__[1:1 + len(mixins)] == mixins
    shared = set(ARRAY_METHODS) | set(ARRAY_PROPERTIES) | {"__array_ufunc__", "__array_function__"}
    rows = {p.faces.torch_inplace for p in REGISTRY.values() if p.faces.torch_inplace}
    for cls in dt.Tensor.__mro__[:1 + len(mixins)]:
        made = {k for k, v in vars(cls).items() if inspect.isfunction(v) or isinstance(v, (classmethod, property))}
        allowed = shared if cls is ArrayMethods else rows if cls is UnaryInPlaceMethods else \
            {row.name for row in ROWS if row.method} if cls is TorchFunctionMethods else \
            set(DOCS) if cls is DocumentedArrayMethods else _written_in_body(cls)
        assert made <= allowed, cls
    assert rows == {k for k, v in vars(UnaryInPlaceMethods).items() if inspect.isfunction(v)}
    assert dt.Tensor.mean is TorchMethods.mean and dt.Tensor.add_ is InPlaceMethods.add_
    assert dt.Tensor.exp is ArrayMethods.exp is ARRAY_METHODS["exp"]
    assert not hasattr(dt.tensor([1.0]), "__dict__")  # (every class in the chain has slots)
