"""`data_parallel`: a function of a batch run shard by shard on a Dask cluster, its results combined. The
function travels to each worker once (scattered, so its compiled programs stay warm there); arguments that
every shard needs whole travel once per call (broadcast), and each shard's slice goes to one worker."""

from __future__ import annotations

import functools
import weakref

from .cluster import distributed, resolve_client
from .shards import batch_size, combine, per_argument, split

WHERE = "dt.parallel.data_parallel"


class Placed:
    """fn scattered to every worker of a client, once per client (what a task refers to instead of fn)."""

    def __init__(self, fn):
        self.fn = fn
        self._futures: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def on(self, client):
        future = self._futures.get(client)
        if future is None or future.status != "finished":
            future = self._futures[client] = broadcast(client, self.fn)
        return future


def broadcast(client, value):
    """value copied to every worker, as one future under a fresh key. (Scattered bare, a dict would become one
    future per entry named by its keys, e.g. a state_dict's "0.weight", shared by every model: releasing an
    earlier call's futures would then drop a later call's data.)"""
    return client.scatter([value], broadcast=True, hash=False)[0]


def run_shards(fn, shard_args: list[tuple], whole: dict, client):
    """Submit one task per shard (fn: a function or a Placed one; the arguments at the positions `whole` maps
    broadcast once, or already there where given as futures) and gather the results in shard order."""
    future = distributed().Future
    fn = fn.on(client) if isinstance(fn, Placed) else fn
    sent = {i: value if isinstance(value, future) else broadcast(client, value) for i, value in whole.items()}
    sliced = client.scatter([tuple(a for i, a in enumerate(args) if i not in whole) for args in shard_args],
                            hash=False)
    futures = [client.submit(_call_shard, fn, piece, sent, len(shard_args[0]), pure=False) for piece in sliced]
    return client.gather(futures)


def _call_shard(fn, piece, sent: dict, n_args: int):
    values, it = [], iter(piece)
    for i in range(n_args):
        values.append(sent[i] if i in sent else next(it))
    return fn(*values)


def data_parallel(fn, in_axes=0, reduce="sum", *, shards: int | None = None, client=None):
    """fn run on shards of its arguments' batch on a Dask cluster, the results combined.

    in_axes: the batch axis of each positional argument (one int for all, or a tuple with None for arguments
    every shard gets whole, e.g. the parameters: in_axes=(None, 0, 0)). reduce: how the shards' results make
    one, per output (one name, or a tuple with one per element of a returned tuple): "sum" (gradients of a
    summed loss), "mean" (shard results weighted by shard size: a mean loss and its gradient), "concat" (per-
    example results, along axis 0). shards: how many pieces (default: the cluster's worker threads, never more
    than the batch has rows). client: a dask.distributed Client, a scheduler address, or None for Dask's
    current client (else a local cluster, dt.parallel.default_client()). fn is typically dt.grad(loss),
    dt.value_and_grad(loss) or dt.jit(f): compiled once on each worker, kept there between calls."""
    placed = Placed(fn)

    @functools.wraps(fn)
    def sharded(*args):
        axes = per_argument(in_axes, len(args), "in_axes", WHERE)
        n = batch_size(args, axes, WHERE)
        connected = resolve_client(client)
        count = max(1, min(n, shards or sum(connected.nthreads().values()) or 1))
        shard_args, sizes = split(args, axes, count)
        whole = {i: a for i, (a, axis) in enumerate(zip(args, axes)) if axis is None}
        results = run_shards(placed, shard_args, whole, connected)
        return combine(results, sizes, reduce, WHERE)

    return sharded
