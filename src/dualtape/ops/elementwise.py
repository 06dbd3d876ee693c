"""Elementwise primitives: unary maths, binary arithmetic with NumPy broadcasting, comparisons, `where`.

Each row declares one primitive by its NumPy/CuPy expression; the evaluator is compiled from that same
expression, so evaluation and emitted source cannot disagree. Result dtypes come from NumPy (avals.py).
`differentiable=False` marks outputs that are piecewise constant (their derivative is zero).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ..avals import aval_of, broadcast_shapes, is_float
from ..core.faces import CHOICE, FLOAT_FUNCTION, FULL, SAME_KIND, TO_FLOAT, Faces, Facts
from ..core.primitive import Primitive
from .rules import batch_elementwise, defconstant, defelementwise, defjvp, defvjp, defzero, fit_dtype


def _same_shape(x, **_):
    return x.shape


def _faces(name, doc, dnp, ufunc, method, torch, inplace, promotion) -> Faces:
    """A row's faces from its short spellings: dnp names (default: the primitive's name), ufunc True for the
    NumPy ufunc of the dnp name, torch "Sin" for the node SinBackward0, inplace True for `<method>_`."""
    dnp = (name,) if dnp is None else (dnp,) if isinstance(dnp, str) else tuple(dnp)
    node = torch if torch is None or torch.endswith(("Backward0", "Slices")) else torch + "Backward0"
    return Faces(dnp=dnp, doc=doc or f"Elementwise {dnp[0] if dnp else name} with NumPy broadcasting.",
                 ufunc=(dnp[0] if ufunc is True else ufunc) if dnp else None, method=method, torch_node=node,
                 torch_inplace=f"{method}_" if inplace else None, promotion=promotion)


def unary(name: str, template: str, doc: str = "", *, dnp=None, ufunc=True, method=None, torch=None,
          inplace=False, promotion=None, differentiable=True, new_array=True, precision=None, libm=False,
          **declared) -> Primitive:
    """An elementwise row of one operand; its result is a new array unless new_array=False (the identity)."""
    faces = _faces(name, doc, dnp, ufunc, method, torch, inplace, promotion)
    return Primitive(name, ("x",), template, _same_shape, differentiable=differentiable, elementwise=True,
                     faces=faces, facts=Facts(new_array=new_array, precision=precision, libm=libm), **declared)


def binary(name: str, template: str, doc: str = "", *, dnp=None, ufunc=True, method=None, torch=None,
           promotion=SAME_KIND, differentiable=True, commutative=False, precision=None, libm=False,
           **declared) -> Primitive:
    """An elementwise row of two broadcast operands; its result is always a new array."""
    rule = lambda x, y, **_: broadcast_shapes(name, x.shape, y.shape)
    faces = _faces(name, doc, dnp, ufunc, method, torch, False, promotion)
    return Primitive(name, ("x", "y"), template, rule, differentiable=differentiable, elementwise=True,
                     faces=faces, facts=Facts(commutative=commutative, new_array=True, precision=precision, libm=libm),
                     **declared)


def special_helper(name: str, on_cpu, on_gpu=None):
    """The runtime helper (xp -> function, emitted code calls it by `name`) of a function NumPy lacks: CuPy's
    own kernel on a GPU (cupyx.scipy.special's `name`, or `on_gpu(xp, special)` where its call needs adapting);
    on the CPU `on_cpu(*static, x)` over float64 values, giving the operand's floating dtype (float64 for
    integers), a 0-d operand giving a scalar, as a ufunc does. Static parameters come before the operand."""

    def helper(xp):
        if xp is not np:
            from cupyx.scipy import special  # (CuPy's elementwise kernels)

            return getattr(special, name) if on_gpu is None else on_gpu(xp, special)

        def evaluate(*args):
            x = np.asarray(args[-1])
            out = on_cpu(*args[:-1], x.astype(np.float64))
            return np.asarray(out, dtype=x.dtype if x.dtype.kind == "f" else np.float64)[()]

        evaluate.__name__ = evaluate.__qualname__ = name
        return evaluate

    helper.backend_specific = f"NumPy has no {name}: computed on the CPU, cupyx.scipy.special.{name} on a GPU"
    return helper


def special_impl(helper):
    """The evaluator eager mode runs for a row computed by `helper` (see special_helper): CuPy arrays with the
    GPU's kernel, everything else with the CPU's (built once); static parameters come as keywords."""
    on_cpu = helper(np)

    def impl(x, **static):
        if type(x).__module__.startswith("cupy"):
            return helper(sys.modules["cupy"])(*static.values(), x)
        return on_cpu(*static.values(), x)

    return impl


_erf_helper = special_helper("erf", np.frompyfunc(math.erf, 1, 1))  # (math.erf per element on the CPU)
_erf_impl = special_impl(_erf_helper)


# ---- unary maths -------------------------------------------------------------------------------------
# Each row: name, template (evaluation and emitted source), the dnp docstring, then its faces (core/faces.py).
F = FLOAT_FUNCTION
neg_p = unary("neg", "-x", "-x elementwise.", dnp="negative", method="neg", torch="Neg", inplace=True)
sin_p = unary("sin", "xp.sin(x)", "Sine.", method="sin", torch="Sin", inplace=True, libm=True, promotion=F)
cos_p = unary("cos", "xp.cos(x)", "Cosine.", method="cos", torch="Cos", inplace=True, libm=True, promotion=F)
tan_p = unary("tan", "xp.tan(x)", "Tangent.", method="tan", torch="Tan", inplace=True, libm=True, promotion=F,
              precision=FULL)
arcsin_p = unary("arcsin", "xp.asin(x)", "Inverse sine.", method="asin", inplace=True, torch="Asin", libm=True,
                 promotion=F, precision=FULL)
arccos_p = unary("arccos", "xp.acos(x)", "Inverse cosine.", method="acos", inplace=True, torch="Acos", libm=True,
                 promotion=F, precision=FULL)
arctan_p = unary("arctan", "xp.atan(x)", "Inverse tangent.", method="atan", inplace=True, torch="Atan", libm=True,
                 promotion=F)
sinh_p = unary("sinh", "xp.sinh(x)", "Hyperbolic sine.", method="sinh", inplace=True, torch="Sinh", libm=True,
               promotion=F, precision=FULL)
cosh_p = unary("cosh", "xp.cosh(x)", "Hyperbolic cosine.", method="cosh", inplace=True, torch="Cosh", libm=True,
               promotion=F, precision=FULL)
tanh_p = unary("tanh", "xp.tanh(x)", "Hyperbolic tangent.", method="tanh", torch="Tanh", inplace=True, libm=True,
               promotion=F)
exp_p = unary("exp", "xp.exp(x)", "e**x.", method="exp", torch="Exp", inplace=True, libm=True, promotion=F,
              precision=FULL)
exp2_p = unary("exp2", "xp.exp2(x)", "2**x.", method="exp2", inplace=True, torch="Exp2", libm=True, promotion=F,
               precision=FULL)
exp2_p.non_standard = 'xp.exp2'
expm1_p = unary("expm1", "xp.expm1(x)", "e**x - 1, accurate near 0.", method="expm1", torch="Expm1", inplace=True,
                libm=True, promotion=F, precision=FULL)
log_p = unary("log", "xp.log(x)", "Natural logarithm.", method="log", torch="Log", inplace=True, libm=True, promotion=F,
              precision=FULL)
log2_p = unary("log2", "xp.log2(x)", "Base-2 logarithm.", method="log2", inplace=True, torch="Log2", libm=True,
               promotion=F, precision=FULL)
log10_p = unary("log10", "xp.log10(x)", "Base-10 logarithm.", method="log10", inplace=True, torch="Log10", libm=True,
                promotion=F, precision=FULL)
log1p_p = unary("log1p", "xp.log1p(x)", "log(1 + x), accurate near 0.", method="log1p", torch="Log1P", inplace=True,
                libm=True, promotion=F, precision=FULL)
sqrt_p = unary("sqrt", "xp.sqrt(x)", "Square root.", method="sqrt", torch="Sqrt", inplace=True, promotion=F)
erf_p = unary("erf", "erf(x)", "The error function 2/sqrt(pi) * integral of e**(-t**2) from 0 to x.", ufunc=None,
              method="erf", torch="Erf", inplace=True, promotion=F, impl=_erf_impl,
              helpers={"erf": _erf_helper})  # (NumPy has no erf: emitted code calls the helper)
erf_p.non_standard = (
    "a runtime helper per backend (SciPy's special functions on the CPU, cupyx.scipy.special's on a GPU)")
sigmoid_p = unary("sigmoid", "xp.exp(-xp.logaddexp(0, -x))",  # 1/(1+e^-x) without overflow
                  "Logistic sigmoid 1 / (1 + e**-x), computed without overflow.", ufunc=None, method="sigmoid",
                  torch="Sigmoid", inplace=True, libm=True, promotion=F)
abs_p = unary("abs", "xp.abs(x)", "Absolute value.", dnp=("abs", "absolute"), ufunc="absolute", method="abs",
              torch="Abs", inplace=True)
relu_p = unary("relu", "xp.maximum(x, 0)", "max(x, 0), with derivative 0 at 0 (as PyTorch and JAX).", ufunc=None,
               method="relu", torch="Relu", inplace=True)  # (NaN stays NaN, as PyTorch's relu)
sign_p = unary("sign", "xp.sign(x)", "Sign (-1, 0, 1).", method="sign", torch="Sign", inplace=True,
               differentiable=False)
floor_p = unary("floor", "xp.floor(x)", "Floor.", method="floor", torch="Floor", inplace=True, differentiable=False)
ceil_p = unary("ceil", "xp.ceil(x)", "Ceiling.", method="ceil", torch="Ceil", inplace=True, differentiable=False)
round_p = unary("round", "xp.round(x)", "Round half to even, to an integral value.", dnp="rint", method="round",
                torch="Round", inplace=True, differentiable=False)
logical_not_p = unary("logical_not", "xp.logical_not(x)", "Logical not.", method="logical_not", differentiable=False)
logical_not_p.non_standard = (
    "the standard's takes booleans only; NumPy's (and dnp's) takes any dtype, which emitted code passes on")
isfinite_p = unary("isfinite", "xp.isfinite(x)", "True where finite.", method="isfinite", differentiable=False)
stop_gradient_p = unary("stop_gradient", "x", dnp=(), differentiable=False, new_array=False)  # identity, derivative 0

integer_pow_p = Primitive("integer_pow", ("x",), "x ** y", _same_shape, on_numbers="power",  # y: a Python int
                          faces=Faces(torch_node="PowBackward0"))

# ---- binary arithmetic -------------------------------------------------------------------------------
add_p = binary("add", "x + y", torch="Add", commutative=True)
sub_p = binary("sub", "x - y", dnp="subtract", torch="Sub")
mul_p = binary("mul", "x * y", method="mul", dnp="multiply", torch="Mul", commutative=True)
div_p = binary("div", "x / y", method="div", dnp=("divide", "true_divide"), torch="Div", promotion=TO_FLOAT,
               on_numbers="true_divide")  # (on Python numbers: NumPy's inf / nan, not an error)
pow_p = binary("pow", "x ** y", dnp="power", libm=True, method="pow", torch="Pow", on_numbers="power",
               precision=FULL)  # (dnp.power: by hand)
maximum_p = binary("maximum", "xp.maximum(x, y)", method="maximum", torch="Maximum")
minimum_p = binary("minimum", "xp.minimum(x, y)", method="minimum", torch="Minimum")
arctan2_p = binary("arctan2", "xp.atan2(x, y)", method="atan2", torch="Atan2", libm=True, promotion=TO_FLOAT)
floor_divide_p = binary("floor_divide", "x // y", method="floor_divide", differentiable=False,
                        on_numbers="floor_divide")
mod_p = binary("mod", "x % y", method="remainder", dnp=("mod", "remainder"), torch="Remainder", on_numbers="remainder")

# ---- comparisons and logic ---------------------------------------------------------------------------
eq_p = binary("eq", "x == y", method="eq", dnp="equal", differentiable=False, commutative=True)
ne_p = binary("ne", "x != y", method="ne", dnp="not_equal", differentiable=False, commutative=True)
lt_p = binary("lt", "x < y", method="lt", dnp="less", differentiable=False)
le_p = binary("le", "x <= y", method="le", dnp="less_equal", differentiable=False)
gt_p = binary("gt", "x > y", method="gt", dnp="greater", differentiable=False)
ge_p = binary("ge", "x >= y", method="ge", dnp="greater_equal", differentiable=False)
logical_and_p = binary("logical_and", "xp.logical_and(x, y)", method="logical_and", promotion=None,
                       differentiable=False, commutative=True)
logical_and_p.non_standard = (
    "the standard's takes booleans only; NumPy's (and dnp's) takes any dtype, which emitted code passes on")
logical_or_p = binary("logical_or", "xp.logical_or(x, y)", method="logical_or", promotion=None, differentiable=False,
                      commutative=True)
logical_xor_p = binary("logical_xor", "xp.logical_xor(x, y)", method="logical_xor", promotion=None,
                       differentiable=False, commutative=True)
logical_xor_p.non_standard = (
    "the standard's takes booleans only; NumPy's (and dnp's) takes any dtype, which emitted code passes on")
bitwise_and_p = binary("bitwise_and", "xp.bitwise_and(x, y)", method="bitwise_and", promotion=None,  # (integers,
                       differentiable=False)                                                       # booleans)
bitwise_or_p = binary("bitwise_or", "xp.bitwise_or(x, y)", method="bitwise_or", promotion=None, differentiable=False)
bitwise_xor_p = binary("bitwise_xor", "xp.bitwise_xor(x, y)", method="bitwise_xor", promotion=None,
                       differentiable=False)
invert_p = unary("invert", "xp.bitwise_invert(x)", "Bitwise not of integers; logical not of booleans.",
                 dnp=("invert", "bitwise_not"), method="bitwise_not",
                 differentiable=False)  # (a function, not `~x`: ~True is -2 in Python)

_SAME_WIDTH_INT = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def _where_impl(c, x, y):
    """np.where(c, x, y); a float array chosen against a literal zero (the derivative of relu, of max, of a
    mask) as a bitwise AND with the mask's all-ones pattern: the same bits (zero bits are +0.0), without
    np.where's branch per element (about 10x slower on a random mask)."""
    if type(c) is np.ndarray and c.dtype == np.bool_ and c.ndim:
        keep = type(y) in (int, float) and y == 0  # (else x is the zero, and y is kept where c is False)
        chosen = x if keep else y
        if (type(chosen) is np.ndarray and chosen.shape == c.shape and chosen.dtype in _SAME_WIDTH_INT
                and (keep or type(x) in (int, float) and x == 0)):
            width = _SAME_WIDTH_INT[chosen.dtype]
            mask = np.subtract(0, c, dtype=width) if keep else np.subtract(c, 1, dtype=width)  # (kept: all ones)
            np.bitwise_and(mask, chosen.view(width), out=mask)
            return mask.view(chosen.dtype)
    return np.where(c, x, y)


where_p = Primitive(
    "where",
    ("c", "x", "y"),
    "xp.where(c, x, y)",
    lambda c, x, y: broadcast_shapes("where", c.shape, x.shape, y.shape),
    impl=_where_impl,
    elementwise=True,
    faces=Faces(dnp=("where",), torch_node="WhereBackward0", promotion=CHOICE),  # (dnp.where: numpy/elementwise.py)
    facts=Facts(new_array=True),
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
    faces=Faces(torch_node="ToCopyBackward0"),
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
defelementwise(erf_p, lambda g, ans, x: g * (2 / math.sqrt(math.pi)) * exp_p(-(x * x)), reads="x")
defelementwise(exp_p, lambda g, ans, x: g * ans, reads="ans")
defelementwise(exp2_p, lambda g, ans, x: g * (ans * _LN2), reads="ans")
defelementwise(expm1_p, lambda g, ans, x: g * (ans + 1), reads="ans")
defelementwise(log_p, lambda g, ans, x: g / x, reads="x")
defelementwise(log2_p, lambda g, ans, x: g / (x * _LN2), reads="x")
defelementwise(log10_p, lambda g, ans, x: g / (x * _LN10), reads="x")
defelementwise(log1p_p, lambda g, ans, x: g / (1 + x), reads="x")
defelementwise(sqrt_p, lambda g, ans, x: g / (2 * ans), reads="ans")
defelementwise(sigmoid_p, lambda g, ans, x: g * (ans * (1 - ans)), reads="ans")
# (abs: its rules, real and complex, are in complex_parts.py)
defelementwise(relu_p, lambda g, ans, x: where_p(gt_p(x, 0), g, 0), reads="x")  # derivative 0 at 0, as PyTorch and JAX


def _integer_pow_rule(g, ans, x, y):
    if y == 0:
        return g * 0
    if y == 1:
        return g
    return g * (float(y) * (x if y == 2 else integer_pow_p(x, y=y - 1)))  # (a float multiplies faster)


def tie_weight(x, y, ans):
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
    lambda g, ans, x, y: g * tie_weight(x, y, ans),
    lambda g, ans, x, y: g * tie_weight(y, x, ans),
    reads="ans x y",
)
defelementwise(
    minimum_p,
    lambda g, ans, x, y: g * tie_weight(x, y, ans),
    lambda g, ans, x, y: g * tie_weight(y, x, ans),
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
defconstant(sign_p, floor_p, ceil_p, round_p)
defzero(stop_gradient_p, logical_not_p, isfinite_p, floor_divide_p, eq_p, ne_p,
        lt_p, le_p, gt_p, ge_p, logical_and_p, logical_or_p, logical_xor_p, bitwise_and_p, bitwise_or_p,
        bitwise_xor_p, invert_p)


def _convert_rule(g, ans, x, dtype):
    """Between floating dtypes the conversion is the identity on values (complex to real: the real part); to an
    integer dtype it is flat."""
    if not (is_float(np.dtype(dtype)) and is_float(aval_of(x).dtype)):
        return None
    return fit_dtype(g, aval_of(ans))


defjvp(convert_element_type_p, _convert_rule)
def _convert_vjp(g, ans, x, dtype):
    source = aval_of(x)  # (only x's dtype: eager nodes need not keep x)
    return fit_dtype(g, source) if is_float(np.dtype(dtype)) and is_float(source.dtype) else None


defvjp(convert_element_type_p, _convert_vjp, reads="")
convert_element_type_p.batch = batch_elementwise(convert_element_type_p)

# The family's other rows, registered with these (the dnp functions, methods and ufuncs are made from the registry
# once, when dualtape.numpy first imports this module): complex parts, NumPy's further ufuncs, and SciPy's special
# functions.
from . import complex_parts, elementwise_more, special  # noqa: E402, F401
