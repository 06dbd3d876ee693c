"""Reverse-mode costs (issue: reverse mode), medians of interleaved rounds, ratios from the same run.

1. time(grad f) / time(f), compiled, for the MLP loss and for sum(sin(x)cos(x) + x^2 e^-x) (target <= 3).
2. Compiled dt.grad vs a hand-written NumPy gradient of a 784-256-10 MLP with softmax cross-entropy, batch 128,
   float32 (target <= 1.10x).
3. The tiny function (x of shape (8,)): compiled dt.grad vs the hand-written NumPy gradient (target <= 1.5x).

Run: python benchmarks/reverse_mode.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import dualtape as dt
from _timing import compare, fmt_us, machine
from models import mlp_grad_numpy, mlp_init, mlp_loss, mlp_loss_numpy, tiny, tiny_grad_numpy, tiny_numpy


def check_close(a, b, rtol):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-6)


def run(rounds: int) -> dict:
    params, x, y = mlp_init()
    loss, grad = dt.jit(mlp_loss), dt.grad(mlp_loss)
    check_close(grad(params, x, y), mlp_grad_numpy(params, x, y), 2e-3)
    mlp = compare({
        "f (dt.jit)": loss, "grad f (dt.grad)": grad, "f (NumPy by hand)": mlp_loss_numpy,
        "grad f (NumPy by hand)": mlp_grad_numpy,
    }, (params, x, y), rounds)

    small = np.linspace(-1.0, 1.0, 8)
    t_loss, t_grad = dt.jit(tiny), dt.grad(tiny)
    np.testing.assert_allclose(t_grad(small), tiny_grad_numpy(small), rtol=1e-12)
    tiny_times = compare({
        "f (dt.jit)": t_loss, "grad f (dt.grad)": t_grad, "f (NumPy by hand)": tiny_numpy,
        "grad f (NumPy by hand)": tiny_grad_numpy,
    }, (small,), rounds)

    big = np.linspace(-1.0, 1.0, 100_000)
    big_times = compare({"f (dt.jit)": t_loss, "grad f (dt.grad)": t_grad}, (big,), rounds)
    return {"mlp": mlp, "tiny (8,)": tiny_times, "elementwise (100000,)": big_times}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = run(5 if args.quick else 21)
    print(f"machine: {machine()}\n")
    print("| workload | f (dt.jit) | grad f (dt.grad) | grad/f (target <= 3) | hand-written grad | "
          "dt.grad / hand (target) |")
    print("|---|---|---|---|---|---|")
    targets = {"mlp": "1.10", "tiny (8,)": "1.5", "elementwise (100000,)": ""}
    for name, t in results.items():
        hand = t.get("grad f (NumPy by hand)")
        vs_hand = f"{t['grad f (dt.grad)'] / hand:.2f} (<= {targets[name]})" if hand else "-"
        print(f"| {name} | {fmt_us(t['f (dt.jit)'])} | {fmt_us(t['grad f (dt.grad)'])} | "
              f"{t['grad f (dt.grad)'] / t['f (dt.jit)']:.2f} | {fmt_us(hand) if hand else '-'} | {vs_hand} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), **results}, f, indent=2)
    return results


if __name__ == "__main__":
    main()
