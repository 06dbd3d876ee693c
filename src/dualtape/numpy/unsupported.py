"""The error for a NumPy name dualtape does not provide: `dnp.histogram`, `dnp.linalg.lu` or `np.histogram(x)`
on a traced value raise `UnsupportedError` naming the function and the nearest supported alternative."""

from __future__ import annotations

import difflib

from .._util import user_source_line
from ..errors import UnsupportedError, UnsupportedNameError

# Where a near spelling would mislead: what to do instead (NumPy name -> the fix).
FIXES = {
    "histogram": "compute the histogram outside the traced function (its counts have no derivative)",
    "unique": "use a mask built with dnp.where (the size of unique's result depends on the values)",
    "nonzero": "use dnp.where(condition, x, 0) (the size of nonzero's result depends on the values)",
    "argwhere": "use dnp.where(condition, x, 0) (the size of argwhere's result depends on the values)",
    "flatnonzero": "use dnp.where(condition, x, 0) (the size of its result depends on the values)",
}


def unsupported(name: str, namespace: str, supported, called: str | None = None) -> UnsupportedError:
    """The UnsupportedError for `namespace.name` (or `called`, the NumPy function as the user called it),
    suggesting the closest of `supported` (names)."""
    fix, alternative = FIXES.get(name), None
    if fix is None:
        close = difflib.get_close_matches(name, sorted(supported), n=1, cutoff=0.6)
        alternative = f"{namespace}.{close[0]}" if close else None
        if alternative is None:
            fix = (f"build it from {namespace}'s functions (docs/dnp.md lists them), or compute it outside the "
                   "traced function")
    if called:
        return UnsupportedError(f"{called} on traced values", alternative, user_source_line(), fix)
    return UnsupportedNameError(f"{namespace}.{name}", alternative, user_source_line(), fix)


def public_names(namespace) -> set:
    """The public names of a namespace dict or module."""
    names = namespace if isinstance(namespace, dict) else dir(namespace)
    return {n for n in names if not n.startswith("_")}
