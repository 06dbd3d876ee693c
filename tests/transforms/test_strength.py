"""Strength reduction (transforms/strength.py) and the einsum rule's diagonal: each rewrite fires on its pattern,
leaves the values as they were (bit for bit where it is exact), and stays away where it would change a value,
a shape or a dtype, or where dt.compile's exact mode forbids rounding in another order."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.transforms.evaluate import eval_program
from dualtape.transforms.passes import optimize
from gradcheck import check_grads
from opcheck import prim_names
from testkit import EXACT

RNG = np.random.default_rng(11)
A = RNG.normal(size=(4, 4))
B = RNG.normal(size=(4, 4))
V = RNG.normal(size=4)


def lean(f, *args, exact=False):
    """f's optimised program (exact: dt.compile's passes) and its values, checked against f run eagerly."""
    program = optimize(dt.trace(f)(*args), exact=exact).check()
    got = eval_program(program, list(args))
    expected = f(*args)
    for g, e in zip(got, expected if isinstance(expected, tuple) else (expected,)):
        np.testing.assert_allclose(g, e, **EXACT)
        assert np.shape(g) == np.shape(e) and np.result_type(g) == np.result_type(e)
    return program, got


def einsum_specs(program) -> list[str]:
    return [e.params["spec"] for e in program.eqns if e.prim.name == "einsum"]


# ---- sum(x * I) is a trace -------------------------------------------------------------------------------
def cumsum(x):
    """A step beyond the array API standard (so the trace, an einsum, may be added to the program)."""
    return dnp.cumsum(x, axis=-1)


def test_a_sum_of_a_product_with_the_identity_is_a_trace():
    program, (value,) = lean(lambda x: dnp.sum(cumsum(x) * np.eye(4)), A)
    assert prim_names(program) == ["cumsum", "einsum"] and einsum_specs(program) == ["ii->"]
    np.testing.assert_allclose(value, np.trace(np.cumsum(A, axis=-1)), **EXACT)
    program, _ = lean(lambda x: dnp.sum(np.eye(4) * cumsum(x), axis=(1, 2)), np.stack([A, B]))  # a stack, I first
    assert einsum_specs(program) == ["aii->a"] and "mul" not in prim_names(program)


def test_the_noise_gradient_of_a_cholesky_factor_reads_the_diagonal_only():
    spd = A @ A.T + 4 * np.eye(4)
    f = lambda s, k, w: dnp.sum(dnp.linalg.cholesky(k + s * np.eye(4)) * w)  # noqa: E731
    program = dt.trace(dt.grad(f))(np.array(0.3), spd, B)
    assert "ii->" in einsum_specs(program) and "reduce_sum" not in prim_names(program)
    check_grads(lambda s: f(s, spd, B), (np.array(0.3),), order=1, modes=("rev",))


@pytest.mark.parametrize("f, x", [
    (lambda x: dnp.sum(cumsum(x) * (2 * np.eye(4))), A),  # a scaled identity
    (lambda x: dnp.sum(cumsum(x) * np.tri(4)), A),  # a triangle
    (lambda x: dnp.sum(cumsum(x) * np.eye(4), axis=0), A),  # one axis
    (lambda x: dnp.sum(cumsum(x) * np.eye(4), keepdims=True), A),
    (lambda x: dnp.sum(cumsum(x) * np.eye(4)), V),  # x broadcast against I: the sum of x, not a trace
    (lambda x: dnp.sum(cumsum(x) * np.eye(4)), A.astype(np.float32)),  # promoted to float64 by I
    (lambda x: dnp.sum(cumsum(x) * np.eye(4, 5)), RNG.normal(size=(4, 5))),  # not square
    (lambda x: dnp.sum(x * np.eye(4)), A),  # within the array API standard: no einsum brought in
])
def test_a_trace_is_not_read_into_other_products(f, x):
    program, _ = lean(f, x)
    assert "einsum" not in prim_names(program) and "mul" in prim_names(program)


def test_exact_mode_keeps_the_product_and_its_sum():
    program, _ = lean(lambda x: dnp.sum(cumsum(x) * np.eye(4)), A, exact=True)
    assert prim_names(program) == ["cumsum", "mul", "reduce_sum"]


# ---- (c y) + (c y) is (2c) y -----------------------------------------------------------------------------
def test_half_a_squared_norm_has_the_vector_itself_as_its_gradient():
    program = dt.trace(dt.grad(lambda z: 0.5 * dnp.sum(z * z)))(V)
    assert prim_names(program) == [] and program.outputs[0] is program.inputs[0]
    program = dt.trace(dt.grad(lambda z: dnp.mean(z * z)))(V)  # (z / 4) twice: z * 0.5, one product
    assert prim_names(program) == ["mul"] and program.eqns[0].inputs[0].value == 0.5
    np.testing.assert_array_equal(dt.grad(lambda z: dnp.mean(z * z))(V), V * 0.25 + V * 0.25)


@pytest.mark.parametrize("f, args", [
    (lambda y, w: 3.0 * y + 2.0 * y, (V, V)),  # other constants
    (lambda y, w: 3.0 * y + 3.0 * w, (V, V + 1)),  # other operands
    (lambda y, w: 3 * y + 3 * y, (np.arange(4), np.arange(4))),  # integers
])
def test_sums_of_other_products_stay(f, args):
    program, _ = lean(f, *args)
    assert prim_names(program).count("add") == 1


def test_exact_mode_keeps_the_sum_of_products():
    program, _ = lean(lambda y: 0.5 * y + 0.5 * y, V, exact=True)
    assert prim_names(program) == ["mul", "add"]


# ---- an outer product through matmul is a broadcast product ----------------------------------------------
def test_a_matrix_product_over_one_column_and_one_row_is_their_product():
    f = lambda a, b: dnp.reshape(a, (4, 1)) @ dnp.reshape(b, (1, 4))  # noqa: E731
    program, (value,) = lean(f, V, V[::-1].copy())
    assert "matmul" not in prim_names(program) and "mul" in prim_names(program)
    np.testing.assert_array_equal(value, V[:, None] @ V[::-1][None, :])  # one product per element either way
    program, _ = lean(lambda a, b: a @ b, RNG.normal(size=(2, 3, 1)), RNG.normal(size=(1, 5)))  # a stack
    assert prim_names(program) == ["mul"]


@pytest.mark.parametrize("x, y", [
    (RNG.normal(size=(4, 2)), RNG.normal(size=(2, 4))),  # a real contraction
    (V, V),  # vectors: a dot product
    (RNG.normal(size=(4, 1)) + 1j, RNG.normal(size=(1, 3))),  # complex
])
def test_other_matrix_products_stay(x, y):
    program, _ = lean(lambda a, b: a @ b, x, y)
    assert prim_names(program) == ["matmul"]


# ---- a negation moves to the sum it feeds ----------------------------------------------------------------
def test_a_negation_moves_past_products_to_the_sum():
    program, (value,) = lean(lambda x, y: dnp.sum(-x * y / 2.0), A, B)
    names = prim_names(program)
    assert names[-1] == "neg" and program.eqns[-1].inputs[0].aval.shape == ()
    np.testing.assert_array_equal(value, np.sum(-A * B / 2.0))  # negation is exact: the same bits
    program, _ = lean(lambda x, y: (-x) * (-y), A, B)  # two negations cancel
    assert prim_names(program) == ["mul"]


def test_a_negation_stays_where_moving_it_costs_more():
    program, _ = lean(lambda s, y: dnp.sum(-s * y), np.array(2.0), A)  # -s on one number, not on s * y
    assert prim_names(program)[0] == "neg" and program.eqns[0].outs[0].aval.shape == ()
    program, _ = lean(lambda x, y: dnp.sum(-x * y), np.arange(4), np.arange(4))  # integers
    assert prim_names(program)[0] == "neg"
    program, _ = lean(lambda x, y: (-x, -x * y), A, B)  # -x read twice: moving it would negate twice
    assert prim_names(program) == ["neg", "mul"]
    program, _ = lean(lambda x, y: dnp.sum(-x * y), A, B, exact=True)
    assert prim_names(program)[0] == "neg"


# ---- exact rewrites: broadcast operands, layouts, stop_gradient, kept axes ----------------------------------
def test_a_broadcast_operand_of_an_elementwise_operation_is_read_as_it_is():
    program, _ = lean(lambda a, b: dnp.broadcast_to(a, (4, 4)) * b, V.reshape(4, 1), A, exact=True)
    assert prim_names(program) == ["mul"]
    program, _ = lean(lambda a, c: dnp.broadcast_to(a, (3, 4)) * c, V, np.array(2.0), exact=True)
    assert prim_names(program) == ["broadcast_to", "mul"]  # (the broadcast makes the result's shape)


def test_a_row_major_copy_of_a_fresh_vector_or_matrix_product_is_the_value_itself():
    program, _ = lean(lambda x: dnp.ascontiguousarray(dnp.sum(x, axis=0)), A, exact=True)
    assert prim_names(program) == ["reduce_sum"]
    program, _ = lean(lambda x, y: dnp.ascontiguousarray(x @ y), A, B, exact=True)
    assert prim_names(program) == ["matmul"]
    for f, args in ((lambda x: dnp.ascontiguousarray(x.T), (A,)), (lambda v: dnp.ascontiguousarray(v), (V,)),
                    (lambda x: dnp.ascontiguousarray(x * 2.0), (A,))):  # (an elementwise result keeps x's layout)
        program, _ = lean(f, *args, exact=True)
        assert "contiguous" in prim_names(program)


def test_a_stop_gradient_inside_a_stopped_computation_goes_and_derivatives_stay():
    inner = lambda x, y: dt.stop_gradient(x + dt.stop_gradient(y * 2.0))  # noqa: E731
    program, _ = lean(inner, A, B, exact=True)
    assert prim_names(program).count("stop_gradient") == 1
    outer = lambda x, y: x * dt.stop_gradient(y * 2.0) + inner(x, y)  # noqa: E731  (the first one must stay)
    program, _ = lean(outer, A, B, exact=True)
    assert prim_names(program).count("stop_gradient") == 2
    f = lambda x, y: dnp.sum(outer(x, y))  # noqa: E731
    gx, gy = dt.grad(f, argnums=(0, 1))(A, B)
    np.testing.assert_array_equal(gx, B * 2.0)
    np.testing.assert_array_equal(gy, np.zeros_like(B))


def test_a_reduction_reshaped_to_keep_its_axes_keeps_them_itself():
    program, _ = lean(lambda x: dnp.reshape(dnp.sum(x, axis=1), (4, 1)) / x, A, exact=True)
    assert prim_names(program) == ["reduce_sum", "div"] and program.eqns[0].params["keepdims"]
    program, _ = lean(lambda x: dnp.reshape(dnp.max(x, axis=1), (1, 4)), A, exact=True)  # other axes
    assert prim_names(program) == ["reduce_max", "reshape"]
    program, _ = lean(lambda x: (dnp.reshape(dnp.sum(x, axis=1), (4, 1)), dnp.sum(x, axis=1)), A, exact=True)
    assert prim_names(program) == ["reduce_sum", "reshape"]  # (the sum read twice: computed once)


# ---- einsum's rule: a diagonal's cotangent written onto the diagonal ----------------------------------------
@pytest.mark.parametrize("spec, shape", [("ii->i", (4, 4)), ("bii->bi", (2, 3, 3)), ("ii->", (3, 3))])
def test_the_cotangent_of_a_diagonal_is_written_onto_zeros(spec, shape):
    x = RNG.normal(size=shape)
    w = RNG.normal(size=np.einsum(spec, x).shape)
    f = lambda a, c: dnp.sum(dnp.einsum(spec, a) * c)  # noqa: E731
    program = dt.trace(dt.grad(f))(x, w)
    assert "index_add" in prim_names(program) and not any("," in s for s in einsum_specs(program))
    expected = np.zeros(shape)
    term = spec.split("->")[0]
    np.einsum(f"{term}->{term[:-1]}", expected)[...] = w  # (NumPy's diagonal as a writable view)
    np.testing.assert_array_equal(dt.grad(f)(x, w), expected)
    check_grads(lambda a: dnp.einsum(spec, a), (x,), order=2, modes=("fwd", "rev"))


def test_other_repeated_letters_keep_the_identity_ties():
    x, w = RNG.normal(size=(3, 3, 2)), RNG.normal(size=2)
    program = dt.trace(dt.grad(lambda a, c: dnp.sum(dnp.einsum("iij->j", a) * c)))(x, w)
    assert any("," in s for s in einsum_specs(program))  # (i, ij -> iij with an identity)
    check_grads(lambda a: dnp.einsum("iij->j", a), (x,), order=2, modes=("fwd", "rev"))
