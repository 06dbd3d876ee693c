"""Staged derivatives of loops are well typed: every loop's carry has the same avals (shape and dtype) going into
its body (or step) and coming out of it, integer loop counters included (an integer has no cotangent, so the
adjoint loops carry none for it), and a walk over a tape reads its entries with the avals they were recorded
with. NumPy runs an ill-typed loop regardless; Numba cannot compile one, so where Numba is installed the
Hessians and batched gradients of loops with integer counters are compiled by it and checked against NumPy."""

import numpy as np
import pytest
from test_higher_order import FUNCTIONS, X, exp_by_series, power_by_nested_fori, power_by_while

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.ir import Var, sub_programs
from gradcheck import assert_close


def _split(values, counts):
    groups, k = [], 0
    for n in counts:
        groups.append(list(values[k:k + n]))
        k += n
    return groups


def _signature(avals):
    return [(a.shape, a.dtype.str) for a in avals]


def _carries(eqn):
    """(carry avals going in, those the body or step takes, those it returns) of a loop equation; None if it
    is no loop."""
    p = eqn.params
    if eqn.prim.name in ("while_loop", "while_loop_tape"):
        carry, body, start = eqn.inputs[p["n_consts"]:], p["body"], p["n_consts"]
    elif eqn.prim.name == "while_loop_adjoint":
        carry, body = eqn.inputs[p["n_consts"] + len(p["tapes"]):], p["step"]
        start = p["n_consts"]
    elif eqn.prim.name == "scan":
        carry, body = eqn.inputs[p["n_consts"]:p["n_consts"] + p["n_carry"]], p["body"]
        start = p["n_consts"] + 1  # (after the index)
    else:
        return None
    n = len(carry)
    return [v.aval for v in carry], body.in_avals[start:start + n], body.out_avals[:n]


def _made_entries(eqn):
    """{tape var id: avals of its entries} for the tapes a loop equation records."""
    p = eqn.params
    if eqn.prim.name == "while_loop_tape":
        n = len(eqn.outs) - len(p["tapes"])
        groups = _split(p["body"].out_avals[n:], p["tapes"])
    elif eqn.prim.name == "while_loop_adjoint":
        n = len(eqn.outs) - len(p["produces"])
        groups = _split(p["step"].out_avals[n:], p["produces"])
    else:
        return {}
    return {v.id: g for v, g in zip(eqn.outs[n:], groups)}


def _loop_problems(program, entries=None, where="program"):
    """Every mismatch of a loop's carry avals, and of a tape's entries as read against as recorded, in the
    program and the sub-programs inside it (a tape passed in as a loop's const keeps its entries)."""
    entries, problems = dict(entries or {}), []
    for eqn in program.eqns:
        name, p = eqn.prim.name, eqn.params
        carries = _carries(eqn)
        if carries is not None:
            going_in, taken, returned = (_signature(a) for a in carries)
            if not going_in == taken == returned:
                problems.append(f"{where}: {name} carries {going_in}, its body takes {taken} and returns {returned}")
        if name == "while_loop_adjoint":
            tapes = eqn.inputs[p["n_consts"]:p["n_consts"] + len(p["tapes"])]
            read = _split(p["step"].in_avals[len(eqn.inputs) - len(tapes):], p["tapes"])  # (after consts, carry)
            for tape, avals in zip(tapes, read):
                recorded = entries.get(tape.id) if type(tape) is Var else None
                if recorded is not None and _signature(recorded) != _signature(avals):
                    problems.append(f"{where}: {name} reads entries {_signature(avals)} of a tape recorded with "
                                    f"{_signature(recorded)}")
        entries.update(_made_entries(eqn))
        n_consts = p.get("n_consts", 0)
        for sub in sub_programs(p):
            inner = {s.id: entries[o.id] for s, o in zip(sub.inputs[:n_consts], eqn.inputs[:n_consts])
                     if type(o) is Var and o.id in entries}
            problems += _loop_problems(sub, inner, f"{where} / {name}")
    return problems


def summed(f):
    return lambda x: dnp.sum(f(x))


LOOP_FUNCTIONS = {name: f for name, (f, args) in FUNCTIONS.items() if len(args) == 1}
LOOP_FUNCTIONS.update(exp_by_series=exp_by_series, power_by_while=power_by_while,
                      power_by_nested_fori=power_by_nested_fori)
BATCH = np.stack([X, X * 0.9])
TRANSFORMS = {"hessian": (dt.hessian, X), "vmap(grad)": (lambda f: dt.vmap(dt.grad(f)), BATCH)}


@pytest.mark.parametrize("how", list(TRANSFORMS))
@pytest.mark.parametrize("name", list(LOOP_FUNCTIONS))
def test_every_loop_of_a_staged_derivative_carries_the_avals_its_body_returns(name, how):
    transform, x = TRANSFORMS[how]
    program = dt.jit(transform(summed(LOOP_FUNCTIONS[name]))).program(x)
    assert _loop_problems(program) == []


def test_an_integer_loop_state_gets_no_cotangent_and_its_adjoint_loop_carries_none():
    """The counter k of exp_by_series divides the float terms, whose pullback made a float cotangent for k;
    the adjoint loop now carries cotangents for the float state only."""
    program = dt.jit(dt.grad(summed(exp_by_series))).program(X)
    (adjoint,) = [e for e in program.eqns if e.prim.name == "while_loop_adjoint"]
    carried = adjoint.inputs[adjoint.params["n_consts"] + len(adjoint.params["tapes"]):]
    assert [v.aval.dtype.kind for v in carried] == ["f", "f", "f"]  # (w's cotangent sum, term's and total's)
    assert_close(dt.grad(summed(exp_by_series))(X), np.exp(X), "grad of exp by its series", rtol=1e-13)


def test_an_integer_carry_of_a_scan_and_an_integer_const_get_no_cotangent():
    """A scan carrying an integer next to a float, and a while loop reading an integer const as a float: their
    derivatives are those of the float values alone, and the adjoint loops are well typed."""
    def scanned(x):
        def body(c, w):
            k, v = c
            return (k + 2, v * w + dnp.sin(v) / k), v * k
        (k, v), ys = dt.scan(body, (np.int64(1), x), np.array([0.5, 1.5, -1.0]))
        return v + ys.sum()

    def closed(x):
        n = dnp.floor(dnp.sum(x * x) * 2).astype(int) + 1  # (traced: a const of the loop)
        return dt.while_loop(lambda v: dnp.sum(v * v) < 9.0, lambda v: v * 1.1 + dnp.sin(v) / n, x)

    for f in (scanned, closed):
        for transform, x in TRANSFORMS.values():
            assert _loop_problems(dt.jit(transform(summed(f))).program(x)) == []
        assert_close(dt.jit(dt.grad(summed(f)))(X), dt.grad(summed(f))(X), "staged against eager", rtol=1e-13)


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory):
    pytest.importorskip("numba")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DUALTAPE_NUMBA_CACHE", str(tmp_path_factory.mktemp("numba-cache")))
        yield


@pytest.mark.parametrize(("name", "how"), [("fori_traced_bound", "hessian"), ("exp_by_series", "vmap(grad)")])
def test_numba_compiles_the_derivatives_of_loops_with_integer_counters(numba_cache, name, how):
    from dualtape.codegen.numba_runtime import NumbaCompiled

    transform, x = TRANSFORMS[how]
    f = summed(LOOP_FUNCTIONS[name])
    compiled = dt.jit(transform(f), backend="numba")
    assert_close(compiled(x), dt.jit(transform(f))(x), f"{how} of {name} by Numba against NumPy", rtol=1e-13)
    kernel = next(iter(compiled._cache.values())).compiled
    assert isinstance(kernel, NumbaCompiled) and kernel.fallbacks == []
