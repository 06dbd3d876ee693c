"""`scan` (and fori_loop with Python int bounds): a loop of known length over a body sub-program
(consts, i, carry, x) -> (carry, y), slicing xs along axis 0 and stacking the ys.

Emitted as a `for` statement over range(length). Forward mode runs an augmented scan over (value, tangent)
pairs; reverse mode runs a scan of the body's forward part that stacks the residuals each step leaves, then
a scan the other way over them; under vmap the carries are batched throughout and batched xs are sliced
with their batch axis second.
"""

from __future__ import annotations

import ast

import numpy as np

from ..avals import ShapedArray, aval_of
from ..numpy import moveaxis
from ..ops.rules import add_any, zeros
from ..transforms.evaluate import eval_program
from ..transforms.jvp import jvp_flat
from ..transforms.vjp import masked
from .plan import AdjointPlan
from .primitive import avals_of, chosen, control_primitive, split, spread
from .statements import close_block, own_names
from .tape import TAPE, complete, has_cotangent, is_tape, no_tape, zero_bar
from .trace import trace_together
from .vmap import batch_program, materialise_all, materialised


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
    own_names(emitter, eqn, n_consts)
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
    close_block(emitter, start, inner)


def _scan_jvp(primals, tangents, body, n_consts, n_carry, length, reverse):
    """An augmented scan: consts, carries and xs each paired with their tangents; a value holding tapes (which
    have no zero) only when it has one, and is otherwise a constant of the augmented body."""
    consts, carry, xs = _scan_split(primals, n_consts, n_carry)
    dots = [zeros(aval_of(p)) if t is None and not is_tape(aval_of(p)) else t for p, t in zip(primals, tangents)]
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
                                spread(cds, has_c) + sds + spread(xds, has_x))
        ys, y_dots = out[ns:], out_dot[ns:]
        kept[:] = [d is not None or not is_tape(aval_of(y)) for y, d in zip(ys, y_dots)]
        return out[:ns] + complete(out[:ns], out_dot[:ns], "forward mode") + ys + complete(
            [y for y, k in zip(ys, kept) if k], [d for d, k in zip(y_dots, kept) if k], "forward mode")

    avals = (avals_of(consts) + avals_of(c_dots) + [index_aval] + avals_of(carry) * 2 + x_avals
             + [a for a, h in zip(x_avals, has_x) if h])
    (new_body,), extra = trace_together([aug_body], avals)
    outs = scan_p(*extra, *consts, *c_dots, *carry, *s_dots, *xs, *x_dots, body=new_body,
                  n_consts=len(extra) + nc + nca, n_carry=2 * ns, length=length, reverse=reverse)
    n_y = len(body.outputs) - ns
    carry_out, carry_dot = outs[:ns], outs[ns:2 * ns]
    ys, y_dots = outs[2 * ns:2 * ns + n_y], outs[2 * ns + n_y:]
    return carry_out + ys, carry_dot + spread(y_dots, kept)


def _scan_vjp_fwd(*args, body, n_consts, n_carry, length, reverse):
    """The forward sweep: a scan of the body's forward part, stacking the residuals each step leaves."""
    consts, carry, xs = _scan_split(args, n_consts, n_carry)
    plan = AdjointPlan(body, n_consts, n_carry)
    invariant = eval_program(plan.invariant, consts + plan.captured)
    outs = scan_p(*consts, *plan.captured, *carry, *xs, body=plan.forward, n_consts=n_consts + len(plan.captured),
                  n_carry=n_carry, length=length, reverse=reverse)
    n_out = len(body.outputs)
    return outs[:n_out], (plan, consts, invariant, xs, outs[n_out:])


def _scan_vjp_bwd(gs, residuals, needed=None, *, body, n_consts, n_carry, length, reverse):
    """A scan the other way over the saved residuals: carries the state's cotangent and the consts'
    cotangent sums (of the floating ones: an integer has none), and stacks the xs' cotangents."""
    plan, consts, invariant, xs, stacked = residuals
    gs = [no_tape(a, "reverse mode of a scan whose stacked tapes get no cotangent") if g is None else g
          for g, a in zip(gs, _scan_out_avals(body, n_carry, length))]
    carry_avals = body.out_avals[:n_carry]
    c_kept, s_kept = [has_cotangent(aval_of(c)) for c in consts], [has_cotangent(a) for a in carry_avals]
    g_carry, g_ys = chosen(gs[:n_carry], s_kept), gs[n_carry:]
    nc, ns = n_consts, n_carry
    fixed_values = list(consts) + list(plan.captured) + list(invariant)
    counts = [len(fixed_values), 1, sum(c_kept), len(g_carry), len(stacked), len(xs), len(g_ys)]

    def adjoint_body(*a):  # fixed, i, (consts_bar, carry_bar), (residuals_t, x_t, y_bar_t)
        fixed, (i,), c_bar, s_bar, res, x, y_bar = split(a, counts)
        s_bar = [zeros(v) if b is None else b for v, b in zip(carry_avals, spread(s_bar, s_kept))]
        bars = eval_program(plan.backward, fixed + [i] + s_bar + y_bar + res + x)
        return ([add_any(p, q) for p, q in zip(c_bar, chosen(bars[:nc], c_kept))]
                + chosen(bars[nc + 1:nc + 1 + ns], s_kept) + list(bars[nc + 1 + ns:]))

    slices = [ShapedArray(aval_of(v).shape[1:], aval_of(v).dtype) for v in list(stacked) + list(xs) + list(g_ys)]
    avals = (avals_of(fixed_values) + [body.inputs[n_consts].aval] + avals_of(chosen(consts, c_kept))
             + avals_of(g_carry) + slices)
    (adjoint,), extra = trace_together([adjoint_body], avals)
    c_bars0 = [zero_bar(c) for c in chosen(consts, c_kept)]
    outs = scan_p(*extra, *fixed_values, *c_bars0, *g_carry, *stacked, *xs, *g_ys, body=adjoint,
                  n_consts=len(extra) + counts[0], n_carry=counts[2] + counts[3], length=length, reverse=not reverse)
    const_bars, carry_bars = split(outs, counts[2:4])  # (an integer const or carry has no cotangent: None)
    x_bars = list(outs[counts[2] + counts[3]:])
    return masked(spread(const_bars, c_kept) + spread(carry_bars, s_kept) + x_bars, needed)


def _scan_out_avals(body, n_carry, length):
    outs = body.out_avals
    return outs[:n_carry] + [ShapedArray((length,) + a.shape, a.dtype) for a in outs[n_carry:]]


def _scan_batch(values, batched, size, body, n_consts, n_carry, length, reverse):
    """Carries batched throughout; a batched xs is sliced along time with its batch axis second (a stack of
    tapes holds the batch in the tapes' entries)."""
    consts, carry, xs = _scan_split(values, n_consts, n_carry)
    c_flags, x_flags = list(batched[:n_consts]), list(batched[n_consts + n_carry:])
    if any(is_tape(a) for a in body.out_avals[n_carry:]):
        consts, c_flags = materialise_all(consts, c_flags, size)
        xs, x_flags = materialise_all(xs, x_flags, size)
    carry = materialised(carry, batched[n_consts:n_consts + n_carry], size)
    xs = [moveaxis(x, 0, 1) if f and not is_tape(aval_of(x)) else x for x, f in zip(xs, x_flags)]
    flags = c_flags + [False] + [True] * n_carry + x_flags
    program, extra = batch_program(body, flags, size)
    outs = scan_p(*extra, *consts, *carry, *xs, body=program, n_consts=len(extra) + n_consts, n_carry=n_carry,
                  length=length, reverse=reverse)
    return outs[:n_carry] + [y if is_tape(aval_of(y)) else moveaxis(y, 0, 1) for y in outs[n_carry:]]


scan_p = control_primitive("scan", _scan_shape, _scan_dtype, _scan_impl, _emit_scan)
scan_p.non_standard = (
    "its loop reads xs[i] and writes ys[i]: NumPy's partial index of an array of more than one axis")
scan_p.jvp = _scan_jvp
scan_p.vjp_fwd = _scan_vjp_fwd
scan_p.vjp_bwd = _scan_vjp_bwd
scan_p.batch = _scan_batch
