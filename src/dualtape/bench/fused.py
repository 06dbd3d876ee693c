"""The fused_cpu workload: backend="numba" (and "auto") beside backend="numpy" and JAX jit on the programs where
NumPy's per-call dispatch dominates (tiny arrays, loops) and on one where BLAS does (an MLP), plus what the
compile costs: the first call in a fresh cache, and the first call of a second process with a warm cache."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp

from . import peers
from .eager import ROUNDS, chain_dnp
from .loops import DT
from .models import mlp_init, mlp_loss, mlp_loss_peer, tiny
from .overhead import chain50
from .result import Result, Table, ms, ratio, us
from .timing import compare

STEPS, SIZE = 200, 64


def ode_fori(A, x0):
    """The ODE of the ode_loop workload (x <- x + 0.01 tanh(A @ x), STEPS steps) with dt.fori_loop."""
    x = dt.fori_loop(0, STEPS, lambda i, x: x + DT * dnp.tanh(A @ x), x0)
    return dnp.sum(x * x)


def ode_while(A, x0):
    """The same ODE with dt.while_loop on a step counter."""
    x = dt.while_loop(lambda s: s[0] < STEPS, lambda s: (s[0] + 1, s[1] + DT * dnp.tanh(A @ s[1])), (0, x0))[1]
    return dnp.sum(x * x)


def _jax_rows(settings):
    """{row: JAX jit contender} for the rows JAX has (None when JAX is absent or peers are off)."""
    jax = peers.load("jax", settings)
    if jax is None:
        return {}
    jnp, lax = jax.numpy, jax.lax

    def ode_jax(A, x0):  # (JAX cannot differentiate lax.while_loop: the while_loop row compares with this too)
        return jnp.sum(lax.fori_loop(0, STEPS, lambda i, x: x + DT * jnp.tanh(A @ x), x0) ** 2)

    timed = lambda f: peers.jax_timed(jax, jax.jit(f))
    return {"chain50": timed(lambda v: chain50(v, jnp)), "tiny grad": timed(jax.grad(lambda v: tiny(v, jnp))),
            "ODE grad, fori_loop": timed(jax.grad(ode_jax)), "ODE grad, while_loop": timed(jax.grad(ode_jax)),
            "eager chain grad": timed(jax.grad(lambda v: _chain_jax(v, jnp))),
            "MLP grad": timed(jax.grad(lambda p, x, y: mlp_loss_peer(p, x, y, jnp)))}


def _chain_jax(x, jnp):
    """chain_dnp (bench/eager.py) in jax.numpy."""
    for _ in range(ROUNDS):
        x = jnp.tanh(jnp.sin(x) * 1.0001 + 0.1)
    return jnp.sum(x)


def _rows():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((SIZE, SIZE)) / np.sqrt(SIZE)
    x0 = rng.standard_normal(SIZE)
    params, x, y = mlp_init()
    return {"chain50": (lambda b: dt.jit(chain50, backend=b), (np.linspace(-1.0, 1.0, 16),)),
            "tiny grad": (lambda b: dt.grad(tiny, backend=b), (np.linspace(-1.0, 1.0, 8),)),
            "ODE grad, fori_loop": (lambda b: dt.grad(ode_fori, backend=b), (A, x0)),
            "ODE grad, while_loop": (lambda b: dt.grad(ode_while, backend=b), (A, x0)),
            "eager chain grad": (lambda b: dt.grad(chain_dnp, backend=b), (np.linspace(-1.0, 1.0, 16),)),
            "MLP grad": (lambda b: dt.grad(mlp_loss, backend=b), (params, x, y))}


def _second_process(cache: str) -> dict:
    """First-call seconds of the tiny gradient in a new process whose cache is warm, and Numba's own start-up."""
    script = textwrap.dedent("""
        import time, numpy as np
        start = time.perf_counter()
        import numba
        numba.njit(lambda v: v + 1)(np.ones(1))
        numba_start = time.perf_counter() - start
        import dualtape as dt
        from dualtape.bench.models import tiny
        f = dt.grad(tiny, backend="numba")
        start = time.perf_counter()
        f(np.linspace(-1.0, 1.0, 8))
        print(numba_start, time.perf_counter() - start)
    """)
    env = dict(os.environ, DUALTAPE_NUMBA_CACHE=cache)
    run = lambda: subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    run()  # (fills the cache)
    numba_start, first = (float(v) for v in run().stdout.split()[-2:])
    return {"numba_startup_s": numba_start, "warm_first_call_s": first}


def fused_cpu(settings) -> Result:
    """backend="numba" / "auto" vs "numpy" vs JAX jit: tiny arrays, loops, an MLP; first-call costs."""
    from ..codegen.numba_runtime import numba_available

    result = Result("fused_cpu", "Fused CPU backend: backend='numba' and 'auto' vs 'numpy' vs JAX jit")
    if not numba_available():
        result.skipped = 'Numba is not installed: pip install "dualtape[numba]"'
        return result
    jax_rows = _jax_rows(settings)
    table = Table(["program", "numpy", "numba", "auto", "JAX jit", "numba / JAX", "auto / numpy"])
    first = Table(["program", "numba first call (cold cache)", "JAX jit first call"], title="First calls")
    times_all, first_all = {}, {}
    with tempfile.TemporaryDirectory() as cache:
        previous = os.environ.get("DUALTAPE_NUMBA_CACHE")
        os.environ["DUALTAPE_NUMBA_CACHE"] = cache
        try:
            for row, (make, args) in _rows().items():
                built = {b: make(b) for b in ("numpy", "numba", "auto")}
                start = time.perf_counter()
                got = built["numba"](*args)
                first_all[row] = {"numba": time.perf_counter() - start}
                for g, w in zip(dt.tree.leaves(got), dt.tree.leaves(built["numpy"](*args))):
                    loose = np.asarray(w).dtype == np.float32  # (float32 sums in another order)
                    np.testing.assert_allclose(g, w, rtol=1e-4 if loose else 1e-9,
                                               atol=1e-5 * float(np.max(np.abs(w))) if loose else 0)
                contenders = dict(built)
                if row in jax_rows:
                    jax_args = args  # (JAX takes NumPy arrays)
                    start = time.perf_counter()
                    jax_rows[row](*jax_args)
                    first_all[row]["JAX jit"] = time.perf_counter() - start
                    contenders["JAX jit"] = (jax_rows[row], jax_args)
                times = times_all[row] = compare(contenders, args, settings)
                jax_time = times.get("JAX jit")
                table.rows.append([row, us(times["numpy"]), us(times["numba"]), us(times["auto"]),
                                   us(jax_time) if jax_time else "-",
                                   ratio(times["numba"], jax_time) if jax_time else "-",
                                   ratio(times["auto"], times["numpy"])])
                shown = first_all[row]
                first.rows.append([row, ms(shown["numba"]), ms(shown["JAX jit"]) if "JAX jit" in shown else "-"])
        finally:
            os.environ.pop("DUALTAPE_NUMBA_CACHE") if previous is None else os.environ.update(
                DUALTAPE_NUMBA_CACHE=previous)
        second = _second_process(cache)
    result.tables += [table, first]
    result.notes.append("JAX cannot differentiate lax.while_loop: its column in the while_loop row is its "
                        "fori_loop gradient.")
    result.notes.append(f"Second process, warm cache: first call of the tiny gradient "
                        f"{ms(second['warm_first_call_s'])} (target <= 50 ms), after Numba's own start-up "
                        f"({ms(second['numba_startup_s'])}, once per process).")
    result.data = {"times_s": times_all, "first_call_s": first_all, "second_process": second}
    return result
