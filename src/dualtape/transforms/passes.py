"""Program -> Program optimisation passes. Each pass returns a new Program with the same inputs, captures
and output meaning; `optimize` runs them all (switched off by `dt.config.optimize = False`)."""

from __future__ import annotations

from ..core.ir import Eqn, Program, Var, sub_programs
from .after_cse import after_cse
from .hoist import hoist_outer_products
from .simplify import simplify


def dce(program: Program) -> Program:
    """Dead-code elimination: drop equations whose outputs nothing uses, and captures nothing reads."""
    live = {a.id for a in program.outputs if type(a) is Var}
    kept = []
    for eqn in reversed(program.eqns):
        if any(v.id in live for v in eqn.outs):
            kept.append(eqn)
            live.update(a.id for a in eqn.inputs if type(a) is Var)
            for p in sub_programs(eqn.params):
                live.update(v.id for v, _ in p.captures)
    captures = [(v, val) for v, val in program.captures if v.id in live]
    return Program(program.inputs, reversed(kept), program.outputs, captures, program.name)


def _atom_key(a, rename):
    if type(a) is Var:
        return ("v", rename.get(a.id, a).id)
    return ("l", type(a.value), repr(a.value), a.aval.dtype)


def cse(program: Program) -> Program:
    """Common-subexpression elimination: one equation per (primitive, operands, params); the operands of a
    commutative primitive in either order (`g * x` and `x * g`, as a product rule writes them) are one."""
    rename: dict[int, Var] = {}
    seen: dict = {}
    eqns = []
    for eqn in program.eqns:
        inputs = [rename.get(a.id, a) if type(a) is Var else a for a in eqn.inputs]
        try:
            operands = [_atom_key(a, rename) for a in inputs]
            if eqn.prim.facts.commutative:
                operands.sort(key=repr)
            key = (eqn.prim, tuple(operands), tuple(sorted(eqn.params.items())))
            hash(key)
        except TypeError:  # unhashable params (sub-programs): keep as is
            key = None
        if key is not None and key in seen:
            for old, new in zip(eqn.outs, seen[key].outs):
                rename[old.id] = new
                if new.hint is None:
                    new.hint = old.hint
            continue
        new_eqn = Eqn(eqn.prim, inputs, eqn.params, eqn.outs, eqn.where)
        if key is not None:
            seen[key] = new_eqn
        eqns.append(new_eqn)
    outputs = [rename.get(a.id, a) if type(a) is Var else a for a in program.outputs]
    return Program(program.inputs, eqns, outputs, program.captures, program.name)


def optimize(program: Program, exact: bool = False) -> Program:
    """Fold and simplify, merge common subexpressions, apply the rewrites that count readers (after_cse), then
    drop what is dead; sub-programs (branches, loop bodies) too, keeping their inputs and outputs; then sums of
    outer products in loops become one GEMM. With `exact` (dt.compile: bit for bit eager's numbers), no rewrite
    that rounds in another order: no reordered matrix product, no trace, no hoisting."""
    program = dce(after_cse(cse(simplify(program, exact)), exact))
    eqns = [Eqn(e.prim, e.inputs, {k: _optimize_param(p, exact) for k, p in e.params.items()}, e.outs, e.where)
            if sub_programs(e.params) else e for e in program.eqns]
    program = Program(program.inputs, eqns, program.outputs, program.captures, program.name)
    hoisted = program if exact else hoist_outer_products(program)
    return program if hoisted is program else dce(simplify(hoisted))


def _optimize_param(param, exact: bool):
    if isinstance(param, Program):
        return optimize(param, exact)
    if isinstance(param, tuple) and sub_programs({"p": param}):
        return tuple(optimize(p, exact) if isinstance(p, Program) else p for p in param)
    return param
