"""A leaf's first .grad takes the gradient array backward computed when nobody else holds it (as PyTorch steals
a gradient buffer no one else uses), and a copy whenever anyone else could see or change it."""

import numpy as np
import pytest

import dualtape as dt
from dualtape.autograd import Function


def _address(a) -> int:
    return a.__array_interface__["data"][0]


class _Fresh(Function):
    """Identity whose backward returns a new array and remembers where its memory is (not the array)."""

    made: list = []
    order = "C"

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        out = np.array(g.numpy(), order=_Fresh.order)
        _Fresh.made.append(_address(out))
        return dt.from_numpy(out)


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_fresh_gradient_is_taken_not_copied(order):
    x = dt.tensor(np.asfortranarray(np.ones((3, 4))) if order == "F" else np.ones((3, 4)), requires_grad=True)
    _Fresh.made.clear()
    _Fresh.order = order
    (_Fresh.apply(x) * 2.0).sum().backward()
    assert _address(x.grad.numpy()) == _Fresh.made[0]
    assert x.grad.numpy().flags.f_contiguous == (order == "F")


def test_a_gradient_in_the_other_layout_is_copied_into_the_leafs_layout():
    x = dt.tensor(np.asfortranarray(np.ones((3, 4))), requires_grad=True)
    _Fresh.made.clear()
    _Fresh.order = "C"
    _Fresh.apply(x).sum().backward()
    assert _address(x.grad.numpy()) != _Fresh.made[0]
    assert x.grad.numpy().flags.f_contiguous


def test_one_array_reaching_two_leaves_is_not_shared():
    a = dt.tensor(np.ones((3, 4)), requires_grad=True)
    b = dt.tensor(np.ones((3, 4)), requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[...] = 7.0
    np.testing.assert_array_equal(b.grad.numpy(), np.ones((3, 4)))


def test_a_retained_gradient_and_a_leafs_are_not_shared():
    x = dt.tensor(np.ones(5), requires_grad=True)
    y = x + 0.0
    y.retain_grad()
    (y * 3.0).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())


def test_a_given_gradient_stays_the_callers():
    x = dt.tensor(np.ones(4), requires_grad=True)
    given = np.arange(4.0)
    (x + 0.0).backward(gradient=given)
    assert not np.shares_memory(x.grad.numpy(), given)
    given[...] = -1.0
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(4.0))


def test_a_gradient_a_hook_kept_is_not_taken():
    x = dt.tensor(np.ones(4), requires_grad=True)
    kept = []
    x.register_hook(lambda g: kept.append(g))
    (x * 2.0).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), kept[0].numpy())


def test_a_leaf_output_gets_its_own_seed():
    x = dt.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0
    x.backward()
    assert x.grad.item() == 2.0


def test_a_linear_layers_weight_gradient_is_not_copied(monkeypatch):
    """Linear's weight gradient is computed row-major (addmm's rule) and reaches .grad through weight.t()'s
    transpose as a view of all of a buffer nobody else holds: it is taken, with no copy."""
    from dualtape import nn
    from dualtape.eager import engine

    copies = []
    monkeypatch.setattr(engine, "_owned", lambda data, t: copies.append(t.shape) or np.array(data))
    layer = nn.Linear(6, 4)
    layer(dt.randn(5, 6)).square().sum().backward()
    assert copies == [] and layer.weight.grad.numpy().flags.c_contiguous


class _Kept(Function):
    """Identity whose backward returns a view of an array it keeps."""

    kept: list = []

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        base = np.array(g.numpy().T)
        _Kept.kept.append(base)
        return dt.from_numpy(base.T)


def test_a_view_of_an_array_someone_keeps_is_copied():
    x = dt.tensor(np.ones((3, 4)), requires_grad=True)
    _Kept.apply(x).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), _Kept.kept[-1])
