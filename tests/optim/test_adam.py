"""optim.Adam: several steps against a NumPy transcription of PyTorch's algorithm (bias corrections, L2 weight
decay, maximize) over hypothesis-drawn settings; its state (a float64 0-d step count and the two moments, updated
in place); a whole training step that never reads a tensor's value into Python (what dt.compile needs); the
state_dict round trip; argument errors; a regression run; and torch's values for the same start."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quadratic import P0, A, B, quadratic_loss, run_dualtape, take_steps

import dualtape as dt
from dualtape import nn, optim
from testkit import torch_or_skip


def numpy_adam(p, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    """PyTorch's Adam algorithm box, written out for the quadratic loss above; the parameter after each step."""
    beta1, beta2 = betas
    p, m, v, history = p.copy(), np.zeros_like(p), np.zeros_like(p), []
    for t in range(1, steps + 1):
        g = A * p + B
        g = -g if maximize else g
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(p.copy())
    return history


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 0.5), beta1=st.sampled_from([0.0, 0.5, 0.9]), beta2=st.sampled_from([0.9, 0.999]),
       eps=st.sampled_from([1e-8, 1e-3]), weight_decay=st.sampled_from([0.0, 0.1]), maximize=st.booleans())
def test_steps_match_the_numpy_transcription(lr, beta1, beta2, eps, weight_decay, maximize):
    kwargs = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, maximize=maximize)
    history, _, _ = run_dualtape(lambda ps: optim.Adam(ps, **kwargs), steps=6)
    for k, (ours, expected) in enumerate(zip(history, numpy_adam(P0, 6, **kwargs))):
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12, err_msg=f"step {k + 1}")


def test_first_step_moves_each_coordinate_by_lr():
    """After one step m_hat = g and v_hat = g**2, so every coordinate moves by lr * sign(g) (eps aside)."""
    history, _, _ = run_dualtape(lambda ps: optim.Adam(ps, lr=0.01, eps=0.0), steps=1)
    np.testing.assert_allclose(history[0], P0 - 0.01 * np.sign(A * P0 + B), rtol=1e-12)


def test_state_lives_in_tensors_updated_in_place():
    _, optimizer, p = run_dualtape(lambda ps: optim.Adam(ps, lr=0.1), steps=1)
    state = optimizer.state[p]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq"}
    step, exp_avg, exp_avg_sq, storage = state["step"], state["exp_avg"], state["exp_avg_sq"], p._array
    assert isinstance(step, dt.Tensor) and step.shape == () and step.dtype == np.float64 and step.item() == 1.0
    assert exp_avg.shape == exp_avg_sq.shape == p.shape and exp_avg.dtype == p.dtype
    for _ in range(2):
        optimizer.zero_grad()
        quadratic_loss(p).backward()
        optimizer.step()
    assert optimizer.state[p]["step"] is step and step.item() == 3.0
    assert optimizer.state[p]["exp_avg"] is exp_avg and optimizer.state[p]["exp_avg_sq"] is exp_avg_sq
    assert p._array is storage and p.is_leaf and p.grad_fn is None
    assert not any(t.requires_grad for t in state.values())
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[0]["betas"] == (0.9, 0.999)


def test_float32_parameters_stay_float32():
    p = nn.Parameter(dt.tensor(P0.astype(np.float32)))
    optimizer = optim.Adam([p], lr=0.1, weight_decay=0.01)
    quadratic_loss(p).backward()
    optimizer.step()
    assert p.dtype == np.float32 and optimizer.state[p]["exp_avg_sq"].dtype == np.float32
    expected = numpy_adam(P0, 1, lr=0.1, weight_decay=0.01)[0]
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-5)


FORBIDDEN = ("item", "tolist", "numpy", "__array__", "__bool__", "__float__", "__int__", "__index__")


def test_a_training_step_never_reads_a_tensor_value_into_python(monkeypatch):
    """Forward, cross entropy, backward, clip_grad_norm_ and Adam.step with every way of turning a tensor into
    a Python value disabled: the step only composes tensor operations, so a tracer can stand in for the data."""
    dt.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 4))
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01)
    x, y = dt.randn(5, 3), dt.tensor([0, 3, 1, 2, 1])

    def train_step():
        optimizer.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        return loss

    first = train_step().item()
    with monkeypatch.context() as patch:
        for name in FORBIDDEN:
            patch.setattr(dt.Tensor, name, _forbidden(name))
        for _ in range(3):
            train_step()
    assert train_step().item() < first


def _forbidden(name):
    def method(self, *args, **kwargs):
        raise AssertionError(f"Tensor.{name} was called during a training step")

    return method


def test_state_dict_round_trip_continues_identically():
    _, optimizer, p = run_dualtape(lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.99)), steps=3)
    saved = optimizer.state_dict()
    assert saved["param_groups"][0]["betas"] == (0.8, 0.99) and saved["state"][0]["step"].item() == 3.0
    fresh = nn.Parameter(dt.tensor(p.detach().numpy().copy()))
    restored = optim.Adam([fresh])
    restored.load_state_dict(saved)
    assert restored.param_groups[0]["lr"] == 0.05
    assert restored.state[fresh]["step"] is not saved["state"][0]["step"]  # copies, not the saved tensors
    assert restored.state[fresh]["step"].dtype == np.float64
    for opt, param in ((optimizer, p), (restored, fresh)):
        take_steps(opt, param, 2)
    np.testing.assert_array_equal(fresh.detach().numpy(), p.detach().numpy())
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([fresh, nn.Parameter(dt.ones(1))]).load_state_dict(saved)
    bad = {"state": {0: {**saved["state"][0], "exp_avg": dt.zeros(3)}}, "param_groups": saved["param_groups"]}
    with pytest.raises(ValueError, match=r"'exp_avg' has shape \(3,\), but its parameter has shape \(2, 3\)"):
        restored.load_state_dict(bad)
    assert restored.state[fresh]["exp_avg"].shape == (2, 3)  # the failed load changed nothing


def test_argument_errors():
    p = nn.Parameter(dt.ones(2))
    for kwargs, message in [({"lr": -1.0}, "Invalid learning rate: -1.0"), ({"eps": -1e-8}, "Invalid epsilon value"),
                            ({"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
                            ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
                            ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1")]:
        with pytest.raises(ValueError, match=message):
            optim.Adam([p], **kwargs)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])


def test_fits_a_sine_with_a_small_mlp():
    """1-16-1 tanh network on 64 points of sin(x), x in [-3, 3]: MSE below 1e-3 after 400 full-batch steps."""
    dt.manual_seed(0)
    x = dt.linspace(-3, 3, 64).reshape(64, 1)
    y = dt.sin(x)
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
    optimizer, loss_fn = optim.Adam(model.parameters(), lr=0.02), nn.MSELoss()
    for _ in range(400):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < 1e-3


def test_steps_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 6)
    for kwargs in [dict(lr=0.01), dict(lr=0.1, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.05),
                   dict(lr=0.003, maximize=True)]:
        ours, theirs = nn.Linear(4, 3), torch.nn.Linear(4, 3)
        ours.load_state_dict({"weight": w, "bias": np.zeros(3, np.float32)})
        theirs.load_state_dict({"weight": torch.tensor(w), "bias": torch.zeros(3)})
        opt_ours, opt_theirs = optim.Adam(ours.parameters(), **kwargs), torch.optim.Adam(theirs.parameters(), **kwargs)
        for _ in range(10):
            opt_ours.zero_grad()
            nn.CrossEntropyLoss()(ours(dt.tensor(x)), dt.tensor(labels)).backward()
            opt_ours.step()
            opt_theirs.zero_grad()
            torch.nn.CrossEntropyLoss()(theirs(torch.tensor(x)), torch.tensor(labels)).backward()
            opt_theirs.step()
        for a, b in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=str(kwargs))
        ours_state, theirs_state = opt_ours.state[ours.weight], opt_theirs.state[theirs.weight]
        assert ours_state["step"].item() == theirs_state["step"].item() == 10
        np.testing.assert_allclose(ours_state["exp_avg_sq"].numpy(), theirs_state["exp_avg_sq"].numpy(), rtol=1e-5,
                                   atol=1e-10)
