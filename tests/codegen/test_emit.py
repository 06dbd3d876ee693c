"""Emitted source: golden `dt.source` text, literals, indexing, outputs, captured constants, names."""

import ast
import inspect
import os
import re

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.avals import ShapedArray, broadcast_shapes
from dualtape.codegen.emit import emit_program, param_ast
from dualtape.core.ir import Eqn, Lit, Program, Var
from dualtape.core.primitive import REGISTRY, Primitive
from dualtape.core.trace import bind

F32 = np.float32
MLP_ARGS = (np.ones((3, 4), F32), np.ones(4, F32), np.ones((4, 2), F32), np.ones((5, 3), F32))
TABLE = np.linspace(0.0, 1.0, 3)


def mlp(W1, b1, W2, x):
    hidden = dnp.tanh(x @ W1 + b1)
    logits = hidden @ W2
    return dnp.sum(logits * logits) / 2.0


def run(source: str, *args):
    """Execute emitted source with NumPy as xp and call the function it defines."""
    namespace = {"xp": np}
    exec(source, namespace)  # noqa: S102 - source emitted by the test
    name = source.split("(", 1)[0].removeprefix("def ")
    return namespace[name](*args)


# ---- golden source ---------------------------------------------------------------------------------------
def test_source_without_comments():
    assert dt.source(mlp, *MLP_ARGS, comments=False) == """\
def mlp(W1, b1, W2, x):
    a = x @ W1
    a += b1
    hidden = xp.tanh(a)
    logits = hidden @ W2
    b = logits * logits
    b = xp.sum(b, axis=(0, 1))
    b /= 2.0
    return b
"""


def test_source_with_comments_shows_the_users_lines():
    lines, first = inspect.getsourcelines(mlp)
    where = os.path.basename(__file__)
    assert dt.source(mlp, *MLP_ARGS) == f"""\
def mlp(W1, b1, W2, x):
    # {where}:{first + 1}: hidden = dnp.tanh(x @ W1 + b1)
    a = x @ W1
    a += b1
    hidden = xp.tanh(a)
    # {where}:{first + 2}: logits = hidden @ W2
    logits = hidden @ W2
    # {where}:{first + 3}: return dnp.sum(logits * logits) / 2.0
    b = logits * logits
    b = xp.sum(b, axis=(0, 1))
    b /= 2.0
    return b
"""


def test_emitted_source_computes_what_numpy_computes():
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(a.shape).astype(F32) for a in MLP_ARGS]
    out = run(dt.source(mlp, *args), *args)
    W1, b1, W2, x = args
    expected = np.sum((np.tanh(x @ W1 + b1) @ W2) ** 2) / 2.0
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5)


# ---- literals --------------------------------------------------------------------------------------------
def literals(x):
    return (
        (-2.0) ** x, x ** -2.0, x + np.inf, x * -np.inf, x - np.nan,
        x * np.float32(2), x + np.int64(-3), x * np.bool_(True),
    )


def test_literal_emission():
    assert dt.source(literals, np.ones(3), comments=False) == """\
def literals(x):
    a = (-2.0) ** x
    b = x ** (-2.0)
    c = x + xp.inf
    d = x * -xp.inf
    e = x - xp.nan
    f = x * xp.float32(2.0)
    g = x + xp.int64(-3)
    h = x * xp.bool(True)
    return (a, b, c, d, e, f, g, h)
"""


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_literals_keep_their_value_and_dtype_when_run(dtype):
    x = np.array([1, 2, 3], dtype)
    with np.errstate(all="ignore"):
        expected = literals(x)
        got = run(dt.source(literals, x), x)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype
        np.testing.assert_array_equal(g, e)


def test_numpy_scalar_literal_keeps_its_dtype_against_a_weak_python_scalar():
    source = dt.source(lambda x: x * np.float32(2) + 1.5, np.arange(3, dtype=np.int16), comments=False)
    assert "xp.float32(2.0)" in source
    out = run(source, np.arange(3, dtype=np.int16))
    assert out.dtype == (np.arange(3, dtype=np.int16) * np.float32(2) + 1.5).dtype == np.float32


def test_params_emit_as_plain_python_values():
    assert ast.unparse(param_ast((np.int64(1), np.float32(0.5), -2, np.dtype(np.float32), np.bool_))) == (
        "(1, 0.5, -2, xp.float32, xp.bool)"
    )
    x, out = Var(ShapedArray((2, 3, 4), np.float64), "x"), Var(ShapedArray((4, 2, 3), np.float64))
    transpose = Eqn(REGISTRY["transpose"], [x], {"perm": (np.int64(2), np.int64(0), np.int64(1))}, [out])
    source = emit_program(Program([x], [transpose], [out]), comments=False).source
    assert source.splitlines()[1] == "    a = xp.permute_dims(x, (2, 0, 1))"
    np.testing.assert_array_equal(run(source, np.ones((2, 3, 4))), np.ones((4, 2, 3)))


def test_a_matrix_transpose_is_written_dot_T():
    source = dt.source(lambda x: dnp.transpose(x) + 1.0, np.ones((2, 3)), comments=False)
    assert source.splitlines()[1] == "    a = x.T"
    np.testing.assert_array_equal(run(source, np.arange(6.0).reshape(2, 3)), np.arange(6.0).reshape(2, 3).T + 1)


# ---- indexing --------------------------------------------------------------------------------------------
def indexing(x, i):
    return x[1:3, None, i], x[..., 0], x[::-1, -1], x[i, 1:], x[-1]


def test_getitem_emission():
    x, i = np.arange(20.0).reshape(4, 5), np.array([0, 2])
    source = dt.source(indexing, x, i, comments=False)
    assert source == """\
def indexing(x, i):
    a = x[1:3, None, i]
    b = x[:, 0]
    c = x[::-1, -1]
    d = x[i, 1:]
    e = x[-1]
    return (a, b, c, d, e)
"""
    for got, want in zip(run(source, x, i), indexing(x, i)):
        np.testing.assert_array_equal(got, want)


# ---- outputs, captures and names ------------------------------------------------------------------------------
def test_pytree_outputs_flatten_in_key_order_and_builtin_names_are_avoided():
    def outs(x):
        sum = x * 2  # a builtin's name: renamed in the source
        return {"b": sum, "a": (x, sum + 1)}, [x.sum()]

    assert dt.source(outs, np.ones(3), comments=False) == """\
def outs(x):
    sum_1 = x * 2
    a = sum_1 + 1
    b = xp.sum(x, axis=0)
    return (x, a, sum_1, b)
"""
    result = dt.jit(outs)(np.arange(3.0))
    assert set(result[0]) == {"a", "b"} and isinstance(result[1], list)
    np.testing.assert_array_equal(result[0]["a"][1], np.arange(3.0) * 2 + 1)


def test_single_and_literal_outputs():
    assert dt.source(lambda x: x, np.ones(2), comments=False) == "def f(x):\n    return x\n"
    assert dt.source(lambda x: (x, 2.0), np.ones(2), comments=False) == "def f(x):\n    return (x, 2.0)\n"


def test_captured_constants_are_named_and_passed_as_globals():
    ones = np.ones(3)

    def shifted(x):
        return x * TABLE + ones + np.full(3, 2.0)

    emitted = emit_program(dt.trace(shifted)(np.zeros(3)), comments=False)
    assert emitted.source == """\
def shifted(x):
    a = x * TABLE
    a += ones
    a += const2
    return a
"""
    assert set(emitted.globals) == {"TABLE", "ones", "const2"}
    for name, value in (("TABLE", TABLE), ("ones", ones)):  # each a read-only copy taken when traced (as JAX)
        assert np.array_equal(emitted.globals[name], value) and not emitted.globals[name].flags.writeable
    out = dt.jit(shifted)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(out, np.array([1.0, 2.0, 3.0]) * TABLE + 3.0)


def test_a_function_named_xp_does_not_shadow_the_array_module():
    def xp(x):
        return dnp.sin(x)

    assert dt.source(xp, np.ones(2), comments=False) == "def xp_(x):\n    a = xp.sin(x)\n    return a\n"
    np.testing.assert_array_equal(dt.jit(xp)(np.array([1.0, 2.0])), np.sin([1.0, 2.0]))


@pytest.fixture
def divmod_p():
    """A two-result primitive, registered only for the test."""
    prim = Primitive(
        "test_divmod", ("x", "y"), "xp.divmod(x, y)",
        lambda x, y: [broadcast_shapes("test_divmod", x.shape, y.shape)] * 2, multiple_results=True,
    )
    yield prim
    del REGISTRY[prim.name]


def test_multiple_results_unpack_into_a_tuple(divmod_p):
    def f(x, y):
        q, r = bind(divmod_p, x, y)
        return q * 10 + r

    x, y = np.array([7.0, -7.0, 9.5]), np.array([2.0, 2.0, 4.0])
    program = dt.trace(f)(x, y)
    assert str(program).splitlines()[1] == "  q:f64[3] r:f64[3] = test_divmod x y"
    source = dt.source(f, x, y, comments=False)
    assert source.splitlines()[1] == "    q, r = xp.divmod(x, y)"
    expected = np.floor_divide(x, y) * 10 + np.mod(x, y)
    np.testing.assert_array_equal(dt.jit(f)(x, y), expected)
    np.testing.assert_array_equal(run(source, x, y), expected)


def test_dying_temporaries_are_updated_in_place_and_nothing_else_is():
    """`a += b` only where `a` is a temporary of this block that nothing else reads or views, with the result's
    shape and dtype; inputs, loop carries, views, broadcast targets and promoted dtypes are left alone."""
    def f(x, y, s):
        a = dnp.sin(x) * 2.0
        b = dnp.cos(x)
        view = b.T                               # b is viewed: not updated in place
        c = b + 1.0
        wide = dnp.exp(s) + y                    # (3, 1) + (3, 4): the temporary cannot hold the result
        narrow = dnp.sin(x).astype(np.float32) + x   # float32 + float64: promoted, not in place
        carry = dt.fori_loop(0, 2, lambda i, v: v * 1.5 + 1.0, x)  # the loop's state is never updated in place
        return a + view.T + c + wide.sum() + narrow + carry + (x + 1.0)  # the running sum: updated in place

    x, y, s = np.linspace(0.1, 1.0, 12).reshape(3, 4), np.ones((3, 4)), np.ones((3, 1))
    source = dt.source(f, x, y, s, comments=False)
    updated = [re.match(r"\s+(\w+) [-+*/]= ", line) for line in source.splitlines()]
    updated = {m.group(1) for m in updated if m}
    assert len(updated) >= 2, source  # the temporary of the loop body, the running sum
    assert not updated & {"x", "y", "s", "a", "a_1", "b", "c", "view", "wide", "narrow", "carry"}, source
    kept = [v.copy() for v in (x, y, s)]
    np.testing.assert_allclose(dt.jit(f)(x, y, s), f(x, y, s), rtol=1e-12)
    for before, after in zip(kept, (x, y, s)):
        np.testing.assert_array_equal(before, after)  # the caller's arrays are untouched


def test_results_are_arrays_of_their_own():
    """A constant result is not the program's cached array, two equal results are not one array, and a
    broadcast result is writable: changing a result in place never changes a later call's."""
    g = dt.grad(lambda w: dnp.sum(3.0 * w))
    first = g(np.ones(3))
    first *= 0.1
    np.testing.assert_array_equal(g(np.ones(3)), [3.0, 3.0, 3.0])
    zeros = dt.jit(lambda v: dnp.zeros_like(v))
    z = zeros(np.ones(3))
    z[0] = 7.0
    np.testing.assert_array_equal(zeros(np.ones(3)), [0.0, 0.0, 0.0])
    a, b = dt.jit(lambda v: (v * 2, v * 2))(np.ones(3))
    assert not np.shares_memory(a, b)
    summed = dt.grad(lambda v: dnp.sum(v))(np.ones(3))
    summed *= 0.5  # (writable, as a NumPy result)
    gw, gb = dt.grad(lambda w, b: dnp.sum(w * 2.0), argnums=(0, 1))(np.ones(3), np.zeros(3))
    gb += 1.0
    np.testing.assert_array_equal(dt.grad(lambda w, b: dnp.sum(w * 2.0), argnums=(0, 1))(np.ones(3), np.zeros(3))[1],
                                  [0.0, 0.0, 0.0])


# ---- long programs ----------------------------------------------------------------------------------------
def unrolled(x):
    for _ in range(1000):
        x = x * 1.0001 + 0.5
    return x


def test_an_unrolled_loop_expands_each_kind_of_statement_once(monkeypatch):
    """2,000 equations of two kinds, named x_1 ... x_1000 after the user's variable: each template is
    expanded once, then its source is reused with the operands' names filled in (emitting stays linear)."""
    expanded = []
    emit = Primitive.emit
    monkeypatch.setattr(Primitive, "emit", lambda self, *a, **k: expanded.append(self.name) or emit(self, *a, **k))
    lines = dt.source(unrolled, np.ones(3), comments=False).splitlines()
    assert lines[:4] == ["def unrolled(x):", "    a = x * 1.0001", "    x_1 = a + 0.5", "    b = x_1 * 1.0001"]
    assert re.fullmatch(r"    x_1000 = [a-z]+ \+ 0\.5", lines[-2]) and lines[-1] == "    return x_1000"
    assert len(lines) == 2002
    assert sorted(expanded) == ["add", "mul"]


def test_reused_statements_keep_apart_literals_that_compare_equal():
    x = Var(ShapedArray((3,), np.float64), "x")
    mul = REGISTRY["mul"]
    literals = [Lit(v) for v in (0.0, -0.0, 1, 1.0, True, np.float64(1.0), np.float32(1.0), 1.0)]
    eqns = [Eqn(mul, [x, lit], {}, [Var(mul.abstract_eval(x.aval, lit.aval))]) for lit in literals]
    source = emit_program(Program([x], eqns, [e.outs[0] for e in eqns], name="products")).source
    assert [line.split(" = ")[1] for line in source.splitlines()[1:-1]] == [
        "x * 0.0", "x * -0.0", "x * 1", "x * 1.0", "x * True", "x * xp.float64(1.0)", "x * xp.float32(1.0)",
        "x * 1.0"]


@pytest.fixture
def tagged_p():
    """A primitive with a string param, registered only for the test."""
    prim = Primitive("test_tagged", ("x",), "xp.full_like(x, len(tag))", lambda x, tag: x.shape,
                     dtype_rule=lambda x, tag: x.dtype)
    yield prim
    del REGISTRY[prim.name]


def test_a_param_that_reads_like_an_operand_hole_is_written_as_it_is(tagged_p):
    def f(x):
        return bind(tagged_p, x, tag="__dt0__") * 2.0

    source = dt.source(f, np.ones(2), comments=False)
    assert "xp.full_like(x, len('__dt0__'))" in source
    np.testing.assert_array_equal(run(source, np.ones(2)), [14.0, 14.0])
    np.testing.assert_array_equal(dt.jit(f)(np.ones(2)), [14.0, 14.0])
