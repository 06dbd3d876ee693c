"""NumPy's further elementwise ufuncs, rows of the elementwise family (ops/elementwise.py, which registers them
with its own): inverse hyperbolic functions, cube root, fabs, sinc, angle conversions, and the two-operand
hypot, logaddexp, logaddexp2, fmax, fmin, copysign and heaviside. Each row is written as elementwise.py's are.
"""

from __future__ import annotations

import math

from ..avals import aval_of
from ..core.faces import FLOAT_FUNCTION, FULL, TO_FLOAT
from .elementwise import (
    abs_p,
    binary,
    cos_p,
    sigmoid_p,
    sign_p,
    sqrt_p,
    tie_weight,
    unary,
    where_p,
)
from .rules import defelementwise, defzero

# ---- unary -------------------------------------------------------------------------------------------
F = FLOAT_FUNCTION
arcsinh_p = unary("arcsinh", "xp.asinh(x)", "Inverse hyperbolic sine.", method="asinh", torch="Asinh", inplace=True,
                  libm=True, promotion=F)
arccosh_p = unary("arccosh", "xp.acosh(x)", "Inverse hyperbolic cosine (of x >= 1).", method="acosh",
                  torch="Acosh", inplace=True, libm=True, promotion=F)
arctanh_p = unary("arctanh", "xp.atanh(x)", "Inverse hyperbolic tangent (of -1 < x < 1).", method="atanh",
                  torch="Atanh", inplace=True, libm=True, promotion=F)
cbrt_p = unary("cbrt", "xp.cbrt(x)", "Real cube root (negative for negative x).", libm=True, promotion=F)
cbrt_p.non_standard = 'xp.cbrt'
fabs_p = unary("fabs", "xp.fabs(x)", "Absolute value, as a floating-point number.", promotion=F)
fabs_p.non_standard = 'xp.fabs'
sinc_p = unary("sinc", "xp.sinc(x)", "NumPy's normalised sinc, sin(pi x) / (pi x), and 1 at 0.", ufunc=None,
               method="sinc", torch="Sinc", inplace=True, promotion=F)  # (np.sinc is a function, not a ufunc)
sinc_p.non_standard = 'xp.sinc'
deg2rad_p = unary("deg2rad", "xp.deg2rad(x)", "Degrees to radians, x * pi / 180.", dnp=("deg2rad", "radians"),
                  method="deg2rad", torch="Deg2Rad", inplace=True, promotion=F)
deg2rad_p.non_standard = 'xp.deg2rad'
rad2deg_p = unary("rad2deg", "xp.rad2deg(x)", "Radians to degrees, x * 180 / pi.", dnp=("rad2deg", "degrees"),
                  method="rad2deg", torch="Rad2Deg", inplace=True, promotion=F)
rad2deg_p.non_standard = 'xp.rad2deg'

# ---- binary ------------------------------------------------------------------------------------------
hypot_p = binary("hypot", "xp.hypot(x, y)", "sqrt(x**2 + y**2), without overflow or underflow.", method="hypot",
                 torch="Hypot", libm=True, promotion=TO_FLOAT)
logaddexp_p = binary("logaddexp", "xp.logaddexp(x, y)", "log(e**x + e**y), without overflow.", method="logaddexp",
                     torch="Logaddexp", libm=True, promotion=TO_FLOAT, precision=FULL)
logaddexp2_p = binary("logaddexp2", "xp.logaddexp2(x, y)", "log2(2**x + 2**y), without overflow.",
                      method="logaddexp2", torch="Logaddexp2", libm=True, promotion=TO_FLOAT, precision=FULL)
logaddexp2_p.non_standard = 'xp.logaddexp2'
fmax_p = binary("fmax", "xp.fmax(x, y)", "Elementwise maximum ignoring NaN: NaN only where both are.", method="fmax",
                torch="Fmax")
fmax_p.non_standard = 'xp.fmax'
fmin_p = binary("fmin", "xp.fmin(x, y)", "Elementwise minimum ignoring NaN: NaN only where both are.", method="fmin",
                torch="Fmin")
fmin_p.non_standard = 'xp.fmin'
copysign_p = binary("copysign", "xp.copysign(x, y)", "|x| with the sign (sign bit) of y.", method="copysign",
                    torch="Copysign", promotion=TO_FLOAT)
heaviside_p = binary("heaviside", "xp.heaviside(x, y)", "The step function: 0 where x < 0, y where x == 0, 1 where "
                     "x > 0.", method="heaviside", promotion=None, differentiable=False)  # (NumPy: floats always)
heaviside_p.non_standard = 'xp.heaviside'


# ---- derivative rules --------------------------------------------------------------------------------
_LN2, _DEGREE = math.log(2.0), math.pi / 180
# d sinc / dx near 0, by its Taylor series: sum over k >= 1 of (-1)^k 2k pi^(2k) x^(2k - 1) / (2k + 1)!, the
# coefficients of x, x^3, ..., x^13 (below |x| = 0.1 the next term is under 1e-20 of the sum)
_SINC_SLOPE = tuple((-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in range(1, 8))


def _sinc_slope(g, ans, x):
    """d sinc(x)/dx = (cos(pi x) - sinc(x)) / x, which cancels near 0 and is 0/0 at 0: there (|x| < 0.1) its
    Taylor series instead, a polynomial, so the slope and every derivative of it are exact at 0 (sinc''(0) is
    -pi^2/3). The formula divides by 1 there (the double-where trick), so no inf or NaN enters a derivative."""
    near = abs_p(x) < 0.1
    far_x = where_p(near, 1.0, x)
    x2 = x * x
    series = _SINC_SLOPE[-1]
    for coefficient in reversed(_SINC_SLOPE[:-1]):
        series = series * x2 + coefficient
    return g * where_p(near, series * x, (cos_p(far_x * math.pi) - ans) / far_x)


def _nonzero(v):
    """v, with 1 where it is 0 (a divisor whose numerator is 0 there too)."""
    return where_p(v == 0, 1, v)


defelementwise(arcsinh_p, lambda g, ans, x: g / _sqrt_one_plus_square(x), reads="x")
def _sqrt_one_plus_square(x):
    """sqrt(1 + x^2): of real x as hypot(x, 1), which does not overflow; of complex x (hypot is real only)."""
    return sqrt_p(1 + x * x) if aval_of(x).dtype.kind == "c" else hypot_p(x, 1.0)


defelementwise(arccosh_p, lambda g, ans, x: g / sqrt_p((x - 1) * (x + 1)), reads="x")
defelementwise(arctanh_p, lambda g, ans, x: g / ((1 - x) * (1 + x)), reads="x")
defelementwise(cbrt_p, lambda g, ans, x: g / (3 * (ans * ans)), reads="ans")
defelementwise(fabs_p, lambda g, ans, x: g * sign_p(x), reads="x")
defelementwise(sinc_p, _sinc_slope, reads="ans x")
defelementwise(deg2rad_p, lambda g, ans, x: g * _DEGREE, reads="")
defelementwise(rad2deg_p, lambda g, ans, x: g * (1 / _DEGREE), reads="")
defelementwise(  # x / hypot, and 0 at the origin (where x is 0): a subgradient, as JAX's
    hypot_p,
    lambda g, ans, x, y: g * (x / _nonzero(ans)),
    lambda g, ans, x, y: g * (y / _nonzero(ans)),
    reads=("ans x", "ans y"),
)
defelementwise(  # e^x / (e^x + e^y) = sigmoid(x - y): finite where x or y is infinite
    logaddexp_p,
    lambda g, ans, x, y: g * sigmoid_p(x - y),
    lambda g, ans, x, y: g * sigmoid_p(y - x),
    reads="x y",
)
defelementwise(
    logaddexp2_p,
    lambda g, ans, x, y: g * sigmoid_p((x - y) * _LN2),
    lambda g, ans, x, y: g * sigmoid_p((y - x) * _LN2),
    reads="x y",
)
for _extreme in (fmax_p, fmin_p):  # as maximum's: to the operand chosen (never a NaN one), ties split evenly
    defelementwise(
        _extreme,
        lambda g, ans, x, y: g * tie_weight(x, y, ans),
        lambda g, ans, x, y: g * tie_weight(y, x, ans),
        reads="ans x y",
    )
# d copysign / dx = +-1 (the sign of x times that of the result), 0 at x == 0 as abs's; y only chooses the sign
defelementwise(copysign_p, lambda g, ans, x, y: g * (sign_p(x) * sign_p(ans)), None, reads=("ans x", ""))
for _scaling in (deg2rad_p, rad2deg_p):
    _scaling.linear_vjp = True  # (g times a constant: the operand's value is never read)
defzero(heaviside_p)
