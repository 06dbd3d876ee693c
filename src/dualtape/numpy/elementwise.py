"""dnp elementwise functions: unary maths, binary arithmetic, comparisons, where, clip, astype."""

from __future__ import annotations

import operator

import numpy as np

from ..avals import aval_of
from ..ops import elementwise as ew
from ._base import arr, bind, dtype

_SEQUENCES = (list, tuple)  # (what arr() converts; tested here inline, since these run once per eager op)


def _unary(prim, doc):
    def fn(x):
        return bind(prim, np.asarray(x) if type(x) in _SEQUENCES else x)

    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc
    return fn


def _binary(prim, name):
    def fn(x, y):
        return bind(prim, np.asarray(x) if type(x) in _SEQUENCES else x, np.asarray(y) if type(y) in _SEQUENCES else y)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} with NumPy broadcasting."
    return fn


negative = _unary(ew.neg_p, "-x elementwise.")
sin = _unary(ew.sin_p, "Sine.")
cos = _unary(ew.cos_p, "Cosine.")
tan = _unary(ew.tan_p, "Tangent.")
arcsin = _unary(ew.arcsin_p, "Inverse sine.")
arccos = _unary(ew.arccos_p, "Inverse cosine.")
arctan = _unary(ew.arctan_p, "Inverse tangent.")
sinh = _unary(ew.sinh_p, "Hyperbolic sine.")
cosh = _unary(ew.cosh_p, "Hyperbolic cosine.")
tanh = _unary(ew.tanh_p, "Hyperbolic tangent.")
exp = _unary(ew.exp_p, "e**x.")
exp2 = _unary(ew.exp2_p, "2**x.")
expm1 = _unary(ew.expm1_p, "e**x - 1, accurate near 0.")
log = _unary(ew.log_p, "Natural logarithm.")
log2 = _unary(ew.log2_p, "Base-2 logarithm.")
log10 = _unary(ew.log10_p, "Base-10 logarithm.")
log1p = _unary(ew.log1p_p, "log(1 + x), accurate near 0.")
sqrt = _unary(ew.sqrt_p, "Square root.")
sigmoid = _unary(ew.sigmoid_p, "Logistic sigmoid 1 / (1 + e**-x), computed without overflow.")
abs = _unary(ew.abs_p, "Absolute value.")  # noqa: A001 - NumPy's name
absolute = abs
sign = _unary(ew.sign_p, "Sign (-1, 0, 1).")
floor = _unary(ew.floor_p, "Floor.")
ceil = _unary(ew.ceil_p, "Ceiling.")
rint = _unary(ew.round_p, "Round half to even, to an integral value.")
logical_not = _unary(ew.logical_not_p, "Logical not.")
isfinite = _unary(ew.isfinite_p, "True where finite.")

add = _binary(ew.add_p, "add")
subtract = _binary(ew.sub_p, "subtract")
multiply = _binary(ew.mul_p, "multiply")
divide = _binary(ew.div_p, "divide")
true_divide = divide
maximum = _binary(ew.maximum_p, "maximum")
minimum = _binary(ew.minimum_p, "minimum")
arctan2 = _binary(ew.arctan2_p, "arctan2")
floor_divide = _binary(ew.floor_divide_p, "floor_divide")
mod = _binary(ew.mod_p, "mod")
remainder = mod
equal = _binary(ew.eq_p, "equal")
not_equal = _binary(ew.ne_p, "not_equal")
less = _binary(ew.lt_p, "less")
less_equal = _binary(ew.le_p, "less_equal")
greater = _binary(ew.gt_p, "greater")
greater_equal = _binary(ew.ge_p, "greater_equal")
logical_and = _binary(ew.logical_and_p, "logical_and")
logical_or = _binary(ew.logical_or_p, "logical_or")
logical_xor = _binary(ew.logical_xor_p, "logical_xor")
bitwise_and = _binary(ew.bitwise_and_p, "bitwise_and")
bitwise_or = _binary(ew.bitwise_or_p, "bitwise_or")
bitwise_xor = _binary(ew.bitwise_xor_p, "bitwise_xor")
invert = _unary(ew.invert_p, "Bitwise not of integers; logical not of booleans.")
bitwise_not = invert


def power(x, y):
    """x ** y; a Python int exponent becomes `integer_pow` (exact, and defined for negative x)."""
    if type(y) is int and not isinstance(x, (int, float)):  # (x ** 1 is a new value: simplify drops it in programs)
        return bind(ew.integer_pow_p, arr(x), y=y)
    return bind(ew.pow_p, arr(x), arr(y))


def square(x):
    return power(x, 2)


def reciprocal(x):
    return divide(1, x)


def positive(x):
    return x


def where(condition, x=None, y=None):
    """Elementwise choice; the one-argument form (indices of nonzeros) has a data-dependent shape."""
    if x is None or y is None:
        raise NotImplementedError(
            "dnp.where(condition) with one argument returns indices whose number depends on the data; "
            "use dnp.where(condition, x, y)"
        )
    return bind(ew.where_p, arr(condition), arr(x), arr(y))


def round(x, decimals=0):  # noqa: A001 - NumPy's name
    """Round half to even to `decimals` places (negative: to tens, hundreds, ...), as NumPy: x * 10**decimals
    rounded, then divided back (integers with negative decimals go through float64). The derivative is zero."""
    x, decimals = arr(x), operator.index(decimals)
    if decimals == 0:
        return rint(x)
    is_integer = np.issubdtype(dtype(x), np.integer)
    if is_integer and decimals > 0:
        return x
    scale = 10.0 ** (decimals if decimals > 0 else -decimals)  # (a Python float: weak, so float32 stays)
    scaled = multiply(x, scale) if decimals > 0 else divide(astype(x, np.float64) if is_integer else x, scale)
    out = divide(rint(scaled), scale) if decimals > 0 else multiply(rint(scaled), scale)
    return astype(out, dtype(x)) if is_integer else out


def clip(x, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002 - NumPy 2's aliases
    """Limit values to [a_min, a_max] (either may be None; NumPy 2's `min=`/`max=` spell them too), as np.clip;
    the derivative is 1 where a_min <= x <= a_max, bounds included (as PyTorch's clamp: an input on a bound
    keeps its gradient)."""
    if min is not None or max is not None:
        if a_min is not None or a_max is not None:
            raise ValueError("clip: pass the bounds as a_min/a_max or as min/max, not both (as NumPy)")
        a_min, a_max = min, max
    if a_min is not None:
        x = where(less(x, a_min), a_min, x)
    if a_max is not None:
        x = where(greater(x, a_max), a_max, x)
    return x


def sqrt_of_sum(s):
    """sqrt of a sum of squares, with derivative 0 where the sum is 0 (PyTorch's choice for norms and std: the
    gradient of a zero vector's norm is 0, not NaN); the square root never sees that 0, so no inf appears."""
    zero = equal(s, 0)
    return where(zero, 0, sqrt(where(zero, 1, s)))


def relu(x):
    """max(x, 0), with derivative 0 at 0 (as PyTorch and JAX)."""
    return bind(ew.relu_p, arr(x))


def astype(x, new_dtype):
    """Convert to new_dtype (no equation when the dtype already matches). A Python scalar, concrete or traced,
    always converts: the result is a strongly typed array, as np.asarray(x, new_dtype) is."""
    new_dtype = np.dtype(new_dtype)
    x = arr(x)
    aval = aval_of(x)
    if aval.dtype == new_dtype and not aval.weak:
        return x
    return bind(ew.convert_element_type_p, x, dtype=new_dtype)


def full_like(x, fill_value, dtype_=None, *, dtype=None):
    """An array of x's shape filled with fill_value (a constant: it does not depend on x's values)."""
    from ._base import shape

    dt = np.dtype(dtype or dtype_ or _dtype_of(x))
    return bind(ew.full_p, shape=shape(x), fill_value=fill_value, dtype=dt)


def _dtype_of(x):
    return dtype(arr(x))


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype=dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype=dtype)
