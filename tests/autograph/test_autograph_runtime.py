"""The operators autograph's rewritten code calls (`ag__.if_stmt`, `while_stmt`, `for_range`, `and_`, `or_`,
`not_`, `if_exp`, `unsupported`), called directly: on concrete values they behave exactly as the Python
statement would (only the branch taken runs, short-circuits keep Python's values); on traced values they record
one control-flow equation; variables a statement leaves undefined stay harmless until used, then name
themselves."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.autograph import runtime
from dualtape.autograph.runtime import Undefined
from gradcheck import assert_close

X = np.array([0.5, -0.2])


def prims(f, *args, **kw):
    return [e.prim.name for e in dt.trace(f, **kw)(*args).eqns]


# ---- if_stmt ---------------------------------------------------------------------------------------------
def test_if_stmt_on_a_concrete_test_runs_only_the_branch_taken():
    calls = []
    true_fn = lambda y: (calls.append("true"), (y + 1,))[1]
    false_fn = lambda y: (calls.append("false"), (y - 1,))[1]
    assert runtime.if_stmt(True, true_fn, false_fn, (1,), ("y",)) == (2,)
    assert runtime.if_stmt(np.bool_(False), true_fn, false_fn, (1,), ("y",)) == (0,)
    assert calls == ["true", "false"]


def test_if_stmt_on_a_traced_test_records_one_cond():
    def f(x):
        (y,) = runtime.if_stmt(x.sum() > 0, lambda y: (y * 2,), lambda y: (-y,), (x,), ("y",))
        return y

    assert prims(f, X).count("cond") == 1
    for x in (X, -X):
        assert_close(dt.jit(f)(x), x * 2 if x.sum() > 0 else -x, "value")


def test_if_stmt_with_a_variable_of_one_branch():
    def f(x):
        y, z = runtime.if_stmt(x.sum() > 0, lambda y, z: (y * 2, y), lambda y, z: (-y, z), (x, Undefined("z")),
                               ("y", "z"))
        return y, z

    def g(x):
        return f(x)[0]

    assert_close(dt.jit(g)(X), 2 * X, "the variable of both branches")
    with pytest.raises(NotImplementedError, match=r"variable 'z' is assigned in only one branch.*\n  at .*"
                                                  r"test_autograph_runtime\.py:\d+"):
        dt.jit(lambda x: f(x)[1] + 1)(X)


def test_if_stmt_keeps_values_a_branch_does_not_assign():
    def f(x):
        (y,) = runtime.if_stmt(x.sum() > 0, lambda y: (y * 2,), lambda y: (y,), (x,), ("y",))
        return y

    assert_close(dt.jit(f)(-X), -X, "unchanged")


# ---- Undefined -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("use", [
    lambda u: u + 1, lambda u: 1 + u, lambda u: u * 2, lambda u: u @ np.ones(2), lambda u: -u, lambda u: u[0],
    lambda u: bool(u), lambda u: u.sum(), lambda u: np.asarray(u), lambda u: dnp.sin(u), lambda u: float(u),
    lambda u: u < 3, lambda u: len(u), lambda u: iter(u),
], ids=["add", "radd", "mul", "matmul", "neg", "getitem", "bool", "method", "asarray", "dnp", "float", "lt", "len",
        "iter"])
def test_every_use_of_an_undefined_variable_names_it(use):
    with pytest.raises(NotImplementedError, match="variable 'z'"):
        use(Undefined("z"))
    with pytest.raises(NotImplementedError, match=r"variable 'w' is assigned in only one branch[\s\S]*at here"):
        use(Undefined("w", "here"))


def test_undefined_is_inert_until_used():
    u = Undefined("z")
    assert repr(u) == "<undefined z>" and u is not None and [u][0] is u


def test_values_before():
    a, b = runtime.values_before({"a": 1}, ("a", "b"))
    assert a == 1 and isinstance(b, Undefined) and b.name == "b"


# ---- while_stmt ----------------------------------------------------------------------------------------
def test_while_stmt_on_concrete_values_is_a_python_loop():
    state = runtime.while_stmt(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0), ("i", "s"))
    assert state == (4, 6)


def test_while_stmt_turns_into_one_loop_from_the_first_traced_test():
    def test(i, x):
        return runtime.or_(i < 2, lambda: dnp.sum(x) < 10.0)

    def f(x):
        return runtime.while_stmt(test, lambda i, x: (i + 1, x * 1.5), (0, x), ("i", "x"))[1]

    def reference(x):
        i = 0
        while i < 2 or np.sum(x) < 10.0:
            i, x = i + 1, x * 1.5
        return x

    names = prims(f, np.ones(2))
    assert names.count("while_loop") == 1 and names.count("mul") >= 2  # two unrolled steps, then the loop
    for x in (np.ones(2), np.full(2, 20.0), np.full(2, 0.1)):
        assert_close(dt.jit(f)(x), reference(x), f"x={x}")


def test_while_stmt_leaves_variables_defined_only_inside_undefined():
    def f(x):
        x, t = runtime.while_stmt(lambda x, t: dnp.sum(x) < 5.0, lambda x, t: (x * 2, x), (x, Undefined("t")),
                                  ("x", "t"))
        assert isinstance(t, Undefined)
        return x

    assert_close(dt.jit(f)(np.ones(2)), np.full(2, 4.0), "value")


def test_while_stmt_shape_change_names_the_variable():
    def f(x):
        return runtime.while_stmt(lambda v: dnp.sum(v) < 5.0, lambda v: (dnp.concatenate([v, v]),), (x,), ("v",))

    with pytest.raises(dt.ShapeError, match=r"while_loop: .*loop variable 'v' changes from f64\[2\] to f64\[4\]"):
        dt.jit(f)(np.ones(2))


# ---- for_range -----------------------------------------------------------------------------------------
def test_for_range_on_concrete_bounds_unrolls():
    # the state starts with the loop variable, which comes out as Python leaves it: the last index
    assert runtime.for_range((1, 4), lambda i, s: (s + i,), (Undefined("i"), 0), ("i", "s")) == (3, 6)
    assert runtime.for_range((1, 4), lambda i, s: (i * 10, s + i), (None, 0), ("i", "s"),
                             target_reassigned=True) == (30, 6)  # the body's own value of i
    zero_trips = runtime.for_range((0,), lambda i, s: (s + 1,), (Undefined("i"), 0), ("i", "s"))
    assert isinstance(zero_trips[0], Undefined) and zero_trips[1] == 0
    assert runtime.for_range((0,), lambda i, s: (s + 1,), (7, 0), ("i", "s")) == (7, 0)

    def f(x):
        return runtime.for_range((3,), lambda i, v: (v * 2,), (Undefined("i"), x), ("i", "v"))[1]

    assert prims(f, X) == ["mul"] * 3


def test_for_range_on_a_traced_bound_is_one_loop():
    def f(x, n):
        return runtime.for_range((n,), lambda i, v: (v * 2 + i,), (Undefined("i"), x), ("i", "v"))[1]

    assert prims(f, X, 3).count("while_loop") == 1
    for n in (0, 1, 4):
        expected = X.copy()
        for i in range(n):
            expected = expected * 2 + i
        assert_close(dt.jit(f)(X, n), expected, f"n={n}")


# ---- boolean operators ---------------------------------------------------------------------------------
def test_and_or_not_on_concrete_values_keep_python_semantics():
    evaluated = []
    right = lambda v: lambda: (evaluated.append(v), v)[1]
    assert runtime.and_(0, right(5)) == 0 and runtime.and_([], right(5)) == [] and evaluated == []
    assert runtime.and_(3, right(5)) == 5 and evaluated == [5]
    assert runtime.or_(2, right(7)) == 2 and evaluated == [5]
    assert runtime.or_(None, right(7)) == 7 and evaluated == [5, 7]
    assert runtime.not_(0) is True and runtime.not_([1]) is False


def test_and_or_not_on_traced_values_are_logical_ops():
    def f(x):
        a = runtime.and_(x[0] > 0, lambda: x[1] < 0)
        b = runtime.or_(x[0] > 1, lambda: runtime.not_(x[1] > 0))
        return dnp.where(a, 1.0, 0.0) + dnp.where(b, 10.0, 0.0)

    names = prims(f, X)
    assert "logical_and" in names and "logical_or" in names and "logical_not" in names
    for x in (X, -X, np.array([2.0, 1.0])):
        a, b = x[0] > 0 and x[1] < 0, x[0] > 1 or not x[1] > 0
        assert_close(dt.jit(f)(x), 1.0 * a + 10.0 * b, f"x={x}")


def test_if_exp():
    assert runtime.if_exp(True, lambda: "a", lambda: 1 / 0) == "a"

    def f(x):
        return runtime.if_exp(x.sum() > 0, lambda: x * 2, lambda: -x)

    assert prims(f, X).count("cond") == 1
    assert_close(dt.jit(f)(-X), X, "false branch")


def test_concrete_sees_through_dual_numbers():
    seen = []

    def f(x):
        known, value = runtime.concrete(x.sum() > 0)
        seen.append((known, bool(value)))
        return x

    dt.jvp(f, (X,), (np.ones(2),))
    assert seen == [(True, True)]
    dt.jit(f)(X)
    assert seen[-1] == (False, False)


# ---- unsupported ---------------------------------------------------------------------------------------
def test_unsupported_passes_concrete_values_and_names_traced_ones():
    assert runtime.unsupported("`return` inside an if", 5, 3, "file.py") == 5
    with pytest.raises(NotImplementedError, match=r"`return` inside an if depends on a traced value[\s\S]*"
                                                  r"at file\.py:3[\s\S]*fix:"):
        dt.jit(lambda x: runtime.unsupported("`return` inside an if", x.sum() > 0, 3, "file.py"))(X)
