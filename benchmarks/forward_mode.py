"""Forward-mode costs (issue: forward mode), medians of interleaved rounds, ratios from the same run.

1. time(jvp f) / time(f) for f(x) = tanh(W @ x) and for a 784-256-10 MLP (batch 128), with jvp interpreted
   (dt.jvp on arrays, op by op) and compiled (dt.jit of the jvp function); target for compiled: <= 3.
2. Jacobians of f(x) = tanh(W @ x) for (n_in, n_out) in {(8, 512), (512, 8)}: jacfwd (one batched forward
   pass) against jacrev (one batched reverse pass); forward mode wins when inputs are few.

Run: python benchmarks/forward_mode.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import dualtape as dt
from _timing import compare, fmt_us, machine
from models import mlp_forward, mlp_init, tanh_layer


def jvp_costs(rounds: int) -> dict:
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((256, 784)) / 28).astype(np.float32)
    x = rng.standard_normal(784).astype(np.float32)
    params, xb, _ = mlp_init()
    cases = {
        "tanh(W @ x), W 256x784": (tanh_layer, (W,), x),
        "MLP 784-256-10, batch 128": (mlp_forward, (params,), xb),
    }
    results = {}
    for name, (fn, fixed, arg) in cases.items():
        f = dt.jit(lambda v, fn=fn, fixed=fixed: fn(*fixed, v))
        push = lambda v, t, fn=fn, fixed=fixed: dt.jvp(lambda u: fn(*fixed, u), (v,), (t,))  # noqa: E731
        tangent = np.ones_like(arg)
        compiled = dt.jit(push)
        np.testing.assert_allclose(compiled(arg, tangent)[1], push(arg, tangent)[1], rtol=1e-4, atol=1e-5)
        t = compare({"f (dt.jit)": lambda v, t, f=f: f(v), "jvp interpreted": push, "jvp compiled": compiled},
                    (arg, tangent), rounds)
        results[name] = t
    return results


def jacobian_costs(rounds: int) -> dict:
    rng = np.random.default_rng(1)
    results = {}
    for n_in, n_out in ((8, 512), (512, 8)):
        W = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        x = rng.standard_normal(n_in)
        # W is an argument, not a closed-over constant, so no part of the Jacobian is folded at compile time
        fwd = dt.jit(dt.jacfwd(tanh_layer, argnums=1))
        rev = dt.jit(dt.jacrev(tanh_layer, argnums=1))
        np.testing.assert_allclose(fwd(W, x), rev(W, x), rtol=1e-10, atol=1e-12)
        results[f"({n_in}, {n_out})"] = compare({"jacfwd": fwd, "jacrev": rev}, (W, x), rounds)
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 21
    jvps, jacs = jvp_costs(rounds), jacobian_costs(rounds)
    print(f"machine: {machine()}\n")
    print("| f | f (dt.jit) | jvp interpreted | ratio | jvp compiled | ratio (target <= 3) |")
    print("|---|---|---|---|---|---|")
    for name, t in jvps.items():
        f = t["f (dt.jit)"]
        print(f"| {name} | {fmt_us(f)} | {fmt_us(t['jvp interpreted'])} | {t['jvp interpreted'] / f:.2f} | "
              f"{fmt_us(t['jvp compiled'])} | {t['jvp compiled'] / f:.2f} |")
    print("\n| (n_in, n_out) of tanh(W @ x) | jacfwd (compiled) | jacrev (compiled) | jacfwd / jacrev |")
    print("|---|---|---|---|")
    for name, t in jacs.items():
        print(f"| {name} | {fmt_us(t['jacfwd'])} | {fmt_us(t['jacrev'])} | {t['jacfwd'] / t['jacrev']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "jvp": jvps, "jacobians": jacs}, f, indent=2)
    return {"jvp": jvps, "jacobians": jacs}


if __name__ == "__main__":
    main()
