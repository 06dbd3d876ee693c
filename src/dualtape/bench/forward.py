"""Forward-mode workloads: jvp against f (interpreted and compiled), and full Jacobians by jacfwd and by
jacrev across input/output sizes, where the crossover between the two modes shows."""

from __future__ import annotations

import numpy as np

import dualtape as dt

from . import peers
from .models import mlp_forward, mlp_init, tanh_layer
from .result import Result, Table, ratio, us
from .timing import compare

JACOBIAN_SIZES = ((8, 512), (32, 128), (64, 64), (128, 32), (512, 8))  # (n_in, n_out), n_in * n_out = 4096


def _jax_jvp_contenders(jax, fn, fixed, arg, tangent) -> dict:
    jnp = jax.numpy
    fixed = jax.tree_util.tree_map(jnp.asarray, fixed)
    f = jax.jit(lambda v: fn(*fixed, v, jnp))
    push = jax.jit(lambda v, t: jax.jvp(lambda u: fn(*fixed, u, jnp), (v,), (t,)))
    args = (jnp.asarray(arg), jnp.asarray(tangent))
    return {"JAX f (jit)": (peers.jax_timed(jax, lambda v, t: f(v)), args),
            "JAX jvp (jit)": (peers.jax_timed(jax, push), args)}


def jvp(settings) -> Result:
    """time(jvp f) / time(f), with jvp interpreted (dt.jvp on arrays) and compiled (dt.jit of it)."""
    result = Result("jvp", "Forward mode: jvp against f, interpreted and compiled")
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((256, 784)) / 28).astype(np.float32)
    x = rng.standard_normal(784).astype(np.float32)
    params, xb, _ = mlp_init()
    cases = {
        "tanh(W @ x), W 256x784": (tanh_layer, (W,), x),
        "MLP 784-256-10, batch 128": (mlp_forward, (params,), xb),
    }
    jax = peers.load("jax", settings)
    table = Table(["f (float32)", "f (dt.jit)", "jvp interpreted", "ratio", "jvp compiled", "ratio (target <= 3)"])
    if jax is not None:
        table.columns += ["JAX f (jit)", "JAX jvp (jit)", "JAX ratio"]
    for name, (fn, fixed, arg) in cases.items():
        f = dt.jit(lambda v, fn=fn, fixed=fixed: fn(*fixed, v))
        push = lambda v, t, fn=fn, fixed=fixed: dt.jvp(lambda u: fn(*fixed, u), (v,), (t,))  # noqa: E731
        tangent = np.ones_like(arg)
        compiled = dt.jit(push)
        np.testing.assert_allclose(compiled(arg, tangent)[1], push(arg, tangent)[1], rtol=1e-4, atol=1e-5)
        contenders = {"f (dt.jit)": lambda v, t, f=f: f(v), "jvp interpreted": push, "jvp compiled": compiled}
        if jax is not None:
            contenders.update(_jax_jvp_contenders(jax, fn, fixed, arg, tangent))
        t = compare(contenders, (arg, tangent), settings)
        base = t["f (dt.jit)"]
        row = [name, us(base), us(t["jvp interpreted"]), ratio(t["jvp interpreted"], base),
               us(t["jvp compiled"]), ratio(t["jvp compiled"], base)]
        if jax is not None:
            row += [us(t["JAX f (jit)"]), us(t["JAX jvp (jit)"]), ratio(t["JAX jvp (jit)"], t["JAX f (jit)"])]
        table.rows.append(row)
        result.data[name] = t
    result.tables.append(table)
    return result


def _jacobian_contenders(W, x, settings) -> dict:
    """{contender: (fn, its args)}: jacfwd and jacrev of tanh(W @ x) with respect to x, compiled."""
    # W is an argument, not a closed-over constant, so no part of the Jacobian is folded at compile time
    found = {"dualtape jacfwd": (dt.jit(dt.jacfwd(tanh_layer, argnums=1)), (W, x)),
             "dualtape jacrev": (dt.jit(dt.jacrev(tanh_layer, argnums=1)), (W, x))}
    jax = peers.load("jax", settings)
    if jax is not None:
        layer = lambda W, x: tanh_layer(W, x, jax.numpy)  # noqa: E731
        args = (jax.numpy.asarray(W), jax.numpy.asarray(x))
        found["JAX jacfwd"] = (peers.jax_timed(jax, jax.jit(jax.jacfwd(layer, argnums=1))), args)
        found["JAX jacrev"] = (peers.jax_timed(jax, jax.jit(jax.jacrev(layer, argnums=1))), args)
    torch = peers.load("torch", settings)
    if torch is not None:
        layer = lambda W, x: tanh_layer(W, x, torch)  # noqa: E731
        args = (torch.from_numpy(W), torch.from_numpy(x))
        found["PyTorch jacfwd"] = (torch.func.jacfwd(layer, argnums=1), args)
        found["PyTorch jacrev"] = (torch.func.jacrev(layer, argnums=1), args)
    return found


def jacobians(settings) -> Result:
    """Jacobians of tanh(W @ x) for n_in * n_out = 4096: jacfwd (one batched forward pass) vs jacrev."""
    result = Result("jacobians", "Jacobians of tanh(W @ x): jacfwd vs jacrev across sizes (float64)")
    rng = np.random.default_rng(1)
    table = Table(["(n_in, n_out)", "jacfwd", "jacrev", "jacfwd / jacrev", "faster"])
    series: dict[str, list[float]] = {}
    for n_in, n_out in JACOBIAN_SIZES:
        W = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        x = rng.standard_normal(n_in)
        contenders = _jacobian_contenders(W, x, settings)
        expected = np.asarray(contenders["dualtape jacrev"][0](W, x))
        for fn, args in contenders.values():
            np.testing.assert_allclose(np.asarray(fn(*args)), expected, rtol=1e-10, atol=1e-12)
        t = compare(contenders, (), settings)
        fwd, rev = t["dualtape jacfwd"], t["dualtape jacrev"]
        peer_names = [name for name in t if not name.startswith("dualtape")]
        if len(table.columns) == 5:
            table.columns += peer_names
        table.rows.append([f"({n_in}, {n_out})", us(fwd), us(rev), ratio(fwd, rev),
                           "forward" if fwd < rev else "reverse", *(us(t[name]) for name in peer_names)])
        for name, seconds in t.items():
            series.setdefault(name, []).append(seconds * 1e6)
        result.data[f"({n_in}, {n_out})"] = t
    result.tables.append(table)
    result.notes.append("Forward mode pushes one tangent per input, reverse mode pulls one cotangent per output: "
                        "jacfwd wins when inputs are few (tall Jacobians), jacrev when outputs are few.")
    result.plots.append({"name": "jacobians", "kind": "line", "title": "Jacobian of tanh(W @ x), n_in * n_out = 4096",
                         "x": [n for n, _ in JACOBIAN_SIZES], "xlabel": "n_in (inputs)",
                         "ylabel": "time per Jacobian (us)", "log": True, "series": series})
    return result
