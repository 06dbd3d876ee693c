"""SciPy's special functions as elementwise rows (registered with ops/elementwise.py's family): erfc, gammaln,
digamma and polygamma. NumPy has none of them, so each template calls a runtime helper: CuPy's kernel
(cupyx.scipy.special) on a GPU and, on the CPU, math.erfc / math.lgamma per element, or for digamma and
polygamma a vectorised evaluation here (recurrence, asymptotic series, reflection). Each derivative is the
next function of the chain (gammaln -> digamma -> polygamma(1) -> polygamma(2) ...), so every order is exact.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..core.faces import FLOAT_FUNCTION, FULL
from .elementwise import exp_p, special_helper, special_impl, unary
from .rules import defelementwise

# ---- evaluation on the CPU ---------------------------------------------------------------------------
# Bernoulli numbers B_2, B_4, ..., B_20: the asymptotic series of digamma and polygamma
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330)


def _lgamma(v: float) -> float:
    """log|Gamma(v)|, inf at the poles (0, -1, -2, ...: math.lgamma raises there), as scipy's gammaln."""
    try:
        return math.lgamma(v)
    except ValueError:
        return math.inf


def _asymptotic(n: int, x):
    """psi^(n)(x) for x >= 10 + n by its asymptotic series (ten Bernoulli terms: relative error below 1e-17)."""
    inv2 = 1 / (x * x)
    if n == 0:
        tail = 0.0
        for k in range(len(_BERNOULLI), 0, -1):
            tail = (tail + _BERNOULLI[k - 1] / (2 * k)) * inv2
        return np.log(x) - 0.5 / x - tail
    tail = 0.0
    for k in range(len(_BERNOULLI), 0, -1):  # sum of B_2k (2k + n - 1)! / (2k)! / x^(2k + n)
        tail = (tail + _BERNOULLI[k - 1] * math.factorial(2 * k + n - 1) / math.factorial(2 * k)) * inv2
    head = math.factorial(n - 1) + math.factorial(n) / (2 * x)
    return (-1) ** (n + 1) * (head + tail) / x ** n


@functools.lru_cache(maxsize=None)
def _cot_derivative(n: int) -> np.polynomial.Polynomial:
    """P_n with d^n/dz^n cot(z) = P_n(cot z), from P_0(c) = c and dc/dz = -(1 + c^2)."""
    p, slope = np.polynomial.Polynomial([0.0, 1.0]), np.polynomial.Polynomial([-1.0, 0.0, -1.0])
    for _ in range(n):
        p = p.deriv() * slope
    return p


def _cot_pi(r):
    """cot(pi r) for |r| <= 1/2, accurate near 1/2 too (there as tan(pi (1/2 - |r|)): 1/2 - |r| is exact)."""
    near_half = np.abs(r) > 0.25
    return np.where(near_half, np.sign(r) * np.tan(np.pi * (0.5 - np.abs(r))), 1 / np.tan(np.pi * r))


def polygamma_on_cpu(n: int, x):
    """psi^(n)(x), the n-th derivative of digamma (n = 0: digamma itself), of float64 x, vectorised: for x < 0 the
    reflection psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)); then the recurrence psi^(n)(x) =
    psi^(n)(x + 1) - (-1)^n n! / x^(n + 1) up to x >= 10 + n, where the asymptotic series is exact. At the poles
    (0, -1, -2, ...) and at -inf as SciPy: digamma -inf at +0, +inf at -0, NaN below; polygamma (-1)^(n+1) inf
    (at -0 too)."""
    x = np.asarray(x, np.float64) if n == 0 else np.asarray(x, np.float64) + 0.0  # (-0.0 + 0.0 is +0.0)
    reflect = x < 0
    y = np.where(reflect, 1 - x, x)
    start, term = 10.0 + n, -((-1) ** n) * math.factorial(n)
    shift = np.zeros_like(y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(int(start) + 1):
            below = y < start
            if not below.any():
                break
            shift = shift + np.where(below, term / y ** (n + 1), 0.0)
            y = np.where(below, y + 1, y)
        out = _asymptotic(n, y) + shift
        if reflect.any():
            r = x - np.round(x)
            reflected = (-1) ** n * out - np.pi ** (n + 1) * _cot_derivative(n)(_cot_pi(r))
            pole = np.nan if n == 0 else (-1) ** (n + 1) * np.inf
            out = np.where(reflect, np.where((r == 0) | (x == -np.inf), pole, reflected), out)
    return out


def _polygamma_on_gpu(xp, special):
    """cupyx's polygamma, with the order as a device array and the result in x's floating dtype (CuPy's
    computes in float64 from the order's gamma function)."""

    def polygamma(n, x):
        x = xp.asarray(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        return special.polygamma(xp.asarray(n), x).astype(dtype, copy=False)

    return polygamma


# ---- the rows ----------------------------------------------------------------------------------------
F = FLOAT_FUNCTION
_helpers = {
    "erfc": special_helper("erfc", np.frompyfunc(math.erfc, 1, 1)),
    "gammaln": special_helper("gammaln", np.frompyfunc(_lgamma, 1, 1)),
    "digamma": special_helper("digamma", functools.partial(polygamma_on_cpu, 0)),
    "polygamma": special_helper("polygamma", polygamma_on_cpu, _polygamma_on_gpu),
}


def _row(name, template, doc, **faces):
    """A special function's row: SciPy's evaluation, and float32 under a mixed-precision policy (as autocast)."""
    return unary(name, template, doc, ufunc=None, impl=special_impl(_helpers[name]),
                 helpers={name: _helpers[name]}, precision=FULL, **faces)


erfc_p = _row("erfc", "erfc(x)", "The complementary error function 1 - erf(x), accurate where erf(x) is near 1.",
              method="erfc", torch="Erfc", inplace=True, promotion=F)
erfc_p.non_standard = (
    "a runtime helper per backend (SciPy's special functions on the CPU, cupyx.scipy.special's on a GPU)")
gammaln_p = _row("gammaln", "gammaln(x)", "log|Gamma(x)|, the logarithm of the gamma function's absolute value.",
                 method="lgamma", torch="Lgamma", inplace=True, promotion=F)
gammaln_p.non_standard = (
    "a runtime helper per backend (SciPy's special functions on the CPU, cupyx.scipy.special's on a GPU)")
digamma_p = _row("digamma", "digamma(x)", "The digamma function psi(x), the derivative of gammaln.",
                 method="digamma", torch="Digamma", inplace=True, promotion=F)
digamma_p.non_standard = (
    "a runtime helper per backend (SciPy's special functions on the CPU, cupyx.scipy.special's on a GPU)")
polygamma_p = _row("polygamma", "polygamma(n, x)", "psi^(n)(x), the n-th derivative of digamma (n >= 1, static).",
                   dnp=(), torch="Polygamma")  # (dnp.special.polygamma(n, x) binds it; n == 0 binds digamma)
polygamma_p.non_standard = (
    "a runtime helper per backend (SciPy's special functions on the CPU, cupyx.scipy.special's on a GPU)")

defelementwise(erfc_p, lambda g, ans, x: g * (-2 / math.sqrt(math.pi)) * exp_p(-(x * x)), reads="x")
defelementwise(gammaln_p, lambda g, ans, x: g * digamma_p(x), reads="x")
defelementwise(digamma_p, lambda g, ans, x: g * polygamma_p(x, n=1), reads="x")
defelementwise(polygamma_p, lambda g, ans, x, n: g * polygamma_p(x, n=n + 1), reads="x")
