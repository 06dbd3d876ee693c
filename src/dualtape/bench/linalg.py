"""The linear-algebra workload: the gradient of a Gaussian process's negative log marginal likelihood with respect
to its kernel's hyperparameters (RBF kernel on 200 points), through cholesky and a triangular solve, against the
gradient a person writes in NumPy and the peers' (JAX jit, PyTorch eager, HIPS autograd)."""

from __future__ import annotations

import math
import os

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp

from ..ops.lapack import SCIPY_POOL
from . import peers
from .result import Result, Table, ratio, us
from .timing import per_thread_setting

N_POINTS, N_DIMS = 200, 3
JITTER = 1e-6  # (added to the noise variance: K stays positive-definite in floating point)


def gp_data(n=N_POINTS, d=N_DIMS, seed=3):
    """(theta, X, y): log signal scale, log length scale, log noise scale; n inputs in d dimensions; targets."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, (n, d))
    y = np.sin(X.sum(axis=1)) + 0.1 * rng.standard_normal(n)
    return np.array([0.2, 0.1, -1.5]), X, y


def gp_nlml(theta, X, y, xp=dnp, cholesky=None, solve_lower=None, diagonal=None):
    """-log p(y | X, theta) of a zero-mean GP, K = s^2 exp(-|x - x'|^2 / 2 l^2) + sigma^2 I, through K = L L^T:
    0.5 |L^-1 y|^2 + sum(log diag L) + n/2 log 2 pi. The keywords give a peer's spellings."""
    cholesky = cholesky or xp.linalg.cholesky
    solve_lower = solve_lower or (lambda L, v: xp.linalg.solve_triangular(L, v, lower=True))
    diagonal = diagonal or (lambda L: xp.einsum("ii->i", L))
    n = X.shape[0]
    signal, length, noise = xp.exp(2 * theta[0]), xp.exp(2 * theta[1]), xp.exp(2 * theta[2])
    sq = xp.sum(X * X, axis=1)
    distances = sq[:, None] + sq[None, :] - 2 * (X @ X.T)
    K = signal * xp.exp(-0.5 * distances / length) + (noise + JITTER) * xp.eye(n, dtype=X.dtype)
    L = cholesky(K)
    z = solve_lower(L, y)
    return 0.5 * xp.sum(z * z) + xp.sum(xp.log(diagonal(L))) + 0.5 * n * math.log(2 * math.pi)


def _solve_lower_numpy():
    """SciPy's triangular solve where installed (what a person reaches for), else numpy.linalg.solve."""
    try:
        from scipy.linalg import solve_triangular
    except ImportError:
        return np.linalg.solve
    return lambda L, v: solve_triangular(L, v, lower=True, check_finite=False)


def gp_nlml_numpy(theta, X, y):
    return gp_nlml(theta, X, y, np, solve_lower=_solve_lower_numpy(), diagonal=np.diag)


def gp_grad_numpy(theta, X, y):
    """The gradient as a person writes it: d nlml / d theta_j = 1/2 tr((K^-1 - a a^T) dK/d theta_j), a = K^-1 y,
    K^-1 from L^-1 (one triangular solve with the identity)."""
    solve_lower = _solve_lower_numpy()
    n = X.shape[0]
    signal, length, noise = np.exp(2 * theta)
    sq = np.sum(X * X, axis=1)
    distances = sq[:, None] + sq[None, :] - 2 * (X @ X.T)
    kernel = signal * np.exp(-0.5 * distances / length)
    L = np.linalg.cholesky(kernel + (noise + JITTER) * np.eye(n))
    L_inv = solve_lower(L, np.eye(n))
    K_inv = L_inv.T @ L_inv
    alpha = K_inv @ y
    W = K_inv - np.outer(alpha, alpha)
    return 0.5 * np.array([np.sum(W * (2 * kernel)), np.sum(W * (kernel * distances / length)),
                           np.trace(W) * 2 * noise])


def _jax(jax):
    def solve_lower(L, v):
        return jax.scipy.linalg.solve_triangular(L, v, lower=True)

    f = lambda theta, X, y: gp_nlml(theta, X, y, jax.numpy, solve_lower=solve_lower,  # noqa: E731
                                    diagonal=jax.numpy.diagonal)
    return peers.jax_timed(jax, jax.jit(f)), peers.jax_timed(jax, jax.jit(jax.grad(f)))


def _torch(torch):
    def solve_lower(L, v):
        return torch.linalg.solve_triangular(L, v[:, None], upper=False)[:, 0]

    def f(theta, X, y):
        return gp_nlml(theta, X, y, torch, solve_lower=solve_lower, diagonal=torch.diagonal)

    def value(theta, X, y):
        with torch.no_grad():
            return f(theta, X, y)

    def grad(theta, X, y):
        return torch.autograd.grad(f(theta, X, y), theta)[0]

    return value, grad


def _autograd(autograd):
    import autograd.scipy.linalg as autograd_linalg

    solve_lower = lambda L, v: autograd_linalg.solve_triangular(L, v, lower=True)  # noqa: E731
    f = lambda theta, X, y: gp_nlml(theta, X, y, autograd.numpy, solve_lower=solve_lower,  # noqa: E731
                                    diagonal=autograd.numpy.diag)
    return f, autograd.grad(f)


def _contenders(args, settings) -> dict:
    """{contender: ((f, its args), (grad f, its args))}."""
    found = {"dualtape dt.jit(dt.grad)": ((dt.jit(gp_nlml), args), (dt.jit(dt.grad(gp_nlml)), args)),
             "NumPy by hand": ((gp_nlml_numpy, args), (gp_grad_numpy, args))}
    jax = peers.load("jax", settings)
    if jax is not None:
        jargs = tuple(jax.numpy.asarray(a) for a in args)
        f, g = _jax(jax)
        found["JAX jit"] = ((f, jargs), (g, jargs))
    torch = peers.load("torch", settings)
    if torch is not None:
        theta, X, y = (torch.from_numpy(a) for a in args)
        f, g = _torch(torch)
        found["PyTorch eager"] = ((f, (theta.requires_grad_(), X, y)), (g, (theta, X, y)))
    autograd = peers.load("autograd", settings)
    if autograd is not None:
        f, g = _autograd(autograd)
        found["HIPS autograd"] = ((f, args), (g, args))
    return found


def gp_grad(settings) -> Result:
    """Gradient of a GP's negative log marginal likelihood: RBF kernel, 200 points, cholesky, float64; at the
    machine's default threads and at one thread."""
    result = Result("gp_grad", f"GP negative log marginal likelihood and its gradient: RBF kernel on {N_POINTS} "
                               f"points in {N_DIMS}-D, cholesky + triangular solve, float64")
    args = gp_data()
    expected = gp_grad_numpy(*args)
    contenders = _contenders(args, settings)
    timed = {}
    for name, (f, g) in contenders.items():
        np.testing.assert_allclose(np.asarray(f[0](*f[1])), gp_nlml_numpy(*args), rtol=1e-9)
        np.testing.assert_allclose(np.asarray(g[0](*g[1])), expected, rtol=1e-6, atol=1e-9)
        timed[f"{name}: f"], timed[f"{name}: grad"] = f, g
    reference = "JAX jit" if "JAX jit" in contenders else "NumPy by hand"
    for label, times in per_thread_setting(timed, settings, result):
        _report(result, contenders, times, label, reference)
    if "times_s (one thread)" in result.data:
        result.notes.append("one thread: BLAS (NumPy's, SciPy's) and PyTorch's pool at one thread; XLA keeps its own.")
    result.notes.append(_scipy_pool_note())
    if "JAX jit" not in contenders:
        result.notes.append("JAX did not run (not installed, or peers switched off): the target, dualtape grad "
                            "within 1.2x of JAX jit, is unchecked.")
    return result


def _scipy_pool_note() -> str:
    """Whether dualtape's cholesky and triangular solves hold SciPy's own BLAS pool at one thread here (the
    default-thread rows depend on it; "NumPy by hand" calls SciPy as a person does, with its pool as it is)."""
    held = [os.path.basename(lib.filepath) for lib in SCIPY_POOL.libraries()]
    if held:
        return (f"dualtape runs SciPy's LAPACK with SciPy's own BLAS ({', '.join(held)}) at one thread: a pool apart "
                f"from NumPy's, whose workers would spin beside NumPy's (docs/performance.md, linear algebra).")
    return ("SciPy's BLAS is not held at one thread here (threadpoolctl absent, or SciPy shares NumPy's BLAS): "
            "see docs/performance.md, linear algebra.")


def _report(result: Result, contenders: dict, times: dict, label: str, reference: str) -> None:
    """One thread setting's table, notes, grad/f ratios and raw times."""
    table = Table(["contender", f"f ({label})", f"grad f ({label})", "grad/f", f"grad vs {reference} grad"])
    over_f = result.grad_over_f.setdefault(f"GP NLML, n={N_POINTS}, {label}", {})
    for name in contenders:
        f, g = times[f"{name}: f"], times[f"{name}: grad"]
        table.rows.append([name, us(f), us(g), ratio(g, f), ratio(g, times[f"{reference}: grad"])])
        over_f[name] = g / f
    result.tables.append(table)
    ours = times["dualtape dt.jit(dt.grad): grad"]
    if "JAX jit" in contenders:
        result.notes.append(f"{label}: dualtape grad / JAX jit grad {ours / times['JAX jit: grad']:.2f} "
                            f"(target <= 1.2).")
    result.notes.append(f"{label}: dualtape grad / NumPy grad by hand {ours / times['NumPy by hand: grad']:.2f}.")
    result.data[f"times_s ({label})"] = times
