"""The data-parallel workload: the 784-256-10 MLP loss gradient over a large batch, in one process and sharded
8 ways over local Dask clusters of 1 and 2 worker processes (dt.parallel), with the scaling from 1 to 2."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import time

import numpy as np

import dualtape as dt

from ..parallel import data_parallel
from .models import mlp_init, mlp_loss
from .result import Result, Table, ms, ratio
from .timing import compare

SHARDS = 8


def data_parallel_grad(settings) -> Result:
    """MLP 784-256-10 gradient, batch sharded 8 ways on local Dask clusters of 1 and 2 workers."""
    batch = 2048 if settings.quick else 16384
    result = Result("data_parallel", f"Data-parallel MLP 784-256-10 gradient (float32, batch {batch}, "
                                     f"{SHARDS} shards) on local Dask clusters (dt.parallel.data_parallel)")
    table = Table(["contender", "time per gradient", "vs one process", "vs 1 worker"])
    result.tables.append(table)
    if importlib.util.find_spec("distributed") is None:
        table.rows.append(["dask clusters", "not available: pip install 'dualtape[dask]'", "", ""])
        return result
    from distributed import Client, LocalCluster

    params, x, y = mlp_init(batch=batch)
    grad = dt.grad(mlp_loss)
    contenders, clusters = {"one process (dt.grad)": grad}, []
    try:
        for workers in (1, 2):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.ERROR)
            client = Client(cluster, set_as_default=False)
            clusters.append((client, cluster))
            sharded = data_parallel(grad, in_axes=(None, 0, 0), reduce="mean", shards=SHARDS, client=client)
            expected = grad(params, x, y)
            for got, want in zip(sharded(params, x, y), expected):
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
            contenders[f"{workers} worker{'s' if workers > 1 else ''}, {SHARDS} shards"] = sharded
        times = compare(contenders, (params, x, y), settings)
    finally:
        for client, cluster in clusters:
            client.close()
            cluster.close()
    one, first = times["one process (dt.grad)"], times[f"1 worker, {SHARDS} shards"]
    for name, t in times.items():
        table.rows.append([name, ms(t), ratio(t, one), ratio(t, first) if "worker" in name else ""])
    result.notes.append(f"Scaling from 1 to 2 workers: {first / times[f'2 workers, {SHARDS} shards']:.2f}x. Each "
                        "worker is a process with one thread; the parameters travel to every worker each call, "
                        "each shard's slice of the batch to one, and the gradients back to be averaged here. On a "
                        "machine with fewer free cores than workers, or a batch too small to amortise that, "
                        "sharding costs more than it saves.")
    result.data["times_s"] = times
    result.tables.append(out_of_core(settings))
    return result


def out_of_core(settings) -> Table:
    """backend="dask": the MLP gradient over a batch generated chunk by chunk, larger than each worker's memory."""
    from distributed import Client, LocalCluster

    rows = 100_000 if settings.quick else 1_000_000
    table = Table(["backend='dask' (2 workers, 1 GiB each)", "rows", "input size", "time"])
    params, _, _ = mlp_init(batch=1)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                           dashboard_address=":0", silence_logs=logging.ERROR)
    try:
        with Client(cluster):
            da = importlib.import_module("dask.array")
            x = da.random.RandomState(0).standard_normal((rows, 784), chunks=(50_000, 784)).astype(np.float32)
            labels = da.random.RandomState(1).randint(0, 10, rows, chunks=50_000)
            y = (labels[:, None] == np.arange(10)).astype(np.float32)
            start = time.perf_counter()
            grads = dt.grad(mlp_loss, backend="dask", to_host=True)(params, x, y)
            seconds = time.perf_counter() - start
    finally:
        cluster.close()
    assert all(np.isfinite(g).all() for g in grads)
    table.rows.append(["MLP 784-256-10 gradient", f"{rows:,}", f"{x.nbytes / 2**30:.1f} GiB", f"{seconds:.1f} s"])
    return table
