"""`while_loop` and `while_loop_tape`: a loop over sub-programs (cond, body) whose trip count depends on the
data, and the same loop recording, at each step, groups of values on tapes (Python lists of tuples).

Both are emitted as a `while` statement. Forward mode runs an augmented loop over (state, tangent); reverse
mode runs the body's forward part as a while_loop_tape, pushing what the adjoint reads on a tape, then walks
that tape backwards (while_loop_adjoint, tape_walk.py). The tape loop has the same rules (a tape's tangent is
a tape), so derivatives of any order compose: Hessians, reverse over reverse, vmap. Under vmap each example
runs until its own condition fails.
"""

from __future__ import annotations

import ast

import numpy as np

from ..avals import aval_of
from ..core.ir import Program, Var
from ..core.trace import suggest_name
from ..numpy import broadcast_to, reshape
from ..ops.elementwise import where_p
from ..ops.reduction import reduce_max_p
from ..ops.rules import add_any, zeros
from ..transforms.evaluate import eval_program
from ..transforms.jvp import jvp_call, jvp_flat
from ..transforms.vjp import masked
from .plan import AdjointPlan
from .primitive import avals_of, chosen, control_primitive, split, spread, zeros_for
from .statements import close_block, emit_loop_state, emit_pushes
from .tape import TAPE, complete, has_cotangent, is_tape, zero_bar
from .tape_walk import while_adjoint_p
from .trace import trace_together
from .vmap import batch_program, broadcast, materialise_all, materialised


# ---- while_loop ---------------------------------------------------------------------------------------------
def _state_shape(*args, cond, body, n_consts, **_):
    return [a.shape for a in args[n_consts:]]


def _state_dtype(*args, cond, body, n_consts, **_):
    return [a.dtype for a in args[n_consts:]]


def _run_while(consts, state, cond, body, on_step=None):
    """Run the loop; the body may return more than the state (residuals), which go to on_step."""
    n = len(state)
    while bool(eval_program(cond, consts + state)[0]):
        outs = eval_program(body, consts + state)
        state = outs[:n]
        if on_step is not None:
            on_step(outs[n:])
    return state


def _while_impl(*args, cond, body, n_consts):
    return _run_while(list(args[:n_consts]), list(args[n_consts:]), cond, body)


def _emit_while(emitter, eqn, indent):
    params = eqn.params
    counts = params.get("tapes", ())
    tapes = eqn.outs[len(eqn.outs) - len(counts):] if counts else []
    consts, state = emit_loop_state(emitter, eqn, indent, params["n_consts"])
    for tape in tapes:
        emitter.lines.append(f"{indent}{emitter.namer(tape)} = []")
    (test,) = emitter.run_block(params["cond"], consts + state, indent)
    emitter.lines.append(f"{indent}while {ast.unparse(emitter.atom(test))}:")
    inner, start = indent + "    ", len(emitter.lines)
    outs = emitter.run_block(params["body"], consts + state, inner)
    emit_pushes(emitter, tapes, counts, outs[len(state):], inner)
    emitter.assign_all(state, outs[:len(state)], inner)
    emitter.run_block(params["cond"], consts + state, inner)
    close_block(emitter, start, inner)


def _while_jvp(primals, tangents, cond, body, n_consts):
    """An augmented loop over (state, tangent); consts and their tangents ride along unchanged."""
    consts, init = list(primals[:n_consts]), list(primals[n_consts:])
    c_dots = zeros_for(consts, tangents[:n_consts])
    s_dots = zeros_for(init, tangents[n_consts:])
    nc, ns = len(consts), len(init)

    def aug_cond(*args):
        return eval_program(cond, list(args[:nc]) + list(args[2 * nc: 2 * nc + ns]))

    def aug_body(*args):
        cs, cds, st, sds = args[:nc], args[nc:2 * nc], args[2 * nc:2 * nc + ns], args[2 * nc + ns:]
        out, out_dot = jvp_call(lambda *xs: eval_program(body, xs), tuple(cs) + tuple(st), tuple(cds) + tuple(sds))
        return list(out) + list(out_dot)

    (new_cond, new_body), extra = trace_together(
        [aug_cond, aug_body], avals_of(consts) + avals_of(c_dots) + avals_of(init) + avals_of(s_dots))
    outs = while_p(*extra, *consts, *c_dots, *init, *s_dots, cond=new_cond, body=new_body,
                   n_consts=len(extra) + 2 * nc)
    return outs[:ns], outs[ns:]


# ---- reverse mode of both loops: a forward sweep recording a tape, a walk back over it ----------------------
def _while_vjp_fwd(*args, cond, body, n_consts, tapes=()):
    """The forward sweep: the body's forward part in the same loop, pushing what the adjoint reads on a tape
    (after the loop's own tapes, for a while_loop_tape)."""
    consts, init = list(args[:n_consts]), list(args[n_consts:])
    plan = AdjointPlan(body, n_consts, len(init), has_index=False)
    outs, tape, invariant = _forward_sweep(plan, cond, consts, init, tapes)
    return outs, (plan, consts, init, invariant, tape)


def _forward_sweep(plan, cond, consts, init, tapes=()):
    """Run the plan's forward part as a while_loop_tape: (its state and tapes, the residual tape the adjoint
    loop pops, the residuals that do not change from step to step)."""
    invariant = eval_program(plan.invariant, consts + plan.captured)
    cond_ext = _with_inputs(cond, len(consts), avals_of(plan.captured))  # (the forward body reads captures too)
    *outs, tape = while_tape_p(*consts, *plan.captured, *init, cond=cond_ext, body=plan.forward,
                               n_consts=len(consts) + len(plan.captured), tapes=tuple(tapes) + (len(plan.stacked),))
    suggest_name(tape, "tape")
    return outs, tape, invariant


def _with_inputs(program: Program, position: int, avals) -> Program:
    """program, taking more (unused) inputs of these avals at position."""
    extra = [Var(a) for a in avals]
    return Program(program.inputs[:position] + extra + program.inputs[position:], program.eqns, program.outputs,
                   program.captures, program.name)


def _while_vjp_bwd(gs, residuals, needed=None, *, cond, body, n_consts, tapes=()):
    """The adjoint loop, reading the cotangents of the loop's own tapes in step with its residual tape. A tape
    no cotangent reaches has no zero to stand for it: then the loop runs again, recording for a pullback that
    reads none for it."""
    plan, consts, init, invariant, tape = residuals
    ns, g_tapes = len(init), gs[len(init):]
    if any(g is None for g in g_tapes):
        live = [True] * ns + [g is not None for g, n in zip(g_tapes, tapes) for _ in range(n)]
        plan = AdjointPlan(body, n_consts, ns, has_index=False, live=live)
        _, tape, invariant = _forward_sweep(plan, cond, consts, init, tapes)
    saved_avals = [a for a, g in zip(split(body.out_avals[ns:], tapes), g_tapes) if g is not None]
    bars = _adjoint_sweep(plan, consts, invariant, tape, gs[:ns], [aval_of(x) for x in init],
                          [g for g in g_tapes if g is not None], saved_avals)
    return masked(bars, needed)


def _adjoint_sweep(plan, consts, invariant, tape, g_state, state_avals, g_saved=(), saved_avals=()):
    """The adjoint loop of a while loop: pop each step's residuals from the tape (and the cotangents of what
    the step saved, from the tapes g_saved, in step), pull the state's cotangent back through the body's
    backward part and accumulate the consts' cotangents. Returns the consts' then the initial state's; an
    integer or boolean const or state has none (None), and the loop carries none for it."""
    nc, ns, n_stacked = len(consts), len(state_avals), len(plan.stacked)
    c_kept, s_kept = [has_cotangent(aval_of(c)) for c in consts], [has_cotangent(a) for a in state_avals]
    g_state = [zeros(a) if g is None else g for a, g in zip(chosen(state_avals, s_kept), chosen(g_state, s_kept))]
    fixed_values = list(consts) + list(plan.captured) + list(invariant)
    counts = [len(fixed_values), sum(c_kept), len(g_state), n_stacked, sum(map(len, saved_avals))]

    def step(*args):  # (fixed, const_bars, state_bars, saved, saved cotangents) -> (const_bars, state_bars)
        fixed, c_bars, g, saved, g_more = split(args, counts)
        g = [zeros(a) if b is None else b for a, b in zip(state_avals, spread(g, s_kept))]
        bars = eval_program(plan.backward, fixed + g + g_more + saved)
        return [add_any(a, b) for a, b in zip(c_bars, chosen(bars[:nc], c_kept))] + chosen(bars[nc:nc + ns], s_kept)

    avals = avals_of(fixed_values) + avals_of(chosen(consts, c_kept)) + chosen(state_avals, s_kept) + [
        v.aval for v in plan.stacked] + [a for group in saved_avals for a in group]
    hints = [None] * sum(counts[:3]) + [v.hint for v in plan.stacked] + [None] * counts[4]
    (adjoint,), extra = trace_together([step], avals, hints=hints)
    c_bars = [zero_bar(c) for c in chosen(consts, c_kept)]
    outs = while_adjoint_p(*extra, *fixed_values, tape, *g_saved, *c_bars, *g_state, step=adjoint,
                           n_consts=len(extra) + counts[0], tapes=(n_stacked,) + tuple(len(a) for a in saved_avals),
                           produces=(), reverse=True)
    return spread(outs[:counts[1]], c_kept) + spread(outs[counts[1]:], s_kept)


# ---- while_loop_tape: the loop recording tapes --------------------------------------------------------------
def _while_tape_shape(*args, cond, body, n_consts, tapes):
    return [a.shape for a in args[n_consts:]] + [()] * len(tapes)


def _while_tape_dtype(*args, cond, body, n_consts, tapes):
    return [a.dtype for a in args[n_consts:]] + [TAPE.dtype] * len(tapes)


def _while_tape_impl(*args, cond, body, n_consts, tapes):
    made = [[] for _ in tapes]

    def push(saved):
        for tape, entries in zip(made, split(saved, tapes)):
            tape.append(tuple(entries))

    return _run_while(list(args[:n_consts]), list(args[n_consts:]), cond, body, push) + made


def _while_tape_jvp(primals, tangents, cond, body, n_consts, tapes):
    """The loop over (state, tangent), recording each tape's entries and, on tapes of their own, the tangents
    of its entries."""
    consts, init = list(primals[:n_consts]), list(primals[n_consts:])
    c_dots, s_dots = list(tangents[:n_consts]), zeros_for(init, tangents[n_consts:])
    active = [t is not None for t in c_dots]
    dots = [t for t in c_dots if t is not None]
    nc, na, ns = len(consts), len(dots), len(init)

    def aug_cond(*args):
        return eval_program(cond, list(args[:nc]) + list(args[nc + na:nc + na + ns]))

    def aug_body(*args):  # consts, the tangents they have, state, its tangent
        cs, cds = list(args[:nc]), spread(args[nc:nc + na], active)
        st, sds = list(args[nc + na:nc + na + ns]), list(args[nc + na + ns:])
        out, out_dot = jvp_flat(lambda *xs: eval_program(body, xs), cs + st, cds + sds)
        state_dot = complete(out[:ns], out_dot[:ns], "forward mode")
        return out[:ns] + state_dot + out[ns:] + complete(out[ns:], out_dot[ns:], "forward mode")

    (new_cond, new_body), extra = trace_together(
        [aug_cond, aug_body], avals_of(consts) + avals_of(dots) + avals_of(init) + avals_of(s_dots))
    outs = while_tape_p(*extra, *consts, *dots, *init, *s_dots, cond=new_cond, body=new_body,
                        n_consts=len(extra) + nc + na, tapes=tuple(tapes) * 2)
    k = len(tapes)
    return outs[:ns] + outs[2 * ns:2 * ns + k], outs[ns:2 * ns] + outs[2 * ns + k:]


# ---- vmap: each example runs until its own condition fails --------------------------------------------------
def _state_flags(body, c_flags, s_flags, size) -> list[bool]:
    """Which of a loop's state variables get batched: those batched at first or by the body, to a fixed point."""
    s_flags = list(s_flags)
    while True:
        out_flags = []
        batch_program(body, list(c_flags) + s_flags, size, out_flags)
        grown = [a or b for a, b in zip(s_flags, out_flags)]
        if grown == s_flags:
            return s_flags
        s_flags = grown


def _masked_loop(values, batched, size, cond, body, n_consts, tapes=None):
    """Each example runs until its own condition fails: loop while any does, updating only those that run (a
    condition that depends on no batched value runs them all alike). Recording tapes (their sizes in tapes),
    each step's entries hold the whole batch, then the mask of the examples that ran the step."""
    consts, state = list(values[:n_consts]), list(values[n_consts:])
    c_flags, ns = list(batched[:n_consts]), len(state)
    if tapes is not None and any(is_tape(a) for a in body.out_avals[ns:]):  # so that the tapes inside are batched
        consts, c_flags = materialise_all(consts, c_flags, size)
        s_flags = [True] * ns
    else:
        s_flags = _state_flags(body, c_flags, batched[n_consts:], size)
    pred_flag = []
    cond_b, cond_consts = batch_program(cond, c_flags + s_flags, size, pred_flag)
    same = not pred_flag[0]  # (then all run while one does)
    if not same and not all(s_flags):
        s_flags = [True] * ns
        cond_b, cond_consts = batch_program(cond, c_flags + s_flags, size, pred_flag)
    state = [broadcast_to(s, (size,) + aval_of(s).shape) if f and not b else s
             for s, f, b in zip(state, s_flags, batched[n_consts:])]
    out_flags = []
    body_b, body_consts = batch_program(body, c_flags + s_flags, size, out_flags)
    nc, ncc, nbc = len(consts), len(cond_consts), len(body_consts)

    def any_running(*args):
        (pred,) = eval_program(cond_b, list(args[:ncc]) + list(args[ncc + nbc:]))
        return [pred if same else reduce_max_p(pred, axes=(0,), keepdims=False)]

    def masked_step(*args):
        cc, bc, rest = list(args[:ncc]), list(args[ncc:ncc + nbc]), list(args[ncc + nbc:])
        outs = [broadcast(o, size) if f and not b else o
                for o, f, b in zip(eval_program(body_b, bc + rest), s_flags + [True] * (len(body.outputs) - ns),
                                   out_flags)]
        if same:
            new, pred = outs[:ns], np.ones(size, dtype=bool)
        else:
            (pred,) = eval_program(cond_b, cc + rest)
            new = [where_p(reshape(pred, (size,) + (1,) * (aval_of(s).ndim - 1)), n, s)
                   for n, s in zip(outs[:ns], rest[nc:])]
        return new + [e for group in split(outs[ns:], tapes or ()) for e in group + [pred]]

    avals = avals_of(cond_consts) + avals_of(body_consts) + avals_of(consts) + avals_of(state)
    (test, step), extra = trace_together([any_running, masked_step], avals)
    operands = [*extra, *cond_consts, *body_consts, *consts, *state]
    n = len(extra) + ncc + nbc + nc
    if tapes is None:
        outs = while_p(*operands, cond=test, body=step, n_consts=n)
    else:
        outs = while_tape_p(*operands, cond=test, body=step, n_consts=n, tapes=tuple(k + 1 for k in tapes))
    return materialised(outs[:ns], s_flags, size) + outs[ns:]  # (every result of a batch rule is batched)


def _while_batch(values, batched, size, cond, body, n_consts):
    if size == 0:
        return NotImplemented  # no examples: the per-example fallback returns empty results
    return _masked_loop(values, batched, size, cond, body, n_consts)


def _while_tape_batch(values, batched, size, cond, body, n_consts, tapes):
    if size == 0:
        return NotImplemented
    return _masked_loop(values, batched, size, cond, body, n_consts, tapes)


while_p = control_primitive("while_loop", _state_shape, _state_dtype, _while_impl, _emit_while)
while_p.jvp = _while_jvp
while_p.vjp_fwd = _while_vjp_fwd
while_p.vjp_bwd = _while_vjp_bwd
while_p.batch = _while_batch

while_tape_p = control_primitive("while_loop_tape", _while_tape_shape, _while_tape_dtype, _while_tape_impl,
                                 _emit_while)
while_tape_p.jvp = _while_tape_jvp
while_tape_p.vjp_fwd = _while_vjp_fwd
while_tape_p.vjp_bwd = _while_vjp_bwd
while_tape_p.batch = _while_tape_batch
