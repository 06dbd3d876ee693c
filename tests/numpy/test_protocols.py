"""NumPy's dispatch protocols and the array method set on traced values: np.sin(tracer), np.sum(tracer, ...),
ndarray + tracer, ndarray @ tracer, PyTorch-style methods (.sum(dim=, keepdim=), .view, .permute,
.transpose(0, 2), .unsqueeze, .norm(), .pow(), .softmax(dim), .clamp, ...). Each records equations and
gives NumPy's value under dt.jit; unsupported NumPy functions and out= raise NotImplementedError naming them."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from opcheck import check_op, prim_names

RNG = np.random.default_rng(3)
X = RNG.normal(size=(2, 3, 4)).astype(np.float32)
M = RNG.normal(size=(3, 4)).astype(np.float32)
V = RNG.normal(size=(4,)).astype(np.float32)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


UFUNC_CASES = {  # name: (function of a traced value, primitives it must record)
    "np.sin": (lambda x: np.sin(x), ["sin"]),
    "np.exp": (lambda x: np.exp(x), ["exp"]),
    "np.log1p": (lambda x: np.log1p(np.abs(x)), ["abs", "log1p"]),
    "np.tanh": (lambda x: np.tanh(x), ["tanh"]),
    "np.square": (lambda x: np.square(x), ["integer_pow"]),
    "np.maximum": (lambda x: np.maximum(x, 0.0), ["maximum"]),
    "np.add": (lambda x: np.add(x, x), ["add"]),
    "np.negative": (lambda x: np.negative(x), ["neg"]),
    "np.greater": (lambda x: np.greater(x, 0.5), ["gt"]),
    "np.add.reduce": (lambda x: np.add.reduce(x, axis=1), ["reduce_sum"]),
    "np.maximum.reduce": (lambda x: np.maximum.reduce(x, axis=0), ["reduce_max"]),
}

FUNCTION_CASES = {
    "np.sum axis=0": (lambda x: np.sum(x, axis=0), ["reduce_sum"]),
    "np.sum keepdims": (lambda x: np.sum(x, axis=(0, 2), keepdims=True), ["reduce_sum"]),
    "np.mean": (lambda x: np.mean(x, axis=-1), ["reduce_sum", "div"]),
    "np.max": (lambda x: np.max(x), ["reduce_max"]),
    "np.argmax": (lambda x: np.argmax(x, axis=1), ["argmax"]),
    "np.reshape": (lambda x: np.reshape(x, (6, 4)), ["reshape"]),
    "np.transpose": (lambda x: np.transpose(x, (2, 0, 1)), ["transpose"]),
    "np.where": (lambda x: np.where(x > 0, x, 0.0), ["gt", "where"]),
    "np.concatenate": (lambda x: np.concatenate([x, x], axis=1), ["concatenate"]),
    "np.stack": (lambda x: np.stack([x, x], axis=-1), ["expand_dims", "concatenate"]),
    "np.expand_dims": (lambda x: np.expand_dims(x, 1), ["expand_dims"]),
    "np.einsum": (lambda x: np.einsum("bij,j->bi", x, V), ["einsum"]),
    "np.dot": (lambda x: np.dot(x, V), ["einsum"]),
    "np.linalg.norm": (lambda x: np.linalg.norm(x), ["reduce_sum", "sqrt"]),
    "np.clip": (lambda x: np.clip(x, -0.5, 0.5), ["where"]),
    "np.broadcast_to": (lambda x: np.broadcast_to(x, (5, 2, 3, 4)), ["broadcast_to"]),
}

OPERATOR_CASES = {
    "ndarray + tracer": (lambda x: M + x, ["add"]),
    "ndarray * tracer": (lambda x: M * x, ["mul"]),
    "ndarray - tracer": (lambda x: M - x, ["sub"]),
    "ndarray / tracer": (lambda x: M / (x * x + 1), ["div"]),
    "ndarray ** tracer": (lambda x: np.abs(M) ** x, ["pow"]),
    "ndarray < tracer": (lambda x: M < x, ["lt"]),
    "ndarray @ tracer": (lambda x: M.T @ x, ["matmul"]),
    "tracer @ ndarray": (lambda x: x @ M.T, ["matmul"]),
    "scalar - tracer": (lambda x: 1.0 - x, ["sub"]),
    "scalar / tracer": (lambda x: 2.0 / (x * x + 1), ["div"]),
    "scalar ** tracer": (lambda x: 2.0 ** x, ["pow"]),
    "float32 scalar * tracer": (lambda x: np.float32(3) * x, ["mul"]),
    "-tracer": (lambda x: -x, ["neg"]),
    "abs(tracer)": (lambda x: abs(x), ["abs"]),
    "tracer % scalar": (lambda x: x % 0.3, ["mod"]),
    "tracer // scalar": (lambda x: x // 0.3, ["floor_divide"]),
    "~(tracer > 0)": (lambda x: ~(x > 0), ["gt", "logical_not"]),
    "(tracer > 0) & (tracer < 1)": (lambda x: (x > 0) & (x < 1), ["logical_and"]),
    "(tracer > 0) | (tracer < -1)": (lambda x: (x > 0) | (x < -1), ["logical_or"]),
}

METHOD_CASES = {  # name: (method call on a traced value, NumPy equivalent, primitives it must record)
    ".sum(dim=1, keepdim=True)": (lambda x: x.sum(dim=1, keepdim=True), lambda x: x.sum(1, keepdims=True),
                                  ["reduce_sum"]),
    ".sum(axis=(0, 2))": (lambda x: x.sum(axis=(0, 2)), lambda x: x.sum(axis=(0, 2)), ["reduce_sum"]),
    ".mean(dim=-1)": (lambda x: x.mean(dim=-1), lambda x: x.mean(-1), ["reduce_sum"]),
    ".max(0)": (lambda x: x.max(0), lambda x: x.max(0), ["reduce_max"]),
    ".min(axis=1, keepdims=True)": (lambda x: x.min(axis=1, keepdims=True), lambda x: x.min(1, keepdims=True),
                                    ["reduce_min"]),
    ".max(dim=1).values": (lambda x: x.max(dim=1).values, lambda x: x.max(1), ["argmax", "getitem"]),
    ".transpose(1, 0) of a matrix": (lambda x: x[0].transpose(1, 0), lambda x: x[0].T, ["transpose"]),
    ".T": (lambda x: x.T, lambda x: x.T, ["transpose"]),
    ".mT": (lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), ["transpose"]),
    ".reshape(6, 4)": (lambda x: x.reshape(6, 4), lambda x: x.reshape(6, 4), ["reshape"]),
    ".reshape((4, -1))": (lambda x: x.reshape((4, -1)), lambda x: x.reshape((4, -1)), ["reshape"]),
    ".view(-1)": (lambda x: x.view(-1), lambda x: x.reshape(-1), ["reshape"]),
    ".view(2, 12)": (lambda x: x.view(2, 12), lambda x: x.reshape(2, 12), ["reshape"]),
    ".transpose(0, 2) swaps on 3-D": (lambda x: x.transpose(0, 2), lambda x: np.swapaxes(x, 0, 2), ["transpose"]),
    ".transpose((2, 0, 1))": (lambda x: x.transpose((2, 0, 1)), lambda x: x.transpose(2, 0, 1), ["transpose"]),
    ".transpose(1, 2, 0)": (lambda x: x.transpose(1, 2, 0), lambda x: x.transpose(1, 2, 0), ["transpose"]),
    ".permute(2, 0, 1)": (lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), ["transpose"]),
    ".permute((1, 0, 2))": (lambda x: x.permute((1, 0, 2)), lambda x: x.transpose(1, 0, 2), ["transpose"]),
    ".unsqueeze(1)": (lambda x: x.unsqueeze(1), lambda x: x[:, None], ["expand_dims"]),
    ".unsqueeze(-1)": (lambda x: x.unsqueeze(-1), lambda x: x[..., None], ["expand_dims"]),
    ".squeeze()": (lambda x: x.unsqueeze(0).squeeze(), lambda x: x, ["squeeze"]),
    ".norm()": (lambda x: x.norm(), lambda x: np.sqrt(np.sum(x * x)), ["reduce_sum", "sqrt"]),
    ".norm(p=1)": (lambda x: x.norm(p=1), lambda x: np.sum(np.abs(x)), ["abs", "reduce_sum"]),
    ".norm(dim=1)": (lambda x: x.norm(dim=1), lambda x: np.sqrt(np.sum(x * x, axis=1)), ["reduce_sum"]),
    ".norm(p=inf, dim=-1, keepdim=True)": (lambda x: x.norm(p=np.inf, dim=-1, keepdim=True),
                                            lambda x: np.abs(x).max(-1, keepdims=True), ["reduce_max"]),
    ".exp()": (lambda x: x.exp(), np.exp, ["exp"]),
    ".pow(3)": (lambda x: x.pow(3), lambda x: x ** 3, ["integer_pow"]),
    ".pow(2.5)": (lambda x: x.abs().pow(2.5), lambda x: np.abs(x) ** 2.5, ["pow"]),
    ".tanh()": (lambda x: x.tanh(), np.tanh, ["tanh"]),
    ".sigmoid()": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), ["sigmoid"]),
    ".relu()": (lambda x: x.relu(), lambda x: np.maximum(x, 0), ["relu"]),
    ".softmax(dim=1)": (lambda x: x.softmax(dim=1), lambda x: _softmax(x, 1), ["exp", "reduce_sum", "div"]),
    ".softmax(0)": (lambda x: x.softmax(0), lambda x: _softmax(x, 0), ["exp"]),
    ".log_softmax(-1)": (lambda x: x.log_softmax(-1), lambda x: np.log(_softmax(x, -1)), ["log"]),
    ".clamp(-0.5, 0.5)": (lambda x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), ["where"]),
    ".clamp(min=0)": (lambda x: x.clamp(min=0), lambda x: np.maximum(x, 0), ["where"]),
    ".dot(v)": (lambda x: x.dot(V), lambda x: x.dot(V), ["einsum"]),
    ".matmul(v)": (lambda x: x.matmul(V), lambda x: x @ V, ["matmul"]),
    ".astype(float64)": (lambda x: x.astype(np.float64), lambda x: x.astype(np.float64), ["convert_element_type"]),
    ".flatten()": (lambda x: x.flatten(), lambda x: x.flatten(), ["reshape"]),
    "indexing": (lambda x: x[1, :, ::-2], lambda x: x[1, :, ::-2], ["getitem"]),
}


@pytest.mark.parametrize("name", sorted(UFUNC_CASES))
def test_numpy_ufuncs_on_traced_values(name):
    fn, prims = UFUNC_CASES[name]
    program = check_op(fn, fn, (X,), eager=False)
    assert all(p in prim_names(program) for p in prims), str(program)


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_numpy_functions_on_traced_values(name):
    fn, prims = FUNCTION_CASES[name]
    program = check_op(fn, fn, (X,), eager=False)
    assert all(p in prim_names(program) for p in prims), str(program)


@pytest.mark.parametrize("name", sorted(OPERATOR_CASES))
def test_operators_with_arrays_and_scalars(name):
    fn, prims = OPERATOR_CASES[name]
    x = X[0]
    program = check_op(fn, fn, (x,), eager=False, rtol=1e-4)
    assert all(p in prim_names(program) for p in prims), str(program)


@pytest.mark.parametrize("name", sorted(METHOD_CASES))
def test_methods_on_traced_values(name):
    method, reference, prims = METHOD_CASES[name]
    program = check_op(reference, method, (X,), eager=False, rtol=1e-4, atol=1e-6)
    assert all(p in prim_names(program) for p in prims), str(program)


def test_tracer_shape_attributes_are_static():
    def f(x):
        assert x.shape == (2, 3, 4) and x.ndim == 3 and x.size == 24 and len(x) == 2 and x.dtype == np.float32
        assert np.shape(x) == (2, 3, 4) and np.ndim(x) == 3 and np.size(x) == 24
        return x.reshape(x.shape[0], -1)

    check_op(lambda x: x.reshape(2, -1), f, (X,), eager=False)


def test_iterating_a_traced_value_indexes_its_first_axis():
    check_op(lambda x: sum(row for row in x), lambda x: sum(row for row in x), (X,), eager=False)


@pytest.mark.parametrize("call, name", [
    (lambda x: np.convolve(x, x), "numpy.convolve"),
    (lambda x: np.histogram(x), "numpy.histogram"),
    (lambda x: np.unique(x), "numpy.unique"),
    (lambda x: np.interp(x, x, x), "numpy.interp"),
    (lambda x: np.spacing(x), "numpy.spacing"),
    (lambda x: np.frexp(x), "numpy.frexp"),
    (lambda x: np.add.accumulate(x), "numpy.add.accumulate"),
])
def test_unsupported_numpy_functions_raise_naming_them(call, name):
    with pytest.raises(NotImplementedError, match=name.replace(".", r"\.")):
        dt.jit(call)(V)


def test_ufunc_out_argument_raises_clearly():
    out = np.empty_like(V)
    with pytest.raises(NotImplementedError, match=r"numpy\.sin.*out="):
        dt.jit(lambda x: np.sin(x, out=out))(V)
    with pytest.raises(NotImplementedError, match="out="):
        dt.jit(lambda x: np.add(x, 1.0, out=(out,)))(V)


def test_np_asarray_of_a_traced_value_raises_a_clear_error():
    with pytest.raises(TypeError, match="traced value"):
        dt.jit(lambda x: np.asarray(x) + 1)(V)


def test_traced_values_mix_with_captured_ndarrays_and_numpy_scalars():
    """Closed-over arrays become captured constants; NumPy scalars keep their (strong) dtype as NumPy does."""

    def f(x):
        return (M * x + np.float64(1.0)) @ V

    check_op(lambda x: (M * x + np.float64(1.0)) @ V, f, (X[0],), eager=False)
    assert dt.trace(f)(X[0]).out_avals[0].dtype == np.float64


def test_dnp_functions_accept_lists_and_scalars():
    check_op(lambda x: np.add(x, [1.0, 2.0, 3.0, 4.0]), lambda x: dnp.add(x, [1.0, 2.0, 3.0, 4.0]), (V,))
    check_op(lambda x: np.stack([x, [1, 2, 3, 4]]), lambda x: dnp.stack([x, [1, 2, 3, 4]]), (V,))
    check_op(lambda x: np.maximum(x, 0), lambda x: dnp.maximum(x, 0), (V,))


# ---- one body, one meaning: transpose(d0, d1) and max(dim=) as the eager Tensor's ------------------------
W = np.array([[1.0, 2.0], [3.0, 4.0]])


def test_transpose_of_two_ints_swaps_them_on_a_matrix_too():
    """PyTorch's meaning, as on other ranks and on eager tensors; NumPy's spellings keep theirs."""
    swap = lambda x: x.transpose(0, 1)
    check_op(lambda x: x.T, swap, (W,), eager=False)
    check_op(lambda x: x.T, lambda x: x.transpose(1, 0), (W,), eager=False)
    check_op(lambda x: x.T, lambda x: x.transpose(), (W,), eager=False)
    check_op(lambda x: x, lambda x: x.transpose((0, 1)), (W,), eager=False)
    check_op(lambda x: x.T, lambda x: x.transpose((1, 0)), (W,), eager=False)
    check_op(lambda x: x.T, lambda x: x.transpose(np.int64(-2), -1), (W,), eager=False)


def test_a_body_with_transpose_gives_the_same_numbers_eagerly_and_traced():
    v = np.array([1.0, 0.0])
    f = lambda w: (w.transpose(0, 1) @ v).sum() * w[0, 1]
    w = dt.tensor(W, requires_grad=True)
    out = f(w)
    out.backward()
    assert dt.jit(f)(W) == out.item() == 6.0
    np.testing.assert_array_equal(dt.grad(f)(W), w.grad.numpy())
    np.testing.assert_array_equal(dt.jvp(f, (W,), (np.ones_like(W),))[0], 6.0)


@pytest.mark.parametrize("name, arg", [("max", np.argmax), ("min", np.argmin)])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_over_dim_give_values_and_indices_as_the_eager_tensor(name, arg, dim, keepdim):
    x = np.array([[0.3, 2.0, -1.0], [4.0, 4.0, 0.5]], np.float32)  # (a tie: the first index, as PyTorch)
    method = lambda t: getattr(t, name)(dim=dim, keepdim=keepdim)
    eager = method(dt.tensor(x))
    for traced in (dt.jit(method)(x), dt.vmap(method)(x[None])):
        traced = traced if traced.values.ndim == eager.values.ndim else type(traced)(*(a[0] for a in traced))
        assert type(traced).__name__ == type(eager).__name__ and traced._fields == ("values", "indices")
        np.testing.assert_array_equal(traced.values, eager.values.numpy())
        np.testing.assert_array_equal(traced.indices, eager.indices.numpy())
        assert traced.values.dtype == np.float32 and traced.indices.dtype == eager.indices.dtype
    np.testing.assert_array_equal(np.squeeze(dt.jit(method)(x).indices), arg(x, axis=dim))
    assert dt.jit(lambda t: getattr(t, name)(dim))(x).shape == getattr(np, name)(x, dim).shape  # NumPy's
    assert dt.jit(lambda t: getattr(t, name)(axis=dim))(x).shape == getattr(np, name)(x, dim).shape


@pytest.mark.parametrize("name", ["max", "min"])
def test_gradient_of_max_over_dim_goes_to_the_index_as_eagerly(name):
    x = np.array([[0.3, 2.0, -1.0], [4.0, 4.0, 0.5]])
    f = lambda t: (getattr(t, name)(dim=1).values * np.array([1.0, 2.0])).sum()
    t = dt.tensor(x, requires_grad=True)
    f(t).backward()
    np.testing.assert_array_equal(dt.grad(f)(x), t.grad.numpy())
    np.testing.assert_array_equal(dt.jacfwd(f)(x), t.grad.numpy())


def test_max_over_dim_of_a_scalar():
    out = dt.jit(lambda x: x.sum().max(dim=0))(W)
    eager = dt.tensor(W).sum().max(dim=0)
    assert out.values == eager.values.item() and out.indices == eager.indices.item() == 0


# ---- NumPy's keywords on traced values: defaults accepted, others named ------------------------------------
KEYWORD_CASES = {  # NumPy calls whose keywords reach a dualtape function through __array_function__
    "np.sum out=None": lambda x: np.sum(x, out=None),
    "np.sum where=True": lambda x: np.sum(x, axis=1, where=True),
    "np.sum dtype positional": lambda x: np.sum(x, 0, np.float64),
    "np.sum dtype=float64": lambda x: np.sum(x, dtype=np.float64),
    "np.sum dtype=int": lambda x: np.sum(x * 10, axis=-1, dtype=np.int64),
    "np.mean dtype=float64": lambda x: np.mean(x, axis=0, dtype=np.float64),
    "np.mean dtype=float32 of float64": lambda x: np.mean(x.astype(np.float64), dtype=np.float32),
    "np.mean out, keepdims positional": lambda x: np.mean(x, 1, None, None, True),
    "np.prod dtype": lambda x: np.prod(x, axis=0, dtype=np.float64),
    "np.var dtype, ddof": lambda x: np.var(x, axis=1, dtype=np.float64, ddof=1),
    "np.std out=None": lambda x: np.std(x, out=None, ddof=1),
    "np.max out, keepdims positional": lambda x: np.max(x, 1, None, True),
    "np.max initial": lambda x: np.max(x, axis=0, initial=0.5),
    "np.amin initial, where=True": lambda x: np.amin(x, axis=(0, 2), initial=-0.5, where=True),
    "np.argmax out=None": lambda x: np.argmax(x, axis=1, out=None, keepdims=True),
    "np.reshape shape=": lambda x: np.reshape(x, shape=(6, 4)),
    "np.reshape order='C'": lambda x: np.reshape(x, (4, 6), order="C"),
    "np.ravel order='C'": lambda x: np.ravel(x, order="C"),
    "np.clip min=, max=": lambda x: np.clip(x, min=-0.5, max=0.5),
    "np.clip a_min=None": lambda x: np.clip(x, a_min=None, a_max=0.5),
    "np.round decimals": lambda x: np.round(x, 1),
    "np.around decimals=": lambda x: np.around(x * 100, decimals=-1),
    "np.concatenate out, dtype": lambda x: np.concatenate([x, x], axis=1, out=None, dtype=None),
    "np.stack casting": lambda x: np.stack([x, x], casting="same_kind"),
    "np.dot out=None": lambda x: np.dot(x, V, out=None),
    "np.einsum optimize": lambda x: np.einsum("bij,j->bi", x, V, optimize=True),
    "np.zeros_like order='K'": lambda x: np.zeros_like(x, order="K", subok=True) + x,
    **({"np.take_along_axis default axis": lambda x: np.take_along_axis(x, np.argmax(x, axis=-1, keepdims=True))}
       if np.lib.NumpyVersion(np.__version__) >= "2.3.0" else {}),  # (axis=-1 became the default in NumPy 2.3)
    "np.size axis": lambda x: x * np.size(x, 1),
    "np.sin where=True": lambda x: np.sin(x, where=True),
}


@pytest.mark.parametrize("name", sorted(KEYWORD_CASES))
def test_numpy_keywords_at_their_defaults_are_accepted(name):
    fn = KEYWORD_CASES[name]
    check_op(fn, fn, (X,), eager=False)


@pytest.mark.parametrize("call, name, argument", [
    (lambda x: np.sum(x, where=x > 0), "numpy.sum", "where"),
    (lambda x: np.sum(x, initial=1.0), "numpy.sum", "initial"),
    (lambda x: np.mean(x, out=np.empty(())), "numpy.mean", "out"),
    (lambda x: np.max(x, axis=0, out=np.empty(4, np.float32)), "numpy.max", "out"),
    (lambda x: np.var(x, correction=1), "numpy.var", "correction"),
    (lambda x: np.reshape(x, (4, 1), order="F"), "numpy.reshape", "order"),
    (lambda x: np.zeros_like(x, shape=(2,)), "numpy.zeros_like", "shape"),
    (lambda x: np.concatenate([x, x], casting="unsafe"), "numpy.concatenate", "casting"),
    (lambda x: np.linalg.vector_norm(x) + np.clip(x, 0, 1, dtype=np.float64), "numpy.clip", "dtype"),
    (lambda x: np.sin(x, where=x > 0), "numpy.sin", "where"),
    (lambda x: np.exp(x, dtype=np.float64), "numpy.exp", "dtype"),
    (lambda x: np.vecdot(x, x, axes=[(0,), (0,), ()]), "numpy.vecdot", "axes"),
])
def test_numpy_keywords_dualtape_lacks_raise_naming_the_function_and_the_argument(call, name, argument):
    with pytest.raises(NotImplementedError, match=rf"{name.replace('.', '[.]')}\(\.\.\., {argument}=") as info:
        dt.jit(call)(V)
    assert "traced values" in str(info.value)
