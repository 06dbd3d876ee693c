"""PyTorch's selecting methods (eager/torch_selection.py) against torch itself: values, the node recorded and
gradients, over several shapes and dims; their function forms; under dt.compile; and their errors."""

import numpy as np
import pytest

import dualtape as dt
from testkit import torch_or_skip

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4, 5))
GATHER_INDEX = RNG.integers(0, 4, (2, 3, 5))  # (dim 1; smaller than X off it, as gather allows)

CALLS = {
    "gather dim 1": lambda L, x: x.gather(1, L.tensor(GATHER_INDEX)),
    "gather dim -1": lambda L, x: L.gather(x, -1, L.tensor(GATHER_INDEX[..., :2] % 4)),
    "take_along_dim": lambda L, x: L.take_along_dim(x, L.tensor(GATHER_INDEX[:1, :1, :2]), 2),
    "take_along_dim flat": lambda L, x: L.take_along_dim(x, L.tensor(np.array([0, 59, 7]))),
    "index_select": lambda L, x: x.index_select(2, L.tensor(np.array([4, 0, 4]))),
    "index_select 0-d": lambda L, x: L.index_select(x, 0, L.tensor(2)),
    "masked_select": lambda L, x: x.masked_select(x > 0.3),
    "masked_select broadcast": lambda L, x: x.masked_select(L.tensor(np.array([True, False, True, True, False]))),
    "select": lambda L, x: x.select(1, -1),
    "topk": lambda L, x: x.topk(2).values,
    "topk smallest dim 0": lambda L, x: x.topk(3, dim=0, largest=False)[0],
    "where": lambda L, x: x.where(x > 0, x * x),
    "lerp number": lambda L, x: x.lerp(x * x, 0.3),
    "lerp tensor": lambda L, x: L.lerp(x, x.exp(), x.sigmoid()),
    "reciprocal": lambda L, x: (x * x + 1).reciprocal(),
    "rsqrt": lambda L, x: (x * x + 1).rsqrt(),
    "bmm": lambda L, x: x.bmm(x.transpose(1, 2)),
    "mv": lambda L, x: x[0].mv(x[1, 0]),
    "median": lambda L, x: x.median(),
    "median dim": lambda L, x: x.median(1)[0] + x.median(2, keepdim=True).values.sum(),
    "kthvalue": lambda L, x: x.kthvalue(4, dim=2).values,
    "scatter_add": lambda L, x: x.scatter_add(1, L.tensor(GATHER_INDEX), x[:2, :3] * 2),
    "scatter": lambda L, x: x.scatter(2, L.tensor(np.argsort(X[:, :2], axis=2)), x[:, :2] ** 2),
    "scatter value": lambda L, x: L.scatter(x, 0, L.tensor(GATHER_INDEX[:1] % 3), value=0.5),
    "index_add": lambda L, x: x.index_add(2, L.tensor(np.array([4, 0, 4])), x[..., 1:4].exp(), alpha=0.5),
    "trunc frac": lambda L, x: (x * 3).trunc() * x + (x * 3).frac(),
    "view_as": lambda L, x: x.view_as(L.ones(5, 12)),
    "type_as": lambda L, x: x.type_as(L.ones(1, dtype=L.float32)) * 2,
}


def _run(lib, call):
    x = lib.tensor(X, requires_grad=True)
    out = CALLS[call](lib, x)
    weights = lib.tensor(np.linspace(-1.0, 2.0, int(np.prod(out.shape))).reshape(tuple(out.shape)).astype(
        out.detach().numpy().dtype))
    (out * weights).sum().backward()
    name = out.grad_fn.name().replace("torch::autograd::", "") if out.grad_fn is not None else None
    return out.detach().numpy(), name, x.grad.numpy()


@pytest.mark.parametrize("call", list(CALLS))
def test_selection_methods_are_pytorchs(call):
    torch = torch_or_skip()
    (ours, our_node, our_grad), (theirs, their_node, their_grad) = _run(dt, call), _run(torch, call)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6 if ours.dtype == np.float32 else 1e-12)
    assert our_node == their_node
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6, atol=1e-12)


def test_median_and_kthvalue_indices_and_nan_as_pytorchs():
    torch = torch_or_skip()
    data = np.array([[4.0, 1.0, 3.0, 2.0], [2.0, np.nan, 5.0, 0.5], [7.0, 8.0, 6.0, 9.0]])
    for lib_median, torch_median in ((dt.tensor(data).median(1), torch.tensor(data).median(1)),
                                     (dt.tensor(data).kthvalue(3, 1), torch.tensor(data).kthvalue(3, 1))):
        np.testing.assert_array_equal(lib_median.values.numpy(), torch_median.values.numpy())
        np.testing.assert_array_equal(lib_median.indices.numpy(), torch_median.indices.numpy())
    assert np.isnan(dt.tensor(data).median().item()) and dt.tensor(data[0]).median().item() == 2.0


def test_topk_indices_and_isnan_isinf():
    x = dt.tensor(np.array([[3.0, np.nan, -np.inf, 1.0], [0.5, 2.0, np.inf, -1.0]]))
    values, indices = dt.topk(dt.tensor(np.array([[3.0, 7.0, -1.0, 5.0]])), 2)
    np.testing.assert_array_equal(values.numpy(), [[7.0, 5.0]])
    np.testing.assert_array_equal(indices.numpy(), [[1, 3]])
    np.testing.assert_array_equal(x.isnan().numpy(), np.isnan(x.numpy()))
    np.testing.assert_array_equal(dt.isinf(x).numpy(), np.isinf(x.numpy()))


def test_gather_and_index_select_under_compile_read_traced_indices():
    x = dt.tensor(X, requires_grad=True)
    step = dt.compile(lambda x, i, j: (x.gather(1, i) * 2).sum() + x.index_select(2, j).sum())
    i, j = dt.tensor(GATHER_INDEX), dt.tensor(np.array([1, 1, 3]))
    for _ in range(2):
        loss = step(x, i, j)
    expected = (np.take_along_axis(X[:2, :, :], GATHER_INDEX, 1) * 2).sum() + X[:, :, [1, 1, 3]].sum()
    np.testing.assert_allclose(loss.item(), expected)
    loss.backward()
    assert x.grad.numpy()[..., 1].sum() > 0 and step.cache_size == 1


def test_selection_errors_name_the_op_and_the_fix():
    x = dt.tensor(X)
    with pytest.raises(TypeError, match=r"gather: index must be an integer tensor, got dtype float32.*long\(\)"):
        x.gather(1, dt.tensor([[[0.5]]]))
    with pytest.raises(ValueError, match=r"gather: index of shape \(2,\) must have the input's rank \(3"):
        x.gather(0, dt.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"gather: index of shape \(4, 1, 1\) is larger than input"):
        x.gather(1, dt.tensor(np.zeros((4, 1, 1), np.int64)))
    with pytest.raises(ValueError, match=r"index_select: index must be 0-d or 1-d"):
        x.index_select(0, dt.tensor([[0]]))
    with pytest.raises(ValueError, match=r"topk: k \(6\) out of range for dimension 2 of size 5"):
        x.topk(6)
    with pytest.raises(ValueError, match=r"bmm: expected batches of matrices of one batch size"):
        x.bmm(dt.ones(2, 5, 1, dtype=dt.float64))
    with pytest.raises(ValueError, match=r"masked_select: mask must be a boolean tensor"):
        x.masked_select(dt.ones(5))
    with pytest.raises(ValueError, match=r"scatter_add: index of shape \(3, 5, 5\) must be no larger than src"):
        x.scatter_add(1, dt.tensor(np.zeros((3, 5, 5), np.int64)), x)
    with pytest.raises(ValueError, match=r"index_add: source of shape \(3, 4, 5\) must be \(3, 4, 2\)"):
        x.index_add(2, dt.tensor([0, 1]), x)
    with pytest.raises(ValueError, match=r"kthvalue: k \(6\) out of range for dimension 2 of size 5"):
        x.kthvalue(6)
