"""backend="dask" beyond memory: an MLP gradient over a batch larger than each worker's memory limit, generated
chunk by chunk on a 2-worker LocalCluster, completes and equals the sum of the per-chunk gradients computed here."""

import logging

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

ROWS, FEATURES, CHUNK = 400_000, 100, 25_000  # (160 MB of float32 inputs; each worker may hold 120 MB)


def loss(params, x):
    W1, W2 = params
    h = dnp.tanh(x @ W1)
    return dnp.sum((h @ W2) ** 2) / ROWS


def test_a_gradient_over_more_rows_than_a_worker_can_hold_completes():
    rng = np.random.default_rng(0)
    params = (rng.standard_normal((FEATURES, 16)).astype(np.float32) / 10,
              rng.standard_normal((16, 4)).astype(np.float32) / 4)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="300MiB",
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    try:
        with distributed.Client(cluster):
            x = da.random.RandomState(1).standard_normal((ROWS, FEATURES), chunks=(CHUNK, FEATURES)).astype(
                np.float32)
            assert x.nbytes > 120 * 2**20
            grads = dt.grad(loss, backend="dask", to_host=True)(params, x)
            local = dt.grad(loss)
            expected = [np.zeros_like(p, dtype=np.float64) for p in params]
            for start in range(0, ROWS, CHUNK):  # (the same sum, one chunk at a time through this process)
                for total, g in zip(expected, local(params, np.asarray(x[start:start + CHUNK].compute()))):
                    total += g
    finally:
        cluster.close()
    for got, want in zip(grads, expected):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-6)
