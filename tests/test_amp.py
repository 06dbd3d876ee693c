"""dt.amp.GradScaler, as torch.amp.GradScaler: the scale's trajectory (back off on inf or NaN, grow after
growth_interval clean steps), skipped steps, unscale_, the errors, state_dict, and a disabled scaler; beside
PyTorch's own scaler where it is installed."""

import math

import numpy as np
import pytest

import dualtape as dt
from testkit import torch_or_skip

PATTERN = [True, False, True, True, True, False, False, True, True, True]  # finite gradients, or an inf


def _run(lib, optim, scaler_class, tensor):
    """Scale, backward, step and update over PATTERN: (scales, parameter values, skipped) after each step."""
    p = tensor([1.0, -2.0])
    optimizer = optim.SGD([p], lr=0.1, momentum=0.5)
    scaler = scaler_class("cpu", init_scale=8.0, growth_factor=2.0, backoff_factor=0.25, growth_interval=2)
    history = []
    for finite in PATTERN:
        optimizer.zero_grad()
        loss = (p * p).sum() * (1.0 if finite else math.inf)
        scaler.scale(loss).backward()
        skipped = scaler.step(optimizer) is None and not finite
        scaler.update()
        history.append((scaler.get_scale(), p.detach().numpy().tolist(), skipped))
    return history, scaler.state_dict()


def test_scale_trajectory_and_skipped_steps_match_torch():
    torch = torch_or_skip()
    mine = _run(dt, dt.optim, dt.amp.GradScaler, lambda v: dt.tensor(v, requires_grad=True))
    theirs = _run(torch, torch.optim, torch.amp.GradScaler, lambda v: torch.tensor(v, requires_grad=True))
    for (s1, p1, k1), (s2, p2, k2) in zip(*[h for h, _ in (mine, theirs)]):
        assert s1 == s2 and k1 == k2
        np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-7)  # (float32, summed in another order)
    assert mine[1] == theirs[1]


def test_a_step_with_an_inf_is_skipped_and_the_scale_backs_off_then_grows():
    history, state = _run(dt, dt.optim, dt.amp.GradScaler, lambda v: dt.tensor(v, requires_grad=True))
    scales = [s for s, _, _ in history]
    assert scales == [8.0, 2.0, 2.0, 4.0, 4.0, 1.0, 0.25, 0.25, 0.5, 0.5]
    for (_, before, _), (_, after, skipped) in zip(history, history[1:]):
        assert skipped == (before == after)
    assert state == {"scale": 0.5, "growth_factor": 2.0, "backoff_factor": 0.25, "growth_interval": 2,
                     "_growth_tracker": 1}


def test_unscale_divides_the_gradients_once():
    p = dt.tensor([1.0, 2.0], requires_grad=True)
    optimizer = dt.optim.SGD([p], lr=1.0)
    scaler = dt.amp.GradScaler(init_scale=4.0)
    scaled = scaler.scale((p * 3.0).sum())
    assert scaled.item() == 36.0 and scaled.dtype == np.float32
    scaled.backward()
    assert p.grad.numpy().tolist() == [12.0, 12.0]
    scaler.unscale_(optimizer)
    assert p.grad.numpy().tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)  # (no second unscale)
    assert p.detach().numpy().tolist() == [-2.0, -1.0]
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="after step"):
        scaler.unscale_(optimizer)
    scaler.update()
    assert scaler.scale([p.sum(), (p.sum(),)])[1][0].item() == -12.0


def test_errors():
    with pytest.raises(ValueError, match="growth factor"):
        dt.amp.GradScaler(growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff factor"):
        dt.amp.GradScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="growth_interval"):
        dt.amp.GradScaler(growth_interval=0)
    scaler = dt.amp.GradScaler()
    with pytest.raises(RuntimeError, match="No inf checks"):
        scaler.update()
    with pytest.raises(ValueError, match="Tensor or an iterable"):
        scaler.scale(3.0)
    half = dt.tensor([1.0], dtype=np.float16, requires_grad=True)
    optimizer = dt.optim.SGD([half], lr=0.1)
    (half * 2).sum().backward()
    with pytest.raises(ValueError, match="FP16 gradients"):
        scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="Closure"):
        dt.amp.GradScaler().step(optimizer, closure=lambda: 0.0)


def test_state_dict_round_trip_update_to_a_given_scale_and_a_disabled_scaler():
    scaler = dt.amp.GradScaler(init_scale=64.0, growth_interval=7)
    scaler.update(new_scale=dt.tensor(16.0))
    copy = dt.amp.GradScaler()
    copy.load_state_dict(scaler.state_dict())
    assert copy.get_scale() == 16.0 and copy.get_growth_interval() == 7 and copy.state_dict() == scaler.state_dict()
    copy.set_growth_factor(3.0)
    copy.set_backoff_factor(0.125)
    copy.set_growth_interval(5)
    assert (copy.get_growth_factor(), copy.get_backoff_factor(), copy.get_growth_interval()) == (3.0, 0.125, 5)
    off = dt.amp.GradScaler(enabled=False)
    loss = dt.tensor(2.0, requires_grad=True)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {} and not off.is_enabled()
    with pytest.raises(RuntimeError, match="empty"):
        scaler.load_state_dict({})
    p = dt.tensor([1.0], requires_grad=True)
    optimizer = dt.optim.SGD([p], lr=0.5)
    (p * math.inf).sum().backward()
    off.step(optimizer)  # (disabled: a plain optimizer step, infs and all)
    off.update()
    assert np.isinf(p.detach().numpy()).all()


def test_step_and_update_refuse_traced_gradients():
    p = dt.tensor([1.0, 2.0], requires_grad=True)
    optimizer = dt.optim.SGD([p], lr=0.1)
    scaler = dt.amp.GradScaler()

    @dt.compile
    def step(x):
        optimizer.zero_grad()
        scaler.scale((p * x).sum()).backward()
        scaler.step(optimizer)

    with pytest.raises(RuntimeError, match="outside the compiled function"):
        step(dt.ones(2))
