"""`checkpoint`: a function whose intermediates reverse mode recomputes in the backward sweep instead of
keeping them (memory for time), as a primitive over the function's sub-program."""

from __future__ import annotations

import functools

from .. import tree
from ..core.faces import Faces
from ..transforms.vjp import Pullback
from .primitive import padded, plain_jvp, sub_program_primitive
from .trace import fn_name, trace_sub_program

checkpoint_p = sub_program_primitive("checkpoint", Faces(torch_node="CheckpointBackward0"))


def _checkpoint_vjp(gs, *primals, out, needed=None, program):
    """Recompute the forward sweep of the sub-program here, in the backward sweep, then pull back."""
    return padded(Pullback(program, primals)(gs), primals, needed)


checkpoint_p.jvp = plain_jvp(checkpoint_p)
checkpoint_p.vjp = _checkpoint_vjp


def checkpoint(fn, convert=None):
    """fn with the same values, whose intermediates reverse mode recomputes in the backward sweep instead of
    storing them: memory for time. Keyword arguments are passed to fn (and differentiated, as in JAX). Each
    call traces convert(fn) where convert is given (the api's autograph conversion), else fn."""

    @functools.wraps(fn)
    def checkpointed(*args, **kwargs):
        traced = fn if convert is None else convert(fn)
        program, operands, _, out_tree = trace_sub_program(traced, args, fn_name(fn), kwargs)
        return tree.unflatten(out_tree, checkpoint_p(*operands, program=program))

    return checkpointed
