"""Per-function cases (tests/function_case.py) for dnp.special's compositions (logit, xlogy, xlog1py, SciPy's
logsumexp / softmax / log_softmax, polygamma's order dispatch), with PyTorch's torch.special as the oracle; and
the NumPy references of the special-function rows (erfc, gammaln, digamma, polygamma) that the per-primitive
table (tests/primitive_cases.py) and tests/ops/test_special.py compare with: quadratures and series computed
here, independent of dualtape's evaluation (math.erfc, math.lgamma, the recurrence + asymptotic series)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import dualtape.numpy as dnp
from function_case import FnCase, fixed, operands
from strategies import Domain, arrays, dtypes, shapes

# ---- NumPy references for the special-function rows -------------------------------------------------------
_LEGENDRE_T, _LEGENDRE_W = np.polynomial.legendre.leggauss(64)
_LAGUERRE_U, _LAGUERRE_W = np.polynomial.laguerre.laggauss(80)


def _like_a_ufunc(x, value):
    """value (float64) in x's floating dtype, float64 for integers, a scalar for a 0-d x (as SciPy's ufuncs)."""
    x = np.asarray(x)
    return np.asarray(value).astype(x.dtype if x.dtype.kind == "f" else np.float64)[()]


def erfc_reference(x):
    """erfc by quadrature: 1 - erf(x) by Gauss-Legendre on [0, x] below x = 1; above it, e^(-x^2) / (x sqrt(pi))
    times the Gauss-Laguerre integral of e^(-s^2 / (4x^2)), which keeps its relative precision as erfc
    underflows (within 6e-14 on [1, 27])."""
    xs = np.asarray(x, np.float64)
    t = xs[..., None] / 2 * (_LEGENDRE_T + 1)
    erf = (xs[..., None] / 2 * (_LEGENDRE_W * np.exp(-t * t))).sum(-1) * (2 / np.sqrt(np.pi))
    big = np.where(xs >= 1, xs, 1.0)[..., None]
    tail = (_LAGUERRE_W * np.exp(-_LAGUERRE_U ** 2 / (4 * big * big))).sum(-1)
    with np.errstate(under="ignore"):
        value = np.where(xs >= 1, np.exp(-big[..., 0] ** 2) / (big[..., 0] * np.sqrt(np.pi)) * tail, 1 - erf)
    return _like_a_ufunc(x, value)


def _shifted(x, start, term):
    """(y, s): x moved up by whole steps to y >= start, and the sum of term(x + j) over the steps taken."""
    steps = np.maximum(np.ceil(start - x), 0)
    total = np.zeros_like(x)
    for j in range(int(steps.max(initial=0))):
        taken = j < steps
        total = total + np.where(taken, term(np.where(taken, x + j, 1.0)), 0.0)
    return x + steps, total


def gammaln_reference(x):
    """log Gamma(x) for x > 0 by Stirling's series at x + m >= 10, less log of the product x (x+1) ... (x+m-1)."""
    xs = np.asarray(x, np.float64)
    y, logs = _shifted(xs, 10.0, np.log)
    inv2 = 1 / (y * y)
    series = (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (
        -691 / 360360 + inv2 / 156)))))) / y  # (B_2k / (2k (2k - 1) y^(2k - 1)), k = 1 .. 7)
    return _like_a_ufunc(x, (y - 0.5) * np.log(y) - y + 0.5 * math.log(2 * math.pi) + series - logs)


def _binet(t):
    """1 / (e^t - 1) - 1 / t + 1/2, by its series below t = 0.05 (where the three terms cancel)."""
    safe = np.where(t < 0.05, 1.0, t)
    series = t / 12 - t ** 3 / 720 + t ** 5 / 30240 - t ** 7 / 1209600
    return np.where(t < 0.05, series, 1 / np.expm1(safe) - 1 / safe + 0.5)


def polygamma_reference(n, x):
    """psi^(n)(x) for x > 0 by quadrature, after moving x up to y >= 8 (psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! /
    x^(n+1)): digamma by Binet's integral, log y - 1/(2y) - integral of (1/(e^t - 1) - 1/t + 1/2) e^(-yt), and
    polygamma(n >= 1) as (-1)^(n+1) times the integral of t^n e^(-yt) / (1 - e^(-t)), by Gauss-Laguerre."""
    xs = np.asarray(x, np.float64)
    y, powers = _shifted(xs, 8.0, lambda v: 1 / v ** (n + 1))
    u = _LAGUERRE_U / y[..., None]
    if n == 0:
        value = np.log(y) - 0.5 / y - (_LAGUERRE_W * _binet(u)).sum(-1) / y
    else:
        ratio = u / -np.expm1(-u)  # t / (1 - e^-t) at t = u / y
        value = (-1) ** (n + 1) * (_LAGUERRE_W * _LAGUERRE_U ** (n - 1) * ratio).sum(-1) / y ** n
    return _like_a_ufunc(x, value - (-1) ** n * math.factorial(n) * powers)


def digamma_reference(x):
    return polygamma_reference(0, x)


# ---- draws of polygamma's order, for the per-primitive table ---------------------------------------------
POSITIVE_GAMMA = Domain(0.125, 10.0)


def polygamma_layout():
    """(operand shapes, params, dtypes) for the polygamma row: one operand and an order n from 1 to 4."""
    return st.tuples(shapes(), st.integers(1, 4)).map(lambda t: ((t[0],), {"n": t[1]}, None))


def polygamma_values(choices):
    """(NumPy function, dualtape function, operands): polygamma of a drawn order over positive x."""

    @st.composite
    def case(draw):
        n = draw(st.integers(1, 4))
        x = draw(arrays(draw(dtypes(choices)), draw(shapes()), POSITIVE_GAMMA))
        return (lambda v: polygamma_reference(n, v)), (lambda v: dnp.special.polygamma(n, v)), (x,)

    return case()


# ---- the section: dnp.special's compositions ---------------------------------------------------------------
def _torch():
    import torch

    return torch


PROBABILITY = Domain(0.05, 0.95)
LOGITS = Domain(-5.0, 5.0)


@st.composite
def _with_axis(draw):
    """A float64 array of 1 to 3 dimensions and an axis of it, or None (SciPy's default: all of it)."""
    shape = draw(shapes(min_dims=1, min_side=1))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    return (draw(arrays(np.dtype(np.float64), shape, LOGITS)),), {"axis": axis}


def _torch_over(fn):
    """A torch reduction along dim, or over the flattened tensor for axis None (SciPy's default)."""
    return lambda x, axis: fn(x.reshape(-1), 0).reshape(x.shape) if axis is None else fn(x, axis)


def _logsumexp_np(a, b=None, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum((1 if b is None else b) * np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)


def _softmax_np(x, axis=None):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


SECTION = {
    "special.logit": FnCase(
        dnp.special.logit, lambda p: np.log(p / (1 - p)), fixed((2, 3), domain=PROBABILITY),
        torch=lambda p: _torch().special.logit(p)),
    "special.expit_of_logit": FnCase(
        lambda p: dnp.special.expit(dnp.special.logit(p)), lambda p: p, fixed((4,), domain=PROBABILITY),
        torch=lambda p: _torch().special.expit(_torch().special.logit(p))),
    "special.xlogy": FnCase(
        dnp.special.xlogy, lambda x, y: x * np.log(y), operands(((2, 3), (3,)), Domain(0.1, 4.0)),
        torch=lambda x, y: _torch().special.xlogy(x, y)),
    "special.xlog1py": FnCase(
        dnp.special.xlog1py, lambda x, y: x * np.log1p(y), operands(((3,), (2, 3)), Domain(-0.5, 3.0, away=0.1)),
        torch=lambda x, y: _torch().special.xlog1py(x, y)),
    "special.polygamma": FnCase(  # (the orders 0 .. 3: digamma's row, then polygamma's)
        lambda x, n: dnp.special.polygamma(n, x), lambda x, n: polygamma_reference(n, x),
        fixed((2, 2), domain=Domain(0.25, 6.0), n=st.integers(0, 3)),
        torch=lambda x, n: _torch().special.polygamma(n, x)),
    "special.logsumexp": FnCase(
        dnp.special.logsumexp, lambda a, axis: _logsumexp_np(a, axis=axis), _with_axis(),
        torch=lambda a, axis: _torch().logsumexp(a.reshape(-1), 0) if axis is None else _torch().logsumexp(a, axis)),
    "special.logsumexp_weighted": FnCase(
        lambda a, b: dnp.special.logsumexp(a, axis=-1, b=b), lambda a, b: _logsumexp_np(a, b, -1),
        operands(((2, 3), (3,)), Domain(0.25, 3.0)),
        torch=lambda a, b: _torch().logsumexp(a + _torch().log(b), -1)),
    "special.softmax": FnCase(
        dnp.special.softmax, _softmax_np, _with_axis(), torch=_torch_over(lambda x, dim: _torch().softmax(x, dim))),
    "special.log_softmax": FnCase(
        dnp.special.log_softmax, lambda x, axis: np.log(_softmax_np(x, axis)), _with_axis(),
        torch=_torch_over(lambda x, dim: _torch().log_softmax(x, dim))),
}
