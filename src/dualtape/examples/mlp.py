"""A small multilayer perceptron with a softmax cross-entropy loss, written with dualtape.numpy."""

import numpy as np

import dualtape.numpy as dnp


def mlp_loss(W1, b1, W2, x, labels):
    hidden = dnp.tanh(x @ W1 + b1)
    logits = hidden @ W2
    log_probs = dnp.log_softmax(logits, axis=-1)
    picked = dnp.sum(log_probs * labels, axis=-1)
    return -dnp.mean(picked)


def tanh_layer(W, x):
    return dnp.tanh(W @ x)


def example_inputs(batch=5, n_in=4, n_hidden=8, n_out=3, dtype=np.float32, seed=0):
    """(W1, b1, W2, x, labels) with one-hot labels."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((n_in, n_hidden)).astype(dtype)
    b1 = np.zeros(n_hidden, dtype)
    W2 = rng.standard_normal((n_hidden, n_out)).astype(dtype)
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    labels = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, batch)]
    return W1, b1, W2, x, labels
