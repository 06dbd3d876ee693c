"""dnp's predicates and queries, as NumPy's: elementwise tests (isclose, isnan, isinf, ...: compositions of
comparisons, with boolean results), all / any (reductions over booleans), the tests that return one Python bool
(allclose, array_equal, array_equiv: refused where the answer depends on traced data, naming the traced
alternative), the queries answered from shapes and dtypes alone (shape, ndim, size, result_type, can_cast,
iscomplexobj, isscalar: they work on traced values unchanged), and real / imag / conj of real arrays."""

from __future__ import annotations

import math

import numpy as np

from .._util import normalize_axes, normalize_axis, user_source_line
from ..avals import aval_of
from ..errors import ConcretizationError
from . import elementwise as ew
from . import reductions as red
from ._base import SEQUENCES, arr, creation_dtype, holds_traced, nested_shape


def _traced(x) -> bool:
    return getattr(x, "_dt_trace", None) is not None


# ---- elementwise tests --------------------------------------------------------------------------------
def isnan(x):
    """True where x is NaN: `x != x` (NaN is the one value unequal to itself)."""
    x = arr(x)
    return ew.not_equal(x, x)


def isinf(x):
    """True where x is +inf or -inf (a complex value: where either part is)."""
    x = arr(x)
    return ew.equal(ew.abs(x), np.inf)


def _not_complex(name: str, x):
    x = arr(x)
    if aval_of(x).dtype.kind == "c":
        raise TypeError(f"{name}: this operation is not supported for complex values because it would be "
                        "ambiguous (as NumPy)")
    return x


def isposinf(x, out=None):
    """True where x is +inf (np.isposinf; out= must be None: results are new values)."""
    _no_out("isposinf", out)
    return ew.equal(_not_complex("isposinf", x), np.inf)


def isneginf(x, out=None):
    """True where x is -inf (np.isneginf)."""
    _no_out("isneginf", out)
    return ew.equal(_not_complex("isneginf", x), -np.inf)


def _no_out(name: str, out) -> None:
    if out is not None:
        raise NotImplementedError(f"{name}(..., out=...) writes in place; traced values are immutable: assign the "
                                  "result instead")


def _inexact(y):
    """y in the dtype isclose compares in: NumPy's result_type(y, 1.0) (a Python int becomes a Python float)."""
    if type(y) in (bool, int):
        return float(y)
    aval = aval_of(y)
    if aval.dtype.kind in "fc":
        return y
    return ew.add(y, 0.0) if aval.weak else ew.astype(y, np.result_type(aval.dtype, 1.0))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True where |a - b| <= atol + rtol * |b| for finite b, or where a == b (infinities of one sign), as
    np.isclose; NaN is close to NaN only with equal_nan. Not symmetric in a and b (NumPy's rule)."""
    x, y = arr(a), _inexact(arr(b))
    finite = ew.isfinite(y)
    y_finite = ew.where(finite, y, 0)  # (so no inf - inf warns: a non-finite b is close only where equal)
    within = ew.less_equal(ew.abs(ew.subtract(x, y_finite)), ew.add(atol, ew.multiply(rtol, ew.abs(y_finite))))
    result = ew.logical_or(ew.logical_and(within, finite), ew.equal(x, y))
    if equal_nan:
        result = ew.logical_or(result, ew.logical_and(isnan(x), isnan(y)))
    return result[()] if type(result) is np.ndarray else result  # (NumPy's scalar for 0-d data)


# ---- reductions over booleans -------------------------------------------------------------------------
def _truth_reduce(name, reduce, empty: bool, a, axis, keepdims):
    """a's truth values (nonzero) reduced along axis by reduce; `empty` where there are none to reduce."""
    a = ew.astype(arr(a), np.bool_)
    dims = aval_of(a).shape
    count = math.prod(dims[i] for i in normalize_axes(axis, len(dims), name))
    return reduce(a, axis, keepdims, initial=empty if count == 0 else None)


def all(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Whether every element (along axis) is true, i.e. nonzero; True where there are none (np.all)."""
    return _truth_reduce("all", red.min, True, a, axis, keepdims)


def any(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Whether some element (along axis) is true, i.e. nonzero; False where there are none (np.any)."""
    return _truth_reduce("any", red.max, False, a, axis, keepdims)


# ---- one Python bool ----------------------------------------------------------------------------------
def _python_bool(value, name: str, alternative: str) -> bool:
    """bool(value), as NumPy returns; a traced value has none until the program runs: refused, with the traced
    test that means the same."""
    try:
        return bool(value)
    except ConcretizationError:
        raise ConcretizationError(
            f"bool, which dnp.{name} (np.{name}) returns", aval_of(value), user_source_line(),
            f"`{alternative}` is the same test as a traced boolean: use it in dnp.where or dt.cond, or return it; "
            "or pass the arguments as static (static_argnums) to get a Python bool") from None


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether every element of a is close to b's (isclose), as a Python bool."""
    close = all(isclose(a, b, rtol, atol, equal_nan))
    return _python_bool(close, "allclose", "dnp.all(dnp.isclose(a, b))")


def array_equal(a1, a2, equal_nan=False) -> bool:
    """Whether a1 and a2 have one shape and equal elements (NaNs equal with equal_nan), as a Python bool; a
    difference of shapes is known without values, so it answers False for traced values too."""
    a1, a2 = arr(a1), arr(a2)
    if aval_of(a1).shape != aval_of(a2).shape:
        return False
    if equal_nan and a1 is a2:
        return True
    equal = ew.equal(a1, a2)
    if equal_nan:
        equal = ew.logical_or(equal, ew.logical_and(isnan(a1), isnan(a2)))
    return _python_bool(all(equal), "array_equal", "dnp.all(a1 == a2)")


def array_equiv(a1, a2) -> bool:
    """Whether a1 and a2 broadcast together and are equal elementwise, as a Python bool (False for shapes that
    do not broadcast, traced or not)."""
    a1, a2 = arr(a1), arr(a2)
    try:
        np.broadcast_shapes(aval_of(a1).shape, aval_of(a2).shape)
    except ValueError:
        return False
    return _python_bool(all(ew.equal(a1, a2)), "array_equiv", "dnp.all(a1 == a2)")


# ---- queries answered from shapes and dtypes ----------------------------------------------------------
def shape(a) -> tuple:
    """a's shape (a list or tuple holding traced values: the shape of the array it stands for)."""
    if type(a) in SEQUENCES and holds_traced(a):
        return nested_shape(a, [], 0)
    return aval_of(a).shape if _traced(a) else np.shape(a)


_shape_of = shape  # (for empty_like, whose `shape` parameter is NumPy's name)


def ndim(a) -> int:
    return len(shape(a))


def size(a, axis=None) -> int:
    """The number of elements (along an axis, or a tuple of axes)."""
    dims = shape(a)
    if axis is None:
        return math.prod(dims)
    if isinstance(axis, tuple):
        return math.prod(dims[i] for i in normalize_axes(axis, len(dims), "size"))
    return dims[normalize_axis(axis, len(dims), "size")]


_WEAK_STAND_INS = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}


def _dtype_or_value(x):
    """What NumPy's dtype functions take for x: a traced value's dtype (a Python number of its kind if it is a
    weak Python scalar), the dtype a list holding traced values would make, anything else as it is."""
    if _traced(x):
        aval = aval_of(x)
        return _WEAK_STAND_INS[aval.dtype.kind] if aval.weak else aval.dtype
    if type(x) in SEQUENCES and holds_traced(x):
        leaves: list = []
        nested_shape(x, leaves, 0)
        return np.result_type(*[creation_dtype(v) for v in leaves])
    return x


def result_type(*arrays_and_dtypes):
    """The dtype NumPy's promotion gives these arrays, numbers and dtypes (np.result_type)."""
    return np.result_type(*[_dtype_or_value(x) for x in arrays_and_dtypes])


def can_cast(from_, to, casting="safe") -> bool:
    """Whether from_'s dtype converts to `to` under the casting rule (np.can_cast)."""
    if _traced(from_):
        from_ = aval_of(from_).dtype
    return np.can_cast(from_, to, casting)


def iscomplexobj(x) -> bool:
    """Whether x's dtype is complex (whatever its values)."""
    return np.dtype(result_type(x)).kind == "c"


def isrealobj(x) -> bool:
    return not iscomplexobj(x)


def isscalar(element) -> bool:
    """np.isscalar; a traced value with no dimensions counts as a scalar (as in JAX): it is what a number
    becomes when traced."""
    if _traced(element):
        return aval_of(element).shape == ()
    return np.isscalar(element)


# ---- copies ----------------------------------------------------------------------------------------------
def copy(a, order="K", subok=False):
    """A copy of a (np.copy): a traced value is immutable, so it is its own copy; an eager tensor is cloned
    (its gradient flows through the copy)."""
    if type(a) in SEQUENCES and holds_traced(a):
        return arr(a)
    if not _traced(a):
        return np.copy(a, order=order, subok=subok)
    return a.clone()


def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """An array of prototype's shape and dtype (or those given) whose values are not to be read: zeros here for a
    traced prototype (they do not depend on its values), NumPy's uninitialised array otherwise."""
    if not _traced(prototype) and not (type(prototype) in SEQUENCES and holds_traced(prototype)):
        extra = {} if device is None else {"device": device}
        return np.empty_like(prototype, dtype, order, subok, shape, **extra)
    dims = _shape_of(prototype) if shape is None else ((shape,) if isinstance(shape, int) else tuple(shape))
    if getattr(prototype, "_dt_eager", False):  # (a tensor's: a tensor, on its device)
        return prototype.new_empty(dims, dtype=None if dtype is None else np.dtype(dtype))
    return np.zeros(dims, dtype if dtype is not None else result_type(prototype))
