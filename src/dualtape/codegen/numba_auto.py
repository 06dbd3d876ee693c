"""backend="auto": Numba where it pays, NumPy where it does not. Numba removes NumPy's per-call dispatch (about a
microsecond per statement, per loop step), so it wins on small arrays and on loops; on large arrays both run
the same loops and BLAS, and NumPy's pairwise sums and multithreaded BLAS calls are as fast or faster, while
Numba adds a compile. The rule, measured in docs/numba.md:

- Numba when the program has a loop (while_loop, fori_loop, scan): each step is dispatch-bound;
- else NumPy when its work per statement is large: the mean array size over its statements exceeds
  SMALL_ELEMENTS, or one contraction (matmul, einsum) costs more than BLAS_FLOPS;
- else Numba. Without Numba installed, always NumPy.
"""

from __future__ import annotations

import numpy as np

from ..core.ir import Program, Var, all_eqns

# Both measured by benchmarks/auto_rule_sweep.py (one thread, 2-core x86_64; the tables are in docs/numba.md):
SMALL_ELEMENTS = 4096  # tanh(x) + 1: Numba ahead up to 4,096 elements, NumPy's vectorised tanh ahead from 8,192
BLAS_FLOPS = 10_000  # grad of tanh(a @ b): Numba ahead at 10^4 multiply-adds, NumPy from about 3 * 10^4
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
    sizes = [float(np.prod(v.aval.shape or (1,))) for e in eqns for v in e.outs if hasattr(v.aval, "shape")]
    mean = sum(sizes) / max(len(sizes), 1)
    if mean > SMALL_ELEMENTS:
        return said("numpy", f"arrays of {mean:.0f} elements per statement on average")
    return said("numba", f"small arrays ({mean:.0f} elements per statement on average)")
