"""Structured control flow primitives over sub-programs: `cond`, `while_loop`, `scan` (fori_loop is a scan).

Every sub-program takes (*consts, *args): the values its function closed over come first, as explicit
operands, so a sub-program holds no values of the trace that made it. Each primitive is evaluated by running
its sub-programs, emitted as a real Python `if` / `while` / `for` statement, and differentiated in both modes:
forward mode carries (value, tangent) pairs through an augmented loop; reverse mode differentiates the branch
taken (cond), runs a reverse `scan` over the carries a forward scan saved (scan, fori_loop), and for a while
loop, whose trip count depends on the data, pushes each state on a tape during the forward sweep and pops it
in the adjoint loop.
"""

from __future__ import annotations

import ast

import numpy as np

from ..avals import ShapedArray, aval_of
from ..core.ir import Program, Var
from ..core.primitive import Primitive
from ..core.trace import bind, make_program, suggest_name
from ..errors import ShapeError
from ..numpy import broadcast_to, moveaxis, reshape, stack
from ..ops.elementwise import where_p
from ..ops.reduction import reduce_max_p
from ..ops.rules import add_any, zeros
from .batching import Batched, BatchTrace
from .evaluate import eval_program
from .jvp import ShapedArrayExample, jvp_call
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


def _emit_while(emitter, eqn, indent, tape=None):
    params = eqn.params
    consts, state = _emit_loop_state(emitter, eqn, indent, params["n_consts"])
    if tape is not None:
        emitter.lines.append(f"{indent}{emitter.namer(tape)} = []")
    (test,) = emitter.run_block(params["cond"], consts + state, indent)
    emitter.lines.append(f"{indent}while {ast.unparse(emitter.atom(test))}:")
    inner, start = indent + "    ", len(emitter.lines)
    outs = emitter.run_block(params["body"], consts + state, inner)
    if tape is not None:  # what the adjoint loop reads (nothing, for a linear body: then the tape counts steps)
        saved = "".join(ast.unparse(emitter.atom(a)) + ", " for a in outs[len(state):])
        emitter.lines.append(f"{inner}{emitter.namer(tape)}.append(({saved.rstrip()}))")
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


def _while_vjp_fwd(*args, cond, body, n_consts):
    """The forward sweep: the body's forward part in the same loop, pushing what the adjoint reads on a tape."""
    consts, init = list(args[:n_consts]), list(args[n_consts:])
    plan = _AdjointPlan(body, n_consts, len(init), has_index=False)
    invariant = eval_program(plan.invariant, consts + plan.captured)
    cond_ext = _with_inputs(cond, n_consts, _avals(plan.captured))  # (the forward body reads captures too)
    *outs, tape = while_tape_p(*consts, *plan.captured, *init, cond=cond_ext, body=plan.forward,
                               n_consts=n_consts + len(plan.captured))
    suggest_name(tape, "tape")
    return outs, (plan, consts, invariant, tape)


def _with_inputs(program: Program, position: int, avals) -> Program:
    """program, taking more (unused) inputs of these avals at position."""
    extra = [Var(a) for a in avals]
    return Program(program.inputs[:position] + extra + program.inputs[position:], program.eqns, program.outputs,
                   program.captures, program.name)


def _while_vjp_bwd(gs, residuals, needed=None, *, cond, body, n_consts):
    """The adjoint loop: pop each step's residuals from the tape, pull the state's cotangent back through the
    body's backward part and accumulate the consts' cotangents."""
    plan, consts, invariant, tape = residuals
    nc = len(consts)
    state_avals = [v.aval for v in body.inputs[nc:]]
    ns, n_saved = len(state_avals), len(plan.stacked)
    gs = [zeros(a) if g is None else g for a, g in zip(state_avals, gs)]
    fixed_values = list(consts) + list(plan.captured) + list(invariant)
    n_fixed = len(fixed_values)

    def step(*args):  # (fixed, const_bars, saved, state_bars) -> (const_bars, state_bars)
        fixed, c_bars = args[:n_fixed], args[n_fixed:n_fixed + nc]
        saved, g = args[n_fixed + nc:n_fixed + nc + n_saved], args[n_fixed + nc + n_saved:]
        bars = eval_program(plan.backward, list(fixed) + list(g) + list(saved))
        return [add_any(a, b) for a, b in zip(c_bars, bars[:nc])] + [
            zeros(a) if b is None else b for a, b in zip(state_avals, bars[nc:nc + ns])]

    avals = _avals(fixed_values) + _avals(consts) + [v.aval for v in plan.stacked] + state_avals
    (adjoint,), extra = trace_together([step], avals)
    c_bars = [zeros(aval_of(c)) for c in consts]
    bars = while_adjoint_p(*extra, *fixed_values, tape, *c_bars, *gs, step=adjoint, n_consts=len(extra) + n_fixed,
                           n_bars=nc)
    return masked(bars, needed)


def _while_tape_shape(*args, cond, body, n_consts):
    return _state_shape(*args, cond=cond, body=body, n_consts=n_consts) + [()]


def _while_tape_dtype(*args, cond, body, n_consts):
    return _state_dtype(*args, cond=cond, body=body, n_consts=n_consts) + [TAPE.dtype]


def _while_tape_impl(*args, cond, body, n_consts):
    tape = []
    state = _run_while(list(args[:n_consts]), list(args[n_consts:]), cond, body, lambda saved: tape.append(
        tuple(saved)))
    return state + [tape]


def _while_tape_batch(values, batched, size, cond, body, n_consts):
    """vmap of the forward sweep: one loop per example (trip counts differ), its tapes side by side in an object
    array whose entries the adjoint loop, mapped over the examples, reads one by one."""
    if size == 0:
        return NotImplemented
    runs = [bind(while_tape_p, *[v[i] if b else v for v, b in zip(values, batched)], cond=cond, body=body,
                 n_consts=n_consts) for i in range(size)]
    tapes = np.empty(size, dtype=object)
    for i, run in enumerate(runs):
        if not isinstance(run[-1], list):
            raise NotImplementedError(
                "vmap of the reverse-mode derivative of a while_loop inside dt.jit (or another trace) is not "
                "supported: each example's tape is a Python list, and lists cannot be stacked in a compiled "
                "program\n  fix: apply dt.vmap outside dt.jit, or write the loop with fori_loop / scan (a static "
                "trip count)")
        tapes[i] = run[-1]
    return [stack([run[k] for run in runs]) for k in range(len(runs[0]) - 1)] + [tapes]


def _adjoint_shape(*args, step, n_consts, n_bars):
    return [a.shape for a in args[n_consts + 1:]]


def _adjoint_dtype(*args, step, n_consts, n_bars):
    return [a.dtype for a in args[n_consts + 1:]]


def _while_adjoint_impl(*args, step, n_consts, n_bars):
    """Walk the tape backwards, last step first (without emptying it, so a pullback can run twice). The carry
    is the n_bars consts' cotangents, then the state's."""
    consts, tape, carry = list(args[:n_consts]), args[n_consts], list(args[n_consts + 1:])
    for saved in reversed(tape):
        carry = eval_program(step, consts + carry[:n_bars] + list(saved) + carry[n_bars:])
    return carry


def _emit_while_adjoint(emitter, eqn, indent):
    n_consts, n_bars, step = eqn.params["n_consts"], eqn.params["n_bars"], eqn.params["step"]
    consts, tape, init = eqn.inputs[:n_consts], eqn.inputs[n_consts], eqn.inputs[n_consts + 1:]
    carry = eqn.outs
    _own_names(emitter, eqn, n_consts + 1)
    emitter.assign_all(carry, init, indent)
    n_saved = len(step.inputs) - n_consts - len(carry)
    saved = step.inputs[n_consts + n_bars: n_consts + n_bars + n_saved]
    target = f"({', '.join(emitter.namer(v) for v in saved)},)" if saved else "_"
    emitter.lines.append(f"{indent}for {target} in reversed({emitter.namer(tape)}):  # pop the tape")
    inner, start = indent + "    ", len(emitter.lines)
    operands = list(consts) + list(carry[:n_bars]) + list(saved) + list(carry[n_bars:])
    emitter.assign_all(carry, emitter.run_block(step, operands, inner), inner)
    _close_block(emitter, start, inner)


def _no_forward_mode(name):
    def jvp(primals, tangents, **params):
        raise NotImplementedError(f"forward-mode differentiation of {name} (the reverse-mode tape of a while_loop, "
                                  "as in a Hessian of a while loop) is not implemented; use fori_loop or scan, "
                                  "whose trip count is static")
    return jvp


while_p = control_primitive("while_loop", _state_shape, _state_dtype, _while_impl, _emit_while)
while_p.jvp = _while_jvp
while_p.vjp_fwd = _while_vjp_fwd
while_p.vjp_bwd = _while_vjp_bwd

while_tape_p = control_primitive("while_loop_tape", _while_tape_shape, _while_tape_dtype, _while_tape_impl,
                                 lambda emitter, eqn, indent: _emit_while(emitter, eqn, indent, tape=eqn.outs[-1]))
while_tape_p.jvp = _no_forward_mode("while_loop_tape")
while_tape_p.batch = _while_tape_batch

while_adjoint_p = control_primitive("while_loop_adjoint", _adjoint_shape, _adjoint_dtype, _while_adjoint_impl,
                                    _emit_while_adjoint)
while_adjoint_p.jvp = _no_forward_mode("while_loop_adjoint")


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
    """An augmented scan: consts, carries and xs each paired with their tangents."""
    consts, carry, xs = _scan_split(primals, n_consts, n_carry)
    c_dots, s_dots, x_dots = _scan_split(_zeros_for(primals, tangents), n_consts, n_carry)
    nc, ns, nx = len(consts), len(carry), len(xs)
    index_aval = body.inputs[n_consts].aval
    x_avals = [v.aval for v in body.inputs[n_consts + 1 + n_carry:]]

    def aug_body(*args):
        cs, cds, i = args[:nc], args[nc:2 * nc], args[2 * nc]
        rest = args[2 * nc + 1:]
        st, sds, x, xds = rest[:ns], rest[ns:2 * ns], rest[2 * ns:2 * ns + nx], rest[2 * ns + nx:]
        out, out_dot = jvp_call(lambda *a: eval_program(body, list(a[:nc]) + [i] + list(a[nc:])),
                                tuple(cs) + tuple(st) + tuple(x), tuple(cds) + tuple(sds) + tuple(xds))
        return list(out[:ns]) + list(out_dot[:ns]) + list(out[ns:]) + list(out_dot[ns:])

    avals = _avals(consts) * 2 + [index_aval] + _avals(carry) * 2 + x_avals * 2
    (new_body,), extra = trace_together([aug_body], avals)
    outs = scan_p(*extra, *consts, *c_dots, *carry, *s_dots, *xs, *x_dots, body=new_body,
                  n_consts=len(extra) + 2 * nc, n_carry=2 * ns, length=length, reverse=reverse)
    n_y = len(outs) // 2 - ns
    carry_out, carry_dot = outs[:ns], outs[ns:2 * ns]
    ys, y_dots = outs[2 * ns:2 * ns + n_y], outs[2 * ns + n_y:]
    return carry_out + ys, carry_dot + y_dots


class _AdjointPlan:
    """How to differentiate a loop body in reverse: the body's forward sweep and pullback traced as one joint
    program and split (partial evaluation) into
      forward:   (consts, i, carry, x) -> (carry, y, per-step residuals), run by the forward loop;
      invariant: consts -> residuals that do not change from step to step, computed once;
      backward:  (consts, invariant, i, carry/y cotangents, per-step residuals, x) -> cotangents, run by the
                 adjoint loop.
    So the adjoint loop reads what the forward loop saved instead of recomputing the body. A while loop's
    body has no index i and no x (`has_index=False`)."""

    def __init__(self, body: Program, n_consts: int, n_carry: int, has_index: bool = True):
        n_known, g_avals = len(body.inputs), body.out_avals

        def joint(*a):
            pullback = Pullback(body, list(a[:n_known]))
            return list(pullback.outputs) + pullback.input_cotangents(list(a[n_known:]))

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
        varying = depends_on(forward_eqns, {v.id for v in index + carry + x})
        given = {v.id for v in consts + index + x + unknown}
        reads = external_reads(backward_eqns, program.outputs[n_out:], exclude_ids=given)
        self.stacked = [v for v in reads if v.id in varying]
        invariant = [v for v in reads if v.id not in varying]
        self.invariant = dce(Program(consts, [e for e in forward_eqns if not varying & {v.id for v in e.outs}],
                                     invariant, (), "invariant"))
        self.forward = dce(Program(consts + index + carry + x, forward_eqns,
                                   program.outputs[:n_out] + self.stacked, (), "forward"))
        self.backward = dce(Program(consts + invariant + index + unknown + self.stacked + x, backward_eqns,
                                    program.outputs[n_out:], (), "backward"))
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
    gs = [zeros(a) if g is None else g for g, a in zip(gs, _scan_out_avals(body, n_carry, length))]
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
    c_bars0 = [zeros(aval_of(c)) for c in consts]
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
def batch_program(program: Program, flags, size: int):
    """(program over batched arrays, its consts): inputs with a true flag carry a leading batch axis of
    `size`; every output gets one."""
    avals = [ShapedArray((size,) + v.aval.shape, v.aval.dtype) if f else v.aval
             for v, f in zip(program.inputs, flags)]

    def run(*args):
        trace = BatchTrace(size)
        try:
            outs = eval_program(program, [Batched(trace, a) if f else a for a, f in zip(args, flags)])
            lifted = [trace.lift(o) for o in outs]
        finally:
            trace.active = False
        return [v if b else broadcast_to(v, (size,) + aval_of(v).shape) for v, b in lifted]

    (batched,), consts = trace_together([run], avals)
    return batched, consts


def _materialised(values, flags, size):
    return [v if f else broadcast_to(v, (size,) + aval_of(v).shape) for v, f in zip(values, flags)]


def _scan_batch(values, batched, size, body, n_consts, n_carry, length, reverse):
    """Carries batched throughout; a batched xs is sliced along time with its batch axis second."""
    consts, carry, xs = _scan_split(values, n_consts, n_carry)
    c_flags, x_flags = batched[:n_consts], batched[n_consts + n_carry:]
    carry = _materialised(carry, batched[n_consts:n_consts + n_carry], size)
    xs = [moveaxis(x, 0, 1) if f else x for x, f in zip(xs, x_flags)]
    flags = list(c_flags) + [False] + [True] * n_carry + list(x_flags)
    program, extra = batch_program(body, flags, size)
    outs = scan_p(*extra, *consts, *carry, *xs, body=program, n_consts=len(extra) + n_consts, n_carry=n_carry,
                  length=length, reverse=reverse)
    return outs[:n_carry] + [moveaxis(y, 0, 1) for y in outs[n_carry:]]


def _while_batch(values, batched, size, cond, body, n_consts):
    """Each example runs until its own condition fails: loop while any does, updating only those that run."""
    if size == 0:
        return NotImplemented  # no examples: the per-example fallback returns empty results
    consts, state = list(values[:n_consts]), list(values[n_consts:])
    state = _materialised(state, batched[n_consts:], size)
    flags = list(batched[:n_consts]) + [True] * len(state)
    cond_b, cond_consts = batch_program(cond, flags, size)
    body_b, body_consts = batch_program(body, flags, size)
    nc, ncc = len(consts), len(cond_consts)

    def any_running(*args):
        (pred,) = eval_program(cond_b, list(args[:ncc]) + list(args[ncc + len(body_consts):]))
        return [reduce_max_p(pred, axes=(0,), keepdims=False)]

    def masked_step(*args):
        cc, bc, rest = args[:ncc], args[ncc:ncc + len(body_consts)], list(args[ncc + len(body_consts):])
        (pred,) = eval_program(cond_b, list(cc) + rest)
        new = eval_program(body_b, list(bc) + rest)
        return [where_p(reshape(pred, (size,) + (1,) * (aval_of(s).ndim - 1)), n, s)
                for n, s in zip(new, rest[nc:])]

    avals = _avals(cond_consts) + _avals(body_consts) + _avals(consts) + _avals(state)
    (test, step), extra = trace_together([any_running, masked_step], avals)
    return while_p(*extra, *cond_consts, *body_consts, *consts, *state, cond=test, body=step,
                   n_consts=len(extra) + ncc + len(body_consts) + nc)


def _while_adjoint_batch(values, batched, size, step, n_consts, n_bars):
    """Cotangents batched (jacrev through a while loop): the adjoint loop walks the one tape for all of them."""
    if batched[n_consts]:
        return NotImplemented  # a batch of tapes (vmap of the forward loop): per example
    consts, tape, carry = list(values[:n_consts]), values[n_consts], list(values[n_consts + 1:])
    carry = _materialised(carry, batched[n_consts + 1:], size)
    n_saved = len(step.inputs) - n_consts - len(carry)
    flags = list(batched[:n_consts]) + [True] * n_bars + [False] * n_saved + [True] * (len(carry) - n_bars)
    program, extra = batch_program(step, flags, size)
    return while_adjoint_p(*extra, *consts, tape, *carry, step=program, n_consts=len(extra) + n_consts,
                           n_bars=n_bars)


scan_p.batch = _scan_batch
while_p.batch = _while_batch
while_adjoint_p.batch = _while_adjoint_batch
