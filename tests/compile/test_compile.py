"""dt.compile: a whole training step (forward, backward, gradient clipping, optimiser step) and a forward pass
compiled into one program, equal to eager bit for bit, cached per signature, with state written back
and the guards, errors and state-restoring of a trace."""

import re
import warnings

import numpy as np
import pytest

import dualtape as dt
from dualtape.errors import ConcretizationError

RNG = np.random.default_rng(3)
X = dt.tensor(RNG.normal(size=(12, 5)))
Y = dt.tensor(RNG.integers(0, 3, 12))


def model_and_step(optimizer: str, clip: bool = True, seed: int = 0):
    """A float64 MLP, its optimiser, and the step function closing over them."""
    dt.manual_seed(seed)
    model = dt.nn.Sequential(dt.nn.Linear(5, 7, dtype=np.float64), dt.nn.Tanh(),
                             dt.nn.Linear(7, 3, dtype=np.float64))
    if optimizer == "adam":
        opt = dt.optim.Adam(model.parameters(), lr=0.05, weight_decay=0.01)
    else:
        opt = dt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    loss_fn = dt.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip:
            dt.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss

    return model, opt, step


def values(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_compiled_training_steps_equal_eager_ones(optimizer):
    """Bit for bit (SPEC: the same maths as eager), with the optimisation passes on: dt.compile runs only the
    rewrites that keep every bit (no reordered matrix product)."""
    assert dt.config.optimize
    model, opt, step = model_and_step(optimizer)
    twin, twin_opt, twin_step = model_and_step(optimizer)
    compiled = dt.compile(step)
    for _ in range(6):
        loss, twin_loss = compiled(X, Y), twin_step(X, Y)
        assert loss.item() == twin_loss.item()
        for a, b in zip(values(model), values(twin)):
            np.testing.assert_array_equal(a, b)
        for p, q in zip(model.parameters(), twin.parameters()):
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    for p, q in zip(model.parameters(), twin.parameters()):  # the optimiser state was written back too
        for key, value in twin_opt.state[q].items():
            np.testing.assert_array_equal(opt.state[p][key].numpy(), value.numpy())
    traced = compiled.trace_count
    assert traced <= 3  # the first step (no grads yet; optimiser state made), then the steady state
    compiled(X, Y), compiled(X, Y)
    assert compiled.trace_count == traced


def test_the_cached_program_is_reused_and_a_new_shape_traces_again():
    _, _, step = model_and_step("sgd", clip=False)
    compiled = dt.compile(step)
    for _ in range(3):
        compiled(X, Y)
    traced = compiled.trace_count
    for _ in range(4):
        compiled(X, Y)
    assert compiled.trace_count == traced
    compiled(X[:4], Y[:4])
    assert compiled.trace_count == traced + 1


def test_changes_made_outside_are_seen_by_the_compiled_step():
    model, _, step = model_and_step("sgd", clip=False)
    twin, _, twin_step = model_and_step("sgd", clip=False)
    compiled = dt.compile(step)
    for _ in range(3):
        compiled(X, Y), twin_step(X, Y)
    state = {k: v * 0.5 for k, v in twin.state_dict().items()}  # e.g. a checkpoint loaded between steps
    model.load_state_dict(state)
    twin.load_state_dict(state)
    np.testing.assert_allclose(compiled(X, Y).item(), twin_step(X, Y).item(), rtol=1e-12)
    for a, b in zip(values(model), values(twin)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_a_compiled_forward_pass_is_differentiable_with_eager_backward():
    dt.manual_seed(1)
    model = dt.nn.Sequential(dt.nn.Linear(5, 4, dtype=np.float64), dt.nn.ReLU(), dt.nn.Linear(4, 2, dtype=np.float64))
    forward = dt.compile(model)
    out = forward(X)
    assert out.grad_fn.name() == "CompiledFunctionBackward" and out.shape == (12, 2)
    (out * out).sum().backward()
    compiled_grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    (model(X) ** 2).sum().backward()
    for a, p in zip(compiled_grads, model.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-12, atol=1e-12)
    with dt.no_grad():
        assert forward(X).grad_fn is None
    x = dt.tensor(X.numpy(), requires_grad=True)  # gradients reach a tensor argument too
    forward(x).sum().backward()
    x_eager = dt.tensor(X.numpy(), requires_grad=True)
    model(x_eager).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x_eager.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_a_compiled_forward_pass_with_integer_tensor_arguments_is_differentiable():
    """Index tensors passed to a compiled forward pass are held while its VJP runs (only the tensors requiring
    grad are differentiated): indexing, gather and an embedding-style lookup."""
    table = dt.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    lookup = dt.compile(lambda t, rows, cols: (t[rows] * 2).sum() + t.gather(1, cols).sum())
    rows, cols = dt.tensor(np.array([0, 2, 2])), dt.tensor(np.array([[1], [0], [2], [2]]))
    for _ in range(2):
        table.grad = None
        lookup(table, rows, cols).backward()
        expected = np.zeros((4, 3))
        np.add.at(expected, [0, 2, 2], 2.0)
        np.add.at(expected, (np.arange(4), [1, 0, 2, 2]), 1.0)
        np.testing.assert_array_equal(table.grad.numpy(), expected)
    assert lookup.cache_size == 1


def test_reading_a_value_into_python_while_compiling_names_the_line():
    model, opt, _ = model_and_step("sgd", clip=False)

    def step(x):
        loss = model(x).sum()
        if loss.item() > 0:  # a Python decision on a traced value
            loss = loss * 2
        return loss

    with pytest.raises(ConcretizationError, match="loss.item"):
        dt.compile(step)(X)


def test_a_failed_trace_leaves_parameters_and_grads_as_they_were():
    model, _, step = model_and_step("adam", clip=False)
    step(X, Y)  # eager: grads and state exist
    before = values(model)
    grads = [p.grad for p in model.parameters()]

    def broken(x, y):
        step(x, y)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        dt.compile(broken)(X, Y)
    for a, b in zip(values(model), before):
        np.testing.assert_array_equal(a, b)
    assert all(p.grad is g for p, g in zip(model.parameters(), grads))
    assert all(isinstance(p._array, np.ndarray) for p in model.parameters())


def test_replacing_a_parameter_with_another_shape_traces_again():
    dt.manual_seed(2)
    layer = dt.nn.Linear(5, 3, dtype=np.float64)
    forward = dt.compile(lambda x: layer(x).sum())
    with dt.no_grad():
        forward(X)
        layer.weight = dt.nn.Parameter(dt.tensor(np.ones((3, 5))))
        np.testing.assert_allclose(forward(X).item(), layer(X).sum().item(), rtol=1e-12)
    assert forward.trace_count == 2


def test_the_compiled_step_is_readable_source():
    _, _, step = model_and_step("sgd", clip=False)
    compiled = dt.compile(step)
    compiled(X, Y), compiled(X, Y)
    source = compiled.source(X, Y)
    assert dt.source(compiled, X, Y) == source  # (dt.source of a compiled step: the step's own program)
    assert source.startswith("def step(x, y, model_0_weight, model_0_bias, model_2_weight, model_2_bias, ")
    assert "model_0_weight_momentum_buffer * 0.9" in source  # inputs named after the step's own variables
    assert "loss.backward()" in source and "opt.step()" in source  # the user's lines, as comments
    # the first weight's gradient as eager computes it (addmm's rule), g.T @ x: row-major like the weight
    assert re.search(r" = (\w+)\.T\n +\1 = \1 @ x\n", source)


def test_a_changed_learning_rate_is_used_not_the_one_traced():
    """Hyperparameters are constants of the program, so the compiled step checks them at each call: a
    scheduler's new learning rate traces the step again, and the numbers stay equal to eager."""
    model, opt, step = model_and_step("sgd", clip=False)
    twin, twin_opt, twin_step = model_and_step("sgd", clip=False)
    compiled = dt.compile(step)
    for lr in (0.1, 0.1, 0.1, 0.02, 0.02, 0.005):
        for group in opt.param_groups + twin_opt.param_groups:
            group["lr"] = lr
        np.testing.assert_allclose(compiled(X, Y).item(), twin_step(X, Y).item(), rtol=1e-12)
    for a, b in zip(values(model), values(twin)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    traced = compiled.trace_count
    compiled(X, Y)
    assert compiled.trace_count == traced  # and a setting that stays put needs no new trace
    model.eval()
    compiled(X, Y)
    assert compiled.trace_count == traced + 1  # train/eval is a setting too


def test_random_values_are_drawn_on_each_call_as_eager_draws_them():
    """dt.randn / dt.rand inside a compiled function are program inputs drawn anew per call, from the same
    generator in the same order: with one seed, compiled calls give eager's numbers, and no retrace."""

    def noisy(x):  # (device="cpu" named too: still drawn per call)
        return x * dt.rand(4) + dt.randn(4, dtype=np.float64, device="cpu") * 0.1

    x = dt.tensor(np.linspace(0.0, 1.0, 4))
    dt.manual_seed(5)
    eager = [noisy(x).numpy() for _ in range(3)]
    compiled = dt.compile(noisy)
    dt.manual_seed(5)
    runs = [compiled(x).numpy() for _ in range(3)]
    assert compiled.trace_count == 1
    for e, c in zip(eager, runs):
        np.testing.assert_array_equal(c, e)
    assert not np.array_equal(runs[0], runs[1])
    assert "noise" in compiled.source(x)


def test_a_training_step_with_noise_injection_equals_eager():
    def run(compiled: bool):
        model, opt, _ = model_and_step("sgd", clip=False)
        loss_fn = dt.nn.CrossEntropyLoss()

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x + 0.05 * dt.randn(*x.shape, dtype=np.float64)), y)
            loss.backward()
            opt.step()
            return loss

        step = dt.compile(step) if compiled else step
        dt.manual_seed(11)
        losses = [step(X, Y).item() for _ in range(4)]
        return losses, values(model)

    (eager_losses, eager_params), (losses, params) = run(False), run(True)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-12)
    for p, q in zip(params, eager_params):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_random_values_kept_by_a_module_are_written_back_each_call():
    class Jitter(dt.nn.Module):
        def forward(self, x):
            self.last = dt.rand(3, dtype=np.float64)
            return x + self.last

    module = Jitter()
    compiled = dt.compile(module)
    x = dt.tensor(np.zeros(3))
    dt.manual_seed(2)
    first = compiled(x).numpy()
    np.testing.assert_array_equal(module.last.numpy(), first)
    second = compiled(x).numpy()
    np.testing.assert_array_equal(module.last.numpy(), second)
    assert not np.array_equal(first, second) and compiled.trace_count == 1


@pytest.mark.parametrize("zero", ["module", "optimizer", "tensor"])
def test_zeroing_grads_in_place_inside_a_compiled_step_zeroes_them_each_call(zero):
    """zero_grad(set_to_none=False) and .grad.zero_() write zeros the program holds as constants: the .grad a
    call starts with is not read back in (gradients must not pile up from call to call)."""
    dt.manual_seed(0)
    lin = dt.nn.Linear(2, 1, dtype=np.float64)
    opt = dt.optim.SGD(lin.parameters(), lr=0.0)

    def step(x):
        if zero == "module":
            lin.zero_grad(set_to_none=False)
        elif zero == "optimizer":
            opt.zero_grad(set_to_none=False)
        elif lin.weight.grad is not None:
            lin.weight.grad.zero_()
            lin.bias.grad.zero_()
        lin(x).sum().backward()

    compiled = dt.compile(step)
    x = dt.tensor(np.array([[1.0, 2.0]]))
    for _ in range(4):
        compiled(x)
        np.testing.assert_array_equal(lin.weight.grad.numpy(), [[1.0, 2.0]])
        np.testing.assert_array_equal(lin.bias.grad.numpy(), [1.0])


def _frozen_after_lr_zero(make_step):
    """Weight change of a compiled step after lr is set to 0, the step made by make_step(model, opt)."""
    dt.manual_seed(0)
    model = dt.nn.Linear(3, 1, dtype=np.float64)
    opt = dt.optim.SGD(model.parameters(), lr=0.1)
    step, call = make_step(model, opt)
    x = dt.tensor(np.ones((4, 3)))
    for _ in range(3):
        call(step, model, opt, x)
    opt.param_groups[0]["lr"] = 0.0
    before = model.weight.detach().numpy().copy()
    call(step, model, opt, x)
    return np.abs(model.weight.detach().numpy() - before).max()


def _train(model, opt, x):
    opt.zero_grad()
    model(x).pow(2).mean().backward()
    opt.step()


def test_settings_of_a_model_and_optimiser_passed_as_arguments_are_guarded():
    moved = _frozen_after_lr_zero(lambda model, opt: (dt.compile(_train), lambda s, m, o, x: s(m, o, x)))
    assert moved == 0.0


def test_settings_of_an_optimiser_stepped_by_a_helper_or_kept_in_a_dict_are_guarded():
    def make(model, opt):
        state = {"model": model, "opt": opt}

        def update():
            state["opt"].step()

        def step(x):
            state["opt"].zero_grad()
            state["model"](x).pow(2).mean().backward()
            update()

        return dt.compile(step), lambda s, m, o, x: s(x)

    assert _frozen_after_lr_zero(make) == 0.0


def test_a_compiled_forward_method_follows_train_and_eval():
    class Net(dt.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = dt.nn.Linear(3, 2, dtype=np.float64)

        def forward(self, x):
            h = self.fc(x)
            return h * 0.5 if self.training else h

    net, x = Net(), dt.tensor(np.ones((4, 3)))
    for compiled in (dt.compile(net.forward), dt.compile(lambda x: [net][0](x))):
        net.train()
        with dt.no_grad():
            np.testing.assert_allclose(compiled(x).numpy(), net(x).numpy())
            net.eval()
            np.testing.assert_allclose(compiled(x).numpy(), net(x).numpy())


def test_a_compiled_module_called_with_an_array_returns_a_tensor_as_eager_does():
    """An op between a tensor and a plain array gives a tensor in eager code; traced, the same (the tensor
    wraps the trace's values, so it handles the op), and gradients reach the parameters."""
    dt.manual_seed(0)
    model = dt.nn.Linear(3, 1, dtype=np.float64)
    x = np.ones((4, 3))
    out = dt.compile(model)(x)
    assert isinstance(out, dt.Tensor) and out.grad_fn is not None
    out.sum().backward()
    np.testing.assert_allclose(model.weight.grad.numpy(), [[4.0, 4.0, 4.0]])


def test_printing_inside_a_compiled_function_shows_the_traced_value_and_item_says_what_to_do(capsys):
    model = dt.nn.Linear(3, 1, dtype=np.float64)

    def step(x):
        loss = model(x).pow(2).mean()
        print("loss is", loss)  # (once, while tracing, as JAX prints a traced value)
        return loss

    dt.compile(step)(dt.tensor(np.ones((4, 3))))
    assert "loss is tensor(<traced f64[]>" in capsys.readouterr().out
    with pytest.raises(ConcretizationError, match=r"\.item\(\)(.|\n)*return it from the compiled function"):
        dt.compile(lambda x: model(x).sum().item())(dt.tensor(np.ones((4, 3))))


def test_a_function_keeping_the_tensors_it_makes_warns_that_it_traces_each_call():
    class Net(dt.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = dt.nn.Linear(3, 2, dtype=np.float64)

        def forward(self, x):
            self.last_hidden = self.fc(x)  # kept beyond the call: new state each time
            return self.last_hidden.tanh()

    net = Net()
    compiled = dt.compile(net)
    x = dt.tensor(np.ones((4, 3)))
    with pytest.warns(RuntimeWarning, match="traced 3 times because each call makes tensors that outlive it"):
        for _ in range(4):
            np.testing.assert_array_equal(compiled(x).detach().numpy(), net(x).detach().numpy())
    model, opt, step = model_and_step("adam")
    compiled_step = dt.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a training loop makes its state once: no warning
        for _ in range(5):
            compiled_step(X, Y)


@pytest.mark.parametrize("op", ["mean", "softmax", "log_softmax", "var", "std", "norm"])
def test_composite_ops_on_a_parameter_read_its_current_value(op):
    """A composite op (one node in the eager graph) applied to a tensor the compiled function captures reads it
    as an input of the program, not as a constant: after the tensor changes, the compiled function sees it."""
    w = dt.tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    compiled = dt.compile(lambda: getattr(w, op)().sum())
    assert compiled().item() == getattr(w, op)().sum().item()
    with dt.no_grad():
        w.mul_(3)
    assert compiled().item() == getattr(w, op)().sum().item()


def test_a_submodule_replaced_by_another_of_the_same_shapes_traces_again():
    """The program read the old layer's weights: a new layer in its place (same shapes, same training flag)
    makes a new module tree, so the next call traces again and computes with the new layer, as eager does."""

    class Net(dt.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = dt.nn.Linear(3, 2, dtype=np.float64)

        def forward(self, x):
            return self.fc(x).tanh()

    dt.manual_seed(4)
    net, x = Net(), dt.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3))
    compiled = dt.compile(net)
    with dt.no_grad():
        compiled(x), compiled(x)
        net.fc = dt.nn.Linear(3, 2, dtype=np.float64)
        np.testing.assert_array_equal(compiled(x).numpy(), net(x).numpy())
    assert compiled.trace_count == 2


def test_a_call_with_the_last_calls_signature_skips_flattening_its_arguments(monkeypatch):
    """The lean path: positional arguments with the signature of the last call are checked one by one, not
    flattened into a pytree and hashed into a cache key (the per-call overhead of a training step)."""
    import importlib
    import types

    from dualtape import tree

    compiled_module = importlib.import_module("dualtape.compile.compiled")  # (dt.compile is the function)
    model, _, step = model_and_step("sgd", clip=False)
    compiled = dt.compile(step)
    for _ in range(3):
        compiled(X, Y)
    flattened = []
    counting = types.SimpleNamespace(**{**vars(tree), "flatten": lambda x: flattened.append(x) or tree.flatten(x)})
    monkeypatch.setattr(compiled_module, "tree", counting)
    traced = compiled.trace_count
    for _ in range(3):
        compiled(X, Y)
    assert flattened == [] and compiled.trace_count == traced
    compiled(X[:6], Y[:6])  # a new signature: the full path, and a trace
    assert flattened and compiled.trace_count == traced + 1


def test_the_lean_path_sees_each_change_the_cache_key_holds():
    """After a call, the next one with another argument dtype, static value, argument type, grad mode,
    requires_grad or .grad present is a new signature, traced for itself (equal to eager), never run as the
    last call's program; and the last signature again is no new trace."""
    w = dt.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    def f(x, scale):
        return (dt.tanh(x * scale) * w).sum()  # (an integer x times a float is float32 in eager code)

    compiled = dt.compile(f)
    x64 = dt.tensor(np.array([1.0, 2.0, 3.0]))
    x32, xi = x64.to(dt.float32), dt.tensor(np.array([1, 2, 3]))
    calls = [(x64, 2.5, 1), (x64, 2.5, 0), (xi, 2.5, 1), (xi, 0.5, 1), (xi, 1, 1), (x32, 1, 1), (x64, 1, 1),
             (np.array([1.0, 2.0, 3.0]), 1, 1), (x64, 2.5, 0)]
    for x, scale, new_trace in calls:
        traced = compiled.trace_count
        got, want = compiled(x, scale), f(x, scale)
        assert got.dtype == want.dtype and got.item() == want.item()
        assert compiled.trace_count == traced + new_trace
    with dt.no_grad():
        got = compiled(x64, 2.5)
        assert got.grad_fn is None and got.item() == f(x64, 2.5).item()
        assert compiled.trace_count == traced + 1
    compiled(x64, 2.5)
    x = dt.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    for _ in range(2):  # x requires grad now, then has a .grad: each a new signature, differentiated as eager
        traced = compiled.trace_count
        x.grad = None if x.grad is None else x.grad * 0
        compiled(x, 2.5).backward()
        got = x.grad.numpy().copy()
        x.grad = x.grad * 0
        f(x, 2.5).backward()
        np.testing.assert_array_equal(got, x.grad.numpy())
        assert compiled.trace_count == traced + 1


def test_an_optimiser_setting_changed_in_place_or_added_traces_again():
    """param_groups are compared item by item at each call: a list value changed in place, or a new key, is a
    new setting (it may be read by the step), and a value set again to an equal number is not."""
    model, opt, step = model_and_step("sgd", clip=False)
    compiled = dt.compile(step)
    for _ in range(3):
        compiled(X, Y)
    traced = compiled.trace_count
    opt.param_groups[0]["lr"] = float("0.1")  # the same value, another object: no new trace
    compiled(X, Y)
    assert compiled.trace_count == traced
    opt.param_groups[0]["note"] = [1]
    compiled(X, Y)
    assert compiled.trace_count == traced + 1
    opt.param_groups[0]["note"].append(2)
    compiled(X, Y)
    assert compiled.trace_count == traced + 2
