"""While `dt.compile` traces eager code, a tensor that an operation reads and that still holds a concrete
array (a parameter, optimiser state, a .grad) becomes an input of the program being traced, so the compiled
program reads its value at each call instead of baking in the value it had at trace time. `LIFTERS` holds
the tracing compile's callback; it swaps the tensor's array for a tracer and remembers the tensor."""

from __future__ import annotations

LIFTERS: list = []


def lift(t) -> None:
    """Make t's array an input of the compile being traced (if one is, and t is not traced already)."""
    if LIFTERS and getattr(t.data, "_dt_trace", None) is None:
        LIFTERS[-1](t)


def lift_all(values) -> None:
    for v in values:
        if getattr(v, "_dt_eager", False):
            lift(v)
