"""optim.SGD (and the Optimizer base it shares with Adam): several steps against a NumPy transcription of
PyTorch's update (momentum, dampening, Nesterov, weight decay, maximize) over hypothesis-drawn settings,
parameter groups, closures, zero_grad, in-place updates of the same storage, state_dict round trips, the
argument errors, a regression run, and torch's values for the same start."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quadratic import P0, A, B, quadratic_loss, run_dualtape, take_steps

import dualtape as dt
from dualtape import nn, optim
from testkit import torch_or_skip


def numpy_sgd(p, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    """PyTorch's SGD algorithm, written out for the quadratic loss above; the parameter after each step."""
    p, buf, history = p.copy(), None, []
    for _ in range(steps):
        g = A * p + B
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        history.append(p.copy())
    return history


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(0.001, 0.3), momentum=st.sampled_from([0.0, 0.5, 0.9]), dampening=st.sampled_from([0.0, 0.3]),
       weight_decay=st.sampled_from([0.0, 0.01, 0.5]), nesterov=st.booleans(), maximize=st.booleans())
def test_steps_match_the_numpy_transcription(lr, momentum, dampening, weight_decay, nesterov, maximize):
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False
    kwargs = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                  maximize=maximize)
    history, optimizer, p = run_dualtape(lambda ps: optim.SGD(ps, **kwargs), steps=5)
    for k, (ours, expected) in enumerate(zip(history, numpy_sgd(P0, 5, **kwargs))):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14, err_msg=f"step {k + 1}")
    assert ("momentum_buffer" in optimizer.state[p]) == (momentum != 0)


def test_hand_computed_momentum_steps():
    """One coordinate by hand: loss = p**2 (grad 2p), p0 = 1, lr 0.1, momentum 0.9."""
    p = nn.Parameter(dt.tensor([1.0], dtype=np.float64))
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    values = []
    for _ in range(3):
        optimizer.zero_grad()
        (p * p).sum().backward()
        optimizer.step()
        values.append(p.item())
    # b1 = 2; p1 = 0.8 | b2 = 0.9*2 + 1.6 = 3.4; p2 = 0.46 | b3 = 0.9*3.4 + 0.92 = 3.98; p3 = 0.062
    np.testing.assert_allclose(values, [0.8, 0.46, 0.062], rtol=1e-12)
    assert optimizer.state[p]["momentum_buffer"].item() == pytest.approx(3.98, rel=1e-12)


def test_updates_are_in_place_on_the_same_storage_and_state():
    history, optimizer, p = run_dualtape(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), steps=1)
    storage, buffer = p._array, optimizer.state[p]["momentum_buffer"]
    version = p._version[0]
    optimizer.zero_grad()
    quadratic_loss(p).backward()
    optimizer.step()
    assert p._array is storage and optimizer.state[p]["momentum_buffer"] is buffer and p._version[0] > version
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_the_in_place_ops_optimizers_use():
    """add_ / sub_ with alpha=, addcmul_ and addcdiv_ with value= (PyTorch's signatures): values, version
    counter, and (on a non-leaf, grad mode on) a recorded derivative."""
    t = dt.tensor([1.0, 2.0], dtype=np.float64)
    a, b = dt.tensor([3.0, 4.0], dtype=np.float64), dt.tensor([2.0, 8.0], dtype=np.float64)
    assert t.add_(a, alpha=2).tolist() == [7.0, 10.0] and t.sub_(a, alpha=0.5).tolist() == [5.5, 8.0]
    assert t.addcmul_(a, b, value=-1).tolist() == [-0.5, -24.0] and t.addcdiv_(a, b, value=4).tolist() == [5.5, -22.0]
    assert t.add_(1).tolist() == [6.5, -21.0] and t._version[0] == 5
    x = dt.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = x * 1
    y.addcmul_(x, x, value=3.0).add_(x, alpha=2.0)  # y = x + 3x^2 + 2x
    y.sum().backward()
    assert x.grad.tolist() == [9.0, 15.0]  # 3 + 6x
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(a, alpha=2)


def test_param_groups_closure_and_zero_grad():
    a, b = nn.Parameter(dt.tensor([1.0])), nn.Parameter(dt.tensor([1.0]))
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5] and optimizer.param_groups[1]["momentum"] == 0

    def closure():
        optimizer.zero_grad()
        loss = (a * 2 + b * 2).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 4.0
    assert a.item() == pytest.approx(0.8) and b.item() == pytest.approx(0.0)
    optimizer.param_groups[0]["lr"] = 0.0  # hyperparameters are read at each step
    optimizer.step(closure)
    assert a.item() == pytest.approx(0.8)
    optimizer.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0]
    optimizer.zero_grad()
    assert a.grad is None and b.grad is None
    optimizer.step()  # no grads: nothing moves
    assert a.item() == pytest.approx(0.8)
    c = nn.Parameter(dt.tensor([0.0]))
    optimizer.add_param_group({"params": c, "momentum": 0.9})
    assert optimizer.param_groups[2]["lr"] == 0.1 and optimizer.param_groups[2]["momentum"] == 0.9


def test_argument_errors():
    p = nn.Parameter(dt.ones(2))
    for kwargs, message in [({"lr": -0.1}, "Invalid learning rate: -0.1"),
                            ({"momentum": -1}, "Invalid momentum value: -1"),
                            ({"weight_decay": -1e-3}, "Invalid weight_decay value: -0.001"),
                            ({"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
                            ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov")]:
        with pytest.raises(ValueError, match=message):
            optim.SGD([p], **kwargs)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD(nn.ReLU().parameters(), lr=0.1)
    with pytest.raises(TypeError, match="got a Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is int"):
        optim.SGD([p, 3], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_state_dict_round_trip_continues_identically():
    history, optimizer, p = run_dualtape(lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), steps=3)
    saved = optimizer.state_dict()
    assert saved["param_groups"][0]["params"] == [0] and saved["param_groups"][0]["nesterov"] is True
    assert set(saved["state"][0]) == {"momentum_buffer"}
    p_saved = p.detach().numpy().copy()
    fresh = nn.Parameter(dt.tensor(p_saved))
    restored = optim.SGD([fresh], lr=1.0)
    restored.load_state_dict(saved)
    assert restored.param_groups[0]["lr"] == 0.05 and restored.param_groups[0]["momentum"] == 0.9
    assert restored.state[fresh]["momentum_buffer"] is not optimizer.state[p]["momentum_buffer"]  # a copy
    for opt, param in ((optimizer, p), (restored, fresh)):
        take_steps(opt, param, 2)
    np.testing.assert_array_equal(fresh.detach().numpy(), p.detach().numpy())
    with pytest.raises(ValueError, match="different number of parameter groups"):
        restored.load_state_dict({"state": {}, "param_groups": []})


def test_linear_regression_reaches_a_small_error():
    """y = x @ w* + b* with noise of variance 1e-4: SGD with momentum brings the MSE down to it (< 1.2e-4)."""
    dt.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 3)).astype(np.float32)
    y = x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3 + 0.01 * rng.standard_normal((128, 1)).astype(
        np.float32)
    model, loss_fn = nn.Linear(3, 1), nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(150):
        optimizer.zero_grad()
        loss = loss_fn(model(dt.tensor(x)), dt.tensor(y))
        loss.backward()
        optimizer.step()
    assert loss.item() < 1.2e-4
    np.testing.assert_allclose(model.weight.detach().numpy(), [[1.5, -2.0, 0.5]], atol=0.01)


def test_steps_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    w, x = rng.standard_normal((2, 4)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    settings_list = [dict(lr=0.1), dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01),
                     dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)]
    for kwargs in settings_list:
        ours, theirs = nn.Linear(4, 2), torch.nn.Linear(4, 2)
        ours.load_state_dict({"weight": w, "bias": np.zeros(2, np.float32)})
        theirs.load_state_dict({"weight": torch.tensor(w), "bias": torch.zeros(2)})
        opt_ours, opt_theirs = optim.SGD(ours.parameters(), **kwargs), torch.optim.SGD(theirs.parameters(), **kwargs)
        for _ in range(5):
            for model, opt, inp in ((ours, opt_ours, dt.tensor(x)), (theirs, opt_theirs, torch.tensor(x))):
                opt.zero_grad()
                (model(inp).tanh() ** 2).mean().backward()
                opt.step()
        for a, b in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=str(kwargs))
