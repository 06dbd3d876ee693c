"""Eager per-op cost (issue: eager tensors): a chain of 100 elementwise ops (25 rounds of sin, *1.0001,
+0.1, tanh) on a (16,) tensor, then backward, in microseconds per op; beside PyTorch eager CPU when it is
installed, dt.jit of the same function (compiled gradient), and NumPy with a hand-written backward.

Run: python benchmarks/eager.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _timing import compare, machine

import dualtape as dt
import dualtape.numpy as dnp

ROUNDS, N_OPS = 25, 100


def chain_eager(x0):
    x = dt.tensor(x0, requires_grad=True)
    y = x
    for _ in range(ROUNDS):
        y = dt.tanh(dt.sin(y) * 1.0001 + 0.1)
    y.sum().backward()
    return x.grad


def chain_dnp(x):
    for _ in range(ROUNDS):
        x = dnp.tanh(dnp.sin(x) * 1.0001 + 0.1)
    return dnp.sum(x)


def chain_numpy_by_hand(x0):
    """Forward keeping what backward needs, then the backward written out."""
    saved = []
    x = x0
    for _ in range(ROUNDS):
        s = np.sin(x)
        t = np.tanh(s * 1.0001 + 0.1)
        saved.append((x, t))
        x = t
    g = np.ones_like(x0)
    for x, t in reversed(saved):
        g = g * (1 - t * t) * 1.0001 * np.cos(x)
    return g


def chain_torch(x0):
    import torch

    x = torch.tensor(x0, requires_grad=True)
    y = x
    for _ in range(ROUNDS):
        y = torch.tanh(torch.sin(y) * 1.0001 + 0.1)
    y.sum().backward()
    return x.grad


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    x0 = np.linspace(-1.0, 1.0, 16)
    reference = chain_numpy_by_hand(x0)
    np.testing.assert_allclose(chain_eager(x0).numpy(), reference, rtol=1e-12)
    contenders = {"dualtape eager": chain_eager, "dt.grad (compiled)": dt.grad(chain_dnp),
                  "NumPy, backward by hand": chain_numpy_by_hand}
    try:
        import torch  # noqa: F401

        np.testing.assert_allclose(chain_torch(x0).numpy(), reference, rtol=1e-12)
        contenders["PyTorch eager"] = chain_torch
    except ImportError:
        pass
    np.testing.assert_allclose(contenders["dt.grad (compiled)"](x0), reference, rtol=1e-12)
    times = compare(contenders, (x0,), 5 if args.quick else 15)
    base = times["NumPy, backward by hand"]
    print(f"machine: {machine()}\n")
    print("| 100 elementwise ops + backward, (16,) float64 | us per op | vs NumPy by hand |")
    print("|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t * 1e6 / N_OPS:.2f} | {t / base:.2f}x |")
    if "PyTorch eager" not in times:
        print("(PyTorch not installed: pip install torch==2.13.0 to compare)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "times_s": times}, f, indent=2)
    return times


if __name__ == "__main__":
    main()
