"""Tensor.data as PyTorch's: a tensor sharing the original's memory, outside the graph (requires_grad False, no
grad_fn, a version counter of its own, so autograd does not see changes through it), and `x.data = other`, which
makes x hold other's memory. The idioms of hand-written training loops work as in PyTorch, eagerly and under
dt.compile; torch is the oracle where it is installed."""

import numpy as np
import pytest

import dualtape as dt


def test_data_is_a_tensor_sharing_memory_outside_the_graph():
    x = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.data
    assert isinstance(d, dt.Tensor) and not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.dtype == x.dtype and d.shape == x.shape and d is not x.data
    version = x._version[0]
    d.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0] and x._version[0] == version and x.requires_grad and x.is_leaf
    x.data[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0]
    assert (x * 2).data.tolist() == [0.0, 10.0, 0.0] and (x * 2).data.grad_fn is None


def test_hand_written_sgd_with_data_matches_torch():
    def train(lib, w0, x, y):
        w = lib.tensor(w0, requires_grad=True)
        losses = []
        for _ in range(3):
            loss = ((lib.tensor(x) @ w - lib.tensor(y)) ** 2).sum()
            loss.backward()
            w.data -= 0.01 * w.grad
            w.grad.data.zero_()
            losses.append(loss.item())
        assert w.is_leaf and w.requires_grad and w.grad_fn is None and w.grad.tolist() == [0.0] * len(w0)
        return np.array(w.tolist()), losses

    rng = np.random.default_rng(0)
    w0, x, y = rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=5)
    w, losses = train(dt, w0, x, y)
    assert losses[2] < losses[0]
    torch = pytest.importorskip("torch")
    w_torch, losses_torch = train(torch, w0, x, y)
    np.testing.assert_allclose(w, w_torch, rtol=1e-12)
    np.testing.assert_allclose(losses, losses_torch, rtol=1e-12)


def test_a_change_through_data_goes_unseen_by_autograd_as_in_torch():
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        x.data.mul_(10.0)  # (PyTorch does not notice: the gradient reads the new values)
        y.backward()
        return x.grad.tolist()

    assert run(dt) == [20.0, 40.0]
    torch = pytest.importorskip("torch")
    assert run(torch) == run(dt)


def test_setting_data_swaps_the_memory_and_keeps_the_autograd_state():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    other = dt.tensor([[5.0, 6.0, 7.0]], dtype=dt.float64)
    x.data = other
    assert x.shape == (1, 3) and x.dtype == np.float64 and x.requires_grad and x.is_leaf
    assert x.grad.tolist() == [3.0, 3.0]
    other[0, 0] = 9.0
    assert x.tolist() == [[9.0, 6.0, 7.0]]
    with pytest.raises(TypeError, match="has to be a tensor"):
        x.data = np.zeros(3)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="has to be a tensor"):
        torch.ones(2).data = np.zeros(3)


def test_modules_and_optimisers_still_update_their_parameters():
    dt.manual_seed(0)
    model = dt.nn.Linear(3, 2)
    weight = model.weight
    model.double()
    assert model.weight is weight and weight.dtype == np.float64 and weight.data.dtype == np.float64
    opt = dt.optim.SGD(model.parameters(), lr=0.1)
    before = weight.detach().clone()
    model(dt.ones(4, 3, dtype=dt.float64)).sum().backward()
    opt.step()
    assert not np.allclose(weight.tolist(), before.tolist())
    p = dt.nn.Parameter(dt.tensor([1.0, 2.0]))
    p.data.add_(1.0)
    assert p.tolist() == [2.0, 3.0] and isinstance(p.data, dt.Tensor) and not isinstance(p.data, dt.nn.Parameter)


def test_data_idioms_under_compile_write_the_tensors():
    w = dt.tensor([1.0, -2.0], requires_grad=True)

    def step(x):
        loss = (w * x).sum() ** 2
        loss.backward()
        w.data -= 0.1 * w.grad
        w.grad.data.zero_()
        return loss

    eager_w = dt.tensor([1.0, -2.0], requires_grad=True)
    compiled = dt.compile(step)
    x = dt.tensor([0.5, 1.5])
    for _ in range(3):
        compiled(x)
        loss = (eager_w * x).sum() ** 2
        loss.backward()
        eager_w.data -= 0.1 * eager_w.grad
        eager_w.grad.data.zero_()
    np.testing.assert_allclose(w.tolist(), eager_w.tolist(), rtol=1e-6)
    assert w.grad.tolist() == [0.0, 0.0]


def test_detach_writes_through_as_well():
    x = dt.tensor([1.0, 2.0])
    x.detach().mul_(2.0)
    assert x.tolist() == [2.0, 4.0]
    kept = dt.ones(2, requires_grad=True) * 2
    alias = kept.detach()
    del kept  # (an alias does not keep its source alive)
    assert alias.tolist() == [2.0, 2.0]
