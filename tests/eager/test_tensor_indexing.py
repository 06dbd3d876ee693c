"""Writing into tensors (`x[index] = value`, recorded as CopySlices when a gradient flows) and indexing with
boolean tensors, as in PyTorch; checked against torch when it is installed."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp


def test_item_assignment_writes_in_place():
    x = dt.zeros(2, 3)
    alias = x.detach()
    x[0] = 1.0
    x[:, 1] = dt.tensor([5.0, 6.0])
    x[1, 2] = np.float32(7.0)
    np.testing.assert_array_equal(x.numpy(), [[1, 5, 1], [0, 6, 7]])
    np.testing.assert_array_equal(alias.numpy(), x.numpy())  # the same storage, written where it is
    assert x._version[0] == 3


def test_boolean_tensor_masks_select_and_write():
    x = dt.tensor([1.0, -2.0, 3.0, -4.0])
    np.testing.assert_array_equal(x[x > 0].numpy(), [1.0, 3.0])
    x[x < 0] = 0.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 0.0, 3.0, 0.0])
    w = dt.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w[w > 0].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 0.0, 1.0])


def test_gradients_flow_through_a_write():
    w = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = dt.tensor([7.0], requires_grad=True)
    y = w * 2.0
    y[1:2] = v * 3.0
    assert y.grad_fn.name() == "CopySlices"
    (y * y).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [8.0, 0.0, 24.0])  # d/dw of (2w)^2 where not overwritten
    np.testing.assert_allclose(v.grad.numpy(), [2 * 21.0 * 3.0])


def test_writing_into_a_leaf_that_requires_grad_is_refused():
    w = dt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 5.0
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])
    with dt.no_grad():
        w[0] = 5.0
    np.testing.assert_array_equal(w.detach().numpy(), [5.0, 2.0])


def test_a_write_that_does_not_fit_names_the_shapes():
    y = dt.zeros(2, 3, requires_grad=False)
    with pytest.raises(ValueError):
        y[0] = dt.ones(4)
    z = dt.tensor([1.0, 2.0], requires_grad=True) * 1.0
    with pytest.raises(ValueError, match=r"index_update.*\(4,\)"):
        z[0:2] = dt.ones(4)


def test_writes_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    base, value = rng.normal(size=(4, 3)), rng.normal(size=(3,))
    results = []
    for lib in (dt, torch):
        w = lib.tensor(base, requires_grad=True)
        v = lib.tensor(value, requires_grad=True)
        y = w * 1.5
        y[1] = v
        y[y > 1.0] = 1.0
        y[[0, 3], 1:] = v[1:] * 2.0
        (y * y.detach() + y).sum().backward()
        results.append((y.detach().numpy(), w.grad.numpy(), v.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_eager_shape_errors_name_the_op_the_shapes_and_the_line():
    a, b = dt.ones(2, 3), dt.ones(2)
    with pytest.raises(ValueError, match=r"add: operands could not be broadcast together with shapes \(2, 3\) and "
                                         r"\(2,\)\n  at .*test_tensor_indexing.py:\d+"):
        a + b
    with pytest.raises(ValueError, match=r"matmul: inner dimensions do not match"):
        dt.ones(2, 3) @ dt.ones(2, 3)


def test_clamp_passes_the_gradient_on_its_bounds_as_torch():
    x = dt.tensor([-1.0, 0.0, 0.5, 2.0, 3.0], requires_grad=True)
    x.clamp(-1.0, 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0, 1.0, 0.0])
    y = dt.tensor([0.0, 1.0], requires_grad=True)
    y.clamp(min=0).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0])
    values = np.array([1.0, 5.0, 9.0, np.nan])
    np.testing.assert_array_equal(dnp.clip(values, 2, 6), np.clip(values, 2, 6))
    np.testing.assert_array_equal(dnp.clip(values, 7, 3), np.clip(values, 7, 3))


def test_norm_and_std_have_gradient_zero_at_zero_as_torch():
    x = dt.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    x.norm(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])
    for p in (2, 3):
        z = dt.tensor([0.0, 0.0], requires_grad=True)
        z.norm(p=p).backward()
        np.testing.assert_array_equal(z.grad.numpy(), [0.0, 0.0])
    c = dt.tensor([1.0, 1.0, 1.0], requires_grad=True)
    c.std().backward()
    np.testing.assert_array_equal(c.grad.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dt.grad(lambda v: dnp.linalg.norm(v))(np.zeros(3)), np.zeros(3))
    np.testing.assert_allclose(dt.grad(lambda v: dnp.linalg.norm(v))(np.array([3.0, 4.0])), [0.6, 0.8])


def test_in_place_changes_through_views_reach_the_base_as_in_torch():
    """A view shares its base's memory and version counter; an in-place change through it gives the base a
    CopySlices grad_fn, so the base's gradient sees the change (chains of views too)."""
    x = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    y[1:].mul_(3.0)
    assert y.grad_fn.name() == "CopySlices"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 3.0, 3.0])
    x = dt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1.0
    y.T[0].mul_(5.0)  # a view of a view
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[50.0, 4.0], [150.0, 8.0]])
    x = dt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 1.0
    h[:, :1].zero_()
    (h * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 4.0], [0.0, 8.0]])


def test_a_value_saved_for_backward_changed_through_a_view_is_caught():
    x = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    y[1:].add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_a_view_of_a_leaf_requiring_grad_cannot_change_it_in_place():
    w = dt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0:1].mul_(10.0)
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])
    with dt.no_grad():
        w[0:1].mul_(10.0)
    np.testing.assert_array_equal(w.detach().numpy(), [10.0, 2.0])
    assert w._version[0] == 1  # (the view shares the leaf's counter)


def test_views_match_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (dt, torch):
        x = lib.tensor(np.arange(12.0).reshape(3, 4) / 7.0, requires_grad=True)
        h = x * 2.0
        h[1].add_(h[0] * 3.0)
        h.reshape(12)[5:9].mul_(0.5)
        h[:, 2:].clamp_(0.3, 2.0)
        (h * h).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_an_index_out_of_bounds_is_an_index_error_naming_the_op_the_shape_and_the_line():
    """As NumPy, an IndexError (so `except IndexError` works), but with the op, the shape and the user's line."""
    t = dt.tensor([1.0, 2.0, 3.0])
    written = r"__setitem__: index 5 is out of bounds .*shape \[3\]\)\n  at .*test_tensor_indexing"
    with pytest.raises(IndexError, match=written):
        t[np.array([5])] = 1.0
    assert t.tolist() == [1.0, 2.0, 3.0]  # (nothing half-written)
    for read in (lambda: t[5], lambda: dt.jit(lambda x: x[5])(np.ones(3))):
        with pytest.raises(IndexError, match=r"getitem: index 5 is out of bounds for axis 0 with size 3"):
            read()
