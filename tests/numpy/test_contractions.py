"""dnp's contractions beyond the per-function table (tests/functions_contractions.py): einsum's errors (sizes,
subscripts, sublists, dtype), the pairwise order of a many-operand einsum and its readable source, the VJP of an
n-operand einsum equation, multi_dot's chain order, and the errors and warnings of tensordot, cross, multi_dot,
vdot, vecdot and NumPy 2's array-API names."""

import itertools
import re
import warnings

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.errors import ShapeError
from dualtape.numpy.contractions import CROSS_2_VECTORS
from dualtape.ops.linalg import einsum_p
from gradcheck import check_grads

RNG = np.random.default_rng(0)


def _einsums(program) -> list[str]:
    return [e.params["spec"] for e in program.eqns if e.prim is einsum_p]


def test_einsum_size_mismatch_names_einsum_the_letter_the_sizes_and_the_spec():
    def f(a, b, c):
        return dnp.einsum("ij,jk,kl->il", a, b, c)  # the failing line

    with pytest.raises(ShapeError) as info:
        dt.jit(f)(np.ones((2, 3)), np.ones((2, 4)), np.ones((4, 5)))
    message = str(info.value)
    for part in ("einsum", "'j'", "sizes 3 and 2", "'ij,jk,kl->il'", "(2, 3), (2, 4), (4, 5)",
                 f"test_contractions.py:{f.__code__.co_firstlineno + 1}"):
        assert part in message, message


@pytest.mark.parametrize("spec, shapes, fragment", [
    ("ii", [(2, 3)], "repeated in term 'ii'"),
    ("ijk", [(2, 3)], "names 3 axes"),
    ("...ijk", [(2, 3)], "besides '...'"),
    ("ij", [(2, 3), (3,)], "name 1 operands"),
    ("i.j", [(2, 3)], "not part of one ellipsis"),
    ("...i...", [(2, 3)], "not part of one ellipsis"),
    ("i1", [(2, 3)], "only letters"),
    ("ij->ii", [(2, 3)], "more than once"),
    ("ij->k", [(2, 3)], "names no axis"),
    ("...j->j", [(2, 3)], "no '...'"),
])
def test_einsum_subscripts_errors(spec, shapes, fragment):
    with pytest.raises(ValueError, match="einsum") as info:
        dnp.einsum(spec, *[np.ones(s) for s in shapes])
    assert fragment in str(info.value), str(info.value)


@pytest.mark.parametrize("sublist, error", [([0, 52], ValueError), ([-1, 0], ValueError), ([0, 1.0], TypeError),
                                            ([0, True], TypeError), ("ij", TypeError), (3, TypeError)])
def test_einsum_bad_sublists(sublist, error):
    with pytest.raises(error, match="einsum.*sublist"):
        dnp.einsum(np.ones((2, 2)), sublist)


def test_einsum_dtype_casting_and_out():
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4))
    got = dnp.einsum("ij,jk", a, b, dtype=np.float32, casting="same_kind")
    np.testing.assert_allclose(got, np.einsum("ij,jk", a, b, dtype=np.float32, casting="same_kind"), rtol=1e-6)
    assert got.dtype == np.float32
    with pytest.raises(TypeError, match="cannot be cast"):
        dnp.einsum("ij,jk", a, b, dtype=np.float32)  # casting="safe", as NumPy
    with pytest.raises(NotImplementedError, match="out="):
        dnp.einsum("ij,jk", a, b, out=np.empty((2, 4)))


def test_einsum_on_python_numbers_and_lists():
    assert dnp.einsum(",i->i", 2.0, [1.0, 2.0]).tolist() == [2.0, 4.0]
    assert dnp.einsum("i,i,i", [1, 2], [3, 4], [5, 6]) == np.einsum("i,i,i", [1, 2], [3, 4], [5, 6])


def test_source_of_a_three_operand_einsum_shows_the_pairwise_contractions():
    a, b, c = np.ones((2, 30)), np.ones((30, 3)), np.ones((3, 4))  # (a @ b first: the cheap order)
    source = dt.source(lambda a, b, c: dnp.einsum("ij,jk,kl->il", a, b, c), a, b, c)
    first = re.search(r"(\w+) = xp\.einsum\('ij,jk->ik', a, b\)", source)
    assert first, source
    assert f"xp.einsum('ik,kl->il', {first.group(1)}, c)" in source, source
    grad = dt.trace(dt.grad(lambda a, b, c: dnp.sum(dnp.einsum("ij,jk,kl->il", a, b, c)), argnums=(0, 1, 2)))(a, b, c)
    assert all(spec.count(",") == 1 for spec in _einsums(grad)), _einsums(grad)  # two operands per equation


def test_the_order_is_np_einsum_path_s_and_optimize_chooses_it():
    a, b, c = RNG.normal(size=(50, 2)), RNG.normal(size=(2, 50)), RNG.normal(size=(50, 2))
    expected = np.einsum("ij,jk,kl->il", a, b, c)
    def order(optimize):
        return _einsums(dt.trace(lambda *xs: dnp.einsum("ij,jk,kl->il", *xs, optimize=optimize))(a, b, c))

    for optimize in (False, True, "greedy", "optimal"):  # b @ c (2 x 2) first: the cheap order
        assert order(optimize) == ["jk,kl->jl", "ij,jl->il"], optimize
    path = ["einsum_path", (0, 1), (0, 1)]  # an explicit path is followed: a @ b first
    assert order(path) == ["ij,jk->ik", "ik,kl->il"]
    np.testing.assert_allclose(dnp.einsum("ij,jk,kl->il", a, b, c, optimize=path), expected)
    np.testing.assert_allclose(dt.jit(lambda *xs: np.einsum("ij,jk,kl->il", *xs, optimize=True))(a, b, c), expected)


def test_a_diagonal_term_stays_in_its_pairwise_step():
    x, y, z = RNG.normal(size=(3, 3, 2)), RNG.normal(size=(2, 4)), RNG.normal(size=(4, 4))
    program = dt.trace(lambda *xs: dnp.einsum("iij,jk,kk->i", *xs))(x, y, z)
    assert any("ii" in spec for spec in _einsums(program)) and all(s.count(",") <= 1 for s in _einsums(program))
    check_grads(lambda *xs: dnp.einsum("iij,jk,kk->i", *xs), (x, y, z), order=2, modes=("fwd", "rev"))


def test_the_derivatives_of_an_n_operand_einsum_equation_are_pairwise():
    """einsum_p bound on three operands (dnp.einsum never does): its JVP and VJP contract two at a time."""
    xs = (RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2)))
    f = lambda *xs: einsum_p(*xs, spec="ij,jk,ki->i")
    np.testing.assert_allclose(f(*xs), np.einsum("ij,jk,ki->i", *xs))
    check_grads(f, xs, order=2, modes=("fwd", "rev"))
    grad = dt.trace(dt.grad(lambda *xs: dnp.sum(f(*xs)), argnums=(0, 1, 2)))(*xs)
    assert all(spec.count(",") == 1 for spec in _einsums(grad)), _einsums(grad)
    _, tangent = dt.jvp(f, xs, tuple(np.ones_like(x) for x in xs))
    np.testing.assert_allclose(tangent, sum(np.einsum("ij,jk,ki->i", *[np.ones_like(v) if k == i else v
                                                                       for k, v in enumerate(xs)]) for i in range(3)))


def test_eager_tensors_through_a_three_operand_einsum():
    arrays = [RNG.normal(size=s) for s in [(2, 3), (3, 4), (4, 2)]]
    ts = [dt.tensor(a, requires_grad=True) for a in arrays]
    dt.einsum("ij,jk,kl->il", *ts).sum().backward()
    expected = dt.grad(lambda *xs: dnp.sum(dnp.einsum("ij,jk,kl->il", *xs)), argnums=(0, 1, 2))(*arrays)
    for t, e in zip(ts, expected):
        np.testing.assert_allclose(t.grad.numpy(), e)


def _flops(program) -> int:
    return sum(int(np.prod(e.inputs[0].aval.shape)) * e.inputs[1].aval.shape[-1]
               for e in program.eqns if e.prim.name == "matmul")


def _cheapest(dims) -> int:
    """The fewest multiplications over every parenthesisation of the chain (brute force)."""
    def best(i, j):
        return 0 if i == j else min(best(i, k) + best(k + 1, j) + dims[i] * dims[k + 1] * dims[j + 1]
                                    for k in range(i, j))
    return best(0, len(dims) - 2)


@pytest.mark.parametrize("dims", [(10, 100, 5, 50), (50, 5, 100, 10), (3, 30, 2, 40, 1), (7, 2, 9, 1, 8, 3)])
def test_multi_dot_takes_the_cheapest_order(dims):
    arrays = [RNG.normal(size=(m, n)) for m, n in itertools.pairwise(dims)]
    program = dt.trace(lambda *xs: dnp.linalg.multi_dot(list(xs)))(*arrays)
    assert _flops(program) == _cheapest(dims)
    np.testing.assert_allclose(dnp.linalg.multi_dot(arrays), np.linalg.multi_dot(arrays))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: dnp.tensordot(np.ones((2, 3)), np.ones((2, 3)), 1), ShapeError, "not aligned"),
    (lambda: dnp.tensordot(np.ones((2, 3)), np.ones((3, 2)), 3), ShapeError, "axes=3"),
    (lambda: dnp.tensordot(np.ones((2, 3)), np.ones((3, 2)), -1), ShapeError, "axes=-1"),
    (lambda: dnp.tensordot(np.ones((2, 3)), np.ones((3, 3)), ([1, 1], [0, 1])), ValueError, "duplicate"),
    (lambda: dnp.tensordot(np.ones((2, 3)), np.ones((3, 3)), ([1], [0, 1])), ValueError, "shape-mismatch"),
    (lambda: dnp.tensordot(np.ones((2, 3)), np.ones((3, 3)), (5, 0)), ShapeError, "out of bounds"),
    (lambda: dnp.cross(np.ones(4), np.ones(3)), ShapeError, "dimension must be"),
    (lambda: dnp.cross(np.ones((4, 3)), np.ones((2, 3))), ShapeError, "do not broadcast"),
    (lambda: dnp.cross(np.ones(3), np.ones(3), axisc=2), ShapeError, "out of bounds"),
    (lambda: dnp.linalg.cross(np.ones(2), np.ones(2)), ShapeError, "3-dimensional vectors"),
    (lambda: dnp.linalg.multi_dot([np.ones((2, 2))]), ValueError, "at least two"),
    (lambda: dnp.linalg.multi_dot([np.ones((2, 2, 2)), np.ones((2, 2)), np.ones(2)]), ShapeError, "two-dim"),
    (lambda: dnp.linalg.multi_dot([np.ones((2, 3)), np.ones((2, 2)), np.ones(2)]), ShapeError, "do not chain"),
    (lambda: dnp.linalg.outer(np.ones((2, 2)), np.ones(2)), ShapeError, "one-dimensional"),
    (lambda: dnp.matrix_transpose(np.ones(3)), ShapeError, "at least 2-dimensional"),
    (lambda: dnp.vdot(np.ones(1), np.ones(3)), ShapeError, "different lengths"),
    (lambda: dnp.linalg.vecdot(np.ones(1), np.ones(3)), ShapeError, "sizes 1 and 3"),
    (lambda: dnp.dot(np.ones((2, 3, 4)), np.ones((3, 2))), ShapeError, "not aligned"),
    (lambda: dnp.inner(np.ones((2, 3)), np.ones(2)), ShapeError, "not aligned"),
])
def test_contraction_errors(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value), str(info.value)


def test_cross_of_2_vectors_follows_the_installed_numpy():
    """NumPy 2.0 to 2.4 warn of 2-vectors (taken with z = 0); 2.5 refuses them, and so does dnp.cross."""
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    for x, y in ((a, a[::-1]), (a, b), (b, a)):
        if CROSS_2_VECTORS:
            with pytest.warns(DeprecationWarning, match="2-dimensional vectors"):
                expected = np.cross(x, y)
            with pytest.warns(DeprecationWarning, match="2-dimensional vectors"):
                np.testing.assert_allclose(dnp.cross(x, y), expected)
        else:
            with pytest.raises(ValueError, match="3-dimensional vectors"):
                np.cross(x, y)
            with pytest.raises(ShapeError, match="dimension must be 3") as info:
                dnp.cross(x, y)
            assert "append a zero z-component" in str(info.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dnp.cross(b, b)  # 3-vectors: no warning
