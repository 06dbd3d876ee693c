"""dnp elementwise functions: unary maths, binary arithmetic, comparisons, where, clip, astype."""

from __future__ import annotations

import operator

import numpy as np

from ..avals import aval_of
from ..core.primitive import REGISTRY
from ..ops import elementwise as ew
from ._base import arr, bind, dtype

_SEQUENCES = (list, tuple)  # (what arr() converts: a sequence may hold traced values; tested here inline,
#                             since these run once per eager op)


def _unary(prim, name, doc):
    def fn(x):
        return bind(prim, arr(x) if type(x) in _SEQUENCES else x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _binary(prim, name, doc):
    def fn(x, y):
        return bind(prim, arr(x) if type(x) in _SEQUENCES else x, arr(y) if type(y) in _SEQUENCES else y)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def from_rows(written: dict) -> dict:
    """The dnp function of each elementwise row that names one (its dnp face, aliases included), made from
    the row, except where this module writes the function itself (power, where: they do more than bind)."""
    made = {}
    for prim in REGISTRY.values():
        names = prim.faces.dnp
        if not (prim.elementwise and names) or names[0] in written:
            continue
        fn = (_unary if len(prim.operands) == 1 else _binary)(prim, names[0], prim.faces.doc)
        made.update(dict.fromkeys(names, fn))
    return made


def power(x, y):
    """x ** y; a Python int exponent becomes `integer_pow` (exact, and defined for negative x)."""
    if type(y) is int and not isinstance(x, (int, float)):  # (x ** 1 is a new value: simplify drops it in programs)
        return bind(ew.integer_pow_p, arr(x), y=y)
    return bind(ew.pow_p, arr(x), arr(y))


def square(x):
    return power(x, 2)


def reciprocal(x):
    return bind(ew.div_p, 1, arr(x))


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
        return bind(ew.round_p, x)
    is_integer = np.issubdtype(dtype(x), np.integer)
    if is_integer and decimals > 0:
        return x
    scale = 10.0 ** (decimals if decimals > 0 else -decimals)  # (a Python float: weak, so float32 stays)
    scaled = ew.mul_p(x, scale) if decimals > 0 else ew.div_p(astype(x, np.float64) if is_integer else x, scale)
    out = ew.div_p(ew.round_p(scaled), scale) if decimals > 0 else ew.mul_p(ew.round_p(scaled), scale)
    return astype(out, dtype(x)) if is_integer else out


def clip(x, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002 - NumPy 2's aliases
    """Limit values to [a_min, a_max] (either may be None; NumPy 2's `min=`/`max=` spell them too), as np.clip;
    the derivative is 1 where a_min <= x <= a_max, bounds included (as PyTorch's clamp: an input on a bound
    keeps its gradient)."""
    if min is not None or max is not None:
        if a_min is not None or a_max is not None:
            raise ValueError("clip: pass the bounds as a_min/a_max or as min/max, not both (as NumPy)")
        a_min, a_max = min, max
    x = arr(x)
    if a_min is not None and a_max is not None:  # (NumPy computes in the type of all three operands)
        from .predicates import result_type

        x = astype(x, result_type(x, a_min, a_max))
    if a_min is not None:
        x = where(ew.lt_p(x, arr(a_min)), a_min, x)
    if a_max is not None:
        x = where(ew.gt_p(x, arr(a_max)), a_max, x)
    return x


def sqrt_of_sum(s):
    """sqrt of a sum of squares, with derivative 0 where the sum is 0 (PyTorch's choice for norms and std: the
    gradient of a zero vector's norm is 0, not NaN); the square root never sees that 0, so no inf appears."""
    zero = ew.eq_p(s, 0)
    return where(zero, 0, ew.sqrt_p(where(zero, 1, s)))


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
    if getattr(x, "_dt_eager", False):  # (a tensor's: a tensor, on its device, as torch.full_like gives)
        return x.new_full(shape(x), fill_value, dtype=dt)
    return bind(ew.full_p, shape=shape(x), fill_value=fill_value, dtype=dt)


def _dtype_of(x):
    return dtype(arr(x))


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype=dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype=dtype)


ROW_FUNCTIONS = from_rows(globals())  # (before the names below exist: those the rows give)
globals().update(ROW_FUNCTIONS)
