"""nn layers (Linear, ReLU, Tanh, Sigmoid, Sequential) and loss modules (MSELoss, CrossEntropyLoss): values and
gradients against NumPy references and central differences in float64 over hypothesis-drawn shapes, the
default initialisation, error messages, and (where PyTorch is installed) torch for the same weights."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_checks import check_against_reference

import dualtape as dt
from dualtape import nn
from strategies import SMALL, Domain, arrays
from testkit import torch_or_skip

FEW = settings(max_examples=20, deadline=None)
AWAY_FROM_ZERO = Domain(-3.0, 3.0, away=0.1)


def float64_leaf(array):
    return dt.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def linear_case(batch_shape, n_in, n_out):
    """(x shape, weight shape, bias shape) strategy pieces for Linear."""
    return st.tuples(arrays(np.float64, batch_shape + (n_in,), SMALL), arrays(np.float64, (n_out, n_in), SMALL),
                     arrays(np.float64, (n_out,), SMALL))


@st.composite
def linear_arrays(draw):
    batch_shape = draw(st.sampled_from([(), (1,), (3,), (2, 2)]))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return draw(linear_case(batch_shape, n_in, n_out))


# ---- Linear -------------------------------------------------------------------------------------------
@FEW
@given(linear_arrays(), st.booleans())
def test_linear_value_and_gradients(case, with_bias):
    x_np, w_np, b_np = case
    layer = nn.Linear(w_np.shape[1], w_np.shape[0], bias=with_bias, dtype=np.float64)
    with dt.no_grad():
        layer.weight.copy_(w_np)
        if with_bias:
            layer.bias.copy_(b_np)
    x = float64_leaf(x_np)
    leaves = [x, layer.weight] + ([layer.bias] if with_bias else [])

    def reference(x, w, b=None):
        return x @ w.T + (0 if b is None else b)

    def reference_grads(g, x, w, b=None):
        g2, x2 = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
        return [g @ w, g2.T @ x2] + ([g2.sum(0)] if b is not None else [])

    check_against_reference(lambda: layer(x), reference, leaves, reference_grads)


def test_linear_shapes_dtype_and_repr():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float32 and isinstance(layer.weight, nn.Parameter)
    assert layer(dt.ones(4, 3)).shape == (4, 2) and layer(dt.ones(3)).shape == (2,)
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=True)"
    no_bias = nn.Linear(3, 2, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert repr(no_bias) == "Linear(in_features=3, out_features=2, bias=False)"
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64


def test_linear_default_init_is_uniform_in_one_over_sqrt_fan_in():
    dt.manual_seed(0)
    layer = nn.Linear(16, 200)
    bound = 1 / math.sqrt(16)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.9 * bound and abs(values.mean()) < 0.1 * bound  # spread over the range
    dt.manual_seed(0)
    again = nn.Linear(16, 200)
    np.testing.assert_array_equal(again.weight.detach().numpy(), layer.weight.detach().numpy())
    np.testing.assert_array_equal(again.bias.detach().numpy(), layer.bias.detach().numpy())


def test_linear_with_the_wrong_feature_size_names_both_shapes():
    layer = nn.Linear(2, 5)
    with pytest.raises(ValueError) as info:
        layer(dt.ones(4, 3))
    message = str(info.value)
    assert "Linear" in message and "(4, 3)" in message and "(5, 2)" in message and "in_features = 2" in message
    assert "Linear(3, 5)" in message  # the fix
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 2)


# ---- activations and Sequential ----------------------------------------------------------------------
ACTIVATIONS = {
    "ReLU": (nn.ReLU, lambda x: np.maximum(x, 0), lambda g, x: g * (x > 0)),
    "Tanh": (nn.Tanh, np.tanh, lambda g, x: g * (1 - np.tanh(x) ** 2)),
    "Sigmoid": (nn.Sigmoid, lambda x: 1 / (1 + np.exp(-x)),
                lambda g, x: g * np.exp(-x) / (1 + np.exp(-x)) ** 2),
}


@FEW
@given(st.sampled_from(sorted(ACTIVATIONS)), arrays(np.float64, st.sampled_from([(), (3,), (2, 3)]), AWAY_FROM_ZERO))
def test_activation_value_and_gradient(name, x_np):
    module, reference, derivative = ACTIVATIONS[name]
    x = float64_leaf(x_np)
    check_against_reference(lambda: module()(x), reference, [x], lambda g, x: [derivative(g, x)])
    assert repr(module()) == f"{name}()"


@settings(max_examples=10, deadline=None)
@given(arrays(np.float64, (3, 2), SMALL), st.integers(0, 2**16))
def test_sequential_mlp_value_and_gradients(x_np, seed):
    dt.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2), nn.Sigmoid()).double()
    x = float64_leaf(x_np)

    def reference(x, w1, b1, w2, b2):
        return 1 / (1 + np.exp(-(np.tanh(x @ w1.T + b1) @ w2.T + b2)))

    check_against_reference(lambda: model(x), reference, [x, *model.parameters()])


# ---- loss modules ---------------------------------------------------------------------------------------
def log_softmax_np(z, axis):
    shifted = z - z.max(axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis, keepdims=True))


@FEW
@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from(["mean", "sum", "none"]), st.data())
def test_cross_entropy_loss_module(n, classes, reduction, data):
    logits_np = data.draw(arrays(np.float64, (n, classes), SMALL))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    logits = float64_leaf(logits_np)
    loss_fn = nn.CrossEntropyLoss(reduction=reduction)
    scale = {"mean": 1 / n, "sum": 1.0, "none": None}[reduction]

    def reference(z):
        losses = -log_softmax_np(z, 1)[np.arange(n), labels]
        return losses if scale is None else losses.sum() * scale

    def reference_grads(g, z):
        softmax = np.exp(log_softmax_np(z, 1))
        weights = g[:, None] if scale is None else g * scale
        return [(softmax - np.eye(classes)[labels]) * weights]

    check_against_reference(lambda: loss_fn(logits, dt.tensor(labels)), reference, [logits], reference_grads)


@FEW
@given(st.sampled_from([(), (3,), (2, 3)]), st.sampled_from(["mean", "sum", "none"]), st.data())
def test_mse_loss_module(shape, reduction, data):
    a_np, b_np = (data.draw(arrays(np.float64, shape, SMALL)) for _ in range(2))
    a, b = float64_leaf(a_np), float64_leaf(b_np)
    size = max(1, int(np.prod(shape)))
    reduce = {"mean": lambda e: e.sum() / size, "sum": np.sum, "none": lambda e: e}[reduction]
    gscale = {"mean": 1 / size, "sum": 1.0, "none": 1.0}[reduction]
    check_against_reference(lambda: nn.MSELoss(reduction=reduction)(a, b), lambda a, b: reduce((a - b) ** 2), [a, b],
                            lambda g, a, b: [2 * (a - b) * g * gscale, -2 * (a - b) * g * gscale])


def test_loss_modules_reject_an_unknown_reduction():
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_cross_entropy_loss_with_float_targets_of_the_wrong_shape():
    logits = dt.zeros(4, 3)
    with pytest.raises(ValueError) as info:
        nn.CrossEntropyLoss()(logits, dt.tensor([0.0, 1.0, 2.0, 1.0]))
    message = str(info.value)
    assert "cross_entropy" in message and "(4, 3)" in message and "(4,)" in message and "integer" in message


# ---- PyTorch as the oracle -------------------------------------------------------------------------------
def test_linear_and_losses_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    x, labels = rng.standard_normal((4, 5)).astype(np.float32), rng.integers(0, 3, 4)
    target = rng.standard_normal((4, 3)).astype(np.float32)

    ours = nn.Linear(5, 3)
    ours.load_state_dict({"weight": w, "bias": b})
    theirs = torch.nn.Linear(5, 3)
    theirs.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
    for loss_ours, loss_theirs, y_ours, y_theirs in [
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), dt.tensor(labels), torch.tensor(labels)),
        (nn.CrossEntropyLoss(reduction="sum"), torch.nn.CrossEntropyLoss(reduction="sum"), dt.tensor(labels),
         torch.tensor(labels)),
        (nn.MSELoss(), torch.nn.MSELoss(), dt.tensor(target), torch.tensor(target)),
    ]:
        ours.zero_grad()
        theirs.zero_grad()
        out_ours, out_theirs = ours(dt.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
        value_ours, value_theirs = loss_ours(out_ours, y_ours), loss_theirs(out_theirs, y_theirs)
        assert value_ours.dtype == np.float32
        np.testing.assert_allclose(value_ours.item(), value_theirs.item(), rtol=1e-6)
        value_ours.backward()
        value_theirs.backward()
        for name in ("weight", "bias"):
            np.testing.assert_allclose(getattr(ours, name).grad.numpy(), getattr(theirs, name).grad.numpy(),
                                       rtol=1e-5, atol=1e-6)
    assert repr(ours) == repr(theirs)
    assert repr(nn.Sequential(ours, nn.ReLU())) == repr(torch.nn.Sequential(theirs, torch.nn.ReLU()))
