"""Eager workloads: the per-op cost of a 100-op chain with backward (beside PyTorch eager, HIPS autograd, the
compiled gradient and NumPy with a hand-written backward), and one training step of a 784-256-10 MLP,
eager vs dt.compile vs PyTorch (run once dualtape.nn, dualtape.optim and dt.compile exist)."""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp

from . import peers
from .result import Result, Table, ms, ratio
from .timing import compare, per_thread_setting

ROUNDS, N_OPS = 25, 100


def chain_eager(x0):
    x = dt.tensor(x0, requires_grad=True)
    y = x
    for _ in range(ROUNDS):
        y = dt.tanh(dt.sin(y) * 1.0001 + 0.1)
    y.sum().backward()
    return x.grad


def chain_dnp(x):
    for _ in range(ROUNDS):
        x = dnp.tanh(dnp.sin(x) * 1.0001 + 0.1)
    return dnp.sum(x)


def chain_numpy_by_hand(x0):
    """Forward keeping what backward needs, then the backward written out."""
    saved = []
    x = x0
    for _ in range(ROUNDS):
        s = np.sin(x)
        t = np.tanh(s * 1.0001 + 0.1)
        saved.append((x, t))
        x = t
    g = np.ones_like(x0)
    for x, t in reversed(saved):
        g = g * (1 - t * t) * 1.0001 * np.cos(x)
    return g


def chain_torch(x0):
    import torch

    x = torch.tensor(x0, requires_grad=True)
    y = x
    for _ in range(ROUNDS):
        y = torch.tanh(torch.sin(y) * 1.0001 + 0.1)
    y.sum().backward()
    return x.grad


def chain_autograd(x0):
    import autograd
    import autograd.numpy as anp

    def chain(x):
        for _ in range(ROUNDS):
            x = anp.tanh(anp.sin(x) * 1.0001 + 0.1)
        return anp.sum(x)

    return autograd.grad(chain)(x0)


def eager_chain(settings) -> Result:
    """100 elementwise ops + backward on a (16,) float64 tensor, in microseconds per op."""
    result = Result("eager_chain", "Eager op chain: 100 elementwise ops + backward on a (16,) float64 tensor")
    x0 = np.linspace(-1.0, 1.0, 16)
    reference = chain_numpy_by_hand(x0)
    np.testing.assert_allclose(chain_eager(x0).numpy(), reference, rtol=1e-12)
    contenders = {"dualtape eager": chain_eager, "dt.grad (compiled)": dt.grad(chain_dnp),
                  "NumPy, backward by hand": chain_numpy_by_hand}
    for name, module, fn in (("PyTorch eager", "torch", chain_torch), ("HIPS autograd", "autograd", chain_autograd)):
        if peers.load(module, settings) is not None:
            np.testing.assert_allclose(np.asarray(fn(x0)), reference, rtol=1e-12)
            contenders[name] = fn
    np.testing.assert_allclose(contenders["dt.grad (compiled)"](x0), reference, rtol=1e-12)
    times = compare(contenders, (x0,), settings)
    base = times["NumPy, backward by hand"]
    table = Table(["contender", "us per op", "vs NumPy by hand"])
    table.rows = [[name, f"{t * 1e6 / N_OPS:.2f}", f"{t / base:.2f}x"] for name, t in times.items()]
    if "PyTorch eager" in times:
        result.notes.append(f"dualtape eager / PyTorch eager: {ratio(times['dualtape eager'], times['PyTorch eager'])}"
                            " (target <= 1: not slower than PyTorch).")
    else:
        result.notes.append("PyTorch not installed: pip install torch==2.13.0 to compare.")
    result.tables.append(table)
    result.data["times_s"] = times
    result.plots.append({"name": "eager_us_per_op", "kind": "bar", "title": "100 elementwise ops + backward, (16,)",
                         "ylabel": "us per op", "categories": list(times),
                         "series": {"us per op": [t * 1e6 / N_OPS for t in times.values()]}})
    return result


def training_step(settings) -> Result:
    """One SGD step of a 784-256-10 ReLU MLP, cross-entropy, batch 128, float32: eager, compiled, PyTorch, and
    NumPy by hand; at default threads and at one thread."""
    result = Result("training_step", "Training step: MLP 784-256-10, ReLU, cross-entropy, SGD, batch 128, float32")
    have_nn = all(importlib.util.find_spec(f"dualtape.{m}") is not None for m in ("nn", "optim"))
    if not have_nn:
        result.skipped = "dualtape.nn / dualtape.optim are not built yet"
        table = Table(["contender", "time per step", "vs PyTorch eager"])
        table.rows = [[name, f"not available: {result.skipped}", ""]
                      for name in ("dualtape eager", "dualtape dt.compile")]
        result.tables.append(table)
        return result
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 128)
    eager, model = _dualtape_step(x, labels, compiled=False)
    steps = {"dualtape eager": eager, "dualtape dt.compile": _dualtape_step(x, labels, compiled=True)[0],
             "NumPy by hand": _numpy_step(model, x, labels)}
    torch = peers.load("torch", settings)
    if torch is not None:
        steps["PyTorch eager"] = _torch_step(torch, model, x, labels)[0]
    first = {name: _scalar(step()) for name, step in steps.items()}  # same initial weights, same loss
    for name, loss in first.items():
        np.testing.assert_allclose(loss, first["dualtape eager"], rtol=1e-4, err_msg=name)
    base_name = "PyTorch eager" if torch is not None else "NumPy by hand"
    for label, times in per_thread_setting(steps, settings, result):
        table = Table(["contender", f"time per step ({label})", f"vs {base_name}", "vs NumPy by hand"])
        table.rows = [[name, ms(t), ratio(t, times[base_name]), ratio(t, times["NumPy by hand"])]
                      for name, t in times.items()]
        result.tables.append(table)
        result.data[f"times_s ({label})"] = times
        compiled = ratio(times["dualtape dt.compile"], times["NumPy by hand"])
        eager_note = (f"eager / PyTorch eager {ratio(times['dualtape eager'], times[base_name])} (target <= 1.0); "
                      if torch is not None else "")
        result.notes.append(f"{label}: {eager_note}dt.compile / NumPy by hand {compiled} (target <= 1.1).")
    return result


def _numpy_step(model, x, labels, lr=0.01):
    """The step by hand on NumPy arrays (from the dualtape model's initial weights): forward, the backward a
    person writes for ReLU and softmax cross-entropy, and SGD's update in place."""
    params = [np.array(p.detach().numpy()) for p in model.parameters()]  # W1, b1, W2, b2 (torch layout)
    rows = np.arange(len(labels))

    def step():
        W1, b1, W2, b2 = params
        pre = x @ W1.T + b1
        h = np.maximum(pre, 0)
        z = h @ W2.T + b2
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        loss = np.log(total).mean() - z[rows, labels].mean()
        dz = e / total
        dz[rows, labels] -= 1
        dz /= len(labels)
        dh = (dz @ W2) * (pre > 0)
        for p, g in zip(params, (dh.T @ x, dh.sum(axis=0), dz.T @ h, dz.sum(axis=0))):
            p -= lr * g
        return loss

    return step


def _dualtape_step(x, labels, compiled: bool):
    """(step, model): a zero-argument training step on a fixed batch, and the model it trains."""
    nn, optim = importlib.import_module("dualtape.nn"), importlib.import_module("dualtape.optim")
    dt.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    inputs, targets = dt.tensor(x), dt.tensor(labels)

    def step(inputs, targets):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    run = dt.compile(step) if compiled else step
    return (lambda: run(inputs, targets)), model


def _torch_step(torch, model, x, labels):
    """The same step in PyTorch, starting from the dualtape model's initial weights."""
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), net.parameters()):
            theirs.copy_(torch.from_numpy(np.array(mine.detach().numpy())))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    inputs, targets = torch.from_numpy(x), torch.from_numpy(labels)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(net(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    return step, net


def _scalar(value) -> float:
    return float(value.item() if hasattr(value, "item") else value)
