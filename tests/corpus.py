"""Functions that every mode must compute and differentiate identically: eager dnp on NumPy arrays,
traced-and-evaluated, NumPy-compiled, CuPy-compiled when a GPU is present, reverse and forward mode, and
eagerly on dt.tensor leaves through Tensor.backward (tests/test_corpus.py runs them all).

Each Case gives a function written with dualtape.numpy and a maker of float64 example arguments (seeded);
`not_eager` says why a function cannot run on tensors (empty: it can).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

import dualtape.numpy as dnp


class Case(NamedTuple):
    name: str
    fn: Callable
    make_args: Callable[[np.random.Generator], tuple]
    not_eager: str = ""


def _normal(rng, *shape):
    return rng.standard_normal(shape)


def _positive(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def elementwise_chain(x):
    return dnp.sum(dnp.sin(x) * dnp.cos(x) + x ** 2 * dnp.exp(-x))


def broadcasting(x, row, col):
    return dnp.tanh(x * row + col) - row / (1.0 + col ** 2)


def mlp(params, x):
    h = dnp.tanh(x @ params["W1"] + params["b1"])
    return dnp.sum(dnp.log_softmax(h @ params["W2"], axis=-1)[:, 0])


def stable_reductions(x):
    return dnp.logsumexp(x * 100.0, axis=1) + dnp.softmax(x, axis=1)[:, 0]


def statistics(x):
    return dnp.mean(x, axis=0) * dnp.std(x, axis=0) + dnp.var(x) - dnp.max(x, axis=1).sum()


def indexing(x, idx):
    return x[1:, ::-1][idx, 0] * x[..., None][0, :, 0].sum() + x[idx][:, 1:2].mean()


def shapes(x):
    y = dnp.reshape(x, (2, -1)).T
    z = dnp.concatenate([y, dnp.expand_dims(y[:, 0], 1) * 2.0], axis=1)
    return dnp.stack([z, -z], axis=0).transpose(2, 0, 1).reshape(-1)[:7]


def contractions(a, b):
    return dnp.einsum("ij,kj->ik", a, b) + dnp.dot(a, b.T) + dnp.outer(a[:, 0], b[:, 0])


def piecewise(x, y):
    return dnp.where(x > y, dnp.maximum(x, 0.2), dnp.minimum(y, -0.2)) + dnp.clip(x, -0.5, 0.5) + dnp.abs(y)


def norms(x):
    return dnp.linalg.norm(x) + dnp.linalg.norm(x, axis=1, ord=1).sum() + dnp.linalg.norm(x, ord=np.inf, axis=0)


def numpy_protocols(x, W):
    return np.sum(np.tanh(W @ x), axis=0) + np.exp(np.mean(x))


def logs_and_powers(x):
    return dnp.log(x) + dnp.sqrt(x) * dnp.log1p(x) - x ** 0.5 + dnp.power(x, 3) / dnp.expm1(x)


CORPUS = [
    Case("elementwise_chain", elementwise_chain, lambda r: (_normal(r, 16),)),
    Case("broadcasting", broadcasting, lambda r: (_normal(r, 3, 4), _normal(r, 4), _normal(r, 3, 1))),
    Case("mlp", mlp, lambda r: (
        {"W1": _normal(r, 4, 8), "b1": _normal(r, 8), "W2": _normal(r, 8, 3)}, _normal(r, 5, 4))),
    Case("stable_reductions", stable_reductions, lambda r: (_normal(r, 3, 5),)),
    Case("statistics", statistics, lambda r: (_normal(r, 4, 3),)),
    Case("indexing", indexing, lambda r: (_normal(r, 4, 3), np.array([2, 0, 1, 2]))),
    Case("shapes", shapes, lambda r: (_normal(r, 3, 4),),
         not_eager="x.transpose(2, 0, 1) is NumPy's spelling; a Tensor's transpose(dim0, dim1) swaps two axes, "
                   "as PyTorch's does"),
    Case("contractions", contractions, lambda r: (_normal(r, 3, 4), _normal(r, 2, 4))),
    Case("piecewise", piecewise, lambda r: (_normal(r, 6), _normal(r, 6))),
    Case("norms", norms, lambda r: (_normal(r, 3, 4),)),
    Case("numpy_protocols", numpy_protocols, lambda r: (_normal(r, 4), _normal(r, 3, 4))),
    Case("logs_and_powers", logs_and_powers, lambda r: (_positive(r, 5),)),
]
