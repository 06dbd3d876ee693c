"""The hook interface between eager tensors and `dt.compile` (which builds on eager, so eager never imports it).

While dt.compile traces eager code, a tensor that an operation reads and that still holds a concrete array (a
parameter, optimiser state, a .grad) becomes an input of the program being traced, so the compiled program
reads its value at each call instead of baking in the value it had at trace time. `LIFTING.stack` holds the
CompileHooks of the compiles tracing now, per thread (eager code in another thread is not lifted), innermost
last: eager code calls the innermost one's hooks. The functions at the bottom are what dt.compile reads and
writes of a tensor beyond its public face (the .grad without a hook firing, the array with its version).
"""

from __future__ import annotations

import threading

from ..core.primitive import trace_of


class CompileHooks:
    """What eager code tells the dt.compile trace it runs under (compile.state.Lifting implements these)."""

    def __call__(self, t) -> None:
        """Lift t: its concrete array becomes an input of the program (t._array is swapped for a tracer)."""
        raise NotImplementedError

    def track(self, t) -> None:
        """Tensor t was made while tracing: if it outlives the trace, it is state the program writes."""

    def saw_grad(self, t, reading: bool) -> None:
        """t.grad was read (reading) or assigned."""

    def saw_settings(self, obj) -> None:
        """A module was called or an optimiser stepped: the program holds its settings as constants."""

    def random(self, draw, aval, requires_grad: bool):
        """A tensor of random values of aval (dt.rand, dt.randn) that each call draws anew with draw()."""
        raise NotImplementedError


class _Lifting(threading.local):
    def __init__(self):
        self.stack: list[CompileHooks] = []  # the dt.compile traces open in this thread, innermost last


LIFTING = _Lifting()


def lift(t) -> None:
    """Make t's array an input of the compile being traced (if one is, and t is not traced already)."""
    stack = LIFTING.stack
    if stack and trace_of(t._array) is None:
        stack[-1](t)


def lift_all(values) -> None:
    for v in values:
        if getattr(v, "_dt_eager", False):
            lift(v)


# ---- what dt.compile reads and writes of a tensor ----------------------------------------------------------
def grad_of(t):
    """t.grad, without telling the trace that it was read."""
    return t._grad


def set_grad(t, grad) -> None:
    """Set t.grad (a tensor, or None) without telling the trace."""
    t._grad = grad


def set_data(t, array) -> None:
    """Write a new array into t, as an in-place change (its version counter moves on)."""
    t._array = array
    t._version[0] += 1
