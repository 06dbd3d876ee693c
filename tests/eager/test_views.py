"""Views see in-place changes of their base and of sibling views, as in PyTorch: a view's grad_fn is made again
(AsStridedBackward0) from its base's current history once the shared version counter has moved, for every view
op and views of views; an in-place change through a view gives the base CopySlices, whatever the chain of views.
Each case is checked against values derived by hand (so CI without torch checks it) and, where torch is
installed, against what torch computes for the same program."""

import numpy as np
import pytest

import dualtape as dt
from testkit import torch_or_skip


def _torch():
    """torch where installed, else None (the hand-derived values are checked either way)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _libraries():
    """dualtape, then torch where installed: the checks below hold for both."""
    torch = _torch()
    return [dt] if torch is None else [dt, torch]


def _name(node):
    """A node's name, as dualtape and torch (whose C++ nodes add a namespace) both give it."""
    return None if node is None else node.name().replace("torch::autograd::", "")


def _grads(*tensors):
    return [None if t.grad is None else t.grad.numpy() for t in tensors]


# ---- each case, by hand: (name, program(lib) -> the grads, expected grads) -----------------------
def _slice_then_base_mul(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    y.mul_(2)
    (v * v).sum().backward()  # v = 2 x[1:], d/dx sum(v^2) = 8 x
    return _grads(x)


def _view_then_base_mul(lib):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    v = y.view(2, 2)
    y.mul_(3)
    (v * v).sum().backward()  # v = 3 x: 18 x
    return _grads(x)


def _t_then_base_mul(lib):
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    v = y.t()
    y.mul_(2)
    (v * lib.tensor([[1.0, 10.0], [100.0, 1000.0]])).sum().backward()  # v = 2 x^T: 2 c^T
    return _grads(x)


def _unsqueeze_then_base_mul(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    v = y.unsqueeze(0)
    y.mul_(5)
    v.sum().backward()
    return _grads(x)


def _slice_then_base_zero(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    y.zero_()
    (v.sum() + x.sum()).backward()  # v no longer depends on x
    return _grads(x)


def _sibling_views(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    a, b = y[:2], y[1:]
    a.mul_(10)
    b.sum().backward()  # b = [10 x1, x2]
    return _grads(x)


def _view_of_view_then_base_mul(lib):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    v2 = y[1:][1:]
    y.mul_(2)
    v2.sum().backward()
    return _grads(x)


def _view_of_view_then_middle_mul(lib):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    v1 = y[1:]
    v2 = v1[1:]
    v1.mul_(3)
    v2.sum().backward()
    return _grads(x)


def _slice_then_base_add_w(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([5.0, 6.0, 7.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    y.add_(w)
    (v * v).sum().backward()  # v = x[1:] + w[1:]: 2 v to both
    return _grads(x, w)


def _slice_then_base_setitem_w(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor(5.0, requires_grad=True)
    y = x * 1
    v = y[1:]
    y[1] = w
    (v * v).sum().backward()  # v = [w, x2]
    return _grads(x, w)


def _slice_then_base_copy_w(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = x * 1
    v = y[:2]
    y.copy_(w)
    (v * v).sum().backward()  # v = w[:2]; x gets zeros (its values are gone)
    return _grads(x, w)


def _chain_through_views_of_views(lib):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    v1 = y[1:]
    v2 = v1[1:]
    v1.mul_(2)
    v2.mul_(3)  # (through a view whose own base, v1, was changed in place before)
    (y * y).sum().backward()  # y = [x0, 2 x1, 6 x2, 6 x3]
    return _grads(x)


CASES = [
    ("slice, base mul_", _slice_then_base_mul, [[0.0, 16.0, 24.0]]),
    ("view, base mul_", _view_then_base_mul, [[18.0, 36.0, 54.0, 72.0]]),
    ("t, base mul_", _t_then_base_mul, [[[2.0, 200.0], [20.0, 2000.0]]]),
    ("unsqueeze, base mul_", _unsqueeze_then_base_mul, [[5.0, 5.0]]),
    ("slice, base zero_", _slice_then_base_zero, [[1.0, 1.0, 1.0]]),
    ("sibling view mul_", _sibling_views, [[0.0, 10.0, 1.0]]),
    ("view of view, base mul_", _view_of_view_then_base_mul, [[0.0, 0.0, 2.0, 2.0]]),
    ("view of view, middle mul_", _view_of_view_then_middle_mul, [[0.0, 0.0, 3.0, 3.0]]),
    ("slice, base add_(w)", _slice_then_base_add_w, [[0.0, 16.0, 20.0], [0.0, 16.0, 20.0]]),
    ("slice, base[1] = w", _slice_then_base_setitem_w, [[0.0, 0.0, 6.0], 10.0]),
    ("slice, base copy_(w)", _slice_then_base_copy_w, [[0.0, 0.0, 0.0], [8.0, 10.0, 0.0]]),
    ("in place through views of views", _chain_through_views_of_views, [[2.0, 16.0, 216.0, 288.0]]),
]


@pytest.mark.parametrize("program, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_views_see_in_place_changes_of_their_base_and_siblings(program, expected):
    for grad, want in zip(program(dt), expected):
        np.testing.assert_array_equal(grad, want)
    torch = _torch()
    if torch is not None:  # (the hand-derived values are PyTorch's)
        for grad, want in zip(program(torch), expected):
            np.testing.assert_array_equal(grad, want)


# ---- grad_fn and requires_grad after the change ---------------------------------------------------------------
def _names(lib):
    """The grad_fn names of views, views of views and bases around in-place changes."""
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    v, vv = y[1:], y.t()[0]
    names = [_name(v.grad_fn)]
    y.mul_(2)
    names += [_name(v.grad_fn), _name(vv.grad_fn), _name(v.grad_fn.next_functions[0][0])]
    y.t().mul_(3)  # (the base of a transpose changed in place: CopySlices, as for a slice)
    names.append(_name(y.grad_fn))
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    leaf_view = p[1:]
    with lib.no_grad():
        p.mul_(2)  # (an optimiser's step: the view of the leaf is made again on the leaf)
    names += [_name(leaf_view.grad_fn), _name(leaf_view.grad_fn.next_functions[0][0])]
    return names


def test_regenerated_grad_fns_are_named_as_in_torch():
    expected = ["SliceBackward0", "AsStridedBackward0", "AsStridedBackward0", "MulBackward0", "CopySlices",
                "AsStridedBackward0", "AccumulateGrad"]
    assert _names(dt) == expected
    torch = _torch()
    if torch is not None:
        assert _names(torch) == expected
    x = dt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    y.mul_(2)
    assert v.grad_fn is v.grad_fn and v.grad_fn.next_functions[0][0] is y.grad_fn  # (made once, on y's history)


def test_a_view_of_a_base_without_grad_comes_to_require_it_with_its_base():
    for lib in _libraries():
        w = lib.tensor([5.0, 6.0, 7.0], requires_grad=True)
        y = lib.zeros(3, dtype=lib.float64)
        v = y[1:]
        assert not v.requires_grad
        y.add_(w)
        assert v.requires_grad and not v.is_leaf
        v.sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [0.0, 1.0, 1.0])
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        d = y.detach()[1:]  # (a view of a detached tensor: it shares the memory, never the history)
        y.mul_(2)
        assert d.grad_fn is None and not d.requires_grad
        np.testing.assert_array_equal(d.numpy(), [4.0, 6.0])


def test_in_place_change_through_a_view_gives_a_base_without_grad_its_history():
    for lib in _libraries():
        w = lib.tensor([5.0, 6.0], requires_grad=True)
        y = lib.zeros(3, dtype=lib.float64)
        y[1:].copy_(w)
        assert y.requires_grad and not y.is_leaf
        (y * y).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [10.0, 12.0])


def test_retain_grad_on_a_view_follows_its_regenerated_grad_fn():
    for lib in _libraries():
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        v = y[1:]
        v.retain_grad()
        y.mul_(2)
        v.sum().backward()
        np.testing.assert_array_equal(v.grad.numpy(), [1.0, 1.0])
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 2.0])


def test_second_derivatives_and_grad_with_respect_to_a_regenerated_view():
    for lib in _libraries():
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        v = y[1:]
        y.mul_(x)  # v = x[1:]^2: sum(v^3) = sum(x[1:]^6)
        (g,) = lib.autograd.grad((v * v * v).sum(), x, create_graph=True)
        np.testing.assert_array_equal(g.detach().numpy(), [0.0, 192.0, 1458.0])  # 6 x^5
        g.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, 480.0, 2430.0])  # 30 x^4
        y = x * 1
        v = y[1:]
        y.add_(1.0)
        (gv,) = lib.autograd.grad((v * v).sum(), v)  # (the input is the view's regenerated grad_fn)
        np.testing.assert_array_equal(gv.numpy(), [6.0, 8.0])


# ---- siblings of the bug: copy_, Function.mark_dirty, refusals ---------------------------------------------------
def _copies(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y.copy_(lib.zeros(3, dtype=lib.float64))  # (a source without grad: x's values are gone from y)
    (y + x).sum().backward()
    results = [x.grad.numpy()]
    x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    w = lib.tensor([7.0, 8.0, 9.0], requires_grad=True)
    y = x * 1
    y.copy_(w)  # (a leaf source, broadcast over the rows)
    (y * y).sum().backward()
    return results + [x.grad.numpy(), w.grad.numpy()]


def test_copy_into_a_tensor_requiring_grad_replaces_its_history():
    expected = [[1.0, 1.0, 1.0], np.zeros((2, 3)), [28.0, 32.0, 36.0]]
    for got, want in zip(_copies(dt), expected):
        np.testing.assert_array_equal(got, want)
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    assert y.copy_(dt.zeros(2, dtype=dt.float64)).grad_fn.name() == "CopyBackwards"
    torch = _torch()
    if torch is not None:
        for got, want in zip(_copies(torch), expected):
            np.testing.assert_array_equal(got, want)


def _dirty_view(lib, function):
    class Double(function):
        @staticmethod
        def forward(ctx, a):
            ctx.mark_dirty(a)
            return a.mul_(2)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    Double.apply(y[1:])  # (a Function changing a view in place: the base sees it)
    (y * y).sum().backward()  # y = [x0, 2 x1, 2 x2]
    return x.grad.numpy()


def test_a_function_changing_a_view_in_place_rebases_the_base():
    np.testing.assert_array_equal(_dirty_view(dt, dt.autograd.Function), [2.0, 16.0, 24.0])
    torch = _torch()
    if torch is not None:
        np.testing.assert_array_equal(_dirty_view(torch, torch.autograd.Function), [2.0, 16.0, 24.0])


def test_views_made_under_no_grad_refuse_a_recorded_in_place_change_as_torch():
    for lib in _libraries():
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        with lib.no_grad():
            v = y[1:]
        y.mul_(2)
        with lib.no_grad():  # (used, and changed, under no_grad: fine)
            np.testing.assert_array_equal(v.add_(1.0).numpy(), [5.0, 7.0])
        with pytest.raises(RuntimeError, match="A view was created in no_grad mode and its base"):
            v * 1
        y = x * 1
        with lib.no_grad():
            v = y[1:]
        with pytest.raises(RuntimeError, match="A view was created in no_grad mode and is being modified inplace"):
            v.mul_(2)


def test_in_place_refusals_on_views_as_torch():
    for lib in _libraries():
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        v = (x * 1)[1:]
        with pytest.raises(RuntimeError, match="Can't detach views in-place"):
            v.detach_()
        e = lib.zeros(2, dtype=lib.float64).expand_as(lib.zeros(3, 2))
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            e.add_(1.0)


# ---- every view op x every in-place change, against torch ---------------------------------------------------------
VIEWS = {
    "slice": lambda y: y[1:],
    "select": lambda y: y[0],
    "column": lambda y: y[:, 1],
    "ellipsis": lambda y: y[..., 1:],
    "none": lambda y: y[None],
    "t": lambda y: y.t(),
    "T": lambda y: y.T,
    "transpose": lambda y: y.transpose(0, 1),
    "permute": lambda y: y.permute(1, 0),
    "view": lambda y: y.view(6),
    "reshape": lambda y: y.reshape(3, 2),
    "flatten": lambda y: y.flatten(),
    "unsqueeze": lambda y: y.unsqueeze(1),
    "squeeze": lambda y: y[:1].squeeze(0),
    "expand": lambda y: y.expand(2, 2, 3),
    "t of slice": lambda y: y[:, 1:].t(),
    "slice of view": lambda y: y.view(6)[2:5],
    "unsqueeze of select": lambda y: y[1].unsqueeze(0),
    "diagonal": lambda y: y.diagonal(),
    "diagonal(1)": lambda y: y.diagonal(1),
    "diagonal of t": lambda y: y.t().diagonal(-1),
    "diagonal of a plane": lambda y: y.view(2, 1, 3).diagonal(0, 0, 2),
    "element": lambda y: y[1, 2],
    "element of t": lambda y: y.t()[2, 0],
    "element by a 0-d tensor": lambda y: y[1][y.new_tensor(2).long()],
}

CHANGES = {  # in place, of the base y or of a sibling view of it; w: a leaf of y's shape
    "mul_": lambda y, w: y.mul_(2.0),
    "add_(w)": lambda y, w: y.add_(w),
    "zero_": lambda y, w: y.zero_(),
    "copy_(w)": lambda y, w: y.copy_(w * 3),
    "y[0] = w": lambda y, w: y.__setitem__(0, w[1]),
    "exp_": lambda y, w: y.exp_(),
    "sibling row mul_(w)": lambda y, w: y[1].mul_(w[0]),
    "sibling t clamp_": lambda y, w: y.t()[1:].clamp_(0.5, 1.5),
}


def _change_then_use_view(lib, view, change):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.uniform(0.1, 1.0, (2, 3)), requires_grad=True)
    w = lib.tensor(rng.uniform(0.1, 1.0, (2, 3)), requires_grad=True)
    y = x * 1.5
    v = view(y)
    change(y, w)
    weights = lib.tensor(np.arange(1.0, 1.0 + np.prod(v.shape)).reshape(v.shape))
    ((v + v * v) * weights).sum().backward()
    return [v.detach().numpy(), v.requires_grad, _name(v.grad_fn)] + _grads(x, w)


def _change_through_view(lib, view):
    """In place through the view, then read the base and a sibling view made before."""
    rng = np.random.default_rng(1)
    x = lib.tensor(rng.uniform(0.1, 1.0, (2, 3)), requires_grad=True)
    w = lib.tensor(rng.uniform(0.1, 1.0, (2, 3)), requires_grad=True)
    y = x * 1.5
    sibling = y[:, 1:]
    v = view(y)
    v.mul_(w[1, 2])
    v.add_(2.0)
    weights = lib.tensor(np.arange(1.0, 1.0 + np.prod(sibling.shape)).reshape(sibling.shape))
    ((y * y).sum() + (sibling * weights).sum()).backward()
    return [y.detach().numpy(), sibling.detach().numpy(), _name(y.grad_fn), _name(sibling.grad_fn)] + _grads(x, w)


def _same(got, want):
    for a, b in zip(got, want):
        if a is None or b is None or isinstance(a, (bool, str)):
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_sees_every_in_place_change_as_torch(view, change):
    torch = torch_or_skip()
    _same(_change_then_use_view(dt, VIEWS[view], CHANGES[change]),
          _change_then_use_view(torch, VIEWS[view], CHANGES[change]))


@pytest.mark.parametrize("view", [v for v in VIEWS if v != "expand"])
def test_in_place_through_every_view_reaches_the_base_and_siblings_as_torch(view):
    torch = torch_or_skip()
    _same(_change_through_view(dt, VIEWS[view]), _change_through_view(torch, VIEWS[view]))
