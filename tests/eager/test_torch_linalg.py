"""dt.linalg against torch.linalg: values, gradients (a fixed random weighting of the results; sign-invariant
functions of eigen- and singular vectors), second derivatives, result types and node names, float64 on
well-conditioned matrices, and complex128 ones (PyTorch's complex gradients; phase-invariant functions of the
vectors); eig and eigvals, complex for every matrix; the same functions on NumPy arrays and, under dualtape's
transforms, on traced values (derivatives against finite differences); and the errors for what it refuses."""

import numpy as np
import pytest

import dualtape as dt
from dualtape.errors import ShapeError, UnsupportedError
from gradcheck import check_grads

RNG = np.random.default_rng(7)


def _general(*shape):
    """Random matrices, well conditioned when square (a multiple of the identity added)."""
    a = RNG.standard_normal(shape)
    return a + 3 * np.eye(shape[-1]) if len(shape) > 1 and shape[-1] == shape[-2] else a


def _spd(*shape):
    a = RNG.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _separated(*shape):
    """Symmetric matrices with eigenvalues 1, 2.5, 4, ... (well apart)."""
    q = np.linalg.qr(RNG.standard_normal(shape))[0]
    w = 1.0 + 1.5 * np.arange(shape[-1])
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def _lopsided(*shape):
    """A matrix whose two triangles differ: torch reads one of them."""
    a = _spd(*shape)
    return a + np.triu(RNG.uniform(0.5, 1.0, shape), 1)


def _complex(*shape):
    """Random complex matrices, well conditioned when square."""
    return _general(*shape) + 1j * RNG.standard_normal(shape)


def _hermitian(*shape):
    """Hermitian matrices with eigenvalues 1, 2.5, 4, ... (well apart)."""
    q = np.linalg.qr(_complex(*shape))[0]
    w = 1.0 + 1.5 * np.arange(shape[-1])
    return (q * w[..., None, :]) @ np.conj(np.swapaxes(q, -1, -2))


def _weights(shape):
    return np.random.default_rng(sum(shape) + 31 * len(shape)).standard_normal(shape)


def _values(out):
    return list(out) if isinstance(out, tuple) else [out]


def _weighted(m, out):
    """The sum of each floating, nonempty result weighted by fixed random numbers of its shape (the real part of
    a complex one's, weighted by complex numbers)."""
    terms = [(o * m.tensor(_weights(tuple(o.shape)))).sum() for o in _values(out)
             if o.dtype == m.float64 and o.numel() > 0]
    terms += [(o * m.tensor(_weights(tuple(o.shape)) * (1 - 2j))).sum().real for o in _values(out)
              if o.dtype == m.complex128 and o.numel() > 0]
    return sum(terms[1:], terms[0])


def _squared_magnitudes(*vector_positions):
    """A loss with |result|^2 at these positions (phase-invariant), the others weighted."""
    def loss(m, out):
        vectors = sum((out[i].abs() ** 2 * m.tensor(_weights(tuple(out[i].shape)))).sum() for i in vector_positions)
        return vectors + sum(_weighted(m, o) for i, o in enumerate(out) if i not in vector_positions)
    return loss


def _quartic(*vector_positions):
    """A loss with the results at these positions raised to the fourth power (sign-invariant), the others
    weighted."""
    def loss(m, out):
        vectors = sum((out[i] ** 4).sum() for i in vector_positions)
        return vectors + sum(_weighted(m, o) for i, o in enumerate(out) if i not in vector_positions)
    return loss


def _run(m, fn, arrays, loss, order):
    xs = [m.tensor(a, requires_grad=True) for a in arrays]
    out = fn(m, *xs)
    grads = m.autograd.grad(loss(m, out), xs, create_graph=order == 2)
    if order == 2:
        weighted = [(g * m.tensor(_weights(tuple(g.shape)) + 1)).sum() for g in grads]
        grads = m.autograd.grad(sum(w.real if w.dtype == m.complex128 else w for w in weighted), xs)
    return out, grads


def _numbers(t):
    return np.asarray(t.detach().numpy())


def _same(fn, arrays, loss=_weighted, order=1, signs=(), rtol=1e-7):
    """fn(module, *tensors) and loss's gradients (or second derivatives) agree between dualtape and torch; the
    results named in signs are compared up to each vector's sign."""
    torch = pytest.importorskip("torch")
    (ours, our_grads), (theirs, their_grads) = (_run(m, fn, arrays, loss, order) for m in (dt, torch))
    fields = getattr(ours, "_fields", [None] * len(_values(ours)))
    for field, a, b in zip(fields, _values(ours), _values(theirs), strict=True):
        a, b = _numbers(a), _numbers(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (field, a.shape, b.shape, a.dtype, b.dtype)
        a, b = (np.abs(a), np.abs(b)) if field in signs else (a, b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-9, err_msg=str(field))
    for a, b in zip(our_grads, their_grads, strict=True):
        np.testing.assert_allclose(_numbers(a), _numbers(b), rtol=1e-6, atol=1e-9)
    return ours


# ---- each function against torch: values and gradients ------------------------------------------------------
def _cond(m, a, p):
    """cond in a norm other than 2; for torch, its definition (torch 2.13's own backward fails there: it
    modifies inv's result in place), its value checked against torch.linalg.cond."""
    if m is dt:
        return dt.linalg.cond(a, p)
    out = m.linalg.matrix_norm(a, p) * m.linalg.matrix_norm(m.linalg.inv(a), p)
    np.testing.assert_allclose(_numbers(out), _numbers(m.linalg.cond(a.detach(), p)), rtol=1e-12)
    return out


CASES = {
    "inv": (lambda m, a: m.linalg.inv(a), [_general(3, 3)]),
    "inv batch": (lambda m, a: m.linalg.inv(a), [_general(2, 4, 4)]),
    "det": (lambda m, a: m.linalg.det(a), [_general(2, 3, 3)]),
    "slogdet": (lambda m, a: m.linalg.slogdet(a), [_general(2, 3, 3) - 6 * np.eye(3)]),
    "matrix_power 3": (lambda m, a: m.linalg.matrix_power(a, 3), [_general(3, 3) / 3]),
    "matrix_power -2": (lambda m, a: m.linalg.matrix_power(a, -2), [_general(2, 3, 3)]),
    "cholesky": (lambda m, a: m.linalg.cholesky(a), [_spd(2, 4, 4)]),
    "cholesky upper": (lambda m, a: m.linalg.cholesky(a, upper=True), [_spd(3, 3)]),
    "cholesky lopsided": (lambda m, a: m.linalg.cholesky(a), [_lopsided(3, 3)]),
    "cholesky upper lopsided": (lambda m, a: m.linalg.cholesky(a, upper=True), [_lopsided(3, 3)]),
    "solve vector": (lambda m, a, b: m.linalg.solve(a, b), [_general(3, 3), _general(3)]),
    "solve vector broadcast": (lambda m, a, b: m.linalg.solve(a, b), [_general(2, 3, 3), _general(3)]),
    "solve batch of vectors": (lambda m, a, b: m.linalg.solve(a, b), [_general(2, 3, 3), _general(2, 3)]),
    "solve matrices": (lambda m, a, b: m.linalg.solve(a, b), [_general(2, 3, 3), _general(3, 3)]),
    "solve matrix": (lambda m, a, b: m.linalg.solve(a, b), [_general(3, 3), _general(3, 2)]),
    "solve right": (lambda m, a, b: m.linalg.solve(a, b, left=False), [_general(2, 3, 3), _general(4, 3)]),
    "solve_triangular upper": (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True),
                               [_general(2, 3, 3), _general(3, 2)]),
    "solve_triangular lower unit": (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
                                    [_general(3, 3), _general(3, 4)]),
    "solve_triangular right": (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False, left=False),
                               [_general(3, 3), _general(2, 2, 3)]),
    "eigh": (lambda m, a: m.linalg.eigh(a), [_separated(4, 4)], _quartic(1), ("eigenvectors",)),
    "eigh batch U": (lambda m, a: m.linalg.eigh(a, UPLO="U"), [_separated(2, 3, 3)], _quartic(1),
                     ("eigenvectors",)),
    "eigh lopsided": (lambda m, a: m.linalg.eigh(a), [_lopsided(3, 3)], _quartic(1), ("eigenvectors",)),
    "eigh lopsided U": (lambda m, a: m.linalg.eigh(a, "U"), [_lopsided(3, 3)], _quartic(1),
                        ("eigenvectors",)),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(a), [_separated(2, 4, 4)]),
    "eigvalsh lopsided U": (lambda m, a: m.linalg.eigvalsh(a, UPLO="U"), [_lopsided(3, 3)]),
    "svd square": (lambda m, a: m.linalg.svd(a), [_general(3, 3)], _quartic(0, 2), ("U", "Vh")),
    "svd reduced": (lambda m, a: m.linalg.svd(a, full_matrices=False), [_general(2, 4, 3)], _quartic(0, 2),
                    ("U", "Vh")),
    "svd wide": (lambda m, a: m.linalg.svd(a, False), [_general(3, 5)], _quartic(0, 2), ("U", "Vh")),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [_general(2, 3, 4)]),
    "qr": (lambda m, a: m.linalg.qr(a), [_general(4, 3)]),
    "qr batch": (lambda m, a: m.linalg.qr(a), [_general(2, 3, 3)]),
    "qr complete square": (lambda m, a: m.linalg.qr(a, mode="complete"), [_general(3, 3)]),
    "qr wide": (lambda m, a: m.linalg.qr(a), [_general(3, 3) @ _general(3, 5) + 1.0]),
    "pinv": (lambda m, a: m.linalg.pinv(a), [_general(2, 3, 4)]),
    "pinv rtol": (lambda m, a: m.linalg.pinv(a, rtol=0.3), [_general(3, 4) * [[1.0], [1.0], [0.01]]]),
    "pinv atol": (lambda m, a: m.linalg.pinv(a, atol=0.5), [np.diag([3.0, 1.0, 0.1]) @ _general(3, 3) / 3]),
    "pinv atol batch": (lambda m, a: m.linalg.pinv(a, atol=1.0), [_general(3, 4, 3) * [[[1]], [[0.4]], [[9]]]]),
    "pinv hermitian": (lambda m, a: m.linalg.pinv(a, hermitian=True), [_separated(2, 3, 3)]),
    "lstsq": (lambda m, a, b: m.linalg.lstsq(a, b), [_general(5, 3), _general(5, 2)]),
    "lstsq vector": (lambda m, a, b: m.linalg.lstsq(a, b), [_general(5, 3), _general(5)]),
    "lstsq wide": (lambda m, a, b: m.linalg.lstsq(a, b, rcond=1e-9), [_general(3, 5), _general(3, 2)]),
    "lstsq gelsd": (lambda m, a, b: m.linalg.lstsq(a, b, driver="gelsd"), [_general(2, 5, 3), _general(2, 5)]),
    "lstsq gelss broadcast": (lambda m, a, b: m.linalg.lstsq(a, b, driver="gelss"),
                              [_general(2, 5, 3), _general(1, 5, 2)]),
    "lstsq gels": (lambda m, a, b: m.linalg.lstsq(a, b, driver="gels"), [_general(5, 3), _general(5, 2)]),
    "cond": (lambda m, a: m.linalg.cond(a), [_general(2, 3, 4)]),
    "cond -2": (lambda m, a: m.linalg.cond(a, -2), [_general(3, 3)]),
    "cond fro": (lambda m, a: _cond(m, a, "fro"), [_general(2, 3, 3)]),
    "cond 1": (lambda m, a: _cond(m, a, 1), [_general(3, 3)]),
    "matrix_norm": (lambda m, a: m.linalg.matrix_norm(a), [_general(2, 3, 4)]),
    "matrix_norm nuc dims": (lambda m, a: m.linalg.matrix_norm(a, "nuc", dim=(0, 2), keepdim=True),
                             [_general(2, 3, 4)]),
    "matrix_norm 2": (lambda m, a: m.linalg.matrix_norm(a, 2), [_general(3, 4)]),
    "matrix_norm -inf": (lambda m, a: m.linalg.matrix_norm(a, -float("inf"), dim=(1, 0)), [_general(3, 4)]),
    "vector_norm": (lambda m, a: m.linalg.vector_norm(a), [_general(2, 3, 4)]),
    "vector_norm 3 dims": (lambda m, a: m.linalg.vector_norm(a, 3, dim=(0, 2), keepdim=True), [_general(2, 3, 4)]),
    "vector_norm inf": (lambda m, a: m.linalg.vector_norm(a, float("inf"), dim=-1), [_general(3, 4)]),
    "vector_norm 0.5": (lambda m, a: m.linalg.vector_norm(a, 0.5, dim=[1]), [_general(3, 4)]),
    "norm": (lambda m, a: m.linalg.norm(a), [_general(2, 3, 4)]),
    "norm keepdim": (lambda m, a: m.linalg.norm(a, keepdim=True), [_general(2, 3, 4)]),
    "norm vector ord": (lambda m, a: m.linalg.norm(a, 1), [_general(5)]),
    "norm matrix ord": (lambda m, a: m.linalg.norm(a, "nuc"), [_general(3, 4)]),
    "norm int dim": (lambda m, a: m.linalg.norm(a, 3, dim=1), [_general(2, 3, 4)]),
    "norm two dims": (lambda m, a: m.linalg.norm(a, dim=(2, 0)), [_general(2, 3, 4)]),
    "norm two dims ord": (lambda m, a: m.linalg.norm(a, float("inf"), dim=(2, 0)), [_general(2, 3, 4)]),
    "multi_dot": (lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), [_general(3), _general(3, 4), _general(4, 2)]),
    "vecdot": (lambda m, a, b: m.linalg.vecdot(a, b), [_general(2, 1, 3), _general(4, 3)]),
    "vecdot dim": (lambda m, a, b: m.linalg.vecdot(a, b, dim=0), [_general(3, 2), _general(3, 2)]),
    "cross": (lambda m, a, b: m.linalg.cross(a, b), [_general(2, 3), _general(1, 3)]),
    "cross dim": (lambda m, a, b: m.linalg.cross(a, b, dim=0), [_general(3, 2), _general(3, 2)]),
    "matmul": (lambda m, a, b: m.linalg.matmul(a, b), [_general(2, 3, 4), _general(4)]),
    "diagonal": (lambda m, a: m.linalg.diagonal(a), [_general(2, 3, 4)]),
    "diagonal offset dims": (lambda m, a: m.linalg.diagonal(a, offset=-1, dim1=2, dim2=0), [_general(3, 2, 4)]),
    "eig": (lambda m, a: m.linalg.eig(a), [_general(2, 3, 3)], _squared_magnitudes(1), ("eigenvectors",)),
    "eigvals": (lambda m, a: m.linalg.eigvals(a), [_general(3, 3)]),
    "eigvals rotation": (lambda m, a: m.linalg.eigvals(a), [np.array([[0.3, -1.0], [1.2, 0.1]])]),
    "complex inv": (lambda m, a: m.linalg.inv(a), [_complex(2, 3, 3)]),
    "complex det": (lambda m, a: m.linalg.det(a), [_complex(3, 3)]),
    "complex slogdet": (lambda m, a: m.linalg.slogdet(a), [_complex(2, 3, 3)]),
    "complex solve": (lambda m, a, b: m.linalg.solve(a, b), [_complex(2, 3, 3), _complex(3, 2)]),
    "complex solve_triangular": (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True, left=False),
                                 [_complex(3, 3), _complex(2, 3)]),
    "complex eigh": (lambda m, a: m.linalg.eigh(a), [_hermitian(2, 3, 3)], _squared_magnitudes(1),
                     ("eigenvectors",)),
    "complex eigvalsh": (lambda m, a: m.linalg.eigvalsh(a, UPLO="U"), [_hermitian(3, 3)]),
    "complex eig": (lambda m, a: m.linalg.eig(a), [_complex(3, 3)], _squared_magnitudes(1), ("eigenvectors",)),
    "complex svd": (lambda m, a: m.linalg.svd(a, full_matrices=False), [_complex(4, 3)], _squared_magnitudes(0, 2),
                    ("U", "Vh")),
    "complex svdvals": (lambda m, a: m.linalg.svdvals(a), [_complex(3, 4)]),
    "complex qr": (lambda m, a: m.linalg.qr(a), [_complex(4, 3)]),
    "complex pinv": (lambda m, a: m.linalg.pinv(a), [_complex(3, 4)]),
    "complex pinv hermitian": (lambda m, a: m.linalg.pinv(a, hermitian=True), [_hermitian(3, 3)]),
    "complex lstsq": (lambda m, a, b: m.linalg.lstsq(a, b, driver="gelsd"), [_complex(5, 3), _complex(5, 2)]),
    "complex matrix_norm nuc": (lambda m, a: m.linalg.matrix_norm(a, "nuc"), [_complex(3, 4)]),
    "complex norm 2": (lambda m, a: m.linalg.norm(a, 2), [_complex(3, 4)]),
    "complex vector_norm": (lambda m, a: m.linalg.vector_norm(a, 3, dim=-1), [_complex(3, 4)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_torch(name):
    fn, arrays, loss, signs = (*CASES[name], _weighted, ())[:4]
    _same(fn, arrays, loss, signs=signs)


SECOND_ORDER = ["inv batch", "det", "slogdet", "cholesky", "eigh", "eigh lopsided", "eigvalsh", "svd square",
                "svd reduced", "solve batch of vectors", "pinv", "lstsq", "eig", "complex inv", "complex eigh",
                "complex det", "complex slogdet", "complex solve", "complex solve_triangular", "complex eigvalsh",
                "complex eig", "complex svd", "complex svdvals", "complex qr", "complex pinv", "complex pinv hermitian",
                "complex lstsq", "complex matrix_norm nuc", "complex norm 2", "complex vector_norm"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivatives_match_torch(name):
    fn, arrays, loss, signs = (*CASES[name], _weighted, ())[:4]
    _same(fn, arrays, loss, order=2, signs=signs)


# ---- torch's rules and result types ------------------------------------------------------------------------
def test_solve_reads_b_as_vectors_by_torchs_rule_not_numpys():
    a, b = _general(3, 3, 3), _general(3, 3)  # (NumPy 2: b is one (3, 3) matrix for every a; torch: 3 vectors)
    x = dt.linalg.solve(dt.tensor(a), dt.tensor(b))
    assert x.shape == (3, 3)
    np.testing.assert_allclose(x.numpy(), np.stack([np.linalg.solve(a[i], b[i]) for i in range(3)]), rtol=1e-12)
    np.testing.assert_allclose(dt.linalg.solve(a, b), x.numpy(), rtol=1e-12)  # (NumPy arrays: the same rule)
    assert dt.linalg.solve(a, b[:, :, None]).shape == (3, 3, 1) and dt.linalg.solve(a, b[0]).shape == (3, 3)
    assert dt.linalg.solve(a, np.ones((2, 1, 3, 4))).shape == (2, 3, 3, 4)
    _same(lambda m, a, b: m.linalg.solve(a, b), [a, b])


@pytest.mark.parametrize("fn, fields", [
    (lambda m, a: m.linalg.slogdet(a), ("sign", "logabsdet")),
    (lambda m, a: m.linalg.eigh(a), ("eigenvalues", "eigenvectors")),
    (lambda m, a: m.linalg.svd(a), ("U", "S", "Vh")),
    (lambda m, a: m.linalg.qr(a), ("Q", "R")),
    (lambda m, a: m.linalg.qr(a, mode="r"), ("Q", "R")),
    (lambda m, a: m.linalg.lstsq(a, a[:, :2]), ("solution", "residuals", "rank", "singular_values")),
    (lambda m, a: m.linalg.eig(a), ("eigenvalues", "eigenvectors")),
    (lambda m, a: m.linalg.eig(a.float()), ("eigenvalues", "eigenvectors")),
])
def test_result_types_have_torchs_names_and_fields(fn, fields):
    torch = pytest.importorskip("torch")
    a = _separated(3, 3)
    ours, theirs = fn(dt, dt.tensor(a)), fn(torch, torch.tensor(a))
    assert type(ours).__name__ == type(theirs).__name__ and ours._fields == fields
    for field in fields:
        assert getattr(ours, field).shape == tuple(getattr(theirs, field).shape)
        assert getattr(ours, field).dtype.name == str(getattr(theirs, field).dtype).removeprefix("torch.")


NODES = {
    "LinalgInvExBackward0": lambda a, b: dt.linalg.inv(a),
    "LinalgDetBackward0": lambda a, b: dt.linalg.det(a),
    "LinalgSlogdetBackward0": lambda a, b: dt.linalg.slogdet(a).logabsdet,
    "LinalgCholeskyExBackward0": lambda a, b: dt.linalg.cholesky(a @ a.mT),
    "LinalgSolveExBackward0": lambda a, b: dt.linalg.solve(a, b[0]),
    "LinalgSolveTriangularBackward0": lambda a, b: dt.linalg.solve_triangular(a, b, upper=True, left=False),
    "LinalgEighBackward0": lambda a, b: dt.linalg.eigh(a).eigenvectors,
    "LinalgEigBackward0": lambda a, b: dt.linalg.eigvals(a),
    "LinalgSvdBackward0": lambda a, b: dt.linalg.svd(a).S,
    "LinalgQrBackward0": lambda a, b: dt.linalg.qr(a).Q,
    "LinalgPinvBackward0": lambda a, b: dt.linalg.pinv(a),
    "LinalgLstsqBackward0": lambda a, b: dt.linalg.lstsq(a, b).solution,
    "LinalgVectorNormBackward0": lambda a, b: dt.linalg.norm(a),
    "LinalgCrossBackward0": lambda a, b: dt.linalg.cross(a, b),
}


@pytest.mark.parametrize("name", list(NODES))
def test_node_names_are_torchs(name):
    a = dt.tensor(_general(3, 3), requires_grad=True)
    out = NODES[name](a, dt.tensor(_general(3, 3), requires_grad=True))
    assert out.grad_fn.name() == name


def test_matrix_rank_and_powers_match_torch():
    torch = pytest.importorskip("torch")
    low = _general(3, 4, 2) @ _general(3, 2, 5) * np.array([1.0, 1e-6, 10.0])[:, None, None]
    for kwargs in [{}, {"atol": 1e-3}, {"rtol": 1e-3}, {"atol": 0.5, "rtol": 1e-9}, {"hermitian": True}]:
        a = low @ np.swapaxes(low, -1, -2) if kwargs.get("hermitian") else low
        ours = dt.linalg.matrix_rank(dt.tensor(a), **kwargs)
        theirs = torch.linalg.matrix_rank(torch.tensor(a), **kwargs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype.name == "int64"
    cutoffs = [0.1, 0.1, 100.0]
    per_matrix = dt.linalg.matrix_rank(dt.tensor(low), atol=dt.tensor(cutoffs))
    assert per_matrix.tolist() == torch.linalg.matrix_rank(torch.tensor(low), atol=torch.tensor(cutoffs)).tolist()
    a = _general(2, 3, 3)
    identities = dt.linalg.matrix_power(dt.tensor(a), 0)
    np.testing.assert_array_equal(identities.numpy(), np.broadcast_to(np.eye(3), a.shape))


def test_complex_cholesky_gives_the_hermitian_part_of_torchs_gradient():
    """torch's gradient of a complex cholesky has an anti-Hermitian part (from the imaginary diagonal of L^H L_bar),
    a direction in which no Hermitian input moves; dualtape's is Hermitian, the symmetrised input's (JAX's)."""
    torch = pytest.importorskip("torch")
    a = _hermitian(2, 3, 3)
    grads = []
    for m in (dt, torch):
        x = m.tensor(a, requires_grad=True)
        for upper in (False, True):
            _weighted(m, m.linalg.cholesky(x, upper=upper)).backward()
        grads.append(_numbers(x.grad))
    ours, theirs = grads
    np.testing.assert_allclose(ours, np.conj(np.swapaxes(ours, -1, -2)), atol=1e-12)
    np.testing.assert_allclose(ours, (theirs + np.conj(np.swapaxes(theirs, -1, -2))) / 2, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(_numbers(dt.linalg.cholesky(dt.tensor(a))), torch.linalg.cholesky(torch.tensor(a)),
                               rtol=1e-12)


def test_qr_mode_r_gives_an_empty_q_and_a_differentiable_r():
    a = dt.tensor(_general(4, 3), requires_grad=True)
    q, r = dt.linalg.qr(a, mode="r")
    assert q.shape == (0,) and not q.requires_grad
    np.testing.assert_allclose(r.detach().numpy(), np.linalg.qr(_numbers(a), mode="r"), rtol=1e-12)
    (r * r).sum().backward()  # (|R|^2 = |A|^2: the gradient is 2 A)
    np.testing.assert_allclose(a.grad.numpy(), 2 * _numbers(a), rtol=1e-10)


# ---- NumPy arrays and traced values ------------------------------------------------------------------------
def test_plain_arrays_give_arrays_with_torchs_conventions():
    torch = pytest.importorskip("torch")
    lopsided, a = _lopsided(3, 3), _general(2, 3, 3)
    w, v = dt.linalg.eigh(lopsided, UPLO="U")
    assert isinstance(w, np.ndarray) and isinstance(v, np.ndarray)
    np.testing.assert_allclose(w, torch.linalg.eigvalsh(torch.tensor(lopsided), UPLO="U").numpy(), rtol=1e-12)
    np.testing.assert_allclose(dt.linalg.cholesky(lopsided, upper=True),
                               torch.linalg.cholesky(torch.tensor(lopsided), upper=True).numpy(), rtol=1e-12)
    np.testing.assert_allclose(dt.linalg.inv(a), np.linalg.inv(a), rtol=1e-12)
    np.testing.assert_allclose(dt.linalg.pinv(lopsided, hermitian=True),  # (its lower triangle read)
                               np.linalg.inv(np.tril(lopsided) + np.tril(lopsided, -1).T), rtol=1e-10)
    result = dt.linalg.lstsq(_general(5, 3), _general(5, 2), driver="gelsd")
    assert [np.shape(r) for r in result] == [(3, 2), (2,), (), (3,)]


def test_derivatives_on_traced_values_match_finite_differences():
    sym, b = _separated(3, 3), _general(2, 3)
    check_grads(lambda a: dt.linalg.eigh(a + a.T).eigenvalues, [sym], order=2, modes=("fwd", "rev"))
    check_grads(lambda a: dt.linalg.eigh(a + a.T).eigenvectors ** 4, [sym], modes=("fwd", "rev"))
    check_grads(lambda a: dt.linalg.cholesky(a @ a.T, upper=True), [_general(3, 3)], modes=("fwd", "rev"))
    check_grads(lambda a, b: dt.linalg.solve(a, b), [_general(2, 3, 3), b], order=2, modes=("fwd", "rev"))
    check_grads(lambda a, b: dt.linalg.solve_triangular(a, b, upper=True, left=False), [_general(3, 3), b],
                modes=("fwd", "rev"))
    check_grads(lambda a, b: dt.linalg.lstsq(a, b, driver="gelsd")[:2], [_general(5, 3), _general(5, 2)],
                modes=("fwd", "rev"))
    check_grads(lambda a: dt.linalg.pinv(a, rtol=0.01), [_general(3, 4)], modes=("fwd", "rev"))
    check_grads(lambda a: dt.linalg.norm(a, "nuc") + dt.linalg.vector_norm(a, 3), [_general(3, 4)],
                modes=("fwd", "rev"))
    a = _general(2, 3, 3)
    gradient = dt.grad(lambda a: dt.linalg.slogdet(a).logabsdet.sum())(a)
    np.testing.assert_allclose(gradient, np.swapaxes(np.linalg.inv(a), -1, -2), rtol=1e-12)


# ---- what it refuses ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error", [
    (lambda: dt.linalg.solve(np.eye(3), np.ones(3), left=False), ShapeError),
    (lambda: dt.linalg.solve(np.ones((3, 2)), np.ones(3)), ShapeError),
    (lambda: dt.linalg.solve_triangular(np.eye(3), np.ones(3), upper=True), ShapeError),
    (lambda: dt.linalg.lstsq(np.ones((5, 3)), np.ones((4, 2))), ShapeError),
    (lambda: dt.linalg.lstsq(np.ones((5, 3)), np.ones(5), driver="gelsx"), ValueError),
    (lambda: dt.linalg.inv(np.ones(3)), ShapeError),
    (lambda: dt.linalg.cross(np.ones((2, 2)), np.ones((2, 2))), ShapeError),
    (lambda: dt.linalg.matrix_norm(np.ones((3, 3)), dim=0), ValueError),
    (lambda: dt.linalg.matrix_norm(np.ones((3, 3)), ord=3), ValueError),
    (lambda: dt.linalg.norm(np.ones((2, 3, 3)), ord=2), ValueError),
    (lambda: dt.linalg.qr(np.eye(3), mode="raw"), ValueError),
    (lambda: dt.linalg.eigh(np.eye(3), UPLO="X"), ValueError),
    (lambda: dt.linalg.pinv(np.eye(3), atol=np.ones(2)), UnsupportedError),
    (lambda: dt.grad(lambda a: dt.linalg.pinv(a, atol=0.1).sum())(np.eye(3)), UnsupportedError),
    (lambda: dt.linalg.eig(np.ones((2, 3))), ShapeError),
])
def test_bad_calls_raise_clear_errors(call, error):
    with pytest.raises(error):
        call()


def test_an_unknown_name_suggests_the_nearest():
    with pytest.raises(UnsupportedError, match="dt.linalg.svdvals"):
        dt.linalg.svdval(np.eye(3))
    assert not hasattr(dt.linalg, "eigvals_h")


def test_eig_is_complex_for_every_matrix_and_matches_torchs_values():
    torch = pytest.importorskip("torch")
    for a in (np.diag([1.0, 2.0, 3.0]) + np.triu(_general(3, 3), 1), _general(2, 3, 3), _complex(3, 3)):
        ours, theirs = dt.linalg.eig(dt.tensor(a)), torch.linalg.eig(torch.tensor(a))
        for x, y in zip(ours, theirs):
            assert x.dtype == dt.complex128
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dt.linalg.eigvals(a), theirs.eigenvalues.numpy(), rtol=1e-12)  # (an array)
