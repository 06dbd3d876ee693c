"""How reverse mode differentiates a loop body: the body's forward sweep and pullback, traced as one joint
program and split by partial evaluation into what the forward loop runs, what is computed once, and what
the adjoint loop runs (scan, while loops and walks over tapes all use it)."""

from __future__ import annotations

from ..core.ir import Program
from ..core.trace import make_program
from ..transforms.jvp import ShapedArrayExample
from ..transforms.partial_eval import depends_on, external_reads, split_by_dependence
from ..transforms.passes import dce
from ..transforms.vjp import Pullback
from .tape import complete, has_cotangent, is_tape


class AdjointPlan:
    """How to differentiate a loop body in reverse: the body's forward sweep and pullback traced as one joint
    program and split (partial evaluation) into
      forward:   (consts, i, carry, x) -> (carry, y, per-step residuals), run by the forward loop;
      invariant: consts -> residuals that do not change from step to step, computed once;
      backward:  (consts, invariant, i, carry/y cotangents, per-step residuals, x) -> cotangents, run by the
                 adjoint loop.
    So the adjoint loop reads what the forward loop saved instead of recomputing the body. A while loop's
    body has no index i and no x (`has_index=False`); a walk over tapes reads its entries as x, and with
    keep_x=False its backward part gets the ones it reads as residuals (so only the residual tape is read
    again). live (one flag per output, all by default) says which outputs get a cotangent. An input of an
    integer or boolean dtype gets a zero of its own aval, so every cotangent slot has its value's aval."""

    def __init__(self, body: Program, n_consts: int, n_carry: int, has_index: bool = True, live=None,
                 keep_x: bool = True):
        n_known = len(body.inputs)
        live = [True] * len(body.outputs) if live is None else list(live)  # outputs that get a cotangent
        g_avals = [a for a, g in zip(body.out_avals, live) if g]

        def joint(*a):
            pullback = Pullback(body, list(a[:n_known]))
            gs = iter(a[n_known:])
            bars = pullback([next(gs) if g else None for g in live])
            bars = [b if has_cotangent(v.aval) else None for v, b in zip(body.inputs, bars)]  # (integers: zeros)
            return list(pullback.outputs) + complete(a[:n_known], bars, "reverse mode")

        examples = tuple(ShapedArrayExample(a) for a in [v.aval for v in body.inputs] + g_avals)
        program, captured = make_program(joint, examples, name="body")[0].closed()
        known, unknown = program.inputs[:n_known], program.inputs[n_known:n_known + len(g_avals)]
        self.captured = captured
        consts = known[:n_consts] + program.inputs[n_known + len(g_avals):]
        k = 1 if has_index else 0
        index, carry, x = known[n_consts:n_consts + k], known[n_consts + k:n_consts + k + n_carry], known[
            n_consts + k + n_carry:]
        n_out = len(body.outputs)
        forward_eqns, backward_eqns = split_by_dependence(program.eqns, {v.id for v in unknown})
        # a loop recording a tape runs at every step (a tape read by the adjoint loop is never a constant of it,
        # whose cotangent would sum tapes)
        tapes = {v.id for e in forward_eqns if any(is_tape(o.aval) for o in e.outs) for v in e.outs}
        varying = depends_on(forward_eqns, {v.id for v in index + carry + x} | tapes)
        given = {v.id for v in consts + index + (x if keep_x else []) + unknown}
        reads = external_reads(backward_eqns, program.outputs[n_out:], exclude_ids=given)
        self.stacked = [v for v in reads if v.id in varying]
        invariant = [v for v in reads if v.id not in varying]
        self.invariant = dce(Program(consts, [e for e in forward_eqns if not varying & {v.id for v in e.outs}],
                                     invariant, (), "invariant"))
        self.forward = dce(Program(consts + index + carry + x, forward_eqns,
                                   program.outputs[:n_out] + self.stacked, (), "forward"))
        self.backward = dce(Program(consts + invariant + index + unknown + self.stacked + (x if keep_x else []),
                                    backward_eqns, program.outputs[n_out:], (), "backward"))
        self.n_invariant = len(invariant)
