"""Elementwise chains fused into one loop nest for backend="numba": consecutive elementwise statements of one
block whose results share a static shape become one pass over the elements, each statement a line on named
scalars; only the values read after the chain are written to arrays. No temporaries are allocated, and Numba
compiles a few scalar lines instead of an array expression (a loop nest of its own) per statement.

    # fused: tanh, mul, add (3 statements, one pass over (64,))
    e = xp.empty((64,), dtype=xp.float64)
    for i in range(64):
        d_1 = xp.tanh(d[i])
        f = 0.01 * d_1
        e[i] = a[i] + f

A fusable statement is first moved down to just before its first reader when that reader is fusable and of its
shape (sink_into_chains), so statements a product apart in the program still share one pass.

Operands of lower rank or with length-1 axes are read broadcast (index 0 on those axes); 0-d operands are
scalars already. Only float and bool values are fused (Numba's scalar integer arithmetic widens to int64,
NumPy's does not). A fused statement Numba cannot type is taken out of the chain and the kernel compiled again
(codegen/numba_runtime.py).
"""

from __future__ import annotations

import ast
from typing import NamedTuple

import numpy as np

from ..core.ir import Program, Var

SCALAR_UNSAFE = {"round", "sinc", "floor_divide", "mod", "heaviside"}  # (no scalar form, or another scalar rule)


class Chain(NamedTuple):
    """Consecutive elementwise statements of one block, computed in one loop nest over `shape`."""

    eqns: list
    shape: tuple
    stored: set  # ids of the Vars read after the chain (written to arrays)


def _fusable(eqn, unfused: frozenset) -> bool:
    prim = eqn.prim
    if not prim.elementwise or prim.template == "x" or prim.name in SCALAR_UNSAFE or id(eqn) in unfused:
        return False
    if len(eqn.outs) != 1 or eqn.outs[0].aval.shape == ():
        return False
    out = eqn.outs[0].aval
    values = [out] + [a.aval for a in eqn.inputs if type(a) is Var]
    if any(v.dtype.kind not in "fb" for v in values):
        return False
    return all(len(v.shape) <= len(out.shape) and all(d in (1, n) for d, n in zip(v.shape[::-1], out.shape[::-1]))
               for v in values[1:])


def sink_into_chains(program: Program, unfused: frozenset, skip) -> Program:
    """The block with each fusable statement moved down to just before its first reader when that reader is a
    fusable statement of the same result shape, so that the two are consecutive and fuse (the while_loop
    adjoint's `A_bar_1 = o * x` ... `r = A_bar + A_bar_1`, a product apart: one pass, no 64x64 temporary).
    Statements are pure and a statement's inputs are all defined before it, so a later place is as good."""
    eqns = list(program.eqns)
    fusable = {id(e) for e in eqns if _fusable(e, unfused) and not skip(e)}
    ok = lambda e: id(e) in fusable
    moved = False
    for k in range(len(eqns) - 1, -1, -1):
        eqn = eqns[k]
        if not ok(eqn):
            continue
        made = {v.id for v in eqn.outs}
        first = next((j for j in range(k + 1, len(eqns)) if any(type(a) is Var and a.id in made
                                                               for a in eqns[j].inputs)), None)
        if first is None or first == k + 1 or not ok(eqns[first]) or (
                eqns[first].outs[0].aval.shape != eqn.outs[0].aval.shape):
            continue
        eqns.insert(first - 1, eqns.pop(k))
        moved = True
    if not moved:
        return program
    return Program(program.inputs, eqns, program.outputs, program.captures, program.name)


def find_chains(program: Program, unfused: frozenset, skip) -> list[Chain]:
    """The runs of two or more consecutive fusable statements with one result shape (skip(eqn): a statement
    written otherwise, e.g. in object mode)."""
    reads: dict[int, list[int]] = {}
    for k, eqn in enumerate(program.eqns):
        for a in eqn.inputs:
            if type(a) is Var:
                reads.setdefault(a.id, []).append(k)
    outputs = {a.id for a in program.outputs if type(a) is Var}
    chains, run = [], []

    def close():
        if len(run) >= 2:
            last = run[-1][0]
            stored = {v.id for _, e in run for v in e.outs if v.id in outputs or max(reads.get(v.id, [0])) > last}
            chains.append(Chain([e for _, e in run], run[0][1].outs[0].aval.shape, stored))
        run.clear()

    for k, eqn in enumerate(program.eqns):
        ok = _fusable(eqn, unfused) and not skip(eqn)
        if not ok or (run and eqn.outs[0].aval.shape != run[0][1].outs[0].aval.shape):
            close()
        if ok:
            run.append((k, eqn))
    close()
    return chains


def _dtype(dtype) -> str:
    return "xp.bool_" if dtype == np.bool_ else f"xp.{np.dtype(dtype).name}"


def emit_chain(em, chain: Chain, indent: str, lower_scalar) -> None:
    """Write the chain as one loop nest (em: the NumbaEmitter; lower_scalar(em, eqn, atom): a statement's
    expression on scalar operands)."""
    namer = em.namer
    made = {v.id for e in chain.eqns for v in e.outs}
    outside = {a.id: namer(a) for e in chain.eqns for a in e.inputs if type(a) is Var and a.id not in made}
    taken = set(outside.values())
    for eqn in chain.eqns:  # (a name reused from a dying operand would be read after it is overwritten)
        v = eqn.outs[0]
        if namer.names.get(v.id) in taken:
            del namer.names[v.id]
        taken.add(namer(v))
    index = [namer._fresh("i") for _ in chain.shape]
    names = ", ".join(e.prim.name for e in chain.eqns)
    em.lines.append(f"{indent}# fused: {names} ({len(chain.eqns)} statements, one pass over {chain.shape})")
    for eqn in chain.eqns:
        v = eqn.outs[0]
        state = em.in_place.get(id(eqn))  # (a loop's state, whose memory this result takes: numba_carry.py)
        if state is not None:
            em.lines.append(f"{indent}{namer(v)} = {namer(state)}  # (in place)")
        elif v.id in chain.stored:
            em.lines.append(f"{indent}{namer(v)} = xp.empty({chain.shape}, dtype={_dtype(v.aval.dtype)})")
    inner = indent
    for i, n in zip(index, chain.shape):
        em.lines.append(f"{inner}for {i} in range({n}):")
        inner += "    "

    def element(a) -> ast.expr:
        if type(a) is not Var or a.aval.shape == () or (a.id in made and a.id not in chain.stored):
            return em.atom(a)
        axes = index[len(index) - len(a.aval.shape):]
        at = ", ".join(i if d != 1 or n == 1 else "0" for i, d, n in zip(axes, a.aval.shape,
                                                                          chain.shape[len(index) - len(axes):]))
        return ast.parse(f"{namer(a)}[{at}]", mode="eval").body

    at = ", ".join(index)
    for eqn in chain.eqns:
        v = eqn.outs[0]
        em.line_eqns[len(em.lines)] = eqn
        target = f"{namer(v)}[{at}]" if v.id in chain.stored else namer(v)
        em.lines.append(f"{inner}{target} = {lower_scalar(em, eqn, element)}")
