"""Autograph's source rewrite: `dt.autograph_source` shows it; `if` / `while` / `for i in range(...)` / `and` /
`or` / `not` / conditional expressions / `break` / `continue` on traced values give the values and gradients of
the same code run as plain Python (and finite differences), compiled once for every branch and trip count;
on Python values they run as ordinary Python; called functions, methods, lambdas, closures and nested functions
are converted; the user's file and lines survive; `autograph=False` turns it off; and the constructs it cannot
convert raise errors naming the construct, the variable, the file and the line (SPEC §3)."""

import re
import sys
import traceback

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.autograph.convert import convert
from gradcheck import assert_close, check_vjp, numerical_vjp
from testkit import line_of

HERE = __file__


def plain_grad(f, x):
    """d sum(f) / dx by central differences of the unconverted function run on NumPy values."""
    return numerical_vjp(lambda v: np.sum(f(v)), (x,), np.array(1.0))[0]


def check_against_plain_python(f, points):
    """dt.jit(f) and dt.jit(dt.grad(sum f)) agree with f run as plain Python and with finite differences at
    every point, each compiled once; dt.vjp agrees too (check_vjp)."""
    jf, jg = dt.jit(f), dt.jit(dt.grad(lambda v: dnp.sum(f(v))))
    for x in points:
        assert_close(jf(x), f(x), f"{f.__name__} value at {x}", rtol=1e-14)
        assert_close(jg(x), plain_grad(f, x), f"{f.__name__} grad at {x}")
        check_vjp(f, (x,))
    assert jf.trace_count == 1 and jg.trace_count == 1, (jf.trace_count, jg.trace_count)


# ---- the rewritten source ------------------------------------------------------------------------------
def branchy(x):
    b = x * 2
    while dnp.sum(b ** 2) < 100:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def test_autograph_source_shows_the_rewrite():
    src = dt.autograph_source(branchy)
    assert src.startswith("def branchy(x):")
    assert "ag__.while_stmt(" in src and "ag__.if_stmt(" in src
    assert re.search(r"def loop_body_\d+\(b\):", src) and re.search(r"def if_true_\d+\(c\):", src)
    assert "c = 100 * b" in src  # the user's statements, inside the generated functions
    compile(src, "<autograph>", "exec")  # valid Python
    assert dt.autograph_source(convert(branchy)) == src  # the converted function shows the same


def test_autograph_source_of_unreadable_source_raises():
    namespace = {}
    exec("def g(x):\n    return x\n", namespace)
    with pytest.raises(ValueError, match="cannot be read"):
        dt.autograph_source(namespace["g"])


# ---- if / while / for on traced values -----------------------------------------------------------------
def if_else(x):
    if x.sum() > 0:
        y = dnp.sin(x) * 2
    elif x[0] > -1:
        y = x ** 3
    else:
        y = -x
    return y * x


def test_if_elif_else_on_traced_values():
    check_against_plain_python(if_else, [np.array([0.5, 0.2]), np.array([-0.5, 0.1]), np.array([-1.5, 0.2])])


def while_traced(x):
    while dnp.sum(x ** 2) < 10.0:
        x = x * 1.5 + dnp.tanh(x)
    return x


def test_while_on_traced_values_has_a_data_dependent_trip_count():
    check_against_plain_python(while_traced, [np.array([0.5, 0.2]), np.array([2.0, 1.0]), np.array([-0.1, 0.3])])
    assert any(e.prim.name == "while_loop" for e in dt.trace(while_traced)(np.ones(2)).eqns)


def for_traced_bound(x, n):
    s = x * 0.0
    for i in range(n):
        s = s + dnp.sin(x * i)
    return s


def test_for_over_a_traced_range_is_one_loop_compiled_once():
    f = dt.jit(for_traced_bound)
    g = dt.jit(dt.grad(lambda x, n: dnp.sum(for_traced_bound(x, n))))
    x = np.array([0.5, -0.3])
    for n in (0, 1, 3, 7):
        assert_close(f(x, n), for_traced_bound(x, n), f"value n={n}", rtol=1e-14)
        expected = numerical_vjp(lambda v, n=n: np.sum(for_traced_bound(v, n)), (x,), np.array(1.0))[0]
        assert_close(g(x, n), expected, f"grad n={n}")
    assert f.trace_count == 1 and g.trace_count == 1


def for_two_bounds(x, lo, hi):
    for i in range(lo, hi):
        x = x * 0.5 + i
    return x


def test_for_with_traced_start_and_stop():
    f = dt.jit(for_two_bounds)
    for lo, hi in ((0, 3), (2, 5), (4, 1)):
        assert_close(f(np.ones(2), lo, hi), for_two_bounds(np.ones(2), lo, hi), f"range({lo}, {hi})")
    assert f.trace_count == 1


def test_for_with_a_traced_bound_and_a_step_raises():
    def f(x, n):
        for _ in range(0, n, 2):
            x = x + 1
        return x

    with pytest.raises(NotImplementedError, match=r"(?s)step.*test_convert\.py:\d+"):
        dt.jit(f)(np.ones(2), 4)


def bool_ops(x):
    if (x.sum() > 0 and x[0] < 1.0) or not (x[1] > -1.0):
        y = x * 2
    else:
        y = x ** 2
    return y


def test_and_or_not_on_traced_values():
    points = [np.array([0.5, 0.2]), np.array([1.5, 0.2]), np.array([-0.5, 0.2]), np.array([-0.5, -2.0])]
    check_against_plain_python(bool_ops, points)


def if_expression(x):
    return x * 2 if x.sum() > 0 else -x ** 3


def test_conditional_expression_on_traced_values():
    check_against_plain_python(if_expression, [np.array([0.5, 0.2]), np.array([-1.5, 0.2])])


def while_break(x):
    i = 0
    while i < 100:
        x = x * 1.5
        if x.sum() > 10:
            break
        i = i + 1
    return x * i


def for_break_continue(x):
    s = x * 0.0
    for i in range(8):
        x = x * 1.2
        if x.sum() < 1:
            continue
        if x.sum() > 3:
            break
        s = s + x * i
    return s + x


def test_break_on_traced_values():
    check_against_plain_python(while_break, [np.array([0.5, 0.2]), np.array([20.5, 0.2]), np.array([1.0, 1.0])])


def test_break_and_continue_in_a_for_loop_on_traced_values():
    points = [np.array([0.3, 0.2]), np.array([0.6, 0.2]), np.array([5.0, 0.2]), np.array([-5.0, 0.2])]
    check_against_plain_python(for_break_continue, points)


def test_break_and_continue_in_a_loop_over_a_traced_range():
    def f(x, n):
        s = x * 0.0
        for i in range(n):
            x = x * 1.2
            if x.sum() < 1:
                continue
            if x.sum() > 3:
                break
            s = s + x * i
        return s + x

    jf = dt.jit(f)
    for x in (np.array([0.3, 0.2]), np.array([0.6, 0.2]), np.array([5.0, 0.2])):
        for n in (0, 3, 8):
            assert_close(jf(x, n), f(x, n), f"x={x}, n={n}", rtol=1e-14)
    assert jf.trace_count == 1


def continue_only(x):
    s = x * 0.0
    for _ in range(5):
        x = x * 1.2
        if x.sum() < 2:
            continue
        s = s + x
    return s


def test_continue_skips_the_rest_of_the_iteration():
    # at [0.5, 0.2] every iteration continues: the result is exactly zero
    check_against_plain_python(continue_only, [np.array([0.5, 0.2]), np.array([1.5, 0.2])])
    np.testing.assert_array_equal(dt.jit(continue_only)(np.array([0.5, 0.2])), np.zeros(2))


def nested_loops(x):
    for i in range(3):
        j = 0
        while dnp.sum(x) < 5.0 * (i + 1) and j < 4:
            x = x * 1.3 + 0.1
            j = j + 1
        if x[0] > x[1]:
            x = x[::-1] * 1.0
    return x


def test_nested_loops_and_ifs():
    check_against_plain_python(nested_loops, [np.array([0.5, 0.2]), np.array([0.1, 2.0]), np.array([3.0, 4.0])])


def temporaries_in_branches(x):
    if x.sum() > 0:
        t = dnp.sin(x)  # assigned in one branch only, and not used afterwards
        y = t * 2
    else:
        y = -x
    return y


def test_a_variable_of_one_branch_that_is_not_used_afterwards_is_fine():
    check_against_plain_python(temporaries_in_branches, [np.array([0.5, 0.2]), np.array([-0.5, 0.2])])


def test_a_doubling_loop_then_a_branch_through_autograph():
    check_against_plain_python(branchy, [np.array([0.3, -0.1]), np.array([-0.3, 0.1]), np.array([5.0, 1.0])])


# ---- Python values run as Python ------------------------------------------------------------------------
def python_counter(x):
    i = 0
    while i < 4:
        x = x * 2
        i += 1
    for k in range(3):
        x = x + k
    return x


def test_loops_on_python_values_unroll():
    prog = dt.trace(python_counter)(np.ones(2))
    assert [e.prim.name for e in prog.eqns] == ["mul"] * 4 + ["add"] * 3
    assert_close(dt.jit(python_counter)(np.ones(2)), python_counter(np.ones(2)), "value")


def test_conditions_on_static_values_run_as_python():
    def f(x, n):
        if n > 2:
            x = x * 2
        if x is None or n == 0:
            x = x + 1
        return x if n else -x

    prog = dt.trace(f, static_argnums=1)(np.ones(2), 3)
    assert [e.prim.name for e in prog.eqns] == ["mul"]
    assert_close(dt.jit(f, static_argnums=1)(np.ones(2), 0), -np.ones(2) - 1, "n=0")


def test_short_circuit_on_python_values_is_preserved():
    def f(x, d):
        if d is not None and d["scale"] > 1:
            x = x * d["scale"]
        return x

    assert_close(dt.jit(f)(np.ones(2), None), np.ones(2), "None")
    assert_close(dt.jit(f)(np.ones(2), {"scale": 3.0}), 3 * np.ones(2), "dict")


def test_forward_mode_takes_the_branch_of_the_concrete_primal():
    x = np.array([0.5, 0.2])
    for point in (x, -x):
        _, tangent = dt.jvp(if_else, (point,), (np.ones(2),))
        expected = numerical_vjp(lambda v: if_else(v) @ np.ones(2), (point,), np.array(1.0))[0]  # J^T 1
        assert_close(tangent.sum(), expected.sum(), "jvp")


# ---- what gets converted -------------------------------------------------------------------------------
def helper(v):
    if v.sum() > 0:
        w = v * 3
    else:
        w = -v
    return w


def calls_helper(x):
    return helper(x) + 1


class Model:
    def __init__(self, k):
        self.k = k

    def step(self, x):
        if x.sum() > 0:
            y = x * self.k
        else:
            y = -x
        return y

    def forward(self, x):
        return self.step(x) * 2


def test_called_functions_and_methods_are_converted():
    x = np.array([0.5, 0.2])
    for point in (x, -x):
        assert_close(dt.jit(calls_helper)(point), helper(point) + 1, "function")
        assert_close(dt.jit(Model(3.0).forward)(point), Model(3.0).forward(point), "method")
        assert_close(dt.jit(Model(3.0).step)(point), Model(3.0).step(point), "bound method")
    assert "ag__.converted(self.step)(x)" in dt.autograph_source(Model.forward)
    assert "dnp.sum(b ** 2)" in dt.autograph_source(branchy)  # library calls are left as written


def test_closures_lambdas_and_nested_functions():
    def make(k):
        def inner(x):
            if x.sum() > k:
                y = x * k
            else:
                y = x / k
            return y
        return inner

    def outer(x):
        def grow(v):
            while v.sum() < 5:
                v = v * 1.5
            return v
        return grow(x) + 1

    x = np.array([0.5, 0.2])
    for k in (0.1, 2.0):
        assert_close(dt.jit(make(k))(x), make(k)(x), f"closure k={k}")
    assert_close(dt.jit(outer)(x), outer(x), "nested function")
    sign = lambda v: v * 2 if v.sum() > 0 else v * 3
    assert_close(dt.jit(sign)(-x), -3 * x, "lambda")
    pair = (lambda v: v if v.sum() > 0 else -v, lambda v: v * 2 if v.sum() > 0 else -v)  # one line, two lambdas
    assert_close(dt.jit(pair[1])(x), 2 * x, "second lambda of a line")
    assert_close(dt.jit(pair[0])(-x), x, "first lambda of a line")
    g = dt.jit(dt.grad(lambda a: dnp.sum(branchy(a))))  # branchy in a lambda, in line
    assert_close(g(np.array([0.3, -0.1])), plain_grad(branchy, np.array([0.3, -0.1])), "grad of a lambda")


def test_lambdas_sharing_a_line_are_told_apart():
    """Lambdas with the same arguments on one line are each read as themselves: on Python 3.11+ by the columns of
    their code, on 3.10 (no columns) by what they compile to; closures, constants, nested functions and
    comprehensions included, and a lambda written twice is read either way alike."""
    a, b = 1.0, 3.0
    ops = (lambda v: v + a, lambda v: v - a, lambda v: v + b, lambda v: v + 1, lambda v: v + 1.0, lambda v: -v)
    nested = (lambda v: (lambda w: w * a)(v), lambda v: (lambda w: w / a)(v), lambda v: [w for w in v])
    shown = [dt.autograph_source(f).splitlines()[-1].strip() for f in ops + nested]
    assert shown == ["return v + a", "return v - a", "return v + b", "return v + 1", "return v + 1.0", "return -v",
                     "return (lambda w: w * a)(v)", "return (lambda w: w / a)(v)", "return [w for w in v]"]
    twice = (lambda v: v * 2 if v.sum() > 0 else -v, lambda v: v * 2 if v.sum() > 0 else -v)
    x = np.array([0.5, 0.2])
    for f in twice:
        assert_close(dt.jit(f)(x), 2 * x, "a lambda written twice on a line")
        assert_close(dt.jit(f)(-x), x, "a lambda written twice on a line")
    # the same code from different source: told apart by columns, ambiguous without (plain tracing, as unreadable
    # source)
    folded = (lambda v: v if v.sum() > 1 + 1 else -v, lambda v: v if v.sum() > 2 else -v)
    for f in folded:
        if sys.version_info >= (3, 11):
            assert_close(dt.jit(f)(x), -x, "a folded constant")
        else:
            with pytest.raises(dt.ConcretizationError, match="dt.cond"):
                dt.jit(f)(x)


def test_library_and_dualtape_functions_are_left_alone():
    assert convert(np.sum) is np.sum
    assert convert(dnp.sin) is dnp.sin
    assert convert(dt.grad) is dt.grad
    converted = convert(helper)
    assert converted is not helper and converted.__wrapped__ is helper and convert(converted) is converted


def test_source_without_a_file_falls_back_to_plain_tracing():
    namespace = {}
    exec("def plain(x):\n    return x * 2\n"
         "def branching(x):\n    if x.sum() > 0:\n        x = -x\n    return x\n", namespace)
    assert_close(dt.jit(namespace["plain"])(np.ones(2)), 2 * np.ones(2), "plain")
    with pytest.raises(dt.ConcretizationError, match="dt.cond"):
        dt.jit(namespace["branching"])(np.ones(2))


# ---- file and line numbers -----------------------------------------------------------------------------
def shape_error_in_branch(x, w):
    if x.sum() > 0:
        y = x @ w
    else:
        y = x
    return y


def test_errors_and_tracebacks_name_the_users_lines():
    with pytest.raises(ValueError) as info:
        dt.jit(shape_error_in_branch)(np.ones(3), np.ones((4, 2)))
    line = line_of(shape_error_in_branch, "y = x @ w")
    assert f"test_convert.py:{line}" in str(info.value) and "y = x @ w" in str(info.value)
    frames = [(f.filename, f.lineno, f.line) for f in traceback.extract_tb(info.value.__traceback__)]
    assert (HERE, line, "y = x @ w") in frames


def test_source_comments_name_the_users_lines():
    src = dt.source(dt.grad(lambda v: dnp.sum(branchy(v))), np.array([0.3, -0.1]))
    assert f"test_convert.py:{line_of(branchy, 'c = 100 * b')}: c = 100 * b" in src
    assert f"test_convert.py:{line_of(branchy, 'while')}: while dnp.sum(b ** 2) < 100:" in src


def test_converted_code_keeps_the_columns_of_nested_functions():
    def outer():
        def deep(x, w):
            if x.sum() > 0:
                y = x @ w
            else:
                y = x
            return y
        return deep

    with pytest.raises(ValueError) as info:
        dt.jit(outer())(np.ones(3), np.ones((4, 2)))
    frame = [f for f in traceback.extract_tb(info.value.__traceback__) if f.line == "y = x @ w"][-1]
    text = open(HERE).read().splitlines()[frame.lineno - 1]
    if sys.version_info >= (3, 11):  # (Python 3.10's code objects and tracebacks have lines, not columns)
        assert text[frame.colno:frame.end_colno] == "x @ w"


# ---- switching it off ----------------------------------------------------------------------------------
def test_autograph_false_restores_concretization_errors():
    x = np.array([0.5, 0.2])
    with pytest.raises(dt.ConcretizationError, match=r"test_convert\.py:\d+ in if_else"):
        dt.jit(if_else, autograph=False)(x)
    with pytest.raises(dt.ConcretizationError):
        dt.trace(if_else, autograph=False)(x)
    old = dt.config.autograph
    dt.config.autograph = False
    try:
        with pytest.raises(dt.ConcretizationError):
            dt.grad(lambda v: dnp.sum(if_else(v)))(x)
    finally:
        dt.config.autograph = old
    assert_close(dt.grad(lambda v: dnp.sum(if_else(v)))(x), plain_grad(if_else, x), "back on")


# ---- constructs that cannot be converted (SPEC §3) -----------------------------------------------------
def return_in_if(x):
    if x.sum() > 0:
        return x * 2
    return x


def return_in_while(x):
    while x.sum() < 10:
        x = x * 2
        if x[0] > 3:
            return x
    return x


def return_in_for(x, n):
    for i in range(n):
        x = x * 2
        if i > 3:
            return x
    return x


@pytest.mark.parametrize("f, construct, marker", [
    (return_in_if, "`return` inside an if", "if x.sum() > 0:"),
    (return_in_while, "`return` inside a while loop", "while x.sum() < 10:"),
])
def test_return_under_a_traced_condition_raises_naming_construct_file_and_line(f, construct, marker):
    with pytest.raises(NotImplementedError) as info:
        dt.jit(f)(np.ones(2))
    message = str(info.value)
    assert construct in message and f"test_convert.py:{line_of(f, marker)}" in message and "fix:" in message


def test_return_in_a_loop_over_a_traced_range_raises_and_static_ones_run():
    with pytest.raises(NotImplementedError, match=rf"(?s)`return` inside a for loop.*test_convert\.py:"
                                                  rf"{line_of(return_in_for, 'for i in range(n):')}"):
        dt.jit(return_in_for)(np.ones(2), 7)
    assert_close(dt.jit(return_in_for, static_argnums=1)(np.ones(2), 7), return_in_for(np.ones(2), 7), "static")


def test_return_under_a_python_condition_is_fine():
    def f(x, flag):
        if flag:
            return x * 2
        return x

    assert_close(dt.jit(f, static_argnums=1)(np.ones(2), True), 2 * np.ones(2), "flag")


def test_a_carried_variable_that_changes_shape_raises_naming_it():
    def grows(x):
        y = x
        while y.sum() < 10:
            y = dnp.concatenate([y, y])
        return y

    def retypes(x, n):
        s = 0
        for _ in range(n):
            s = s + x
        return s

    with pytest.raises(ValueError, match=r"loop variable 'y' changes from f64\[2\] to f64\[4\]") as info:
        dt.jit(grows)(np.ones(2))
    assert f"test_convert.py:{line_of(grows, 'while')}" in str(info.value)
    with pytest.raises(dt.ShapeError, match=r"loop variable 's' changes from i64\[\] to f64\[2\]"):
        dt.jit(retypes)(np.ones(2), 3)


def test_a_variable_defined_in_one_branch_and_used_afterwards_raises_naming_it():
    def one_branch(x):
        if x.sum() > 0:
            z = x * 2
        return z

    def one_branch_in_op(x):
        if x.sum() > 0:
            z = x * 2
        else:
            y = x
        return z + y

    for f in (one_branch, one_branch_in_op):
        with pytest.raises(NotImplementedError, match=r"variable '[zy]' is assigned in only one branch") as info:
            dt.jit(f)(np.ones(2))
        assert f"test_convert.py:{line_of(f, 'if x.sum() > 0:')}" in str(info.value)
