"""Abstract values (shape + dtype), NumPy broadcasting, and NumPy type promotion with weak Python scalars.

A Python scalar is *weak*: it takes the dtype of the array it meets (NumPy 2, NEP 50), so `x32 * 2.0` stays
float32. Result dtypes of an op are found by running its NumPy implementation on one-element dummies, so
they agree with NumPy by construction.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np

from .errors import ShapeError

_SHORT = {
    "float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64", "int32": "i32", "int16": "i16",
    "int8": "i8", "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64", "bool": "bool",
    "complex128": "c128", "complex64": "c64", "bfloat16": "bf16",
}


class ShapedArray:
    """The abstract value of an array: its shape, dtype, and whether it is a weak Python scalar."""

    __slots__ = ("shape", "dtype", "weak")

    def __init__(self, shape, dtype, weak: bool = False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak = weak

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __eq__(self, other):
        return (
            isinstance(other, ShapedArray)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak == other.weak
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak))

    def __str__(self):
        return f"{short_dtype(self.dtype)}[{','.join(map(str, self.shape))}]"

    __repr__ = __str__

    def update(self, shape=None, dtype=None) -> "ShapedArray":
        return ShapedArray(self.shape if shape is None else shape, self.dtype if dtype is None else dtype)


def short_dtype(dtype) -> str:
    name = np.dtype(dtype).name
    return _SHORT.get(name, name)


def is_python_scalar(x) -> bool:
    return type(x) in (bool, int, float, complex)


def aval_of(x) -> ShapedArray:
    """The abstract value of a concrete value (array, NumPy scalar, Python scalar) or of a traced value."""
    if type(x) is np.ndarray:  # (eager's rules ask most: its shape and dtype are already a tuple and a dtype)
        aval = ShapedArray.__new__(ShapedArray)
        aval.shape, aval.dtype, aval.weak = x.shape, x.dtype, False
        return aval
    aval = getattr(x, "aval", None)
    if isinstance(aval, ShapedArray):
        return aval
    if type(x) is float:  # (every Python float literal of a traced function comes here)
        return _WEAK_FLOAT
    if is_python_scalar(x):
        return ShapedArray((), np.result_type(x), weak=True)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, x.dtype)
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # CuPy arrays and friends
        return ShapedArray(x.shape, x.dtype)
    if isinstance(x, numbers.Number):
        return ShapedArray((), np.asarray(x).dtype)
    raise TypeError(f"dualtape cannot use a value of type {type(x).__name__} as an array")


_WEAK_FLOAT = ShapedArray((), np.dtype(np.float64), weak=True)


def broadcast_shapes(op: str, *shapes) -> tuple:
    """NumPy broadcasting of shapes, or a ShapeError naming the op and every shape."""
    first = shapes[0] if shapes else ()
    if all(s == first or s == () for s in shapes):  # (the common case: one shape, or it and scalars)
        return tuple(first) if first else max(shapes, key=len, default=())
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-ndim, 0):
        size = 1
        for s in shapes:
            d = s[i] if len(s) >= -i else 1
            if d != 1:
                if size not in (1, d):
                    shown = " and ".join(str(tuple(s)) for s in shapes)
                    raise ShapeError(
                        op,
                        f"operands could not be broadcast together with shapes {shown}",
                        fix="make the shapes compatible under NumPy broadcasting "
                        "(reshape, transpose or expand_dims one operand)",
                    )
                size = d
        out.append(size)
    return tuple(out)


def dummy(aval: ShapedArray, ndim: bool = True):
    """A one-element stand-in for aval: a Python scalar if weak, else an array with aval's rank, holding 1 (1.5
    for inexact dtypes: NumPy before 2.3 keeps the base's dtype for `a ** 1` of 0-d arrays, a fast path that
    other exponents do not take)."""
    one = 1.5 if is_float(aval.dtype) else 1
    if aval.weak:
        return np.array(one, aval.dtype).item()  # (an int too big for int64 has the object dtype)
    return np.full((1,) * aval.ndim if ndim else (), one, dtype=aval.dtype)


@lru_cache(maxsize=4096)
def _result_type_cached(fn, keys: tuple, params: tuple):
    args = [dummy(ShapedArray((1,) * nd, dt, weak)) for dt, nd, weak in keys]
    with np.errstate(all="ignore"):
        out = fn(*args, **dict(params))
    if isinstance(out, (tuple, list)):
        return tuple(np.asarray(o).dtype for o in out), False
    return np.asarray(out).dtype, is_python_scalar(out)


def result_type(fn, avals, params: dict | None = None):
    """(dtype, weak) that NumPy gives for fn applied to values of these avals (cached): the result is weak
    only when it comes back as a Python scalar (`s * 2.0`), not as a NumPy scalar (`np.sin(s)`)."""
    keys = tuple((a.dtype, a.ndim, a.weak) for a in avals)
    return _result_type_cached(fn, keys, tuple(sorted((params or {}).items())))


def is_float(dtype) -> bool:
    """Floating or complex: NumPy's own dtypes, and ml_dtypes' bfloat16 and float8 (which NumPy files as void)."""
    dtype = np.dtype(dtype)
    return dtype.kind in "fc" or dtype.kind == "V" and dtype.name.startswith(("bfloat", "float"))
