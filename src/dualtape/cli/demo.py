"""`dualtape demo`: a tour of the pipeline on a small model."""

from __future__ import annotations

import argparse
import textwrap
import time

import numpy as np

WIDTH = 76  # every banner line, ruler included, is this wide


def banner(title: str) -> None:
    """`== title ====...`, WIDTH columns; a longer title wraps, the ruler ending its last line."""
    lines = textwrap.wrap(title, WIDTH - 6) or [""]  # (room for "== ", " " and two "=" at least)
    lines[-1] += " " + "=" * (WIDTH - 4 - len(lines[-1]))
    print("\n" + "\n".join(("   " if i else "== ") + line for i, line in enumerate(lines)))


def best_times(fns: dict, *args, repeat: int = 7, number: int = 200) -> dict:
    """Seconds per call of each function, the best of `repeat` rounds of `number` calls. The rounds are
    interleaved (every function timed in each round), so a busy machine slows all of them alike."""
    for fn in fns.values():
        fn(*args)  # (a first call compiles)
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(number):
                fn(*args)
            best[name] = min(best[name], (time.perf_counter() - start) / number)
    return best


def speedup(t_compiled: float, t_eager: float) -> str:
    """How compiled compares with eager, in words: "2.0x faster" or "1.2x slower"."""
    if t_compiled <= t_eager:
        return f"{t_eager / t_compiled:.1f}x faster than"
    return f"{t_compiled / t_eager:.1f}x slower than"


def demo(args: argparse.Namespace) -> int:
    """A tour: trace a small model, show its IR and generated source, run it compiled and eagerly."""
    import dualtape as dt
    from dualtape.examples.mlp import example_inputs, mlp_loss

    inputs = example_inputs()

    print("dualtape demo: a 4-8-3 MLP, softmax cross-entropy loss, batch 5, float32.")
    print("Written once with dualtape.numpy (dnp), it runs eagerly on NumPy arrays, or")
    print("is traced into an IR program and emitted as plain Python source.")
    banner("1. The IR (dt.trace): one equation per line, with shapes and dtypes")
    print(dt.trace(mlp_loss)(*inputs))
    banner("2. The generated source (dt.source): what dt.jit compiles and runs")
    print(dt.source(mlp_loss, *inputs))
    banner("3. Running it: compiled (dt.jit) and eagerly (op by op)")
    fast = dt.jit(mlp_loss)
    compiled, eager = fast(*inputs), mlp_loss(*inputs)
    print(f"compiled loss = {compiled!r} ({np.asarray(compiled).dtype})")
    print(f"eager loss    = {eager!r} (same maths, op by op)")
    print(f"equal: {bool(np.allclose(compiled, eager, rtol=1e-6))}")
    t = best_times({"compiled": fast, "eager": mlp_loss}, *inputs)
    print("time per call on these small inputs (the best of 7 interleaved rounds):")
    print(f"  compiled (dt.jit runs the source above)      {t['compiled'] * 1e6:7.1f} us")
    print(f"  eager (each dnp call dispatched, then run)   {t['eager'] * 1e6:7.1f} us")
    print(f"compiled is {speedup(t['compiled'], t['eager'])} eager: here a call is mostly per-op Python")
    print("overhead, which compiling removes (large arrays spend their time in NumPy).")
    fast(*(a.astype(np.float64) for a in inputs))
    print(f"jit cache: {fast.cache_size} signatures (float32 and float64), traced {fast.trace_count} times")

    banner("4. Reverse mode (dt.grad): the adjoint program")
    print("Each gradient is named after its primal: W1_bar for W1, b1_bar for b1, ...")
    print(dt.source(dt.grad(mlp_loss, argnums=(0, 1, 2)), *inputs))
    _gradient_check(dt, mlp_loss, inputs)
    banner("5. Forward vs reverse mode: the Jacobian of tanh(W @ x)")
    _jacobian_timings(dt)
    return 0


def _gradient_check(dt, fn, inputs) -> None:
    """dt.grad against central finite differences in float64, the largest difference printed."""
    wide = tuple(a.astype(np.float64) for a in inputs)
    grads = dt.grad(fn, argnums=(0, 1, 2))(*wide)
    worst, eps = 0.0, 1e-6
    for k, g in enumerate(grads):
        for index in list(np.ndindex(g.shape))[:6]:
            up, down = [list(wide), list(wide)]
            for sign, args in ((1, up), (-1, down)):
                args[k] = args[k].copy()
                args[k][index] += sign * eps
            numeric = (fn(*up) - fn(*down)) / (2 * eps)
            worst = max(worst, abs(numeric - g[index]))
    print("gradient check against central finite differences (float64, 18 entries):\n"
          f"  max |difference| = {worst:.1e} -> {'ok' if worst < 1e-6 else 'FAILED'}")


def _jacobian_timings(dt) -> None:
    from dualtape.examples.mlp import tanh_layer

    rng = np.random.default_rng(0)
    print("  n_in  n_out   jacfwd (us)   jacrev (us)   faster")
    for n_in, n_out in ((4, 256), (64, 64), (256, 4)):
        W, x = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_in)
        fwd, rev = dt.jit(dt.jacfwd(tanh_layer, argnums=1)), dt.jit(dt.jacrev(tanh_layer, argnums=1))
        t = best_times({"fwd": fwd, "rev": rev}, W, x, number=50)
        t_fwd, t_rev = t["fwd"], t["rev"]
        faster = "forward" if t_fwd < t_rev else "reverse"
        print(f"  {n_in:4d}  {n_out:5d}   {t_fwd * 1e6:11.1f}   {t_rev * 1e6:11.1f}   {faster}")
    print("  (forward mode pushes one tangent per input, reverse mode pulls one\n"
          "  cotangent per output)")
