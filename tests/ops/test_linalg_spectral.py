"""The spectral decompositions (ops/linalg_spectral.py, numpy/linalg_spectral.py) against NumPy: every case's
NumPy-agreement draws (eager, per-equation impl, dt.jit); NumPy's result types and options (UPLO, full_matrices,
compute_uv, hermitian, mode, rcond / rtol); what the derivatives do at repeated eigenvalues and singular values;
lstsq, matrix_rank, cond and the spectral matrix norms at their edges; errors that name the op, the shape and the
fix; NumPy's own names on traced values; eager tensors through the same rows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from cases_spectral import SPECTRAL, general_spread, numpy_eig, numpy_eigvals, symmetric_spread
from dualtape.core.primitive import REGISTRY
from dualtape.errors import ShapeError, UnsupportedError
from gradcheck import check_grads
from opcheck import assert_like_numpy, check_op, prim_names

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name", sorted(SPECTRAL))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(SPECTRAL[name].values, label="case")
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name])


# ---- result types and options ------------------------------------------------------------------------------
def test_results_are_numpys_named_tuples_eagerly_and_compiled():
    a = symmetric_spread(RNG.uniform(-1, 1, (2, 3, 3)))
    for fn in (dnp.linalg.eigh, dt.jit(dnp.linalg.eigh)):
        out = fn(a)
        assert type(out).__name__ == "EighResult" and out.eigenvectors.shape == (2, 3, 3)
    assert dt.jit(dnp.linalg.svd)(a).Vh.shape == dt.jit(dnp.linalg.qr)(a).R.shape == (2, 3, 3)
    assert type(dnp.linalg.eig(a)).__name__ == "EigResult" and dnp.linalg.eig(a).eigenvalues.shape == (2, 3)
    assert dt.jit(lambda x: dnp.linalg.qr(x, mode="r"))(a).shape == (2, 3, 3)  # (R alone, as NumPy)


def test_compiled_source_unpacks_the_decomposition():
    source = dt.source(lambda x: dnp.linalg.eigh(x).eigenvectors, np.eye(3))
    assert "eigenvalues, eigenvectors = xp.linalg.eigh(x, UPLO='L')" in source, source


@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh_reads_one_triangle_and_differentiates_that_function(UPLO):
    """Only the triangle eigh reads moves its results, so the other triangle gets no gradient."""
    a = symmetric_spread(RNG.uniform(-1, 1, (3, 3))) + np.triu(RNG.uniform(-1, 1, (3, 3)), 1) * (UPLO == "L")
    check_op(lambda x: np.linalg.eigh(x, UPLO)[1], lambda x: dnp.linalg.eigh(x, UPLO)[1], (a,))
    grad = dt.grad(lambda x: dnp.sum(dnp.linalg.eigvalsh(x, UPLO) ** 3))(a)
    ignored = np.triu(np.ones((3, 3)), 1) if UPLO == "L" else np.tril(np.ones((3, 3)), -1)
    assert np.all(grad[ignored == 1] == 0) and np.all(grad[ignored == 0] != 0)


def test_eigvals_are_eigs_in_eigs_order():
    """NumPy's eigvals may list the eigenvalues in another order than eig: dnp's follow eig's (its rule needs them
    matched to the vectors); as sets they are NumPy's."""
    a = np.triu(RNG.uniform(-1, 1, (4, 4))) + np.diag([1.0, 2.0, 3.0, 4.0])
    check_op(lambda x: numpy_eig(x)[0], dnp.linalg.eigvals, (a,))
    np.testing.assert_allclose(np.sort(dnp.linalg.eigvals(a)), np.sort(numpy_eigvals(a)))


def test_hermitian_svd_and_pinv_read_the_lower_triangle_as_numpy_does():
    a = symmetric_spread(RNG.uniform(-1, 1, (2, 4, 4))) - 2.5 * np.eye(4)  # (eigenvalues of both signs)
    a = a + np.triu(RNG.uniform(-1, 1, (4, 4)), 1)  # (an upper triangle NumPy does not read)
    check_op(lambda x: np.linalg.svd(x, compute_uv=False, hermitian=True),
             lambda x: dnp.linalg.svd(x, compute_uv=False, hermitian=True), (a,))
    check_op(lambda x: np.linalg.pinv(x, hermitian=True), lambda x: dnp.linalg.pinv(x, hermitian=True), (a,))
    u, s, vh = dnp.linalg.svd(a, hermitian=True)  # (the vectors may differ from NumPy's by signs: their product not)
    nu, ns, nvh = np.linalg.svd(a, hermitian=True)
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, (nu * ns[..., None, :]) @ nvh, atol=1e-12)


@pytest.mark.parametrize("kwargs, cutoff", [({}, 1e-15), ({"rcond": 0.3}, 0.3), ({"rtol": 0.3}, 0.3),
                                            ({"rtol": None}, 3 * np.finfo(np.float64).eps)])
def test_pinv_cutoffs_are_numpys(kwargs, cutoff):
    a = np.diag([1.0, 0.5, 0.1])
    check_op(lambda x: np.linalg.pinv(x, **kwargs), lambda x: dnp.linalg.pinv(x, **kwargs), (a,))
    program = dt.trace(lambda x: dnp.linalg.pinv(x, **kwargs))(a)
    assert program.eqns[0].params["rcond"] == cutoff


# ---- derivatives at repeated eigenvalues and singular values -------------------------------------------------
def test_a_projector_onto_a_repeated_eigenspace_has_its_exact_first_derivative():
    """At a repeated eigenvalue the vectors' derivative is undefined; the 1/(λj - λi) terms of the repeated pair
    are dropped, which is exact for the projector onto the whole eigenspace (and finite)."""
    q = np.linalg.qr(RNG.normal(size=(4, 4)))[0]
    a = (q * np.array([1.0, 1.0, 3.0, 4.0])) @ q.T
    check_grads(lambda x: (lambda v: v @ v.T)(dnp.linalg.eigh(x)[1][:, :2]), (a,), order=1, modes=("fwd", "rev"))


def test_unused_vectors_of_repeated_eigenvalues_give_no_nan():
    """The top eigenvector of a rank-deficient covariance (its zero eigenvalue repeated): the repeated pairs'
    vectors get zero cotangents, which must stay zero (JAX and PyTorch give NaN here)."""
    x = RNG.normal(size=(2, 5))
    cov = x.T @ x
    top = lambda c: (lambda v: v @ v.T)(dnp.linalg.eigh(c)[1][:, -1:])
    grad = dt.grad(lambda c: dnp.sum(top(c) * np.arange(25.0).reshape(5, 5)))(cov)
    assert np.all(np.isfinite(grad))
    check_grads(top, (cov,), order=1, modes=("fwd", "rev"))


def test_values_only_rules_are_defined_at_repeated_values():
    eye = np.eye(3)
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(dnp.linalg.eigvalsh(a)))(eye), eye)  # d trace = I
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(dnp.linalg.svdvals(a)))(2 * eye), eye)  # d nuclear = U V^T
    assert np.all(np.isfinite(dt.grad(lambda a: dnp.sum(dnp.linalg.svd(a)[0]))(2 * eye)))


def test_pinv_is_exact_at_repeated_singular_values():
    """pinv's own rule needs no singular vectors: an orthogonal matrix (every singular value 1) is no harder."""
    q = np.linalg.qr(RNG.normal(size=(3, 3)))[0]
    check_grads(dnp.linalg.pinv, (q,), order=2, modes=("fwd", "rev"))
    check_grads(dnp.linalg.pinv, (np.vstack([q, q[:1]]),), order=1, modes=("fwd", "rev"))


def test_float32_decompositions_differentiate_in_float32():
    a = symmetric_spread(RNG.uniform(-1, 1, (3, 3))).astype(np.float32)
    for fn in (lambda x: dnp.linalg.eigh(x)[1], lambda x: dnp.linalg.svd(x)[0], lambda x: dnp.linalg.qr(x)[0],
               dnp.linalg.pinv, dnp.linalg.eigvalsh):
        assert dt.grad(lambda x, fn=fn: dnp.sum(fn(x)))(a).dtype == np.float32


# ---- lstsq, matrix_rank, cond, norms ---------------------------------------------------------------------------
def _lstsq_parts(np_fn):
    return [lambda a, b, i=i: np_fn(a, b)[i] for i in range(4)]


@pytest.mark.parametrize("a, b", [
    (general_spread(RNG.uniform(-1, 1, (5, 3))), RNG.normal(size=5)),  # overdetermined: residuals (1,)
    (general_spread(RNG.uniform(-1, 1, (5, 3))), RNG.normal(size=(5, 2))),  # residuals (2,)
    (general_spread(RNG.uniform(-1, 1, (2, 4))), RNG.normal(size=2)),  # underdetermined: no residuals
    (np.outer(np.arange(1.0, 6.0), [1.0, 2.0, 3.0]), RNG.normal(size=(5, 2))),  # rank 1: no residuals
    (np.ones((4, 2), np.float32), np.ones(4, np.float32)),  # float32 results, rank 1
    (np.arange(12).reshape(4, 3), np.arange(4)),  # integers: float64
    (np.zeros((0, 3)), np.zeros(0)),
])
def test_lstsq_matches_numpy(a, b):
    expected = np.linalg.lstsq(a, b)
    got = dnp.linalg.lstsq(a, b)
    for k, (x, y) in enumerate(zip(got, expected)):
        assert_like_numpy(x, y, f"lstsq result {k}")
    compiled = dt.jit(lambda a, b: dnp.linalg.lstsq(a, b)[::3])(a, b)  # (x and s: a traced rank is unknown)
    assert_like_numpy(compiled[0], expected[0], "jit x")
    assert_like_numpy(compiled[1], expected[3], "jit s")


def test_lstsq_residuals_of_a_traced_rank_deficient_matrix_are_given():
    """Traced, the rank is unknown until run: residuals are computed whenever m > n (NumPy's are empty there)."""
    a, b = np.outer(np.arange(1.0, 6.0), [1.0, 2.0]), np.arange(5.0)
    _, residuals, rank, _ = dt.jit(dnp.linalg.lstsq)(a, b)
    assert rank == 1 and residuals.shape == (1,)
    np.testing.assert_allclose(residuals, [np.sum((b - a @ np.linalg.lstsq(a, b)[0]) ** 2)])


@pytest.mark.parametrize("kwargs", [{}, {"tol": 0.5}, {"rtol": 0.2}, {"hermitian": True}])
def test_matrix_rank_matches_numpy(kwargs):
    stack = np.stack([np.diag([3.0, 1.0, 0.3]), np.diag([3.0, 1.0, 0.0]), np.zeros((3, 3))])
    check_op(lambda a: np.linalg.matrix_rank(a, **kwargs), lambda a: dnp.linalg.matrix_rank(a, **kwargs), (stack,))
    for small in (np.zeros(3), np.array([0.0, 2.0]), np.array(1.5)):
        assert_like_numpy(dnp.linalg.matrix_rank(small), np.linalg.matrix_rank(small), f"rank of {small}")
    assert dt.grad(lambda a: dnp.sum(a) * dnp.linalg.matrix_rank(a))(stack[0]).shape == (3, 3)


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
def test_cond_matches_numpy(p):
    a = general_spread(RNG.uniform(-1, 1, (2, 3, 3)))
    check_op(lambda x: np.linalg.cond(x, p), lambda x: dnp.linalg.cond(x, p), (a,))


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
@pytest.mark.parametrize("axis, keepdims", [((-2, -1), False), ((0, 2), True), ((2, 0), False), ((1, 2), True)])
def test_spectral_matrix_norms_match_numpy(ord, axis, keepdims):
    a = RNG.normal(size=(3, 2, 4))
    check_op(lambda x: np.linalg.norm(x, ord, axis, keepdims), lambda x: dnp.linalg.norm(x, ord, axis, keepdims),
             (a,))
    check_op(lambda x: np.linalg.norm(x[0], ord), lambda x: dnp.linalg.norm(x[0], ord), (a,))


# ---- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, shape", [("eigh", (2, 3)), ("eigvalsh", (3,)), ("eig", (4, 2, 3)), ("svd", (3,)),
                                         ("svdvals", ()), ("qr", (2,)), ("pinv", (3,)), ("cond", (3,))])
def test_operands_that_are_not_matrices_name_the_op_the_shape_and_the_fix(name, shape):
    def f(a):
        return getattr(dnp.linalg, name)(a)  # the failing line

    with pytest.raises(ShapeError) as info:
        dt.jit(f)(np.ones(shape))
    message = str(info.value)
    assert message.startswith(f"{name}: ") and str(shape) in message and "fix:" in message, message
    assert f"test_linalg_spectral.py:{f.__code__.co_firstlineno + 1}" in message


def test_a_primitive_bound_directly_checks_its_operand():
    with pytest.raises(ShapeError, match=r"svd: expected a matrix .* got shape \(3,\)"):
        dt.trace(lambda x: REGISTRY["svd"](x, full_matrices=False))(np.ones(3))


def test_eig_gives_complex_results_for_every_matrix_as_numpy_2_5_does():
    """Complex arrays even where every eigenvalue is real (NumPy before 2.5 returns real ones there): JAX's and
    NumPy 2.5's results, compiled and eagerly; complex matrices decompose too."""
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    triangular = np.triu(RNG.uniform(-1, 1, (3, 3))) + np.diag([1.0, 2.0, 3.0])
    for a in (rotation, triangular, triangular.astype(np.float32), triangular * (1 - 0.5j)):
        check_op(lambda x: numpy_eig(x)[0], dnp.linalg.eigvals, (a,))
        check_op(lambda x: numpy_eig(x)[1], lambda x: dnp.linalg.eig(x)[1], (a,))
    assert dnp.linalg.eigvals(triangular).dtype == np.complex128
    assert np.allclose(dnp.linalg.eigvals(rotation), [1j, -1j])
    z = np.array([[2.0, 1j], [-1j, 3.0]])
    assert dnp.linalg.eigh(z).eigenvalues.dtype == dnp.linalg.svd(z).S.dtype == np.float64  # (real, as NumPy's)
    assert dnp.linalg.eigh(z).eigenvectors.dtype == dnp.linalg.qr(z).R.dtype == np.complex128
    assert dnp.linalg.pinv(z).dtype == np.complex128


def test_bad_options_raise_as_numpy_does():
    a = np.eye(3)
    with pytest.raises(UnsupportedError, match="raw"):
        dnp.linalg.qr(a, mode="raw")
    with pytest.raises(ValueError, match="mode"):
        dnp.linalg.qr(a, mode="economic")
    with pytest.raises(ValueError, match="UPLO"):
        dnp.linalg.eigh(a, UPLO="X")
    with pytest.raises(ValueError, match="can't be both set"):
        dnp.linalg.pinv(a, rcond=0.1, rtol=0.1)
    with pytest.raises(ShapeError, match="lstsq"):
        dnp.linalg.lstsq(a, np.ones(4))
    with pytest.raises(UnsupportedError, match="array of cutoffs"):
        dnp.linalg.pinv(np.stack([a, a]), rcond=np.array([0.1, 0.2]))


# ---- NumPy's names on traced values; eager tensors ---------------------------------------------------------------
@pytest.mark.parametrize("name, prim", [("eigh", "eigh"), ("eigvalsh", "eigvalsh"), ("eig", "eig"),
                                        ("eigvals", "eig"), ("svd", "svd"), ("svdvals", "svdvals"), ("qr", "qr"),
                                        ("pinv", "pinv"), ("matrix_rank", "svdvals"), ("cond", "svdvals")])
def test_numpys_own_functions_on_traced_values_record_the_decomposition(name, prim):
    a = symmetric_spread(RNG.uniform(-1, 1, (3, 3)))
    first = lambda out: out[0] if isinstance(out, tuple) else out
    program = dt.trace(lambda x: first(getattr(np.linalg, name)(x)))(a)
    assert prim in prim_names(program)
    reference = {"eig": numpy_eig, "eigvals": numpy_eigvals}.get(name, getattr(np.linalg, name))  # (real, as dnp's)
    assert_like_numpy(dt.jit(lambda x: first(getattr(np.linalg, name)(x)))(a), first(reference(a)))


def test_eager_tensors_decompose_and_differentiate_the_single_result_rows():
    a = symmetric_spread(RNG.uniform(-1, 1, (3, 3)))
    w, v = dnp.linalg.eigh(dt.tensor(a))
    np.testing.assert_allclose(v.numpy(), np.linalg.eigh(a)[1])
    t = dt.tensor(a, requires_grad=True)
    (dnp.linalg.eigvalsh(t).sum() + dnp.linalg.svdvals(t).sum() + dnp.linalg.pinv(t).sum()).backward()
    expected = dt.grad(lambda x: dnp.sum(dnp.linalg.eigvalsh(x)) + dnp.sum(dnp.linalg.svdvals(x))
                       + dnp.sum(dnp.linalg.pinv(x)))(a)
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-12, atol=1e-12)
