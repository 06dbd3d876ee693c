"""Control-flow workload: an Euler-integrated ODE, x <- x + 0.01 tanh(A @ x), 200 steps, state 64, loss
sum(x_T ** 2), differentiated with respect to A.

1. time(grad) / time(f), compiled, with dt.fori_loop (target <= 3);
2. compiled dt.grad vs a hand-written NumPy adjoint (target <= 1.2x);
3. first-call trace + compile time: fori_loop (one loop) vs a Python for loop (unrolled by autograph);
4. peak memory of one gradient call (tracemalloc): fori_loop's saved carries vs the unrolled trace.
"""

from __future__ import annotations

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp

from . import peers
from .result import Result, Table, ms, ratio, us
from .timing import compare, first_call, peak_bytes

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


def _peer_contenders(A, x0, settings) -> dict:
    """The same loop and gradient in JAX (jit, lax.fori_loop) and PyTorch (eager, backward)."""
    found = {}
    jax = peers.load("jax", settings)
    if jax is not None:
        jnp = jax.numpy

        def ode_jax(A, x0):
            x = jax.lax.fori_loop(0, STEPS, lambda i, x: x + DT * jnp.tanh(A @ x), x0)
            return jnp.sum(x * x)

        args = (jnp.asarray(A), jnp.asarray(x0))
        found["f (JAX jit, lax.fori_loop)"] = (peers.jax_timed(jax, jax.jit(ode_jax)), args)
        found["grad (JAX jit)"] = (peers.jax_timed(jax, jax.jit(jax.grad(ode_jax))), args)
    torch = peers.load("torch", settings)
    if torch is not None:
        def ode_torch_grad(A, x0):
            A = A.detach().requires_grad_()
            x = x0
            for _ in range(STEPS):
                x = x + DT * torch.tanh(A @ x)
            return torch.autograd.grad((x * x).sum(), A)[0]

        found["grad (PyTorch eager)"] = (ode_torch_grad, (torch.from_numpy(A), torch.from_numpy(x0)))
    return found


def ode_loop(settings) -> Result:
    """Euler ODE, 200 steps, state 64: grad/f, vs a hand-written adjoint, compile time and tape memory."""
    result = Result("ode_loop", "ODE loop: Euler, 200 steps, state 64, gradient w.r.t. A (float64)")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((SIZE, SIZE)) / np.sqrt(SIZE)
    x0 = rng.standard_normal(SIZE)

    f, g_fori, g_python = dt.jit(ode_fori), dt.grad(ode_fori), dt.grad(ode_python)
    compile_fori, compile_python = first_call(g_fori, (A, x0)), first_call(g_python, (A, x0))
    expected = ode_grad_by_hand(A, x0)
    np.testing.assert_allclose(g_fori(A, x0), expected, rtol=1e-10)
    np.testing.assert_allclose(g_python(A, x0), g_fori(A, x0), rtol=1e-10)
    contenders = {"f (fori_loop)": f, "grad (fori_loop)": g_fori, "grad (Python for, unrolled)": g_python,
                  "grad (NumPy by hand)": ode_grad_by_hand}
    for name, (fn, args) in _peer_contenders(A, x0, settings).items():
        if name.startswith("grad"):
            np.testing.assert_allclose(np.asarray(fn(*args)), expected, rtol=1e-8)
        contenders[name] = (fn, args)
    times = compare(contenders, (A, x0), settings)
    memory = {"fori_loop": peak_bytes(g_fori, (A, x0)), "unrolled": peak_bytes(g_python, (A, x0))}

    base = times["f (fori_loop)"]
    table = Table(["", "time", "vs f (fori_loop)", "vs NumPy adjoint by hand"])
    hand = times["grad (NumPy by hand)"]
    table.rows = [[name, us(t), ratio(t, base), ratio(t, hand)] for name, t in times.items()]
    result.tables.append(table)
    once = Table(["", "first call (trace + compile + run)", "peak memory of one gradient call"],
                 title="Compile time and tape memory: one loop primitive vs the loop unrolled")
    once.rows = [["fori_loop", ms(compile_fori), f"{memory['fori_loop'] / 1024:.0f} KiB"],
                 ["Python for, unrolled by tracing", ms(compile_python), f"{memory['unrolled'] / 1024:.0f} KiB"]]
    result.tables.append(once)
    result.notes.append(f"grad/f (fori_loop): {times['grad (fori_loop)'] / base:.2f} (target <= 3); compiled "
                        f"grad / hand-written adjoint: {times['grad (fori_loop)'] / hand:.2f} (target <= 1.2).")
    result.grad_over_f["ODE loop, 200 steps"] = {"dualtape dt.jit / dt.grad": times["grad (fori_loop)"] / base}
    if "grad (JAX jit)" in times:
        result.grad_over_f["ODE loop, 200 steps"]["JAX jit"] = (times["grad (JAX jit)"]
                                                                / times["f (JAX jit, lax.fori_loop)"])
    result.data = {"times_s": times, "first_call_s": {"fori_loop": compile_fori, "unrolled": compile_python},
                   "peak_bytes": memory}
    return result
