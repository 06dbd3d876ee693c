"""The activations, dropout, layer_norm and embedding of nn.functional (nn/layer_functions.py) and their modules
(nn/activation.py, nn/layers.py) against PyTorch: values, the node recorded, and the gradients of the input and
of the parameters, in float32 and float64; dropout's semantics; the errors."""

import numpy as np
import pytest

import dualtape as dt
from dualtape import nn
from testkit import DTYPE_TOLERANCES, torch_or_skip

RNG = np.random.default_rng(11)
X = np.concatenate([RNG.standard_normal(10) * 3, [0.0, -1.0, 1.0, 25.0, -30.0, 7.0]]).reshape(4, 4)

FUNCTIONS = {
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.2),
    "elu": lambda L, x: L.nn.functional.elu(x, 1.5),
    "gelu": lambda L, x: L.nn.functional.gelu(x),
    "gelu tanh": lambda L, x: L.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x, beta=2.0, threshold=10.0),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x, -1.0, 7.0),
    "layer_norm": lambda L, x: L.nn.functional.layer_norm(x, (4,)),
    "layer_norm 2 dims": lambda L, x: L.nn.functional.layer_norm(x.reshape(2, 2, 4), (2, 4), eps=1e-3),
    "dropout eval": lambda L, x: L.nn.functional.dropout(x, 0.3, training=False) * 1,
    "softmax module": lambda L, x: L.nn.Softmax(dim=0)(x),
    "log_softmax module": lambda L, x: L.nn.LogSoftmax(dim=1)(x),
    "flatten": lambda L, x: L.nn.Flatten(0)(x.reshape(2, 2, 4)),
}


def _grad_check(lib, call, dtype):
    x = lib.tensor(X.astype(dtype), requires_grad=True)
    out = FUNCTIONS[call](lib, x)
    weights = lib.tensor(np.linspace(-1.0, 2.0, int(np.prod(out.shape))).reshape(tuple(out.shape)).astype(dtype))
    (out * weights).sum().backward()
    node = out.grad_fn.name().replace("torch::autograd::", "") if out.grad_fn is not None else None
    return out.detach().numpy(), node, x.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("call", list(FUNCTIONS))
def test_activations_and_layer_norm_are_pytorchs(call, dtype):
    torch = torch_or_skip()
    (ours, our_node, our_grad), (theirs, their_node, their_grad) = (_grad_check(dt, call, dtype),
                                                                     _grad_check(torch, call, dtype))
    rtol, atol = DTYPE_TOLERANCES[np.dtype(dtype)]
    assert ours.dtype == theirs.dtype and our_node == their_node
    np.testing.assert_allclose(ours, theirs, rtol=rtol * 10, atol=atol * 10)
    np.testing.assert_allclose(our_grad, their_grad, rtol=rtol * 10, atol=atol * 10)


def _modules(lib, dtype):
    lib.manual_seed(0)
    norm = lib.nn.LayerNorm(4, dtype=getattr(lib, np.dtype(dtype).name))
    embed = lib.nn.Embedding(6, 4, padding_idx=2, dtype=getattr(lib, np.dtype(dtype).name))
    return norm, embed


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_and_embedding_parameters_get_pytorchs_gradients(dtype):
    torch = torch_or_skip()
    results = []
    for lib in (dt, torch):
        norm, embed = _modules(lib, dtype)
        with (dt.no_grad() if lib is dt else torch.no_grad()):
            embed.weight.copy_(lib.tensor(RNG.standard_normal((6, 4)).astype(dtype) if lib is dt else results[0][4]))
            norm.weight.copy_(lib.tensor(np.linspace(0.5, 2.0, 4).astype(dtype)))
            norm.bias.copy_(lib.tensor(np.linspace(-1.0, 1.0, 4).astype(dtype)))
        ids = lib.tensor(np.array([[0, 2, 5], [2, 2, 1]]))
        out = norm(embed(ids) * 3)
        (out * lib.tensor(np.arange(24.0).reshape(2, 3, 4).astype(dtype))).sum().backward()
        results.append([out.detach().numpy(), out.grad_fn.name().replace("torch::autograd::", ""),
                        norm.weight.grad.numpy(), norm.bias.grad.numpy(), embed.weight.detach().numpy().copy(),
                        embed.weight.grad.numpy()])
    ours, theirs = results
    rtol, atol = DTYPE_TOLERANCES[np.dtype(dtype)]
    assert ours[1] == theirs[1] == "NativeLayerNormBackward0"
    for a, b in zip(ours[:1] + ours[2:], theirs[:1] + theirs[2:]):
        np.testing.assert_allclose(a, b, rtol=rtol * 10, atol=atol * 10)
    assert not ours[5][2].any()  # (the padding row: no gradient)


def test_embedding_initialisation_and_lookup():
    dt.manual_seed(3)
    embed = nn.Embedding(10, 3, padding_idx=-1)
    assert embed.padding_idx == 9 and not embed.weight.detach().numpy()[9].any()
    assert embed.weight.requires_grad and abs(float(embed.weight.detach().numpy()[:9].std()) - 1.0) < 0.5
    out = embed(dt.tensor(np.array([[1, 9], [4, 4]])))
    assert out.shape == (2, 2, 3) and out.grad_fn.name() == "EmbeddingBackward0"
    np.testing.assert_array_equal(out.detach().numpy()[1, 0], embed.weight.detach().numpy()[4])
    with pytest.raises(IndexError, match=r"embedding: index out of range in self: indices from 0 to 10 for 10"):
        embed(dt.tensor([0, 10]))
    with pytest.raises(TypeError, match=r"embedding: indices must be an integer tensor"):
        embed(dt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"padding_idx \(10\) must be within num_embeddings \(10\)"):
        nn.Embedding(10, 3, padding_idx=10)


def test_dropout_zeroes_and_scales_in_training_only():
    dt.manual_seed(0)
    x = dt.tensor(np.ones((200, 50)), requires_grad=True)
    layer = nn.Dropout(0.25)
    out = layer(x)
    kept = out.detach().numpy() != 0
    assert 0.7 < kept.mean() < 0.8 and np.allclose(out.detach().numpy()[kept], 1 / 0.75)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75)  # (the same mask in the gradient)
    dt.manual_seed(0)
    np.testing.assert_array_equal(nn.Dropout(0.25)(x).detach().numpy(), out.detach().numpy())  # (seeded)
    layer.eval()
    assert layer(x) is x and nn.functional.dropout(x, 0.0) is x
    assert not nn.functional.dropout(x, 1.0).detach().numpy().any()
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout_under_compile_draws_a_new_mask_each_call():
    dt.manual_seed(1)
    step = dt.compile(lambda x: nn.functional.dropout(x, 0.5) * 2)
    x = dt.tensor(np.ones((64, 64)))
    first, second = step(x).numpy(), step(x).numpy()
    assert set(np.unique(first)) <= {0.0, 4.0} and not np.array_equal(first, second)


def test_module_reprs_identity_and_errors():
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"
    assert repr(nn.Dropout(0.2)).startswith("Dropout(p=0.2")
    x = dt.tensor(X)
    assert nn.Identity(3, unused=True)(x) is x
    assert nn.Sequential(nn.Linear(4, 3, dtype=np.float64), nn.GELU(), nn.Dropout(0.1), nn.LayerNorm(3,
                         dtype=np.float64))(x).shape == (4, 3)
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        nn.functional.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(3,\) is not the trailing shape"):
        nn.functional.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(2.0\) cannot be greater than max_val"):
        nn.functional.hardtanh(x, 2.0, 1.0)
