"""Workloads of the core pipeline's fixed costs: calling a compiled function on tiny arrays (against the same
NumPy calls written by hand) and tracing + compiling a long program."""

from __future__ import annotations

import statistics
import time

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp

from . import peers
from .models import tiny, tiny_grad_numpy, tiny_numpy
from .result import Result, Table, ms, ratio, us
from .timing import compare


def chain50(x, xp=dnp):
    """50 elementwise ops: 12 rounds of sin, *1.0001, +0.1, tanh, then sin and a scale."""
    for _ in range(12):
        x = xp.sin(x)
        x = x * 1.0001
        x = x + 0.1
        x = xp.tanh(x)
    x = xp.sin(x)
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


def chain1000(x, xp=dnp):
    for _ in range(250):
        x = xp.tanh(xp.sin(x) * 1.0001 + 0.1)
    return x


def _chain_contenders(x, settings) -> dict:
    compiled = dt.jit(chain50)
    assert len(compiled.program(x).eqns) == 50
    expected = chain50_by_hand(x)
    np.testing.assert_allclose(compiled(x), expected, rtol=1e-14)
    contenders = {"dualtape dt.jit": compiled, "NumPy by hand": chain50_by_hand, "dnp eager (op by op)": chain50}
    jax = peers.load("jax", settings)
    if jax is not None:
        fn = peers.jax_timed(jax, jax.jit(lambda v: chain50(v, jax.numpy)))
        np.testing.assert_allclose(fn(x), expected, rtol=1e-12)
        contenders["JAX jit"] = (fn, (jax.numpy.asarray(x),))
    torch = peers.load("torch", settings)
    if torch is not None:
        np.testing.assert_allclose(chain50(torch.from_numpy(x), torch).numpy(), expected, rtol=1e-12)
        contenders["PyTorch eager"] = (lambda v: chain50(v, torch), (torch.from_numpy(x),))
    return contenders


def _tiny_contenders(settings) -> dict:
    """{contender: (f, grad, array conversion)} for sum(sin x cos x + x^2 e^-x)."""
    found = {"dualtape dt.jit / dt.grad": (dt.jit(tiny), dt.grad(tiny), None),
             "NumPy by hand": (tiny_numpy, tiny_grad_numpy, None)}
    jax = peers.load("jax", settings)
    if jax is not None:
        f = lambda v: tiny(v, jax.numpy)  # noqa: E731
        found["JAX jit"] = (peers.jax_timed(jax, jax.jit(f)), peers.jax_timed(jax, jax.jit(jax.grad(f))),
                            jax.numpy.asarray)
    torch = peers.load("torch", settings)
    if torch is not None:
        def torch_grad(v):
            v = v.detach().requires_grad_()
            return torch.autograd.grad(tiny(v, torch), v)[0]

        def torch_f(v):
            with torch.no_grad():
                return tiny(v, torch)

        found["PyTorch eager"] = (torch_f, torch_grad, torch.from_numpy)
    autograd = peers.load("autograd", settings)
    if autograd is not None:
        f = lambda v: tiny(v, autograd.numpy)  # noqa: E731
        found["HIPS autograd"] = (f, autograd.grad(f), None)
    return found


def tiny_elementwise(settings) -> Result:
    """Compiled-call overhead on tiny arrays: a 50-op elementwise chain and a small gradient."""
    result = Result("tiny_elementwise", "Tiny elementwise functions: compiled-call overhead vs NumPy by hand")
    x = np.linspace(-1.0, 1.0, 16)
    times = compare(_chain_contenders(x, settings), (x,), settings)
    base = times["NumPy by hand"]
    chain = Table(["contender", "time per call", "vs NumPy by hand"],
                  title="50 elementwise ops (sin, *, +, tanh) on a (16,) float64 array")
    chain.rows = [[name, us(t), ratio(t, base)] for name, t in times.items()]
    result.tables.append(chain)
    result.notes.append(f"dt.jit / NumPy by hand: {times['dualtape dt.jit'] / base:.3f} (target <= 1.2).")
    result.data["chain50_s"] = times

    contenders = _tiny_contenders(settings)
    grads = Table(["contender"], title="sum(sin x cos x + x^2 e^-x): f and its gradient")
    grads.rows = [[name] for name in contenders]
    for n in (8, 100_000):
        x = np.linspace(-1.0, 1.0, n)
        expected = tiny_grad_numpy(x)
        timed = {}
        for name, (f, g, convert) in contenders.items():
            arg = x if convert is None else convert(x)
            np.testing.assert_allclose(np.asarray(g(arg)), expected, rtol=1e-10, atol=1e-12)
            timed[f"{name}: f"], timed[f"{name}: grad"] = (f, (arg,)), (g, (arg,))
        times = compare(timed, (), settings)
        label = f"x ({n},)"
        grads.columns += [f"f {label}", f"grad {label}", "grad/f", "grad vs NumPy grad by hand"]
        hand = times["NumPy by hand: grad"]
        over_f = result.grad_over_f.setdefault(f"sum(sin x cos x + x^2 e^-x), {label}", {})
        for row, name in zip(grads.rows, contenders):
            f, g = times[f"{name}: f"], times[f"{name}: grad"]
            row += [us(f), us(g), ratio(g, f), ratio(g, hand)]
            over_f[name] = g / f
        result.data[f"tiny {label}_s"] = times
    result.tables.append(grads)
    result.notes.append("Targets: dualtape grad/f <= 3; dt.grad vs the hand-written gradient at x (8,) <= 1.5.")
    return result


def compile_time(settings) -> Result:
    """Trace + optimise + compile + first run of a 1,000-equation program, a fresh cache each time."""
    result = Result("compile_time", "Trace, optimise and compile a 1,000-equation program")
    x = np.linspace(-1.0, 1.0, 16)
    builds = {"dualtape dt.jit": lambda: dt.jit(chain1000)}
    jax = peers.load("jax", settings)
    if jax is not None:
        builds["JAX jax.jit"] = lambda: peers.jax_timed(jax, jax.jit(lambda v: chain1000(v, jax.numpy)))
    times: dict[str, list[float]] = {name: [] for name in builds}
    for _ in range(settings.repeats):
        for name, build in builds.items():
            fn = build()
            start = time.perf_counter()
            fn(x)
            times[name].append(time.perf_counter() - start)
    n_eqns = len(dt.jit(chain1000).program(x).eqns)
    assert n_eqns == 1000, n_eqns
    medians = {name: statistics.median(t) for name, t in times.items()}
    table = Table(["contender", "first call: trace + compile + run (median)"],
                  title=f"250 rounds of tanh(sin(x) * 1.0001 + 0.1): {n_eqns} equations, x (16,)")
    table.rows = [[name, ms(t)] for name, t in medians.items()]
    result.tables.append(table)
    result.notes.append(f"Median of {settings.repeats}; target for dualtape < 500 ms.")
    result.data = {"first_call_s": medians, "equations": n_eqns}
    return result
