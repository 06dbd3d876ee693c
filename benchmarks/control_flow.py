"""Control-flow costs (issue: control flow): an Euler-integrated ODE, x <- x + 0.01 tanh(A @ x), 200 steps,
state 64, loss sum(x_T ** 2), differentiated with respect to A.

1. time(grad) / time(f), compiled, with dt.fori_loop (target <= 3);
2. compiled dt.grad vs a hand-written NumPy adjoint (target <= 1.2x);
3. first-call trace + compile time: fori_loop (one loop) vs a Python for loop (unrolled by autograph);
4. peak memory of one gradient call (tracemalloc): fori_loop's saved carries vs the unrolled trace.

Run: python benchmarks/control_flow.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
from _timing import compare, fmt_us, machine

STEPS, SIZE, DT = 200, 64, 0.01


def ode_fori(A, x0):
    x = dt.fori_loop(0, STEPS, lambda i, x: x + DT * dnp.tanh(A @ x), x0)
    return dnp.sum(x * x)


def ode_python(A, x0):
    x = x0
    for _ in range(STEPS):
        x = x + DT * dnp.tanh(A @ x)
    return dnp.sum(x * x)


def ode_grad_by_hand(A, x0):
    """The adjoint a person writes: keep each state and tanh value, then run the steps backwards."""
    xs = np.empty((STEPS, SIZE))
    ss = np.empty((STEPS, SIZE))
    x = x0
    for t in range(STEPS):
        xs[t] = x
        ss[t] = np.tanh(A @ x)
        x = x + DT * ss[t]
    g = 2 * x
    A_bar = np.zeros_like(A)
    for t in range(STEPS - 1, -1, -1):
        d = g * (DT * (1 - ss[t] * ss[t]))
        A_bar += np.outer(d, xs[t])
        g = g + A.T @ d
    return A_bar


def first_call(fn, args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def peak_bytes(fn, args) -> int:
    fn(*args)  # compiled already; measure one call
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((SIZE, SIZE)) / np.sqrt(SIZE)
    x0 = rng.standard_normal(SIZE)

    f, g_fori, g_python = dt.jit(ode_fori), dt.grad(ode_fori), dt.grad(ode_python)
    compile_fori, compile_python = first_call(g_fori, (A, x0)), first_call(g_python, (A, x0))
    np.testing.assert_allclose(g_fori(A, x0), ode_grad_by_hand(A, x0), rtol=1e-10)
    np.testing.assert_allclose(g_python(A, x0), g_fori(A, x0), rtol=1e-10)
    times = compare({"f (fori_loop)": f, "grad (fori_loop)": g_fori, "grad (Python for, unrolled)": g_python,
                     "grad (NumPy by hand)": ode_grad_by_hand}, (A, x0), 5 if args.quick else 15)
    memory = {"fori_loop": peak_bytes(g_fori, (A, x0)), "unrolled": peak_bytes(g_python, (A, x0))}
    print(f"machine: {machine()}\n")
    print("| ODE 200 steps, state 64 | time | ratio |")
    print("|---|---|---|")
    print(f"| f, compiled (fori_loop) | {fmt_us(times['f (fori_loop)'])} | 1 |")
    for name in ("grad (fori_loop)", "grad (Python for, unrolled)", "grad (NumPy by hand)"):
        print(f"| {name} | {fmt_us(times[name])} | {times[name] / times['f (fori_loop)']:.2f} x f |")
    print(f"\ncompiled grad (fori_loop) / hand-written adjoint: "
          f"{times['grad (fori_loop)'] / times['grad (NumPy by hand)']:.2f} (target <= 1.2)")
    print(f"first call (trace + compile + run): fori_loop {compile_fori * 1e3:.0f} ms, "
          f"unrolled Python loop {compile_python * 1e3:.0f} ms")
    print(f"peak memory of one gradient call: fori_loop {memory['fori_loop'] / 1024:.0f} KiB, "
          f"unrolled {memory['unrolled'] / 1024:.0f} KiB")
    results = {"machine": machine(), "times_s": times, "first_call_s": {"fori_loop": compile_fori,
               "unrolled": compile_python}, "peak_bytes": memory}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
