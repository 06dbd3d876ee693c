"""`dt.autograd.Function`: the tutorial's custom square with ctx.save_for_backward, needs_input_grad, several
inputs, backward written with tensor ops (so it is differentiable again), its graph node, and its errors."""

import weakref

import numpy as np
import pytest

import dualtape as dt


class Square(dt.autograd.Function):
    """The PyTorch tutorial's example."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_output


class ScaledProduct(dt.autograd.Function):
    """a * b * scale, with a non-tensor argument; records which gradients backward was asked for."""

    asked = []

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ScaledProduct.asked.append(ctx.needs_input_grad)
        ga = g * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = g * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


def test_custom_square():
    x = dt.tensor(3.0, requires_grad=True)
    y = Square.apply(x)
    assert y.item() == 9.0 and y.requires_grad and not y.is_leaf
    y.backward()
    assert x.grad.item() == 6.0


def test_custom_square_in_a_larger_graph():
    x = dt.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    out = (dt.sin(Square.apply(x * 2)) + x).sum()
    out.backward()
    xv = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(x.grad.numpy(), np.cos(4 * xv * xv) * 8 * xv + 1, rtol=1e-12)


def test_function_node():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = Square.apply(x)
    assert y.grad_fn.name() == "SquareBackward"
    ((acc, _),) = y.grad_fn.next_functions
    assert repr(acc) == "<AccumulateGrad>" and acc.variable is x
    z = Square.apply(y * 1)
    assert z.grad_fn.next_functions[0][0].name() == "MulBackward0"


def test_needs_input_grad_and_non_tensor_arguments():
    a = dt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = dt.tensor(np.array([3.0, 4.0]))
    ScaledProduct.asked.clear()
    ScaledProduct.apply(a, b, 0.5).sum().backward()
    assert ScaledProduct.asked == [(True, False, False)]
    assert a.grad.tolist() == [1.5, 2.0] and b.grad is None


def test_backward_of_a_function_is_differentiable_with_create_graph():
    x = dt.tensor(3.0, requires_grad=True)
    (g,) = dt.autograd.grad(Square.apply(x), x, create_graph=True)
    assert g.item() == 6.0 and g.requires_grad
    (gg,) = dt.autograd.grad(g, x)
    assert gg.item() == 2.0


def test_apply_without_grad_records_nothing():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    with dt.no_grad():
        y = Square.apply(x)
    assert y.grad_fn is None and not y.requires_grad and y.tolist() == [1.0, 4.0]
    z = Square.apply(dt.tensor([3.0]))
    assert z.grad_fn is None and z.tolist() == [9.0]


def test_saved_tensors_are_freed_after_backward():
    x = dt.tensor(2.0, requires_grad=True)
    y = Square.apply(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    assert x.grad.item() == 4.0
    z = Square.apply(x)
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == 12.0


def test_saved_tensor_modified_in_place():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Square.apply(h)
    h.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as err:
        y.sum().backward()
    assert "version 1; expected version 0" in str(err.value) and "SquareBackward" in str(err.value)
    assert x.grad is None


def test_wrong_number_of_gradients():
    class Bad(dt.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    x = dt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward.*incorrect number of gradients \(expected 2, got 1\)"):
        Bad.apply(x, x).sum().backward()
    assert x.grad is None


def test_missing_backward():
    class NoBackward(dt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

    x = dt.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="backward"):
        NoBackward.apply(x).sum().backward()


def test_custom_square_as_torch():
    torch = pytest.importorskip("torch")

    class TorchSquare(torch.autograd.Function):
        forward, backward = Square.forward, Square.backward

    x = dt.tensor(np.array([0.5, -1.5]), requires_grad=True)
    tx = torch.tensor(np.array([0.5, -1.5]), requires_grad=True)
    (dt.exp(Square.apply(x)) * x).sum().backward()
    (torch.exp(TorchSquare.apply(tx)) * tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


# ---- what backward returns is checked as PyTorch checks it ----------------------------------------------------
@pytest.fixture(params=["dualtape", "torch"])
def lib(request):
    """Each test taking `lib` runs on dualtape and on torch (the oracle; skipped where it is not installed)."""
    return dt if request.param == "dualtape" else pytest.importorskip("torch")


def _libs():
    """dualtape, and torch when installed (the oracle)."""
    try:
        import torch
    except ImportError:
        return [dt]
    return [dt, torch]


def _returning(lib, make_grads, name="Bad"):
    """A Function of (a, *rest) computing a * 2 whose backward returns make_grads(lib, g)."""

    def forward(ctx, a, *rest):
        return a * 2

    def backward(ctx, g):
        return make_grads(lib, g)

    return type(name, (lib.autograd.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _error(lib, make_grads, *extra, shape=(2,)):
    x = lib.ones(shape, requires_grad=True)
    with pytest.raises(RuntimeError) as err:
        _returning(lib, make_grads).apply(x, *extra).sum().backward()
    assert x.grad is None
    return str(err.value)


@pytest.mark.parametrize("shape", [(3,), (1,), (2, 1), ()])
def test_a_gradient_of_the_wrong_shape_is_an_error(shape):
    message = _error(dt, lambda lib, g: lib.ones(shape))
    assert message == (f"Function BadBackward returned an invalid gradient at index 0 - got {list(shape)} but "
                       "expected shape compatible with [2]")
    for lib in _libs()[1:]:
        assert _error(lib, lambda lib, g: lib.ones(shape)) == message


def test_the_index_in_the_error_counts_tensor_arguments_only():
    class Scaled(dt.autograd.Function):
        @staticmethod
        def forward(ctx, s, a, b):
            return a * b * s

        @staticmethod
        def backward(ctx, g):
            return None, g, dt.ones(5)

    x, y = dt.ones(2, requires_grad=True), dt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"ScaledBackward returned an invalid gradient at index 1 - got \[5\] "):
        Scaled.apply(2.0, x, y).sum().backward()
    Scaled.apply(2.0, x, dt.ones(2)).sum().backward()  # (not checked for an input that needs no gradient)
    assert x.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("shape, grad_shape", [((2,), (3, 2)), ((), (3,)), ((), (1,)), ((2, 3), (4, 2, 3)),
                                               ((2, 1), (2, 5)), ((1, 3), (4, 2, 3))])
def test_a_gradient_that_sums_to_the_input_shape_is_summed(shape, grad_shape):
    found = []
    for lib in _libs():
        x = lib.ones(shape, requires_grad=True)
        grads = lib.tensor(np.arange(np.prod(grad_shape), dtype=np.float32).reshape(grad_shape))
        _returning(lib, lambda lib, g, grads=grads: grads).apply(x).sum().backward()
        assert tuple(x.grad.shape) == shape
        found.append(x.grad.detach().numpy())
    expected = np.arange(np.prod(grad_shape), dtype=np.float32).reshape(grad_shape)
    expected = expected.sum(axis=tuple(range(len(grad_shape) - len(shape))))
    expected = expected.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)
    np.testing.assert_array_equal(found[0], expected.reshape(shape))
    for other in found[1:]:
        np.testing.assert_array_equal(found[0], other)


def test_summed_gradients_are_differentiable_with_create_graph():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    Bad = _returning(dt, lambda lib, g: dt.stack([g, g]) * x)
    (g,) = dt.autograd.grad(Bad.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [2.0, 4.0] and g.requires_grad
    (gg,) = dt.autograd.grad(g.sum(), x)
    assert gg.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("value, kind", [(1, "int"), (1.5, "float"), (True, "bool"), ("list", "list"),
                                         ("array", "numpy.ndarray")])
def test_a_gradient_that_is_not_a_tensor_is_an_error(value, kind):
    def grads(lib, g):
        return {"list": [g], "array": np.ones(2, dtype=np.float32)}.get(value, value)

    for lib in _libs():
        assert _error(lib, grads) == f"expected Variable or None (got {kind})"


def test_gradients_are_cast_to_the_input_dtype(lib):
    x = lib.ones(2, requires_grad=True)
    _returning(lib, lambda lib, g: lib.tensor([1, 2])).apply(x).sum().backward()
    assert str(x.grad.dtype).endswith("float32") and x.grad.tolist() == [1.0, 2.0]
    Wide = _returning(lib, lambda lib, g: g.double() * 3)
    (g,) = lib.autograd.grad(Wide.apply(x).sum(), x, create_graph=True)
    assert str(g.dtype).endswith("float32") and g.tolist() == [3.0, 3.0]


def test_extra_trailing_gradients_may_be_none(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    _returning(lib, lambda lib, g: (g * 3, None, None)).apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    message = _error(lib, lambda lib, g: (g, None, g))
    assert message == "function BadBackward returned an incorrect number of gradients (expected 1, got 3)"
    message = _error(lib, lambda lib, g: (g,), 2.0)
    assert message == "function BadBackward returned an incorrect number of gradients (expected 2, got 1)"


def test_a_gradient_for_an_argument_that_is_not_a_tensor_is_an_error(lib):
    assert _error(lib, lambda lib, g: (g, g), 2.0) == (
        "function BadBackward returned a gradient different than None at position 2, but the corresponding "
        "forward input was not a Variable")


def test_next_functions_lists_the_tensor_arguments():
    a, b = dt.tensor([1.0], requires_grad=True), dt.tensor([2.0])
    y = ScaledProduct.apply(a, b, 0.5)
    assert [(fn.variable is a if fn is not None else None, k) for fn, k in y.grad_fn.next_functions] == [
        (True, 0), (None, 0)]


# ---- several outputs ------------------------------------------------------------------------------------
def _two(lib, calls, materialize=True):
    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(materialize)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g2, g3):
            calls.append([None if g is None else g.tolist() for g in (g2, g3)])
            if g2 is None:
                return 3 * g3
            return 2 * g2 if g3 is None else 2 * g2 + 3 * g3

    return Two


@pytest.mark.parametrize("loss", ["first", "second", "both", "product", "backward_both"])
def test_several_outputs(loss):
    found = []
    for lib in _libs():
        calls = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a, b = _two(lib, calls).apply(x)
        assert a.requires_grad and b.requires_grad and a.grad_fn.name() == b.grad_fn.name() == "TwoBackward"
        assert a.grad_fn.next_functions[0][0].variable is x
        if loss == "backward_both":
            lib.autograd.backward([a, b], [lib.ones(2), lib.ones(2)])
        else:
            {"first": a.sum(), "second": b.sum(), "both": a.sum() + 2 * b.sum(),
             "product": (a * b).sum()}[loss].backward()
        found.append((calls, x.grad.tolist()))
    assert len(found[0][0]) == 1  # backward ran once, with both outputs' gradients
    expected = {"first": [[[1.0, 1.0], [0.0, 0.0]]], "second": [[[0.0, 0.0], [1.0, 1.0]]],
                "both": [[[1.0, 1.0], [2.0, 2.0]]], "product": [[[3.0, 6.0], [2.0, 4.0]]],
                "backward_both": [[[1.0, 1.0], [1.0, 1.0]]]}[loss]
    assert found[0][0] == expected
    for other in found[1:]:
        assert other == found[0]


def test_outputs_that_get_no_gradient_are_none_without_materialize_grads(lib):
    calls = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    _two(lib, calls, materialize=False).apply(x)[1].sum().backward()
    assert calls == [[None, [1.0, 1.0]]] and x.grad.tolist() == [3.0, 3.0]
    calls.clear()
    x.grad = None
    a, b = _two(lib, calls, materialize=False).apply(x)
    (a.sum() + b.sum()).backward()
    assert calls == [[[1.0, 1.0], [1.0, 1.0]]] and x.grad.tolist() == [5.0, 5.0]


def test_outputs_that_are_not_tensors_are_passed_through(lib):
    calls = []

    class Mixed(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, 7, "s", a.sum()

        @staticmethod
        def backward(ctx, g, g7, gs, gsum):
            calls.append((g.tolist(), g7, gs, gsum.tolist()))
            return g + gsum

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    out = Mixed.apply(x)
    assert type(out) is tuple and out[1:3] == (7, "s") and out[3].item() == 3.0
    out[0].sum().backward()
    assert calls == [([1.0, 1.0], None, None, 0.0)] and x.grad.tolist() == [1.0, 1.0]


def test_one_output_in_a_tuple_and_a_list_as_torch(lib):
    class One(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return (a * 2,)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Listed(lib.autograd.Function):  # (a list is one output that is not a tensor)
        @staticmethod
        def forward(ctx, a):
            return [a * 2, a * 3]

        @staticmethod
        def backward(ctx, g):
            return g

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    (y,) = One.apply(x)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    listed = Listed.apply(x)
    assert type(listed) is list and not listed[0].requires_grad and listed[1].tolist() == [3.0, 6.0]


def test_several_outputs_with_create_graph():
    found = []
    for lib in _libs():
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a, b = _two(lib, []).apply(x)
        (g,) = lib.autograd.grad(a.sum() + (b * b).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        found.append((g.tolist(), gg.tolist()))
    assert found[0] == ([20.0, 38.0], [18.0, 18.0])
    assert all(f == found[0] for f in found)


def test_hooks_and_retained_grads_of_several_outputs(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    a, b = _two(lib, []).apply(x)
    seen = []
    a.grad_fn.register_hook(lambda gi, go: seen.append(([g.tolist() for g in gi],
                                                         [None if g is None else g.tolist() for g in go])))
    a.retain_grad()
    b.retain_grad()
    a.sum().backward()
    assert seen == [([[2.0, 2.0]], [[1.0, 1.0], None])]
    assert a.grad.tolist() == [1.0, 1.0] and b.grad is None
    x.grad = None
    a, b = _two(lib, []).apply(x)
    b.register_hook(lambda g: g * 10)
    (a.sum() + b.sum()).backward()
    assert x.grad.tolist() == [32.0, 32.0]
    x.grad = None
    a, b = _two(lib, []).apply(x)
    a.grad_fn.register_hook(lambda gi, go: (gi[0] * 100,))
    a.sum().backward()
    assert x.grad.tolist() == [200.0, 200.0]


def test_several_outputs_free_the_saved_tensors():
    class SinCos(dt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return dt.sin(a), dt.cos(a)

        @staticmethod
        def backward(ctx, gs, gc):
            (a,) = ctx.saved_tensors
            return gs * dt.cos(a) - gc * dt.sin(a)

    x = dt.tensor([0.5, 1.0], requires_grad=True)
    s, c = SinCos.apply(x)
    (s * c).sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), np.cos(2 * np.array([0.5, 1.0])), rtol=1e-6)
    (s + c).sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        s.sum().backward()
    assert dt.autograd.gradcheck(lambda t: (lambda s, c: s * c + c)(*SinCos.apply(t)),
                                 (dt.tensor([0.5, -1.0], dtype=np.float64, requires_grad=True),))


# ---- mark_dirty, mark_non_differentiable --------------------------------------------------------------------
def _version(t) -> int:
    return t._version if isinstance(t._version, int) else t._version[0]  # (torch's is an int, dualtape's shared)


def _doubling_in_place(lib, calls, save=False):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.mul_(2)
            ctx.mark_dirty(a)
            if save:
                ctx.save_for_backward(a)
            return a

        @staticmethod
        def backward(ctx, g):
            calls.append(g.tolist())
            return g * 2

    return Double


def test_mark_dirty(lib):
    calls = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    r = _doubling_in_place(lib, calls, save=True).apply(h)
    assert r is h and h.tolist() == [2.0, 4.0] and h.grad_fn.name() == "DoubleBackward"
    assert _version(h) == 2 and h.grad_fn.next_functions[0][0].name() == "MulBackward0"
    (h * h).sum().backward()
    assert calls == [[4.0, 8.0]] and x.grad.tolist() == [8.0, 16.0]
    y = lib.tensor([1.0, 2.0])
    assert _doubling_in_place(lib, []).apply(y) is y and not y.requires_grad and _version(y) == 2


def test_a_dirty_tensor_keeps_its_hooks_and_retained_grad_as_after_an_in_place_op():
    found = []
    for in_place in (lambda h: h.mul_(2), _doubling_in_place(dt, []).apply):
        x = dt.tensor([1.0, 2.0], requires_grad=True)
        h = x * 1
        h.retain_grad()
        h.register_hook(lambda g: g * 10)
        in_place(h)
        (h * 3).sum().backward()
        found.append((h.grad.tolist(), x.grad.tolist()))
    assert found[0] == found[1] == ([30.0, 30.0], [60.0, 60.0])


def test_mark_dirty_of_a_leaf_that_requires_grad_is_an_error(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an in-place"):
        _doubling_in_place(lib, []).apply(x)
    with lib.no_grad():
        _doubling_in_place(lib, []).apply(x)
    assert x.tolist() == [4.0, 8.0]


def test_a_dirty_tensor_must_be_returned(lib):
    class NotReturned(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.mul_(2)
            ctx.mark_dirty(a)
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="Some elements marked as dirty during the forward method were not "
                                           "returned as output"):
        NotReturned.apply(lib.tensor([1.0], requires_grad=True) * 1)


def test_mark_dirty_with_several_outputs(lib):
    calls = []

    class AddInto(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            a.add_(b)
            ctx.mark_dirty(a)
            return a, b * 2

        @staticmethod
        def backward(ctx, ga, gb):
            calls.append((ga.tolist(), gb.tolist()))
            return ga, ga + 2 * gb

    x, y = lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([1.0, 1.0], requires_grad=True)
    h = x * 1
    o1, o2 = AddInto.apply(h, y)
    assert o1 is h and h.grad_fn.name() == "AddIntoBackward" and o2.grad_fn.name() == "AddIntoBackward"
    (o1 + 3 * o2).sum().backward()
    assert calls == [([1.0, 1.0], [3.0, 3.0])]
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [7.0, 7.0]
    z = lib.tensor([1.0, 2.0])  # needs no grad, but another input does: it joins the graph
    o1, _ = AddInto.apply(z, y)
    assert o1 is z and z.requires_grad and not z.is_leaf


def test_mark_non_differentiable(lib):
    calls = []

    class Split(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            positive = a > 0
            ctx.mark_non_differentiable(positive)
            return a * 2, positive

        @staticmethod
        def backward(ctx, g, g_positive):
            calls.append((g.tolist(), g_positive.tolist(), str(g_positive.dtype)))
            return g * 2

    x = lib.tensor([1.0, -2.0], requires_grad=True)
    doubled, positive = Split.apply(x)
    assert doubled.requires_grad and not positive.requires_grad and positive.grad_fn is None
    assert positive.tolist() == [True, False]
    (doubled * positive).sum().backward()
    assert calls == [([1.0, 0.0], [False, False], "torch.bool" if lib is not dt else "bool")]
    assert x.grad.tolist() == [2.0, 0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        positive.sum().backward()


def test_mark_non_differentiable_with_materialize_grads_off_and_alone(lib):
    calls = []

    class Pair(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            fixed = a * 3
            ctx.mark_non_differentiable(fixed)
            return a * 2, fixed

        @staticmethod
        def backward(ctx, g, g_fixed):
            calls.append(g_fixed)
            return g * 2

    class Alone(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            out = a * 2
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return g

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    Pair.apply(x)[0].sum().backward()
    assert calls == [None] and x.grad.tolist() == [2.0, 2.0]
    alone = Alone.apply(x)
    assert not alone.requires_grad and alone.grad_fn is None and alone.tolist() == [2.0, 4.0]


def _exp_function(lib):
    """exp as a Function of lib that saves its output for backward."""

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            out = a.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    return Exp


def test_ctx_saved_tensors_are_freed_by_backward():
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = _exp_function(dt).apply(x)
    ref = weakref.ref(y._array)
    s = y.sum()
    del y
    s.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np.float32([1.0, 2.0])), rtol=1e-6)
    assert ref() is None


def test_an_output_saved_for_backward_and_then_changed_in_place(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = _exp_function(lib).apply(x)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
