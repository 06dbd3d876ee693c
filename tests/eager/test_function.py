"""`dt.autograd.Function`: the tutorial's custom square with ctx.save_for_backward, needs_input_grad, several
inputs, backward written with tensor ops (so it is differentiable again), its graph node, and its errors."""

import numpy as np
import pytest

import dualtape as dt


class Square(dt.autograd.Function):
    """The PyTorch tutorial's example."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_output


class ScaledProduct(dt.autograd.Function):
    """a * b * scale, with a non-tensor argument; records which gradients backward was asked for."""

    asked = []

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ScaledProduct.asked.append(ctx.needs_input_grad)
        ga = g * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = g * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


def test_custom_square():
    x = dt.tensor(3.0, requires_grad=True)
    y = Square.apply(x)
    assert y.item() == 9.0 and y.requires_grad and not y.is_leaf
    y.backward()
    assert x.grad.item() == 6.0


def test_custom_square_in_a_larger_graph():
    x = dt.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    out = (dt.sin(Square.apply(x * 2)) + x).sum()
    out.backward()
    xv = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(x.grad.numpy(), np.cos(4 * xv * xv) * 8 * xv + 1, rtol=1e-12)


def test_function_node():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = Square.apply(x)
    assert y.grad_fn.name() == "SquareBackward"
    ((acc, _),) = y.grad_fn.next_functions
    assert repr(acc) == "<AccumulateGrad>" and acc.variable is x
    z = Square.apply(y * 1)
    assert z.grad_fn.next_functions[0][0].name() == "MulBackward0"


def test_needs_input_grad_and_non_tensor_arguments():
    a = dt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = dt.tensor(np.array([3.0, 4.0]))
    ScaledProduct.asked.clear()
    ScaledProduct.apply(a, b, 0.5).sum().backward()
    assert ScaledProduct.asked == [(True, False, False)]
    assert a.grad.tolist() == [1.5, 2.0] and b.grad is None


def test_backward_of_a_function_is_differentiable_with_create_graph():
    x = dt.tensor(3.0, requires_grad=True)
    (g,) = dt.autograd.grad(Square.apply(x), x, create_graph=True)
    assert g.item() == 6.0 and g.requires_grad
    (gg,) = dt.autograd.grad(g, x)
    assert gg.item() == 2.0


def test_apply_without_grad_records_nothing():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    with dt.no_grad():
        y = Square.apply(x)
    assert y.grad_fn is None and not y.requires_grad and y.tolist() == [1.0, 4.0]
    z = Square.apply(dt.tensor([3.0]))
    assert z.grad_fn is None and z.tolist() == [9.0]


def test_saved_tensors_are_freed_after_backward():
    x = dt.tensor(2.0, requires_grad=True)
    y = Square.apply(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    assert x.grad.item() == 4.0
    z = Square.apply(x)
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == 12.0


def test_saved_tensor_modified_in_place():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Square.apply(h)
    h.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as err:
        y.sum().backward()
    assert "version 1; expected version 0" in str(err.value) and "SquareBackward" in str(err.value)
    assert x.grad is None


def test_wrong_number_of_gradients():
    class Bad(dt.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    x = dt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward.*incorrect number of gradients \(expected 2, got 1\)"):
        Bad.apply(x, x).sum().backward()
    assert x.grad is None


def test_missing_backward():
    class NoBackward(dt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

    x = dt.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="backward"):
        NoBackward.apply(x).sum().backward()


def test_several_outputs_are_refused_clearly():
    class Two(dt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g2, g3):
            return 2 * g2 + 3 * g3

    with pytest.raises(NotImplementedError, match="2 outputs"):
        Two.apply(dt.tensor([1.0], requires_grad=True))


def test_custom_square_as_torch():
    torch = pytest.importorskip("torch")

    class TorchSquare(torch.autograd.Function):
        forward, backward = Square.forward, Square.backward

    x = dt.tensor(np.array([0.5, -1.5]), requires_grad=True)
    tx = torch.tensor(np.array([0.5, -1.5]), requires_grad=True)
    (dt.exp(Square.apply(x)) * x).sum().backward()
    (torch.exp(TorchSquare.apply(tx)) * tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
