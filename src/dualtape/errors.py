"""The error types dualtape raises, each carrying the user's source line and a suggested fix (SPEC §3)."""

from __future__ import annotations


def _compose(message: str, where=None, fix: str | None = None) -> str:
    lines = [message]
    if where is not None:
        lines.append(f"  at {where}")
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

    def __init__(self, what: str, aval, where=None, fix: str | None = None):
        fix = fix or (
            "make the decision with dt.cond / dt.where (for if) or dt.while_loop / dt.fori_loop (for loops), "
            "or pass this argument as static (static_argnums) so it stays a Python value"
        )
        super().__init__(_compose(f"a traced value ({aval}) was used as a Python {what}", where, fix))


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
    supported alternative (SPEC §3)."""

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
