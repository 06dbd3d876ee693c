"""Complex values through every primitive that takes them: each entry of the per-primitive table below is drawn
as for real values (layout, domains) and then given imaginary parts (some operands stay real, mixing the two),
and checked against finite differences along complex directions in both modes, to second order for the
elementwise rows (JAX's convention: tests/gradcheck.py); and values: compiled and batched against NumPy, and
eagerly. The conventions' reproducers (issue #17) are checked against JAX and PyTorch in
tests/ops/test_complex_parts.py."""

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import dualtape as dt
from gradcheck import assert_close, check_grads
from primitive_cases import CASES, draw_args
from strategies import Domain, arrays

IMAG = Domain(-0.5, 0.5)  # (small imaginary parts: clear of the branch cuts of log, sqrt, arcsin, ... )

# holomorphic elementwise rows (second order), the R-linear ones (complex_parts.py), and the structural,
# reduction, scan and contraction rows (first order: their rules are linear or products)
HOLOMORPHIC = ["add", "sub", "mul", "div", "neg", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh",
               "sqrt", "log1p", "expm1", "log2", "log10", "exp2", "integer_pow", "pow", "arcsin", "arccos",
               "arctan", "arcsinh", "arctanh"]
R_LINEAR = ["abs", "real", "imag", "conj"]
STRUCTURAL = ["reshape", "transpose", "broadcast_to", "expand_dims", "squeeze", "getitem", "concatenate", "where",
              "reduce_sum", "reduce_prod", "cumsum", "cumprod", "matmul", "einsum", "index_add", "index_update"]
SECOND_ORDER = set(HOLOMORPHIC) | set(R_LINEAR)


def _complex_args(data, name):
    """The entry's operands with imaginary parts added to some floating ones (at least one)."""
    case = CASES[name]
    shapes, params, dtypes = data.draw(case.layout, label="layout")
    args = list(draw_args(data.draw, case, shapes, dtypes))
    floating = [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]
    chosen = data.draw(st.sets(st.sampled_from(floating), min_size=1), label="complex operands")
    for i in chosen:
        a = np.asarray(args[i])
        args[i] = a + 1j * data.draw(arrays(np.float64, a.shape, IMAG), label=f"imag {i}")
    note(f"params={params} complex operands={sorted(chosen)}")
    return case, params, tuple(args)


@pytest.mark.parametrize("name", HOLOMORPHIC + R_LINEAR + STRUCTURAL)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_derivatives_along_complex_directions(name, data):
    case, params, args = _complex_args(data, name)
    check_grads(case.call(params), args, order=2 if name in SECOND_ORDER else 1, modes=("fwd", "rev"),
                **case.tolerances())


@pytest.mark.parametrize("name", HOLOMORPHIC + R_LINEAR + STRUCTURAL)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_values_compiled_batched_and_eager(name, data):
    case, params, args = _complex_args(data, name)
    f = case.call(params)
    with np.errstate(all="ignore"):
        expected = case.ref(*args, **params)
        assert_close(dt.jit(f)(*args), expected, "compiled")
        stacked = tuple(np.stack([a, a]) for a in args)
        assert_close(dt.vmap(f)(*stacked), np.stack([expected, expected]), "vmap")
        if name not in ("getitem", "index_add", "index_update"):  # (their params hold index objects for dnp)
            eager = f(*[dt.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
            assert_close(getattr(eager, "numpy", lambda: eager)(), expected, "eager")


@pytest.mark.parametrize("f", [lambda x, z: x * z, lambda x, z: dt.numpy.outer(x, z),
                               lambda x, z: dt.numpy.einsum("i,j->ij", x, z), lambda x, z: (x + 0j) * z,
                               lambda x, z: x.astype(np.complex128) @ z])
@pytest.mark.parametrize("x", [np.array([2.0, -1.0]), np.array(2.0)])
def test_a_real_input_gets_a_real_cotangent_on_every_path(f, x):
    """(issue #17: a complex cotangent reached a real input through mul, outer and einsum)"""
    z = np.array([0.4 + 0.3j, -1.0 + 2.0j])
    x = x if np.ndim(x) else np.full(2, x)  # (outer, einsum and @ need vectors)
    out, pullback = dt.vjp(f, x, z)
    bar_x, bar_z = pullback(np.ones_like(out) * (1 + 1j))
    assert bar_x.dtype == np.float64 and bar_z.dtype == np.complex128
    check_grads(f, (x, z), modes=("fwd", "rev"))


def test_a_real_python_or_numpy_scalar_gets_a_real_cotangent():
    for two in (2.0, np.float64(2.0)):
        bar_a, bar_b = dt.vjp(lambda a, b: a * b, two, 1 + 1j)[1](1 + 1j)
        assert bar_a == 0.0 and not np.iscomplexobj(bar_a) and bar_b == 2 + 2j
