"""Sweep for backend="auto"'s thresholds (codegen/numba_auto.py): where Numba stops paying against NumPy.

(a) a jitted chain of 10 elementwise ops on (n,) arrays, n = 2^4 .. 2^20, and a chain of 2 (tanh(x) + 1):
    the crossover in elements per statement is SMALL_ELEMENTS;
(b) the gradient of sum(tanh(a @ b)) for square n x n matrices, n^3 = 10^3 .. 10^8 multiply-adds in half
    decades: the crossover in multiply-adds of the product is BLAS_FLOPS.

Warm calls, medians of interleaved rounds (bench/timing.compare), BLAS at one thread (threadpoolctl) and
NUMBA_NUM_THREADS=1. Run: `python benchmarks/auto_rule_sweep.py` (add --quick for fewer rounds); needs numba
and threadpoolctl. The "auto" column is what the current rule chooses at each point.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # (before Numba is imported)

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import dualtape as dt  # noqa: E402
import dualtape.numpy as dnp  # noqa: E402
from dualtape.bench.timing import Settings, compare, one_thread  # noqa: E402
from dualtape.codegen import numba_auto  # noqa: E402


def chain(x):
    """Ten elementwise ops: every statement has the input's size."""
    y = dnp.sin(x) * dnp.cos(x)
    y = y + x * x
    y = y * dnp.exp(-x)
    y = dnp.tanh(y) + 0.5 * x
    return y * y - x


def short_chain(x):
    """Two elementwise ops: little to fuse, so NumPy's vectorised tanh is up against Numba's scalar loop."""
    return dnp.tanh(x) + 1.0


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


def main():
    """Both sweeps, then the crossovers beside the current constants."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    quick = parser.parse_args().quick
    settings = Settings(rounds=5, target_s=0.005) if quick else Settings(rounds=9, target_s=0.02)
    rng = np.random.default_rng(0)
    with one_thread() as active:
        if active is None:
            raise SystemExit("needs threadpoolctl: pip install threadpoolctl")
        elementwise = sweep("(a) jit of a 10-op elementwise chain on (n,)", [2**k for k in range(4, 21)],
                            lambda n: (rng.uniform(-1, 1, n),), chain, settings)
        short = sweep("(a) jit of tanh(x) + 1 on (n,)", [2**k for k in range(4, 21)],
                      lambda n: (rng.uniform(-1, 1, n),), short_chain, settings)
        sides = [round(10 ** (k / 6)) for k in range(6, 17)]  # n^3 ~ 10^3 .. 10^8 in half decades
        products = sweep("(b) grad of sum(tanh(a @ b)), a and b n x n; size = n^3 multiply-adds", sides,
                         lambda n: (rng.standard_normal((n, n)) / n**0.5, rng.standard_normal((n, n))),
                         matmul_loss, settings, grad=True, measure=lambda n: n**3)
    print(f"\n(a) Numba stops paying at {crossover(elementwise)} elements per statement for the 10-op chain, "
          f"{crossover(short)} for tanh(x) + 1 (SMALL_ELEMENTS = {numba_auto.SMALL_ELEMENTS:,})")
    print(f"(b) Numba stops paying at {crossover(products)} multiply-adds "
          f"(BLAS_FLOPS = {numba_auto.BLAS_FLOPS:,})")


if __name__ == "__main__":
    main()
