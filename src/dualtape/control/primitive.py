"""The two kinds of primitive over sub-programs, and the small helpers their rules share.

A control-flow primitive (cond, the loops, scan) is written out by codegen as statements (`if` / `while` /
`for`) by its own `emit_statements`; a primitive whose meaning is one sub-program (checkpoint, the custom
rules) is written in line (its `inline_param`). Neither has an expression template. Both are evaluated by
running their sub-programs, so every rule here is a transform of a sub-program.
"""

from __future__ import annotations

from ..avals import aval_of
from ..core.faces import Faces
from ..core.ir import Program
from ..core.primitive import Primitive
from ..ops.rules import zeros
from ..transforms.evaluate import eval_program
from ..transforms.jvp import jvp_call
from ..transforms.vjp import Pullback, masked


# ---- primitives emitted as statements: control flow -------------------------------------------------------
def control_primitive(name, shape_rule, dtype_rule, impl, emit_statements) -> Primitive:
    """A primitive over sub-programs with several results, written out as statements (if / while / for)."""
    prim = Primitive(name, "*xs", None, shape_rule, dtype_rule=dtype_rule, multiple_results=True, impl=impl,
                     emit=_statements_only)
    prim.emit_statements = emit_statements
    return prim


def _statements_only(operands, params):
    raise AssertionError("control flow is emitted as statements (emit_statements), never as an expression")


# ---- primitives emitted in line: one sub-program ----------------------------------------------------------
def _out_avals(*avals, program: Program, **_):
    return [a.shape for a in program.out_avals]


def _out_dtypes(*avals, program: Program, **_):
    return [a.dtype for a in program.out_avals]


def sub_program_primitive(name: str, faces: Faces | None = None) -> Primitive:
    """A primitive whose meaning is its `program` param: evaluated, emitted in line and vectorised as it."""
    prim = Primitive(
        name, "*xs", None, _out_avals, dtype_rule=_out_dtypes, multiple_results=True, inline_param="program",
        impl=lambda *xs, program, **_: eval_program(program, xs), emit=_no_expression, faces=faces,
    )
    prim.expand = lambda *xs, program, **_: eval_program(program, xs)
    return prim


def _no_expression(operands, params):
    raise AssertionError("sub-program primitives are emitted in line by codegen")


def plain_jvp(prim):
    """The JVP rule of a sub-program primitive that forward mode differentiates as its program."""
    def jvp(primals, tangents, program, **_):
        which = [i for i, t in enumerate(tangents) if t is not None]  # the others are symbolic zeros

        def on_active(*active):
            xs = list(primals)
            for i, x in zip(which, active):
                xs[i] = x
            return eval_program(program, xs)

        return jvp_call(on_active, tuple(primals[i] for i in which), tuple(tangents[i] for i in which))

    return jvp


def padded(bars, primals, needed):
    """One cotangent per operand: the user's arguments' leaves, then None for captured values."""
    return masked(list(bars) + [None] * (len(primals) - len(bars)), needed)


# ---- helpers of the rules ---------------------------------------------------------------------------------
def zeros_for(values, tangents):
    """The tangents, with explicit zeros for None."""
    return [zeros(aval_of(v)) if t is None else t for v, t in zip(values, tangents)]


def avals_of(values):
    return [aval_of(v) for v in values]


def pullback_fn(program):
    """(args..., out_bars...) -> input cotangents of program (zeros where none): its VJP as a function."""
    n = len(program.inputs)

    def pullback(*args):
        return Pullback(program, list(args[:n])).input_cotangents(list(args[n:]))

    return pullback


def spread(present, flags) -> list:
    """One entry per flag: the next of present where it is set, None where not."""
    found = iter(present)
    return [next(found) if f else None for f in flags]


def chosen(values, flags) -> list:
    """The values whose flag is set (what spread spreads out again)."""
    return [v for v, f in zip(values, flags) if f]


def split(values, counts) -> list[list]:
    """values cut into consecutive groups of these sizes."""
    groups, k = [], 0
    for n in counts:
        groups.append(list(values[k:k + n]))
        k += n
    return groups
