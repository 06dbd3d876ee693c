"""Constant folding and algebraic identities (transforms/simplify.py), with CSE and DCE: each rewrite fires
where it is exact and only there, values and avals never change (hypothesis over random programs, against
eager NumPy evaluation), and derivative programs come out as lean as a hand-written gradient."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen.runtime import Compiled
from dualtape.core.ir import Eqn, Lit, Program, Var
from dualtape.core.primitive import REGISTRY
from dualtape.transforms.evaluate import eval_program
from dualtape.transforms.passes import cse, dce, optimize
from dualtape.transforms.simplify import simplify
from gradcheck import numerical_vjp
from opcheck import prim_names
from strategies import Domain, arrays

X = np.array([0.5, -1.0, 2.0])
C = np.array([1.0, 2.0, 3.0])
W = np.arange(6.0).reshape(3, 2) / 4


def lean(f, *args):
    """The optimised program of f at args (what dt.jit and dt.source compile)."""
    return optimize(dt.trace(f)(*args))


# ---- identities --------------------------------------------------------------------------------------
F32 = X.astype(np.float32)
I64 = np.array([1, 2, 3])
B = np.array([True, False, True])


@pytest.mark.parametrize("f, x", [
    (lambda x: x * 1, X), (lambda x: 1 * x, X), (lambda x: x * 1.0, F32), (lambda x: x + 0, X),
    (lambda x: 0.0 + x, F32), (lambda x: x - 0, X), (lambda x: x / 1, X), (lambda x: -(-x), X),  # noqa: B002
    (lambda x: x * 1, I64), (lambda x: x + 0, I64), (lambda x: dnp.astype(x, np.float64), X),
    (lambda x: x.reshape(3), X), (lambda x: dnp.transpose(x.reshape(3, 1), (0, 1)).reshape(3), X),
    (lambda x: dnp.broadcast_to(x, (3,)), X), (lambda x: (x * 1) * 1 + 0 - 0, X),
])
def test_identities_disappear(f, x):
    program = lean(f, x)
    assert prim_names(program) == [], str(program)
    assert program.outputs[0] is program.inputs[0]


@pytest.mark.parametrize("f, x, kept", [
    (lambda x: x * 1.0, I64, ["mul"]),  # int -> float
    (lambda x: x * np.float64(1.0), F32, ["mul"]),  # promotes float32 to float64
    (lambda x: x + 0, B, ["add"]),  # bool -> int
    (lambda x: x / 1, I64, ["div"]),  # true division: int -> float
    (lambda x: 0 - x, X, ["sub"]),  # not x
    (lambda x: x * 0, X, ["mul"]),  # not a symbolic zero: 0 * inf is nan
    (lambda x: x * 1, np.array(2.0), []),  # (0-d: the identity still holds)
    (lambda x: x * np.ones((2, 3)), X, ["mul"]),  # the ones broadcast x
    (lambda x: -(x * 2.0), X, ["mul", "neg"]),
])
def test_identities_that_would_change_a_value_shape_or_dtype_stay(f, x, kept):
    program = lean(f, x)
    assert prim_names(program) == kept, str(program)
    out = eval_program(program, [x])[0]
    want = f(x)
    assert np.shape(out) == np.shape(want) and np.asarray(out).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(out, want)


# ---- constant folding --------------------------------------------------------------------------------
def _program(build, n_inputs=1, captures=()):
    """A hand-built Program: build(*input_vars, *capture_vars) -> (eqns, outputs)."""
    inputs = [Var(dt.trace(lambda v: v)(X).inputs[0].aval) for _ in range(n_inputs)]
    cap_vars = [(Var(dt.trace(lambda v: v)(value).inputs[0].aval), value) for value in captures]
    eqns, outputs = build(*inputs, *[v for v, _ in cap_vars])
    return Program(inputs, eqns, outputs, cap_vars).check()


def _eqn(name, inputs, out_aval=None, **params):
    prim = REGISTRY[name]
    aval = prim.abstract_eval(*[a.aval for a in inputs], **params)
    return Eqn(prim, list(inputs), params, [Var(aval)])


def test_equations_on_constants_are_computed_once():
    def build(x, c):
        s = _eqn("sin", [c])
        m = _eqn("mul", [s.outs[0], Lit(2.0)])
        y = _eqn("mul", [x, m.outs[0]])
        return [s, m, y], [y.outs[0]]

    program = _program(build, captures=[C])
    folded = simplify(program).check()
    assert prim_names(folded) == ["mul"]
    np.testing.assert_array_equal(eval_program(folded, [X])[0], X * (np.sin(C) * 2.0))
    assert len(dce(folded).captures) == 1  # the folded constant; C itself is no longer read


def test_folding_scalars_keeps_weak_and_strong_types():
    def build(x):
        a = _eqn("mul", [Lit(2.0), Lit(3.0)])  # weak: stays weak, so float32 x stays float32
        b = _eqn("add", [Lit(np.float32(1.0)), Lit(np.float32(0.5))])  # strong float32
        y = _eqn("mul", [x, a.outs[0]])
        z = _eqn("mul", [y.outs[0], b.outs[0]])
        return [a, b, y, z], [z.outs[0]]

    x32 = Var(dt.trace(lambda v: v)(F32).inputs[0].aval)
    eqns, outs = build(x32)
    program = Program([x32], eqns, outs).check()
    folded = simplify(program).check()
    assert prim_names(folded) == ["mul", "mul"]
    assert folded.outputs[0].aval.dtype == np.float32
    out = eval_program(folded, [F32])[0]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, F32 * 6.0 * np.float32(1.5))


def test_big_constant_results_stay_as_equations():
    big = np.ones(1 << 17)

    def build(x, c):
        s = _eqn("exp", [c])
        y = _eqn("reduce_sum", [s.outs[0]], axes=(0,), keepdims=False)
        z = _eqn("mul", [x, y.outs[0]])
        return [s, y, z], [z.outs[0]]

    folded = simplify(_program(build, captures=[big]))
    assert prim_names(folded) == ["exp", "reduce_sum", "mul"]  # exp(big) would be a 1 MiB constant
    np.testing.assert_allclose(eval_program(folded, [X])[0], X * np.e * big.size)


def test_a_constant_of_equal_elements_becomes_a_scalar_literal_only_where_that_changes_nothing():
    def build(x, twos, twos32):
        a = _eqn("mul", [x, twos])  # float64 * float64 array of 2s: x * 2.0
        b = _eqn("add", [a.outs[0], twos32])  # float64 + float32 array: a weak 2.0 gives the same
        return [a, b], [b.outs[0]]

    program = _program(build, captures=[np.full(3, 2.0), np.full(3, 2.0, np.float32)])
    out = simplify(program).check()
    assert all(type(a) is Lit for e in out.eqns for a in e.inputs[1:])
    np.testing.assert_array_equal(eval_program(out, [X])[0], X * 2 + 2)

    x32 = Var(dt.trace(lambda v: v)(F32).inputs[0].aval)
    twos = Var(dt.trace(lambda v: v)(np.full(3, 2.0)).inputs[0].aval)
    e = _eqn("mul", [x32, twos])  # float32 * float64 array is float64; a weak 2.0 would give float32
    kept = simplify(Program([x32], [e], e.outs, [(twos, np.full(3, 2.0))]).check()).check()
    assert type(kept.eqns[0].inputs[1]) is Var and kept.outputs[0].aval.dtype == np.float64


# ---- random programs: every pass preserves values and avals ------------------------------------------
UNARY = [dnp.sin, dnp.tanh, dnp.exp, lambda a: -a, lambda a: a * 1, lambda a: 1.0 * a, lambda a: a + 0,
         lambda a: a - 0.0, lambda a: a / 1, lambda a: -(-a), lambda a: a * 2.0, lambda a: 0.5 - a,  # noqa: B002
         lambda a: dnp.astype(a, np.float64), lambda a: dnp.astype(a, np.float32), lambda a: a.reshape(2, 3),
         lambda a: dnp.transpose(dnp.transpose(a)), lambda a: dnp.sum(a, axis=0, keepdims=True) * a,
         lambda a: a ** 2, lambda a: dnp.maximum(a, 0.0)]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: b * a, lambda a, b: a - b,
          lambda a, b: dnp.where(a > b, a, b), lambda a, b: a / (1.0 + b * b)]


@st.composite
def random_programs(draw):
    """Steps over a pool starting (x, c, k): x an input, c and k inputs that become captured constants (k's
    elements all equal), so that folding and scalarising have work; duplicates of steps for CSE."""
    steps = []
    for i in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            steps.append((draw(st.integers(0, len(UNARY) - 1)), draw(st.integers(0, i + 2)), None))
        else:
            steps.append((-1 - draw(st.integers(0, len(BINARY) - 1)), draw(st.integers(0, i + 2)),
                          draw(st.integers(0, i + 2))))
    steps += steps[: draw(st.integers(0, 3))]
    outputs = draw(st.lists(st.integers(0, 20), min_size=1, max_size=3))
    return steps, outputs


def run_program(spec, x, c, k):
    steps, outputs = spec
    values = [x, c, k]
    for op, i, j in steps:
        values.append(UNARY[op](values[i]) if op >= 0 else BINARY[-1 - op](values[i], values[j]))
    return tuple(values[o % len(values)] for o in outputs)


def with_captured(program, values: dict):
    """program with the inputs at the given positions turned into captured constants."""
    inputs = [v for i, v in enumerate(program.inputs) if i not in values]
    captures = list(program.captures) + [(program.inputs[i], value) for i, value in values.items()]
    return Program(inputs, program.eqns, program.outputs, captures, program.name)


@settings(max_examples=25, deadline=None)
@given(spec=random_programs(), dtype=st.sampled_from([np.float64, np.float32]),
       x=arrays(np.float64, (2, 3), Domain(-2.0, 2.0)), c=arrays(np.float64, (2, 3), Domain(-2.0, 2.0)),
       k=st.floats(-2.0, 2.0))
def test_passes_preserve_values_and_avals_on_random_programs(spec, dtype, x, c, k):
    x, c, k = x.astype(dtype), c.astype(dtype), np.full((2, 3), k, dtype)
    with np.errstate(all="ignore"):
        expected = run_program(spec, x, c, k)
        program = with_captured(dt.trace(lambda a, b, m: run_program(spec, a, b, m))(x, c, k), {1: c, 2: k})
        program.check()
        for name, rewritten in [("simplify", simplify(program)), ("cse", cse(program)), ("dce", dce(program)),
                                ("optimize", optimize(program))]:
            rewritten.check()
            assert len(rewritten.eqns) <= len(program.eqns)
            outs = eval_program(rewritten, [x])
            for got, want in zip(outs, expected):
                assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype, name
                np.testing.assert_array_equal(got, want, err_msg=name)
        best = optimize(program)
        assert all(e.prim.name not in ("convert_element_type", "reshape") or e.outs[0].aval != e.inputs[0].aval
                   for e in best.eqns)
        compiled = Compiled(best).fn(x)
        compiled = compiled if len(best.outputs) > 1 else (compiled,)
        for got, want in zip(compiled, expected):
            np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13)


# ---- derivative programs are as lean as a hand-written gradient --------------------------------------
def grad_program(f, *args, argnums=0):
    program = dt.trace(dt.grad(f, argnums))(*args)  # (a grad is jitted: this is its optimised program)
    assert len(optimize(program).eqns) == len(program.eqns), "optimising again finds more to do"
    return program


def test_gradient_of_sum_x_times_c_is_c_itself():
    program = grad_program(lambda x: dnp.sum(x * C), X)
    assert prim_names(program) == []
    np.testing.assert_array_equal(dt.grad(lambda x: dnp.sum(x * C))(X), C)
    program = grad_program(lambda x, y: dnp.sum(x * y), X, C)
    assert prim_names(program) == [] and program.outputs[0] is program.inputs[1]  # d/dx sum(x*y) is y


@pytest.mark.parametrize("f, expected_prims", [
    (lambda x: dnp.sum(x), []),
    (lambda x: dnp.sum(dnp.sin(x)), ["cos"]),
    (lambda x: dnp.sum(x ** 2), ["mul"]),
    (lambda x: dnp.sum(x * x), ["add"]),  # x + x
    (lambda x: dnp.mean(x * x), ["mul"]),  # (x / 3) twice: x * (2/3), one product
    (lambda x: dnp.sum(-(-dnp.sin(x))), ["cos"]),  # noqa: B002
    (lambda x: dnp.sum(dnp.sin(x) * 1.0 + 0.0), ["cos"]),
    (lambda x: dnp.sum(dnp.sin(x) * np.ones(3)), ["cos"]),
    (lambda x: dnp.dot(x, C), []),
    (lambda x: dnp.sum(x @ W), []),  # ones @ W.T: a constant
    (lambda x: dnp.sum(dnp.exp(x)), ["exp"]),  # exp's derivative is its own (reused) output
    (lambda x: dnp.sum(dnp.tanh(x)), ["tanh", "mul", "sub"]),  # 1 - tanh(x)^2
])
def test_gradient_programs_do_no_unneeded_work(f, expected_prims):
    program = grad_program(f, X)
    assert sorted(prim_names(program)) == sorted(expected_prims), str(program)
    program.check()


def test_gradient_programs_have_no_identities_duplicates_or_dead_code():
    def mlp(w1, w2, x, y):
        h = dnp.tanh(x @ w1)
        p = dnp.softmax(h @ w2, axis=1)
        return -dnp.mean(dnp.sum(y * dnp.log(p), axis=1)) + 0.01 * dnp.sum(w1 * w1)

    rng = np.random.default_rng(0)
    args = (rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((5, 3)),
            np.eye(2)[[0, 1, 1, 0, 1]])
    program = dt.trace(dt.grad(mlp, argnums=(0, 1)))(*args)
    for e in program.eqns:
        literals = [a.value for a in e.inputs if type(a) is Lit]
        if e.prim.name == "mul":
            assert 1 not in literals, f"multiplication by 1: {e}"
        if e.prim.name in ("add", "sub"):
            assert 0 not in literals, f"addition of 0: {e}"
    assert len(cse(program).eqns) == len(program.eqns), "duplicate equations"
    assert len(dce(program).eqns) == len(program.eqns), "unused equations"
    g1, g2 = dt.grad(mlp, argnums=(0, 1))(*args)  # (and the numbers are right)
    n1, n2 = numerical_vjp(mlp, args, np.array(1.0), (0, 1))
    np.testing.assert_allclose(g1, n1, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g2, n2, rtol=1e-6, atol=1e-8)


def test_value_and_grad_reuses_the_forward_values():
    program = dt.trace(dt.value_and_grad(lambda x: dnp.sum(dnp.exp(dnp.sin(x)))))(X)
    assert prim_names(program).count("sin") == 1 and prim_names(program).count("exp") == 1


def test_a_constant_compared_with_a_float32_value_keeps_its_float64_precision():
    """A captured float64 array of equal elements, compared with a float32 value, becomes a float64 scalar, not a
    weak Python float (which would compare in float32 and flip the answer)."""
    k = np.full((2, 3), 0.4696825168720804)
    program = dt.trace(lambda x, m: dnp.where(m > dnp.astype(m, np.float32), m, x))(np.zeros((2, 3)), k)
    program = with_captured(program, {1: k})
    for rewritten in (simplify(program), optimize(program)):
        np.testing.assert_array_equal(eval_program(rewritten, [np.zeros((2, 3))])[0], k)
