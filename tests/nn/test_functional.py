"""nn.functional: each function's value and gradients against NumPy references and central differences
(float64, hypothesis-drawn shapes), cross entropy's target forms (indices, probabilities, extra dimensions, a
single sample), its stability for huge logits, and the error messages for targets that do not fit."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_checks import check_against_reference

import dualtape as dt
from dualtape.nn import functional as F
from strategies import SMALL, Domain, arrays
from testkit import leaf

FEW = settings(max_examples=20, deadline=None)
MATRICES = st.sampled_from([(1, 1), (2, 3), (4, 2), (3, 4)])



def softmax_np(z, axis):
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


@FEW
@given(arrays(np.float64, MATRICES, SMALL), st.sampled_from([0, 1, -1]))
def test_softmax_and_log_softmax(z_np, dim):
    z = leaf(z_np)

    def softmax_grad(g, z):
        s = softmax_np(z, dim)
        return [s * (g - (g * s).sum(dim, keepdims=True))]

    def log_softmax_grad(g, z):
        return [g - softmax_np(z, dim) * g.sum(dim, keepdims=True)]

    check_against_reference(lambda: F.softmax(z, dim), lambda z: softmax_np(z, dim), [z], softmax_grad)
    check_against_reference(lambda: F.log_softmax(z, dim), lambda z: np.log(softmax_np(z, dim)), [z],
                            log_softmax_grad)


@FEW
@given(arrays(np.float64, MATRICES, Domain(-3.0, 3.0, away=0.1)))
def test_elementwise_activations(x_np):
    x = leaf(x_np)
    check_against_reference(lambda: F.relu(x), lambda x: np.maximum(x, 0), [x], lambda g, x: [g * (x > 0)])
    check_against_reference(lambda: F.tanh(x), np.tanh, [x], lambda g, x: [g / np.cosh(x) ** 2])
    sig = lambda x: 1 / (1 + np.exp(-x))
    check_against_reference(lambda: F.sigmoid(x), sig, [x], lambda g, x: [g * sig(x) * (1 - sig(x))])


@FEW
@given(MATRICES.flatmap(lambda s: st.tuples(arrays(np.float64, s, SMALL), arrays(np.float64, (3, s[1]), SMALL),
                                            arrays(np.float64, (3,), SMALL))))
def test_linear(case):
    x_np, w_np, b_np = case
    x, w, b = leaf(x_np), leaf(w_np), leaf(b_np)
    check_against_reference(lambda: F.linear(x, w, b), lambda x, w, b: x @ w.T + b, [x, w, b],
                            lambda g, x, w, b: [g @ w, g.T @ x, g.sum(0)])
    check_against_reference(lambda: F.linear(x, w), lambda x, w: x @ w.T, [x, w], lambda g, x, w: [g @ w, g.T @ x])


@FEW
@given(st.sampled_from([(2, 3), (3, 2, 2), (1, 4, 3, 2)]), st.sampled_from(["mean", "sum", "none"]), st.data())
def test_cross_entropy_with_class_indices_over_extra_dimensions(shape, reduction, data):
    """(N, C, d1, ...) logits: classes in dim 1, one target index per (n, d1, ...)."""
    z_np = data.draw(arrays(np.float64, shape, SMALL))
    target_shape = shape[:1] + shape[2:]
    labels = np.array(data.draw(st.lists(st.integers(0, shape[1] - 1), min_size=int(np.prod(target_shape)),
                                         max_size=int(np.prod(target_shape))))).reshape(target_shape)
    onehot = np.moveaxis(np.eye(shape[1])[labels], -1, 1)
    count = labels.size
    z = leaf(z_np)

    def reference(z):
        losses = -(np.log(softmax_np(z, 1)) * onehot).sum(1)
        return {"mean": losses.sum() / count, "sum": losses.sum(), "none": losses}[reduction]

    def reference_grads(g, z):
        weights = {"mean": g / count, "sum": g, "none": None}[reduction]
        weights = np.expand_dims(g, 1) if weights is None else weights
        return [(softmax_np(z, 1) - onehot) * weights]

    check_against_reference(lambda: F.cross_entropy(z, dt.tensor(labels), reduction=reduction), reference, [z],
                            reference_grads)


@FEW
@given(st.integers(1, 4), st.integers(2, 4), st.data())
def test_cross_entropy_with_class_probabilities(n, classes, data):
    z = leaf(data.draw(arrays(np.float64, (n, classes), SMALL)))
    p = softmax_np(data.draw(arrays(np.float64, (n, classes), SMALL)), 1)
    check_against_reference(lambda: F.cross_entropy(z, dt.tensor(p)),
                            lambda z: -(np.log(softmax_np(z, 1)) * p).sum() / n, [z],
                            lambda g, z: [g * (softmax_np(z, 1) * p.sum(1, keepdims=True) - p) / n])


def test_cross_entropy_of_a_single_sample_and_of_huge_logits():
    z = dt.tensor([1.0, 2.0, 3.0], dtype=np.float64)
    assert F.cross_entropy(z, dt.tensor(2)).item() == pytest.approx(-np.log(softmax_np(z.numpy(), 0)[2]), rel=1e-12)
    huge = dt.tensor([[1000.0, 0.0], [0.0, -1000.0]], requires_grad=True)  # float32: exp(1000) overflows
    loss = F.cross_entropy(huge, dt.tensor([1, 1]), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1000.0, 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(huge.grad.numpy(), [[1.0, -1.0], [1.0, -1.0]])
    masked = dt.tensor([[0.0, -np.inf, 1.0]])  # a masked-out class that is not the target stays harmless
    assert np.isfinite(F.cross_entropy(masked, dt.tensor([2])).item())


def test_cross_entropy_errors_name_the_shapes_and_the_fix():
    logits = dt.zeros(4, 3)
    for _ in range(2):  # (a layout's rules pass once and are remembered; one that fails raises every time)
        with pytest.raises(ValueError) as info:
            F.cross_entropy(logits, dt.tensor([[0], [1], [2], [1]]))
        assert "(4, 3)" in str(info.value) and "(4,)" in str(info.value) and "(4, 1)" in str(info.value)
    with pytest.raises(ValueError, match=r"float targets are class probabilities .*\(4, 3\), got \(4, 2\)"):
        F.cross_entropy(logits, dt.zeros(4, 2))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(logits, dt.tensor([0, 1, 3, 1]))
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.cross_entropy(logits, dt.tensor([0, -1, 2, 1]))
    with pytest.raises(TypeError, match="dtype bool"):
        F.cross_entropy(logits, dt.tensor([True, False, True, True]))
    with pytest.raises(ValueError, match="0-d"):
        F.cross_entropy(dt.tensor(1.0), dt.tensor(0))


def test_linear_with_mismatched_shapes_names_both():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) .* weight of shape \(4, 2\)"):
        F.linear(dt.ones(2, 3), dt.ones(4, 2))


def test_mse_loss_warns_when_target_broadcasts():
    a, b = dt.ones(3, 1), dt.zeros(3)
    with pytest.warns(UserWarning, match=r"target size \(3,\) that is different to the input size \(3, 1\)"):
        loss = F.mse_loss(a, b)
    assert loss.item() == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(a, dt.zeros(3, 1))  # same shapes: no warning
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(a, a, reduction="average")


def test_softmax_needs_a_dim():
    with pytest.raises(TypeError):
        F.softmax(dt.ones(2, 2))  # PyTorch's implicit dim is deprecated; here dim is required
