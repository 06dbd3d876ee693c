"""Helpers that several test suites share, each defined here once: the tolerances, named by what they
compare; `leaf`, an eager float64 tensor that requires grad; `torch_or_skip`, the PyTorch oracle (the test
is skipped where it is not installed); `assert_same_numbers`, two results that are the same computation;
`bounded`, hypothesis settings for a fixed number of examples; `line_of`, a line of a function's source."""

import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import dualtape as dt
from dualtape import tree

# ---- tolerances (rtol, atol) -------------------------------------------------------------------------
EXACT = dict(rtol=1e-12, atol=1e-12)  # float64, the same maths summed or fused in another order
FD_RTOL, FD_ATOL = 1e-6, 1e-8  # derivatives against central differences (atol scaled by the expected value)
GPU_FLOAT32 = dict(rtol=1e-4, atol=1e-5)  # float32 on a GPU: transcendentals and reduction orders differ by ulps
DTYPE_TOLERANCES = {  # against NumPy, by the result's dtype
    np.dtype(np.float16): (2e-3, 2e-3),
    np.dtype(np.float32): (2e-5, 2e-6),
    np.dtype(np.float64): (1e-11, 1e-13),
    np.dtype(np.complex64): (2e-5, 2e-6),  # (a complex value: its float parts' tolerance)
    np.dtype(np.complex128): (1e-11, 1e-13),
}


def leaf(values, dtype=np.float64):
    """A tensor of values (float64 unless told) that requires grad."""
    return dt.tensor(np.array(values, dtype=dtype), requires_grad=True)


def torch_or_skip():
    """PyTorch, the eager API's oracle; the calling test is skipped where it is not installed."""
    return pytest.importorskip("torch")


def assert_same_numbers(actual, expected, rtol=EXACT["rtol"], atol=EXACT["atol"]) -> None:
    """Two pytrees of results of one computation run two ways: leaf for leaf the same dtype and values."""
    for a, e in zip(tree.leaves(actual), tree.leaves(expected), strict=True):
        assert np.asarray(a).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def bounded(max_examples: int):
    """Hypothesis settings: max_examples examples, no deadline, slow or large draws allowed."""
    return settings(max_examples=max_examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def line_of(fn, text: str) -> int:
    """The file line number of the first line of fn's source containing text."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, line in enumerate(lines) if text in line)


def d2l(a):
    """The data-dependent loop of Dive into Deep Learning's autograd chapter, as written there (tensor methods)."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def derivative_programs(fn, args) -> list:
    """[(kind, program, its arguments)]: the value, JVP and VJP programs of fn at args (tangents and the
    cotangent fixed ramps), traced and optimised, for running one primitive's programs on another namespace."""
    from dualtape.transforms.passes import optimize

    n = len(args)
    with np.errstate(all="ignore"):
        out = np.asarray(fn(*args))
    tangents = tuple(np.linspace(-1.0, 1.0, a.size).reshape(a.shape).astype(a.dtype) for a in args)
    cotangent = np.linspace(1.0, -1.0, out.size).reshape(out.shape).astype(out.dtype)
    jvp = lambda *a: dt.jvp(fn, a[:n], a[n:])  # noqa: E731
    vjp = lambda *a: dt.vjp(fn, *a[:n])[1](a[n])  # noqa: E731
    found = []
    for kind, g, g_args in (("value", fn, args), ("jvp", jvp, args + tangents), ("vjp", vjp, args + (cotangent,))):
        with np.errstate(all="ignore"):
            found.append((kind, optimize(dt.trace(g)(*g_args)), g_args))
    return found
