"""Factories with PyTorch's signatures: sizes as ints, one sequence or size=; dtype, device, requires_grad and
generator by keyword; out= refused with a fix. dt.normal's forms, dt.from_numpy and dt.as_tensor (sharing a NumPy
array's memory), dt.Tensor's legacy constructor, expand, repeat and contiguous. Shapes and dtypes are checked
against torch where it is installed, and against PyTorch's rules written out here everywhere."""

import numpy as np
import pytest

import dualtape as dt
from testkit import d2l

SIZE_FORMS = [((2, 3), {}), (((2, 3),), {}), (([2, 3],), {}), ((), {"size": (2, 3)}), ((), {"size": ()}),
              (((),), {}), ((4,), {}), ((0, 2), {}), ((np.int64(2), 1), {})]


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
@pytest.mark.parametrize("args, kwargs", SIZE_FORMS)
def test_sizes_as_pytorch_reads_them(name, args, kwargs):
    t = getattr(dt, name)(*args, **kwargs)
    expected = kwargs["size"] if "size" in kwargs else args[0] if len(args) == 1 and not np.isscalar(args[0]) \
        else args
    assert t.shape == tuple(int(n) for n in expected) and t.dtype == np.float32 and t.is_leaf
    torch = pytest.importorskip("torch")
    assert t.shape == tuple(getattr(torch, name)(*args, **kwargs).shape)


@pytest.mark.parametrize("name", ["zeros", "ones", "rand", "randn"])
def test_bad_sizes_raise_as_pytorch(name):
    factory = getattr(dt, name)
    with pytest.raises(TypeError, match="multiple values for argument 'size'"):
        factory(2, size=(3,))
    with pytest.raises(TypeError, match="must be a tuple of ints"):
        factory(2.0)
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        factory(2, -1)
    with pytest.raises(TypeError, match="size"):
        factory()


def test_keywords_dtype_device_requires_grad():
    t = dt.ones(2, 3, dtype=dt.float64, device="cpu", requires_grad=True)
    assert t.dtype == np.float64 and t.device == "cpu" and t.requires_grad and t.is_leaf
    assert dt.zeros(2, dtype=dt.int32).dtype == np.int32 and dt.full((2,), 3).dtype == np.int64
    assert dt.eye(2, 3, dtype=dt.int32).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert dt.arange(5).dtype == np.int64 and dt.arange(0, 1, 0.25).dtype == np.float32
    assert dt.arange(5, dtype=dt.float64).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert dt.linspace(0, 1, steps=5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert dt.full_like(dt.ones(2, dtype=dt.float64), 7).tolist() == [7.0, 7.0]
    assert dt.full_like(dt.ones(2), 7).dtype == np.float32 and dt.zeros_like(dt.ones(2), dtype=dt.int8).dtype == np.int8
    with pytest.raises(RuntimeError, match="floating point"):
        dt.zeros(2, dtype=dt.int64, requires_grad=True)


@pytest.mark.parametrize("make", [lambda out: dt.zeros(2, out=out), lambda out: dt.randn(2, out=out),
                                  lambda out: dt.arange(2, out=out), lambda out: dt.normal(0.0, 1.0, (2,), out=out),
                                  lambda out: dt.full((2,), 1.0, out=out), lambda out: dt.eye(2, out=out)])
def test_out_is_refused_with_a_fix(make):
    with pytest.raises(dt.UnsupportedError, match="assign the result"):
        make(dt.zeros(2))


def test_generators_give_reproducible_streams():
    g = dt.Generator().manual_seed(0)
    first = dt.randn(3, generator=g)
    assert g.initial_seed() == 0 and isinstance(g.manual_seed(0), dt.Generator)
    assert dt.randn(3, generator=g).tolist() == first.tolist()
    assert dt.randn(3, generator=dt.Generator().manual_seed(1)).tolist() != first.tolist()
    assert isinstance(dt.manual_seed(5), dt.Generator)
    a = dt.rand(4)
    dt.manual_seed(5)
    assert dt.rand(4).tolist() == a.tolist()
    g.manual_seed(3)
    filled = dt.zeros(4).uniform_(-1, 1, generator=g)
    g.manual_seed(3)
    assert dt.zeros(4).uniform_(-1, 1, generator=g).tolist() == filled.tolist()
    assert all(-1 <= v < 1 for v in filled.tolist())
    assert dt.ones(3).normal_(generator=g).shape == (3,)
    with pytest.raises(TypeError, match="dt.Generator"):
        dt.randn(2, generator=np.random.default_rng(0))


def test_randint_forms():
    assert dt.randint(10, (3,)).dtype == np.int64 and dt.randint(5, size=(2, 2)).shape == (2, 2)
    values = dt.randint(3, 6, (200,), generator=dt.Generator().manual_seed(0)).tolist()
    assert set(values) == {3, 4, 5}
    with pytest.raises(RuntimeError, match="from"):
        dt.randint(5, 5, (2,))


def test_normal_takes_torchs_forms():
    mean, std = dt.zeros(2, 1, dtype=dt.float64), dt.ones(3)
    assert dt.normal(mean, std).shape == (2, 3) and dt.normal(mean, std).dtype == np.float64
    assert dt.normal(dt.zeros(4), 2.0).shape == (4,) and dt.normal(0.0, dt.ones(5)).shape == (5,)
    drawn = dt.normal(3.0, 0.5, size=(20000,), generator=dt.Generator().manual_seed(0))
    assert drawn.dtype == np.float32 and abs(drawn.mean().item() - 3.0) < 0.02 and abs(drawn.std().item() - 0.5) < 0.02
    assert dt.normal(0, 1, size=(2,), requires_grad=True).is_leaf
    assert dt.normal(0.0, 1.0, (2, 3), dtype=dt.float64).dtype == np.float64
    with pytest.raises(TypeError, match="size"):
        dt.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        dt.normal(dt.zeros(2), -1.0)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        dt.normal(dt.zeros(2), dt.tensor([1.0, -1.0]))
    with pytest.raises(RuntimeError, match="floating point"):
        dt.normal(dt.zeros(2, dtype=dt.int64), 1.0)


@pytest.mark.parametrize("form, name", [("tensor, tensor", "NormalBackward3"), ("tensor, float", "NormalBackward1"),
                                        ("float, tensor", "NormalBackward2")])
def test_normal_is_not_differentiated_through_the_draw(form, name):
    mean, std = dt.zeros(3, requires_grad=True), dt.ones(3, requires_grad=True)
    args = {"tensor, tensor": (mean, std), "tensor, float": (mean, 1.0), "float, tensor": (0.0, std)}[form]
    y = dt.normal(*args)
    assert y.grad_fn.name() == name
    y.sum().backward()
    for t in (mean, std):
        assert t.grad is None or t.grad.tolist() == [0.0] * 3
    torch = pytest.importorskip("torch")
    m, s = torch.zeros(3, requires_grad=True), torch.ones(3, requires_grad=True)
    theirs = {"tensor, tensor": (m, s), "tensor, float": (m, 1.0), "float, tensor": (0.0, s)}[form]
    assert type(torch.normal(*theirs).grad_fn).__name__ == name


def test_from_numpy_shares_memory_both_ways():
    array = np.arange(4.0)
    t = dt.from_numpy(array)
    assert t.dtype == np.float64 and not t.requires_grad
    array[0] = 10.0
    t[1] = 20.0
    t.add_(1.0)
    assert array.tolist() == [11.0, 21.0, 3.0, 4.0] == t.tolist()
    assert dt.from_numpy(np.array(3, np.int16)).dtype == np.int16
    with pytest.raises(TypeError, match="expected np.ndarray"):
        dt.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="can't convert"):
        dt.from_numpy(np.array(["a"], dtype=object))


def test_as_tensor_shares_where_dtype_and_device_allow():
    array = np.zeros(3)
    shared, copied = dt.as_tensor(array), dt.as_tensor(array, dtype=dt.float32)
    array[0] = 5.0
    assert shared.tolist()[0] == 5.0 and copied.tolist()[0] == 0.0 and copied.dtype == np.float32
    assert shared.dtype == np.float64
    t = dt.ones(2, requires_grad=True)
    assert dt.as_tensor(t) is t and dt.as_tensor(t, dtype=dt.float64).grad_fn is not None
    assert dt.as_tensor([1, 2]).dtype == np.int64 and dt.as_tensor([1.5]).dtype == np.float32


def test_tensor_constructor_is_pytorchs_legacy_one():
    assert dt.Tensor([1, 2]).dtype == np.float32 and dt.Tensor([[1, 2]]).tolist() == [[1.0, 2.0]]
    assert dt.Tensor(2, 3).shape == (2, 3) and dt.Tensor().shape == (0,)
    array = np.ones(2, np.float32)
    t = dt.Tensor(array)
    array[0] = 5.0
    assert t.tolist() == [5.0, 1.0]
    assert dt.Tensor(np.array([1, 2])).dtype == np.float32
    source = dt.tensor([1, 2])
    assert dt.Tensor(source).dtype == np.int64  # (another tensor's memory, shared as it is)
    with pytest.raises(TypeError, match="sequence"):
        dt.Tensor(3.5)
    with pytest.raises(RuntimeError, match="negative dimension"):
        dt.Tensor(2, -1)


@pytest.mark.parametrize("data", [[1.0, 2.0], [1, 2], [True, False], [[1, 2.5]], 3, 2.5, [1 + 2j], True])
def test_tensor_infers_dtypes_as_torch(data):
    expected = {float: np.float32, int: np.int64, bool: np.bool_, complex: np.complex64}
    leaves = np.ravel(np.array(data, dtype=object)).tolist()
    kind = complex if any(isinstance(v, complex) for v in leaves) else float if any(
        isinstance(v, float) for v in leaves) else bool if all(isinstance(v, bool) for v in leaves) else int
    assert dt.tensor(data).dtype == expected[kind]
    torch = pytest.importorskip("torch")
    assert str(torch.tensor(data).dtype).replace("torch.", "") == dt.tensor(data).dtype.name


def test_the_d2l_control_flow_example_runs_as_written():
    f = d2l
    a = dt.randn(size=(), requires_grad=True)
    d = f(a)
    d.backward()
    assert a.shape == () and bool(a.grad == d / a)


def test_expand_repeat_and_contiguous_as_torchs():
    x = dt.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    assert x.expand(-1, 4).shape == (3, 4) and x.expand(2, 3, 4).shape == (2, 3, 4)
    assert x.expand(3, 4).grad_fn.name() == "ExpandBackward0"
    with pytest.raises(RuntimeError, match="-1"):
        x.expand(-1, 3, 4)
    assert dt.arange(3).repeat(2, 2).tolist() == [[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]]
    assert x.contiguous() is x and x.is_contiguous()
    t = dt.ones(2, 3, requires_grad=True).t()
    copied = t.contiguous()
    assert not t.is_contiguous() and copied.is_contiguous() and copied.grad_fn.name() == "CloneBackward0"
    copied.sum().backward()
    torch = pytest.importorskip("torch")
    assert torch.arange(3).repeat(2, 2).tolist() == dt.arange(3).repeat(2, 2).tolist()
    assert torch.arange(6).reshape(2, 3).repeat(2, 1, 2).tolist() == dt.arange(6).reshape(2, 3).repeat(2, 1, 2).tolist()


NEW_FORMS = [("new_zeros", ((2, 3),)), ("new_zeros", (2, 3)), ("new_ones", ([4],)), ("new_empty", (0, 2)),
             ("new_full", ((1, 2), 7)), ("new_full", ((), 2.5)), ("new_tensor", ([[1, 2], [3, 4]],)),
             ("new_tensor", (3,))]


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("name, args", NEW_FORMS)
def test_new_factories_take_dtype_and_device_from_the_tensor(name, args, dtype):
    """Tensor.new_*: a leaf that does not require grad, of the tensor's dtype (not the fill value's or the data's),
    with the values PyTorch gives."""
    source = dt.tensor(np.arange(3), dtype=getattr(dt, dtype), requires_grad=dtype != "int64")
    made = getattr(source, name)(*args)
    assert made.dtype == np.dtype(dtype) and made.is_leaf and not made.requires_grad and made.device == source.device
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.tensor(np.arange(3), dtype=getattr(torch, dtype)), name)(*args)
    assert made.shape == tuple(theirs.shape) and str(theirs.dtype) == f"torch.{dtype}"
    if name != "new_empty":
        np.testing.assert_array_equal(made.numpy(), theirs.numpy())


def test_new_factories_keywords():
    source = dt.tensor([1.0, 2.0])
    made = source.new_full((2,), 3, dtype=dt.int64)
    assert made.dtype == np.int64 and made.tolist() == [3, 3]
    grown = source.new_zeros(2, requires_grad=True)
    assert grown.requires_grad and grown.is_leaf and grown.dtype == np.float32
    copied = source.new_tensor(source)  # (a copy: writing it leaves the source as it was)
    copied[0] = 9.0
    assert source.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="must be a tuple of ints"):
        source.new_zeros(2.0)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "full_like"])
def test_numpy_like_factories_of_a_tensor_give_a_tensor(name):
    """dnp.zeros_like(t) and np.zeros_like(t) of a tensor give a tensor of its shape and dtype, as torch.zeros_like
    (they gave an ndarray)."""
    import dualtape.numpy as dnp

    source = dt.tensor(np.ones((2, 3)), requires_grad=True)
    extra = (4.0,) if name == "full_like" else ()
    for made in (getattr(dnp, name)(source, *extra), getattr(np, name)(source, *extra)):
        assert isinstance(made, dt.Tensor) and made.shape == (2, 3) and made.dtype == np.float64
        assert not made.requires_grad
        if name != "empty_like":
            assert np.all(made.numpy() == {"zeros_like": 0, "ones_like": 1, "full_like": 4}[name])
    assert getattr(dnp, name)(source, *extra, dtype=np.float32).dtype == np.float32
