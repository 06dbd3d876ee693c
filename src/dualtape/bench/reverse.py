"""Reverse-mode workloads: the gradient of a 784-256-10 MLP against the one a person writes in NumPy, and
Hessian-vector products (forward over reverse) against the hand-written product and the gradient."""

from __future__ import annotations

import numpy as np

import dualtape as dt

from . import peers
from .models import (
    logistic_grad_numpy,
    logistic_hvp_numpy,
    logistic_loss,
    mlp_grad_numpy,
    mlp_init,
    mlp_loss,
    mlp_loss_numpy,
    mlp_loss_peer,
)
from .result import Result, Table, ratio, us
from .timing import compare


def _torch_mlp_loss(torch, params, x, y):
    W1, b1, W2, b2 = params
    z = torch.tanh(x @ W1 + b1) @ W2 + b2
    return -(y * torch.log_softmax(z, dim=1)).sum() / x.shape[0]


def _mlp_contenders(args, settings) -> dict:
    """{contender: ((f, its args), (grad f, its args))} for the MLP's loss."""
    found = {"dualtape dt.jit / dt.grad": ((dt.jit(mlp_loss), args), (dt.grad(mlp_loss), args)),
             "NumPy by hand": ((mlp_loss_numpy, args), (mlp_grad_numpy, args))}
    jax = peers.load("jax", settings)
    if jax is not None:
        f = lambda p, x, y: mlp_loss_peer(p, x, y, jax.numpy)  # noqa: E731
        jargs = jax.tree_util.tree_map(jax.numpy.asarray, args)
        found["JAX jit"] = ((peers.jax_timed(jax, jax.jit(f)), jargs),
                            (peers.jax_timed(jax, jax.jit(jax.grad(f))), jargs))
    torch = peers.load("torch", settings)
    if torch is not None:
        params, x, y = args
        targs = (tuple(torch.from_numpy(p).requires_grad_() for p in params), torch.from_numpy(x),
                 torch.from_numpy(y))

        def torch_f(p, x, y):
            with torch.no_grad():
                return _torch_mlp_loss(torch, p, x, y)

        def torch_grad(p, x, y):
            return torch.autograd.grad(_torch_mlp_loss(torch, p, x, y), p)

        found["PyTorch eager"] = ((torch_f, targs), (torch_grad, targs))
    autograd = peers.load("autograd", settings)
    if autograd is not None:
        f = lambda p, x, y: mlp_loss_peer(p, x, y, autograd.numpy)  # noqa: E731
        found["HIPS autograd"] = ((f, args), (autograd.grad(f), args))
    return found


def mlp_grad(settings) -> Result:
    """grad/f and dt.grad vs the hand-written NumPy gradient, MLP 784-256-10, softmax CE, batch 128, f32."""
    result = Result("mlp_grad", "MLP gradient: 784-256-10, tanh, softmax cross-entropy, batch 128, float32")
    args = mlp_init()
    expected = mlp_grad_numpy(*args)
    contenders = _mlp_contenders(args, settings)
    timed = {}
    for name, (f, g) in contenders.items():
        for got, want in zip(g[0](*g[1]), expected):
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-3, atol=1e-6)
        timed[f"{name}: f"], timed[f"{name}: grad"] = f, g
    times = compare(timed, (), settings)
    hand = times["NumPy by hand: grad"]
    table = Table(["contender", "f", "grad f", "grad/f", "grad vs NumPy grad by hand"])
    over_f = result.grad_over_f.setdefault("MLP 784-256-10, batch 128", {})
    for name in contenders:
        f, g = times[f"{name}: f"], times[f"{name}: grad"]
        table.rows.append([name, us(f), us(g), ratio(g, f), ratio(g, hand)])
        over_f[name] = g / f
    result.tables.append(table)
    result.notes.append("Targets: dualtape grad/f <= 3; dt.grad vs the hand-written gradient <= 1.10.")
    result.data["times_s"] = times
    return result


def _hvp_contenders(w, v, X, y, settings) -> dict:
    """{contender: ((hvp, its args), (grad, its args))} for the logistic-regression loss."""
    hvp = lambda w, v, X, y: dt.hvp(lambda u: logistic_loss(u, X, y), (w,), (v,))[0]  # noqa: E731
    grad = dt.grad(logistic_loss)
    found = {"dualtape dt.hvp (traced each call)": ((hvp, (w, v, X, y)), (grad, (w, X, y))),
             "dualtape dt.jit(dt.hvp)": ((dt.jit(hvp), (w, v, X, y)), (grad, (w, X, y))),
             "NumPy by hand": ((logistic_hvp_numpy, (w, v, X, y)), (logistic_grad_numpy, (w, X, y)))}
    jax = peers.load("jax", settings)
    if jax is not None:
        j_grad = jax.grad(lambda w, X, y: logistic_loss(w, X, y, jax.numpy))
        j_hvp = jax.jit(lambda w, v, X, y: jax.jvp(lambda u: j_grad(u, X, y), (w,), (v,))[1])
        jw, jv, jX, jy = (jax.numpy.asarray(a) for a in (w, v, X, y))
        found["JAX jit"] = ((peers.jax_timed(jax, j_hvp), (jw, jv, jX, jy)),
                            (peers.jax_timed(jax, jax.jit(j_grad)), (jw, jX, jy)))
    torch = peers.load("torch", settings)
    if torch is not None:
        t_grad = torch.func.grad(lambda w, X, y: logistic_loss(w, X, y, torch))
        t_hvp = lambda w, v, X, y: torch.func.jvp(lambda u: t_grad(u, X, y), (w,), (v,))[1]  # noqa: E731
        tw, tv, tX, ty = (torch.from_numpy(a) for a in (w, v, X, y))
        found["PyTorch torch.func"] = ((t_hvp, (tw, tv, tX, ty)), (t_grad, (tw, tX, ty)))
    autograd = peers.load("autograd", settings)
    if autograd is not None:
        a_loss = lambda w, X, y: logistic_loss(w, X, y, autograd.numpy)  # noqa: E731
        found["HIPS autograd"] = ((autograd.hessian_vector_product(a_loss), (w, X, y, v)),
                                  (autograd.grad(a_loss), (w, X, y)))
    return found


def hvp(settings) -> Result:
    """Hessian-vector products of a logistic-regression loss (X 512x128, float64) without forming H."""
    result = Result("hvp", "Hessian-vector product: logistic regression, X 512x128, float64")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((512, 128)) / np.sqrt(128)
    y = (rng.random(512) < 0.5).astype(np.float64)
    w, v = 0.1 * rng.standard_normal(128), rng.standard_normal(128)
    expected = logistic_hvp_numpy(w, v, X, y)
    contenders = _hvp_contenders(w, v, X, y, settings)
    timed = {}
    for name, (h, g) in contenders.items():
        np.testing.assert_allclose(np.asarray(h[0](*h[1])), expected, rtol=1e-9, atol=1e-12)
        timed[f"{name}: hvp"], timed[f"{name}: grad"] = h, g
    times = compare(timed, (), settings)
    hand = times["NumPy by hand: hvp"]
    table = Table(["contender", "hvp", "grad", "hvp/grad", "hvp vs NumPy hvp by hand"])
    for name in contenders:
        h, g = times[f"{name}: hvp"], times[f"{name}: grad"]
        table.rows.append([name, us(h), us(g), ratio(h, g), ratio(h, hand)])
    result.tables.append(table)
    result.notes.append("Forward over reverse: jvp of the gradient, a small multiple of a gradient's cost. "
                        "dt.hvp as called traces its function on every call: wrap it in dt.jit.")
    result.data["times_s"] = times
    return result
