"""The spiral-classifier epoch (issue 19's learner workload): a 2-32-32-2 tanh MLP trained with Adam and
cross-entropy on the two-spirals data, one epoch of 20 minibatches of 20 points, eager, through dt.compile,
in PyTorch eager and by hand in NumPy; each at the machine's default BLAS threads and at one thread."""

from __future__ import annotations

import numpy as np

import dualtape as dt

from ..examples import spirals
from . import peers
from .result import Result, Table, ms, ratio
from .timing import per_thread_setting

BATCH, LR = 20, 0.02


def _batches():
    points, labels = spirals.make_spirals(n_per_class=200, seed=0)
    return [(points[i:i + BATCH], labels[i:i + BATCH]) for i in range(0, len(points), BATCH)]


def dualtape_epoch(batches, compiled: bool):
    """(epoch, model): one pass over the batches, eager or with the step compiled by dt.compile."""
    from .. import nn, optim

    dt.manual_seed(0)
    model = spirals.make_model()
    optimizer = optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    data = [(dt.tensor(x), dt.tensor(y)) for x, y in batches]

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    run = dt.compile(step) if compiled else step

    def epoch():
        for x, y in data:
            loss = run(x, y)
        return float(loss.item())

    return epoch, model


def torch_epoch(torch, model, batches):
    """The same epoch in PyTorch, from the dualtape model's initial weights."""
    net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                              torch.nn.Linear(32, 2))
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), net.parameters()):
            theirs.copy_(torch.from_numpy(np.array(mine.detach().numpy())))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]

    def epoch():
        for x, y in data:
            optimizer.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
        return float(loss.item())

    return epoch


def numpy_epoch(model, batches, betas=(0.9, 0.999), eps=1e-8):
    """The epoch by hand: forward, the backward a person writes for tanh layers and softmax cross-entropy,
    and Adam's update, on NumPy arrays (from the dualtape model's initial weights)."""
    params = [np.array(p.detach().numpy()) for p in model.parameters()]  # W1, b1, W2, b2, W3, b3 (torch layout)
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    state = {"t": 0}

    def step(x, y):
        W1, b1, W2, b2, W3, b3 = params
        h1 = np.tanh(x @ W1.T + b1)
        h2 = np.tanh(h1 @ W2.T + b2)
        z = h2 @ W3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -log_p[np.arange(len(y)), y].mean()
        dz = np.exp(log_p)
        dz[np.arange(len(y)), y] -= 1
        dz /= len(y)
        dh2 = (dz @ W3) * (1 - h2 * h2)
        dh1 = (dh2 @ W2) * (1 - h1 * h1)
        grads = [dh1.T @ x, dh1.sum(0), dh2.T @ h1, dh2.sum(0), dz.T @ h2, dz.sum(0)]
        state["t"] += 1
        c1, c2 = 1 - betas[0] ** state["t"], 1 - betas[1] ** state["t"]
        for p, g, a, b in zip(params, grads, m1, m2):
            a += (1 - betas[0]) * (g - a)
            b *= betas[1]
            b += (1 - betas[1]) * g * g
            p -= (LR / c1) * a / (np.sqrt(b) / np.sqrt(c2) + eps)
        return loss

    def epoch():
        for x, y in batches:
            loss = step(x, y)
        return float(loss)

    return epoch


def spiral_epoch(settings) -> Result:
    """Spiral MLP 2-32-32-2 epoch (20 Adam steps, batch 20): eager, dt.compile, PyTorch eager, NumPy by hand."""
    result = Result("spiral_epoch", "Spiral classifier: one epoch of a 2-32-32-2 tanh MLP, Adam, cross-entropy, "
                                    "20 minibatches of 20 points, float32")
    batches = _batches()
    eager, model = dualtape_epoch(batches, compiled=False)
    contenders = {"dualtape eager": eager, "dualtape dt.compile": dualtape_epoch(batches, compiled=True)[0],
                  "NumPy by hand": numpy_epoch(model, batches)}
    torch = peers.load("torch", settings)
    if torch is not None:
        contenders["PyTorch eager"] = torch_epoch(torch, model, batches)
    losses = {name: epoch() for name, epoch in contenders.items()}  # (the first epoch, from the same weights)
    for name, loss in losses.items():
        np.testing.assert_allclose(loss, losses["dualtape eager"], rtol=2e-3, err_msg=name)
    base_name = "PyTorch eager" if torch is not None else "NumPy by hand"
    for label, times in per_thread_setting(contenders, settings, result):
        table = Table(["contender", f"epoch ({label})", f"vs {base_name}"])
        table.rows = [[name, ms(t), ratio(t, times[base_name])] for name, t in times.items()]
        result.tables.append(table)
        result.data[f"times_s ({label})"] = times
        if torch is not None:
            result.notes.append(f"{label}: eager / PyTorch eager {ratio(times['dualtape eager'], times[base_name])} "
                                f"(target <= 1.0); dt.compile / PyTorch eager "
                                f"{ratio(times['dualtape dt.compile'], times[base_name])} (target <= 0.5).")
    return result
