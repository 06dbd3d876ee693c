"""The error types dualtape raises, each carrying the user's source line and a suggested fix (docs/errors.md), and
the fixes offered when a traced value is turned into a Python value."""

from __future__ import annotations

import importlib
import re


def _compose(message: str, where=None, fix: str | None = None, cause: str | None = None) -> str:
    lines = [message]
    if where is not None:
        lines.append(f"  at {where}")
    if cause:
        lines.append(f"  cause: {cause}")
    if fix:
        lines.append(f"  fix: {fix}")
    return "\n".join(lines)


class ShapeError(ValueError):
    """An op got operands whose shapes it cannot combine (raised at trace time)."""

    def __init__(self, op: str, message: str, where=None, fix: str | None = None):
        self.op, self.detail, self.fix = op, message, fix
        super().__init__(_compose(f"{op}: {message}", where, fix))

    def at(self, where) -> "ShapeError":
        return type(self)(self.op, self.detail, where, self.fix)


class IndexBoundsError(ShapeError, IndexError):
    """An index outside its axis: an IndexError, as NumPy raises, that names the op, shapes and source line."""


def object_array_error(where: str, dtype="object") -> TypeError:
    """The error for a NumPy array of objects (or strings) given to a transform (neither traceable nor hashable)."""
    return TypeError(f"{where}: arrays of dtype {dtype} are not supported (dualtape works with numeric and "
                     "boolean arrays); convert it with np.asarray(x, dtype=float) (or the dtype its values have), "
                     "or keep it out of the function's arguments")


class ConcretizationError(TypeError):
    """A traced value was used where Python needs a concrete bool, int or float."""

    def __init__(self, what: str, aval, where=None, fix: str | None = None, cause: str | None = None):
        fix = fix or (
            "make the decision with dt.cond / dt.where (for if) or dt.while_loop / dt.fori_loop (for loops), "
            "or pass this argument as static (static_argnums) so it stays a Python value"
        )
        super().__init__(_compose(f"a traced value ({aval}) was used as a Python {what}", where, fix, cause))


class EscapedTracerError(RuntimeError):
    """A traced value outlived the trace that made it (e.g. stored in a global and used later)."""

    def __init__(self, name: str, created_at=None, used_at=None):
        msg = f"traced value {name} escaped its trace"
        if created_at is not None:
            msg += f"\n  created at {created_at}"
        super().__init__(
            _compose(msg, used_at, "return the value from the traced function instead of storing it outside")
        )


class UnsupportedError(NotImplementedError):
    """A NumPy function or Python construct dualtape cannot trace or differentiate, named with the nearest
    supported alternative (docs/errors.md)."""

    def __init__(self, what: str, alternative: str | None = None, where=None, fix: str | None = None,
                 reason: str = "is not supported by dualtape"):
        self.what, self.alternative = what, alternative
        fix = fix or (f"use {alternative}" if alternative else None)
        super().__init__(_compose(f"{what} {reason}", where, fix))


class UnsupportedNameError(UnsupportedError, AttributeError):
    """`dnp.X` for a name dnp lacks: an UnsupportedError that is also an AttributeError, so `hasattr(dnp, X)` and
    `getattr(dnp, X, default)` keep working."""


class BackendError(ImportError):
    """A requested array backend is not available."""


def optional_module(name: str, needed_by: str, package: str, install: str):
    """The module `name` of an optional dependency, imported now, or a BackendError saying that `needed_by`
    needs `package` and how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise BackendError(f"{needed_by} needs {package}, which is not installed: {install}") from e


# ---- what to do instead of turning a traced value into a Python value (core.trace.conversion_error) ----------
CONTROL = "dt.cond / dt.where (to decide) or dt.while_loop / dt.fori_loop (to loop)"
OUTSIDE = ("a concrete value exists only outside dt.jit / dt.grad (and the other transforms): return it from the "
           "function and convert it there")
ARRAY_FIX = ("a traced value has no values until the function runs, and NumPy's functions cannot see one inside a "
             "list or tuple: build arrays of traced values with dualtape.numpy (dnp.array([x, 2 * x]), "
             "dnp.stack([x, y])); call dnp's functions on lists, or give NumPy's an array (dnp.mean([x, y]), "
             "dnp.mean(dnp.stack([x, y]))); convert a dtype with x.astype(np.int64), not np.int64(x); use "
             f"{CONTROL} on its value; or pass the argument as static (static_argnums) to compute with its value")
NUMBER_FIX = ("compute with it as an array: dualtape.numpy's functions (dnp.sin(x), dnp.exp(x), ...) and array "
              "methods work on traced values, and x.astype(int) (float, complex) converts its dtype; "
              f"{OUTSIDE}, keep it out of a derivative with dt.stop_gradient(x), or pass the argument as static "
              f"(static_argnums); to branch or loop on its value, use {CONTROL}")
INDEX_FIX = ("a traced integer indexes arrays (x[i]), but Python needs its value for range(), a shape or a list "
             f"index: use {CONTROL}, or pass the argument as static (static_argnums)")
COMPILED_CONTROL_FIX = (
    "dt.compile records tensor operations, and cannot record a Python if / while that reads a tensor's value "
    "(the loop would run a different number of times for other values); dt.jit and dt.grad can: they rewrite "
    "Python if / while / for on traced values into dt.cond / dt.while_loop (autograph), and tensor methods such "
    "as b.norm() and b.sum() work on their traced values. Call dt.jit(f)(x) in place of dt.compile(f)(x), or "
    "dt.grad(lambda x: f(x).sum())(x) for a gradient; or write the loop with dt.while_loop and the branch with "
    "dt.cond")
_MATH_CALL = re.compile(r"\bmath\.(\w+)\s*\(")
_NUMPY_ARRAY_CALL = re.compile(r"\b(?:np|numpy)\.(asarray|array|asanyarray|ascontiguousarray)\s*\(")
_MATH_IN_DNP = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2", "asinh": "arcsinh",
                "acosh": "arccosh", "atanh": "arctanh", "pow": "power", "fabs": "abs", "fsum": "sum"}


def conversion_fix(fix: str, expression: str) -> str:
    """fix, led by what helps for the expression that did the conversion (the user's call, or their line):
    dnp.sin for math.sin(x), dnp.asarray for np.asarray(x)."""
    if fix == NUMBER_FIX and (m := _MATH_CALL.search(expression)):
        name = _MATH_IN_DNP.get(m[1], m[1])
        return (f"use dnp.{name}(x) (dualtape.numpy) in place of math.{m[1]}(x): dnp's functions work on traced "
                f"values and are differentiated, math's need a Python number; {OUTSIDE}")
    if fix == ARRAY_FIX and (m := _NUMPY_ARRAY_CALL.search(expression)):
        return (f"use dnp.{m[1]}(...) in place of np.{m[1]}(...): it keeps traced values traced, lists of them "
                f"too (dnp.array([x, 2 * x]), dnp.stack([x, y])); NumPy's needs the values, and {OUTSIDE}; to "
                f"branch or loop on its value, use {CONTROL}")
    return fix


# ---- functions autograph could not convert because their source cannot be read -------------------------------
UNCONVERTED: dict = {}  # code object -> why autograph left its function as it is (filled by autograph)


def unconverted_cause(code) -> tuple[str, str] | None:
    """(cause, fix) for a traced if / while that failed in a function autograph could not read the source of."""
    reason = UNCONVERTED.get(code)
    if reason is None:
        return None
    name = code.co_name if code.co_name != "<lambda>" else "this lambda"
    cause = (f"autograph could not rewrite {name}'s if / while / for on traced values into dualtape control "
             f"flow, because its source is not available: {reason}")
    fix = (f"define {name} in a .py file and import it (for code run by exec(), register its source first: "
           "linecache.cache[name] = (len(src), None, src.splitlines(True), name), then "
           "exec(compile(src, name, 'exec'))); or write the decision with dt.cond / dt.where and the loop with "
           "dt.while_loop / dt.fori_loop")
    return cause, fix
