"""Partial evaluation: split a program's equations into those computable from known inputs and those that
wait for unknown ones, and find the residuals (known values the second part reads). Reverse mode through a
loop uses it to save, at each step of the forward loop, exactly what the adjoint loop will read."""

from __future__ import annotations

from ..core.ir import Eqn, Var


def split_by_dependence(eqns, unknown_ids) -> tuple[list[Eqn], list[Eqn]]:
    """(known, unknown) equations: an equation is unknown if it reads, directly or not, an unknown value."""
    unknown = set(unknown_ids)
    known_eqns, unknown_eqns = [], []
    for eqn in eqns:
        if any(type(a) is Var and a.id in unknown for a in eqn.inputs):
            unknown.update(v.id for v in eqn.outs)
            unknown_eqns.append(eqn)
        else:
            known_eqns.append(eqn)
    return known_eqns, unknown_eqns


def external_reads(eqns, outputs, exclude_ids=()) -> list[Var]:
    """The Vars that eqns (and the atoms in outputs) read but do not define, in first-use order."""
    defined = {v.id for e in eqns for v in e.outs} | set(exclude_ids)
    found, seen = [], set()
    for atom in [a for e in eqns for a in e.inputs] + list(outputs):
        if type(atom) is Var and atom.id not in defined and atom.id not in seen:
            seen.add(atom.id)
            found.append(atom)
    return found


def depends_on(eqns, source_ids) -> set[int]:
    """Ids of the values that depend on any of source_ids through eqns (the sources included)."""
    reached = set(source_ids)
    for eqn in eqns:
        if any(type(a) is Var and a.id in reached for a in eqn.inputs):
            reached.update(v.id for v in eqn.outs)
    return reached
