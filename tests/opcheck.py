"""Check a dualtape op against NumPy in every form it runs in: eagerly on plain arrays, as its traced Program
evaluated equation by equation with each primitive's own `impl` (every abstract value compared with the value
really computed), and compiled with `dt.jit`. NumPy is always the reference, never dualtape's own output."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

import dualtape as dt
from dualtape.avals import aval_of
from dualtape.core.ir import Var
from testkit import DTYPE_TOLERANCES


@contextmanager
def quiet():
    """Edge cases (empty slices, log(0), ddof >= n) warn in NumPy and in dualtape alike; the values are compared."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def assert_like_numpy(actual, expected, what: str = "", rtol=None, atol=None) -> None:
    """actual has expected's shape and dtype, and its values (within dtype-appropriate tolerance for floats)."""
    assert getattr(actual, "_dt_trace", None) is None, f"{what}: a tracer escaped: {actual!r}"
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, NumPy gives {e.shape}"
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype}, NumPy gives {e.dtype}"
    if e.dtype.kind in "fc":
        r, t = DTYPE_TOLERANCES.get(e.dtype, DTYPE_TOLERANCES[np.dtype(np.float64)])
        np.testing.assert_allclose(a, e, rtol=rtol or r, atol=atol or t, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(a, e, err_msg=what)


def assert_aval_matches(aval, value, what: str) -> None:
    real = aval_of(value)
    assert (aval.shape, aval.dtype) == (real.shape, real.dtype), f"{what}: abstract {aval}, real {real}"


def run_with_impls(program, args) -> list:
    """Evaluate program calling each primitive's impl directly (not through bind), checking at every equation
    that the recorded avals and `prim.abstract_eval` agree with the shape and dtype impl really returns."""
    env = {v.id: a for v, a in zip(program.inputs, args)}
    env.update((v.id, value) for v, value in program.captures)
    read = lambda a: env[a.id] if type(a) is Var else a.value
    for eqn in program.eqns:
        ins = [read(a) for a in eqn.inputs]
        out = eqn.prim.impl(*ins, **eqn.params)
        outs = out if eqn.prim.multiple_results else [out]
        fresh = eqn.prim.abstract_eval(*[aval_of(i) for i in ins], **eqn.params)
        fresh = fresh if eqn.prim.multiple_results else [fresh]
        for var, aval, value in zip(eqn.outs, fresh, outs):
            assert_aval_matches(var.aval, value, f"recorded aval of {eqn.prim.name}")
            assert_aval_matches(aval, value, f"{eqn.prim.name}.abstract_eval")
            env[var.id] = value
    return [read(a) for a in program.outputs]


def check_op(np_fn, dt_fn, args, prim=None, rtol=None, atol=None, eager=True):
    """dt_fn(*args) must equal np_fn(*args) eagerly, through each primitive's impl, and under dt.jit; the
    traced program's output aval must be the real result's shape and dtype. With prim, the program must
    contain it (so the case really exercises that primitive). eager=False skips calling dt_fn on plain arrays
    (for method spellings, which on an ndarray would be NumPy's own). Returns the traced Program."""
    with quiet():
        expected = np_fn(*args)
        if eager:
            assert_like_numpy(dt_fn(*args), expected, "eager", rtol, atol)

    program = dt.trace(dt_fn)(*args)
    program.check()
    if prim is not None:
        assert any(e.prim is prim for e in program.eqns), f"{prim.name} not in the traced program:\n{program}"
    (out_aval,) = program.out_avals
    e = np.asarray(expected)
    assert (out_aval.shape, out_aval.dtype) == (e.shape, e.dtype), f"traced aval {out_aval}, NumPy {e.dtype}{e.shape}"
    with quiet():
        (interpreted,) = run_with_impls(program, args)
    assert_like_numpy(interpreted, expected, "impl", rtol, atol)

    with quiet():
        jitted = dt.jit(dt_fn)(*args)
    assert_like_numpy(jitted, expected, "jit", rtol, atol)
    return program


def prim_names(program) -> list[str]:
    return [e.prim.name for e in program.eqns]
