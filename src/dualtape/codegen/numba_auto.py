"""backend="auto": Numba where it pays, NumPy where it does not. Numba removes NumPy's per-call dispatch (about a
microsecond per statement, per loop step), so it wins on small arrays and on loops; on large arrays it still
wins where it fuses a chain of arithmetic statements into one pass (NumPy makes one pass over memory per
statement), while a lone statement or a libm call (exp, sin, tanh) costs the same or more in Numba's scalar
loop, and NumPy's multithreaded BLAS calls are as fast or faster. The rule, measured in docs/numba.md:

- Numba when the program has a loop (while_loop, fori_loop, scan): each step is dispatch-bound;
- else NumPy when one contraction (matmul, einsum) costs more than BLAS_FLOPS multiply-adds;
- else NumPy when the mean array size over its statements exceeds SMALL_ELEMENTS, leaving out the statements
  of fused chains that pay at any size: a chain of k statements, c of them libm calls (rows with Facts.libm), pays when
  k - c >= ARITHMETIC_PER_CALL * c (so any chain of arithmetic alone, or a long one with few calls);
- else Numba. Without Numba installed, always NumPy.
"""

from __future__ import annotations

import numpy as np

from ..core.ir import Namer, Program, Var, all_eqns, sub_programs

# Measured by benchmarks/auto_rule_sweep.py (one thread, 2-core x86_64; the tables are in docs/numba.md):
SMALL_ELEMENTS = 4096  # tanh(x) + 1: Numba ahead up to 4,096 elements, NumPy's tanh loop ahead from 8,192
BLAS_FLOPS = 10_000  # grad of tanh(a @ b): Numba ahead at 10^4 multiply-adds, NumPy from about 3 * 10^4
ARITHMETIC_PER_CALL = 2  # a fused chain pays at any size with at least this many arithmetic statements per call
LOOPS = {"while_loop", "while_loop_tape", "while_loop_adjoint", "scan"}
CONTRACTIONS = {"matmul", "einsum"}


def _flops(eqn) -> float:
    """Multiply-adds of a contraction: the result's size times the contracted length."""
    operands = [a.aval for a in eqn.inputs if type(a) is Var]
    out = eqn.outs[0].aval
    if eqn.prim.name == "matmul" and operands:
        return float(np.prod(out.shape or (1,))) * (operands[0].shape[-1] if operands[0].shape else 1)
    size = max((float(np.prod(a.shape or (1,))) for a in operands), default=1.0)
    return size * float(np.prod(out.shape or (1,))) ** 0.5


def chain_pays(statements: int, calls: int) -> bool:
    """Whether a fused chain of this many statements, `calls` of them libm calls, keeps paying on Numba at any
    array size (one pass instead of one per arithmetic statement; the calls cost Numba as much or more)."""
    return statements >= 2 and statements - calls >= ARITHMETIC_PER_CALL * calls


def paying_chains(program: Program) -> set[int]:
    """Ids of the statements, in the program and its sub-programs, that Numba fuses into chains that pay at any
    size (the chains codegen/numba_lower.py writes: numba_fuse.find_chains after sink_into_chains)."""
    from .numba_fuse import find_chains, sink_into_chains
    from .numba_lower import NumbaEmitter, lower

    scratch = NumbaEmitter(Namer(set()), False, frozenset())
    skip = lambda e: lower(scratch, e) is None  # (a statement written otherwise, e.g. in object mode)
    found: set[int] = set()

    def walk(block: Program) -> None:
        block = sink_into_chains(block, frozenset(), skip)
        for chain in find_chains(block, frozenset(), skip):
            if chain_pays(len(chain.eqns), sum(e.prim.facts.libm for e in chain.eqns)):
                found.update(id(e) for e in chain.eqns)
        for eqn in block.eqns:
            for sub in sub_programs(eqn.params):
                walk(sub)

    walk(program)
    return found


def choose(program: Program, explain: bool = False) -> str:
    """"numba" or "numpy" for this program (with explain, the reason after the name)."""
    from .numba_runtime import numba_available, whole_program_problem

    def said(name: str, why: str) -> str:
        return f"{name}: {why}" if explain else name

    if not numba_available():
        return said("numpy", "Numba is not installed")
    problem = whole_program_problem(program)
    if problem is not None:
        return said("numpy", f"Numba cannot take {problem}")
    eqns = list(all_eqns(program))
    if any(e.prim.name in LOOPS for e in eqns):
        return said("numba", "the program loops")
    costly = [e for e in eqns if e.prim.name in CONTRACTIONS and _flops(e) > BLAS_FLOPS]
    if costly:
        return said("numpy", f"{costly[0].prim.name} of {_flops(costly[0]):.3g} flops is BLAS-bound")
    fused = paying_chains(program)
    sizes = [float(np.prod(v.aval.shape or (1,))) for e in eqns if id(e) not in fused
             for v in e.outs if hasattr(v.aval, "shape")]
    mean = sum(sizes) / max(len(sizes), 1)
    if mean > SMALL_ELEMENTS:
        outside = f" outside {len(fused)} statement(s) of fused chains that pay" if fused else ""
        return said("numpy", f"arrays of {mean:.0f} elements per statement on average{outside}")
    if fused:
        return said("numba", f"{len(fused)} statement(s) in fused chains that pay at any size, the others "
                             f"{mean:.0f} elements on average")
    return said("numba", f"small arrays ({mean:.0f} elements per statement on average)")
