"""`cond`: one of two branch sub-programs, chosen by a scalar predicate at run time.

Emitted as an `if` / `else` statement. Forward mode takes a cond of the branches' JVPs; reverse mode
differentiates the branch taken (a cond of the branches' pullbacks); under vmap with a batched predicate both
branches run, then a select.
"""

from __future__ import annotations

import ast

from ..ops.elementwise import where_p
from ..transforms.evaluate import eval_program
from ..transforms.jvp import jvp_call
from ..transforms.vjp import masked
from .primitive import avals_of, control_primitive, pullback_fn, zeros_for
from .statements import close_block
from .trace import trace_together


def _cond_shape(pred, *ops, branches):
    return [a.shape for a in branches[0].out_avals]


def _cond_dtype(pred, *ops, branches):
    return [a.dtype for a in branches[0].out_avals]


def _cond_impl(pred, *ops, branches):
    return eval_program(branches[int(bool(pred))], ops)


def _emit_cond(emitter, eqn, indent):
    pred, *ops = eqn.inputs
    false_branch, true_branch = eqn.params["branches"]
    emitter.lines.append(f"{indent}if {ast.unparse(emitter.atom(pred))}:")
    for k, branch in enumerate((true_branch, false_branch)):
        if k:
            emitter.lines.append(f"{indent}else:")
        start = len(emitter.lines)
        emitter.assign_all(eqn.outs, emitter.run_block(branch, ops, indent + "    "), indent + "    ")
        close_block(emitter, start, indent + "    ")


def _cond_jvp(primals, tangents, branches):
    pred, *ops = primals
    ts = zeros_for(ops, tangents[1:])
    n = len(ops)

    def branch_jvp(branch):
        def run(*args):
            out, out_dot = jvp_call(lambda *xs: eval_program(branch, xs), tuple(args[:n]), tuple(args[n:]))
            return list(out) + list(out_dot)
        return run

    programs, consts = trace_together([branch_jvp(b) for b in branches], avals_of(ops) + avals_of(ts))
    outs = cond_p(pred, *consts, *ops, *ts, branches=tuple(programs))
    half = len(outs) // 2
    return outs[:half], outs[half:]


def _cond_vjp(gs, pred, *ops, out, needed=None, branches):
    """Differentiate the branch taken: a cond whose branches are the branches' pullbacks."""
    gs = zeros_for(out, gs)
    programs, consts = trace_together([pullback_fn(b) for b in branches], avals_of(ops) + avals_of(gs))
    bars = cond_p(pred, *consts, *ops, *gs, branches=tuple(programs))
    return masked([None] + list(bars), needed)


def _cond_expand(pred, *ops, branches):
    """Under vmap with a batched predicate: both branches, then a select."""
    false_out, true_out = (eval_program(b, ops) for b in branches)
    return [where_p(pred, t, f) for t, f in zip(true_out, false_out)]


cond_p = control_primitive("cond", _cond_shape, _cond_dtype, _cond_impl, _emit_cond)
cond_p.jvp = _cond_jvp
cond_p.vjp = _cond_vjp
cond_p.expand = _cond_expand
