"""Loop state accumulated in place for backend="numba": a while loop (or a walk over its tape) whose body
computes the next value of a state array by a fused chain reading the current one, `r = A_bar + q x^T`, writes
the chain's result into the state's own memory instead of a new array each step:

    A_bar = xp.copy(A_bar)  # (written in place by the loop below)
    for step_0 in range(len(tape) - 1, -1, -1):
        ...
        r = A_bar  # (in place)
        for i_3 in range(64):
            for i_4 in range(64):
                A_bar_1 = o[i_3, 0] * args_1[i_4]
                r[i_3, i_4] = A_bar[i_3, i_4] + A_bar_1

Safe when no one else can see that memory: the state's initial value is copied once on entering the loop (one
pass over it, against one allocation per step saved); in the body the state is read only by the chain, at or
before the statement writing it (so each element is read before it is overwritten), and is neither returned
nor pushed on a tape; the chain's result is read by nothing but the next step.
"""

from __future__ import annotations

from ..core.ir import Program, Var
from .numba_fuse import find_chains, sink_into_chains


def _loop_state(eqn):
    """(body, index of the first state input in the body, number of state values) of a loop; None for other
    statements."""
    name, p = eqn.prim.name, eqn.params
    if name in ("while_loop", "while_loop_tape"):
        return p["body"], p["n_consts"], len(eqn.inputs) - p["n_consts"]
    if name == "while_loop_adjoint":
        return p["step"], p["n_consts"], len(eqn.inputs) - p["n_consts"] - len(p["tapes"])
    return None


def _read_by(program: Program) -> dict[int, list]:
    readers: dict[int, list] = {}
    for e in program.eqns:
        for a in e.inputs:
            if type(a) is Var:
                readers.setdefault(a.id, []).append(e)
    return readers


def carried_in_place(block: Program, unfused: frozenset, skip) -> tuple[dict, set]:
    """For the loops of a block: ({id of a body's chain statement: the state input whose memory it writes},
    ids of the loop results whose initial value is copied on entry). skip(eqn): a statement that is not
    fused (in object mode)."""
    in_place, copied = {}, set()
    for eqn in block.eqns:
        found = _loop_state(eqn)
        if found is None:
            continue
        body, first, n_state = found
        body = sink_into_chains(body, unfused, skip)
        position = {id(e): (chain, k) for chain in find_chains(body, unfused, skip) for k, e in enumerate(chain.eqns)}
        readers, made_by = _read_by(body), {v.id: e for e in body.eqns for v in e.outs}
        returned = [a.id for a in body.outputs if type(a) is Var]
        for p in range(n_state):
            state, result = body.inputs[first + p], body.outputs[p]
            writer = made_by.get(result.id) if type(result) is Var else None
            if writer is None or id(writer) not in position or result.aval.shape != state.aval.shape or (
                    result.aval.dtype != state.aval.dtype or state.id in returned or returned.count(result.id) != 1
                    or result.id in readers):
                continue
            chain, at = position[id(writer)]
            if not all(id(e) in position and position[id(e)][0] is chain and position[id(e)][1] <= at
                       for e in readers.get(state.id, ())):
                continue
            in_place[id(writer)] = state
            copied.add(eqn.outs[p].id)
    return in_place, copied
