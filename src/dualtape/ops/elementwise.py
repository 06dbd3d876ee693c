"""Elementwise primitives: unary maths, binary arithmetic with NumPy broadcasting, comparisons, `where`.

Each row declares one primitive by its NumPy/CuPy expression; the evaluator is compiled from that same
expression, so evaluation and emitted source cannot disagree. Result dtypes come from NumPy (avals.py).
`differentiable=False` marks outputs that are piecewise constant (their derivative is zero).
"""

from __future__ import annotations

import numpy as np

from ..avals import broadcast_shapes
from ..core.primitive import Primitive


def _same_shape(x, **_):
    return x.shape


def unary(name: str, template: str, differentiable: bool = True) -> Primitive:
    return Primitive(name, ("x",), template, _same_shape, differentiable=differentiable)


def binary(name: str, template: str, differentiable: bool = True) -> Primitive:
    rule = lambda x, y, **_: broadcast_shapes(name, x.shape, y.shape)
    return Primitive(name, ("x", "y"), template, rule, differentiable=differentiable)


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
sign_p = unary("sign", "xp.sign(x)", differentiable=False)
floor_p = unary("floor", "xp.floor(x)", differentiable=False)
ceil_p = unary("ceil", "xp.ceil(x)", differentiable=False)
round_p = unary("round", "xp.round(x)", differentiable=False)
logical_not_p = unary("logical_not", "xp.logical_not(x)", differentiable=False)
isfinite_p = unary("isfinite", "xp.isfinite(x)", differentiable=False)

integer_pow_p = Primitive("integer_pow", ("x",), "x ** y", _same_shape)  # y: a Python int param

# ---- binary arithmetic -------------------------------------------------------------------------------
add_p = binary("add", "x + y")
sub_p = binary("sub", "x - y")
mul_p = binary("mul", "x * y")
div_p = binary("div", "x / y")
pow_p = binary("pow", "x ** y")
maximum_p = binary("maximum", "xp.maximum(x, y)")
minimum_p = binary("minimum", "xp.minimum(x, y)")
arctan2_p = binary("arctan2", "xp.arctan2(x, y)")
floor_divide_p = binary("floor_divide", "x // y", differentiable=False)
mod_p = binary("mod", "x % y")

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

where_p = Primitive(
    "where",
    ("c", "x", "y"),
    "xp.where(c, x, y)",
    lambda c, x, y: broadcast_shapes("where", c.shape, x.shape, y.shape),
)

# ---- dtype conversion and constants ------------------------------------------------------------------
convert_element_type_p = Primitive(
    "convert_element_type",
    ("x",),
    "xp.asarray(x, dtype=dtype)",  # not x.astype: x may be a Python scalar (a weakly typed input)
    lambda x, dtype: x.shape,
    dtype_rule=lambda x, dtype: np.dtype(dtype),
)

full_p = Primitive(
    "full",
    (),
    "xp.full(shape, fill_value, dtype=dtype)",
    lambda shape, fill_value, dtype: tuple(shape),
    dtype_rule=lambda shape, fill_value, dtype: np.dtype(dtype),
    differentiable=False,
)
