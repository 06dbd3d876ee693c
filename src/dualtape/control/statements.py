"""Writing control flow as Python statements: what the primitives' `emit_statements` functions share.

An `emit_statements(emitter, eqn, indent)` appends lines to `emitter.lines`, runs sub-programs in line with
`emitter.run_block` and binds names with `emitter.assign_all`; codegen calls it through the primitive, so
nothing here imports codegen.
"""

from __future__ import annotations

import ast

from ..core.ir import Var
from .primitive import split


def close_block(emitter, start: int, inner: str) -> None:
    """A block that emitted no statement (a branch or loop body that leaves its state as it was) gets `pass`."""
    if len(emitter.lines) == start:
        emitter.lines.append(f"{inner}pass")


def own_names(emitter, eqn, first_init: int) -> None:
    """A loop binds its outputs (its state) before it last reads its other inputs: an output may keep the name
    of its own initial value (`x = x` is skipped), but must not take over the name of another input (a const,
    a stacked x, the tape) that the emitter would otherwise reuse because this equation reads it last."""
    inputs = [a for a in eqn.inputs if type(a) is Var]
    for k, v in enumerate(eqn.outs):
        name = emitter.namer.names.get(v.id)
        init = eqn.inputs[first_init + k] if first_init + k < len(eqn.inputs) else None
        if name is not None and any(emitter.namer.names.get(a.id) == name and a is not init for a in inputs):
            del emitter.namer.names[v.id]


def emit_loop_state(emitter, eqn, indent, n_consts):
    """Bind the loop's state variables (the equation's outputs) to their initial values."""
    consts, init = eqn.inputs[:n_consts], eqn.inputs[n_consts:]
    state = eqn.outs[: len(init)]
    own_names(emitter, eqn, n_consts)
    emitter.assign_all(state, init, indent)
    return list(consts), state


def emit_pushes(emitter, tapes, counts, values, indent) -> None:
    """`tape.append((a, b,))` for each tape, with its share of values (a linear body pushes nothing: then the
    tape counts steps)."""
    for tape, entries in zip(tapes, split(values, counts)):
        saved = "".join(ast.unparse(emitter.atom(a)) + ", " for a in entries)
        emitter.lines.append(f"{indent}{emitter.namer(tape)}.append(({saved.rstrip()}))")
