"""Eager optimiser steps update NumPy parameters in place through the optimiser's one rule run on arrays; the
same rule on tensors (dt.compile's path, or parameters that are views) gives the same bits; versions advance,
so a graph that saved a parameter refuses to backward after the step, as PyTorch's."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape import optim
from dualtape.optim.optimizer import Optimizer

SETTINGS = {
    "adam": st.fixed_dictionaries({"lr": st.floats(1e-4, 0.5), "betas": st.sampled_from([(0.9, 0.999), (0.5, 0.9)]),
                                   "eps": st.sampled_from([1e-8, 1e-3]), "weight_decay": st.sampled_from([0.0, 0.1]),
                                   "maximize": st.booleans()}),
    "sgd": st.fixed_dictionaries({"lr": st.floats(1e-4, 0.5), "momentum": st.sampled_from([0.0, 0.9]),
                                  "weight_decay": st.sampled_from([0.0, 0.1]), "maximize": st.booleans(),
                                  "nesterov": st.booleans()}),
}
MAKE = {"adam": optim.Adam, "sgd": optim.SGD}


def _train(name, kwargs, dtype, path: str, seed: int):
    """Four steps by one path: "flat" (a group at once, where the optimiser has it), "arrays" (each parameter's
    arrays), "tensors" (tensor operations, as under dt.compile)."""
    rng = np.random.default_rng(seed)
    params = [dt.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True) for shape in [(3, 4), (4,)]]
    if name == "sgd" and kwargs["nesterov"] and kwargs["momentum"] == 0:
        kwargs = {**kwargs, "nesterov": False}
    optimizer = MAKE[name](params, **kwargs)
    x = dt.tensor(rng.standard_normal((5, 3)).astype(dtype))
    if path != "flat":
        optimizer._update_group = lambda group: False
    if path == "tensors":
        optimizer._arrays = lambda *tensors: None
    for _ in range(4):
        optimizer.zero_grad()
        (dt.tanh(x @ params[0] + params[1]) ** 2).sum().backward()
        optimizer.step()
    state = [t.numpy().copy() for p in params for t in optimizer.state[p].values() if isinstance(t, dt.Tensor)]
    return [p.detach().numpy().copy() for p in params] + state


@pytest.mark.parametrize("name", sorted(MAKE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_the_array_paths_equal_the_tensor_path_bit_for_bit(name, dtype, data):
    kwargs = data.draw(SETTINGS[name])
    slow = _train(name, kwargs, dtype, "tensors", 0)
    for path in ("arrays", "flat"):
        fast = _train(name, kwargs, dtype, path, 0)
        assert len(fast) == len(slow)
        for a, b in zip(fast, slow):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(MAKE))
def test_a_step_advances_versions_so_a_stale_graph_refuses_to_backward(name):
    w = dt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    optimizer = MAKE[name]([w], lr=0.1)
    (w * w).sum().backward()
    stale = (w.exp() * 2).sum()  # (exp saves its result, and * saves w's exp: nothing reads w itself)
    saved = (w * w).sum()  # (mul saves w)
    before = w._version[0]
    optimizer.step()
    assert w._version[0] == before + 1
    stale.backward()  # (fine: the graph never read w)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved.backward()


def test_views_and_compiled_steps_take_the_tensor_path():
    base = dt.tensor(np.arange(6.0), requires_grad=False)
    view = base[2:4]
    assert Optimizer._arrays(view) is None and Optimizer._arrays(base) is not None
    float16 = dt.tensor(np.ones(2, np.float16))
    assert Optimizer._arrays(float16) is not None
    assert Optimizer._arrays(dt.tensor(np.ones(2, np.int64))) is None
