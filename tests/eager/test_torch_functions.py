"""PyTorch's methods and dt.X functions over dnp's new functions (eager/torch_functions.py): against torch for
values, grad_fn names and gradients of (out * W).sum() in float64; the function forms equal the methods; on
arrays and traced values they are dnp's (derivatives against finite differences); PyTorch's argument forms;
tril_ / triu_ in place; clear errors for bad dims."""

import warnings

import numpy as np
import pytest

import dualtape as dt
from dualtape.eager import torch_functions as tf
from dualtape.eager.inplace import InPlaceMethods
from dualtape.eager.tensor_methods import TorchMethods
from dualtape.numpy.methods import ArrayMethods
from gradcheck import check_grads
from testkit import torch_or_skip


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 3.0, shape)


def unit(rng, shape):
    return rng.uniform(0.05, 0.95, shape)


def spd(rng, shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def nonfinite(rng, shape):
    a = rng.standard_normal(shape)
    a.flat[[0, 5, 6, 10]] = [np.nan, np.inf, -np.inf, np.nan]
    return a


def ties(rng, shape):
    return rng.integers(0, 3, shape).astype(float)


# name: (fn(module, *tensors) run on dt and on torch alike, the inputs' shapes, how values are drawn)
CASES = {
    "flip": (lambda m, x: x.flip(0), [(3, 4)], normal),
    "flip fn 3d": (lambda m, x: m.flip(x, [0, 2]), [(2, 3, 4)], normal),
    "fliplr": (lambda m, x: x.fliplr(), [(2, 3, 4)], normal),
    "flipud": (lambda m, x: m.flipud(x), [(3, 4)], normal),
    "rot90": (lambda m, x: x.rot90(), [(3, 4)], normal),
    "rot90 k dims": (lambda m, x: m.rot90(x, 3, [1, 2]), [(2, 3, 4)], normal),
    "rot90 k2": (lambda m, x: x.rot90(2), [(3, 4)], normal),
    "roll": (lambda m, x: x.roll(1, 0), [(3, 4)], normal),
    "roll dims": (lambda m, x: m.roll(x, (1, -2), (0, 2)), [(2, 3, 4)], normal),
    "roll flat": (lambda m, x: x.roll(5), [(3, 4)], normal),
    "repeat": (lambda m, x: x.repeat(2, 1), [(3, 4)], normal),
    "repeat new dim": (lambda m, x: x.repeat(2, 1, 3), [(3, 4)], normal),
    "tile": (lambda m, x: x.tile((2,)), [(3, 4)], normal),
    "tile fn": (lambda m, x: m.tile(x, (2, 1, 1, 2)), [(2, 3, 4)], normal),
    "repeat_interleave": (lambda m, x: x.repeat_interleave(2), [(3, 4)], normal),
    "repeat_interleave dim": (lambda m, x: m.repeat_interleave(x, 3, dim=1), [(3, 4)], normal),
    "repeat_interleave tensor": (lambda m, x: x.repeat_interleave(m.tensor([1, 0, 3]), dim=0), [(3, 4)], normal),
    "tril": (lambda m, x: x.tril(), [(3, 4)], normal),
    "tril fn 3d": (lambda m, x: m.tril(x, -1), [(2, 3, 4)], normal),
    "triu": (lambda m, x: x.triu(1), [(3, 4)], normal),
    "triu fn 3d": (lambda m, x: m.triu(x, diagonal=-1), [(2, 3, 4)], normal),
    "diag matrix": (lambda m, x: x.diag(1), [(3, 4)], normal),
    "diag vector": (lambda m, v: m.diag(v, -1), [(3,)], normal),
    "diagonal": (lambda m, x: x.diagonal(), [(3, 4)], normal),
    "diagonal dims": (lambda m, x: m.diagonal(x, 1, -1, 0), [(2, 3, 4)], normal),
    "trace": (lambda m, x: x.trace(), [(3, 4)], normal),
    "cumsum": (lambda m, x: x.cumsum(0), [(3, 4)], normal),
    "cumsum fn 3d": (lambda m, x: m.cumsum(x, dim=-1), [(2, 3, 4)], normal),
    "cumprod": (lambda m, x: x.cumprod(1), [(3, 4)], normal),
    "cumprod fn 3d": (lambda m, x: m.cumprod(x, 0), [(2, 3, 4)], normal),
    "sort": (lambda m, x: x.sort(), [(3, 4)], normal),
    "sort descending 3d": (lambda m, x: m.sort(x, 0, descending=True), [(2, 3, 4)], normal),
    "sort ties stable": (lambda m, x: x.sort(dim=1, stable=True), [(3, 6)], ties),
    "sort ties descending": (lambda m, x: x.sort(descending=True, stable=True), [(3, 6)], ties),
    "sort nan": (lambda m, x: x.sort(stable=True), [(3, 4)], nonfinite),
    "sort nan descending": (lambda m, x: x.sort(dim=0, descending=True, stable=True), [(3, 4)], nonfinite),
    "argsort": (lambda m, x: x.argsort(), [(3, 4)], normal),
    "argsort descending": (lambda m, x: m.argsort(x, dim=1, descending=True, stable=True), [(3, 6)], ties),
    "diff": (lambda m, x: x.diff(), [(3, 4)], normal),
    "diff n dim": (lambda m, x: m.diff(x, n=2, dim=0), [(4, 3)], normal),
    "diff prepend append": (lambda m, x, p: x.diff(dim=0, prepend=p, append=p), [(3, 4), (1, 4)], normal),
    "nan_to_num": (lambda m, x: x.nan_to_num(), [(3, 4)], nonfinite),
    "nan_to_num values": (lambda m, x: m.nan_to_num(x, 1.0, 2.0, neginf=-3.0), [(3, 4)], nonfinite),
    "kron": (lambda m, x, y: x.kron(y), [(2, 3), (3, 2)], normal),
    "kron fn 3d": (lambda m, x, y: m.kron(x, y), [(2, 1, 2), (2, 3)], normal),
    "cross": (lambda m, x, y: x.cross(y, dim=0), [(3, 4), (3, 4)], normal),
    "cross fn broadcast": (lambda m, x, y: m.cross(x, y, dim=-1), [(2, 3), (1, 3)], normal),
    "inner": (lambda m, x, y: x.inner(y), [(3, 4), (2, 4)], normal),
    "inner vectors": (lambda m, x, y: m.inner(x, y), [(3,), (3,)], normal),
    "outer": (lambda m, x, y: x.outer(y), [(3,), (4,)], normal),
    "tensordot": (lambda m, x, y: m.tensordot(x, y, dims=([1], [0])), [(3, 4), (4, 2)], normal),
    "tensordot int": (lambda m, x, y: m.tensordot(x, y, 2), [(2, 3, 4), (3, 4, 2)], normal),
    "einsum list": (lambda m, x, y: m.einsum("ij,jk", [x, y]), [(3, 4), (4, 2)], normal),
    "einsum batched": (lambda m, x, y: m.einsum("bij,bjk->bik", x, y), [(2, 3, 4), (2, 4, 2)], normal),
    "split": (lambda m, x: x.split(2), [(5, 4)], normal),
    "split sizes": (lambda m, x: m.split(x, [1, 3], dim=1), [(3, 4)], normal),
    "chunk": (lambda m, x: x.chunk(3), [(5, 4)], normal),
    "chunk dim": (lambda m, x: m.chunk(x, 2, dim=-1), [(2, 3, 4)], normal),
    "tensor_split": (lambda m, x: x.tensor_split(3, dim=1), [(3, 4)], normal),
    "tensor_split indices": (lambda m, x: m.tensor_split(x, [1, 3]), [(5, 2)], normal),
    "unbind": (lambda m, x: x.unbind(), [(3, 4)], normal),
    "unbind dim": (lambda m, x: m.unbind(x, 2), [(2, 3, 4)], normal),
    "movedim": (lambda m, x: x.movedim(0, 1), [(3, 4)], normal),
    "movedim fn": (lambda m, x: m.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)], normal),
    "narrow": (lambda m, x: x.narrow(1, 1, 2), [(3, 4)], normal),
    "narrow fn": (lambda m, x: m.narrow(x, -1, -3, 2), [(2, 3, 4)], normal),
    "cholesky": (lambda m, a: a.cholesky(), [(3, 3)], spd),
    "cholesky upper 3d": (lambda m, a: m.cholesky(a, upper=True), [(2, 3, 3)], spd),
    "inverse": (lambda m, a: a.inverse(), [(3, 3)], spd),
    "inverse fn 3d": (lambda m, a: m.inverse(a), [(2, 3, 3)], normal),
    "det": (lambda m, a: a.det(), [(3, 3)], normal),
    "det fn 3d": (lambda m, a: m.det(a), [(2, 3, 3)], normal),
    "logdet": (lambda m, a: a.logdet(), [(3, 3)], spd),
    "logdet fn 3d": (lambda m, a: m.logdet(a), [(2, 3, 3)], normal),
    "slogdet": (lambda m, a: a.slogdet(), [(3, 3)], normal),
    "matrix_power": (lambda m, a: a.matrix_power(3), [(3, 3)], normal),
    "matrix_power 0": (lambda m, a: a.matrix_power(0), [(3, 3)], normal),
    "matrix_power 1": (lambda m, a: m.matrix_power(a, 1), [(2, 3, 3)], normal),
    "matrix_power -2": (lambda m, a: a.matrix_power(-2), [(3, 3)], spd),
    "polygamma": (lambda m, x: x.polygamma(1), [(3, 4)], positive),
    "polygamma 0": (lambda m, x: x.polygamma(0), [(3, 4)], positive),
    "polygamma fn": (lambda m, x: m.polygamma(2, x), [(3, 4)], positive),
    "logit": (lambda m, p: p.logit(), [(3, 4)], unit),
    "logit eps": (lambda m, p: m.logit(p, 0.2), [(3, 4)], unit),
    "xlogy": (lambda m, x, y: x.xlogy(y), [(3, 4), (3, 4)], positive),
    "xlogy number first": (lambda m, y: m.xlogy(2.0, y), [(3, 4)], positive),
    "xlogy number second": (lambda m, x: x.xlogy(2.0), [(3, 4)], positive),
    "lgamma fn": (lambda m, x: m.lgamma(x), [(3, 4)], positive),
    "digamma fn": (lambda m, x: m.digamma(x), [(3, 4)], positive),
    "erfc fn": (lambda m, x: m.erfc(x), [(3, 4)], normal),
    "sinc fn": (lambda m, x: m.sinc(x), [(3, 4)], normal),
    "hypot fn": (lambda m, x, y: m.hypot(x, y), [(3, 4), (3, 4)], normal),
}

# torch's trigamma is accurate to about 5e-10 (dualtape's to an ulp or two, against mpmath)
RTOL = {"polygamma": 1e-9}

# where dualtape's graph node is not torch's: contractions whose last node in torch is an implementation's
# (a view after a matmul), and torch's namespace on CopyBackwards
NAME_DEVIATIONS = {
    "kron": "ViewBackward0", "kron fn 3d": "ViewBackward0", "inner": "EinsumBackward0",
    "inner vectors": "EinsumBackward0", "tensordot": "EinsumBackward0", "tensordot int": "EinsumBackward0",
    "einsum list": "EinsumBackward0", "einsum batched": "EinsumBackward0", "matrix_power 0": "CopyBackwards",
}


def _leaves(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(module, fn, arrays):
    """fn's outputs on module's tensors of arrays, and the inputs' gradients of sum((out_i * W_i).sum())."""
    inputs = [module.tensor(a, requires_grad=True) for a in arrays]
    outs = _leaves(fn(module, *inputs))
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(tuple(o.shape)) for o in outs]
    with np.errstate(over="ignore", invalid="ignore"):  # (infinities, NaN, the largest finite values, weighted)
        loss = sum((o * module.tensor(w)).sum() for o, w in zip(outs, weights) if o.requires_grad)
    if getattr(loss, "requires_grad", False):
        loss.backward()
    return outs, [None if x.grad is None else x.grad.numpy() for x in inputs]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", CASES)
def test_values_nodes_and_gradients_match_torch(name):
    torch = torch_or_skip()
    fn, shapes, draw = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [draw(rng, shape) for shape in shapes]
    ours, our_grads = _run(dt, fn, arrays)
    theirs, their_grads = _run(torch, fn, arrays)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert isinstance(o, dt.Tensor) and o.shape == tuple(t.shape)
        assert np.asarray(o.detach()).dtype == t.detach().numpy().dtype
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=RTOL.get(name, 1e-10), atol=1e-12)
        expected = None if t.grad_fn is None else NAME_DEVIATIONS.get(name, t.grad_fn.name())
        assert (o.grad_fn and o.grad_fn.name()) == expected
    for g, h in zip(our_grads, their_grads):
        assert (g is None) == (h is None)
        if g is not None:
            np.testing.assert_allclose(g, h, rtol=1e-9, atol=1e-10)


def test_name_deviations_are_cases():
    assert set(NAME_DEVIATIONS) <= set(CASES)


# ---- function forms: the methods' own rows; on arrays, dnp ---------------------------------------------
X34, SQUARE, VEC = np.arange(12.0).reshape(3, 4) / 7 + 0.1, np.eye(3) * 2 + 0.25, np.array([1.0, -2.0, 0.5])

# row name: (input, the arguments after it) for both the method and the function
FORMS = {
    "flip": (X34, ([0, 1],)), "fliplr": (X34, ()), "flipud": (X34, ()), "rot90": (X34, (1, (1, 0))),
    "roll": (X34, (2, 1)), "tile": (X34, ((2, 1),)), "repeat_interleave": (X34, (2, 1)), "movedim": (X34, (1, 0)),
    "narrow": (X34, (0, 1, 2)), "tril": (X34, (1,)), "triu": (X34, (-1,)), "diag": (VEC, (1,)),
    "diagonal": (X34, (1,)), "cumsum": (X34, (1,)), "cumprod": (X34, (0,)), "sort": (X34, (0, True)),
    "argsort": (X34, (1, True)), "diff": (X34, (1, 0)), "nan_to_num": (X34, ()), "kron": (X34, (SQUARE,)),
    "cross": (SQUARE, (SQUARE.T, 0)), "inner": (X34, (X34,)), "outer": (VEC, (VEC,)), "split": (X34, (2, 1)),
    "chunk": (X34, (2,)), "tensor_split": (X34, (2, 1)), "unbind": (X34, (1,)), "cholesky": (SQUARE, (True,)),
    "inverse": (SQUARE, ()), "det": (SQUARE, ()), "logdet": (SQUARE, ()), "slogdet": (SQUARE, ()),
    "matrix_power": (SQUARE, (2,)), "logit": (X34 / 2, (0.1,)), "xlogy": (X34, (X34 + 1,)),
    "gather": (X34, (1, np.array([[0, 3], [1, 1], [2, 0]]))), "take_along_dim": (X34, (np.array([[2], [0], [3]]), 1)),
    "index_select": (X34, (1, np.array([3, 0]))), "masked_select": (X34, (X34 > 0,)), "select": (X34, (1, 2)),
    "topk": (X34, (2,)), "lerp": (X34, (X34 * 2, 0.25)), "reciprocal": (X34, ()), "rsqrt": (X34 * X34 + 1, ()),
    "bmm": (X34.reshape(1, 3, 4), (X34.T.reshape(1, 4, 3),)), "mv": (X34, (X34[0],)), "isnan": (X34, ()),
    "isinf": (X34, ()), "median": (X34, (1,)), "kthvalue": (X34, (2, 0)), "trunc": (X34 * 3, ()),
    "frac": (X34 * 3, ()), "scatter_add": (X34, (0, np.array([[2, 0, 1, 1]]), X34)),
    "scatter": (X34, (1, np.array([[3], [0], [1]]), X34)), "index_add": (X34, (1, np.array([1, 1]), X34[:, :2])),
}


def _numbers(out) -> list:
    return [np.asarray(getattr(o, "data", o)) for o in _leaves(out)]


@pytest.mark.parametrize("name", sorted(FORMS))
def test_function_equals_method_and_runs_on_arrays(name):
    x, args = FORMS[name]
    tensor_args = [dt.tensor(a) if hasattr(a, "shape") else a for a in args]
    method = getattr(dt.tensor(x, requires_grad=True), name)(*tensor_args)
    function = getattr(dt, name)(dt.tensor(x, requires_grad=True), *args)
    on_arrays = getattr(dt, name)(x, *args)
    assert not any(isinstance(o, dt.Tensor) for o in _leaves(on_arrays))
    for a, b, c in zip(_numbers(method), _numbers(function), _numbers(on_arrays), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_every_row_with_both_forms_is_checked_and_the_mixin_overrides_nothing():
    both = {row.name for row in tf.ROWS if row.method and row.function is True}
    assert both == set(FORMS)
    assert dt.polygamma(2, dt.tensor(X34)).tolist() == dt.tensor(X34).polygamma(2).tolist()
    mine = {name for name in vars(tf.TorchFunctionMethods) if not name.startswith("__")}
    assert mine == {row.name for row in tf.ROWS if row.method}
    assert not mine & (set(dir(TorchMethods)) | set(dir(InPlaceMethods)))  # (neither shadowed nor shadowing)
    # PyTorch's meaning wins over the shared NumPy-style methods of the same names (x.sort() gives (values, indices))
    assert all(getattr(dt.Tensor, name) is getattr(tf.TorchFunctionMethods, name) for name in mine)
    assert mine & set(dir(ArrayMethods)) and len(dt.tensor(X34).sort()) == 2
    assert all(getattr(dt, row.name) is tf.FUNCTIONS[row.name] for row in tf.ROWS if row.function)


def test_traced_values_are_dnp_derivatives_against_finite_differences():
    a = np.random.default_rng(2).standard_normal((3, 4))
    check_grads(lambda x: dt.cumprod(dt.roll(dt.flip(x, [1]), 1, 0), 1), (a,), order=1, modes=("fwd", "rev"))
    check_grads(lambda x: dt.sort(x, 0, descending=True).values * dt.tril(x, 1), (a,), order=1, modes=("fwd", "rev"))
    check_grads(lambda x: dt.logit(dt.sinc(x) / 2 + 0.5, 0.01) + dt.split(x, [1, 2])[1].sum(),
                (a,), order=1, modes=("fwd", "rev"))
    cross = lambda x, y: dt.tensordot(dt.cross(x, y, dim=0), y, dims=([0, 1], [0, 1]))
    check_grads(cross, (a[:3, :3], a[:, 1:]), order=1, modes=("fwd", "rev"))
    check_grads(lambda x: dt.kron(x[:2], dt.matrix_power(x[:, :3], 3)), (a,), order=1, modes=("fwd", "rev"))
    grads = dt.grad(lambda x: (dt.cumsum(x, 1) * dt.flip(x, 0)).sum())(a)
    np.testing.assert_allclose(grads, np.flip(np.cumsum(a, 1), 0) + np.cumsum(np.flip(a, 0)[:, ::-1], 1)[:, ::-1])


# ---- PyTorch's argument forms ----------------------------------------------------------------------------
def test_dims_as_varargs_list_tuple_or_keyword():
    x = dt.tensor(np.arange(24.0).reshape(2, 3, 4))
    expected = np.flip(x.numpy(), (0, 2))
    for out in (x.flip(0, 2), x.flip([0, 2]), x.flip((0, 2)), x.flip(dims=[0, 2]), dt.flip(x, (0, 2))):
        np.testing.assert_array_equal(out.numpy(), expected)
    tiled = np.tile(x.numpy(), (1, 2, 1, 3))
    for out in (x.repeat(1, 2, 1, 3), x.repeat((1, 2, 1, 3)), x.repeat([1, 2, 1, 3]), x.tile(1, 2, 1, 3)):
        np.testing.assert_array_equal(out.numpy(), tiled)
    np.testing.assert_array_equal(dt.tile(x, [2, 3]).numpy(), x.repeat(1, 2, 3).numpy())  # (tile pads with ones)


def test_split_takes_a_chunk_size_or_a_list_of_sizes_unlike_numpy():
    x = dt.tensor(np.arange(10.0))
    assert [p.tolist() for p in x.split(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [p.shape for p in dt.split(x, [1, 6, 3])] == [(1,), (6,), (3,)]
    assert [p.shape for p in x.chunk(3)] == [(4,), (4,), (2,)]
    assert [p.shape for p in x.tensor_split(3)] == [(4,), (3,), (3,)]
    assert [p.shape for p in x.tensor_split(dt.tensor([2, 5]))] == [(2,), (3,), (5,)]
    assert len(dt.zeros(0).chunk(3)) == 3 and len(dt.zeros(0).split(2)) == 1


def test_split_pieces_are_views_of_the_input():
    x = dt.tensor(np.zeros((4, 3)))
    first, _ = x.split(2)
    first[0, 0] = 5.0
    x.unbind(1)[2][3] = 7.0
    assert x.numpy()[0, 0] == 5.0 and x.numpy()[3, 2] == 7.0


def test_results_are_new_tensors_even_where_nothing_moves():
    for requires_grad in (False, True):
        x = dt.tensor(np.eye(3), requires_grad=requires_grad)
        outs = (x.flip(()), x.rot90(4), x.tile(1), x.repeat(1, 1), x.roll(0, 0), x.matrix_power(1), x.sort(0)[0],
                x.repeat_interleave(1, dim=1), x.diff(n=0))
        for out in outs:
            assert out is not x and not np.shares_memory(out.detach().numpy(), x.detach().numpy())
    integers = dt.tensor(np.arange(3))
    assert not np.shares_memory(integers.nan_to_num().numpy(), integers.numpy())


def test_cross_without_dim_warns_and_uses_the_first_dim_of_size_3():
    x = dt.tensor(np.arange(18.0).reshape(2, 3, 3))
    y = dt.tensor(np.arange(18.0)[::-1].copy().reshape(2, 3, 3))
    with pytest.warns(UserWarning, match="dim"):
        out = x.cross(y)
    np.testing.assert_array_equal(out.numpy(), np.cross(x.numpy(), y.numpy(), axis=1))


# ---- in place --------------------------------------------------------------------------------------------
def test_tril_and_triu_in_place():
    leaf = dt.tensor(np.arange(1.0, 13.0).reshape(3, 4), requires_grad=True)
    y = leaf * 2
    version = y._version[0]
    assert y.tril_(1) is y and y._version[0] == version + 1 and y.grad_fn.name() == "TrilBackward0"
    np.testing.assert_array_equal(y.detach().numpy(), np.tril(np.arange(1.0, 13.0).reshape(3, 4) * 2, 1))
    y.triu_().sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), 2 * np.triu(np.tril(np.ones((3, 4)), 1)))
    with pytest.raises(RuntimeError, match="in-place operation"):
        leaf.tril_()
    with dt.no_grad():
        leaf.triu_(2)
    np.testing.assert_array_equal(leaf.detach().numpy(), np.triu(np.arange(1.0, 13.0).reshape(3, 4), 2))


# ---- errors ------------------------------------------------------------------------------------------------
X = dt.tensor(np.ones((3, 4)))
ERRORS = {
    "flip dim": (lambda: X.flip(2), ValueError, "flip"),
    "flip repeated": (lambda: X.flip(0, 0), ValueError, "flip"),
    "rot90 vector": (lambda: dt.ones(3).rot90(), ValueError, "rot90"),
    "rot90 same dims": (lambda: X.rot90(1, (0, 0)), ValueError, "rot90"),
    "roll misaligned": (lambda: X.roll((1, 2), 0), ValueError, "roll: shifts and dimensions must align"),
    "repeat short": (lambda: X.repeat(2), ValueError, "repeat: 1 repeat sizes for a tensor of 2 dimensions"),
    "tril vector": (lambda: dt.ones(3).tril(), ValueError, "tril: input tensor must have at least 2"),
    "diag 3d": (lambda: dt.ones(2, 2, 2).diag(), ValueError, "diag: supports 1-D or 2-D"),
    "diagonal same dims": (lambda: X.diagonal(0, 1, 1), ValueError, "diagonal"),
    "trace 3d": (lambda: dt.ones(2, 2, 2).trace(), ValueError, "trace: expected a matrix"),
    "cumsum dim": (lambda: X.cumsum(2), ValueError, "cumsum"),
    "sort dim": (lambda: X.sort(-3), ValueError, "argsort"),
    "cross no 3": (lambda: dt.cross(X, X, dim=1), ValueError, "cross: inputs dimension 1 must have length 3"),
    "cross ndim": (lambda: dt.cross(dt.ones(3), X, dim=0), ValueError, "same number of dimensions"),
    "outer matrix": (lambda: X.outer(X), ValueError, "outer: expects two vectors"),
    "split sizes": (lambda: X.split([1, 1]), ValueError, r"split: split sizes \[1, 1\] do not add up to 3"),
    "split zero": (lambda: X.split(0), ValueError, "split_size must be positive"),
    "chunk zero": (lambda: X.chunk(0), ValueError, "chunks must be greater than 0"),
    "unbind dim": (lambda: X.unbind(2), ValueError, "unbind"),
    "narrow past end": (lambda: X.narrow(1, 3, 2), ValueError, "narrow: start 3 and length 2"),
    "matrix_power not square": (lambda: X.matrix_power(0), ValueError, "matrix_power: expected a square"),
    "inverse not square": (lambda: X.inverse(), ValueError, "inv"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_bad_dims_raise_errors_naming_the_op(name):
    fn, error, match = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=match):
            fn()
