"""Evaluate a Program by binding each equation, so the same walk runs on arrays (computing values), on
tracers (inlining the program into an enclosing trace, keeping its names) and on any other value kind. An
enclosing trace records each re-bound op at the user's source line where it was first written, not at the
line that called us."""

from __future__ import annotations

from ..core.ir import Program, Var
from ..core.trace import bind, set_source_line, suggest_capture_name, suggest_name


def _bind_eqn(eqn, args):
    return bind(eqn.prim, *args, **eqn.params)


def evaluate_into(program: Program, env: dict, apply=_bind_eqn) -> dict:
    """Bind the program's equations over env (Var id -> value, holding its inputs and captures), adding
    each output; `apply(eqn, args)` may replace the binding (the forward sweep of reverse mode does)."""

    def read(a):
        return env[a.id] if type(a) is Var else a.value

    previous = set_source_line(None)
    try:
        for eqn in program.eqns:
            set_source_line(eqn.where)  # an enclosing trace records the line that first wrote this op
            out = apply(eqn, [read(a) for a in eqn.inputs])
            outs = out if eqn.prim.multiple_results else (out,)
            for v, o in zip(eqn.outs, outs):
                suggest_name(o, v.hint)
                env[v.id] = o
    finally:
        set_source_line(previous)
    for v, value in program.captures:
        suggest_capture_name(value, v.hint)
    return env


def initial_env(program: Program, args) -> dict:
    if len(args) != len(program.inputs):
        raise TypeError(f"program {program.name} takes {len(program.inputs)} inputs, got {len(args)}")
    env = {v.id: a for v, a in zip(program.inputs, args)}
    for v, a in zip(program.inputs, args):
        suggest_name(a, v.hint)
    env.update((v.id, value) for v, value in program.captures)
    return env


def eval_program(program: Program, args) -> list:
    """The program's outputs for these input values (its captures supply their own values)."""
    env = evaluate_into(program, initial_env(program, args))
    return [env[a.id] if type(a) is Var else a.value for a in program.outputs]
