"""Every corpus function (tests/corpus.py) in every mode: eagerly with dnp on NumPy arrays, traced and
evaluated, compiled with dt.jit, float32 kept float32; reverse mode (vjp, grad, jit(grad), unoptimized) and
forward mode (jvp, jacfwd) against finite differences and against each other; and eagerly on dt.tensor leaves
with requires_grad, whose .backward() leaves in .grad what dt.grad gives. An entry that cannot run on tensors
says why in its `not_eager`, and that test checks the reason still holds."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from corpus import CORPUS
from dualtape import tree
from dualtape.api import trace_program
from dualtape.transforms.evaluate import eval_program
from gradcheck import assert_close, check_jacfwd, check_jvp, check_vjp, numerical_vjp
from testkit import EXACT, assert_same_numbers

BY_NAME = pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)


def _float_argnums(args):
    return tuple(i for i, a in enumerate(args)
                 if all(np.issubdtype(np.asarray(leaf).dtype, np.floating) for leaf in tree.leaves(a)))


def _weights(out) -> list:
    """Fixed cosines shaped as each output leaf, so that every output entry matters to a loss."""
    return [np.cos(np.arange(np.size(o))).reshape(np.shape(o)) for o in tree.leaves(out)]


def _weighted_loss(fn, out):
    w = _weights(out)
    return lambda *xs: sum(dnp.sum(o * c) for o, c in zip(tree.leaves(fn(*xs)), w))


# ---- values ------------------------------------------------------------------------------------------
@BY_NAME
def test_modes_agree(case):
    args = case.make_args(np.random.default_rng(0))
    eager = case.fn(*args)
    program, out_tree = trace_program(case.fn, args)
    program.check()
    evaluated = tree.unflatten(out_tree, eval_program(program, tree.leaves(args)))
    compiled = dt.jit(case.fn)(*args)
    assert_same_numbers(evaluated, eager)
    assert_same_numbers(compiled, eager)


@BY_NAME
def test_float32_stays_float32(case):
    args = tree.tree_map(
        lambda a: a.astype(np.float32) if a.dtype == np.float64 else a, case.make_args(np.random.default_rng(1))
    )
    out = dt.jit(case.fn)(*args)
    for leaf in tree.leaves(out):
        assert np.asarray(leaf).dtype == np.float32
    np.testing.assert_allclose(out, case.fn(*args), rtol=1e-5, atol=1e-5)


# ---- reverse mode ------------------------------------------------------------------------------------
@BY_NAME
def test_reverse_mode(case, monkeypatch):
    args = case.make_args(np.random.default_rng(0))
    nums = _float_argnums(args)
    check_vjp(case.fn, args, argnums=nums)
    loss = _weighted_loss(case.fn, case.fn(*args))
    grads = tree.leaves(dt.grad(loss, argnums=nums)(*args))
    for g, n in zip(grads, numerical_vjp(loss, args, np.array(1.0), nums)):
        assert_close(g, n, f"grad of {case.name}")
    for g, j in zip(grads, tree.leaves(dt.jit(dt.grad(loss, argnums=nums))(*args))):
        np.testing.assert_allclose(j, g, rtol=1e-13, atol=1e-14)
    monkeypatch.setattr(dt.config, "optimize", False)
    for g, o in zip(grads, tree.leaves(dt.grad(loss, argnums=nums)(*args))):
        np.testing.assert_allclose(o, g, rtol=1e-12, atol=1e-14)


@BY_NAME
def test_float32_gradients_stay_float32(case):
    args = tree.tree_map(lambda a: a.astype(np.float32) if a.dtype == np.float64 else a,
                         case.make_args(np.random.default_rng(1)))
    nums = _float_argnums(args)
    loss = lambda *xs: sum(dnp.sum(o) for o in tree.leaves(case.fn(*xs)))
    grads = dt.grad(loss, argnums=nums)(*args)
    for g in tree.leaves(grads):
        assert np.asarray(g).dtype == np.float32
    args64 = tree.tree_map(lambda a: a.astype(np.float64) if a.dtype == np.float32 else a, args)
    want = dt.grad(loss, argnums=nums)(*args64)
    for g, w in zip(tree.leaves(grads), tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3 * max(1.0, float(np.max(np.abs(w)))))


# ---- forward mode ------------------------------------------------------------------------------------
@BY_NAME
def test_forward_mode(case):
    """jvp and jacfwd against finite differences; jacfwd equals jacrev; jit(jvp) equals jvp."""
    args = case.make_args(np.random.default_rng(0))
    nums = _float_argnums(args)
    _, tangent_out = check_jvp(case.fn, args, argnums=nums)
    check_jacfwd(case.fn, args, argnums=nums)
    forward = tree.leaves(dt.jacfwd(case.fn, nums)(*args))
    reverse = tree.leaves(dt.jacrev(case.fn, nums)(*args))
    assert len(forward) == len(reverse)
    for f, r in zip(forward, reverse):
        np.testing.assert_allclose(f, r, rtol=1e-10, atol=1e-12)
    tangents = tuple(tree.tree_map(lambda a: np.ones_like(a), args[i]) for i in nums)
    chosen = lambda *xs: case.fn(*[xs[nums.index(i)] if i in nums else a for i, a in enumerate(args)])
    eager_jvp = dt.jvp(chosen, tuple(args[i] for i in nums), tangents)
    compiled_jvp = dt.jit(lambda *p: dt.jvp(chosen, p, tangents))(*(args[i] for i in nums))
    for e, c in zip(tree.leaves(eager_jvp), tree.leaves(compiled_jvp)):
        np.testing.assert_allclose(c, e, **EXACT)


# ---- eager Tensor.backward ---------------------------------------------------------------------------
def _on_tensors(case, args):
    """case.fn on dt.tensor leaves (float ones with requires_grad), and those leaves."""
    tensors = tree.tree_map(lambda a: dt.tensor(a, requires_grad=True) if a.dtype.kind == "f" else a, args)
    return case.fn(*tensors), [t for t in tree.leaves(tensors) if isinstance(t, dt.Tensor)]


@BY_NAME
def test_eager_backward_fills_grad_as_dt_grad(case):
    args = case.make_args(np.random.default_rng(0))
    if case.not_eager:
        with pytest.raises(TypeError):
            _on_tensors(case, args)
        return
    out, leaves = _on_tensors(case, args)
    expected = case.fn(*args)
    assert_same_numbers(tree.tree_map(lambda t: t.detach().numpy(), out), expected)
    total = None
    for o, w in zip(tree.leaves(out), _weights(expected)):
        term = (o * dt.tensor(w)).sum()
        total = term if total is None else total + term
    total.backward()
    nums = _float_argnums(args)
    want = tree.leaves(dt.grad(_weighted_loss(case.fn, expected), argnums=nums)(*args))
    assert len(want) == len(leaves)
    for t, w in zip(leaves, want):
        assert t.grad is not None, "a leaf got no .grad"
        assert_same_numbers(t.grad.detach().numpy(), w)
