"""`dt.jit`, `dt.trace`, `dt.source`: the compile cache (hits, misses, their logged reasons), static and
keyword arguments, decorator forms, NumPy outputs, optimisation on/off, and deep programs."""

import inspect
import logging
import os

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

X = np.array([0.5, -1.0, 2.0])


def affine(x, scale=1.0):
    return dnp.tanh(x) * scale + 1.0


# ---- the cache -----------------------------------------------------------------------------------------
def test_same_signature_hits_the_cache():
    f = dt.jit(affine)
    for values in (X, X + 1, -X, np.zeros(3)):
        np.testing.assert_allclose(f(values), np.tanh(values) + 1.0, rtol=1e-15)
    assert f.trace_count == 1 and f.cache_size == 1


@pytest.mark.parametrize(
    "second",
    [
        (np.ones(4),),  # shape
        (X.astype(np.float32),),  # dtype
        (X.reshape(1, 3),),  # rank
        (X, 2.0),  # a new (positional) argument: another pytree structure
        ([X],),  # list instead of array
        (2.0,),  # Python scalar instead of array
    ],
    ids=["shape", "dtype", "rank", "arity", "pytree", "scalar"],
)
def test_new_signature_retraces(second):
    f = dt.jit(lambda x, *rest: dnp.sum(x[0] if isinstance(x, list) else x) * (rest[0] if rest else 1.0))
    f(X)
    f(*second)
    assert f.trace_count == 2 and f.cache_size == 2
    f(X)
    f(*second)
    assert f.trace_count == 2


def test_python_scalar_types_are_part_of_the_signature():
    f = dt.jit(lambda x, s: x * s)
    ints = np.arange(3)
    assert f(ints, 2).dtype == np.int64
    assert f(ints, 3).dtype == np.int64 and f.trace_count == 1  # a new value of the same type: no retrace
    assert f(ints, 2.0).dtype == np.float64 and f.trace_count == 2
    np.testing.assert_array_equal(f(ints, 2.5), ints * 2.5)


def test_dict_arguments_key_the_cache_by_structure():
    f = dt.jit(lambda p: p["w"] * p["b"])
    f({"w": X, "b": X})
    f({"b": X + 1, "w": X - 1})  # same keys in another order: same structure
    assert f.trace_count == 1
    f({"w": X, "b": X, "unused": X})
    assert f.trace_count == 2


# ---- static and keyword arguments --------------------------------------------------------------------------
def power(x, n):
    out = x
    for _ in range(n - 1):  # a Python loop on a static value unrolls
        out = out * x
    return out


def test_static_argnums_bakes_values_in_and_retraces_per_value():
    f = dt.jit(power, static_argnums=1)
    np.testing.assert_allclose(f(X, 3), X**3)
    np.testing.assert_allclose(f(X + 1, 3), (X + 1) ** 3)
    assert f.trace_count == 1
    np.testing.assert_allclose(f(X, 4), X**4)
    assert f.trace_count == 2 and f.cache_size == 2
    assert [e.prim.name for e in f.program(X, 4).eqns] == ["mul"] * 3
    assert [v.hint for v in f.program(X, 4).inputs] == ["x"]


def test_static_values_of_different_types_trace_separately():
    f = dt.jit(lambda x, s: x * s, static_argnums=(1,))
    ints = np.arange(3)
    assert f(ints, 2).dtype == np.int64
    out = f(ints, 2.0)  # 2 == 2.0, but the result dtype differs
    assert out.dtype == np.float64 and f.trace_count == 2


def test_negative_static_argnums():
    f = dt.jit(power, static_argnums=-1)
    np.testing.assert_allclose(f(X, 2), X**2)
    np.testing.assert_allclose(f(X, 2), X**2)
    assert f.trace_count == 1


def test_static_argnames_as_in_jax():
    f = dt.jit(power, static_argnames="n")
    np.testing.assert_allclose(f(X, n=3), X**3)
    np.testing.assert_allclose(f(X + 1, n=3), (X + 1) ** 3)
    assert f.trace_count == 1 and [e.prim.name for e in f.program(X, n=3).eqns] == ["mul", "mul"]
    np.testing.assert_allclose(f(X, 3), X**3)  # the parameter is static when passed by position too
    assert f.static_argnums == (1,) and f.static_argnames == ("n",)
    keyword_only = dt.jit(lambda x, *, mode: x * 2 if mode == "double" else x, static_argnames=("mode",))
    np.testing.assert_allclose(keyword_only(X, mode="double"), 2 * X)
    np.testing.assert_allclose(keyword_only(X, mode="same"), X)
    assert keyword_only.trace_count == 2
    decorated = dt.jit(static_argnames="n")(power)
    np.testing.assert_allclose(decorated(X, n=2), X**2)
    with pytest.raises(ValueError, match=r"static_argnames \['m'\] are not parameters of power"):
        dt.jit(power, static_argnames="m")


def test_static_argnums_apply_to_a_parameter_passed_by_keyword():
    def scaled(x, mode):
        return x * 2 if mode == "double" else x

    f = dt.jit(scaled, static_argnums=1)
    np.testing.assert_allclose(f(X, mode="double"), 2 * X)
    np.testing.assert_allclose(f(X, "double"), 2 * X)
    np.testing.assert_allclose(f(x=X, mode="same"), X)
    assert f.static_argnames == ("mode",)
    assert [e.prim.name for e in dt.trace(f)(X, mode="double").eqns] == ["mul"]
    assert f.source(X, mode="double").startswith("def scaled(x):")


def test_unhashable_static_argument_is_a_clear_error():
    f = dt.jit(lambda x, dims: x.sum(axis=dims), static_argnums=1)
    with pytest.raises(TypeError, match=r"static argument 1 must be hashable.*got a list.*tuple"):
        f(np.ones((2, 3)), [0])
    np.testing.assert_array_equal(f(np.ones((2, 3)), (0,)), np.full(3, 2.0))


def test_static_argnums_out_of_range_or_not_ints_fail_at_jit_time():
    with pytest.raises(ValueError, match=r"static_argnums \[2\] are out of range for power, which takes 2 "
                                         r"positional parameter\(s\) \(x, n\)"):
        dt.jit(power, static_argnums=2)
    with pytest.raises(ValueError, match=r"static_argnums \[-3\] are out of range"):
        dt.jit(power, static_argnums=(1, -3))
    with pytest.raises(ValueError, match="out of range"):
        dt.trace(power, static_argnums=5)(X, 3)
    with pytest.raises(TypeError, match="static_argnums must be ints"):
        dt.jit(power, static_argnums=("n",))
    assert dt.jit(lambda *xs: xs[0] * xs[1], static_argnums=1)(X, 2).tolist() == (X * 2).tolist()  # *args: any
    assert dt.jit(power, static_argnums=np.int64(1)).static_argnums == (1,)


def test_jit_of_something_not_callable_fails_at_jit_time():
    with pytest.raises(TypeError, match=r"jit expects a function .*got int 3"):
        dt.jit(3)
    with pytest.raises(TypeError, match=r"got str 'f'"):
        dt.jit(static_argnums=0)("f")


def test_non_array_dynamic_argument_suggests_static_argnums():
    with pytest.raises(TypeError, match=r"type str.*static_argnums"):
        dt.jit(lambda x, mode: x)(X, "fast")


def test_keyword_arguments_are_dynamic_and_part_of_the_signature():
    f = dt.jit(affine)
    np.testing.assert_allclose(f(X, scale=2.0), np.tanh(X) * 2.0 + 1.0)
    np.testing.assert_allclose(f(X, scale=3.0), np.tanh(X) * 3.0 + 1.0)
    assert f.trace_count == 1
    np.testing.assert_allclose(f(X), np.tanh(X) + 1.0)  # the default is baked into another trace
    assert f.trace_count == 2
    np.testing.assert_allclose(f(x=X, scale=np.full(3, 2.0)), np.tanh(X) * 2.0 + 1.0)
    assert f.trace_count == 3
    assert [v.hint for v in f.program(x=X, scale=np.full(3, 2.0)).inputs] == ["scale", "x"]


# ---- decorator forms and wrapping ------------------------------------------------------------------------------
@dt.jit
def plain(x):
    """Doubles x."""
    return x * 2


@dt.jit(static_argnums=1)
def with_static(x, n):
    return x * n


@dt.jit()
def empty_parens(x):
    return x + 1


def test_decorator_forms():
    np.testing.assert_array_equal(plain(X), X * 2)
    np.testing.assert_array_equal(with_static(X, 3), X * 3)
    np.testing.assert_array_equal(empty_parens(X), X + 1)
    assert isinstance(plain, dt.Jitted) and with_static.static_argnums == (1,)
    assert plain.__name__ == "plain" and plain.__doc__ == "Doubles x."
    assert repr(with_static).startswith("<dualtape.jit of with_static: ")


# ---- outputs ----------------------------------------------------------------------------------------------------
def test_outputs_are_numpy_never_tracers():
    def f(x, s):
        return {"same": x, "sum": x.sum(), "pair": (x * s, s)}

    out = dt.jit(f)(X, 2.0)
    assert type(out["same"]) is np.ndarray and type(out["pair"][0]) is np.ndarray
    assert isinstance(out["sum"], (np.ndarray, np.generic)) and out["pair"][1] == 2.0
    np.testing.assert_array_equal(out["pair"][0], X * 2.0)
    again = dt.jit(f)(X, 2.0)  # fast and slow paths return the same kinds
    assert type(again["same"]) is np.ndarray


def test_empty_and_constant_outputs():
    assert dt.jit(lambda x: None)(X) is None
    assert dt.jit(lambda x: ())(X) == ()
    assert dt.jit(lambda x: 3.0)(X) == 3.0
    assert dt.jit(lambda: 5)() == 5


def test_jit_under_an_outer_trace_returns_tracers_there_and_arrays_outside():
    inner = dt.jit(lambda a, s: a * s)

    def outer(x):
        y = inner(x, 2.0)
        assert getattr(y, "_dt_trace", None) is not None
        return y + 1

    np.testing.assert_array_equal(dt.jit(outer)(X), X * 2.0 + 1)
    assert type(inner(X, 2.0)) is np.ndarray


# ---- optimisation switch and logging ----------------------------------------------------------------------------
def redundant(x, y):
    a = dnp.sin(x) * y
    b = dnp.sin(x) * y  # a duplicate
    unused = dnp.exp(b)  # noqa: F841 - dead code
    return a + b, (a - b).sum()


def test_optimize_off_gives_identical_numbers(monkeypatch):
    y = np.array([1.5, 2.5, -0.5])
    optimised = dt.jit(redundant)
    first = optimised(X, y)
    monkeypatch.setattr(dt.config, "optimize", False)
    plain_ = dt.jit(redundant)
    for a, b in zip(first, plain_(X, y)):
        np.testing.assert_array_equal(a, b)
    assert len(plain_.program(X, y).eqns) > len(optimised.program(X, y).eqns)
    assert "exp" in dt.source(redundant, X, y)
    monkeypatch.setattr(dt.config, "optimize", True)
    assert "exp" not in dt.source(redundant, X, y)


def test_log_compiles_logs_each_trace_with_its_reason(monkeypatch, caplog):
    monkeypatch.setattr(dt.config, "log_compiles", True)
    def total(x, n):
        return dnp.sum(x[0] + x[1] if isinstance(x, list) else x) * n

    f = dt.jit(total, static_argnums=1)
    with caplog.at_level(logging.WARNING, logger="dualtape"):
        f(X, 2)
        f(X, 2)  # a hit: nothing logged
        f(X.astype(np.float32), 2)
        f(X, 3)
        f([X, X], 2)
    messages = [r.getMessage() for r in caplog.records if r.name == "dualtape"]
    assert messages == [
        "dualtape.jit: tracing total (first call): (f64[3])",
        "dualtape.jit: tracing total (new shapes or dtypes): (f32[3])",
        "dualtape.jit: tracing total (new static arguments #1=3): (f64[3])",
        "dualtape.jit: tracing total (new argument structure (([*, *],), {})): (f64[3], f64[3])",
    ]


def test_nothing_is_logged_by_default(caplog):
    assert dt.config.log_compiles is False
    with caplog.at_level(logging.DEBUG, logger="dualtape"):
        dt.jit(affine)(X)
    assert not [r for r in caplog.records if r.name == "dualtape"]


# ---- trace and source ----------------------------------------------------------------------------------------
def test_trace_returns_the_unoptimised_program_and_source_the_optimised_one():
    y = np.ones(3)
    program = dt.trace(redundant)(X, y)
    assert isinstance(program, dt.Program)
    assert [e.prim.name for e in program.eqns].count("sin") == 2
    assert dt.source(redundant, X, y).count("xp.sin(") == 1


def test_trace_static_argnums():
    program = dt.trace(power, static_argnums=1)(X, 3)
    assert [e.prim.name for e in program.eqns] == ["mul", "mul"] and len(program.inputs) == 1


def test_source_of_a_jitted_function_and_of_jitted_calls_inside():
    f = dt.jit(affine)
    assert f.source(X) == dt.source(f, X) == dt.source(affine, X)
    assert dt.source(lambda x: f(x) * 2, X, comments=False) == """\
def f(x):
    a = xp.tanh(x)
    a += 1.0
    a *= 2
    return a
"""


def test_a_jitted_functions_static_arguments_stay_static_in_trace_and_source():
    f = dt.jit(power, static_argnums=1)
    expected = "def power(x):\n    out = x * x\n    out_1 = out * x\n    return out_1\n"
    assert f.source(X, 3, comments=False) == dt.source(f, X, 3, comments=False) == expected
    assert [e.prim.name for e in dt.trace(f)(X, 3).eqns] == ["mul", "mul"]


def calls_jitted(x):
    return JITTED_AFFINE(x) * 2


JITTED_AFFINE = dt.jit(affine)


def test_inlined_jitted_code_keeps_the_source_lines_it_was_written_at():
    def line(fn, offset):
        return f"{os.path.basename(__file__)}:{inspect.getsourcelines(fn)[1] + offset}"

    assert dt.source(calls_jitted, X) == f"""\
def calls_jitted(x):
    # {line(affine, 1)}: return dnp.tanh(x) * scale + 1.0
    a = xp.tanh(x)
    a += 1.0
    # {line(calls_jitted, 1)}: return JITTED_AFFINE(x) * 2
    a *= 2
    return a
"""


# ---- deep programs ---------------------------------------------------------------------------------------------
def chain(x, n):
    for _ in range(n):
        x = x * 0.999 + 0.001
    return x


def numpy_chain(x, n):
    for _ in range(n):
        x = x * 0.999 + 0.001
    return x


def test_a_thousand_equation_program_traces_and_compiles():
    f = dt.jit(chain, static_argnums=1)
    out = f(X, 500)
    assert len(f.program(X, 500).eqns) == 1000
    np.testing.assert_allclose(out, numpy_chain(X, 500), rtol=1e-14)


def test_a_ten_thousand_equation_chain_works():
    program = dt.trace(chain, static_argnums=1)(X, 5000)
    assert len(program.eqns) == 10_000
    program.check()
    assert len(str(program).splitlines()) == 10_002
    out = dt.jit(chain, static_argnums=1)(X, 5000)
    np.testing.assert_allclose(out, numpy_chain(X, 5000), rtol=1e-12)


def test_jit_of_a_callable_object_is_named_after_its_class():
    class Scale:
        def __call__(self, x):
            return x * 3.0

    f = dt.jit(Scale())
    np.testing.assert_array_equal(f(X), X * 3.0)
    assert "Scale" in repr(f)
