"""A while loop's tape: what its reverse mode records at each step, a Python list of tuples of values.

A tape's aval has dtype object and no shape of its own; its length is known only when the loop has run, so
a tape has no zero: the tangent (or cotangent) of a tape is a tape of the tangents (cotangents) of its
entries, every entry present, and a symbolic zero (None) stands for a whole tape. The helpers here give
explicit zeros for arrays and, for a tape, the error that says what needed one.
"""

from __future__ import annotations

import numpy as np

from ..avals import ShapedArray, aval_of, is_float
from ..ops.rules import zeros

TAPE = ShapedArray((), np.dtype(object))  # the aval of a while loop's tape: a Python list of states


def is_tape(aval) -> bool:
    return aval.dtype == TAPE.dtype


def has_cotangent(aval) -> bool:
    """Whether a value of this aval gets a cotangent: a floating (or complex) array, or a tape (of them). An
    integer or boolean value is flat in every input, so a loop carries no cotangent for it."""
    return is_float(aval.dtype) or is_tape(aval)


def _unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what} is not supported: a while loop's tape (what its reverse-mode derivative records at each step) "
        "has no zero of its own (its length is known only when the loop has run)")


def no_tape(aval, what: str):
    """The zero of an array of this aval; for a tape (which has none), the error saying what needed one."""
    if is_tape(aval):
        raise _unsupported(what)
    return zeros(aval)


def zero_bar(value):
    """A zero cotangent to accumulate for a loop's constant; a tape read at every step would need tapes summed."""
    return no_tape(aval_of(value), "reverse mode through a tape read at every step of another loop")


def complete(values, tangents, mode: str) -> list:
    """Tangents (or cotangents) with explicit zeros for None: every entry of a tape is present."""
    reason = "no cotangent reaches" if mode == "reverse mode" else "does not depend on the differentiated values"
    what = f"{mode} through a while loop's tape that {reason}"
    return [no_tape(aval_of(v), what) if t is None else t for v, t in zip(values, tangents)]
