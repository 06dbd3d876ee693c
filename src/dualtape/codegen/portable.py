"""The array functions generated code may call through `xp`: each exists in NumPy and in CuPy, so one emitter
serves both backends; by the array API standard's names where both have them (non_standard() lists, from
the rows, what goes beyond the standard). Per `xp.<path>` the registry says which keyword arguments dualtape
passes, which positional operands must be arrays, and where CuPy differs. The emitter reads it to pass arrays where CuPy
needs them, compiling for CuPy refuses source that calls anything unlisted, and tests walk every primitive's
emitted programs against it (checked with CuPy 14's own module and its reference docs).
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from ..core.primitive import REGISTRY
from ..ops import elementwise as _elementwise  # noqa: F401  (its rows: the ufuncs emitted code calls)


class Function(NamedTuple):
    """What emitted code may pass to one array function, and how CuPy's differs from NumPy's."""

    keywords: tuple[str, ...] = ()  # keyword arguments emitted code passes (all others go by position)
    arrays: tuple[int, ...] = ()  # positional operands that must be arrays, not Python or NumPy scalars
    cupy: str = ""  # the difference on CuPy, where there is one


_UFUNC = Function()  # CuPy's ufuncs take its arrays and Python / NumPy scalars (never a NumPy array)
_REDUCTION = Function(("axis", "keepdims"), (0,), "CuPy calls the operand's method (a.sum(...)), so it must be a "
                      "CuPy array; a full reduction gives a 0-d array where NumPy gives a scalar; no initial= / "
                      "where= keywords")
_INDEX_REDUCTION = Function(("axis", "keepdims"), (0,), "keepdims is keyword-only in NumPy; CuPy adds dtype=")



def _elementwise_calls() -> list[str]:
    """The xp functions the elementwise rows' templates call (xp.sin, xp.logaddexp, ...): ufuncs in both
    libraries, but for those listed below with their own entry."""
    calls = set()
    for prim in REGISTRY.values():
        if prim.elementwise and prim.template:
            calls.update(node.func.attr for node in ast.walk(ast.parse(prim.template, mode="eval"))
                         if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                         and isinstance(node.func.value, ast.Name) and node.func.value.id == "xp")
    return sorted(calls)


FUNCTIONS: dict[str, Function] = {
    **dict.fromkeys(_elementwise_calls(), _UFUNC),  # (the rows' own: a new elementwise row needs no entry here)
    "round": Function(cupy="not a ufunc in CuPy: converts its operand with cupy.array, then calls a.round()"),
    "where": Function((), (0,), "the condition must be an array (CuPy calls condition.astype); the two values "
                      "may be scalars"),
    "sum": _REDUCTION,
    "prod": _REDUCTION,
    "max": _REDUCTION,
    "min": _REDUCTION,
    "argmax": _INDEX_REDUCTION,
    "argmin": _INDEX_REDUCTION,
    "cumsum": Function(("axis",), (0,), "scans a CuPy array (dualtape's operand is always at least 1-D)"),
    "cumprod": Function(("axis",), (0,), "scans a CuPy array (dualtape's operand is always at least 1-D)"),
    "argsort": Function(("axis", "kind"), (0,), "always a stable sort (Thrust's); kind takes only None or 'stable'"),
    "searchsorted": Function(("side",), (0, 1), "a must be a 1-D CuPy array and v a CuPy array; no sorter= "
                             "(dualtape gathers a first)"),
    "reshape": Function((), (0,), "the shape goes by position: NumPy 2.1 names it `shape`, CuPy `newshape`"),
    "broadcast_to": Function((), (0,), "CuPy's takes only a cupy.ndarray (a typed Cython argument)"),
    "squeeze": Function(("axis",), (0,), "CuPy calls a.squeeze(axis)"),
    "expand_dims": Function((), (0,), "a tuple of axes works in both (CuPy >= 7)"),
    "diagonal": Function(("offset", "axis1", "axis2"), (0,), "CuPy calls a.diagonal(...), so it must be a CuPy "
                         "array; CuPy's view is writable, NumPy's read-only"),
    "concat": Function(("axis",), (0,), "every operand must be a CuPy array; NumPy names the first parameter "
                       "`arrays`, CuPy `tup`, so it goes by position"),
    "permute_dims": Function((), (0,), "CuPy 14's alias of transpose, which calls a.transpose(axes)"),
    "einsum": Function(cupy="operands pass through cupy.asanyarray; explicit subscripts only (dualtape never "
                       "emits '...')"),
    # (solve and factorisations, ops/linalg_solve.py: dualtape passes CuPy arrays only, b always as a stack of
    # matrices of a's batch shape, since cupy.linalg.solve neither broadcasts nor reads NumPy 2's 1-D rule)
    "linalg.solve": Function((), (0, 1), "no broadcasting of the batch axes (dualtape broadcasts first); a singular "
                             "matrix gives inf/nan instead of LinAlgError unless cupyx.errstate(linalg='raise')"),
    "linalg.inv": Function((), (0,), "a singular matrix gives inf/nan instead of LinAlgError (cupyx.errstate)"),
    "linalg.cholesky": Function((), (0,), "reads the lower triangle as NumPy; a matrix that is not positive-definite "
                                "gives nan instead of LinAlgError (cupyx.errstate)"),
    "linalg.det": Function((), (0,), "a 0-d CuPy array where NumPy gives a scalar"),
    "linalg.slogdet": Function((), (0,), "a tuple of CuPy arrays where NumPy gives a SlogdetResult; emitted code "
                               "indexes it ([0] sign, [1] log|det|). There is no solve_triangular in either "
                               "module: its rows call a runtime helper (SciPy's / cupyx.scipy.linalg's)"),
    # (spectral decompositions, ops/linalg_spectral.py: stacks (..., m, n) in both; CuPy returns plain tuples where
    # NumPy returns EighResult / SVDResult / QRResult, which emitted code unpacks alike)
    "linalg.eigh": Function(("UPLO",), (0,), "cuSOLVER's syevd (syevj for stacks); eigenvectors may differ by sign"),
    "linalg.eigvalsh": Function(("UPLO",), (0,), "as linalg.eigh"),
    "linalg.svd": Function(("full_matrices", "compute_uv"), (0,), "cuSOLVER's gesvd (gesvdj for stacks); no "
                           "hermitian= (dualtape never passes it); singular vectors may differ by sign"),
    "linalg.qr": Function(("mode",), (0,), "stacks of matrices in recent CuPy (the docs of 6.x say 2-D only)"),
    "linalg.pinv": Function((), (0,), "rcond goes by position: NumPy 2 also takes rtol=, CuPy only rcond"),
    "linalg.eig": Function((), (0,), "CuPy >= 14 only (cuSOLVER's Xgeev): always complex results, in an order that "
                           "may differ from NumPy's; eig's runtime helper makes them real, or raises"),
    # (Fourier transforms, ops/fft.py: s zero-pads the operand, never crops it; cuFFT in CuPy)
    "fft.fftn": Function(("s", "axes", "norm"), (0,), "cuFFT; the operand must be a CuPy array"),
    "fft.ifftn": Function(("s", "axes", "norm"), (0,), "cuFFT; the operand must be a CuPy array"),
    "fft.rfftn": Function(("s", "axes", "norm"), (0,), "cuFFT; the operand must be a real CuPy array"),
    "fft.irfftn": Function(("s", "axes", "norm"), (0,), "cuFFT; the operand must be a CuPy array"),
    "iscomplexobj": Function(),  # (these four: eig's helper only)
    "any": Function((), (0,), "a 0-d CuPy array where NumPy gives a NumPy bool (bool() syncs with the device)"),
    "real": Function((), (0,)),
    "imag": Function((), (0,)),
    "asarray": Function(("dtype", "order"), (), "moves host data to the device (NumPy input) or converts in "
                        "place; no device= / like= keywords"),
    "full": Function(("dtype",), (), "fill_value may be a scalar or a 0-d CuPy array"),
    "copy": Function((), (0,), "a new array on the same device (the index_update helper writes into it)"),
    "empty": Function(("dtype",)),
    "zeros": Function(("dtype",)),
    "result_type": Function(cupy="CuPy >= 14 treats Python scalars as weak (NEP 50), as NumPy 2 does"),
    "arange": Function((), (), "class ids for the nll_loss and class_scatter helpers: a CuPy array made on the "
                       "current device"),
    "take_along_axis": Function(("axis",), (0, 1), "nll_loss's helper on (N, C, d...) inputs: both operands CuPy "
                                "arrays"),
    "add.at": Function((), (0,), "CuPy scatters with CUDA atomicAdd when the index holds an integer array: only "
                       "float16/32/64, int32, uint32 and uint64 (no int64, bool or complex); out-of-bounds "
                       "indices wrap around instead of raising"),
}

# `xp.float32(2.0)` literals and `dtype=xp.float32` arguments: CuPy re-exports NumPy's scalar types (cupy.float32
# is numpy.float32, cupy.bool numpy.bool, NumPy 2's name for bool_); it has no float128 / longdouble, object,
# string or datetime dtypes.
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
          "float64", "complex64", "complex128")
CONSTANTS = ("nan", "inf")  # floats in both modules

# Attributes that emitted code (and the runtime helpers) read from values other than `xp`: those of arrays in
# both libraries, and the tape (a Python list) of a reverse-mode while loop.
ATTRIBUTES = {"T": "array", "transpose": "array method", "dtype": "array", "append": "list (a while loop's tape)",
              "shape": "array", "ndim": "array", "size": "array", "max": "array method (axis=, keepdims= in both)",
              "sum": "array method (axis=, keepdims= in both)",
              "any": "array method (a CuPy array's is a 0-d array: bool() of it waits for the device)"}

NAMES = frozenset(FUNCTIONS) | frozenset(DTYPES) | frozenset(CONSTANTS)

# The array API standard's names that emitted code calls, with NumPy 1's name of each, for array modules that
# lack the former (dask.array; NumPy >= 2.0 and CuPy 14 have both, one the alias of the other).
NUMPY_NAMES = {"acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh", "atan": "arctan",
               "atan2": "arctan2", "atanh": "arctanh", "bitwise_invert": "invert", "concat": "concatenate",
               "permute_dims": "transpose"}

def non_standard() -> dict[str, str]:
    """{primitive: why its emitted code goes beyond the array API standard (2025.12, with its linalg and fft
    extensions)}, as each row declares it (`prim.non_standard`: a per-backend helper, a NumPy function the
    standard lacks, or a standard call given what only NumPy and CuPy accept). Everything else emitted runs on
    any standard namespace, which tests/codegen/test_array_api_strict.py checks under array-api-strict (and
    that each listed one fails there)."""
    return {name: prim.non_standard for name, prim in REGISTRY.items() if prim.non_standard}


# Differences that are not about one function: indexing with an out-of-bounds integer array wraps around on
# CuPy instead of raising IndexError; `if` / `while` on a traced condition (cond, while_loop) calls bool() on a
# 0-d CuPy array, a device-to-host sync per test; CuPy >= 14 promotes Python scalars weakly and 0-d arrays
# strongly (NEP 50) as NumPy 2 does, while CuPy 13 still promotes 0-d arrays by value.


class Use(NamedTuple):
    """One `xp.<path>` in generated source: its path and, when it is called, the call's arguments."""

    path: str
    keywords: tuple[str, ...]
    args: tuple[ast.expr, ...]
    lineno: int


def _path(node) -> str | None:
    """'add.at' for the expression xp.add.at; None when node is not an attribute chain rooted at `xp`."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "xp" and parts:
        return ".".join(reversed(parts))
    return None


class _Collector(ast.NodeVisitor):
    def __init__(self):
        self.uses: list[Use] = []

    def visit_Call(self, node):
        path = _path(node.func)
        if path is None:
            return self.generic_visit(node)
        self.uses.append(Use(path, tuple(k.arg for k in node.keywords), tuple(node.args), node.lineno))
        for child in (*node.args, *(k.value for k in node.keywords)):
            self.visit(child)

    def visit_Attribute(self, node):
        path = _path(node)
        if path is None:
            return self.generic_visit(node)
        self.uses.append(Use(path, (), (), node.lineno))


def xp_uses(tree: ast.AST) -> list[Use]:
    """Every `xp.<path>` in a parsed module or expression, with its call's arguments when it is called."""
    collector = _Collector()
    collector.visit(tree)
    return collector.uses


def problems(source: str) -> list[str]:
    """Why source would not run on CuPy: the xp functions it calls that are not listed (or with keywords that
    are not), one line each; empty when it is portable."""
    found = []
    for use in xp_uses(ast.parse(source)):
        spec = FUNCTIONS.get(use.path)
        if use.path not in NAMES:
            found.append(f"line {use.lineno}: xp.{use.path} is not among the functions known to exist in CuPy")
        elif spec is not None and set(use.keywords) - set(spec.keywords):
            extra = ", ".join(sorted(set(use.keywords) - set(spec.keywords)))
            found.append(f"line {use.lineno}: xp.{use.path} is called with keyword(s) {extra}")
    return found


def arrays_where_needed(expr: ast.expr, scalars: set[int]) -> ast.expr:
    """expr with each operand node whose id is in scalars (a literal or a Python-scalar input) wrapped in
    xp.asarray where its function needs an array: CuPy calls methods of such operands (a.sum(), a.reshape())
    that Python numbers lack. NumPy converts them the same way itself, so the values do not change."""
    for node in ast.walk(expr):
        spec = FUNCTIONS.get(_path(node.func)) if isinstance(node, ast.Call) else None
        if spec is None:
            continue
        for i in spec.arrays:
            if i < len(node.args) and id(node.args[i]) in scalars:
                node.args[i] = ast.Call(func=ast.Attribute(value=ast.Name("xp", ast.Load()), attr="asarray",
                                                           ctx=ast.Load()), args=[node.args[i]], keywords=[])
    return expr
