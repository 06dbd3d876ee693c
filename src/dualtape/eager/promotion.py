"""PyTorch's type promotion for eager operations, which differs from NumPy's (NEP 50) where categories or
ranks differ: a float32 tensor times an int64 tensor or a NumPy float64 scalar stays float32, a 0-d tensor
does not widen a tensor of its category, a Python float meeting integers gives the default float32, and
true division and float functions of integers give float32. The operands are cast before the op runs, so
every face (eager, dt.compile's trace of eager code) computes in the dtype PyTorch would. Which operands a
primitive promotes together is its row's `promotion` face (core/faces.py), read as `prim.torch_promotion`."""

from __future__ import annotations

import numpy as np

from ..core.primitive import REGISTRY, bind, trace_of

DEFAULT_FLOAT = np.dtype(np.float32)
_DEFAULT = {"b": np.dtype(np.bool_), "i": np.dtype(np.int64), "f": DEFAULT_FLOAT, "c": np.dtype(np.complex64)}
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3, "V": 2}  # (V: ml_dtypes' bfloat16, a float to NumPy 2)
_NAMES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
          "complex64", "complex128")
_SCALAR_TYPES = dict(zip(_NAMES, ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte",
                                  "Bool", "ComplexFloat", "ComplexDouble")))
_CPP_TYPES = dict(zip(_NAMES, ("float", "double", "c10::Half", "c10::BFloat16", "long int", "int", "short int",
                               "signed char", "unsigned char", "bool", "c10::complex<float>", "c10::complex<double>")))


def _kind(dtype) -> str:
    return "i" if dtype.kind == "u" else dtype.kind


def _promote(a, b):
    """PyTorch's promote_types: across categories the higher category's dtype (int64 and float32 give
    float32), within one NumPy's."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or ca == 3 or cb == 3:
        return np.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher, lower):
    """PyTorch's combine_categories: the higher group's dtype, unless the lower one is of a higher category."""
    if higher is None:
        return lower
    if lower is None or _CATEGORY[higher.kind] >= _CATEGORY[lower.kind] and higher.kind != "b":
        return higher
    return _promote(higher, lower)


def _agrees(positions, floating, raw) -> bool:
    """The cases where NumPy's promotion is PyTorch's: arrays of one dtype, or one with a Python number of no
    higher category (the commonest of them, floating, EagerTrace.process checks in line before calling)."""
    if len(positions) == 1:
        a = raw[positions[0]]
        return type(a) is np.ndarray and a.dtype.kind in "fc"
    a, b = raw[positions[0]], raw[positions[1]]
    if type(a) is not np.ndarray:
        a, b = b, a
        if type(a) is not np.ndarray:
            return False
    kind, tb = a.dtype.kind, type(b)
    if tb is np.ndarray:
        return a.dtype is b.dtype and (kind in "fc" or not floating)
    if tb is float:
        return kind in "fc"
    if tb is int:
        return kind in "fc" or kind in "iu" and not floating
    return False


def same_dtype(a, b) -> tuple:
    """(a, b), two operands of a matrix product, which PyTorch refuses to promote: of one dtype, else its error
    (its matmul, mm, dot and @; dnp.matmul on tensors promotes as NumPy does). A complex operand with a real one
    is let through to NumPy's promotion, as dualtape's complex support (issue 17) has it, where PyTorch refuses."""
    a_dtype, b_dtype = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if a_dtype is not None and b_dtype is not None and a_dtype != b_dtype and "c" not in (a_dtype.kind, b_dtype.kind):
        fix = " (convert one first, e.g. b.to(a.dtype))"
        if np.ndim(a) == 1 and np.ndim(b) == 1:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_SCALAR_TYPES.get(a_dtype.name)} and {_SCALAR_TYPES.get(b_dtype.name)}" + fix)
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_CPP_TYPES.get(a_dtype.name)} != "
                           f"{_CPP_TYPES.get(b_dtype.name)}" + fix)
    return a, b


def promoted(rule, raw: list, versions: list) -> list:
    """raw with the operands at the rule's positions cast to PyTorch's result dtype (raw itself if none is);
    versions marks the tensors' arrays (not None), whose NumPy scalars are 0-d tensors, not numbers."""
    positions, floating = rule
    if _agrees(positions, floating, raw):
        return raw
    dims = zeros = scalars = None
    for i in positions:
        x = raw[i]
        if versions[i] is None and isinstance(x, (bool, int, float, complex, np.generic)):  # (a wrapped number)
            kind = "b" if isinstance(x, (bool, np.bool_)) else "i" if isinstance(x, (int, np.integer)) else (
                "c" if isinstance(x, (complex, np.complexfloating)) else "f")
            if scalars is None or _CATEGORY[kind] > _CATEGORY[scalars.kind]:
                scalars = _DEFAULT[kind]
        else:
            dtype = x.dtype
            if x.ndim:
                dims = dtype if dims is None else _promote(dims, dtype)
            else:
                zeros = dtype if zeros is None else _promote(zeros, dtype)
    result = _combine(dims, _combine(zeros, scalars))
    if floating and result.kind in "biu":
        result = DEFAULT_FLOAT
    out = None
    for i in positions:
        x = raw[i]
        if versions[i] is not None and isinstance(x, np.generic):  # (a 0-d tensor's value)
            if x.dtype == result:
                continue
            value = result.type(x)
        elif isinstance(x, np.generic):
            value = x.item()  # (a NumPy scalar acts as a Python number would)
        elif isinstance(x, (bool, int, float, complex)):
            continue  # (a Python number is weak: it takes the array's dtype)
        elif x.dtype != result:
            value = x.astype(result) if trace_of(x) is None else bind(
                REGISTRY["convert_element_type"], x, dtype=result)
        else:
            continue
        if out is None:
            out = list(raw)
        out[i] = value
    return raw if out is None else out

