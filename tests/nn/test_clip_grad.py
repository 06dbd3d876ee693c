"""nn.utils.clip_grad_norm_: the total norm (2, 1 and inf norms) against NumPy, PyTorch's scaling factor
min(1, max_norm / (norm + 1e-6)) applied in place, grads below the limit left as they were, parameters without
grads skipped, the non-finite check, and (where PyTorch is installed) torch's values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape import nn
from dualtape.nn.utils import clip_grad_norm_
from strategies import arrays
from testkit import torch_or_skip


def params_with_grads(grads):
    params = []
    for g in grads:
        p = nn.Parameter(dt.zeros(*g.shape, dtype=g.dtype))
        p.grad = dt.tensor(g)
        params.append(p)
    return params


def numpy_total_norm(grads, norm_type):
    flat = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    return np.abs(flat).max() if norm_type == np.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)


@settings(max_examples=25, deadline=None)
@given(st.lists(arrays(np.float64, st.sampled_from([(1,), (3,), (2, 2)])), min_size=1, max_size=3),
       st.sampled_from([1.0, 2.0, np.inf]), st.floats(0.01, 20.0))
def test_total_norm_and_scaling(grads, norm_type, max_norm):
    params = params_with_grads(grads)
    handles = [p.grad for p in params]
    total = clip_grad_norm_(params, max_norm, norm_type)
    expected = numpy_total_norm(grads, norm_type)
    assert isinstance(total, dt.Tensor) and total.shape == () and total.dtype == np.float64
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12, atol=1e-300)
    coef = min(1.0, max_norm / (expected + 1e-6))
    for p, g, handle in zip(params, grads, handles):
        assert p.grad is handle  # scaled in place
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-12)
    if expected > max_norm:
        assert numpy_total_norm([p.grad.numpy() for p in params], norm_type) <= max_norm


def test_grads_below_the_limit_are_unchanged_and_missing_grads_are_skipped():
    with_grad = params_with_grads([np.array([3.0, 4.0], np.float32)])[0]
    without = nn.Parameter(dt.ones(2))
    total = clip_grad_norm_([with_grad, without], max_norm=10.0)
    assert total.item() == 5.0 and total.dtype == np.float32
    assert with_grad.grad.tolist() == [3.0, 4.0] and without.grad is None
    clip_grad_norm_(with_grad, max_norm=1.0)  # a single tensor is accepted
    np.testing.assert_allclose(with_grad.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    assert clip_grad_norm_([without], 1.0).item() == 0.0


def test_non_finite_norms_raise_only_when_asked():
    p = params_with_grads([np.array([np.inf, 1.0])])[0]
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):
        assert clip_grad_norm_([p], 1.0).item() == np.inf  # (the grads become inf * 0 = nan, as in PyTorch)


def test_clip_grad_norm_matches_torch_after_backward():
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 4)).astype(np.float32) * 5
    x = rng.standard_normal((6, 4)).astype(np.float32)
    ours = nn.Linear(4, 3)
    ours.load_state_dict({"weight": w, "bias": np.ones(3, np.float32)})
    theirs = torch.nn.Linear(4, 3)
    theirs.load_state_dict({"weight": torch.tensor(w), "bias": torch.ones(3)})
    (ours(dt.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    for norm_type in (2.0, np.inf):
        total = clip_grad_norm_(ours.parameters(), 0.5, norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5, norm_type)
        np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
        for a, b in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-7)
