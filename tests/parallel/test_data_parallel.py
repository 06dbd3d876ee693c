"""dt.parallel on a real dask.distributed LocalCluster of 2 worker processes: sharded gradients (loops and
scatter-adds included), Jacobians and dt.nn training gradients equal the single-process ones."""

import pickle
import sys

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape import nn, parallel
from dualtape.errors import BackendError

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # (the workers cannot import this test module)


@pytest.fixture(scope="module")
def client():
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    connected = distributed.Client(cluster, set_as_default=False)
    yield connected
    parallel.shutdown()  # (the client it made for the scheduler's address)
    connected.close()
    cluster.close()


def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = dnp.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    return -dnp.mean(dnp.sum(y * dnp.log_softmax(logits, axis=-1), axis=-1))


def mlp_data(batch=203, seed=0):
    rng = np.random.default_rng(seed)
    params = (rng.standard_normal((6, 16)), rng.standard_normal(16), rng.standard_normal((16, 4)),
              rng.standard_normal(4))
    return params, rng.standard_normal((batch, 6)), np.eye(4)[rng.integers(0, 4, batch)]


def test_sharded_mlp_gradient_equals_the_full_batch_gradient(client):
    params, x, y = mlp_data()
    grad = dt.value_and_grad(mlp_loss)
    sharded = parallel.data_parallel(grad, in_axes=(None, 0, 0), reduce="mean", shards=8, client=client)
    loss, grads = sharded(params, x, y)
    want_loss, want = grad(params, x, y)
    assert abs(loss - want_loss) < 1e-12
    for got, expected in zip(grads, want):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    again = sharded(params, x[:50], y[:50])  # (another batch length: the workers compile the new shapes)
    np.testing.assert_allclose(again[0], grad(params, x[:50], y[:50])[0], rtol=1e-12)


def looped_loss(w, x, idx):
    """A fori_loop and a gather of each example's features with repeated indices (its gradient a scatter-add),
    summed over the batch."""
    h = dt.fori_loop(0, 3, lambda i, h: dnp.tanh(h * w[0] + w[1]), x)
    return dnp.sum(h[:, idx] ** 2) + dnp.sum(h)


def test_programs_with_loops_and_scatter_adds_shard_by_sum(client):
    rng = np.random.default_rng(1)
    w, x = rng.standard_normal(2), rng.standard_normal((40, 3))
    idx = np.array([0, 2, 2, 1])
    grad = dt.grad(looped_loss)
    sharded = parallel.data_parallel(grad, in_axes=(None, 0, None), reduce="sum", shards=5, client=client)
    np.testing.assert_allclose(sharded(w, x, idx), grad(w, x, idx), rtol=1e-12)


def test_per_example_results_concatenate(client):
    per_example = dt.jit(dt.vmap(dt.grad(lambda w, x: dnp.sum(dnp.sin(w * x))), in_axes=(None, 0)))
    w, x = np.array([0.5, -1.0]), np.random.default_rng(2).standard_normal((9, 2))
    sharded = parallel.data_parallel(per_example, in_axes=(None, 0), reduce="concat", shards=4, client=client)
    np.testing.assert_allclose(sharded(w, x), per_example(w, x), rtol=1e-12)


def test_sharded_jacobians_equal_dt_jacobians(client):
    f = lambda x, s: dnp.sin(x) @ x.T * s  # noqa: E731
    x = np.random.default_rng(3).standard_normal((4, 3))
    np.testing.assert_allclose(parallel.jacrev(f, shards=5, client=client)(x, 2.0), dt.jacrev(f)(x, 2.0), rtol=1e-12)
    np.testing.assert_allclose(parallel.jacfwd(f, shards=3, client=client)(x, 2.0), dt.jacfwd(f)(x, 2.0), rtol=1e-12)


def test_module_gradients_land_in_grad_as_one_backward_leaves_them(client):
    dt.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((37, 5)).astype(np.float32), rng.integers(0, 3, 37)
    loss = parallel.module_grads(model, loss_fn, x, y, shards=4, client=client)
    got = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    expected = loss_fn(model(dt.tensor(x)), dt.tensor(y))
    expected.backward()
    assert abs(loss - expected.item()) < 1e-6
    for g, p in zip(got, model.parameters()):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5, atol=1e-6)
    parallel.module_grads(model, loss_fn, x, y, shards=4, client=client)  # (accumulates, as .backward() does)
    for g, p in zip(got, model.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), 2 * g, rtol=1e-5, atol=1e-6)
    optimizer = dt.optim.SGD(model.parameters(), lr=0.1)
    optimizer.step()  # (the training loop goes on as usual)


def test_models_with_the_same_parameter_names_do_not_share_data_on_the_workers(client):
    """Every model's state_dict names its weights "0.weight", ...: each call's copy travels under its own key, so
    releasing one call's copy never drops another's (the lost-data failure scattering the dict bare caused)."""
    from dualtape.parallel.data import broadcast

    state = {"0.weight": np.ones(2)}
    future = broadcast(client, state)
    assert future.key != "0.weight" and client.submit(len, future).result() == 1
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((12, 3)).astype(np.float32), rng.standard_normal((12, 2)).astype(np.float32)
    models = []
    for seed in range(2):
        dt.manual_seed(seed)
        models.append(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)))
    for _ in range(6):
        for model in models:
            model.zero_grad()
            parallel.module_grads(model, nn.MSELoss(), x, y, shards=2, client=client)
    for model in models:
        got = [p.grad.numpy().copy() for p in model.parameters()]
        model.zero_grad()
        nn.MSELoss()(model(dt.tensor(x)), dt.tensor(y)).backward()
        for g, p in zip(got, model.parameters()):
            np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_compiled_functions_pickle_after_use_and_compile_again_there():
    grad = dt.jit(dt.grad(mlp_loss))
    params, x, y = mlp_data(batch=5)
    expected = grad(params, x, y)
    copy = pickle.loads(cloudpickle.dumps(grad))
    for got, want in zip(copy(params, x, y), expected):
        np.testing.assert_array_equal(got, want)
    assert copy.trace_count == 2 and grad.trace_count == 1  # (the copy came without compiled programs)
    mapped = dt.vmap(dt.grad(mlp_loss), in_axes=(None, 0, 0))  # (functools.wraps copies a Jitted's caches)
    mapped(params, x[:, None], y[:, None])
    pickle.loads(cloudpickle.dumps(mapped))(params, x[:, None], y[:, None])


def test_without_dask_the_error_names_the_extra(monkeypatch):
    import importlib

    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: (_ for _ in ()).throw(ImportError(name)) if name == "distributed"
                        else real(name, *a))
    sharded = parallel.data_parallel(dt.grad(mlp_loss), in_axes=(None, 0, 0))
    with pytest.raises(BackendError, match=r"pip install 'dualtape\[dask\]'"):
        sharded(*mlp_data(batch=4))


def test_a_scheduler_address_or_a_bad_client_is_understood(client):
    params, x, y = mlp_data(batch=12)
    by_address = parallel.data_parallel(dt.grad(mlp_loss), in_axes=(None, 0, 0), reduce="mean",
                                        client=client.scheduler.address)
    for got, want in zip(by_address(params, x, y), dt.grad(mlp_loss)(params, x, y)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client"):
        parallel.data_parallel(dt.grad(mlp_loss), in_axes=(None, 0, 0), client=3)(params, x, y)


def test_without_a_client_a_local_cluster_starts_once_and_shuts_down():
    params, x, y = mlp_data(batch=10)
    local = parallel.default_client(n_workers=1)
    try:
        sharded = parallel.data_parallel(dt.grad(mlp_loss), in_axes=(None, 0, 0), reduce="mean", shards=3)
        for got, want in zip(sharded(params, x, y), dt.grad(mlp_loss)(params, x, y)):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        assert parallel.default_client() is local and len(local.nthreads()) == 1
    finally:
        parallel.shutdown()
    assert local.status == "closed"
