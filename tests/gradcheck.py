"""Derivative checks against finite differences, shared by the forward- and reverse-mode test suites.

The reference is always a numerical derivative computed in float64 from plain evaluations of the function
(on NumPy arrays), never dualtape's own derivative. Differences use the fourth-order central stencil

    f'(x)·t ≈ (f(x - 2h t) - 8 f(x - h t) + 8 f(x + h t) - f(x + 2h t)) / 12h,

whose error (h^4 f^(5) plus rounding eps·|f|/h) stays far below the tolerances for h = 1e-4, so the checks
can be tight. Functions must be smooth on [x - 2h t, x + 2h t]: draw values away from kinks and domain edges.

Complex values are checked as JAX defines their derivatives: tangents are complex directions (random real and
imaginary parts), and a VJP is the transpose of the R-linear JVP under the real pairing <c, t> = Re(sum(c t)),
with no conjugation; its numerical reference takes two differences per complex input element (along 1 and i).

`check_grads(f, args, order, modes)` runs every check of every mode in `MODES` (a table: mode name ->
check function). Forward mode ("fwd") is here; reverse mode adds its own entry ("rev": the inner-product
identity <ybar, J t> = <J^T ybar, t> plus the FD comparison of vjp) without changing any caller.
"""

from __future__ import annotations

import numpy as np

import dualtape as dt
from dualtape import tree
from testkit import EXACT, FD_ATOL, FD_RTOL

STEP = 1e-4  # (the tolerances FD_RTOL, FD_ATOL: testkit.py)


# ---- plumbing ----------------------------------------------------------------------------------------
def _nums(argnums, n_args) -> tuple:
    if argnums is None:
        return tuple(range(n_args))
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _as_float64(x):
    """x as a float64 (complex128) array of its values, for differencing; other dtypes are left alone."""
    a = np.asarray(x)
    if np.issubdtype(a.dtype, np.complexfloating):
        return a.astype(np.complex128)
    return a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a


def _is_complex(x) -> bool:
    return np.iscomplexobj(np.asarray(x))


def _flat_fn(f, args, nums):
    """(g, x_leaves, in_tree): g(leaves) -> list of float64 output leaves, with f's arguments at `nums`
    rebuilt from leaves and the others held fixed."""
    chosen = tuple(args[i] for i in nums)
    leaves, in_tree = tree.flatten(chosen)

    def g(xs):
        full = list(args)
        for i, v in zip(nums, tree.unflatten(in_tree, list(xs))):
            full[i] = v
        with np.errstate(all="ignore"):
            out = f(*full)
        return [_as_float64(o) for o in tree.leaves(out)]

    return g, [_as_float64(x) for x in leaves], in_tree


def _directional(g, xs, ts, h):
    """The fourth-order central difference of g at xs along ts (lists of float64 arrays)."""
    shifted = lambda s: g([x + s * h * t for x, t in zip(xs, ts)])
    terms = [shifted(s) for s in (-2, -1, 1, 2)]
    return [(a - 8 * b + 8 * c - d) / (12 * h) for a, b, c, d in zip(*terms)]


def numerical_jvp(f, args, tangents, argnums=None, h=STEP):
    """J·t by central differences in float64; tangents mirror args[i] for i in argnums (all when None).
    Returns the list of output leaves' tangents (float64)."""
    nums = _nums(argnums, len(args))
    g, xs, in_tree = _flat_fn(f, args, nums)
    t_leaves, t_tree = tree.flatten(tuple(tangents))
    assert t_tree == in_tree, f"tangents {t_tree} do not mirror the differentiated arguments {in_tree}"
    return _directional(g, xs, [_as_float64(t) for t in t_leaves], h)


def numerical_jacobian(f, args, argnums=0, h=STEP):
    """The Jacobian of f by central differences in float64, laid out as `dt.jacfwd(f, argnums)` returns it:
    the output pytree, each leaf holding (for an int argnums) that argument's pytree, or (for a tuple) a tuple
    of them, of float64 blocks of shape out_leaf.shape + in_leaf.shape."""
    nums = _nums(argnums, len(args))
    g, xs, in_tree = _flat_fn(f, args, nums)
    with np.errstate(all="ignore"):
        out_tree = tree.flatten(f(*args))[1]
    outs0 = g(xs)
    blocks = [[np.zeros(o.shape + x.shape) for x in xs] for o in outs0]
    for k, x in enumerate(xs):
        for idx in np.ndindex(x.shape):
            ts = [np.zeros_like(v) for v in xs]
            ts[k][idx] = 1.0
            for j, col in enumerate(_directional(g, xs, ts, h)):
                blocks[j][k][(...,) + idx] = col
    per_output = [tree.unflatten(in_tree, row) for row in blocks]
    if isinstance(argnums, int):
        per_output = [p[0] for p in per_output]
    return tree.unflatten(out_tree, per_output)


def assert_close(actual, expected, what="", rtol=FD_RTOL, atol=FD_ATOL):
    """actual ≈ expected (a numerical reference), with atol scaled by the size of expected."""
    kind = np.complex128 if _is_complex(actual) or _is_complex(expected) else np.float64
    a, e = np.asarray(actual, dtype=kind), np.asarray(expected, dtype=kind)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}"
    scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=what)


def random_tangents(values, rng):
    """A random tangent for each leaf (same shape and dtype), as a pytree mirroring values."""
    leaves, treedef = tree.flatten(values)
    ts = []
    for x in leaves:
        t = rng.standard_normal(np.shape(x))
        if _is_complex(x):  # (a complex direction: real and imaginary parts both random)
            t = t + 1j * rng.standard_normal(np.shape(x))
        ts.append(np.asarray(t).astype(np.asarray(x).dtype))
    return tree.unflatten(treedef, ts)


def _float_args(args, nums, where):
    for i in nums:
        for x in tree.leaves(args[i]):
            assert np.issubdtype(np.asarray(x).dtype, np.inexact), f"{where}: argument {i} is not floating"


# ---- forward mode ------------------------------------------------------------------------------------
def check_jvp(f, args, tangents=None, argnums=None, *, seed=0, h=STEP, rtol=FD_RTOL, atol=FD_ATOL):
    """dt.jvp of f (w.r.t. the arguments at argnums, all when None) along random (or given) tangents equals
    central differences; the primal output equals f(*args) and every output tangent has its primal's shape
    and dtype. Returns (primal out, tangent out)."""
    nums = _nums(argnums, len(args))
    _float_args(args, nums, "check_jvp")
    chosen = tuple(args[i] for i in nums)
    if tangents is None:
        tangents = random_tangents(chosen, np.random.default_rng(seed))

    def partial(*xs):
        full = list(args)
        for i, v in zip(nums, xs):
            full[i] = v
        return f(*full)

    with np.errstate(all="ignore"):
        out, out_dot = dt.jvp(partial, chosen, tuple(tangents))
        expected_out = f(*args)
    out_leaves, out_tree = tree.flatten(out)
    dot_leaves, dot_tree = tree.flatten(out_dot)
    assert dot_tree == out_tree == tree.flatten(expected_out)[1], f"jvp: structures {out_tree}, {dot_tree}"
    for o, d, e in zip(out_leaves, dot_leaves, tree.leaves(expected_out)):
        assert getattr(o, "_dt_trace", None) is None and getattr(d, "_dt_trace", None) is None, "a tracer escaped"
        assert np.shape(o) == np.shape(e) and np.shape(d) == np.shape(e), (
            f"jvp: shapes {np.shape(o)} / tangent {np.shape(d)}, f gives {np.shape(e)}")
        if np.issubdtype(np.asarray(e).dtype, np.inexact):
            assert np.asarray(d).dtype == np.asarray(e).dtype, (
                f"jvp: tangent dtype {np.asarray(d).dtype}, output dtype {np.asarray(e).dtype}")
        assert_close(o, e, "jvp primal output", **EXACT)
    numerical = numerical_jvp(f, args, tangents, nums, h)
    for k, (d, n) in enumerate(zip(dot_leaves, numerical)):
        assert_close(d, n, f"jvp tangent of output leaf {k}", rtol, atol)
    return out, out_dot


def check_jacfwd(f, args, argnums=0, *, h=STEP, rtol=FD_RTOL, atol=FD_ATOL):
    """dt.jacfwd(f, argnums)(*args) equals the central-difference Jacobian, leaf by leaf, and each block
    has the dtype of its output (float32 Jacobians for float32 functions)."""
    nums = _nums(argnums, len(args))
    _float_args(args, nums, "check_jacfwd")
    with np.errstate(all="ignore"):
        jac = dt.jacfwd(f, argnums)(*args)
    expected = numerical_jacobian(f, args, argnums, h)
    got_leaves, got_tree = tree.flatten(jac)
    want_leaves, want_tree = tree.flatten(expected)
    assert got_tree == want_tree, f"jacfwd structure {got_tree}, expected {want_tree}"
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        assert getattr(g, "_dt_trace", None) is None, "a tracer escaped"
        assert_close(g, w, f"jacfwd block {k}", rtol, atol)
    return jac


def tangent_function(f, n_args: int):
    """(*xs, *ts) -> the tangent of f at xs along ts (for second-order checks: its own jvp is a directional
    second derivative). The tangents are arguments, so the checks see f's tangent as a function of them
    too: a rule that is not linear in them, or stops their gradient, fails."""

    def f_dot(*xs_and_ts):
        return dt.jvp(f, xs_and_ts[:n_args], xs_and_ts[n_args:])[1]

    return f_dot


def _check_fwd(f, args, order, **tol):
    check_jvp(f, args, **tol)
    if order >= 2:
        second = {k: v * 100 for k, v in tol.items() if k in ("rtol", "atol")}  # FD of an AD derivative
        tangents = random_tangents(args, np.random.default_rng(tol.get("seed", 0) + 1))
        check_jvp(tangent_function(f, len(args)), args + tuple(tangents), **{**tol, **second})


MODES = {"fwd": _check_fwd}


def check_grads(f, args, order=1, modes=("fwd",), **tol):
    """Every check of every mode in `modes` (keys of MODES), to first or second order."""
    for mode in modes:
        MODES[mode](f, tuple(args), order, **tol)


# ---- reverse mode ------------------------------------------------------------------------------------
def numerical_vjp(f, args, cotangents, argnums=None, h=STEP):
    """Jᵀ·ȳ by central differences in float64, one directional difference per input element; cotangents
    mirror f's output. Returns the list of float64 cotangents of the differentiated arguments' leaves."""
    nums = _nums(argnums, len(args))
    g, xs, _ = _flat_fn(f, args, nums)
    cts = [_as_float64(c) for c in tree.leaves(cotangents)]
    bars = [np.zeros(x.shape, x.dtype) for x in xs]
    for k, x in enumerate(xs):
        for idx in np.ndindex(x.shape):
            for unit in (1.0, 1j) if _is_complex(x) else (1.0,):  # (bar = Re<c, J 1> - i Re<c, J i>)
                ts = [np.zeros_like(v) for v in xs]
                ts[k][idx] = unit
                column = _directional(g, xs, ts, h)
                bars[k][idx] += np.conj(unit) * sum(float(np.real(np.sum(c * d))) for c, d in zip(cts, column))
    return bars


def _inner(a_leaves, b_leaves) -> float:
    """The real pairing Re(sum(a b)) of two lists of leaves (no conjugation: JAX's convention)."""
    return sum(float(np.real(np.sum(_as_float64(a) * _as_float64(b)))) for a, b in zip(a_leaves, b_leaves))


def _check_leaf(actual, like, what):
    """A derivative leaf: a NumPy value (never a tracer) with the shape and floating dtype of `like`."""
    assert getattr(actual, "_dt_trace", None) is None, f"{what}: a tracer escaped"
    assert np.shape(actual) == np.shape(like), f"{what}: shape {np.shape(actual)}, expected {np.shape(like)}"
    want = np.asarray(like).dtype
    if np.issubdtype(want, np.inexact):  # (a real input's cotangent is real, a complex one's complex)
        assert np.asarray(actual).dtype == want, f"{what}: dtype {np.asarray(actual).dtype}, expected {want}"


def check_vjp(f, args, cotangents=None, argnums=None, *, seed=0, h=STEP, rtol=FD_RTOL, atol=FD_ATOL):
    """dt.vjp of f (w.r.t. the arguments at argnums, all when None) pulls random (or given) cotangents back
    to central-difference values of Jᵀ·ȳ; each result mirrors its primal (pytree, shape, dtype); and the
    inner-product identity <ȳ, J·t> = <Jᵀ·ȳ, t> holds against dt.jvp. Returns (primal out, cotangents)."""
    nums = _nums(argnums, len(args))
    _float_args(args, nums, "check_vjp")
    chosen = tuple(args[i] for i in nums)
    rng = np.random.default_rng(seed)

    def partial(*xs):
        full = list(args)
        for i, v in zip(nums, xs):
            full[i] = v
        return f(*full)

    with np.errstate(all="ignore"):
        out, vjp_fn = dt.vjp(partial, *chosen)
        expected_out = f(*args)
    assert tree.flatten(out)[1] == tree.flatten(expected_out)[1], "vjp: output structure differs from f's"
    for o, e in zip(tree.leaves(out), tree.leaves(expected_out)):
        _check_leaf(o, e, "vjp primal output")
        assert_close(o, e, "vjp primal output", **EXACT)
    if cotangents is None:
        cotangents = random_tangents(out, rng)
    with np.errstate(all="ignore"):
        bars = vjp_fn(cotangents)
    assert isinstance(bars, tuple) and len(bars) == len(chosen), f"vjp_fn returned {type(bars).__name__}"
    bar_leaves, bar_tree = tree.flatten(bars)
    chosen_leaves, chosen_tree = tree.flatten(chosen)
    assert bar_tree == chosen_tree, f"vjp: cotangent structure {bar_tree}, primals {chosen_tree}"
    for k, (b, x) in enumerate(zip(bar_leaves, chosen_leaves)):
        _check_leaf(b, x, f"vjp cotangent of input leaf {k}")
    numerical = numerical_vjp(f, args, cotangents, nums, h)
    for k, (b, n) in enumerate(zip(bar_leaves, numerical)):
        assert_close(b, n, f"vjp cotangent of input leaf {k}", rtol, atol)
    tangents = random_tangents(chosen, rng)
    with np.errstate(all="ignore"):
        _, out_dot = dt.jvp(partial, chosen, tangents)
    lhs = _inner(tree.leaves(cotangents), tree.leaves(out_dot))
    rhs = _inner(bar_leaves, tree.leaves(tangents))
    scale = max(1.0, _inner([np.abs(c) for c in tree.leaves(cotangents)], [np.abs(d) for d in tree.leaves(out_dot)]))
    involved = bar_leaves + tree.leaves(out_dot) + tree.leaves(cotangents)
    tol = 1e-5 if any(np.asarray(v).dtype == np.float32 for v in involved) else 1e-10
    assert abs(lhs - rhs) <= tol * scale, f"<ȳ, J·t> = {lhs} but <Jᵀ·ȳ, t> = {rhs}"
    return out, bars


def check_jacrev(f, args, argnums=0, *, h=STEP, rtol=FD_RTOL, atol=FD_ATOL):
    """dt.jacrev(f, argnums)(*args) equals the central-difference Jacobian, leaf by leaf (float32 blocks for
    a float32 function)."""
    nums = _nums(argnums, len(args))
    _float_args(args, nums, "check_jacrev")
    with np.errstate(all="ignore"):
        jac = dt.jacrev(f, argnums)(*args)
        out = f(*args)
    expected = numerical_jacobian(f, args, argnums, h)
    got_leaves, got_tree = tree.flatten(jac)
    want_leaves, want_tree = tree.flatten(expected)
    assert got_tree == want_tree, f"jacrev structure {got_tree}, expected {want_tree}"
    out_dtypes = {np.asarray(o).dtype for o in tree.leaves(out)}
    in_dtypes = {np.asarray(x).dtype for i in nums for x in tree.leaves(args[i])}
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        assert getattr(g, "_dt_trace", None) is None, "a tracer escaped"
        if out_dtypes == in_dtypes == {np.dtype(np.float32)}:
            assert np.asarray(g).dtype == np.float32, f"jacrev block {k} of a float32 function is not float32"
        assert_close(g, w, f"jacrev block {k}", rtol, atol)
    return jac


def cotangent_function(f, n_args: int):
    """(*xs, ȳ) -> Jᵀ(xs)·ȳ (for second-order checks: its derivatives are second derivatives of f, reached
    reverse-over-reverse by vjp and forward-over-reverse by jvp). ȳ is an argument, as PyTorch's gradgradcheck
    makes the output gradients inputs: a rule that is not linear in ȳ, or stops its gradient, fails."""

    def f_bar(*xs_and_cotangent):
        return dt.vjp(f, *xs_and_cotangent[:n_args])[1](xs_and_cotangent[n_args])

    return f_bar


def _check_rev(f, args, order, **tol):
    check_vjp(f, args, **tol)
    if order >= 2:
        tol2 = {**tol, "rtol": tol.get("rtol", FD_RTOL) * 100, "atol": tol.get("atol", FD_ATOL) * 100}  # FD of AD
        with np.errstate(all="ignore"):
            out = f(*args)
        cotangent = random_tangents(out, np.random.default_rng(tol.get("seed", 0) + 2))
        f_bar, with_cotangent = cotangent_function(f, len(args)), args + (cotangent,)
        check_vjp(f_bar, with_cotangent, **tol2)  # reverse over reverse
        check_jvp(f_bar, with_cotangent, **tol2)  # forward over reverse


MODES["rev"] = _check_rev
