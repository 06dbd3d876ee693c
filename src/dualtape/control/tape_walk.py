"""`while_loop_adjoint`: a loop over tapes, walking them in step (forwards, or backwards: popping them).

A while loop's reverse mode runs its adjoint loop as this walk over the tape its forward sweep recorded
(loops.py). At each step the walk reads one entry of each tape it walks, carries values, and records entries
on tapes of its own, aligned with the ones it reads; it is emitted as a `for` over the tapes. It is
differentiable in both modes and under vmap, so derivatives through a while loop compose to any order:
forward mode walks the tangent tapes in step, reverse mode records what the step's pullback reads and walks
that the other way, and a batched tape ends each step with the mask of the examples that ran it.
"""

from __future__ import annotations

import ast

import numpy as np

from ..avals import ShapedArray, aval_of
from ..numpy import reshape
from ..ops.elementwise import where_p
from ..ops.rules import add_any, zeros
from ..transforms.evaluate import eval_program
from ..transforms.jvp import jvp_flat
from ..transforms.vjp import masked
from .plan import AdjointPlan
from .primitive import avals_of, chosen, control_primitive, split, spread, zeros_for
from .statements import close_block, emit_pushes, own_names
from .tape import TAPE, complete, has_cotangent, zero_bar
from .trace import trace_together
from .vmap import batch_program, batched_aval, materialise_all, materialised


def _adjoint_split(args, n_consts, n_tapes):
    return list(args[:n_consts]), list(args[n_consts:n_consts + n_tapes]), list(args[n_consts + n_tapes:])


def _adjoint_shape(*args, step, n_consts, tapes, produces, reverse):
    return [a.shape for a in args[n_consts + len(tapes):]] + [()] * len(produces)


def _adjoint_dtype(*args, step, n_consts, tapes, produces, reverse):
    return [a.dtype for a in args[n_consts + len(tapes):]] + [TAPE.dtype] * len(produces)


def _while_adjoint_impl(*args, step, n_consts, tapes, produces, reverse):
    """Walk the tapes in step, last step first when reverse (without emptying them, so a pullback can run
    twice): step(consts, carry, entries at step k) -> (carry, entries of the tapes made, at step k)."""
    consts, ins, carry = _adjoint_split(args, n_consts, len(tapes))
    made = [[] for _ in produces]
    steps = range(len(ins[0]))
    for k in (reversed(steps) if reverse else steps):
        outs = eval_program(step, consts + carry + [e for tape in ins for e in tape[k]])
        carry = outs[:len(carry)]
        for tape, entries in zip(made, split(outs[len(carry):], produces)):
            tape.append(tuple(entries))
    for tape in made if reverse else ():
        tape.reverse()
    return carry + made


def _emit_while_adjoint(emitter, eqn, indent):
    p = eqn.params
    n_consts, step, reverse = p["n_consts"], p["step"], p["reverse"]
    consts, tapes, init = _adjoint_split(eqn.inputs, n_consts, len(p["tapes"]))
    carry, made = eqn.outs[:len(init)], eqn.outs[len(init):]
    own_names(emitter, eqn, n_consts + len(tapes))
    emitter.assign_all(carry, init, indent)
    for tape in made:
        emitter.lines.append(f"{indent}{emitter.namer(tape)} = []")
    entries = split(step.inputs[n_consts + len(carry):], p["tapes"])
    targets = [f"({', '.join(emitter.namer(v) for v in group)},)" if group else "_" for group in entries]
    walks = [ast.unparse(emitter.atom(t)) for t in tapes]
    walks = [f"reversed({w})" for w in walks] if reverse else walks
    walk = walks[0] if len(walks) == 1 else f"zip({', '.join(walks)})"
    comment = "  # pop the tape" if reverse and len(walks) == 1 else ""
    emitter.lines.append(f"{indent}for {', '.join(targets)} in {walk}:{comment}")
    inner, start = indent + "    ", len(emitter.lines)
    outs = emitter.run_block(step, list(consts) + list(carry) + [v for group in entries for v in group], inner)
    emit_pushes(emitter, made, p["produces"], outs[len(carry):], inner)
    emitter.assign_all(carry, outs[:len(carry)], inner)
    close_block(emitter, start, inner)
    for tape in made if reverse else ():
        emitter.lines.append(f"{indent}{emitter.namer(tape)}.reverse()")


def _while_adjoint_jvp(primals, tangents, step, n_consts, tapes, produces, reverse):
    """The walk over (carry, tangent), reading the tangent tapes of its tapes in step and recording the
    tangents of what it records."""
    consts, ins, carry = _adjoint_split(primals, n_consts, len(tapes))
    c_dots, t_dots, k_dots = _adjoint_split(tangents, n_consts, len(tapes))
    k_dots = zeros_for(carry, k_dots)
    dots, t_dots = [t for t in c_dots if t is not None], [t for t in t_dots if t is not None]
    nc, nd, nk, ne = len(consts), len(dots), len(carry), sum(tapes)
    has_dot = [t is not None for t in tangents[n_consts:n_consts + len(tapes)]]
    e_flags = [h for h, n in zip(has_dot, tapes) for _ in range(n)]  # the entries whose tangents are read
    entry_avals = [v.aval for v in step.inputs[nc + nk:]]

    def aug_step(*args):  # consts, the tangents they have, carry, its tangent, entries, the tangents they have
        cs, cds = list(args[:nc]), spread(args[nc:nc + nd], [t is not None for t in c_dots])
        cr, crd = list(args[nc + nd:nc + nd + nk]), list(args[nc + nd + nk:nc + nd + 2 * nk])
        es, eds = list(args[nc + nd + 2 * nk:nc + nd + 2 * nk + ne]), args[nc + nd + 2 * nk + ne:]
        out, out_dot = jvp_flat(lambda *xs: eval_program(step, xs), cs + cr + es, cds + crd + spread(eds, e_flags))
        return out[:nk] + complete(out[:nk], out_dot[:nk], "forward mode") + out[nk:] + complete(
            out[nk:], out_dot[nk:], "forward mode")

    avals = (avals_of(consts) + avals_of(dots) + avals_of(carry) * 2 + entry_avals
             + [a for a, f in zip(entry_avals, e_flags) if f])
    (new_step,), extra = trace_together([aug_step], avals)
    outs = while_adjoint_p(*extra, *consts, *dots, *ins, *t_dots, *carry, *k_dots, step=new_step,
                           n_consts=len(extra) + nc + nd,
                           tapes=tuple(tapes) + tuple(n for n, h in zip(tapes, has_dot) if h),
                           produces=tuple(produces) * 2, reverse=reverse)
    m = len(produces)
    return outs[:nk] + outs[2 * nk:2 * nk + m], outs[nk:2 * nk] + outs[2 * nk + m:]


def _while_adjoint_vjp_fwd(*args, step, n_consts, tapes, produces, reverse):
    """Reverse mode of a walk over tapes: the walk, recording also what the step's pullback reads, the entries
    it reads included (so the backward walk reads this one tape)."""
    consts, ins, carry = _adjoint_split(args, n_consts, len(tapes))
    plan = AdjointPlan(step, n_consts, len(carry), has_index=False, keep_x=False)
    outs, residuals, invariant = _walk(plan, consts, ins, carry, tapes, produces, reverse)
    return outs, (plan, consts, ins, carry, invariant, residuals)


def _walk(plan, consts, ins, carry, tapes, produces, reverse):
    """Run the plan's forward part over the tapes: (its carry and tapes, the residual tape, the invariant
    residuals)."""
    invariant = eval_program(plan.invariant, consts + plan.captured)
    *outs, residuals = while_adjoint_p(*consts, *plan.captured, *ins, *carry, step=plan.forward,
                                       n_consts=len(consts) + len(plan.captured), tapes=tapes,
                                       produces=tuple(produces) + (len(plan.stacked),), reverse=reverse)
    return outs, residuals, invariant


def _while_adjoint_vjp_bwd(gs, saved, needed=None, *, step, n_consts, tapes, produces, reverse):
    """The walk the other way over the residual tape (and the cotangents of the tapes made, in step), pulling
    the carry's cotangent back and recording the cotangents of the entries of the tapes read (an integer const
    or carry has none). A tape made that no cotangent reaches: the walk runs again, recording for a pullback
    that reads none for it."""
    plan, consts, ins, carry, invariant, residuals = saved
    nc, nk, carry_avals = len(consts), len(carry), avals_of(carry)
    c_kept, k_kept = [has_cotangent(aval_of(c)) for c in consts], [has_cotangent(a) for a in carry_avals]
    g_carry = [zeros(a) if g is None else g for a, g in zip(chosen(carry_avals, k_kept), chosen(gs[:nk], k_kept))]
    g_made = gs[nk:]
    if any(g is None for g in g_made):
        live = [True] * nk + [g is not None for g, n in zip(g_made, produces) for _ in range(n)]
        plan = AdjointPlan(step, nc, nk, has_index=False, keep_x=False, live=live)
        _, residuals, invariant = _walk(plan, consts, ins, carry, tapes, produces, reverse)
    fixed_values = list(consts) + list(plan.captured) + list(invariant)
    g_live = [g for g in g_made if g is not None]
    made_avals = [a for a, g in zip(split(step.out_avals[nk:], produces), g_made) if g is not None]
    counts = [len(fixed_values), sum(c_kept), len(g_carry), len(plan.stacked), sum(map(len, made_avals))]

    def back(*args):  # fixed, (const bars, carry bars), residuals, cotangents of the entries made
        fixed, c_bars, g, stacked, g_entries = split(args, counts)
        g = [zeros(a) if b is None else b for a, b in zip(carry_avals, spread(g, k_kept))]
        bars = eval_program(plan.backward, fixed + g + g_entries + stacked)
        return ([add_any(a, b) for a, b in zip(c_bars, chosen(bars[:nc], c_kept))] + chosen(bars[nc:nc + nk], k_kept)
                + list(bars[nc + nk:]))

    avals = (avals_of(fixed_values) + avals_of(chosen(consts, c_kept)) + chosen(carry_avals, k_kept)
             + [v.aval for v in plan.stacked] + [a for group in made_avals for a in group])
    (adjoint,), extra = trace_together([back], avals)
    c_bars = [zero_bar(c) for c in chosen(consts, c_kept)]
    outs = while_adjoint_p(*extra, *fixed_values, residuals, *g_live, *c_bars, *g_carry, step=adjoint,
                           n_consts=len(extra) + counts[0], tapes=(counts[3],) + tuple(len(a) for a in made_avals),
                           produces=tuple(tapes), reverse=not reverse)
    const_bars, carry_bars = split(outs, counts[1:3])  # (an integer const or carry has no cotangent: None)
    entry_bars = list(outs[counts[1] + counts[2]:])
    return masked(spread(const_bars, c_kept) + entry_bars + spread(carry_bars, k_kept), needed)


def _while_adjoint_batch(values, batched, size, step, n_consts, tapes, produces, reverse):
    """A walk over batched tapes updates, at each step, only the examples that ran it (the mask a batched tape
    ends each step with). Cotangents batched alone (jacrev through a while loop) walk the one tape for all."""
    if size == 0:
        return NotImplemented
    consts, ins, carry = _adjoint_split(values, n_consts, len(tapes))
    c_flags, t_flags, k_flags = _adjoint_split(batched, n_consts, len(tapes))
    if produces:
        consts, c_flags = materialise_all(consts, c_flags, size)
    carry = materialised(carry, k_flags, size)
    nc, nk = len(consts), len(carry)
    step_b, step_consts = batch_program(step, c_flags + [True] * nk + [
        f for f, n in zip(t_flags, tapes) for _ in range(n)], size)
    counts, n_sc = [n + 1 if f else n for n, f in zip(tapes, t_flags)], len(step_consts)

    def masked_step(*args):  # step consts, consts, carry, entries (a batched tape's followed by its mask)
        fixed, cr, es = list(args[:n_sc + nc]), list(args[n_sc + nc:n_sc + nc + nk]), args[n_sc + nc + nk:]
        entries, masks = [], []
        for group, n in zip(split(es, counts), tapes):
            entries += group[:n]
            masks += group[n:]
        outs = eval_program(step_b, fixed + cr + entries)
        new = outs[:nk]
        if masks:
            new = [where_p(reshape(masks[0], (size,) + (1,) * (aval_of(c).ndim - 1)), n, c) for n, c in zip(new, cr)]
        mask = masks[0] if masks else np.ones(size, dtype=bool)
        return new + [e for group in split(outs[nk:], produces) for e in group + [mask]]

    avals = avals_of(step_consts) + avals_of(consts) + avals_of(carry)
    for group, f in zip(split([v.aval for v in step.inputs[n_consts + nk:]], tapes), t_flags):
        avals += [batched_aval(a, size) for a in group] + [ShapedArray((size,), np.dtype(bool))] if f else group
    (program,), extra = trace_together([masked_step], avals)
    return while_adjoint_p(*extra, *step_consts, *consts, *ins, *carry, step=program,
                           n_consts=len(extra) + n_sc + nc, tapes=tuple(counts),
                           produces=tuple(n + 1 for n in produces), reverse=reverse)


while_adjoint_p = control_primitive("while_loop_adjoint", _adjoint_shape, _adjoint_dtype, _while_adjoint_impl,
                                    _emit_while_adjoint)
while_adjoint_p.jvp = _while_adjoint_jvp
while_adjoint_p.vjp_fwd = _while_adjoint_vjp_fwd
while_adjoint_p.vjp_bwd = _while_adjoint_vjp_bwd
while_adjoint_p.batch = _while_adjoint_batch
