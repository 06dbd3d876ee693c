"""`module_grads`: the gradients of a dt.nn model's loss over a batch, computed shard by shard on a Dask
cluster and left in the parameters' .grad, as DistributedDataParallel leaves them, so a training loop goes on
with its optimizer.step(). The model travels to each worker once; its current weights travel each call."""

from __future__ import annotations

import weakref

import numpy as np

from ..eager.factories import tensor
from .cluster import resolve_client
from .data import Placed, run_shards
from .shards import combine, split

WHERE = "dt.parallel.module_grads"


def shard_grads(model, loss_fn, state: dict, inputs, targets):
    """What a worker runs: its copy of model takes the caller's weights, then forward, loss, backward on one
    shard. Returns (loss, [gradient of each parameter, zeros where it got none]) as NumPy values."""
    model.load_state_dict(state)
    model.zero_grad()
    loss = loss_fn(model(tensor(inputs)), tensor(targets))
    loss.backward()
    params = list(model.parameters())
    grads = [np.zeros(p.shape, p.detach().numpy().dtype) if p.grad is None else p.grad.numpy() for p in params]
    return loss.item(), grads


PLACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # (each model's copy on the workers)


def module_grads(model, loss_fn, inputs, targets, *, reduce: str = "mean", shards: int | None = None, client=None):
    """Backward of loss_fn(model(inputs), targets) over the batch (axis 0 of inputs and targets), sharded over a
    Dask cluster: each parameter's gradient is accumulated into its .grad (as .backward() does) and the loss
    returned as a float. reduce: "mean" where loss_fn averages over the batch (the default of dt.nn's losses:
    shard results weighted by shard size), "sum" where it sums. client and shards: as for data_parallel."""
    inputs, targets = np.asarray(_numpy(inputs)), np.asarray(_numpy(targets))
    connected = resolve_client(client)
    count = max(1, min(len(inputs), shards or sum(connected.nthreads().values()) or 1))
    shard_args, sizes = split((inputs, targets), (0, 0), count)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    placed = PLACED.get(model) or PLACED.setdefault(model, Placed(model))
    whole = {0: placed.on(connected), 1: loss_fn, 2: state}
    results = run_shards(shard_grads, [(None, loss_fn, state) + s for s in shard_args], whole, connected)
    loss, grads = combine(results, sizes, reduce, WHERE)
    for p, g in zip(model.parameters(), grads):
        g = tensor(g.astype(p.detach().numpy().dtype, copy=False))
        p.grad = g if p.grad is None else p.grad + g
    return loss


def _numpy(x):
    return x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else x
