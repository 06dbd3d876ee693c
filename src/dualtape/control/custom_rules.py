"""The custom-rule primitives: `custom_jvp_call` and `custom_vjp_call`, a function's sub-program whose
derivative is given by the user's rules instead of differentiating its body (custom.py makes them).

custom_vjp calls the user's forward and backward functions; custom_jvp's tangent map is transposed, for
reverse mode, by pulling back through its (linear) staged program. The rules cover the user's arguments
only: a differentiated value the function closes over is an error, never a silent zero.
"""

from __future__ import annotations

from contextlib import contextmanager

from .. import tree
from ..avals import aval_of
from ..core.ir import Program
from ..core.trace import make_program
from ..errors import EscapedTracerError
from ..ops.rules import fit_dtype, zeros
from ..transforms.vjp import Pullback
from .primitive import padded, plain_jvp, sub_program_primitive

custom_jvp_call_p = sub_program_primitive("custom_jvp_call")
custom_vjp_call_p = sub_program_primitive("custom_vjp_call")


# ---- custom_jvp ------------------------------------------------------------------------------------------
def _user_args(primals, in_tree):
    """The user's arguments (pytrees) from the leading leaves; the trailing ones are captured values."""
    return tree.unflatten(in_tree, list(primals[:in_tree.num_leaves]))


def _no_closed_over_derivative(kind: str, program: Program, in_tree, differentiated) -> None:
    """The user's rule covers the arguments only: differentiating a value the function closes over (a
    captured operand) is an error, as in JAX, never a silent zero."""
    if any(differentiated[in_tree.num_leaves:]):
        raise TypeError(f"{kind}: {program.name} closes over a value that is being differentiated, but its rule "
                        f"only gives derivatives with respect to its arguments; pass that value to "
                        f"{program.name} as an argument")


@contextmanager
def _stale_closures(kind: str, program: Program, in_tree, n_operands: int):
    """A rule that closes over a value computed inside the function being differentiated sees that value's
    (finished) trace when reverse mode replays the program: say so, and how to fix it."""
    try:
        yield
    except EscapedTracerError as e:
        if n_operands <= in_tree.num_leaves:
            raise
        raise NotImplementedError(
            f"{kind}: the rules of {program.name} close over a value computed inside the function being "
            f"differentiated, which reverse mode cannot pass to them; pass that value to {program.name} as an "
            f"argument instead\n" + "\n".join(line for line in str(e).splitlines() if "fix:" not in line)) from None


def _custom_jvp_jvp(primals, tangents, program, jvp_rule, in_tree):
    """The user's rule, on the user's arguments (captured values get no tangent)."""
    _no_closed_over_derivative("custom_jvp", program, in_tree, [t is not None for t in tangents])
    ts = [zeros(aval_of(p)) if t is None else t for p, t in zip(primals, tangents)]
    out, out_dot = jvp_rule(_user_args(primals, in_tree), _user_args(ts, in_tree))
    return list(tree.leaves(out)), list(tree.leaves(out_dot))


def _custom_jvp_vjp(gs, *primals, out, needed=None, program, jvp_rule, in_tree):
    """Transpose the user's tangent map: stage t -> jvp_rule(primals, t)[1], a linear program in t, and pull
    gs back through it (a linear map's VJP at any point is its transpose)."""
    _no_closed_over_derivative("custom_jvp", program, in_tree, needed or [True] * len(primals))
    args = _user_args(primals, in_tree)
    leaves = primals[:in_tree.num_leaves]

    def tangent_map(*ts):
        return list(tree.leaves(jvp_rule(args, tree.unflatten(in_tree, list(ts)))[1]))

    with _stale_closures("custom_jvp", program, in_tree, len(primals)):
        linear, _ = make_program(tangent_map, tuple(leaves))
    bars = Pullback(linear, [zeros(aval_of(x)) for x in leaves]).input_cotangents(list(gs))
    return padded(bars, primals, needed)


custom_jvp_call_p.jvp = _custom_jvp_jvp
custom_jvp_call_p.vjp = _custom_jvp_vjp


# ---- custom_vjp ------------------------------------------------------------------------------------------
def _custom_vjp_fwd(*primals, program, fwd, bwd, in_tree, out_tree):
    """The forward sweep runs the user's forward function: its output is the primal output (computed once)
    and its residuals are what the backward sweep keeps. A function that closes over other values (captured
    operands) runs its own body instead, and its forward function runs in the backward sweep."""
    params = dict(program=program, fwd=fwd, bwd=bwd, in_tree=in_tree, out_tree=out_tree)
    if len(primals) > in_tree.num_leaves:
        return custom_vjp_call_p(*primals, **params), (None, primals)
    args = _user_args(primals, in_tree)
    out, residuals = fwd(*args)
    leaves, structure = tree.flatten(out)
    if structure != out_tree or any(aval_of(o).shape != a.shape for o, a in zip(leaves, program.out_avals)):
        raise TypeError(f"custom_vjp: the forward function of {program.name} must return (output, residuals) with "
                        f"an output shaped like {program.name}'s ({', '.join(str(a) for a in program.out_avals)})")
    return [fit_dtype(o, a) for o, a in zip(leaves, program.out_avals)], (args, residuals)


def _custom_vjp_bwd(gs, saved, needed=None, **params):
    """The user's backward function on the residuals the forward sweep saved."""
    args, residuals = saved
    if args is None:
        return _custom_vjp_vjp(gs, *residuals, out=None, needed=needed, **params)
    return _user_cotangents(gs, residuals, args, needed, len(tree.leaves(args)), **params)


def _custom_vjp_vjp(gs, *primals, out, needed=None, program, fwd, bwd, in_tree, out_tree):
    """The user's backward function, on the residuals of the user's forward function (run here)."""
    _no_closed_over_derivative("custom_vjp", program, in_tree, needed or [True] * len(primals))
    args = _user_args(primals, in_tree)
    with _stale_closures("custom_vjp", program, in_tree, len(primals)):
        _, residuals = fwd(*args)
    return _user_cotangents(gs, residuals, args, needed, len(primals), bwd=bwd, out_tree=out_tree)


def _user_cotangents(gs, residuals, args, needed, n_operands, *, bwd, out_tree, **_):
    """bwd(residuals, output cotangent) as one cotangent per operand (None for captured ones)."""
    bars = bwd(residuals, tree.unflatten(out_tree, list(gs)))
    if not isinstance(bars, tuple) or len(bars) != len(args):
        raise TypeError(f"custom_vjp: the backward function must return a tuple of {len(args)} cotangents "
                        f"(one per argument), got {type(bars).__name__}")
    return padded(_bwd_leaves(bars, args, getattr(bwd, "__name__", "bwd")), [None] * n_operands, needed)


def _bwd_leaves(bars, args, name: str) -> list:
    """The leaves of the user's cotangents, one per leaf of the arguments (None for an argument whose
    cotangent is None: zero), each checked against its primal's shape and cast to its dtype."""
    out = []
    for i, (bar, arg) in enumerate(zip(bars, args)):
        arg_leaves, arg_tree = tree.flatten(arg)
        if bar is None:
            out.extend([None] * len(arg_leaves))
            continue
        bar_leaves, bar_tree = tree.flatten(bar)
        if bar_tree != arg_tree:
            raise ValueError(f"custom_vjp: {name} returned a cotangent of structure {bar_tree!r} for argument {i}, "
                             f"whose structure is {arg_tree!r}")
        for b, x in zip(bar_leaves, arg_leaves):
            if aval_of(b).shape != aval_of(x).shape:
                raise ValueError(f"custom_vjp: {name} returned a cotangent of shape {aval_of(b).shape} for "
                                 f"argument {i} of shape {aval_of(x).shape}; sum it over the broadcast axes")
            out.append(fit_dtype(b, aval_of(x)))
    return out


custom_vjp_call_p.jvp = plain_jvp(custom_vjp_call_p)
custom_vjp_call_p.vjp = _custom_vjp_vjp
custom_vjp_call_p.vjp_fwd = _custom_vjp_fwd
custom_vjp_call_p.vjp_bwd = _custom_vjp_bwd
