"""softmax, log_softmax and nll_loss as primitives: their values against NumPy (each case's `values`) and, bit
for bit, against the compositions they replace; eager mode's one node each with PyTorch's name, values and
gradients against PyTorch (cross entropy over extra dimensions, 0-d and empty operands); second derivatives
eagerly (create_graph) and traced, against finite differences; vmap with batched targets; the programs of
dt.compile and dt.jit; what the rules read; errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from cases_neural import NEURAL, nll_loss_np, targets
from dualtape.core.primitive import REGISTRY
from dualtape.nn import functional as F
from dualtape.ops.neural import log_softmax_p, nll_loss_p, softmax_p
from gradcheck import assert_close, check_grads, numerical_jacobian
from opcheck import check_op, prim_names
from strategies import SMALL, arrays
from testkit import EXACT, torch_or_skip

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name", sorted(NEURAL))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(NEURAL[name].values, label="case")
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name])


# ---- the same numbers as the compositions they replace -----------------------------------------------
@pytest.mark.parametrize("shape", [(200, 10), (3, 70, 4), (64, 1), (64, 16), (64, 17)])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_a_short_last_axis_of_many_rows_gives_the_same_bits(shape, layout):
    """Many rows of a few classes take their max on the transposed copy (ops/neural.py SHORT_AXIS, MANY_ROWS):
    the same values as the composition, whatever the operand's memory layout, and the operand untouched."""
    x = (RNG.standard_normal((2,) + shape) * 30)[0]
    x = np.asfortranarray(x) if layout == "F" else x[..., ::-1] if layout == "strided" else x
    before = x.copy()
    axis = x.ndim - 1
    np.testing.assert_array_equal(log_softmax_p(x, axis=axis), dnp.log_softmax(x, axis))
    np.testing.assert_array_equal(softmax_p(x, axis=axis), dnp.softmax(x, axis))
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1])
def test_forward_is_the_composition_bit_for_bit(dtype, axis):
    x = (RNG.standard_normal((20, 3)) * 30).astype(dtype)
    np.testing.assert_array_equal(softmax_p(x, axis=axis), dnp.softmax(x, axis))
    np.testing.assert_array_equal(log_softmax_p(x, axis=axis), dnp.log_softmax(x, axis))
    np.testing.assert_array_equal(dt.jit(lambda v: softmax_p(v, axis=axis))(x), dnp.softmax(x, axis))
    target = RNG.integers(0, x.shape[axis], x.shape[1 - axis])
    classes = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (1 - axis))
    losses = -dnp.where(dnp.expand_dims(target, axis) == classes, x, 0.0).sum(axis)  # (the old NllLoss node)
    for reduction, expected in [("none", losses), ("sum", losses.sum()), ("mean", losses.mean())]:
        got = nll_loss_p(x, target, axis=axis, reduction=reduction, ignore_index=None)
        assert np.asarray(got).dtype == dtype
        np.testing.assert_array_equal(got, expected)


# ---- eager mode against PyTorch ----------------------------------------------------------------------
def _graph(node):
    """The names of node and of the nodes below it, depth first (PyTorch's graphs too)."""
    if node is None:
        return []
    return [node.name()] + [name for child, _ in node.next_functions for name in _graph(child)]


@pytest.mark.parametrize("shape", [(20, 2), (3, 4, 2), (5,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_and_nll_loss_match_pytorch(shape, reduction, dtype):
    torch = torch_or_skip()
    logits = RNG.standard_normal(shape).astype(dtype)
    class_dim = 1 if len(shape) > 1 else 0
    target = RNG.integers(0, shape[class_dim], shape[:class_dim] + shape[class_dim + 1:])
    tol = EXACT if dtype == np.float64 else dict(rtol=2e-6, atol=2e-7)
    for ours_fn, theirs_fn in [(F.cross_entropy, torch.nn.functional.cross_entropy),
                               (lambda z, t, reduction: F.nll_loss(z.log_softmax(class_dim), t, reduction=reduction),
                                lambda z, t, reduction: torch.nn.functional.nll_loss(z.log_softmax(class_dim), t,
                                                                                     reduction=reduction))]:
        z, tz = dt.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
        loss, theirs = ours_fn(z, dt.tensor(target), reduction=reduction), theirs_fn(tz, torch.tensor(target),
                                                                                     reduction=reduction)
        assert _graph(loss.grad_fn)[:2] == ["NllLossBackward0", "LogSoftmaxBackward0"]
        if len(shape) <= 2:  # (PyTorch's own (N, C, d) loss is NllLoss2D between an unsqueeze and a squeeze)
            assert _graph(loss.grad_fn) == _graph(theirs.grad_fn)
        assert loss.dtype == dtype
        np.testing.assert_allclose(loss.detach().numpy(), theirs.detach().numpy(), **tol)
        w = RNG.standard_normal(loss.shape).astype(dtype)
        (loss * dt.tensor(w)).sum().backward()
        (theirs * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), **tol)


@pytest.mark.parametrize("shape, dim", [((4, 3), 1), ((4, 3), 0), ((2, 3, 4), -2), ((), 0), ((), -1), ((2, 0), 1),
                                        ((0, 3), 1), ((3,), -1)])
@pytest.mark.parametrize("name, node", [("softmax", "SoftmaxBackward0"), ("log_softmax", "LogSoftmaxBackward0")])
def test_softmax_and_log_softmax_match_pytorch(shape, dim, name, node):
    torch = torch_or_skip()
    x = RNG.standard_normal(shape)
    t, tt = dt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, theirs = getattr(t, name)(dim), getattr(tt, name)(dim)
    assert _graph(out.grad_fn) == _graph(theirs.grad_fn) and _graph(out.grad_fn)[0] == node
    np.testing.assert_allclose(out.detach().numpy(), theirs.detach().numpy(), **EXACT)
    w = RNG.standard_normal(shape)
    (out * dt.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), **EXACT)
    np.testing.assert_array_equal(getattr(dt, name)(x, dim), out.detach().numpy())  # (dt.softmax on arrays)


def test_eager_nodes_keep_only_what_their_rules_read():
    """softmax and log_softmax read their result (not their operand); nll_loss reads the targets only."""
    assert softmax_p.unread(0b1)[:2] == ((0,), False) and log_softmax_p.unread(0b1)[:2] == ((0,), False)
    assert nll_loss_p.unread(0b01)[:2] == ((0,), True)


# ---- second derivatives, against finite differences ---------------------------------------------------
def _cross_entropy_traced(z, target, reduction):
    return nll_loss_p(log_softmax_p(z, axis=1), target, axis=1, reduction=reduction, ignore_index=None)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_second_order_traced(reduction):
    z = RNG.standard_normal((4, 3))
    target = np.array([0, 2, 1, 2])
    w = RNG.standard_normal((4, 3))
    check_grads(lambda z: _cross_entropy_traced(z, target, reduction), (z,), order=2, modes=("fwd", "rev"))
    check_grads(lambda z: softmax_p(z, axis=0) * w, (z,), order=2, modes=("fwd", "rev"))
    hessian = dt.jacrev(dt.grad(lambda z: dnp.sum(softmax_p(z, axis=1) * w)))(z)
    numerical = numerical_jacobian(dt.grad(lambda z: dnp.sum(softmax_p(z, axis=1) * w)), (z,))
    assert_close(hessian, numerical, "grad of grad")


@pytest.mark.parametrize("op", ["cross_entropy", "softmax", "log_softmax"])
def test_second_order_eager_with_create_graph(op):
    """The gradient computed with create_graph=True differentiated again, against finite differences of the
    first gradient, and against PyTorch's double backward."""
    torch = torch_or_skip()
    z0, w = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    target = np.array([0, 2, 1, 2])

    def loss(lib, z):
        if op == "cross_entropy":
            return lib.nn.functional.cross_entropy(z, lib.tensor(target))
        return (getattr(z, op)(1) * lib.tensor(w)).sum()

    def first(z_np):
        z = dt.tensor(z_np, requires_grad=True)
        (g,) = dt.autograd.grad(loss(dt, z), z, create_graph=True)
        return g, z

    g, z = first(z0)
    (h,) = dt.autograd.grad((g * dt.tensor(w)).sum(), z)
    numerical = numerical_jacobian(lambda v: np.sum(first(v)[0].detach().numpy() * w), (z0,))
    assert_close(h.numpy(), numerical, "eager grad of grad")
    tz = torch.tensor(z0, requires_grad=True)
    (tg,) = torch.autograd.grad(loss(torch, tz), tz, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor(w)).sum(), tz)
    np.testing.assert_allclose(h.numpy(), th.numpy(), **EXACT)


# ---- vmap, jit, compile ------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_vmap_of_nll_loss_with_batched_targets(data):
    size, n, classes = (data.draw(st.integers(1, 3), label=k) for k in ("size", "n", "classes"))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    log_probs = data.draw(arrays(np.float64, (size, n, classes), SMALL), label="log_probs")
    target = np.stack([data.draw(targets((n, classes), 1), label="target") for _ in range(size)])
    f = lambda lp, t: nll_loss_p(lp, t, axis=1, reduction=reduction, ignore_index=None)
    loop = lambda lp_of, t_of: np.stack([nll_loss_np(lp_of(i), t_of(i), 1, reduction) for i in range(size)])
    np.testing.assert_allclose(dt.vmap(f)(log_probs, target), loop(lambda i: log_probs[i], lambda i: target[i]),
                               **EXACT)
    np.testing.assert_allclose(dt.vmap(f, in_axes=(None, 0))(log_probs[0], target),
                               loop(lambda i: log_probs[0], lambda i: target[i]), **EXACT)
    grad_at = lambda t: dt.grad(lambda lp: dnp.sum(f(lp, t)))(log_probs[0])
    np.testing.assert_allclose(dt.vmap(grad_at)(target), np.stack([grad_at(t) for t in target]), **EXACT)


def test_vmap_of_zero_dimensional_softmax():
    x = RNG.standard_normal(4)
    np.testing.assert_array_equal(dt.vmap(lambda v: softmax_p(v, axis=0))(x), np.ones(4))
    np.testing.assert_array_equal(dt.vmap(lambda v: log_softmax_p(v, axis=0))(x), np.zeros(4))


def test_programs_hold_one_equation_each():
    x, target = RNG.standard_normal((5, 3)).astype(np.float32), RNG.integers(0, 3, 5)
    program = dt.trace(lambda x: dt.softmax(x, -1) + dt.log_softmax(x, 0))(x)
    assert prim_names(program) == ["softmax", "log_softmax", "add"]
    assert [e.params["axis"] for e in program.eqns[:2]] == [1, 0]
    text = dt.source(lambda z: _cross_entropy_traced(z, target, "mean"), x)
    assert "log_softmax(z, axis=1)" in text and "nll_loss(" in text and "reduction='mean'" in text
    assert "nll_loss(a, target, axis=1, reduction='mean')\n" in text  # (ignore_index=None, the default, left out)
    model = dt.nn.Linear(3, 3)
    step = dt.compile(lambda x, t: F.cross_entropy(model(x), t))
    loss = step(dt.tensor(x), dt.tensor(target))
    source = step.source(dt.tensor(x), dt.tensor(target))
    assert "log_softmax(" in source and "nll_loss(" in source and "xp.max" not in source
    assert "ignore_index=-100" in source  # (targets are not read when traced: PyTorch's -100 is masked at run time)
    np.testing.assert_allclose(loss.item(), F.cross_entropy(model(dt.tensor(x)), dt.tensor(target)).item(),
                               rtol=1e-6)


# ---- errors ------------------------------------------------------------------------------------------
def test_errors_name_the_op():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="softmax: axis 2 is out of bounds"):
        dt.jit(lambda v: softmax_p(v, axis=2))(x)
    with pytest.raises(TypeError, match="log_softmax: expected a real floating point operand, got dtype int64"):
        log_softmax_p(np.ones(3, np.int64), axis=0)
    with pytest.raises(TypeError, match="softmax: expected a real floating point"):
        dt.jit(lambda v: softmax_p(v, axis=0))(np.ones(3, np.int32))
    with pytest.raises(ValueError, match=r"nll_loss: log_probs of shape \(2, 3\) .* targets of shape \(2,\), got"):
        dt.jit(lambda v: nll_loss_p(v, np.zeros(3, np.int64), axis=1, reduction="mean", ignore_index=None))(x)
    with pytest.raises(TypeError, match="nll_loss: targets must be class indices"):
        dt.jit(lambda v: nll_loss_p(v, np.zeros(2), axis=1, reduction="sum", ignore_index=None))(x)
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        dt.jit(lambda v: nll_loss_p(v, np.zeros(2, np.int64), axis=1, reduction="avg", ignore_index=None))(x)
    with pytest.raises(IndexError, match="nll_loss: target 3 is out of bounds for 3 classes"):
        F.nll_loss(dt.tensor(x), dt.tensor([0, 3]))
    with pytest.raises(TypeError, match="nll_loss: targets must be class indices"):
        F.nll_loss(dt.tensor(x), dt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"nll_loss: log_probs of shape \(2, 3\) .* got \(2, 1\)"):
        F.nll_loss(dt.tensor(x), dt.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="nll_loss: input is 0-d"):
        F.nll_loss(dt.tensor(1.0), dt.tensor(0))
