"""NumPy breadth: every function the NumPy code people write reaches for (issue 16's list) is in dnp, reachable
through NumPy's own name on traced values, and listed in docs/dnp.md's coverage table with its PyTorch and JAX
names; every public dnp function is in that table."""

import pathlib
import re

import numpy as np
import pytest

import dualtape.numpy as dnp

ASKED = {
    "linalg": "inv pinv solve det slogdet cholesky eigh eigvalsh eig eigvals svd qr norm matrix_power lstsq "
              "solve_triangular multi_dot",
    "": "trace flip flipud fliplr rot90 roll rollaxis repeat tile append pad split array_split vsplit hsplit dsplit "
        "vstack hstack dstack column_stack atleast_1d atleast_2d atleast_3d r_ c_ diag diagonal diagflat triu tril "
        "cumsum cumprod diff gradient sort argsort partition select nan_to_num linspace cross kron outer inner "
        "tensordot einsum arcsinh arccosh arctanh deg2rad rad2deg degrees radians fabs hypot logaddexp logaddexp2 "
        "fmax fmin sinc expm1 log2 exp2 cbrt heaviside copysign sign array asarray mean stack allclose isclose "
        "iscomplexobj shape ndim size result_type",
    "special": "erf erfc gammaln digamma expit logit xlogy logsumexp",
    "fft": "fft ifft rfft irfft fft2 ifft2 fftn ifftn rfft2 irfft2 rfftn irfftn hfft ihfft fftfreq rfftfreq fftshift "
           "ifftshift",
}
NAMESPACES = {"": dnp, "linalg": dnp.linalg, "special": dnp.special, "fft": dnp.fft}
NUMPY = {"": np, "linalg": np.linalg, "fft": np.fft}
DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "dnp.md"


def _asked():
    return [(ns, name) for ns, names in ASKED.items() for name in names.split()]


def _qualified(ns: str, name: str) -> str:
    return f"{ns}.{name}" if ns else name


@pytest.mark.parametrize("ns, name", _asked(), ids=lambda v: v or "dnp")
def test_each_asked_function_is_in_dnp(ns, name):
    assert hasattr(NAMESPACES[ns], name), f"dnp.{_qualified(ns, name)} is missing"


@pytest.mark.parametrize("ns, name", [(ns, n) for ns, n in _asked() if ns in NUMPY], ids=lambda v: v or "dnp")
def test_numpy_names_of_asked_functions_dispatch_to_dnp(ns, name):
    """np.X on a traced value reaches dnp.X: NumPy's function (where this NumPy has it) is in the table."""
    from dualtape.numpy.protocols import _function_table

    theirs = getattr(NUMPY[ns], name, None)
    if theirs is None or isinstance(theirs, np.ufunc) or not callable(theirs) or name in ("array", "asarray"):
        return  # (ufuncs dispatch through __array_ufunc__; r_/c_ are objects; np.array cannot be overridden)
    assert theirs in _function_table(), f"numpy.{_qualified(ns, name)} on traced values does not reach dnp"


def _table_names() -> set:
    text = DOC.read_text()
    section = text[text.index("## Coverage"):]
    return set(re.findall(r"^\| `([\w.]+)`", section, flags=re.M))


def test_every_public_dnp_function_is_in_the_coverage_table():
    listed = _table_names()
    public = {_qualified(ns, n) for ns, module in NAMESPACES.items() for n in dir(module)
              if not n.startswith("_") and callable(getattr(module, n)) and not isinstance(getattr(module, n), type)
              and getattr(np, n, None) is not getattr(module, n)}
    missing = sorted(public - listed)
    assert not missing, f"dnp functions missing from docs/dnp.md's coverage table: {missing}"
    stale = sorted(n for n in listed if n not in public and n.split(".")[-1] not in ("r_", "c_"))
    assert not stale, f"docs/dnp.md's coverage table lists names dnp does not have: {stale}"
