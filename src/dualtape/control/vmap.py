"""Vectorising sub-programs (vmap of loops): a loop body traced again over batched values, and the batch axis
given to values that have none. A tape holds the whole batch in its entries, so it never gets an axis."""

from __future__ import annotations

from ..avals import ShapedArray, aval_of
from ..core.ir import Program
from ..numpy import broadcast_to
from ..transforms.batching import Batched, BatchTrace
from ..transforms.evaluate import eval_program
from .tape import is_tape
from .trace import trace_together


def batched_aval(aval, size: int) -> ShapedArray:
    """The aval of a batch of values of this aval (a tape holds the batch in its entries)."""
    return aval if is_tape(aval) else ShapedArray((size,) + aval.shape, aval.dtype)


def batch_program(program: Program, flags, size: int, out_flags=None):
    """(program over batched arrays, its consts): inputs with a true flag carry a leading batch axis of
    `size`; every output gets one, or, given a list out_flags, only those that depend on a batched input (the
    list gets a flag per output)."""
    avals = [batched_aval(v.aval, size) if f else v.aval for v, f in zip(program.inputs, flags)]

    def run(*args):
        trace = BatchTrace(size)
        try:
            outs = eval_program(program, [Batched(trace, a) if f else a for a, f in zip(args, flags)])
            lifted = [trace.lift(o) for o in outs]
        finally:
            trace.active = False
        if out_flags is not None:
            out_flags[:] = [b for _, b in lifted]
            return [v for v, _ in lifted]
        return [v if b else broadcast(v, size) for v, b in lifted]

    (batched,), consts = trace_together([run], avals)
    return batched, consts


def broadcast(value, size: int):
    """value with a leading batch axis of size (a tape cannot be given one)."""
    if is_tape(aval_of(value)):
        raise NotImplementedError(
            "vmap of a loop body that records a while loop's tape not depending on the mapped values (next to values "
            "that do) is not supported: a tape's entries cannot be given a batch axis from outside the loop that "
            "records them")
    return broadcast_to(value, (size,) + aval_of(value).shape)


def materialised(values, flags, size):
    """The values, each unbatched one (false flag) given a batch axis."""
    return [v if f else broadcast_to(v, (size,) + aval_of(v).shape) for v, f in zip(values, flags)]


def materialise_all(values, flags, size):
    """(values, flags) with every array batched: a loop that records tapes batches all its operands, so that the
    tapes recorded inside it are batched too (tapes themselves stay as they are)."""
    tape = [is_tape(aval_of(v)) for v in values]
    return ([v if f or t else broadcast_to(v, (size,) + aval_of(v).shape) for v, f, t in zip(values, flags, tape)],
            [f or not t for f, t in zip(flags, tape)])
