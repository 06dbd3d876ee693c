"""State that a converted statement carries besides plain variables: the `for` target after its loop (Python
binds it to the last index, or the one the loop broke at), and attributes and items assigned inside an `if`
or loop on a traced value (`s.h = ...`, `state["h"] = ...`, `l[0] = ...`), carried like variables and written
back. Values and gradients are those of the same code run as plain Python (and of JAX's fori_loop for the
loop index); what cannot be carried raises NotImplementedError naming the construct, the line and the fix."""


import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from gradcheck import assert_close, numerical_vjp
from testkit import line_of

X = np.array([0.3, -0.2, 0.5])


def check(f, x, *rest, **jit_kw):
    """dt.jit(f) and the gradient of sum(f) with respect to x agree with plain Python at x."""
    assert_close(dt.jit(f, **jit_kw)(x, *rest), f(x, *rest), f"value at {x}, {rest}", rtol=1e-14)
    expected = numerical_vjp(lambda v: np.sum(f(v, *rest)), (x,), np.array(1.0))[0]
    assert_close(dt.grad(lambda v, *r: dnp.sum(f(v, *r)))(x, *rest), expected, f"grad at {x}, {rest}")


# ---- the loop variable after the loop ------------------------------------------------------------------
def last_index(x):
    y = x
    for i in range(dnp.argmax(x) + 1):  # noqa: B007 (read after the loop; a traced trip count)
        y = y * 2
    return y * i


def bound_before(x, n):
    i = 7
    for i in range(n):  # noqa: B007 (read after the loop)
        x = x * 1.5
    return x * i


def from_two(x, n):
    for i in range(2, n):  # noqa: B007 (read after the loop)
        x = x * 1.5
    return x * i


def with_break(x, n):
    i = -3
    for i in range(n):  # noqa: B007 (read after the loop)
        x = x * 2
        if x.sum() > 3:
            break
    return x * i


def with_continue(x, n):
    s = x * 0
    for i in range(n):  # noqa: B007 (read after the loop)
        x = x * 1.2
        if x.sum() < 1:
            continue
        s = s + x
    return s * i


def test_the_loop_variable_after_a_loop_over_a_traced_range_is_the_last_index():
    for x in (X, np.array([0.5, 0.1, -0.2]), np.array([-1.0, -2.0, 3.0])):
        check(last_index, x)
    assert_close(dt.jit(last_index)(X), [4.8, -3.2, 8.0], "last index of a traced range")
    for f, trips in ((bound_before, (0, 1, 4)), (from_two, (3, 6)), (with_break, (0, 1, 2, 9)),
                     (with_continue, (1, 2, 6))):
        jf = dt.jit(f)
        for n in trips:
            assert_close(jf(X, n), f(X, n), f"{f.__name__} n={n}", rtol=1e-14)
            check(f, X, n)
        assert jf.trace_count == 1


def test_the_loop_variable_after_a_python_loop_is_as_in_python():
    def f(x):
        j = 5
        for i in range(3):
            x = x + i
        for j in range(0):  # no iteration: j keeps its value
            x = x * j
        return x * i * j

    def broke(x):
        for i in range(10):
            if i == 4:
                break
        return x * i

    check(f, X)
    check(broke, X)


def test_a_zero_trip_loop_over_a_traced_range_leaves_an_unbound_variable_at_the_start():
    # Python would leave i unbound; a compiled program has a value for it on every input: the range's start
    assert_close(dt.jit(from_two)(X, 1), X * 2, "range(2, 1)")
    assert_close(dt.jit(with_break)(X, 0), X * -3, "bound before, with break")
    jf = dt.jit(lambda x, n: with_continue(x, n))
    assert_close(jf(X, 0), X * 0, "range(0) with continue")


def test_the_loop_index_matches_jax_fori_loop_carrying_it(jax):
    jnp = jax.numpy

    def theirs(x, n):  # JAX's idiom: carry the index as loop state, starting from its value before the loop
        return jax.lax.fori_loop(0, n, lambda i, c: (i, c[1] * 1.5), (7, x))

    for n in (0, 1, 4):
        i, y = theirs(jnp.asarray(X), n)
        assert_close(dt.jit(bound_before)(X, n), np.asarray(y * i), f"n={n}")
        g = jax.grad(lambda v, n=n: jnp.sum(theirs(v, n)[1] * theirs(v, n)[0]))(jnp.asarray(X))
        assert_close(dt.grad(lambda v, n=n: dnp.sum(bound_before(v, n)))(X), np.asarray(g), f"grad n={n}")


def test_a_loop_variable_that_cannot_be_kept_raises_naming_it_and_the_line():
    def reassigned(x, n):
        for i in range(n):
            x = x * 2
            i = i * 2
        return x * i

    def was_an_array(x, n):
        i = x
        for i in range(n):  # noqa: B007 (read after the loop)
            x = x * 2
        return x * i

    assert_close(dt.jit(reassigned, static_argnums=1)(X, 3), reassigned(X, 3), "a Python loop")
    for f, what in ((reassigned, "is assigned inside a for loop"), (was_an_array, r"held f64\[3\]")):
        with pytest.raises(NotImplementedError, match=rf"(?s)loop variable 'i' {what}.*test_carried_state\.py:"
                                                      rf"{line_of(f, 'for i in range(n):')}.*fix:"):
            dt.jit(f)(X, 3)


# ---- attributes and items assigned under a traced condition --------------------------------------------
class State:
    pass


def dict_item(x):
    state = {"h": x, "inner": {"k": x * 0}}
    if x[0] > 0:
        state["h"] = state["h"] * 2
        state["inner"]["k"] += dnp.sin(x)
    else:
        state["h"] = -state["h"]
    return state["h"] + state["inner"]["k"]


def attribute_in_loops(x):
    s = State()
    s.h, s.t = x, 0.0
    items = [x, x * 0]
    while dnp.sum(dnp.abs(s.h)) < 10:
        s.h = s.h * 2
        items[1] = items[1] + s.h
    for i in range(dnp.argmax(x) + 1):
        s.t = s.t + dnp.sum(s.h) * i
    return s.h * s.t + items[1]


class Accumulator:
    def __init__(self):
        self.total = 0.0
        self.calls = 0

    def add(self, x):
        self.calls += 1  # a Python value, outside any traced statement
        if x.sum() > 0:
            self.total = self.total + dnp.sum(x ** 2)
        else:
            self.total = self.total - dnp.sum(x)
        return self.total * x


def test_an_item_or_attribute_assigned_under_a_traced_condition_is_carried():
    for x in (X, -X, np.array([2.0, 3.0, -1.0])):
        check(dict_item, x)
        check(attribute_in_loops, x)
        check(lambda v: Accumulator().add(v), x)


def test_carried_fields_are_written_back_with_values_of_the_outer_trace():
    acc = Accumulator()
    out = dt.jit(lambda v: (acc.add(v), acc.total)[1])(X)  # the object's field is read after the statement
    assert_close(out, np.sum(X ** 2), "the total")
    assert acc.calls == 1

    def keeps(x, d):
        if x.sum() > 0:
            d["h"] = x * 3
        return d["h"]

    d = {"h": np.ones(3)}
    assert_close(dt.jit(keeps)(-X, d), np.ones(3), "the branch that keeps the item")
    assert_close(dt.jit(keeps)(X, d), 3 * X, "the branch that assigns it")
    assert set(d) == {"h"} and all(isinstance(v, np.ndarray) for v in d.values())


def test_a_failing_statement_leaves_the_object_as_it_was():
    def failing(x, d):
        if x.sum() > 0:
            d["h"] = x @ np.ones((4, 2))  # a shape error while tracing the branch
            d["new"] = x
        return x

    d = {"h": 1.0}
    with pytest.raises(ValueError):
        dt.jit(failing)(X, d)
    assert d == {"h": 1.0}


def test_a_field_assigned_in_one_branch_only_raises_naming_it_when_used():
    def one_branch(x):
        d = {}
        if x.sum() > 0:
            d["a"] = x
        return d["a"]

    with pytest.raises(NotImplementedError, match=r"variable 'd\['a'\]' is assigned in only one branch"):
        dt.jit(one_branch)(X)


def test_an_item_whose_key_changes_inside_a_traced_loop_raises_naming_the_construct_line_and_fix():
    def per_index(x, n):
        values = [x, x, x]
        for i in range(n):
            values[i] = x * i
        return values[0] + values[1]

    assert_close(dt.jit(per_index, static_argnums=1)(X, 2), per_index(X, 2), "a Python loop is fine")
    message = (rf"(?s)assignment to `values\[i\]` inside a for loop.*test_carried_state\.py:"
               rf"{line_of(per_index, 'for i in range(n):')}.*fix: assign the value to a local variable")
    with pytest.raises(NotImplementedError, match=message):
        dt.jit(per_index)(X, 2)


def test_the_rewrite_shows_the_carried_fields():
    source = dt.autograph_source(dict_item)
    assert "ag__.item(\"state['h']\", lambda: (state, 'h'))" in source
    assert "ag__.item(\"state['inner']['k']\", lambda: (state['inner'], 'k'))" in source
    assert "ag__.attr('s.t', lambda: (s, 't'))" in dt.autograph_source(attribute_in_loops)

