"""Elementwise primitives: unary maths, binary arithmetic with NumPy broadcasting, comparisons, `where`.

Each row declares one primitive by its NumPy/CuPy expression; the evaluator is compiled from that same
expression, so evaluation and emitted source cannot disagree. Result dtypes come from NumPy (avals.py).
`differentiable=False` marks outputs that are piecewise constant (their derivative is zero).
"""

from __future__ import annotations

import math

import numpy as np

from ..avals import aval_of, broadcast_shapes, is_float
from ..core.primitive import Primitive
from .rules import batch_elementwise, defelementwise, defjvp, defvjp, defzero


def _same_shape(x, **_):
    return x.shape


def unary(name: str, template: str, differentiable: bool = True) -> Primitive:
    return Primitive(name, ("x",), template, _same_shape, differentiable=differentiable, elementwise=True)


def binary(name: str, template: str, differentiable: bool = True, on_numbers: str | None = None) -> Primitive:
    rule = lambda x, y, **_: broadcast_shapes(name, x.shape, y.shape)
    return Primitive(name, ("x", "y"), template, rule, differentiable=differentiable, elementwise=True,
                     on_numbers=on_numbers)


# ---- unary maths -------------------------------------------------------------------------------------
neg_p = unary("neg", "-x")
sin_p = unary("sin", "xp.sin(x)")
cos_p = unary("cos", "xp.cos(x)")
tan_p = unary("tan", "xp.tan(x)")
arcsin_p = unary("arcsin", "xp.arcsin(x)")
arccos_p = unary("arccos", "xp.arccos(x)")
arctan_p = unary("arctan", "xp.arctan(x)")
sinh_p = unary("sinh", "xp.sinh(x)")
cosh_p = unary("cosh", "xp.cosh(x)")
tanh_p = unary("tanh", "xp.tanh(x)")
exp_p = unary("exp", "xp.exp(x)")
exp2_p = unary("exp2", "xp.exp2(x)")
expm1_p = unary("expm1", "xp.expm1(x)")
log_p = unary("log", "xp.log(x)")
log2_p = unary("log2", "xp.log2(x)")
log10_p = unary("log10", "xp.log10(x)")
log1p_p = unary("log1p", "xp.log1p(x)")
sqrt_p = unary("sqrt", "xp.sqrt(x)")
sigmoid_p = unary("sigmoid", "xp.exp(-xp.logaddexp(0, -x))")  # 1/(1+e^-x) without overflow
abs_p = unary("abs", "xp.abs(x)")
relu_p = unary("relu", "xp.maximum(x, 0)")  # (NaN stays NaN, as PyTorch's relu)
sign_p = unary("sign", "xp.sign(x)", differentiable=False)
floor_p = unary("floor", "xp.floor(x)", differentiable=False)
ceil_p = unary("ceil", "xp.ceil(x)", differentiable=False)
round_p = unary("round", "xp.round(x)", differentiable=False)
logical_not_p = unary("logical_not", "xp.logical_not(x)", differentiable=False)
isfinite_p = unary("isfinite", "xp.isfinite(x)", differentiable=False)
stop_gradient_p = unary("stop_gradient", "x", differentiable=False)  # the identity, with derivative zero

integer_pow_p = Primitive("integer_pow", ("x",), "x ** y", _same_shape, on_numbers="power")  # y: a Python int

# ---- binary arithmetic -------------------------------------------------------------------------------
add_p = binary("add", "x + y")
sub_p = binary("sub", "x - y")
mul_p = binary("mul", "x * y")
div_p = binary("div", "x / y", on_numbers="true_divide")  # (on Python numbers: NumPy's inf / nan, not an error)
pow_p = binary("pow", "x ** y", on_numbers="power")
maximum_p = binary("maximum", "xp.maximum(x, y)")
minimum_p = binary("minimum", "xp.minimum(x, y)")
arctan2_p = binary("arctan2", "xp.arctan2(x, y)")
floor_divide_p = binary("floor_divide", "x // y", differentiable=False, on_numbers="floor_divide")
mod_p = binary("mod", "x % y", on_numbers="remainder")

# ---- comparisons and logic ---------------------------------------------------------------------------
eq_p = binary("eq", "x == y", differentiable=False)
ne_p = binary("ne", "x != y", differentiable=False)
lt_p = binary("lt", "x < y", differentiable=False)
le_p = binary("le", "x <= y", differentiable=False)
gt_p = binary("gt", "x > y", differentiable=False)
ge_p = binary("ge", "x >= y", differentiable=False)
logical_and_p = binary("logical_and", "xp.logical_and(x, y)", differentiable=False)
logical_or_p = binary("logical_or", "xp.logical_or(x, y)", differentiable=False)
logical_xor_p = binary("logical_xor", "xp.logical_xor(x, y)", differentiable=False)
bitwise_and_p = binary("bitwise_and", "xp.bitwise_and(x, y)", differentiable=False)  # integers and booleans
bitwise_or_p = binary("bitwise_or", "xp.bitwise_or(x, y)", differentiable=False)
bitwise_xor_p = binary("bitwise_xor", "xp.bitwise_xor(x, y)", differentiable=False)
invert_p = unary("invert", "xp.invert(x)", differentiable=False)  # (xp.invert, not `~x`: ~True is -2 in Python)

where_p = Primitive(
    "where",
    ("c", "x", "y"),
    "xp.where(c, x, y)",
    lambda c, x, y: broadcast_shapes("where", c.shape, x.shape, y.shape),
    elementwise=True,
)

# ---- dtype conversion and constants ------------------------------------------------------------------
def _convert_impl(x, *, dtype):
    """np.asarray(x, dtype); a GPU (CuPy) array converts itself, where np.asarray would refuse it."""
    if type(x) is np.ndarray or isinstance(x, np.generic) or not hasattr(x, "astype"):
        return np.asarray(x, dtype=dtype)
    return x.astype(dtype, copy=False)


convert_element_type_p = Primitive(
    "convert_element_type",
    ("x",),
    "xp.asarray(x, dtype=dtype)",  # not x.astype: x may be a Python scalar (a weakly typed input)
    lambda x, dtype: x.shape,
    dtype_rule=lambda x, dtype: np.dtype(dtype),
    impl=_convert_impl,
)

full_p = Primitive(
    "full",
    (),
    "xp.full(shape, fill_value, dtype=dtype)",
    lambda shape, fill_value, dtype: tuple(shape),
    dtype_rule=lambda shape, fill_value, dtype: np.dtype(dtype),
    differentiable=False,
)


# ---- derivative rules: one formula per operand, g * (partial derivative) -----------------------------
_LN2, _LN10 = math.log(2.0), math.log(10.0)

defelementwise(neg_p, lambda g, ans, x: -g, reads="")
defelementwise(sin_p, lambda g, ans, x: g * cos_p(x), reads="x")
defelementwise(cos_p, lambda g, ans, x: -(g * sin_p(x)), reads="x")
defelementwise(tan_p, lambda g, ans, x: g * (1 + ans * ans), reads="ans")
defelementwise(arcsin_p, lambda g, ans, x: g / sqrt_p(1 - x * x), reads="x")
defelementwise(arccos_p, lambda g, ans, x: -g / sqrt_p(1 - x * x), reads="x")
defelementwise(arctan_p, lambda g, ans, x: g / (1 + x * x), reads="x")
defelementwise(sinh_p, lambda g, ans, x: g * cosh_p(x), reads="x")
defelementwise(cosh_p, lambda g, ans, x: g * sinh_p(x), reads="x")
defelementwise(tanh_p, lambda g, ans, x: g * (1 - ans * ans), reads="ans")
defelementwise(exp_p, lambda g, ans, x: g * ans, reads="ans")
defelementwise(exp2_p, lambda g, ans, x: g * (ans * _LN2), reads="ans")
defelementwise(expm1_p, lambda g, ans, x: g * (ans + 1), reads="ans")
defelementwise(log_p, lambda g, ans, x: g / x, reads="x")
defelementwise(log2_p, lambda g, ans, x: g / (x * _LN2), reads="x")
defelementwise(log10_p, lambda g, ans, x: g / (x * _LN10), reads="x")
defelementwise(log1p_p, lambda g, ans, x: g / (1 + x), reads="x")
defelementwise(sqrt_p, lambda g, ans, x: g / (2 * ans), reads="ans")
defelementwise(sigmoid_p, lambda g, ans, x: g * (ans * (1 - ans)), reads="ans")
defelementwise(abs_p, lambda g, ans, x: g * sign_p(x), reads="x")
defelementwise(relu_p, lambda g, ans, x: where_p(gt_p(x, 0), g, 0), reads="x")  # derivative 0 at 0, as PyTorch and JAX


def _integer_pow_rule(g, ans, x, y):
    if y == 0:
        return g * 0
    if y == 1:
        return g
    return g * (float(y) * (x if y == 2 else integer_pow_p(x, y=y - 1)))  # (a float multiplies faster)


def _tie_weight(x, y, ans):
    """1 where x wins, 1/2 where x and y tie, 0 where y wins (max/min split ties evenly)."""
    dtype = aval_of(ans).dtype
    return convert_element_type_p(x == ans, dtype=dtype) - convert_element_type_p(x == y, dtype=dtype) * 0.5


def _pow_base(x, y):
    """x, but 1 where x == y == 0: d(x ** y)/dx = y x^(y-1) is 0 * inf there, and its limit is 0. No work when
    y is a known non-zero constant (x ** 2.5)."""
    if getattr(y, "_dt_trace", None) is None and np.all(y != 0):  # (y != 0: a GPU array stays there)
        return x
    return where_p(logical_and_p(x == 0, y == 0), 1, x)


defelementwise(integer_pow_p, _integer_pow_rule, reads="x")
defelementwise(add_p, lambda g, ans, x, y: g, lambda g, ans, x, y: g, reads="")
defelementwise(sub_p, lambda g, ans, x, y: g, lambda g, ans, x, y: -g, reads="")
defelementwise(mul_p, lambda g, ans, x, y: g * y, lambda g, ans, x, y: x * g, reads=("y", "x"))
defelementwise(div_p, lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y, reads=("y", "ans y"))
defelementwise(
    pow_p,
    lambda g, ans, x, y: g * (y * pow_p(_pow_base(x, y), y - 1)),
    lambda g, ans, x, y: g * (ans * log_p(where_p(x == 0, 1, x))),  # 0 ** y: no contribution from log 0
    reads=("x y", "ans x"),
)
defelementwise(
    maximum_p,
    lambda g, ans, x, y: g * _tie_weight(x, y, ans),
    lambda g, ans, x, y: g * _tie_weight(y, x, ans),
    reads="ans x y",
)
defelementwise(
    minimum_p,
    lambda g, ans, x, y: g * _tie_weight(x, y, ans),
    lambda g, ans, x, y: g * _tie_weight(y, x, ans),
    reads="ans x y",
)
defelementwise(
    arctan2_p,
    lambda g, ans, x, y: g * (y / (x * x + y * y)),
    lambda g, ans, x, y: g * (-x / (x * x + y * y)),
    reads="x y",
)
defelementwise(mod_p, lambda g, ans, x, y: g, lambda g, ans, x, y: -g * floor_divide_p(x, y), reads=("", "x y"))
defelementwise(where_p, None, lambda g, ans, c, x, y: where_p(c, g, 0), lambda g, ans, c, x, y: where_p(c, 0, g),
               reads=("", "c", "c"))
for _linear in (neg_p, add_p, sub_p):
    _linear.linear_vjp = True  # their cotangents are g and -g: the operands' values are never read
defzero(stop_gradient_p, sign_p, floor_p, ceil_p, round_p, logical_not_p, isfinite_p, floor_divide_p, eq_p, ne_p,
        lt_p, le_p, gt_p, ge_p, logical_and_p, logical_or_p, logical_xor_p, bitwise_and_p, bitwise_or_p,
        bitwise_xor_p, invert_p)


def _convert_rule(g, ans, x, dtype):
    """Between floating dtypes the conversion is the identity on values; to an integer dtype it is flat."""
    if not (is_float(np.dtype(dtype)) and is_float(aval_of(x).dtype)):
        return None
    return convert_element_type_p(g, dtype=dtype)


defjvp(convert_element_type_p, _convert_rule)
def _convert_vjp(g, ans, x, dtype):
    source = aval_of(x).dtype  # (only x's dtype: eager nodes need not keep x)
    return convert_element_type_p(g, dtype=source) if is_float(np.dtype(dtype)) and is_float(source) else None


defvjp(convert_element_type_p, _convert_vjp, reads="")
convert_element_type_p.batch = batch_elementwise(convert_element_type_p)
