"""Every dnp function that is a composition of primitives (tests/function_cases.py) against NumPy and finite
differences: values on arrays, compiled with dt.jit and through NumPy's own name on traced values; JVP and VJP
(and second order) against central differences in float64; vmap against a loop; PyTorch as an oracle."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape import tree
from function_cases import FUNCTIONS
from gradcheck import check_grads
from opcheck import assert_like_numpy, quiet

NAMES = sorted(FUNCTIONS)
DIFFERENTIABLE = sorted(n for n, c in FUNCTIONS.items() if c.differentiable)


def _draw(data, name):
    case = FUNCTIONS[name]
    args, kwargs = data.draw(case.draw, label="operands")
    return case, args, kwargs


def _compare(actual, expected, what):
    a, e = tree.leaves(actual), tree.leaves(expected)
    assert len(a) == len(e), f"{what}: {len(a)} results, NumPy gives {len(e)}"
    for x, y in zip(a, e):
        assert_like_numpy(x, y, what)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_values_match_numpy(name, data):
    case, args, kwargs = _draw(data, name)
    with quiet():
        expected = case.ref(*args, **kwargs)
        _compare(case.fn(*args, **kwargs), expected, f"dnp {name}")
        _compare(dt.jit(lambda *xs: case.fn(*xs, **kwargs))(*args), expected, f"dt.jit of {name}")
        if case.numpy is not None:
            _compare(dt.jit(lambda *xs: case.numpy(*xs, **kwargs))(*args), expected, f"NumPy's {name} on tracers")


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_derivatives_match_finite_differences(name, data):
    case, args, kwargs = _draw(data, name)
    check_grads(lambda *xs: case.fn(*xs, **kwargs), args, order=1, modes=("fwd", "rev"), **case.tolerances())


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_second_derivatives_match_finite_differences(name, data):
    case, args, kwargs = _draw(data, name)
    check_grads(lambda *xs: case.fn(*xs, **kwargs), args, order=2, modes=("rev",), **case.tolerances())


@pytest.mark.parametrize("name", sorted(n for n, c in FUNCTIONS.items() if c.vmap))
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_vmap_matches_a_loop(name, data):
    case = FUNCTIONS[name]
    examples = [data.draw(case.draw, label="example") for _ in range(2)]
    (first, kwargs), (second, _) = examples[0], examples[1]
    second = tuple(np.resize(b, a.shape) for a, b in zip(first, second))  # (one shape for the batch)
    f = lambda *xs: case.fn(*xs, **kwargs)
    with quiet():
        batched = dt.vmap(f)(*[np.stack([a, b]) for a, b in zip(first, second)])
        looped = [f(*first), f(*second)]
    for k, (got, leaves) in enumerate(zip(tree.leaves(batched), zip(*[tree.leaves(o) for o in looped]))):
        assert_like_numpy(got, np.stack([np.asarray(v) for v in leaves]), f"vmap of {name}, result {k}")



@pytest.mark.parametrize("name", sorted(n for n, c in FUNCTIONS.items() if c.torch is not None))
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_gradients_match_pytorch(name, data):
    torch = pytest.importorskip("torch")
    case, args, kwargs = _draw(data, name)
    weights = [np.cos(np.arange(np.size(o), dtype=np.float64)).reshape(np.shape(o))
               for o in tree.leaves(case.ref(*args, **kwargs))]
    scalar = lambda *xs: sum((o * w).sum() for o, w in zip(tree.leaves(case.fn(*xs, **kwargs)), weights))
    ours = dt.grad(scalar, argnums=tuple(range(len(args))))(*args)
    ts = [torch.tensor(a, requires_grad=True) for a in args]
    outs = case.torch(*ts, **kwargs)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    total = sum((o * torch.tensor(w)).sum() for o, w in zip(outs, weights))
    theirs = torch.autograd.grad(total, ts, allow_unused=True)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        b = np.zeros_like(args[k]) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9, err_msg=f"{name}: gradient of operand {k}")
