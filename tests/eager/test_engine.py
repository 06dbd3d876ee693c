"""The backward engine: the errors of SPEC §3 (each leaving .grad as it was), higher-order derivatives with
create_graph, autograd.grad and `inputs=`, memory (nothing kept alive after backward, no reference cycles),
a 100,000-op chain, and property tests: eager backward = dt.grad = finite differences on random compositions.
"""

import gc
import re
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from gradcheck import assert_close, numerical_vjp
from testkit import leaf, torch_or_skip


# ---- errors, and nothing half-done -------------------------------------------------------------------
def test_non_scalar_backward_without_gradient():
    x = leaf([1.0, 2.0])
    x.grad = dt.tensor(np.array([10.0, 20.0]))
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    assert x.grad.tolist() == [10.0, 20.0]
    y.backward(dt.ones_like(y))  # the graph was not consumed by the failed call
    assert x.grad.tolist() == [12.0, 24.0]
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        dt.autograd.grad(x * x, x)


def test_gradient_of_the_wrong_shape():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape"):
        (x * x).backward(dt.ones(3))
    assert x.grad is None


def test_second_backward_through_a_freed_graph():
    x = leaf([1.0, 2.0])
    z = (x * x).sum().exp()
    z.backward()
    first = x.grad.tolist()
    with pytest.raises(RuntimeError, match=r"retain_graph=True") as err:
        z.backward()
    assert "ExpBackward0" in str(err.value)  # the node whose saved values are gone
    assert x.grad.tolist() == first


def test_freed_graph_error_part_way_leaves_grads_alone():
    """A new graph built on a freed one fails where the two meet, before any .grad is written."""
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    y = x.exp()
    y.sum().backward()
    first = x.grad.tolist()
    with pytest.raises(RuntimeError, match=r"retain_graph=True") as err:
        (y * w).sum().backward()
    assert re.search(r"\w+Backward\d", str(err.value))
    assert x.grad.tolist() == first and w.grad is None


def test_value_saved_for_backward_modified_in_place():
    x = leaf([1.0, 2.0])
    a = x.exp()
    c = (a * a).sum()  # MulBackward0 saves a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as err:
        c.backward()
    message = str(err.value)
    assert "MulBackward0" in message
    assert "version 1" in message and "expected version 0" in message
    assert x.grad is None


def test_leaf_saved_for_backward_modified_in_place():
    x = leaf([1.0, 2.0])
    c = (x * x).sum()
    with dt.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match=r"version 1; expected version 0"):
        c.backward()
    assert x.grad is None


def test_in_place_on_a_value_the_rule_does_not_read_is_fine():
    """add's derivative does not read its operands, so changing one afterwards is harmless (as PyTorch)."""
    x = leaf([1.0, 2.0])
    a = x * 3
    s = (a + 1).sum()
    a.add_(5)
    s.backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_a_saved_output_changed_through_a_detached_alias_is_caught():
    """exp's derivative reads its result: zeroing it through y.detach() (same storage, same version counter)
    would give a silently wrong gradient, so backward raises, naming the node (as PyTorch)."""
    x = leaf([1.0, 2.0])
    y = x.exp()
    s = y.sum() + (y * 1).sum()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match=r"output 0 of ExpBackward0 .* version 1; expected version 0"):
        s.backward()
    assert x.grad is None


def test_an_operand_only_other_rules_read_may_change():
    """x * 3 reads only the 3 for x's derivative: changing x in place afterwards is harmless (as PyTorch);
    sin reads x, so there it is caught."""
    x = leaf([1.0, 2.0])
    y = (x * 3).sum()
    z = x.sin().sum()
    with dt.no_grad():
        x.add_(1)
    y.backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="SinBackward0"):
        z.backward()


def test_version_rules_match_torch():
    torch = torch_or_skip()
    for lib in (dt, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        total = y.sum()
        y.detach().zero_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            total.backward()
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        product = (w * 3).sum()
        with lib.no_grad():
            w.add_(1)
        product.backward()
        assert w.grad.tolist() == [3.0, 3.0]


def test_in_place_on_a_leaf_requiring_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf") as err:
        x.add_(1)
    assert "in-place" in str(err.value)
    with pytest.raises(RuntimeError, match="leaf"):
        x *= 2
    assert x.detach().tolist() == [1.0, 2.0] and x._version[0] == 0  # nothing changed
    assert x.is_leaf and x.grad_fn is None


def test_backward_of_a_tensor_that_does_not_require_grad():
    x = dt.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        x.sum().backward()
    with pytest.raises(RuntimeError, match="does not have a grad_fn"):
        dt.autograd.grad(x.sum(), x)


def test_unused_input():
    x, w = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        dt.autograd.grad((x * x).sum(), [x, w])
    gx, gw = dt.autograd.grad((x * x).sum(), [x, w], allow_unused=True)
    assert gx.tolist() == [2.0] and gw is None


# ---- autograd.grad, inputs= ------------------------------------------------------------------------------
def test_autograd_grad_returns_a_tuple_and_leaves_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    out = (x * w).sum()
    gx, gw = dt.autograd.grad(out, [x, w])
    assert gx.tolist() == [3.0, 4.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None
    (g,) = dt.autograd.grad((x * x).sum(), x)
    assert isinstance(g, dt.Tensor) and g.tolist() == [2.0, 4.0] and not g.requires_grad


def test_autograd_grad_of_an_intermediate_and_with_grad_outputs():
    x = leaf([1.0, 2.0])
    y = x * x
    z = (y * 3).sum()
    (gy,) = dt.autograd.grad(z, y, retain_graph=True)
    assert gy.tolist() == [3.0, 3.0]
    (gx,) = dt.autograd.grad(y, x, grad_outputs=dt.tensor(np.array([1.0, -1.0])))
    assert gx.tolist() == [2.0, -4.0]


def test_backward_inputs_accumulates_only_there():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1.0, 2.0]


def test_backward_inputs_may_be_a_non_leaf():
    x = leaf([1.0, 2.0])
    y = x * 2
    (y * y).sum().backward(inputs=[y])
    assert y.grad.tolist() == [4.0, 8.0] and x.grad is None


def test_backward_of_a_leaf():
    x = dt.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_a_hook_sees_the_summed_gradient_once():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * x + x).sum().backward()  # x reaches the output along three paths
    assert seen == [[3.0, 5.0]]
    y = x * 1
    y.register_hook(lambda g: seen.append(g.tolist()))
    (y * y + y).sum().backward()
    assert seen[1:] == [[3.0, 5.0], [3.0, 5.0]]


def test_a_grad_fn_hook_sees_its_gradients_and_may_replace_them():
    x = leaf([1.0, 2.0])
    y = x * 3
    seen = []

    def hook(grad_inputs, grad_outputs):
        seen.append(([g.tolist() for g in grad_inputs if g is not None], grad_outputs[0].tolist()))
        return tuple(None if g is None else g * 2 for g in grad_inputs)

    handle = y.grad_fn.register_hook(hook)
    (y * y).sum().backward(retain_graph=True)
    assert seen == [([[18.0, 36.0]], [6.0, 12.0])]  # d(9x^2)/dx before the hook; dy after
    assert x.grad.tolist() == [36.0, 72.0]
    handle.remove()
    x.grad = None
    (y * y).sum().backward()
    assert x.grad.tolist() == [18.0, 36.0] and len(seen) == 1


def test_retained_non_leaf_grad_accumulates():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    assert y.grad.tolist() == [8.0, 16.0] and x.grad.tolist() == [16.0, 32.0]


def test_backward_from_several_roots():
    x = leaf([1.0, 2.0])
    dt.autograd.backward([(x * x).sum(), (3 * x).sum()])
    assert x.grad.tolist() == [5.0, 7.0]


# ---- higher order --------------------------------------------------------------------------------------
def test_third_derivative_of_a_cube():
    x = dt.tensor(3.0, requires_grad=True)
    y = x ** 3
    (d1,) = dt.autograd.grad(y, x, create_graph=True)
    (d2,) = dt.autograd.grad(d1, x, create_graph=True)
    (d3,) = dt.autograd.grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (27.0, 18.0, 6.0)
    assert d1.requires_grad and d2.requires_grad and not d3.requires_grad


def test_backward_create_graph_then_differentiate_the_gradient():
    x = dt.tensor(3.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert g.item() == 27.0 and g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 18.0


def test_mixed_second_partials():
    x, y = leaf(0.5), leaf(-1.5)
    f = dt.sin(x * y) + x ** 2 * y
    gx, gy = dt.autograd.grad(f, [x, y], create_graph=True)
    (gxy,) = dt.autograd.grad(gx, y, retain_graph=True)  # cos(xy) - xy sin(xy) + 2x (gy shares the graph)
    xy = 0.5 * -1.5
    assert gxy.item() == pytest.approx(np.cos(xy) - xy * np.sin(xy) + 1.0, rel=1e-12)
    (gyy,) = dt.autograd.grad(gy, y)  # -x^2 sin(xy)
    assert gyy.item() == pytest.approx(-0.25 * np.sin(xy), rel=1e-12)


def test_gradient_penalty_matches_finite_differences():
    """d/dw |d/dx f(x, w)|^2: a derivative of a derivative, checked against differences of the first."""
    xv, wv = np.array([0.3, -0.8, 1.2]), np.array([0.7, 0.2, -0.5])

    def penalty(w_array):
        x, w = leaf(xv), dt.tensor(w_array, requires_grad=True)
        (gx,) = dt.autograd.grad(dt.tanh(x * w).sum() + (x * x * w).sum(), x, create_graph=True)
        return (gx * gx).sum(), w

    value, w = penalty(wv)
    (gw,) = dt.autograd.grad(value, w)
    numeric = numerical_vjp(lambda wa: penalty(wa)[0].item(), (wv,), np.array(1.0))[0]
    assert_close(gw.numpy(), numeric, "gradient penalty")


# ---- memory ----------------------------------------------------------------------------------------------
def _saved_array_of_exp(x):
    """(root, weakref to the array exp saved for backward)."""
    e = x.exp()
    ref = weakref.ref(e._array)
    return (e * x).sum(), ref


def test_backward_frees_saved_arrays():
    x = leaf([1.0, 2.0])
    root, ref = _saved_array_of_exp(x)
    gc.collect()
    assert ref() is not None  # the graph holds it until backward
    root.backward()
    assert ref() is None  # freed by backward, while the root (and its grad_fn) is still alive
    assert root.grad_fn is not None


def test_retained_graph_is_freed_with_its_root_without_the_cycle_collector():
    x = leaf([1.0, 2.0])
    root, ref = _saved_array_of_exp(x)
    root.backward(retain_graph=True)
    assert ref() is not None
    gc.disable()
    try:
        del root
        assert ref() is None  # reference counting alone: the graph has no cycles
    finally:
        gc.enable()


def test_create_graph_keeps_nothing_alive_in_a_cycle():
    x = leaf([1.0, 2.0])
    root, ref = _saved_array_of_exp(x)
    gc.collect()
    gc.disable()
    try:
        root.backward(create_graph=True)
        assert x.grad.requires_grad  # x.grad = (1 + x) exp(x), a graph reading exp's output
        np.testing.assert_allclose(x.grad.detach().numpy(), (1 + np.array([1.0, 2.0])) * np.exp([1.0, 2.0]))
        del root
        x.grad = None
        assert ref() is None
    finally:
        gc.enable()


def test_a_graph_keeps_only_what_its_rules_read():
    """As PyTorch: `x @ W + b` keeps x and W (matmul's rule reads them) but neither the product nor the sum
    (add's rule and tanh's, which reads its result, never read them), so those free with their tensors."""
    rng = np.random.default_rng(0)
    x = dt.tensor(rng.standard_normal((4, 3)))
    W, b = leaf(rng.standard_normal((3, 5))), leaf(rng.standard_normal(5))
    product = x @ W
    pre = product + b
    h = pre.tanh()
    refs = {"product": weakref.ref(product._array), "pre": weakref.ref(pre._array), "h": weakref.ref(h._array),
            "x": weakref.ref(x._array)}
    del product, pre, x
    gc.collect()
    assert {name for name, ref in refs.items() if ref() is not None} == {"h", "x"}
    h.sum().backward()
    expected = 1 - h.detach().numpy() ** 2
    np.testing.assert_allclose(b.grad.numpy(), expected.sum(axis=0))
    assert repr(h.grad_fn.next_functions[0][0]) == "<AddBackward0>"  # names and edges stay
    assert h.grad_fn.next_functions[0][0].next_functions[0][0].name() == "MmBackward0"


def test_an_operand_is_kept_only_for_the_gradients_that_are_needed():
    """x * w with only x requiring grad: x's cotangent reads w, so w stays and x may go (PyTorch the same)."""
    x, w = leaf([1.0, 2.0]), dt.tensor(np.array([3.0, 4.0]))
    scaled = x * 1.0
    ref = weakref.ref(scaled._array)
    y = (scaled * w).sum()
    del scaled
    gc.collect()
    assert ref() is None
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_a_dropped_operand_changed_in_place_does_not_stop_backward():
    x = leaf([1.0, 2.0])
    a = x * 2.0
    y = (a + 1.0).tanh()  # reads neither a nor a + 1
    a.add_(100.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - np.tanh(2 * np.array([1.0, 2.0]) + 1) ** 2))


def test_a_sum_keeps_only_the_shape_of_what_it_sums():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    ref = weakref.ref(y._array)
    s = y.sum()
    del y
    gc.collect()
    assert ref() is None
    s.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_a_graph_that_saved_nothing_may_run_backward_again():
    """As PyTorch: only a node whose saved values were freed stops a second backward, and it is named."""
    x = leaf([1.0, 2.0])
    y = (x + 1.0).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    z = x.exp().sum()
    z.backward()
    with pytest.raises(RuntimeError, match="saved values of ExpBackward0 were freed"):
        z.backward()


def test_an_output_that_is_an_input_is_counted_once():
    x = dt.tensor(3.0, requires_grad=True)
    assert dt.autograd.grad(x, x)[0].item() == 1.0
    assert dt.autograd.grad([x, x * 5.0], x)[0].item() == 6.0
    y = x * 2.0
    assert dt.autograd.grad([y, y * 1.0], y)[0].item() == 2.0
    x.backward(inputs=[x])
    assert x.grad.item() == 1.0


def test_backward_inputs_may_be_one_tensor_but_not_empty():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * w).sum().backward(inputs=x)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    assert w.grad is None
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * w).sum().backward(inputs=[])


def test_grad_with_respect_to_a_tensor_not_requiring_grad_says_so():
    x, c = leaf([1.0, 2.0]), dt.tensor(np.array([1.0, 1.0]))
    with pytest.raises(RuntimeError, match="does not require grad"):
        dt.autograd.grad((x * c).sum(), c)


def test_a_100000_op_chain():
    x = dt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    gc.disable()  # (only for speed: a long-lived graph makes the cycle collector rescan it over and over)
    try:
        y = x
        for _ in range(100_000):
            y = y * 1.0000001
        y.sum().backward()  # an iterative walk: no RecursionError
        np.testing.assert_allclose(x.grad.numpy(), [1.0000001 ** 100_000] * 2, rtol=1e-9)
        del y  # a deep graph is also torn down without recursion
    finally:
        gc.enable()


# ---- property tests: eager backward = dt.grad = finite differences ---------------------------------------
UNARY = {  # smooth on the whole real line
    "sin": dt.sin, "tanh": dt.tanh, "sigmoid": dt.sigmoid, "exp": lambda t: dt.exp(0.3 * t),
    "square": lambda t: t * t, "soft": lambda t: dt.sqrt(t * t + 1.0), "neg": lambda t: -t,
    "cube": lambda t: t ** 3 / 4.0,
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.0 + b * b), "pow": lambda a, b: (1.5 + dt.tanh(a)) ** b,
}
FINAL = {  # the scalar at the end
    "sum": lambda t: t.sum(), "mean": lambda t: t.mean(), "softmax": lambda t: (dt.softmax(t, dim=-1) * t).sum(),
    "norm": lambda t: dt.sqrt((t * t).sum() + 1.0), "dot": lambda t: dt.matmul(t, t[::-1]),
}

programs = st.tuples(
    st.lists(st.tuples(st.sampled_from(sorted(UNARY)), st.sampled_from(sorted(BINARY)),
                       st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=4),
    st.sampled_from(sorted(FINAL)),
)


def run_program(program, x, w):
    """A random composition: each step applies a unary op to one earlier value and combines it with another."""
    steps, final = program
    values = [x, w]
    for unary, binary, i, j in steps:
        values.append(BINARY[binary](UNARY[unary](values[i % len(values)]), values[j % len(values)]))
    return FINAL[final](values[-1] + 0.5 * values[0] * values[1])


@settings(max_examples=20, deadline=None)
@given(programs, st.integers(0, 2 ** 16))
def test_eager_backward_equals_dt_grad_equals_finite_differences(program, seed):
    rng = np.random.default_rng(seed)
    xv, wv = rng.uniform(-1.0, 1.0, 3), rng.uniform(-1.0, 1.0, 3)
    x, w = leaf(xv), leaf(wv)
    out = run_program(program, x, w)
    out.backward()
    functional = dt.grad(lambda a, b: run_program(program, a, b), argnums=(0, 1))(xv, wv)
    numeric = numerical_vjp(lambda a, b: run_program(program, a, b), (xv, wv), np.array(1.0))
    for eager, fun, num, what in zip((x.grad, w.grad), functional, numeric, ("x", "w")):
        assert isinstance(fun, np.ndarray) and eager.dtype == np.float64
        assert_close(eager.numpy(), num, f"eager d/d{what} vs finite differences")
        np.testing.assert_allclose(eager.numpy(), fun, rtol=1e-10, atol=1e-12, err_msg=f"eager vs dt.grad, d/d{what}")


@settings(max_examples=10, deadline=None)
@given(programs, st.integers(0, 2 ** 16))
def test_second_order_eager_equals_finite_differences_of_the_gradient(program, seed):
    rng = np.random.default_rng(seed)
    xv, wv = rng.uniform(-1.0, 1.0, 3), rng.uniform(-1.0, 1.0, 3)
    v = rng.standard_normal(3)

    def directional(a):  # <d/dx f(x, w), v>
        return float(np.dot(dt.grad(lambda p: run_program(program, p, wv))(a), v))

    x = leaf(xv)
    (g,) = dt.autograd.grad(run_program(program, x, dt.tensor(wv)), x, create_graph=True)
    if not g.requires_grad:  # f is linear in x: the second derivative is zero
        return
    (hv,) = dt.autograd.grad((g * dt.tensor(v)).sum(), x, allow_unused=True)
    hv = np.zeros(3) if hv is None else hv.numpy()
    assert_close(hv, numerical_vjp(directional, (xv,), np.array(1.0))[0], "Hessian-vector product", rtol=1e-5,
                 atol=1e-6)


# ---- PyTorch as the oracle -------------------------------------------------------------------------------
def test_higher_order_as_torch():
    torch = torch_or_skip()
    results = []
    for lib in (dt, torch):
        x = lib.tensor(np.array([0.4, -0.9, 1.3]), requires_grad=True)
        w = lib.tensor(np.array([1.1, 0.3, -0.7]), requires_grad=True)
        f = (lib.tanh(x * w) * lib.exp(-x * x)).sum() + (x ** 3 * w).sum()
        (gx,) = lib.autograd.grad(f, x, create_graph=True)
        penalty = (gx * gx).sum()
        penalty.backward()
        results.append([np.array(t.tolist()) for t in (gx.detach(), x.grad, w.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_errors_as_torch():
    """The same scripts fail in the same places, with PyTorch's message fragments."""
    torch = torch_or_skip()
    for lib in (dt, torch):
        x = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            (x * x).backward()
        z = (x * x).sum().exp()
        z.backward()
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            z.backward()
        a = x.exp()
        c = (a * a).sum()
        a.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; expected version 0"):
            c.backward()
        with pytest.raises(RuntimeError, match="leaf"):
            x.add_(1)
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            lib.tensor(1.0).backward()
        with pytest.raises(RuntimeError, match=r"Use tensor\.detach\(\)\.numpy\(\) instead"):
            x.numpy()


def test_a_grad_is_laid_out_like_its_tensor():
    """The weight gradient of x @ W.T arrives as a transposed view; .grad is stored in W's own (C) layout, as
    PyTorch does, so an optimiser's elementwise updates run over contiguous memory."""
    w = dt.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x = dt.tensor(np.ones((4, 3)))
    (x @ w.T).sum().backward()
    assert w.grad.numpy().flags.c_contiguous and w.grad.tolist() == [[4.0] * 3] * 2
    f = dt.tensor(np.asfortranarray(np.arange(6.0).reshape(2, 3)), requires_grad=True)
    (f * 2).sum().backward()
    assert f.grad.numpy().flags.f_contiguous  # a Fortran-ordered tensor gets a Fortran-ordered .grad
