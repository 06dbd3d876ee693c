"""Compile-time scaling workload: trace, optimise, emit + compile and first run of straight-line programs of
1,000 to 100,000 equations (an unrolled `x = x * 1.0001 + 0.5`), and of the gradient of an unrolled sin chain.
Every stage must stay linear in the program's length: the time per equation at the largest size is compared
with the smallest, and 100,000 equations have a time budget. CPU time is shown beside wall time, since on a
shared machine the wall clock also counts other people's work."""

from __future__ import annotations

import time

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp

from ..api.staging import trace_program
from ..codegen.runtime import Compiled
from ..transforms.passes import optimize
from .result import Result, Table

FULL_SIZES, QUICK_SIZES = (1_000, 10_000, 100_000), (1_000, 10_000)
FULL_GRAD_SIZES, QUICK_GRAD_SIZES = (1_000, 10_000), (1_000,)
BUDGET_S = 20.0  # for 100,000 equations


def affine_chain(n: int):
    """x -> x * 1.0001 + 0.5, n // 2 times: a program of n equations."""

    def chain(x):
        for _ in range(n // 2):
            x = x * 1.0001 + 0.5
        return x

    return chain


def sin_chain_loss(n: int):
    """sum(x -> sin(x) * 1.0001, n // 2 times): n equations before the sum, more in its gradient."""

    def loss(x):
        for _ in range(n // 2):
            x = dnp.sin(x) * 1.0001
        return dnp.sum(x)

    return loss


def stages(fn, x) -> dict:
    """Seconds (wall, CPU) of each stage that dt.jit runs on a first call, and the program's length."""
    times = {}

    def timed(stage, step, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        out = step(*args)
        times[stage] = (time.perf_counter() - wall, time.process_time() - cpu)
        return out

    program, _ = timed("trace", trace_program, fn, (x,))
    program = timed("optimise", optimize, program)
    compiled = timed("emit + compile", Compiled, program)
    timed("first run", compiled, x)
    return {"equations": len(program.eqns), "wall_s": {k: w for k, (w, _) in times.items()},
            "cpu_s": {k: c for k, (_, c) in times.items()}}


def _rows(label: str, runs: dict) -> list[list[str]]:
    rows = []
    for n, run in runs.items():
        wall, cpu = sum(run["wall_s"].values()), sum(run["cpu_s"].values())
        rows.append([label, f"{n:,}", f"{run['equations']:,}", *(f"{s:.2f}" for s in run["wall_s"].values()),
                     f"{wall:.2f}", f"{cpu:.2f}", f"{cpu / max(run['equations'], 1) * 1e6:.0f}"])
    return rows


def compile_scaling(settings) -> Result:
    """Trace + optimise + emit + compile time against program length, 1,000 to 100,000 equations."""
    result = Result("compile_scaling", "Trace, optimise, emit and compile time against program length")
    x = np.linspace(-1.0, 1.0, 16)
    small = affine_chain(1_000)
    np.testing.assert_allclose(dt.jit(small)(x), small(x), rtol=1e-12)  # (the staged pipeline is dt.jit's)
    sizes = QUICK_SIZES if settings.quick else FULL_SIZES
    forward = {n: stages(affine_chain(n), x) for n in sizes}
    assert all(run["equations"] == n for n, run in forward.items()), {n: r["equations"] for n, r in forward.items()}
    grad_sizes = QUICK_GRAD_SIZES if settings.quick else FULL_GRAD_SIZES
    grads = {n: stages(dt.grad(sin_chain_loss(n)), x) for n in grad_sizes}
    table = Table(["program", "chain length", "equations", "trace (s)", "optimise (s)", "emit + compile (s)",
                   "first run (s)", "total wall (s)", "total CPU (s)", "CPU us per equation"],
                  title="x = x * 1.0001 + 0.5 unrolled (dt.jit), and dt.jit(dt.grad) of sum(sin(x) * 1.0001 "
                        "unrolled), x (16,)")
    table.rows = _rows("dt.jit(f)", forward) + _rows("dt.jit(dt.grad(f))", grads)
    result.tables.append(table)
    per_eqn = {n: sum(r["cpu_s"].values()) / r["equations"] for n, r in forward.items()}
    first, last = min(per_eqn), max(per_eqn)
    result.notes.append(f"CPU time per equation at {last:,} / at {first:,} equations: "
                        f"{per_eqn[last] / per_eqn[first]:.2f} (target <= 2: linear).")
    if 100_000 in forward:
        run = forward[100_000]
        result.notes.append(f"100,000 equations, trace to first result: {sum(run['cpu_s'].values()):.1f} s CPU "
                            f"(target < {BUDGET_S:.0f}), {sum(run['wall_s'].values()):.1f} s wall.")
    result.data = {"forward": forward, "grad": grads}
    result.plots.append({"name": "compile_scaling", "kind": "line", "log": True, "x": list(forward),
                         "title": "trace + optimise + emit + compile + first run", "xlabel": "equations",
                         "ylabel": "CPU seconds",
                         "series": {"dualtape dt.jit": [sum(r["cpu_s"].values()) for r in forward.values()]}})
    return result
