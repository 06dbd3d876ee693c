"""dt.autocast, PyTorch's automatic mixed precision for eager code: which ops run in the low dtype and which in
float32 (beside torch.autocast on the CPU, where PyTorch is installed), the values and gradients, the context
manager's and decorator's scoping, and dt.compile(precision=...), which traces under it."""

import threading
import warnings

import numpy as np
import pytest

import dualtape as dt
import dualtape.nn.functional as F
from testkit import torch_or_skip

F16, F32 = np.dtype(np.float16), np.dtype(np.float32)


def low_dtype(name):
    return pytest.importorskip("ml_dtypes").bfloat16 if name == "bfloat16" else np.float16


def data(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32),
            rng.standard_normal(5).astype(np.float32), np.array([0, 1, 2, 0]))


def ops(m, functional, x, w, b, low, target):
    """The same ops in dualtape (m = dt) and in PyTorch (m = torch): name -> thunk."""
    return {
        "matmul": lambda: x @ w.T, "mm": lambda: m.mm(x, w.T), "einsum": lambda: m.einsum("ij,kj->ik", x, w),
        "tensordot": lambda: m.tensordot(x, w, dims=([1], [1])), "matmul + bias": lambda: x @ w.T + b,
        "tanh": lambda: low.tanh(), "relu": lambda: m.relu(low), "max": lambda: low.max(), "pow": lambda: low ** 2,
        "add float32": lambda: low + x, "prod": lambda: low.prod(), "mse_loss": lambda: functional.mse_loss(low, x),
        "cross_entropy": lambda: functional.cross_entropy(low, target), "inverse": lambda: m.inverse(x[:3] @ x[:3].T),
        "sum": lambda: low.sum(), "mean": lambda: low.mean(), "softmax": lambda: m.softmax(low, 1),
        "log_softmax": lambda: m.log_softmax(low, 1), "logsumexp": lambda: m.logsumexp(low, 1),
        "cumsum": lambda: low.cumsum(0), "exp": lambda: low.exp(), "var": lambda: low.var(),
    }


LOW_OPS = ("matmul", "mm", "einsum", "tensordot", "tanh", "relu", "max", "pow")
FLOAT32_OPS = ("matmul + bias", "add float32", "prod", "mse_loss", "cross_entropy", "inverse")
# where PyTorch's CPU autocast keeps the low dtype and dualtape computes in float32 (PyTorch on CUDA does too):
# NumPy sums a low dtype in that dtype (bfloat16 stops counting at 256), where PyTorch's CPU kernels accumulate
# in float32 and round the result
FLOAT32_HERE = ("sum", "mean", "softmax", "log_softmax", "logsumexp", "cumsum", "exp", "var")


@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_which_ops_run_low_and_which_in_float32(name):
    low = low_dtype(name)
    x, w, b, target = data()
    mine = ops(dt, F, dt.tensor(x), dt.tensor(w), dt.tensor(b), dt.tensor(x).to(low), dt.tensor(target))
    with dt.autocast("cpu", dtype=low):
        results = {k: thunk() for k, thunk in mine.items()}
    for k in LOW_OPS:
        assert results[k].dtype == low, k
    for k in FLOAT32_OPS + FLOAT32_HERE:
        assert results[k].dtype == F32, k
    assert (dt.tensor(x) @ dt.tensor(w).T).dtype == F32  # (outside the block: as written)


@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_dtypes_and_values_match_torch_autocast(name):
    torch = torch_or_skip()
    low = low_dtype(name)
    x, w, b, target = data(1)
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    theirs = ops(torch, torch.nn.functional, tx, tw, tb, tx.to(getattr(torch, name)), torch.from_numpy(target))
    mine = ops(dt, F, dt.tensor(x), dt.tensor(w), dt.tensor(b), dt.tensor(x).to(low), dt.tensor(target))
    for k in LOW_OPS + FLOAT32_OPS + FLOAT32_HERE:
        with torch.autocast("cpu", dtype=getattr(torch, name)):
            expected = theirs[k]()
        with dt.autocast("cpu", dtype=low):
            actual = mine[k]()
        if k in LOW_OPS:
            assert actual.dtype == low and str(expected.dtype) == f"torch.{name}", k
        else:
            assert actual.dtype == F32 and str(expected.dtype) == ("torch.float32" if k in FLOAT32_OPS else
                                                                   f"torch.{name}"), k
        values = actual.detach().numpy().astype(np.float64)
        reference = expected.detach().float().numpy().astype(np.float64)
        if k in ("matmul", "mm", "einsum", "tensordot"):  # operands and result rounded, float32 between
            np.testing.assert_array_equal(values, reference, err_msg=k)
        else:
            np.testing.assert_allclose(values, reference, rtol=2e-2, atol=2e-2, err_msg=k)


def test_gradients_come_back_in_the_parameters_dtype():
    torch = torch_or_skip()
    x, w, b, _ = data(2)
    tw = torch.tensor(w, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = torch.tanh(torch.from_numpy(x) @ tw.T)
    (out.float() ** 2).sum().backward()
    mw = dt.tensor(w, requires_grad=True)
    with dt.autocast("cpu", dtype=low_dtype("bfloat16")):
        mine = (dt.tensor(x) @ mw.T).tanh()
    assert mine.dtype == low_dtype("bfloat16") and mine.grad_fn.name() == "TanhBackward0"
    (mine.float() ** 2).sum().backward()
    assert mw.grad.dtype == F32
    np.testing.assert_allclose(mw.grad.numpy(), tw.grad.numpy(), rtol=3e-2, atol=3e-2)


def test_scoping_nesting_decorator_and_threads():
    pytest.importorskip("ml_dtypes")  # (the CPU default dtype, as PyTorch's, is bfloat16)
    assert not dt.is_autocast_enabled() and dt.get_autocast_dtype("cuda") is np.float16  # (PyTorch's defaults)
    a = dt.ones(2, 2)
    with dt.autocast("cpu", dtype=dt.float16):
        assert dt.is_autocast_enabled("cpu") and not dt.is_autocast_enabled("cuda")
        assert dt.get_autocast_dtype("cpu") is np.float16 and (a @ a).dtype == F16
        with dt.autocast("cpu", enabled=False):
            assert not dt.is_autocast_enabled() and (a @ a).dtype == F32
        seen = []
        thread = threading.Thread(target=lambda: seen.append((a @ a).dtype))  # (per thread, as PyTorch's)
        thread.start()
        thread.join()
        assert seen == [F32] and (a @ a).dtype == F16
    assert (a @ a).dtype == F32

    @dt.autocast("cpu", dtype=np.float16)
    def product(t):
        return t @ t

    assert product(a).dtype == F16 and (a @ a).dtype == F32
    assert dt.amp.autocast is dt.autocast


def test_bad_arguments():
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        dt.autocast("tpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        context = dt.autocast("cpu", dtype=dt.float64)
    assert context.enabled is False and "Disabling autocast" in str(caught[0].message)
    with context:
        assert not dt.is_autocast_enabled()


def _train_step(compiled: bool, precision):
    dt.manual_seed(0)
    model = dt.nn.Sequential(dt.nn.Linear(6, 8), dt.nn.Tanh(), dt.nn.Linear(8, 3))
    optimizer = dt.optim.SGD(model.parameters(), lr=0.1)
    x, _, _, target = data(3)
    x = dt.tensor(np.tile(x, (1, 2)))

    def step(x, target):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        return loss

    if compiled:
        run = dt.compile(step, precision=precision)
    else:
        run = dt.autocast("cpu", dtype=dt.Precision.of(precision).compute)(step)
    losses = [run(x, dt.tensor(target)).item() for _ in range(3)]
    return losses, [p.detach().numpy() for p in model.parameters()], run


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_compile_with_precision_is_eager_autocast_to_the_bit(precision):
    low_dtype(precision)
    eager_losses, eager_params, _ = _train_step(False, precision)
    losses, params, compiled = _train_step(True, precision)
    assert losses == eager_losses
    for a, b in zip(params, eager_params):
        assert a.dtype == F32
        np.testing.assert_array_equal(a, b)
    source = compiled.source(dt.tensor(np.ones((4, 6), np.float32)), dt.tensor(np.zeros(4, np.int64)))
    assert ("dtype=xp.float16" if precision == "float16" else "dtype=xp.dtype('bfloat16')") in source


def test_compile_keeps_one_program_per_autocast_state():
    w = dt.tensor(np.eye(3, dtype=np.float32))
    compiled = dt.compile(lambda x: x @ w)
    x = dt.ones(2, 3)
    assert compiled(x).dtype == F32
    with dt.autocast("cpu", dtype=np.float16):
        assert compiled(x).dtype == F16
    assert compiled(x).dtype == F32 and compiled.cache_size == 2


# ---- the GPU: autocast("cuda") applies to device tensors only --------------------------------------------
def _real_cupy():
    try:
        import cupy
    except ImportError:
        return None
    try:
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # (CuPy without a driver)
        return None


def test_cuda_autocast_casts_device_tensors_only(monkeypatch):
    import fake_cupy

    fake_cupy.install(monkeypatch)
    x, w, _, _ = data(4)
    device_w = dt.tensor(w, device="cuda", requires_grad=True)
    with dt.autocast("cuda"):  # (PyTorch's CUDA default: float16)
        on_gpu = dt.tensor(x, device="cuda") @ device_w.T
        on_cpu = dt.tensor(x) @ dt.tensor(w).T
        assert dt.is_autocast_enabled("cuda") and not dt.is_autocast_enabled("cpu")
    assert on_gpu.dtype == F16 and on_gpu.device == "cuda" and on_cpu.dtype == F32
    on_gpu.float().sum().backward()
    assert device_w.grad.dtype == F32 and device_w.grad.device == "cuda"
    expected = (x.astype(F16).astype(F32) @ w.astype(F16).astype(F32).T).astype(F16)
    np.testing.assert_array_equal(np.array(on_gpu.detach()._array.view(np.ndarray)), expected)


@pytest.mark.skipif(_real_cupy() is None, reason="needs CuPy and an NVIDIA GPU")
def test_real_gpu_float16_policy_matches_the_cpu():
    cupy = _real_cupy()
    x, w, b, target = data(5)
    layer = lambda w, x: dt.numpy.sum(dt.numpy.tanh(x @ w.T))
    on_gpu = dt.jit(layer, precision="float16", backend="cupy")(w, x)
    assert isinstance(on_gpu, cupy.ndarray) and on_gpu.dtype == F32
    np.testing.assert_allclose(cupy.asnumpy(on_gpu), dt.jit(layer, precision="float16")(w, x), rtol=2e-3)
    device_w = dt.tensor(w, device="cuda", requires_grad=True)
    with dt.autocast("cuda", dtype=np.float16):
        out = dt.tensor(x, device="cuda") @ device_w.T
        loss = F.cross_entropy(out + dt.tensor(b, device="cuda"), dt.tensor(target, device="cuda"))
    loss.backward()
    assert out.dtype == F16 and loss.dtype == F32 and device_w.grad.dtype == F32
    host_w = dt.tensor(w, requires_grad=True)
    with dt.autocast("cpu", dtype=np.float16):
        host = F.cross_entropy(dt.tensor(x) @ host_w.T + dt.tensor(b), dt.tensor(target))
    host.backward()
    np.testing.assert_allclose(loss.item(), host.item(), rtol=2e-3)
    np.testing.assert_allclose(cupy.asnumpy(device_w.grad._array), host_w.grad.numpy(), rtol=1e-2, atol=1e-3)
