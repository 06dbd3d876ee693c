"""Contraction primitives against NumPy: matmul with 1-D, 2-D and batched broadcast shapes, and one- and
two-operand einsum with implicit and explicit outputs; eager, per-equation impl and abstract_eval, dt.jit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from opcheck import check_op, prim_names
from primitive_cases import CONTRACTIONS


@pytest.mark.parametrize("name", sorted(CONTRACTIONS))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(CONTRACTIONS[name].values, label="case")
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name])


@pytest.mark.parametrize(
    "x_shape, y_shape",
    [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3,)), ((3,), (5, 3, 2)),
     ((5, 1, 2, 3), (4, 3, 2)), ((1, 2, 3), (5, 3, 4))],
)
def test_matmul_operator_and_ndarray_operands(x_shape, y_shape):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=x_shape).astype(np.float32), rng.normal(size=y_shape).astype(np.float32)
    check_op(lambda x, y: x @ y, lambda x, y: x @ y, (x, y), prim=REGISTRY["matmul"], eager=False)
    check_op(lambda x: x @ y, lambda x: x @ y, (x,), eager=False)  # tracer @ ndarray
    check_op(lambda y: x @ y, lambda y: x @ y, (y,), eager=False)  # ndarray @ tracer


@pytest.mark.parametrize(
    "x_shape, y_shape, fragment",
    [((2, 3), (4, 5), "inner dimensions"), ((3,), (4,), "inner dimensions"), ((), (3,), "scalars"),
     ((2, 2, 3), (3, 3, 4), "broadcast")],
)
def test_matmul_shape_errors(x_shape, y_shape, fragment):
    def f(x, y):
        return x @ y  # the failing line

    with pytest.raises(ValueError, match=fragment) as info:
        dt.jit(f)(np.ones(x_shape), np.ones(y_shape))
    message = str(info.value)
    assert "matmul" in message and str(x_shape) in message and str(y_shape) in message, message
    assert f"test_linalg.py:{f.__code__.co_firstlineno + 1}" in message


@pytest.mark.parametrize(
    "spec, shapes",
    [("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ij,kj", [(2, 3), (4, 3)]),
     ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]), ("i,i", [(3,), (3,)]), ("i,j->ij", [(3,), (2,)]),
     ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij->ji", [(2, 3)]), ("ij", [(2, 3)]), ("ji", [(2, 3)]),
     ("ijk->", [(2, 3, 4)]), ("ij->j", [(2, 3)]), (",ij->ij", [(), (2, 3)]), ("i j, j k -> i k", [(2, 3), (3, 4)])],
)
def test_einsum_specs(spec, shapes):
    rng = np.random.default_rng(1)
    xs = tuple(rng.normal(size=s) for s in shapes)
    program = check_op(lambda *xs: np.einsum(spec, *xs), lambda *xs: dnp.einsum(spec, *xs), xs)
    assert prim_names(program) == ["einsum"]
    check_op(lambda *xs: np.einsum(spec, *xs), lambda *xs: np.einsum(spec, *xs), xs, eager=False)


def test_einsum_size_and_rank_mismatches_are_shape_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="einsum"):
        dt.jit(lambda x: dnp.einsum("ij,jk->ik", x, x))(x)  # j is 3 in one operand and 2 in the other
    with pytest.raises(ValueError, match="einsum"):
        dt.jit(lambda x: dnp.einsum("ijk->i", x))(x)  # rank mismatch


def test_matmul_keeps_float32_and_promotes_mixed():
    x32 = np.ones((2, 3), np.float32)
    assert dt.trace(lambda x: x @ x.T)(x32).out_avals[0].dtype == np.float32
    check_op(np.matmul, dnp.matmul, (x32, np.ones((3, 2), np.int32)))
    check_op(np.matmul, dnp.matmul, (x32, np.ones((3,), np.float64)))
