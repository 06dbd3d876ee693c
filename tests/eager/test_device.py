"""Eager tensors on the GPU (device="cuda"), run on the CPU through the strict stand-in `cupy` (fake_cupy): its
arrays refuse host arrays, and NumPy's conversions refuse them, as CuPy's do, so a factory, op, backward rule
or in-place write that leaves the device fails here as it would on a GPU. Values and gradients must equal the
CPU's. The last section repeats the main checks with real CuPy when it finds a GPU (skipped otherwise)."""

import copy
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
import fake_cupy
from fake_cupy import COPIES, DeviceArray

RNG = np.random.default_rng(0)
X, W = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4))
MIXED = r"Expected all tensors to be on the same device, but found at least two devices, {}!"


@pytest.fixture
def cupy(monkeypatch):
    return fake_cupy.install(monkeypatch)


def on_gpu(*tensors) -> bool:
    for t in tensors:
        assert type(t._array) is DeviceArray, f"a {type(t._array).__name__} where a device array belongs"
        assert t.is_cuda and t.device == "cuda:0"
    return True


def values(t) -> np.ndarray:
    """A tensor's values as a NumPy array (reading under the fake's device type, not copying)."""
    return np.array(t._array.view(np.ndarray)) if isinstance(t._array, DeviceArray) else np.array(t._array)


# ---- devices and factories ---------------------------------------------------------------------------------
def test_importing_and_cpu_work_never_import_cupy():
    script = ("import sys, dualtape as dt; x = dt.tensor([1.0, 2.0], requires_grad=True); "
              "(dt.sin(x) * x[[0, 1]]).sum().backward(); x.cpu(); dt.zeros_like(x); "
              "assert x.device == 'cpu' and 'cupy' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", script], check=True)


def test_device_objects_print_and_compare_as_pytorch():
    assert repr(dt.device("cuda:0")) == "device(type='cuda', index=0)" and str(dt.device("cuda")) == "cuda"
    assert dt.device("cuda") == "cuda:0" and dt.device("cuda:0") == "cuda" and dt.device("cpu") != "cuda"
    assert dt.device("cpu") == dt.device("cpu") and hash(dt.device("cuda")) == hash(dt.device("cuda:0"))
    assert repr(dt.tensor([1.0]).device) == "device(type='cpu')" and dt.tensor([1.0]).device == "cpu"
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type at start of device string: gpu"):
        dt.device("gpu")
    with pytest.raises(NotImplementedError, match="one GPU, cuda:0; got cuda:1"):
        dt.zeros(2, device="cuda:1")


FACTORIES = {
    "zeros": lambda **kw: dt.zeros(2, 3, **kw),
    "ones": lambda **kw: dt.ones((2, 3), dtype=np.float64, **kw),
    "full": lambda **kw: dt.full((2,), 7, **kw),
    "eye": lambda **kw: dt.eye(3, 2, **kw),
    "arange": lambda **kw: dt.arange(1, 7, 2, **kw),
    "linspace": lambda **kw: dt.linspace(-1, 1, 5, **kw),
    "randn": lambda **kw: (dt.manual_seed(3), dt.randn(2, 2, requires_grad=True, **kw))[1],
    "rand": lambda **kw: (dt.manual_seed(3), dt.rand(4, dtype=np.float64, **kw))[1],
    "tensor": lambda **kw: dt.tensor([[1, 2], [3, 4]], **kw),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_build_on_the_gpu_what_they_build_on_the_cpu(cupy, name):
    on_host, on_device = FACTORIES[name](), FACTORIES[name](device="cuda")
    assert on_gpu(on_device) and type(on_host._array) is np.ndarray
    assert on_device.dtype == on_host.dtype and on_device.requires_grad == on_host.requires_grad
    np.testing.assert_array_equal(values(on_device), values(on_host))


def test_like_factories_follow_their_source_unless_told(cupy):
    src = dt.ones(2, 3, dtype=np.float64, device="cuda")
    for like in (dt.zeros_like, dt.ones_like):
        made = like(src)
        assert on_gpu(made) and made.dtype == np.float64 and made.shape == (2, 3)
        assert like(src, device="cpu").device == "cpu" and on_gpu(like(dt.ones(2), device="cuda"))


def test_tensor_copies_keep_the_source_device_unless_told(cupy):
    g = dt.tensor([1.0, 2.0], device="cuda")
    copied = dt.tensor(g)
    assert on_gpu(copied) and copied._array is not g._array and dt.tensor(cupy.asarray(X)).device == "cuda"
    back = dt.tensor(g, device="cpu", dtype=np.float64)
    assert type(back._array) is np.ndarray and back.dtype == np.float64 and back.tolist() == [1.0, 2.0]


# ---- ops and backward: the same numbers as on the CPU -----------------------------------------------------
CASES = {
    "elementwise": lambda x, w: (dt.tanh(dt.sin(x) * 1.0001 + 0.1) + x.exp() * x.sigmoid()
                                 - dt.log(x * x + 1) / dt.clamp(x.abs().sqrt(), min=0.1)).sum(),
    "broadcasting": lambda x, w: (x[:, :1] * x + x.sum(0)).pow(2).mean() - (1 - x).sum(dim=1, keepdim=True).sum(),
    "matmul": lambda x, w: ((x @ w).softmax(-1) * dt.matmul(x, w)).log_softmax(0).sum() + x[0].dot(w[:, 1]),
    "reductions": lambda x, w: x.max() + x.min(dim=1).values.sum() + x.norm() + x.mean(dim=0).prod()
                               + w.max(0)[0].sum(),
    "composites": lambda x, w: x.relu().sum() + x.softmax(0)[1].sum() + x.log_softmax(-1).mean() + x.mean(),
    "indexing": lambda x, w: x[1].sum() + x[:, [0, 2, 2]].sum() * 2 + x[np.array([1, 0])][0, 1]
                             + w[dt.tensor([2, 0])].sum(),
    "shapes": lambda x, w: (dt.cat([x, x * 2], 1).reshape(3, 4).transpose(0, 1).unsqueeze(0) * w.T).sum()
                           + dt.stack([x, x]).squeeze().permute(2, 0, 1).mean(),
    "tensor powers": lambda x, w: ((x.abs() + 1) ** (x * 0.5)).sum() + (2.0 ** x).sum() + (x ** 3).sum(),
    "selection": lambda x, w: dt.where(x > 0, x, x * 0.1).sum() + dt.maximum(x, 0.5 * x).sum()
                              + x.clamp(-0.5, 0.5).sum(),
    "einsum": lambda x, w: dt.einsum("ii->", x.T @ x) + dt.einsum("ij,jk->ik", x, w).sum(),
    "dtypes": lambda x, w: (x.float() * 2).double().sum() + x.to(np.float32).sum() + (x * dt.tensor(2.0)).sum(),
}


def _run(case, device):
    x = dt.tensor(X, requires_grad=True, device=device)
    w = dt.tensor(W, requires_grad=True, device=device)
    out = CASES[case](x, w)
    out.backward()
    return out, x.grad, w.grad


@pytest.mark.parametrize("case", sorted(CASES))
def test_ops_and_their_gradients_match_the_cpu(cupy, case):
    expected = _run(case, None)
    got = _run(case, "cuda")
    for g, e in zip(got, expected):
        assert (g is None) == (e is None)
        if g is not None:
            assert on_gpu(g) and g.dtype == e.dtype
            np.testing.assert_allclose(values(g), values(e), rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.floats(-3, 3, allow_subnormal=False)))
def test_a_chain_of_ops_matches_the_cpu_for_any_array(data):
    def f(t):
        return (dt.tanh(t * t) * dt.exp(-t) + t.sum(-1, keepdim=True)).mean()

    with pytest.MonkeyPatch.context() as monkeypatch:
        fake_cupy.install(monkeypatch)
        results = []
        for device in (None, "cuda"):
            t = dt.tensor(data, requires_grad=True, device=device)
            out = f(t)
            out.backward()
            results.append((values(out), values(t.grad)))
        assert on_gpu(t.grad)
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, atol=1e-12)


def test_higher_order_gradients_stay_on_the_gpu(cupy):
    host = np.array([0.5, -1.0, 2.0])
    x = dt.tensor(host, requires_grad=True, device="cuda")
    (g,) = dt.autograd.grad((x ** 3 * dt.sin(x)).sum(), x, create_graph=True)
    g.sum().backward()
    assert on_gpu(g, x.grad)
    expected = 6 * host * np.sin(host) + 6 * host ** 2 * np.cos(host) - host ** 3 * np.sin(host)
    np.testing.assert_allclose(values(x.grad), expected, rtol=1e-12)


def test_backward_takes_a_gradient_on_the_outputs_device(cupy):
    x = dt.tensor([1.0, 2.0, 3.0], requires_grad=True, device="cuda")
    (x * x).backward(gradient=dt.ones(3, device="cuda"))
    (x * x).backward(gradient=[1.0, 0.0, -1.0])  # data, not a tensor: put on the device
    assert on_gpu(x.grad) and values(x.grad).tolist() == [4.0, 4.0, 0.0]
    with pytest.raises(RuntimeError, match="invalid gradient at index 0 - expected device cuda:0 but got cpu"):
        (x * x).backward(gradient=dt.ones(3))
    assert values(x.grad).tolist() == [4.0, 4.0, 0.0]  # nothing half-accumulated


def test_a_custom_function_runs_on_the_gpu(cupy):
    class Cube(dt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    class Twice(dt.autograd.Function):  # its forward returns the array itself
        @staticmethod
        def forward(ctx, x):
            return x._array * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = dt.tensor([1.0, -2.0], requires_grad=True, device="cuda")
    y = Cube.apply(x)
    (y.sum() + Twice.apply(x).sum()).backward()
    assert on_gpu(y, Twice.apply(x), x.grad) and y.grad_fn.name() == "CubeBackward"
    assert values(x.grad).tolist() == [5.0, 14.0]


# ---- moving between devices ----------------------------------------------------------------------------------
def test_moves_are_recorded_and_gradients_flow_back(cupy):
    x = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.cuda()
    assert on_gpu(y) and y.grad_fn.name() == "ToCopyBackward0" and repr(y.grad_fn) == "<ToCopyBackward0>"
    assert y.grad_fn.next_functions[0][0].variable is x
    z = (y * y).sum().cpu()
    assert z.grad_fn.name() == "ToCopyBackward0" and type(z._array) is not DeviceArray
    z.backward()
    assert type(x.grad._array) is np.ndarray and x.grad.tolist() == [2.0, 4.0, 6.0]

    w = dt.tensor([1.0, 2.0], requires_grad=True, device="cuda")  # a leaf on the GPU, worked on on the host
    (w.to("cpu") ** 3).sum().backward()
    assert on_gpu(w.grad) and values(w.grad).tolist() == [3.0, 12.0]


def test_to_takes_pytorchs_forms(cupy):
    x = dt.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = x.to(device="cuda", dtype=np.float32)
    assert on_gpu(y) and y.dtype == np.float32
    assert y.to("cuda") is y and y.cuda() is y and x.cpu() is x and x.to(dt.device("cpu")) is x
    other = dt.zeros(1, dtype=np.float64, device="cuda")
    assert on_gpu(x.to(other)) and x.to(other).dtype == np.float64 and on_gpu(x.to(dt.device("cuda:0")))
    copied = y.to("cuda", copy=True)
    assert copied is not y and on_gpu(copied) and values(copied).tolist() == [1.0, 2.0]
    (y * y).sum().backward()
    assert type(x.grad._array) is np.ndarray and x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 4.0]
    with dt.no_grad():
        assert x.cuda().grad_fn is None and not x.cuda().requires_grad


def test_higher_order_gradients_cross_devices(cupy):
    x = dt.tensor([0.5, 1.5], dtype=np.float64, requires_grad=True)
    (g,) = dt.autograd.grad((x.cuda() ** 3).sum(), x, create_graph=True)
    assert type(g._array) is np.ndarray and g.grad_fn is not None
    g.sum().backward()
    assert x.grad.tolist() == [3.0, 9.0]


# ---- what must not happen silently -----------------------------------------------------------------------
def test_mixing_devices_raises_pytorchs_error(cupy):
    a, b = dt.ones(3, device="cuda"), dt.ones(3)
    with pytest.raises(RuntimeError, match=MIXED.format("cuda:0 and cpu")):
        a + b
    with pytest.raises(RuntimeError, match=MIXED.format("cpu and cuda:0")):
        b * a
    for op in (lambda: dt.matmul(a, b), lambda: dt.where(a > 0, a, b), lambda: a + np.ones(3), lambda: np.ones(3) - a,
               lambda: dt.cat([a, b])):
        with pytest.raises(RuntimeError, match=MIXED.format(".*")):
            op()


def test_scalars_0d_tensors_and_indices_mix_freely(cupy):
    a = dt.tensor([1.0, 2.0, 3.0], device="cuda")
    for result, expected in ((a * 2.0 + 1, [3.0, 5.0, 7.0]), (a * dt.tensor(2.0), [2.0, 4.0, 6.0]),
                             (dt.tensor(1.0) - a, [0.0, -1.0, -2.0]), (a * np.float32(2), [2.0, 4.0, 6.0]),
                             (a[[2, 0]], [3.0, 1.0]), (a[np.array([1])], [2.0]), (a[dt.tensor([0, 0])], [1.0, 1.0])):
        assert on_gpu(result) and values(result).tolist() == expected


def test_numpy_of_a_gpu_tensor_raises_but_item_and_tolist_copy(cupy):
    t = dt.tensor([[1.5, 2.5]], device="cuda")
    message = r"can't convert cuda:0 device type tensor to numpy\. Use Tensor\.cpu\(\) to copy the tensor to host"
    for convert in (t.numpy, lambda: np.asarray(t), lambda: t.requires_grad_().numpy()):
        with pytest.raises(TypeError, match=message):
            convert()
    COPIES.clear()
    assert t.tolist() == [[1.5, 2.5]] and t.sum().item() == 4.0 and float(t[0, 0]) == 1.5 and bool(t[0, 1])
    assert COPIES["to_host"] >= 2 and t.detach().cpu().numpy().tolist() == [[1.5, 2.5]]


def test_repr_shows_the_device(cupy):
    x = dt.tensor([1.0, 2.0], device="cuda")
    assert repr(x) == "tensor([1., 2.], device='cuda:0')"
    assert repr(x.double()) == "tensor([1., 2.], device='cuda:0', dtype=dualtape.float64)"
    assert repr(x.requires_grad_() * 2) == "tensor([2., 4.], device='cuda:0', grad_fn=<MulBackward0>)"


def test_cuda_without_cupy_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    for make in (lambda: dt.zeros(2, device="cuda"), lambda: dt.tensor([1.0]).cuda(), lambda: dt.ones(2).to("cuda"),
                 lambda: dt.tensor([1.0], device="cuda"), lambda: dt.zeros_like(dt.ones(1), device="cuda"),
                 lambda: dt.randn(2, device="cuda"), lambda: dt.nn.Linear(2, 2).to("cuda")):
        with pytest.raises(dt.BackendError, match=r"device='cuda' .* pip install 'dualtape\[cupy\]'"):
            make()
    assert (dt.tensor([2.0]) * 3).tolist() == [6.0]  # the CPU is unaffected


def test_cuda_without_a_gpu_says_so(monkeypatch):
    fake_cupy.install(monkeypatch, devices=0)
    with pytest.raises(dt.BackendError, match=r"device='cuda' .* finds no device"):
        dt.ones(2, device="cuda")


def test_compile_refuses_gpu_tensors_by_name(cupy):
    model = dt.nn.Linear(3, 1).cuda()
    for call in (lambda: dt.compile(lambda t: (t * 2).sum())(dt.ones(3, device="cuda")),
                 lambda: dt.compile(model)(dt.ones(1, 3, device="cuda"))):
        with pytest.raises(NotImplementedError, match="dt.compile traces CPU tensors only.*cuda:0"):
            call()
    assert on_gpu(model.weight, model.bias)  # left as it was


# ---- in-place operations ---------------------------------------------------------------------------------
def test_in_place_ops_write_the_gpu_storage(cupy):
    t = dt.zeros(3, device="cuda")
    storage, view = t._array, t.detach()
    t.add_(dt.ones(3, device="cuda")).mul_(3)
    t += 1
    assert t._array is storage and values(view).tolist() == [4.0, 4.0, 4.0] and t._version[0] == 3
    t.fill_(2.5)
    assert t._array is storage and values(t).tolist() == [2.5] * 3
    t.copy_(dt.tensor([1.0, 2.0, 3.0]))  # copy_ alone crosses devices, as in PyTorch
    t.copy_(np.array([1.0, 2.0, 4.0]))
    assert t._array is storage and values(view).tolist() == [1.0, 2.0, 4.0]
    host = dt.zeros(3)
    host.copy_(t)
    assert type(host._array) is np.ndarray and host.tolist() == [1.0, 2.0, 4.0]
    t.zero_()
    assert t._array is storage and values(t).tolist() == [0.0] * 3
    with pytest.raises(RuntimeError, match=MIXED.format("cuda:0 and cpu")):
        t.add_(dt.ones(3))


def test_gradients_accumulate_on_the_gpu(cupy):
    x = dt.tensor([1.0, 2.0], requires_grad=True, device="cuda")
    (x * x).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert on_gpu(x.grad) and x.grad is first and values(x.grad).tolist() == [5.0, 7.0]
    x.grad.zero_()
    assert on_gpu(x.grad) and values(x.grad).tolist() == [0.0, 0.0]


# ---- nn and optim ----------------------------------------------------------------------------------------------
def _train(optimizer, device, steps=3):
    dt.manual_seed(0)
    model = dt.nn.Sequential(dt.nn.Linear(4, 8), dt.nn.Tanh(), dt.nn.Linear(8, 3))
    params = list(model.parameters())
    if device is not None:
        model.cuda()
        assert list(model.parameters()) == params  # moved in place: the same Parameter objects
    opt = optimizer(model.parameters())
    x = dt.tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4), device=device)
    target, goal = dt.tensor([0, 2, 1, 0, 2], device=device), dt.ones(5, 3, device=device)
    for _ in range(steps):
        opt.zero_grad()
        out = model(x)
        loss = dt.nn.functional.cross_entropy(out, target) + dt.nn.MSELoss()(out, goal)
        loss.backward()
        dt.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model, opt, loss


OPTIMIZERS = {"sgd": lambda ps: dt.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
              "adam": lambda ps: dt.optim.Adam(ps, lr=0.01)}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_training_step_on_the_gpu_equals_the_cpus(cupy, name):
    cpu_model, _, cpu_loss = _train(OPTIMIZERS[name], None)
    gpu_model, opt, gpu_loss = _train(OPTIMIZERS[name], "cuda")
    assert on_gpu(gpu_loss)
    np.testing.assert_allclose(values(gpu_loss), values(cpu_loss), rtol=1e-6)
    for (pname, p), q in zip(gpu_model.named_parameters(), cpu_model.parameters()):
        assert on_gpu(p, p.grad), pname
        np.testing.assert_allclose(values(p), values(q), rtol=1e-6, atol=1e-7, err_msg=pname)
    for state in opt.state.values():
        assert all(on_gpu(v) for k, v in state.items() if k != "step")


def test_modules_move_parameters_grads_and_buffers(cupy):
    model = dt.nn.Linear(3, 2)
    model.register_buffer("scale", dt.ones(2))
    model(dt.ones(1, 3)).sum().backward()
    weight = model.weight
    model.to("cuda")
    assert model.weight is weight and on_gpu(model.weight, model.weight.grad, model.bias.grad, model.scale)
    model.to(dtype=np.float64)
    assert on_gpu(model.weight) and model.weight.dtype == np.float64 and model.scale.dtype == np.float64
    model.cpu()
    assert type(model.weight._array) is np.ndarray and type(model.weight.grad._array) is np.ndarray
    assert type(model.scale._array) is np.ndarray
    on_host = dt.nn.Linear(3, 2)
    model.cuda().load_state_dict({**on_host.state_dict(), "scale": dt.full((2,), 2.0, dtype=np.float64)})
    assert on_gpu(model.weight, model.scale) and values(model.weight).tolist() == on_host.weight.tolist()
    dt.manual_seed(1)
    built = dt.nn.Linear(3, 2, device="cuda")
    dt.manual_seed(1)
    assert on_gpu(built.weight) and values(built.weight).tolist() == dt.nn.Linear(3, 2).weight.tolist()


def test_state_loaded_from_the_host_follows_its_parameters(cupy):
    model, opt, _ = _train(OPTIMIZERS["sgd"], None, steps=1)
    clone = copy.deepcopy(model).cuda()
    moved = OPTIMIZERS["sgd"](clone.parameters())
    moved.load_state_dict(opt.state_dict())
    for p in clone.parameters():
        assert on_gpu(moved.state[p]["momentum_buffer"])
    clone(dt.ones(1, 4, device="cuda")).sum().backward()
    moved.step()
    assert all(on_gpu(p) for p in clone.parameters())


# ---- a real GPU --------------------------------------------------------------------------------------------
def _real_cupy():
    """CuPy itself when it is installed and finds a GPU, else None."""
    try:
        import cupy as real

        return real if real.ndarray is not DeviceArray and real.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # not installed, or no driver
        return None


needs_gpu = pytest.mark.skipif(_real_cupy() is None, reason="needs CuPy and an NVIDIA GPU")


@needs_gpu
@pytest.mark.parametrize("case", sorted(CASES))
def test_real_gpu_ops_and_gradients_match_the_cpu(case):
    real = _real_cupy()
    expected = _run(case, None)
    got = _run(case, "cuda")
    for g, e in zip(got, expected):
        assert (g is None) == (e is None)
        if g is not None:
            assert isinstance(g._array, real.ndarray) and g.device == "cuda"
            # (GPU libm and reduction order differ from the CPU's in the last bits; "dtypes" sums in float32)
            np.testing.assert_allclose(real.asnumpy(g._array), np.asarray(e._array), rtol=1e-6, atol=1e-9)


@needs_gpu
def test_real_gpu_moves_factories_and_training():
    real = _real_cupy()
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    (x.cuda() ** 2).sum().cpu().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert all(isinstance(make(device="cuda")._array, real.ndarray) for make in FACTORIES.values())
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        dt.ones(2, device="cuda").numpy()
    for name in OPTIMIZERS:
        cpu_model, _, cpu_loss = _train(OPTIMIZERS[name], None)
        gpu_model, _, gpu_loss = _train(OPTIMIZERS[name], "cuda")
        assert gpu_loss.item() == pytest.approx(cpu_loss.item(), rel=1e-5)
        for p, q in zip(gpu_model.parameters(), cpu_model.parameters()):
            np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-6)
