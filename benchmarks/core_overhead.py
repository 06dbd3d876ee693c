"""Core pipeline costs (issue: core pipeline).

1. Compiled-call overhead: a jitted 50-op elementwise function on a (16,) array against the same 50 NumPy
   calls written by hand (target: ratio <= 1.2).
2. Trace + optimise + compile time of a 1,000-equation program (target: < 0.5 s).

Run: python benchmarks/core_overhead.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
from _timing import compare, fmt_us, machine


def chain50(x):
    """50 elementwise ops: 12 rounds of sin, *1.0001, +0.1, tanh, then sin and a scale."""
    for _ in range(12):
        x = dnp.sin(x)
        x = x * 1.0001
        x = x + 0.1
        x = dnp.tanh(x)
    x = dnp.sin(x)
    return x * 1.0001


def chain50_by_hand(x):
    """The same 50 NumPy calls, written out as a person would (straight-line code)."""
    a = np.sin(x); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a); a = a * 1.0001; a = a + 0.1; a = np.tanh(a)  # noqa: E702
    a = np.sin(a)
    return a * 1.0001


def chain1000(x):
    for _ in range(250):
        x = dnp.tanh(dnp.sin(x) * 1.0001 + 0.1)
    return x


def call_overhead(rounds: int) -> dict:
    x = np.linspace(-1.0, 1.0, 16)
    compiled = dt.jit(chain50)
    assert len(compiled.program(x).eqns) == 50
    np.testing.assert_allclose(compiled(x), chain50_by_hand(x), rtol=1e-14)
    times = compare({"dt.jit": compiled, "NumPy by hand": chain50_by_hand, "dnp eager": chain50}, (x,), rounds)
    return {"times_s": times, "ratio_jit_vs_hand": times["dt.jit"] / times["NumPy by hand"]}


def trace_compile(repeats: int) -> dict:
    x = np.linspace(-1.0, 1.0, 16)
    times = []
    for _ in range(repeats):
        fn = dt.jit(chain1000)  # a fresh cache each time
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    n_eqns = len(fn.program(x).eqns)
    assert n_eqns == 1000, n_eqns
    return {"median_s": statistics.median(times), "equations": n_eqns}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    overhead = call_overhead(5 if args.quick else 21)
    build = trace_compile(3 if args.quick else 7)
    t = overhead["times_s"]
    print(f"machine: {machine()}")
    print("\n| workload | dt.jit | NumPy by hand | dnp eager | jit / hand (target <= 1.2) |")
    print("|---|---|---|---|---|")
    print(f"| 50 elementwise ops on (16,) | {fmt_us(t['dt.jit'])} | {fmt_us(t['NumPy by hand'])} | "
          f"{fmt_us(t['dnp eager'])} | {overhead['ratio_jit_vs_hand']:.3f} |")
    print(f"\ntrace + optimise + compile, {build['equations']} equations: {build['median_s'] * 1e3:.1f} ms "
          f"(target < 500 ms)")
    results = {"machine": machine(), "call_overhead": overhead, "trace_compile": build}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
