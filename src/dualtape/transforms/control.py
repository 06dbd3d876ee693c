"""Structured control flow primitives over sub-programs: `cond`, `while_loop`, `scan` (fori_loop is a scan).

Every sub-program takes (*consts, *args): the values its function closed over come first, as explicit
operands, so a sub-program holds no values of the trace that made it. Each primitive is evaluated by running
its sub-programs, emitted as a real Python `if` / `while` / `for` statement, and differentiated in both modes:
forward mode carries (value, tangent) pairs through an augmented loop; reverse mode differentiates the branch
taken (cond), runs a reverse `scan` over the carries a forward scan saved (scan, fori_loop), and for a while
loop, whose trip count depends on the data, pushes what the adjoint reads on a tape during the forward sweep
and pops it in the adjoint loop. The two tape primitives have rules of their own (a tape's tangent or
cotangent is a tape), so derivatives of any order compose: Hessians, reverse over reverse, vmap.
"""

from __future__ import annotations

import ast

import numpy as np

from ..avals import ShapedArray, aval_of
from ..core.ir import Program, Var
from ..core.primitive import Primitive
from ..core.trace import make_program, suggest_name
from ..errors import ShapeError
from ..numpy import broadcast_to, moveaxis, reshape
from ..ops.elementwise import where_p
from ..ops.reduction import reduce_max_p
from ..ops.rules import add_any, zeros
from .batching import Batched, BatchTrace
from .evaluate import eval_program
from .jvp import ShapedArrayExample, jvp_call, jvp_flat
from .partial_eval import depends_on, external_reads, split_by_dependence
from .passes import dce
from .vjp import Pullback, masked

TAPE = ShapedArray((), np.dtype(object))  # the aval of a while loop's tape: a Python list of states


# ---- tracing functions into sub-programs that share their captured values --------------------------------
def trace_together(fns, avals, names=None, hints=None):
    """Trace each fn over abstract arguments of these avals; returns (programs, consts) where every program
    takes (*consts, *args) and consts is the union of the values the functions captured."""
    traced = []
    for k, fn in enumerate(fns):
        examples = tuple(ShapedArrayExample(a) for a in avals)
        name = names[k] if names else "block"
        traced.append(make_program(fn, examples, name=name, arg_names=hints)[0])
    consts, index = [], {}
    for program in traced:
        for _, value in program.captures:
            if id(value) not in index:
                index[id(value)] = len(consts)
                consts.append(value)
    closed = []
    for program in traced:
        const_vars = [Var(aval_of(c)) for c in consts]
        for var, value in program.captures:
            const_vars[index[id(value)]] = var
        closed.append(Program(const_vars + program.inputs, program.eqns, program.outputs, (), program.name))
    return closed, consts


def _zeros_for(values, tangents):
    return [zeros(aval_of(v)) if t is None else t for v, t in zip(values, tangents)]


def _avals(values):
    return [aval_of(v) for v in values]


def _pullback_fn(program):
    """(args..., out_bars...) -> input cotangents of program (zeros where none): its VJP as a function."""
    n = len(program.inputs)

    def pullback(*args):
        return Pullback(program, list(args[:n])).input_cotangents(list(args[n:]))

    return pullback


def control_primitive(name, shape_rule, dtype_rule, impl, emit_statements) -> Primitive:
    """A primitive over sub-programs with several results, written out as statements (if / while / for)."""
    prim = Primitive(name, "*xs", None, shape_rule, dtype_rule=dtype_rule, multiple_results=True, impl=impl,
                     emit=_statements_only)
    prim.emit_statements = emit_statements
    return prim


def _statements_only(operands, params):
    raise AssertionError("control flow is emitted as statements (emit_statements), never as an expression")


# ---- cond -------------------------------------------------------------------------------------------------
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
        _close_block(emitter, start, indent + "    ")


def _close_block(emitter, start: int, inner: str) -> None:
    """A block that emitted no statement (a branch or loop body that leaves its state as it was) gets `pass`."""
    if len(emitter.lines) == start:
        emitter.lines.append(f"{inner}pass")


def _cond_jvp(primals, tangents, branches):
    pred, *ops = primals
    ts = _zeros_for(ops, tangents[1:])
    n = len(ops)

    def branch_jvp(branch):
        def run(*args):
            out, out_dot = jvp_call(lambda *xs: eval_program(branch, xs), tuple(args[:n]), tuple(args[n:]))
            return list(out) + list(out_dot)
        return run

    programs, consts = trace_together([branch_jvp(b) for b in branches], _avals(ops) + _avals(ts))
    outs = cond_p(pred, *consts, *ops, *ts, branches=tuple(programs))
    half = len(outs) // 2
    return outs[:half], outs[half:]


def _cond_vjp(gs, pred, *ops, out, needed=None, branches):
    """Differentiate the branch taken: a cond whose branches are the branches' pullbacks."""
    gs = _zeros_for(out, gs)
    programs, consts = trace_together([_pullback_fn(b) for b in branches], _avals(ops) + _avals(gs))
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


# ---- while_loop -------------------------------------------------------------------------------------------
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


def _own_names(emitter, eqn, first_init: int) -> None:
    """A loop binds its outputs (its state) before it last reads its other inputs: an output may keep the name
    of its own initial value (`x = x` is skipped), but must not take over the name of another input (a const,
    a stacked x, the tape) that the emitter would otherwise reuse because this equation reads it last."""
    inputs = [a for a in eqn.inputs if type(a) is Var]
    for k, v in enumerate(eqn.outs):
        name = emitter.namer.names.get(v.id)
        init = eqn.inputs[first_init + k] if first_init + k < len(eqn.inputs) else None
        if name is not None and any(emitter.namer.names.get(a.id) == name and a is not init for a in inputs):
            del emitter.namer.names[v.id]


def _emit_loop_state(emitter, eqn, indent, n_consts):
    """Bind the loop's state variables (the equation's outputs) to their initial values."""
    consts, init = eqn.inputs[:n_consts], eqn.inputs[n_consts:]
    state = eqn.outs[: len(init)]
    _own_names(emitter, eqn, n_consts)
    emitter.assign_all(state, init, indent)
    return list(consts), state


def _emit_pushes(emitter, tapes, counts, values, indent) -> None:
    """`tape.append((a, b,))` for each tape, with its share of values (a linear body pushes nothing: then the
    tape counts steps)."""
    for tape, entries in zip(tapes, _split(values, counts)):
        saved = "".join(ast.unparse(emitter.atom(a)) + ", " for a in entries)
        emitter.lines.append(f"{indent}{emitter.namer(tape)}.append(({saved.rstrip()}))")


def _emit_while(emitter, eqn, indent):
    params = eqn.params
    counts = params.get("tapes", ())
    tapes = eqn.outs[len(eqn.outs) - len(counts):] if counts else []
    consts, state = _emit_loop_state(emitter, eqn, indent, params["n_consts"])
    for tape in tapes:
        emitter.lines.append(f"{indent}{emitter.namer(tape)} = []")
    (test,) = emitter.run_block(params["cond"], consts + state, indent)
    emitter.lines.append(f"{indent}while {ast.unparse(emitter.atom(test))}:")
    inner, start = indent + "    ", len(emitter.lines)
    outs = emitter.run_block(params["body"], consts + state, inner)
    _emit_pushes(emitter, tapes, counts, outs[len(state):], inner)
    emitter.assign_all(state, outs[:len(state)], inner)
    emitter.run_block(params["cond"], consts + state, inner)
    _close_block(emitter, start, inner)


def _while_jvp(primals, tangents, cond, body, n_consts):
    """An augmented loop over (state, tangent); consts and their tangents ride along unchanged."""
    consts, init = list(primals[:n_consts]), list(primals[n_consts:])
    c_dots = _zeros_for(consts, tangents[:n_consts])
    s_dots = _zeros_for(init, tangents[n_consts:])
    nc, ns = len(consts), len(init)

    def aug_cond(*args):
        return eval_program(cond, list(args[:nc]) + list(args[2 * nc: 2 * nc + ns]))

    def aug_body(*args):
        cs, cds, st, sds = args[:nc], args[nc:2 * nc], args[2 * nc:2 * nc + ns], args[2 * nc + ns:]
        out, out_dot = jvp_call(lambda *xs: eval_program(body, xs), tuple(cs) + tuple(st), tuple(cds) + tuple(sds))
        return list(out) + list(out_dot)

    (new_cond, new_body), extra = trace_together(
        [aug_cond, aug_body], _avals(consts) + _avals(c_dots) + _avals(init) + _avals(s_dots))
    outs = while_p(*extra, *consts, *c_dots, *init, *s_dots, cond=new_cond, body=new_body,
                   n_consts=len(extra) + 2 * nc)
    return outs[:ns], outs[ns:]


def _while_vjp_fwd(*args, cond, body, n_consts, tapes=()):
    """The forward sweep: the body's forward part in the same loop, pushing what the adjoint reads on a tape
    (after the loop's own tapes, for a while_loop_tape)."""
    consts, init = list(args[:n_consts]), list(args[n_consts:])
    plan = _AdjointPlan(body, n_consts, len(init), has_index=False)
    outs, tape, invariant = _forward_sweep(plan, cond, consts, init, tapes)
    return outs, (plan, consts, init, invariant, tape)


def _forward_sweep(plan, cond, consts, init, tapes=()):
    """Run the plan's forward part as a while_loop_tape: (its state and tapes, the residual tape the adjoint
    loop pops, the residuals that do not change from step to step)."""
    invariant = eval_program(plan.invariant, consts + plan.captured)
    cond_ext = _with_inputs(cond, len(consts), _avals(plan.captured))  # (the forward body reads captures too)
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
        plan = _AdjointPlan(body, n_consts, ns, has_index=False, live=live)
        _, tape, invariant = _forward_sweep(plan, cond, consts, init, tapes)
    saved_avals = [a for a, g in zip(_split(body.out_avals[ns:], tapes), g_tapes) if g is not None]
    bars = _adjoint_sweep(plan, consts, invariant, tape, gs[:ns], [aval_of(x) for x in init],
                          [g for g in g_tapes if g is not None], saved_avals)
    return masked(bars, needed)


def _adjoint_sweep(plan, consts, invariant, tape, g_state, state_avals, g_saved=(), saved_avals=()):
    """The adjoint loop of a while loop: pop each step's residuals from the tape (and the cotangents of what
    the step saved, from the tapes g_saved, in step), pull the state's cotangent back through the body's
    backward part and accumulate the consts' cotangents. Returns the consts' then the initial state's."""
    nc, ns, n_stacked = len(consts), len(state_avals), len(plan.stacked)
    g_state = [zeros(a) if g is None else g for a, g in zip(state_avals, g_state)]
    fixed_values = list(consts) + list(plan.captured) + list(invariant)
    n_fixed = len(fixed_values)

    def step(*args):  # (fixed, const_bars, state_bars, saved, saved cotangents) -> (const_bars, state_bars)
        fixed, c_bars, g = args[:n_fixed], args[n_fixed:n_fixed + nc], args[n_fixed + nc:n_fixed + nc + ns]
        saved, g_more = args[n_fixed + nc + ns:n_fixed + nc + ns + n_stacked], args[n_fixed + nc + ns + n_stacked:]
        bars = eval_program(plan.backward, list(fixed) + list(g) + list(g_more) + list(saved))
        return [add_any(a, b) for a, b in zip(c_bars, bars[:nc])] + [
            zeros(a) if b is None else b for a, b in zip(state_avals, bars[nc:nc + ns])]

    avals = _avals(fixed_values) + _avals(consts) + state_avals + [v.aval for v in plan.stacked] + [
        a for group in saved_avals for a in group]
    hints = [None] * (n_fixed + nc + ns) + [v.hint for v in plan.stacked] + [None] * sum(map(len, saved_avals))
    (adjoint,), extra = trace_together([step], avals, hints=hints)
    c_bars = [_zero_bar(c) for c in consts]
    return while_adjoint_p(*extra, *fixed_values, tape, *g_saved, *c_bars, *g_state, step=adjoint,
                           n_consts=len(extra) + n_fixed, tapes=(n_stacked,) + tuple(len(a) for a in saved_avals),
                           produces=(), reverse=True)


# ---- the tape primitives: higher derivatives through a while loop ------------------------------------------
# while_loop_tape runs a loop and records, at each step, groups of values on tapes (Python lists of tuples);
# while_loop_adjoint walks tapes in step (forwards, or backwards: popping them), carrying values and recording
# tapes of its own, aligned with the ones it reads. Both are differentiable: the tangent (or cotangent) of a
# tape is a tape of the tangents (cotangents) of its entries, with every entry present; a symbolic zero (None)
# stands for a whole tape. Under vmap a tape holds the whole batch at each step, and a boolean mask (last
# entry) of the examples still running then.
def _split(values, counts) -> list[list]:
    """values cut into consecutive groups of these sizes."""
    groups, k = [], 0
    for n in counts:
        groups.append(list(values[k:k + n]))
        k += n
    return groups


def _is_tape(aval) -> bool:
    return aval.dtype == TAPE.dtype


def _unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what} is not supported: a while loop's tape (what its reverse-mode derivative records at each step) "
        "has no zero of its own (its length is known only when the loop has run)")


def _no_tape(aval, what: str):
    """The zero of an array of this aval; for a tape (which has none), the error saying what needed one."""
    if _is_tape(aval):
        raise _unsupported(what)
    return zeros(aval)


def _zero_bar(value):
    """A zero cotangent to accumulate for a loop's constant; a tape read at every step would need tapes summed."""
    return _no_tape(aval_of(value), "reverse mode through a tape read at every step of another loop")


def _complete(values, tangents, mode: str) -> list:
    """Tangents (or cotangents) with explicit zeros for None: every entry of a tape is present."""
    reason = "no cotangent reaches" if mode == "reverse mode" else "does not depend on the differentiated values"
    what = f"{mode} through a while loop's tape that {reason}"
    return [_no_tape(aval_of(v), what) if t is None else t for v, t in zip(values, tangents)]


def _while_tape_shape(*args, cond, body, n_consts, tapes):
    return [a.shape for a in args[n_consts:]] + [()] * len(tapes)


def _while_tape_dtype(*args, cond, body, n_consts, tapes):
    return [a.dtype for a in args[n_consts:]] + [TAPE.dtype] * len(tapes)


def _while_tape_impl(*args, cond, body, n_consts, tapes):
    made = [[] for _ in tapes]

    def push(saved):
        for tape, entries in zip(made, _split(saved, tapes)):
            tape.append(tuple(entries))

    return _run_while(list(args[:n_consts]), list(args[n_consts:]), cond, body, push) + made


def _while_tape_jvp(primals, tangents, cond, body, n_consts, tapes):
    """The loop over (state, tangent), recording each tape's entries and, on tapes of their own, the tangents
    of its entries."""
    consts, init = list(primals[:n_consts]), list(primals[n_consts:])
    c_dots, s_dots = list(tangents[:n_consts]), _zeros_for(init, tangents[n_consts:])
    active = [t is not None for t in c_dots]
    dots = [t for t in c_dots if t is not None]
    nc, na, ns = len(consts), len(dots), len(init)

    def aug_cond(*args):
        return eval_program(cond, list(args[:nc]) + list(args[nc + na:nc + na + ns]))

    def aug_body(*args):  # consts, the tangents they have, state, its tangent
        cs, cds = list(args[:nc]), _spread(args[nc:nc + na], active)
        st, sds = list(args[nc + na:nc + na + ns]), list(args[nc + na + ns:])
        out, out_dot = jvp_flat(lambda *xs: eval_program(body, xs), cs + st, cds + sds)
        state_dot = _complete(out[:ns], out_dot[:ns], "forward mode")
        return out[:ns] + state_dot + out[ns:] + _complete(out[ns:], out_dot[ns:], "forward mode")

    (new_cond, new_body), extra = trace_together(
        [aug_cond, aug_body], _avals(consts) + _avals(dots) + _avals(init) + _avals(s_dots))
    outs = while_tape_p(*extra, *consts, *dots, *init, *s_dots, cond=new_cond, body=new_body,
                        n_consts=len(extra) + nc + na, tapes=tuple(tapes) * 2)
    k = len(tapes)
    return outs[:ns] + outs[2 * ns:2 * ns + k], outs[ns:2 * ns] + outs[2 * ns + k:]


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
        for tape, entries in zip(made, _split(outs[len(carry):], produces)):
            tape.append(tuple(entries))
    for tape in made if reverse else ():
        tape.reverse()
    return carry + made


def _emit_while_adjoint(emitter, eqn, indent):
    p = eqn.params
    n_consts, step, reverse = p["n_consts"], p["step"], p["reverse"]
    consts, tapes, init = _adjoint_split(eqn.inputs, n_consts, len(p["tapes"]))
    carry, made = eqn.outs[:len(init)], eqn.outs[len(init):]
    _own_names(emitter, eqn, n_consts + len(tapes))
    emitter.assign_all(carry, init, indent)
    for tape in made:
        emitter.lines.append(f"{indent}{emitter.namer(tape)} = []")
    entries = _split(step.inputs[n_consts + len(carry):], p["tapes"])
    targets = [f"({', '.join(emitter.namer(v) for v in group)},)" if group else "_" for group in entries]
    walks = [ast.unparse(emitter.atom(t)) for t in tapes]
    walks = [f"reversed({w})" for w in walks] if reverse else walks
    walk = walks[0] if len(walks) == 1 else f"zip({', '.join(walks)})"
    comment = "  # pop the tape" if reverse and len(walks) == 1 else ""
    emitter.lines.append(f"{indent}for {', '.join(targets)} in {walk}:{comment}")
    inner, start = indent + "    ", len(emitter.lines)
    outs = emitter.run_block(step, list(consts) + list(carry) + [v for group in entries for v in group], inner)
    _emit_pushes(emitter, made, p["produces"], outs[len(carry):], inner)
    emitter.assign_all(carry, outs[:len(carry)], inner)
    _close_block(emitter, start, inner)
    for tape in made if reverse else ():
        emitter.lines.append(f"{indent}{emitter.namer(tape)}.reverse()")


def _while_adjoint_jvp(primals, tangents, step, n_consts, tapes, produces, reverse):
    """The walk over (carry, tangent), reading the tangent tapes of its tapes in step and recording the
    tangents of what it records."""
    consts, ins, carry = _adjoint_split(primals, n_consts, len(tapes))
    c_dots, t_dots, k_dots = _adjoint_split(tangents, n_consts, len(tapes))
    k_dots = _zeros_for(carry, k_dots)
    dots, t_dots = [t for t in c_dots if t is not None], [t for t in t_dots if t is not None]
    nc, nd, nk, ne = len(consts), len(dots), len(carry), sum(tapes)
    has_dot = [t is not None for t in tangents[n_consts:n_consts + len(tapes)]]
    e_flags = [h for h, n in zip(has_dot, tapes) for _ in range(n)]  # the entries whose tangents are read
    entry_avals = [v.aval for v in step.inputs[nc + nk:]]

    def aug_step(*args):  # consts, the tangents they have, carry, its tangent, entries, the tangents they have
        cs, cds = list(args[:nc]), _spread(args[nc:nc + nd], [t is not None for t in c_dots])
        cr, crd = list(args[nc + nd:nc + nd + nk]), list(args[nc + nd + nk:nc + nd + 2 * nk])
        es, eds = list(args[nc + nd + 2 * nk:nc + nd + 2 * nk + ne]), args[nc + nd + 2 * nk + ne:]
        out, out_dot = jvp_flat(lambda *xs: eval_program(step, xs), cs + cr + es, cds + crd + _spread(eds, e_flags))
        return out[:nk] + _complete(out[:nk], out_dot[:nk], "forward mode") + out[nk:] + _complete(
            out[nk:], out_dot[nk:], "forward mode")

    avals = (_avals(consts) + _avals(dots) + _avals(carry) * 2 + entry_avals
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
    plan = _AdjointPlan(step, n_consts, len(carry), has_index=False, keep_x=False)
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
    the carry's cotangent back and recording the cotangents of the entries of the tapes read. A tape made that
    no cotangent reaches: the walk runs again, recording for a pullback that reads none for it."""
    plan, consts, ins, carry, invariant, residuals = saved
    nc, nk = len(consts), len(carry)
    g_carry, g_made = [zeros(aval_of(c)) if g is None else g for c, g in zip(carry, gs[:nk])], gs[nk:]
    if any(g is None for g in g_made):
        live = [True] * nk + [g is not None for g, n in zip(g_made, produces) for _ in range(n)]
        plan = _AdjointPlan(step, nc, nk, has_index=False, keep_x=False, live=live)
        _, residuals, invariant = _walk(plan, consts, ins, carry, tapes, produces, reverse)
    fixed_values = list(consts) + list(plan.captured) + list(invariant)
    g_live = [g for g in g_made if g is not None]
    made_avals = [a for a, g in zip(_split(step.out_avals[nk:], produces), g_made) if g is not None]
    n_fixed, n_stacked = len(fixed_values), len(plan.stacked)

    def back(*args):  # fixed, (const bars, carry bars), residuals, cotangents of the entries made
        fixed, c_bars, g = list(args[:n_fixed]), args[n_fixed:n_fixed + nc], list(args[n_fixed + nc:n_fixed + nc + nk])
        rest = list(args[n_fixed + nc + nk:])
        bars = eval_program(plan.backward, fixed + g + rest[n_stacked:] + rest[:n_stacked])
        return [add_any(a, b) for a, b in zip(c_bars, bars[:nc])] + list(bars[nc:])

    avals = (_avals(fixed_values) + _avals(consts) + _avals(carry) + [v.aval for v in plan.stacked]
             + [a for group in made_avals for a in group])
    (adjoint,), extra = trace_together([back], avals)
    c_bars = [_zero_bar(c) for c in consts]
    outs = while_adjoint_p(*extra, *fixed_values, residuals, *g_live, *c_bars, *g_carry, step=adjoint,
                           n_consts=len(extra) + n_fixed, tapes=(n_stacked,) + tuple(len(a) for a in made_avals),
                           produces=tuple(tapes), reverse=not reverse)
    return masked(outs[:nc] + outs[nc + nk:] + outs[nc:nc + nk], needed)


while_p = control_primitive("while_loop", _state_shape, _state_dtype, _while_impl, _emit_while)
while_p.jvp = _while_jvp
while_p.vjp_fwd = _while_vjp_fwd
while_p.vjp_bwd = _while_vjp_bwd

while_tape_p = control_primitive("while_loop_tape", _while_tape_shape, _while_tape_dtype, _while_tape_impl,
                                 _emit_while)
while_tape_p.jvp = _while_tape_jvp
while_tape_p.vjp_fwd = _while_vjp_fwd
while_tape_p.vjp_bwd = _while_vjp_bwd

while_adjoint_p = control_primitive("while_loop_adjoint", _adjoint_shape, _adjoint_dtype, _while_adjoint_impl,
                                    _emit_while_adjoint)
while_adjoint_p.jvp = _while_adjoint_jvp
while_adjoint_p.vjp_fwd = _while_adjoint_vjp_fwd
while_adjoint_p.vjp_bwd = _while_adjoint_vjp_bwd


# ---- scan (and fori_loop) ---------------------------------------------------------------------------------
def _scan_split(args, n_consts, n_carry):
    return list(args[:n_consts]), list(args[n_consts:n_consts + n_carry]), list(args[n_consts + n_carry:])


def _scan_shape(*args, body, n_consts, n_carry, length, reverse):
    ys = body.out_avals[n_carry:]
    return [a.shape for a in args[n_consts:n_consts + n_carry]] + [(length,) + a.shape for a in ys]


def _scan_dtype(*args, body, n_consts, n_carry, length, reverse):
    return [a.dtype for a in body.out_avals]


def _scan_impl(*args, body, n_consts, n_carry, length, reverse):
    consts, carry, xs = _scan_split(args, n_consts, n_carry)
    steps = []
    for i in (reversed(range(length)) if reverse else range(length)):
        outs = eval_program(body, consts + [i] + carry + [x[i] for x in xs])
        carry = outs[:n_carry]
        steps.append((i, outs[n_carry:]))
    ys = [np.empty((length,) + a.shape, a.dtype) for a in body.out_avals[n_carry:]]
    for i, y_step in steps:
        for y, value in zip(ys, y_step):
            y[i] = value
    return carry + ys


def _emit_scan(emitter, eqn, indent):
    p = eqn.params
    n_consts, n_carry, body = p["n_consts"], p["n_carry"], p["body"]
    consts, init, xs = _scan_split(eqn.inputs, n_consts, n_carry)
    carry, ys = eqn.outs[:n_carry], eqn.outs[n_carry:]
    _own_names(emitter, eqn, n_consts)
    emitter.assign_all(carry, init, indent)
    for y in ys:
        if y.aval.dtype == TAPE.dtype:  # tapes of while loops in the body: a Python list (CuPy has no objects)
            emitter.lines.append(f"{indent}{emitter.namer(y)} = [None] * {p['length']}")
            continue
        dtype = ast.unparse(emitter.param_ast(y.aval.dtype))
        emitter.lines.append(f"{indent}{emitter.namer(y)} = xp.empty({y.aval.shape!r}, dtype={dtype})")
    index = body.inputs[n_consts]
    loop = f"reversed(range({p['length']}))" if p["reverse"] else f"range({p['length']})"
    emitter.lines.append(f"{indent}for {emitter.namer(index)} in {loop}:")
    inner, start = indent + "    ", len(emitter.lines)
    x_vars = body.inputs[n_consts + 1 + n_carry:]
    for v, x in zip(x_vars, xs):
        emitter.lines.append(f"{inner}{emitter.namer(v)} = {ast.unparse(emitter.atom(x))}[{emitter.namer(index)}]")
    outs = emitter.run_block(body, list(consts) + [index] + list(carry) + list(x_vars), inner)
    for y, value in zip(ys, outs[n_carry:]):
        emitter.lines.append(f"{inner}{emitter.namer(y)}[{emitter.namer(index)}] = {ast.unparse(emitter.atom(value))}")
    emitter.assign_all(carry, outs[:n_carry], inner)
    _close_block(emitter, start, inner)


def _scan_jvp(primals, tangents, body, n_consts, n_carry, length, reverse):
    """An augmented scan: consts, carries and xs each paired with their tangents; a value holding tapes (which
    have no zero) only when it has one, and is otherwise a constant of the augmented body."""
    consts, carry, xs = _scan_split(primals, n_consts, n_carry)
    dots = [zeros(aval_of(p)) if t is None and not _is_tape(aval_of(p)) else t for p, t in zip(primals, tangents)]
    c_dots, s_dots, x_dots = _scan_split(dots, n_consts, n_carry)
    has_c, has_x = [d is not None for d in c_dots], [d is not None for d in x_dots]
    c_dots, x_dots = [d for d in c_dots if d is not None], [d for d in x_dots if d is not None]
    nc, ns, nx, nca = len(consts), len(carry), len(xs), len(c_dots)
    index_aval = body.inputs[n_consts].aval
    x_avals = [v.aval for v in body.inputs[n_consts + 1 + n_carry:]]
    kept = []  # per y: whether the augmented body returns its tangent (one holding tapes may have none)

    def aug_body(*args):
        cs, cds, i = list(args[:nc]), list(args[nc:nc + nca]), args[nc + nca]
        rest = list(args[nc + nca + 1:])
        st, sds, x, xds = rest[:ns], rest[ns:2 * ns], rest[2 * ns:2 * ns + nx], rest[2 * ns + nx:]
        out, out_dot = jvp_flat(lambda *a: eval_program(body, list(a[:nc]) + [i] + list(a[nc:])), cs + st + x,
                                _spread(cds, has_c) + sds + _spread(xds, has_x))
        ys, y_dots = out[ns:], out_dot[ns:]
        kept[:] = [d is not None or not _is_tape(aval_of(y)) for y, d in zip(ys, y_dots)]
        return out[:ns] + _complete(out[:ns], out_dot[:ns], "forward mode") + ys + _complete(
            [y for y, k in zip(ys, kept) if k], [d for d, k in zip(y_dots, kept) if k], "forward mode")

    avals = (_avals(consts) + _avals(c_dots) + [index_aval] + _avals(carry) * 2 + x_avals
             + [a for a, h in zip(x_avals, has_x) if h])
    (new_body,), extra = trace_together([aug_body], avals)
    outs = scan_p(*extra, *consts, *c_dots, *carry, *s_dots, *xs, *x_dots, body=new_body,
                  n_consts=len(extra) + nc + nca, n_carry=2 * ns, length=length, reverse=reverse)
    n_y = len(body.outputs) - ns
    carry_out, carry_dot = outs[:ns], outs[ns:2 * ns]
    ys, y_dots = outs[2 * ns:2 * ns + n_y], outs[2 * ns + n_y:]
    return carry_out + ys, carry_dot + _spread(y_dots, kept)


def _spread(present, flags) -> list:
    """One entry per flag: the next of present where it is set, None where not."""
    found = iter(present)
    return [next(found) if f else None for f in flags]


class _AdjointPlan:
    """How to differentiate a loop body in reverse: the body's forward sweep and pullback traced as one joint
    program and split (partial evaluation) into
      forward:   (consts, i, carry, x) -> (carry, y, per-step residuals), run by the forward loop;
      invariant: consts -> residuals that do not change from step to step, computed once;
      backward:  (consts, invariant, i, carry/y cotangents, per-step residuals, x) -> cotangents, run by the
                 adjoint loop.
    So the adjoint loop reads what the forward loop saved instead of recomputing the body. A while loop's
    body has no index i and no x (`has_index=False`); a walk over tapes reads its entries as x, and with
    keep_x=False its backward part gets the ones it reads as residuals (so only the residual tape is read
    again). live (one flag per output, all by default) says which outputs get a cotangent."""

    def __init__(self, body: Program, n_consts: int, n_carry: int, has_index: bool = True, live=None,
                 keep_x: bool = True):
        n_known = len(body.inputs)
        live = [True] * len(body.outputs) if live is None else list(live)  # outputs that get a cotangent
        g_avals = [a for a, g in zip(body.out_avals, live) if g]

        def joint(*a):
            pullback = Pullback(body, list(a[:n_known]))
            gs = iter(a[n_known:])
            bars = pullback([next(gs) if g else None for g in live])
            return list(pullback.outputs) + _complete(a[:n_known], bars, "reverse mode")

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
        tapes = {v.id for e in forward_eqns if any(_is_tape(o.aval) for o in e.outs) for v in e.outs}
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


def _scan_vjp_fwd(*args, body, n_consts, n_carry, length, reverse):
    """The forward sweep: a scan of the body's forward part, stacking the residuals each step leaves."""
    consts, carry, xs = _scan_split(args, n_consts, n_carry)
    plan = _AdjointPlan(body, n_consts, n_carry)
    invariant = eval_program(plan.invariant, consts + plan.captured)
    outs = scan_p(*consts, *plan.captured, *carry, *xs, body=plan.forward, n_consts=n_consts + len(plan.captured),
                  n_carry=n_carry, length=length, reverse=reverse)
    n_out = len(body.outputs)
    return outs[:n_out], (plan, consts, invariant, xs, outs[n_out:])


def _scan_vjp_bwd(gs, residuals, needed=None, *, body, n_consts, n_carry, length, reverse):
    """A scan the other way over the saved residuals: carries the state's cotangent and the consts'
    cotangent sums, and stacks the xs' cotangents."""
    plan, consts, invariant, xs, stacked = residuals
    gs = [_no_tape(a, "reverse mode of a scan whose stacked tapes get no cotangent") if g is None else g
          for g, a in zip(gs, _scan_out_avals(body, n_carry, length))]
    g_carry, g_ys = gs[:n_carry], gs[n_carry:]
    nc, ns, nx, ny = n_consts, n_carry, len(xs), len(g_ys)
    n_fixed = nc + len(plan.captured) + plan.n_invariant
    n_st = len(stacked)

    def adjoint_body(*a):  # fixed, i, (consts_bar, carry_bar), (residuals_t, x_t, y_bar_t)
        fixed, i = list(a[:n_fixed]), a[n_fixed]
        c_bar, s_bar = a[n_fixed + 1:n_fixed + 1 + nc], a[n_fixed + 1 + nc:n_fixed + 1 + nc + ns]
        rest = a[n_fixed + 1 + nc + ns:]
        res, x, y_bar = rest[:n_st], rest[n_st:n_st + nx], rest[n_st + nx:]
        bars = eval_program(plan.backward, fixed + [i] + list(s_bar) + list(y_bar) + list(res) + list(x))
        return [add_any(p, q) for p, q in zip(c_bar, bars[:nc])] + list(bars[nc + 1:nc + 1 + ns]) + list(
            bars[nc + 1 + ns:])

    fixed_values = list(consts) + list(plan.captured) + list(invariant)
    slices = [ShapedArray(aval_of(v).shape[1:], aval_of(v).dtype) for v in list(stacked) + list(xs) + list(g_ys)]
    avals = (_avals(fixed_values) + [body.inputs[n_consts].aval] + _avals(consts) + _avals(g_carry) + slices)
    (adjoint,), extra = trace_together([adjoint_body], avals)
    c_bars0 = [_zero_bar(c) for c in consts]
    outs = scan_p(*extra, *fixed_values, *c_bars0, *g_carry, *stacked, *xs, *g_ys, body=adjoint,
                  n_consts=len(extra) + n_fixed, n_carry=nc + ns, length=length, reverse=not reverse)
    del ny
    return masked(list(outs), needed)


def _scan_out_avals(body, n_carry, length):
    outs = body.out_avals
    return outs[:n_carry] + [ShapedArray((length,) + a.shape, a.dtype) for a in outs[n_carry:]]


scan_p = control_primitive("scan", _scan_shape, _scan_dtype, _scan_impl, _emit_scan)
scan_p.jvp = _scan_jvp
scan_p.vjp_fwd = _scan_vjp_fwd
scan_p.vjp_bwd = _scan_vjp_bwd


def check_loop_state(where: str, before, after) -> None:
    """A carried value must keep its shape and dtype from one iteration to the next."""
    for k, (a, b) in enumerate(zip(before, after)):
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            raise ShapeError(where, f"carried value {k} changes from {a} to {b} in one iteration",
                             fix="keep each loop variable's shape and dtype fixed (pad, or cast with astype)")



# ---- vectorisation (vmap) of loops ------------------------------------------------------------------------
def _batched_aval(aval, size: int) -> ShapedArray:
    """The aval of a batch of values of this aval (a tape holds the batch in its entries)."""
    return aval if _is_tape(aval) else ShapedArray((size,) + aval.shape, aval.dtype)


def batch_program(program: Program, flags, size: int, out_flags=None):
    """(program over batched arrays, its consts): inputs with a true flag carry a leading batch axis of
    `size`; every output gets one, or, given a list out_flags, only those that depend on a batched input (the
    list gets a flag per output)."""
    avals = [_batched_aval(v.aval, size) if f else v.aval for v, f in zip(program.inputs, flags)]

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
        return [v if b else _broadcast(v, size) for v, b in lifted]

    (batched,), consts = trace_together([run], avals)
    return batched, consts


def _broadcast(value, size: int):
    if _is_tape(aval_of(value)):
        raise NotImplementedError(
            "vmap of a loop body that records a while loop's tape not depending on the mapped values (next to values "
            "that do) is not supported: a tape's entries cannot be given a batch axis from outside the loop that "
            "records them")
    return broadcast_to(value, (size,) + aval_of(value).shape)


def _materialised(values, flags, size):
    return [v if f else broadcast_to(v, (size,) + aval_of(v).shape) for v, f in zip(values, flags)]


def _materialise_all(values, flags, size):
    """(values, flags) with every array batched: a loop that records tapes batches all its operands, so that the
    tapes recorded inside it are batched too (tapes themselves stay as they are)."""
    tape = [_is_tape(aval_of(v)) for v in values]
    return ([v if f or t else broadcast_to(v, (size,) + aval_of(v).shape) for v, f, t in zip(values, flags, tape)],
            [f or not t for f, t in zip(flags, tape)])


def _scan_batch(values, batched, size, body, n_consts, n_carry, length, reverse):
    """Carries batched throughout; a batched xs is sliced along time with its batch axis second (a stack of
    tapes holds the batch in the tapes' entries)."""
    consts, carry, xs = _scan_split(values, n_consts, n_carry)
    c_flags, x_flags = list(batched[:n_consts]), list(batched[n_consts + n_carry:])
    if any(_is_tape(a) for a in body.out_avals[n_carry:]):
        consts, c_flags = _materialise_all(consts, c_flags, size)
        xs, x_flags = _materialise_all(xs, x_flags, size)
    carry = _materialised(carry, batched[n_consts:n_consts + n_carry], size)
    xs = [moveaxis(x, 0, 1) if f and not _is_tape(aval_of(x)) else x for x, f in zip(xs, x_flags)]
    flags = c_flags + [False] + [True] * n_carry + x_flags
    program, extra = batch_program(body, flags, size)
    outs = scan_p(*extra, *consts, *carry, *xs, body=program, n_consts=len(extra) + n_consts, n_carry=n_carry,
                  length=length, reverse=reverse)
    return outs[:n_carry] + [y if _is_tape(aval_of(y)) else moveaxis(y, 0, 1) for y in outs[n_carry:]]


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
    if tapes is not None and any(_is_tape(a) for a in body.out_avals[ns:]):  # so that the tapes inside are batched
        consts, c_flags = _materialise_all(consts, c_flags, size)
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
        outs = [_broadcast(o, size) if f and not b else o
                for o, f, b in zip(eval_program(body_b, bc + rest), s_flags + [True] * (len(body.outputs) - ns),
                                   out_flags)]
        if same:
            new, pred = outs[:ns], np.ones(size, dtype=bool)
        else:
            (pred,) = eval_program(cond_b, cc + rest)
            new = [where_p(reshape(pred, (size,) + (1,) * (aval_of(s).ndim - 1)), n, s)
                   for n, s in zip(outs[:ns], rest[nc:])]
        return new + [e for group in _split(outs[ns:], tapes or ()) for e in group + [pred]]

    avals = _avals(cond_consts) + _avals(body_consts) + _avals(consts) + _avals(state)
    (test, step), extra = trace_together([any_running, masked_step], avals)
    operands = [*extra, *cond_consts, *body_consts, *consts, *state]
    n = len(extra) + ncc + nbc + nc
    if tapes is None:
        outs = while_p(*operands, cond=test, body=step, n_consts=n)
    else:
        outs = while_tape_p(*operands, cond=test, body=step, n_consts=n, tapes=tuple(k + 1 for k in tapes))
    return _materialised(outs[:ns], s_flags, size) + outs[ns:]  # (every result of a batch rule is batched)


def _while_batch(values, batched, size, cond, body, n_consts):
    if size == 0:
        return NotImplemented  # no examples: the per-example fallback returns empty results
    return _masked_loop(values, batched, size, cond, body, n_consts)


def _while_tape_batch(values, batched, size, cond, body, n_consts, tapes):
    if size == 0:
        return NotImplemented
    return _masked_loop(values, batched, size, cond, body, n_consts, tapes)


def _while_adjoint_batch(values, batched, size, step, n_consts, tapes, produces, reverse):
    """A walk over batched tapes updates, at each step, only the examples that ran it (the mask a batched tape
    ends each step with). Cotangents batched alone (jacrev through a while loop) walk the one tape for all."""
    if size == 0:
        return NotImplemented
    consts, ins, carry = _adjoint_split(values, n_consts, len(tapes))
    c_flags, t_flags, k_flags = _adjoint_split(batched, n_consts, len(tapes))
    if produces:
        consts, c_flags = _materialise_all(consts, c_flags, size)
    carry = _materialised(carry, k_flags, size)
    nc, nk = len(consts), len(carry)
    step_b, step_consts = batch_program(step, c_flags + [True] * nk + [
        f for f, n in zip(t_flags, tapes) for _ in range(n)], size)
    counts, n_sc = [n + 1 if f else n for n, f in zip(tapes, t_flags)], len(step_consts)

    def masked_step(*args):  # step consts, consts, carry, entries (a batched tape's followed by its mask)
        fixed, cr, es = list(args[:n_sc + nc]), list(args[n_sc + nc:n_sc + nc + nk]), args[n_sc + nc + nk:]
        entries, masks = [], []
        for group, n in zip(_split(es, counts), tapes):
            entries += group[:n]
            masks += group[n:]
        outs = eval_program(step_b, fixed + cr + entries)
        new = outs[:nk]
        if masks:
            new = [where_p(reshape(masks[0], (size,) + (1,) * (aval_of(c).ndim - 1)), n, c) for n, c in zip(new, cr)]
        mask = masks[0] if masks else np.ones(size, dtype=bool)
        return new + [e for group in _split(outs[nk:], produces) for e in group + [mask]]

    avals = _avals(step_consts) + _avals(consts) + _avals(carry)
    for group, f in zip(_split([v.aval for v in step.inputs[n_consts + nk:]], tapes), t_flags):
        avals += [_batched_aval(a, size) for a in group] + [ShapedArray((size,), np.dtype(bool))] if f else group
    (program,), extra = trace_together([masked_step], avals)
    return while_adjoint_p(*extra, *step_consts, *consts, *ins, *carry, step=program,
                           n_consts=len(extra) + n_sc + nc, tapes=tuple(counts),
                           produces=tuple(n + 1 for n in produces), reverse=reverse)


scan_p.batch = _scan_batch
while_p.batch = _while_batch
while_tape_p.batch = _while_tape_batch
while_adjoint_p.batch = _while_adjoint_batch
