"""Complex matrices through every linear-algebra row (ops/linalg_solve.py, linalg_spectral.py, linalg_svd_qr.py):
each entry of the per-primitive table's LINALG and SPECTRAL sections is drawn as for real matrices (layout,
domains), given imaginary parts (some operands stay real, mixing the two), and put through its post map (which
makes complex matrices Hermitian where the row needs it), then checked against finite differences along complex
directions in both modes (JAX's convention: tests/gradcheck.py), and its values compiled, batched and eagerly
against NumPy. The eigen- and singular vectors are seen only through functions of them that do not depend on their
phases (the entries' functions: phases fixed by the largest entry, projectors, sums over eigenpairs). Then JAX as
the oracle of the gradients (skipped where JAX is absent), the compositions (lstsq, matrix_power, norms of every
order, cond, matrix_rank) and the real programs, which must not gain a complex op."""

import inspect
import re

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from cases_linalg import LINALG
from cases_spectral import SPECTRAL
from dualtape.ops import linalg_solve, linalg_spectral, linalg_svd_qr
from gradcheck import assert_close, check_grads
from primitive_cases import CASES
from strategies import arrays

F64 = np.dtype(np.float64)
ROWS = sorted(LINALG) + sorted(SPECTRAL)
RNG = np.random.default_rng(17)


def _at(seq, i):
    return seq[min(i, len(seq) - 1)] if seq else None


def _complex_args(data, name):
    """The entry's operands (batch axes dropped, to keep the finite differences cheap), with imaginary parts added
    to some (at least one) before the post map."""
    case = CASES[name]
    shapes, params, _ = data.draw(case.layout, label="layout")
    shapes = [s[-2:] for s in shapes]
    chosen = data.draw(st.sets(st.sampled_from(range(len(shapes))), min_size=1), label="complex operands")
    args = []
    for i, shape in enumerate(shapes):
        x = data.draw(arrays(F64, shape, _at(case.domains, i)), label=f"operand {i}")
        if i in chosen:
            x = x + 1j * data.draw(arrays(F64, shape, _at(case.domains, i)), label=f"imag {i}")
        post = _at(case.post, i)
        args.append(x if post is None else post(x))
    note(f"shapes={shapes} params={params} complex operands={sorted(chosen)}")
    return case, params, tuple(args)


def test_every_linalg_row_has_a_complex_case():
    """The rows each module declares (not those it imports) are the sections' entries, so a new row gets one."""
    declared = {getattr(m, name).name for m in (linalg_solve, linalg_spectral, linalg_svd_qr)
                for name in re.findall(r"^(\w+_p) = Primitive\(", inspect.getsource(m), re.M)}
    assert declared == set(ROWS)


@pytest.mark.parametrize("name", ROWS)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_derivatives_along_complex_directions(name, data):
    case, params, args = _complex_args(data, name)
    check_grads(case.call(params), args, order=1, modes=("fwd", "rev"), **case.tolerances())


@pytest.mark.parametrize("name", ["inv", "slogdet", "cholesky", "eigh", "svd", "qr"])
@settings(max_examples=1, deadline=None)
@given(data=st.data())
def test_second_derivatives_along_complex_directions(name, data):
    case, params, args = _complex_args(data, name)
    check_grads(case.call(params), args, order=2, modes=("rev",), **case.tolerances())


@pytest.mark.parametrize("name", ROWS)
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_compiled_derivatives_leave_their_operands_alone(name, data):
    """NumPy's real and imag of a complex array are views of it: a compiled rule must not write through one."""
    case, params, args = _complex_args(data, name)
    f = case.call(params)
    turn = lambda v: v * 0.5 + 0.25 + (0.75j * v if np.iscomplexobj(v) else 0)  # (of v's dtype)
    tangents, cotangent = tuple(turn(a) for a in args), turn(np.asarray(f(*args)))
    kept = [a.copy() for a in args + tangents] + [cotangent.copy()]
    dt.jit(lambda xs, ts: dt.jvp(f, xs, ts))(args, tangents)
    dt.jit(lambda xs, c: dt.vjp(f, *xs)[1](c))(args, cotangent)
    for before, after in zip(kept, args + tangents + (cotangent,)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("name", ROWS)
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_values_compiled_batched_and_eager(name, data):
    case, params, args = _complex_args(data, name)
    f = case.call(params)
    expected = case.ref(*args, **params)
    assert_close(f(*args), expected, "dnp")
    assert_close(dt.jit(f)(*args), expected, "compiled")
    assert_close(dt.vmap(f)(*(np.stack([a, a]) for a in args)), np.stack([expected, expected]), "vmap")
    assert_close(f(*(dt.tensor(a) for a in args)).numpy(), expected, "eager")


# ---- JAX as the oracle -------------------------------------------------------------------------------------
def _c(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


A, TALL, WIDE, B = _c(3, 3) + 4 * np.eye(3), _c(4, 3), _c(3, 4), _c(3, 2)
C33, C43 = _c(3, 3), _c(4, 3)


def _mH(a, m):
    return m.conj(m.swapaxes(a, -1, -2))


def _hermitian(a, m):
    return (a + _mH(a, m)) / 2 + 3 * m.eye(a.shape[-1])


def _solve_triangular(m, a, b, **kw):
    if m is dnp:
        return dnp.linalg.solve_triangular(a, b, **kw)
    import jax.scipy.linalg

    return jax.scipy.linalg.solve_triangular(a, b, **kw)


LOSSES = {  # real losses of complex matrices, in either namespace m; vectors through phase-free functions
    "inv": (lambda m, a: m.real(m.sum(m.linalg.inv(a) * C33)), A),
    "det": (lambda m, a: m.abs(m.linalg.det(a)) + m.real(m.linalg.det(a) * (1 - 2j)), A),
    "slogdet": (lambda m, a: m.real(m.linalg.slogdet(a)[0] * (1 + 2j)) + m.linalg.slogdet(a)[1], A),
    "solve": (lambda m, a: m.real(m.sum(m.linalg.solve(a, B) * B)), A),
    "solve_triangular": (lambda m, a: m.imag(m.sum(_solve_triangular(m, a, B, trans="C", lower=True) * B)), A),
    "cholesky": (lambda m, a: m.real(m.sum(m.linalg.cholesky(_hermitian(a @ _mH(a, m), m)) * C33)), A),
    "eigvalsh": (lambda m, a: m.sum(m.linalg.eigvalsh(_hermitian(a, m)) ** 2 * m.arange(3.0)), A),
    "eigh": (lambda m, a: m.sum(m.abs(m.linalg.eigh(_hermitian(a, m))[1]) ** 2 * m.real(C33))
             + m.real(m.sum((lambda v: v @ _mH(v, m))(m.linalg.eigh(_hermitian(a, m))[1][:, :1]) * C33)), A),
    "eigvals": (lambda m, a: m.sum(m.abs(m.linalg.eigvals(a)) ** 2 * m.arange(3.0))
                + m.real(m.sum(m.linalg.eigvals(a) ** 2)), A),
    "eigvals of a real matrix": (lambda m, a: m.sum(m.imag(m.linalg.eigvals(a)) ** 2 * m.arange(3.0)),
                                 np.array([[0.3, -1.0, 0.2], [1.2, 0.1, 0.0], [0.5, 0.4, 2.0]])),
    "svd": (lambda m, a: (lambda u, s, vh: m.real(m.sum((u * s) @ vh * C43)) + m.sum(m.abs(u[:, :2] @ vh[:2]) ** 2)
                          + m.sum(m.abs(u) ** 2 * m.real(C43)) + m.sum(s ** 3))(*m.linalg.svd(a, full_matrices=False)),
            TALL),
    "svd wide": (lambda m, a: (lambda u, s, vh: m.sum(m.abs(u[:, :2] @ vh[:2]) ** 2) + m.sum(m.abs(vh) ** 2 * m.real(
        C43.T)) + m.sum(s ** 3))(*m.linalg.svd(a, full_matrices=False)), WIDE),
    "svdvals": (lambda m, a: m.sum(m.linalg.svd(a, compute_uv=False) ** 2 * m.arange(3.0)), TALL),
    "qr": (lambda m, a: (lambda q, r: m.real(m.sum(q * C43)) + m.imag(m.sum(r * C33)))(*m.linalg.qr(a)), TALL),
    "pinv": (lambda m, a: m.real(m.sum(m.linalg.pinv(a) * C43.T)), TALL),
    "pinv wide": (lambda m, a: m.real(m.sum(m.linalg.pinv(a) * C43)), WIDE),
    "lstsq": (lambda m, a: m.real(m.sum(m.linalg.lstsq(a, C43[:, :2])[0] * C33[:, :2])), TALL),
    "matrix_power": (lambda m, a: m.real(m.sum(m.linalg.matrix_power(a / 4, 5) * C33)), A),
    "norms": (lambda m, a: m.linalg.norm(a, "nuc") + m.linalg.norm(a, 2) + m.linalg.norm(a, -2) + m.linalg.norm(a, 1)
              + m.linalg.norm(a, m.inf) + m.linalg.norm(a, "fro") + m.linalg.norm(a[0], 3) + m.linalg.norm(a[0]), TALL),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_are_jaxs(name):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    loss, a = LOSSES[name]
    expected = np.asarray(jax.jit(jax.grad(lambda x: loss(jax.numpy, x)))(a))  # (compiled: one XLA build)
    ours = dt.grad(lambda x: loss(dnp, x))(a)
    assert ours.dtype == expected.dtype
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


# ---- the compositions and the edges --------------------------------------------------------------------------
def test_eig_of_a_real_matrix_with_complex_eigenvalues():
    """Complex results as NumPy 2.5 and JAX give them; the derivative of phase-free functions, a real gradient."""
    rotation = np.array([[0.3, -1.0], [1.2, 0.1]])
    w, v = dnp.linalg.eig(rotation)
    expected = np.linalg.eig(rotation)
    np.testing.assert_allclose(w, expected[0], rtol=1e-12)
    np.testing.assert_allclose(v, expected[1], rtol=1e-12)
    assert w.dtype == v.dtype == np.complex128 and dnp.linalg.eigvals(rotation.astype(np.float32)).dtype == np.complex64
    sums = lambda a: (lambda w, v: ((v * w) @ np.conj(v.T), np.abs(v) ** 2))(*dnp.linalg.eig(a))
    check_grads(sums, (rotation,), order=2, modes=("fwd", "rev"))
    assert dt.grad(lambda a: dnp.sum(dnp.imag(dnp.linalg.eigvals(a)) ** 2))(rotation).dtype == np.float64


@pytest.mark.parametrize("shapes", [((5, 3), (5,)), ((5, 3), (5, 2)), ((2, 4), (2,))])
def test_lstsq_of_complex_matrices(shapes):
    a, b = _c(*shapes[0]), _c(*shapes[1])
    for got, expected in zip(dnp.linalg.lstsq(a, b), np.linalg.lstsq(a, b)):
        assert np.asarray(got).dtype == np.asarray(expected).dtype
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    check_grads(lambda a, b: dnp.linalg.lstsq(a, b)[::3], (a, b), modes=("fwd", "rev"))


VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1]
MATRIX_ORDS = ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS + MATRIX_ORDS, ids=str)
def test_norms_of_every_order_on_complex_input(ord):
    x = np.array([[1.0 + 2.0j, -0.3 + 0.1j, 0.7j], [2.5, -1.0 - 1.5j, 0.2 - 0.6j]])  # (distinct magnitudes)
    axis = 1 if ord in VECTOR_ORDS else (0, 1)
    f = lambda x: dnp.linalg.norm(x, ord, axis)
    expected = np.linalg.norm(x, ord, axis)
    np.testing.assert_allclose(f(x), expected, rtol=1e-12)
    np.testing.assert_allclose(dt.jit(f)(x), expected, rtol=1e-12)
    if ord != 0:  # (a count: no derivative)
        check_grads(f, (x,), modes=("fwd", "rev"))


def test_matrix_power_cond_rank_and_hermitian_options_match_numpy():
    a = _c(2, 3, 3) + 3 * np.eye(3)
    h = a @ np.conj(np.swapaxes(a, -1, -2)) - 20 * np.eye(3)  # (Hermitian, eigenvalues of both signs)
    for n in (-2, 0, 3, 6):
        np.testing.assert_allclose(dnp.linalg.matrix_power(a, n), np.linalg.matrix_power(a, n), rtol=1e-10)
    for p in (None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf):
        np.testing.assert_allclose(dnp.linalg.cond(a, p), np.linalg.cond(a, p), rtol=1e-10)
    low = a[0] @ np.diag([1.0, 1.0, 0.0]) @ a[1]
    assert dnp.linalg.matrix_rank(low) == np.linalg.matrix_rank(low) == 2
    np.testing.assert_array_equal(dnp.linalg.matrix_rank(h, hermitian=True), np.linalg.matrix_rank(h, hermitian=True))
    np.testing.assert_allclose(dnp.linalg.svd(h, compute_uv=False, hermitian=True),
                               np.linalg.svd(h, compute_uv=False, hermitian=True), rtol=1e-10)
    np.testing.assert_allclose(dnp.linalg.pinv(h, hermitian=True), np.linalg.pinv(h, hermitian=True), rtol=1e-10)
    check_grads(lambda a: dnp.linalg.pinv(a, hermitian=True), (h[0],), modes=("fwd", "rev"))


def test_eigh_and_cholesky_read_one_triangle_of_a_complex_matrix():
    """The other triangle, and the imaginary parts of the diagonal, are not read (as LAPACK): no gradient there."""
    a = _c(3, 3) + 6 * np.eye(3)
    for UPLO in ("L", "U"):
        np.testing.assert_allclose(dnp.linalg.eigvalsh(a, UPLO), np.linalg.eigvalsh(a, UPLO), rtol=1e-12)
        grad = dt.grad(lambda x, UPLO=UPLO: dnp.sum(dnp.linalg.eigvalsh(x, UPLO) ** 3))(a)
        unread = np.triu(np.ones((3, 3)), 1) if UPLO == "L" else np.tril(np.ones((3, 3)), -1)
        assert np.all(grad[unread == 1] == 0) and np.all(np.imag(np.diagonal(grad)) == 0)
    np.testing.assert_allclose(dnp.linalg.cholesky(a, upper=True), np.linalg.cholesky(a, upper=True), rtol=1e-12)


# ---- real programs stay real -------------------------------------------------------------------------------
REAL = {
    "cholesky": lambda a: dnp.linalg.cholesky(a @ a.T),
    "solve_triangular C": lambda a: dnp.linalg.solve_triangular(a, a[:, :2], trans="C"),
    "slogdet": lambda a: dnp.linalg.slogdet(a).sign * dnp.linalg.slogdet(a).logabsdet,
    "eigh": lambda a: dnp.linalg.eigh(a + a.T)[1] ** 2,
    "eigvalsh": lambda a: dnp.linalg.eigvalsh(a, "U"),
    "svd": lambda a: dnp.linalg.svd(a[:, :2])[0] ** 2 + dnp.sum(dnp.linalg.svd(a.T[:2])[2] ** 2),
    "svdvals": dnp.linalg.svdvals,
    "qr": lambda a: dnp.sum(dnp.linalg.qr(a[:, :2], "complete")[0]) + dnp.sum(dnp.linalg.qr(a[:2])[1]),
    "pinv": lambda a: dnp.linalg.pinv(a[:, :2]) + dnp.linalg.pinv(a, hermitian=True)[:2],
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_programs_gain_no_complex_op(name):
    a = RNG.standard_normal((3, 3)) + 4 * np.eye(3)
    f = REAL[name]
    out = f(a)
    sources = [dt.source(lambda x: dt.jvp(f, (x,), (x,)), a, comments=False),
               dt.source(lambda x: dt.vjp(f, x)[1](np.ones_like(out)), a, comments=False)]
    for source in sources:
        assert not any(op in source for op in ("conj(", "real(", "imag(", "complex")), source
