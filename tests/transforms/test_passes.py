"""Optimisation passes: dce drops what nothing uses, cse merges duplicates, and neither changes a result."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen.runtime import Compiled
from dualtape.core.ir import Var
from dualtape.transforms.evaluate import eval_program
from dualtape.transforms.passes import cse, dce, optimize
from opcheck import prim_names

X = np.array([0.25, -0.5, 1.0])
Y = np.array([2.0, 0.5, -1.5])
UNUSED = np.ones(3)


def test_dce_drops_unused_equations_and_captures():
    def f(x, y):
        dead = dnp.exp(x) * UNUSED  # noqa: F841 - never used
        also_dead = dnp.sin(y)  # noqa: F841
        return x + y

    program = dt.trace(f)(X, Y)
    assert prim_names(program) == ["exp", "mul", "sin", "add"] and len(program.captures) == 1
    pruned = dce(program)
    assert prim_names(pruned) == ["add"] and pruned.captures == []
    assert pruned.inputs == program.inputs  # inputs stay, even unused ones
    pruned.check()
    np.testing.assert_array_equal(eval_program(pruned, [X, Y])[0], X + Y)


def test_dce_keeps_everything_an_output_needs():
    def f(x):
        a = dnp.sin(x)
        b = a * 2.0
        return b, a.sum()

    program = dt.trace(f)(X)
    assert prim_names(dce(program)) == prim_names(program) == ["sin", "mul", "reduce_sum"]


def test_cse_merges_duplicate_equations():
    def f(x, y):
        return dnp.sin(x * y) + dnp.sin(x * y)

    program = dt.trace(f)(X, Y)
    assert prim_names(program) == ["mul", "sin", "mul", "sin", "add"]
    merged = cse(program)
    assert prim_names(merged) == ["mul", "sin", "add"]
    add = merged.eqns[-1]
    assert add.inputs[0] is add.inputs[1] is merged.eqns[1].outs[0]
    merged.check()
    np.testing.assert_array_equal(eval_program(merged, [X, Y])[0], 2 * np.sin(X * Y))


def test_cse_keeps_equations_that_differ_in_operands_literals_or_params():
    def f(x, y):
        m = np.ones((2, 3)) * x[:1, None]
        return (x * 2, x * 2.0, x * np.float32(2), x + y, x - y, y - x, m.sum(axis=0), m.sum(axis=1), x[0], x[1])

    program = dt.trace(f)(X, Y)
    assert len(cse(program).eqns) == len(program.eqns)


def test_cse_merges_duplicate_outputs_and_keeps_the_user_name():
    def f(x):
        first = dnp.exp(x)
        second = dnp.exp(x)
        return first, second

    merged = cse(dt.trace(f)(X))
    assert prim_names(merged) == ["exp"]
    assert merged.outputs[0] is merged.outputs[1]
    assert merged.outputs[0].hint == "first"


def test_optimize_runs_cse_then_dce():
    def f(x):
        a = dnp.tanh(x)
        b = dnp.tanh(x)  # duplicate of a
        unused = dnp.exp(a)  # noqa: F841
        return a + b

    assert prim_names(optimize(dt.trace(f)(X))) == ["tanh", "add"]


# ---- random programs ------------------------------------------------------------------------------------
OPS = [
    ("add", 2, lambda a, b: a + b),
    ("sub", 2, lambda a, b: a - b),
    ("mul", 2, lambda a, b: a * b),
    ("maximum", 2, dnp.maximum),
    ("sin", 1, dnp.sin),
    ("tanh", 1, dnp.tanh),
    ("scale", 1, lambda a: a * 0.5),
    ("shift", 1, lambda a: 1.0 - a),
    ("sum", 1, lambda a: a.sum(axis=0, keepdims=True)),
]

STEPS = st.lists(
    st.tuples(st.integers(0, len(OPS) - 1), st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=12
)


def random_program(steps, picks):
    """A function of (x, y) applying `steps`, then its first three steps again on the same operands (exact
    duplicates for cse to find); each step's operands are earlier values picked by index."""
    resolved = [(op, i % (n + 2), j % (n + 2)) for n, (op, i, j) in enumerate(steps)]
    resolved += resolved[:3]

    def f(x, y):
        values = [x, y]
        for op, i, j in resolved:
            _, arity, fn = OPS[op]
            values.append(fn(values[i], values[j]) if arity == 2 else fn(values[i]))
        return tuple(values[p % len(values)] for p in picks)

    return f


def assert_no_duplicates_and_no_dead_code(program):
    keys = [(e.prim, tuple(a.id if type(a) is Var else repr(a) for a in e.inputs), repr(e.params))
            for e in program.eqns]
    assert len(set(keys)) == len(keys)
    used = {a.id for e in program.eqns for a in e.inputs if type(a) is Var}
    used |= {a.id for a in program.outputs if type(a) is Var}
    assert all(v.id in used for e in program.eqns for v in e.outs)


@settings(max_examples=30, deadline=None)
@given(STEPS, st.lists(st.integers(0, 20), min_size=1, max_size=3))
def test_passes_preserve_results_on_random_programs(steps, picks):
    f = random_program(steps, picks)
    expected = f(X, Y)
    program = dt.trace(f)(X, Y)
    for optimised in (dce(program), cse(program), optimize(program)):
        optimised.check()
        assert len(optimised.eqns) <= len(program.eqns)
        for got, want in zip(eval_program(optimised, [X, Y]), expected):
            np.testing.assert_array_equal(got, want)
    best = optimize(program)
    assert_no_duplicates_and_no_dead_code(best)
    compiled = Compiled(best)
    outs = compiled.fn(X, Y)
    outs = (outs,) if len(best.outputs) == 1 else outs
    for got, want in zip(outs, expected):
        np.testing.assert_allclose(got, want, rtol=1e-13)
