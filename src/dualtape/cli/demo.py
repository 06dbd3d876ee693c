"""`dualtape demo`: a tour of the pipeline on a small model."""

from __future__ import annotations

import argparse
import time

import numpy as np


def banner(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


def _median_time(fn, *args, repeat: int = 7, number: int = 200) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        times.append((time.perf_counter() - start) / number)
    return float(np.median(times))


def demo(args: argparse.Namespace) -> int:
    """A tour: trace a small model, show its IR and generated source, run it compiled and eagerly."""
    import dualtape as dt
    from dualtape.examples.mlp import example_inputs, mlp_loss

    inputs = example_inputs()

    print("dualtape demo: a 4-8-3 MLP with a softmax cross-entropy loss, batch 5, float32.")
    print("Written once with dualtape.numpy (dnp), it runs eagerly on NumPy arrays, or is traced into an IR")
    print("program and emitted as plain Python source.")
    banner("1. The IR (dt.trace): one equation per line, with shapes and dtypes")
    print(dt.trace(mlp_loss)(*inputs))
    banner("2. The generated source (dt.source): what dt.jit compiles and runs")
    print(dt.source(mlp_loss, *inputs))
    banner("3. Running it")
    fast = dt.jit(mlp_loss)
    compiled, eager = fast(*inputs), mlp_loss(*inputs)
    print(f"compiled loss = {compiled!r} ({np.asarray(compiled).dtype})")
    print(f"eager loss    = {eager!r} (same maths, op by op)")
    print(f"equal: {bool(np.allclose(compiled, eager, rtol=1e-6))}")
    t_fast, t_eager = _median_time(fast, *inputs), _median_time(mlp_loss, *inputs)
    print(f"time per call: compiled {t_fast * 1e6:.1f} us, eager {t_eager * 1e6:.1f} us "
          f"({t_eager / t_fast:.1f}x)")
    fast(*(a.astype(np.float64) for a in inputs))
    print(f"jit cache: {fast.cache_size} signatures (float32 and float64), traced {fast.trace_count} times")

    banner("4. Reverse mode (dt.grad): the adjoint program, gradients named after their primals")
    print(dt.source(dt.grad(mlp_loss, argnums=(0, 1, 2)), *inputs))
    _gradient_check(dt, mlp_loss, inputs)
    banner("5. Forward vs reverse mode: Jacobian of tanh(W @ x) by jacfwd and by jacrev")
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
    print(f"gradient check against central finite differences (float64, 18 entries): "
          f"max |difference| = {worst:.1e} -> {'ok' if worst < 1e-6 else 'FAILED'}")


def _jacobian_timings(dt) -> None:
    from dualtape.examples.mlp import tanh_layer

    rng = np.random.default_rng(0)
    print("  n_in  n_out   jacfwd (us)   jacrev (us)   faster")
    for n_in, n_out in ((4, 256), (64, 64), (256, 4)):
        W, x = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_in)
        fwd, rev = dt.jit(dt.jacfwd(tanh_layer, argnums=1)), dt.jit(dt.jacrev(tanh_layer, argnums=1))
        t_fwd, t_rev = _median_time(fwd, W, x, number=50), _median_time(rev, W, x, number=50)
        faster = "forward" if t_fwd < t_rev else "reverse"
        print(f"  {n_in:4d}  {n_out:5d}   {t_fwd * 1e6:11.1f}   {t_rev * 1e6:11.1f}   {faster}")
    print("  (forward mode pushes one tangent per input, reverse mode pulls one cotangent per output)")
