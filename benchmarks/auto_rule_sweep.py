"""Sweep for backend="auto"'s thresholds (codegen/numba_auto.py): where Numba stops paying against NumPy.

(a) a jitted chain of k elementwise statements on (n,) arrays, each reading the one before, c of them libm
    calls (sin, exp, cos, tanh) and the rest arithmetic (+, -, *), for k = 1, 2, 4, 10 and c = 0 .. 4, and a
    13-statement chain whose calls mostly read x alone; n = 2^10 .. 2^20. Numba fuses each chain into one pass:
    the sizes at which NumPy is ahead give SMALL_ELEMENTS, and which chains pay at every size give
    ARITHMETIC_PER_CALL;
(b) the gradient of sum(tanh(a @ b)) for square n x n matrices, n^3 = 10^3 .. 10^8 multiply-adds in half
    decades: the crossover in multiply-adds of the product is BLAS_FLOPS.

Warm calls, medians of interleaved rounds (bench/timing.compare: NumPy and Numba timed side by side at each
point), one thread: BLAS through threadpoolctl, and NUMBA_NUM_THREADS, OPENBLAS_NUM_THREADS, OMP_NUM_THREADS
set to 1 unless already set. Run: `python benchmarks/auto_rule_sweep.py` (--quick: fewer, shorter rounds;
--only chains|products; --repeat N: the chain sweep N times, side by side, to see how far runs agree); needs
numba and threadpoolctl. The "auto" column is what the current rule chooses at each point.
"""

from __future__ import annotations

import os

for _variable in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # (before the libraries load)
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import dualtape as dt  # noqa: E402
import dualtape.numpy as dnp  # noqa: E402
from dualtape.bench.timing import Settings, compare, one_thread  # noqa: E402
from dualtape.codegen import numba_auto  # noqa: E402

ARITHMETIC = (lambda y, x: y * x, lambda y, x: y + 1.0, lambda y, x: y * 0.5, lambda y, x: y - x,
              lambda y, x: y * y, lambda y, x: y + x, lambda y, x: y * 0.25, lambda y, x: y - 0.5)
CALLS = (lambda y, x: dnp.sin(y), lambda y, x: dnp.exp(y), lambda y, x: dnp.cos(y), lambda y, x: dnp.tanh(y))
# (statements k, libm calls c among them): arithmetic chains of every length, then calls mixed in
CHAINS = ((1, 0), (2, 0), (4, 0), (10, 0), (2, 1), (4, 1), (10, 1), (4, 2), (10, 2), (10, 3), (10, 4))


def chain_of(k: int, calls: int):
    """k elementwise statements over the input's size, each reading the one before (Numba fuses them into one
    pass), `calls` of them libm calls (sin, exp, cos, tanh in turn) spread evenly, the rest arithmetic."""
    at = {round(i * k / calls) for i in range(calls)}
    steps, made = [], 0
    for i in range(k):
        steps.append(CALLS[made % len(CALLS)] if i in at else ARITHMETIC[(i - made) % len(ARITHMETIC)])
        made += i in at

    def chain(x):
        y = x
        for step in steps:
            y = step(y, x)
        return y

    chain.__name__ = chain.__qualname__ = f"chain{k}_{calls}"
    return chain


def independent_calls(x):
    """13 statements, 4 of them libm calls, three of those reading x alone (so a core overlaps them)."""
    y = dnp.sin(x) * dnp.cos(x)
    y = y + x * x
    y = y * dnp.exp(-x)
    y = dnp.tanh(y) + 0.5 * x
    return y * y - x


def contenders():
    """(label, statements, libm calls, function) for each chain of the sweep."""
    return [(f"k={k} c={c}", k, c, chain_of(k, c)) for k, c in CHAINS] + [("k=13 c=4*", 13, 4, independent_calls)]


def matmul_loss(a, b):
    """A product then elementwise work of the product's size."""
    return dnp.sum(dnp.tanh(a @ b))


def auto_choice(fn, args, **transform) -> str:
    """Which backend the current rule picks for this program."""
    text = dt.source(fn, *args, backend="auto", **transform)
    return "numpy" if text.startswith("# backend='auto' chose NumPy") else "numba"


def crossover(rows):
    """The smallest size from which NumPy is at least as fast as Numba at every larger size (None if never)."""
    found = None
    for size, numpy_s, numba_s in reversed(rows):
        if numpy_s > numba_s:
            break
        found = size
    return found


def numpy_ahead(runs) -> str:
    """The sizes at which NumPy was faster in every run, and by how much at most (numba / numpy)."""
    ahead = []
    for points in zip(*runs):  # (one size, as each run measured it)
        if all(numpy_s < numba_s for _, numpy_s, numba_s in points):
            ahead.append((points[0][0], max(numba_s / numpy_s for _, numpy_s, numba_s in points)))
    if not ahead:
        return "no size"
    return ", ".join(f"2^{size.bit_length() - 1}" for size, _ in ahead) + f" (up to {max(w for _, w in ahead):.2f}x)"


def sweep(label, points, make, fn, settings, grad=False, measure=lambda size: size):
    """Time fn under both backends at each point; print a table and return (size, numpy s, numba s) rows."""
    print(f"\n{label}\n| size | numpy µs | numba µs | numba / numpy | auto chooses |\n|---|---|---|---|---|")
    rows = []
    for size, args in ((size, make(size)) for size in points):
        transform = dt.grad if grad else dt.jit
        kwargs = {"argnums": 0} if grad else {}
        contenders = {name: transform(fn, backend=name, **kwargs) for name in ("numpy", "numba")}
        times = compare(contenders, args, settings)
        source_fn = (lambda *a: dt.grad(fn)(*a)) if grad else fn
        choice = auto_choice(source_fn, args)
        rows.append((measure(size), times["numpy"], times["numba"]))
        print(f"| {measure(size):,} | {times['numpy'] * 1e6:.1f} | {times['numba'] * 1e6:.1f} "
              f"| {times['numba'] / times['numpy']:.2f} | {choice} |", flush=True)
    return rows


def ratio_table(runs: list[dict]):
    """numba / numpy for each chain (rows) and size (columns), one row per run."""
    labels = list(runs[0])
    sizes = [size for size, _, _ in runs[0][labels[0]]]
    print("\nnumba / numpy, by chain (k statements, c of them libm calls; *: calls reading x alone) and size n")
    print("| chain | " + " | ".join(f"2^{size.bit_length() - 1}" for size in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for label in labels:
        for r, run in enumerate(runs):
            cells = " | ".join(f"{numba_s / numpy_s:.2f}" for _, numpy_s, numba_s in run[label])
            print(f"| {label}{f' (run {r + 1})' if len(runs) > 1 else ''} | {cells} |")


def main():
    """The sweeps, then what they say beside the current rule."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", choices=("chains", "products"), help="one sweep only")
    parser.add_argument("--repeat", type=int, default=1, help="run the chain sweep this many times")
    options = parser.parse_args()
    settings = Settings(rounds=5, target_s=0.005) if options.quick else Settings(rounds=9, target_s=0.02)
    rng = np.random.default_rng(0)
    runs, products = [], None
    with one_thread() as active:
        if active is None:
            raise SystemExit("needs threadpoolctl: pip install threadpoolctl")
        if options.only != "products":
            for r in range(options.repeat):
                runs.append({label: sweep(f"(a) jit of a chain {label} on (n,), run {r + 1}",
                                          [2**e for e in range(10, 21)], lambda n: (rng.uniform(-1, 1, n),),
                                          fn, settings) for label, _, _, fn in contenders()})
        if options.only != "chains":
            sides = [round(10 ** (k / 6)) for k in range(6, 17)]  # n^3 ~ 10^3 .. 10^8 in half decades
            products = sweep("(b) grad of sum(tanh(a @ b)), a and b n x n; size = n^3 multiply-adds", sides,
                             lambda n: (rng.standard_normal((n, n)) / n**0.5, rng.standard_normal((n, n))),
                             matmul_loss, settings, grad=True, measure=lambda n: n**3)
    if runs:
        ratio_table(runs)
        print(f"\n(a) where NumPy is ahead in every run, beside the rule (SMALL_ELEMENTS = "
              f"{numba_auto.SMALL_ELEMENTS:,}; a chain pays at any size when k - c >= "
              f"{numba_auto.ARITHMETIC_PER_CALL} c):")
        for label, k, c, _ in contenders():
            print(f"  {label}: NumPy ahead at {numpy_ahead([run[label] for run in runs])}; the rule: "
                  + ("Numba at any size" if numba_auto.chain_pays(k, c) else
                     f"NumPy above {numba_auto.SMALL_ELEMENTS:,} elements"))
    if products:
        print(f"(b) Numba stops paying at {crossover(products)} multiply-adds "
              f"(BLAS_FLOPS = {numba_auto.BLAS_FLOPS:,})")


if __name__ == "__main__":
    main()
