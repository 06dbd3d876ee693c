"""While `dt.compile` traces eager code, a tensor that an operation reads and that still holds a concrete
array (a parameter, optimiser state, a .grad) becomes an input of the program being traced, so the compiled
program reads its value at each call instead of baking in the value it had at trace time. `LIFTING.stack`
holds the tracing compile's callback, per thread (eager code in another thread is not lifted); it swaps the
tensor's array for a tracer and remembers the tensor."""

from __future__ import annotations

import threading


class _Lifting(threading.local):
    def __init__(self):
        self.stack: list = []  # the callbacks of the dt.compile traces open in this thread, innermost last


LIFTING = _Lifting()


def lift(t) -> None:
    """Make t's array an input of the compile being traced (if one is, and t is not traced already)."""
    stack = LIFTING.stack
    if stack and getattr(t.data, "_dt_trace", None) is None:
        stack[-1](t)


def lift_all(values) -> None:
    for v in values:
        if getattr(v, "_dt_eager", False):
            lift(v)
