"""The models the workloads share, each written with dualtape.numpy and, for reference, by hand in NumPy
(forward, and the gradient a person would write)."""

from __future__ import annotations

import numpy as np

import dualtape.numpy as dnp


def mlp_init(n_in=784, n_hidden=256, n_out=10, batch=128, dtype=np.float32, seed=0):
    """((W1, b1, W2, b2), x, y) with one-hot labels y."""
    rng = np.random.default_rng(seed)
    W1 = (rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)).astype(dtype)
    b1 = np.zeros(n_hidden, dtype)
    W2 = (rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)).astype(dtype)
    b2 = np.zeros(n_out, dtype)
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, batch)]
    return (W1, b1, W2, b2), x, y


def mlp_loss(params, x, y):
    """Softmax cross-entropy of a tanh MLP, averaged over the batch."""
    W1, b1, W2, b2 = params
    h = dnp.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    return -dnp.mean(dnp.sum(y * dnp.log_softmax(logits, axis=-1), axis=-1))


def mlp_loss_numpy(params, x, y):
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    m = z.max(axis=1, keepdims=True)
    logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return -(y * logp).sum() / x.shape[0]


def mlp_grad_numpy(params, x, y):
    """The gradient of mlp_loss_numpy as a person writes it (y one-hot: d loss / d logits = (p - y) / B)."""
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    dz = (e / e.sum(axis=1, keepdims=True) - y) / x.shape[0]
    dh = dz @ W2.T
    da = dh * (1 - h * h)
    return x.T @ da, da.sum(axis=0), h.T @ dz, dz.sum(axis=0)


def mlp_loss_peer(params, x, y, xp):
    """mlp_loss in a peer's NumPy-like namespace (jax.numpy, autograd.numpy)."""
    W1, b1, W2, b2 = params
    h = xp.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    m = xp.max(z, axis=1, keepdims=True)
    logp = z - m - xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True))
    return -xp.sum(y * logp) / x.shape[0]


def mlp_forward(params, x, xp=dnp):
    """The MLP's outputs (for forward-mode benchmarks: a vector function of x)."""
    W1, b1, W2, b2 = params
    return xp.tanh(x @ W1 + b1) @ W2 + b2


def tanh_layer(W, x, xp=dnp):
    return xp.tanh(W @ x)


def tiny(x, xp=dnp):
    """sum(sin x cos x + x^2 e^-x); xp is the array namespace (dnp, or a peer's for comparison)."""
    return xp.sum(xp.sin(x) * xp.cos(x) + x ** 2 * xp.exp(-x))


def tiny_numpy(x):
    return np.sum(np.sin(x) * np.cos(x) + x ** 2 * np.exp(-x))


def tiny_grad_numpy(x):
    """d/dx [sin x cos x + x^2 e^-x] = cos 2x + (2x - x^2) e^-x, written by hand."""
    s, c, e = np.sin(x), np.cos(x), np.exp(-x)
    return c * c - s * s + (2 * x - x * x) * e


def logistic_loss(w, X, y, xp=dnp):
    """Negative log-likelihood of logistic regression, labels y in {0, 1}."""
    z = X @ w
    return xp.sum(xp.log1p(xp.exp(z)) - y * z)


def logistic_grad_numpy(w, X, y):
    return X.T @ (1 / (1 + np.exp(-(X @ w))) - y)


def logistic_hvp_numpy(w, v, X, y):
    """The Hessian-vector product by hand: X^T diag(s (1 - s)) X v, s = sigmoid(X w)."""
    s = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (s * (1 - s) * (X @ v))
