"""The solves and factorisations (ops/linalg_solve.py, dnp.linalg) against NumPy: every case's NumPy-agreement
draws (eager, per-equation impl, dt.jit); NumPy's edges (singular matrices, 0x0 and empty stacks, integer input,
`upper=`); shape errors that name the op, the shapes and the fix; solve_triangular's and cholesky's evaluation
through SciPy, without it and for stacks; one factorisation where vmap batches only b; eager tensors through the
same rows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from cases_linalg import LINALG, solve_triangular_np
from dualtape.core.primitive import REGISTRY
from dualtape.errors import ShapeError
from dualtape.ops import lapack
from dualtape.ops import linalg_solve as ls
from opcheck import check_op, prim_names

RNG = np.random.default_rng(0)


def dominant(*shape):
    n = shape[-1]
    return RNG.uniform(-1, 1, shape) + (n + 1) * np.eye(n)


def positive_definite(*shape, dtype=np.float64):
    """Hermitian positive-definite matrices of dtype, with noise in the strict upper triangle (cholesky reads the
    lower one)."""
    m = RNG.normal(size=shape) + (1j * RNG.normal(size=shape) if np.dtype(dtype).kind == "c" else 0)
    a = m @ np.conj(np.swapaxes(m, -1, -2)) + shape[-1] * np.eye(shape[-1])
    return (a + np.triu(RNG.normal(size=shape), 1)).astype(dtype)


@pytest.mark.parametrize("name", sorted(LINALG))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(LINALG[name].values, label="case")
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name])


# ---- NumPy's edges -----------------------------------------------------------------------------------------
def test_singular_matrices_give_numpys_determinants_and_signs():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    check_op(np.linalg.det, dnp.linalg.det, (singular,))
    sign, logabsdet = dt.jit(dnp.linalg.slogdet)(singular)
    assert (sign, logabsdet) == (0.0, -np.inf)
    negative = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert dt.jit(lambda a: dnp.linalg.slogdet(a).sign)(negative) == -1.0


def test_the_derivative_of_det_at_a_singular_matrix_raises_numpys_error():
    """det's derivative is det(a) a^-T by a solve with a^T: at an exactly singular matrix, LinAlgError."""
    with pytest.raises(np.linalg.LinAlgError, match="Singular"):
        dt.grad(dnp.linalg.det)(np.array([[1.0, 2.0], [2.0, 4.0]]))


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_empty_matrices_and_stacks(shape):
    a = np.zeros(shape) + (np.eye(shape[-1]) if shape[-1] else 0)
    for np_fn, dt_fn in [(np.linalg.det, dnp.linalg.det), (np.linalg.inv, dnp.linalg.inv),
                         (np.linalg.cholesky, dnp.linalg.cholesky),
                         (lambda a: np.linalg.slogdet(a)[1], lambda a: dnp.linalg.slogdet(a)[1])]:
        check_op(np_fn, dt_fn, (a,))
    check_op(np.linalg.solve, dnp.linalg.solve, (a, np.ones(shape[:-1] + (2,))))


def test_integer_matrices_give_float64_and_float32_stays_float32():
    ints = np.array([[4, 1], [1, 3]])
    for name in ("det", "inv", "cholesky"):
        check_op(getattr(np.linalg, name), getattr(dnp.linalg, name), (ints,))
    check_op(np.linalg.solve, dnp.linalg.solve, (ints, np.array([1, 2])))
    f32 = ints.astype(np.float32)
    assert dt.trace(dnp.linalg.cholesky)(f32).out_avals[0].dtype == np.float32
    assert dt.grad(lambda a: dnp.linalg.slogdet(a)[1])(f32).dtype == np.float32


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_reads_the_lower_or_upper_triangle_as_numpy_does(upper):
    a = np.array([[4.0, 2.0, 0.5], [-1.0, 5.0, 1.0], [0.3, -2.0, 6.0]])  # (not symmetric: the triangles differ)
    check_op(lambda a: np.linalg.cholesky(a, upper=upper), lambda a: dnp.linalg.cholesky(a, upper=upper), (a,))


@pytest.mark.parametrize("a_shape, b_shape", [((3, 3), (3,)), ((2, 3, 3), (3,)), ((2, 3, 3), (3, 4)),
                                              ((3, 3), (5, 3, 2)), ((4, 1, 3, 3), (2, 3, 1)), ((3, 3), (3, 0))])
@pytest.mark.parametrize("lower", [False, True])
def test_vector_and_broadcast_right_hand_sides(a_shape, b_shape, lower):
    a, b = dominant(*a_shape), RNG.normal(size=b_shape)
    check_op(np.linalg.solve, dnp.linalg.solve, (a, b))
    check_op(np.linalg.solve, lambda a, b: np.linalg.solve(a, b), (a, b), eager=False)  # NumPy's name, traced
    check_op(lambda a, b: solve_triangular_np(a, b, 1, lower),
             lambda a, b: dnp.linalg.solve_triangular(a, b, "T", lower), (a, b))


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 3, 5, 8])
def test_matrix_power_matches_numpy(n):
    a = dominant(2, 3, 3) / 4
    check_op(lambda a: np.linalg.matrix_power(a, n), lambda a: dnp.linalg.matrix_power(a, n), (a,))
    ints = np.array([[1, 1], [0, 1]])
    check_op(lambda a: np.linalg.matrix_power(a, n), lambda a: dnp.linalg.matrix_power(a, n), (ints,))


# ---- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cholesky", "inv", "det", "slogdet"])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (4, 2, 3)])
def test_non_square_operands_name_the_op_the_shape_and_the_fix(name, shape):
    def f(a):
        return getattr(dnp.linalg, name)(a)  # the failing line

    with pytest.raises(ShapeError) as info:
        dt.jit(f)(np.ones(shape))
    message = str(info.value)
    assert message.startswith(f"{name}: ") and str(shape) in message and "fix:" in message, message
    assert f"test_linalg_solve.py:{f.__code__.co_firstlineno + 1}" in message


@pytest.mark.parametrize("fn", [dnp.linalg.solve, dnp.linalg.solve_triangular])
@pytest.mark.parametrize("a_shape, b_shape, fragment", [
    ((3, 3), (4,), "needs 3 rows"), ((3, 3), (2, 4), "needs 3 rows"), ((3, 3), (), "needs 3 rows"),
    ((2, 3, 3), (4, 3, 1), "do not broadcast"), ((3, 2), (3,), "square")])
def test_mismatched_right_hand_sides_name_the_shapes(fn, a_shape, b_shape, fragment):
    with pytest.raises(ShapeError, match=fragment) as info:
        fn(np.ones(a_shape), np.ones(b_shape))
    message = str(info.value)
    assert message.startswith(f"{fn.__name__}: ") and str(a_shape) in message and "fix:" in message, message


def test_the_rows_check_their_contract_too():
    """The rows take b as a stack of matrices of a's batch shape (the dnp functions arrange it)."""
    with pytest.raises(ShapeError, match="solve: b of shape \\(3,\\)"):
        dt.trace(ls.solve_p)(np.eye(3), np.ones(3))
    with pytest.raises(ShapeError, match="solve_triangular: b of shape \\(2, 3, 1\\)"):
        dt.trace(lambda a, b: ls.solve_triangular_p(a, b, trans=0, lower=True, unit_diagonal=False))(
            np.eye(3), np.ones((2, 3, 1)))


def test_bad_trans_and_exponents_are_refused():
    with pytest.raises(ValueError, match="trans must be"):
        dnp.linalg.solve_triangular(np.eye(2), np.ones(2), trans="X")
    with pytest.raises(TypeError, match="exponent must be an integer"):
        dnp.linalg.matrix_power(np.eye(2), 1.5)


# ---- solve_triangular's evaluation ---------------------------------------------------------------------------
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize("unit_diagonal", [False, True])
def test_solve_triangular_without_scipy_and_for_stacks(monkeypatch, lower, trans, unit_diagonal):
    """Without SciPy (and for any stack) the helper solves with numpy.linalg.solve on the triangle it reads."""
    a, b = RNG.normal(size=(2, 4, 4)) + 5 * np.eye(4), RNG.normal(size=(2, 4, 3))
    expected = solve_triangular_np(a, b, trans, lower, unit_diagonal)
    params = dict(trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    np.testing.assert_allclose(ls.solve_triangular_p(a, b, **params), expected, rtol=1e-12)  # a stack
    np.testing.assert_allclose(ls.solve_triangular_p(a[0], b[0], **params), expected[0], rtol=1e-12)  # SciPy's
    monkeypatch.setitem(__import__("sys").modules, "scipy.linalg", None)  # import scipy.linalg now fails
    no_scipy = lapack.solve_triangular_helper(np)
    np.testing.assert_allclose(no_scipy(a[0], b[0], **params), expected[0], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_cholesky_through_scipy_and_without_it_agree(monkeypatch, dtype):
    """A single matrix goes to SciPy's potrf, a stack (or anything without SciPy) to numpy.linalg.cholesky: the
    same lower factor in a's own dtype, read from the lower triangle, and NumPy's LinAlgError where a is not
    positive-definite."""
    stack = positive_definite(2, 5, 5, dtype=dtype)
    expected = np.linalg.cholesky(stack)
    tolerance = dict(rtol=1e-5, atol=1e-5) if np.dtype(dtype) in (np.float32, np.complex64) else dict(rtol=1e-12)
    indefinite = np.array([[1.0, 2.0], [2.0, 1.0]], dtype=dtype)
    with_scipy = lapack.cholesky_helper(np)
    monkeypatch.setitem(__import__("sys").modules, "scipy.linalg.lapack", None)  # importing it now fails
    without_scipy = lapack.cholesky_helper(np)
    assert without_scipy is np.linalg.cholesky
    for cholesky in (with_scipy, without_scipy, ls.cholesky_p):
        for got, want in [(cholesky(stack), expected), (cholesky(stack[1]), expected[1])]:
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, **tolerance)
        with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
            cholesky(indefinite)


def test_cholesky_of_one_matrix_calls_scipys_lapack_alone(monkeypatch):
    pytest.importorskip("scipy")
    a = positive_definite(4, 4, dtype=np.complex128)
    expected, before = np.linalg.cholesky(a), a.copy()
    monkeypatch.setattr(np.linalg, "cholesky", None)  # (numpy.linalg's now fails)
    got = lapack.cholesky_helper(np)(a)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got.flags.c_contiguous and np.array_equal(a, before)  # (laid out as NumPy's; a left as it was)


def test_emitted_code_calls_the_array_module_and_the_helpers():
    a, b = dominant(3, 3), RNG.normal(size=(3, 2))
    text = dt.source(lambda a, b: dnp.linalg.solve_triangular(dnp.linalg.cholesky(a @ a.T), b, lower=True), a, b)
    assert "= cholesky(" in text and "solve_triangular(" in text and "lower=True" in text
    source = dt.source(dt.value_and_grad(lambda a: dnp.linalg.slogdet(a).logabsdet), a)
    assert "xp.linalg.slogdet(a)[1]" in source and "xp.linalg.solve(" in source and "[0]" not in source  # (one part)


# ---- transforms and eager ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["solve", "solve_triangular"])
def test_vmap_over_b_alone_factorises_a_once(name):
    a, bs = dominant(3, 3), RNG.normal(size=(5, 3, 2))
    fn = getattr(dnp.linalg, name)
    program = dt.trace(dt.vmap(lambda b: fn(a, b)))(bs)
    assert prim_names(program).count(name) == 1 and "broadcast_to" not in prim_names(program)
    np.testing.assert_allclose(dt.vmap(lambda b: fn(a, b))(bs), np.stack([fn(a, b) for b in bs]), rtol=1e-12)


def test_eager_tensors_run_the_same_rows_and_rules():
    a, b = dominant(2, 3, 3), RNG.normal(size=(2, 3, 2))

    def f(a, b):
        chol = dnp.linalg.cholesky(a @ dnp.swapaxes(a, -1, -2))
        z = dnp.linalg.solve_triangular(chol, b, lower=True)
        return (dnp.sum(z * z) + dnp.sum(dnp.linalg.slogdet(a).logabsdet) + dnp.sum(dnp.linalg.inv(a))
                + dnp.sum(dnp.linalg.det(a)) + dnp.sum(dnp.linalg.solve(a, b)))

    expected = dt.grad(f, argnums=(0, 1))(a, b)
    ta, tb = dt.tensor(a, requires_grad=True), dt.tensor(b, requires_grad=True)
    f(ta, tb).backward()
    np.testing.assert_allclose(ta.grad.numpy(), expected[0], rtol=1e-10)
    np.testing.assert_allclose(tb.grad.numpy(), expected[1], rtol=1e-10)
    assert dnp.linalg.cholesky(ta[0] @ ta[0].T).grad_fn.name() == "LinalgCholeskyExBackward0"


def test_compiled_for_cupy_the_gradients_match_numpys(monkeypatch):
    """Through the strict stand-in CuPy (tests/fake_cupy.py): every row's emitted call and the triangular-solve
    helper's CuPy path (cupy.linalg.solve on the triangle where cupyx is absent) run on "device" arrays."""
    import fake_cupy

    a, b = dominant(2, 3, 3), RNG.normal(size=(2, 3, 2))

    def f(a, b):
        chol = dnp.linalg.cholesky(a @ dnp.swapaxes(a, -1, -2))
        z = dnp.linalg.solve_triangular(chol, b, lower=True)
        return (dnp.sum(z * z) + dnp.sum(dnp.linalg.slogdet(a).logabsdet) + dnp.sum(dnp.linalg.inv(a))
                + dnp.sum(dnp.linalg.det(a)) + dnp.sum(dnp.linalg.solve(a, b[0, :, 0])))

    cupy = fake_cupy.install(monkeypatch)
    on_device = dt.grad(f, argnums=(0, 1), backend="cupy", to_host=True)(a, b)
    for got, expected in zip(on_device, dt.grad(f, argnums=(0, 1))(a, b)):
        np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert "linalg.cholesky" in cupy.used  # (CuPy's own, not SciPy's)
