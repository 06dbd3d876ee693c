"""Tracing: nesting, captured outer values, escaped tracers, concretization errors, readable names, the
profiler hook that reads them, and weakly typed Python scalar inputs."""

import inspect
import sys

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.avals import ShapedArray
from dualtape.core.primitive import REGISTRY
from dualtape.core.trace import StagingTrace, Trace, Tracer, bind, make_program, trace_of

X = np.arange(3, dtype=np.float32)


def prims(program):
    return [e.prim.name for e in program.eqns]


def line_of(fn, text: str) -> int:
    """The line number in this file of the line of fn's source containing text."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


# ---- bind ---------------------------------------------------------------------------------------------
def test_bind_on_plain_arrays_evaluates_now():
    out = bind(REGISTRY["mul"], X, 2.0)
    assert type(out) is np.ndarray and out.dtype == np.float32
    np.testing.assert_array_equal(out, X * 2)


def test_bind_hands_the_op_to_the_highest_level_trace():
    outer, inner = StagingTrace("outer"), StagingTrace("inner")
    assert inner.level > outer.level
    a = outer.new_input(ShapedArray((3,), np.float32))
    b = inner.new_input(ShapedArray((3,), np.float32))
    out = bind(REGISTRY["add"], a, b)
    assert out._dt_trace is inner and len(inner.eqns) == 1 and not outer.eqns
    assert inner.captures[0][1] is a  # the outer tracer is captured by the inner trace
    assert out.aval == ShapedArray((3,), np.float32)


class Boxed:
    """A toy value kind built on core alone: a box around a value, whose trace runs ops on the contents."""

    def __init__(self, value):
        self.value = value
        self._dt_trace = BOXES


class BoxTrace(Trace):
    """Level 0, like eager tensors: unboxes, binds again, boxes the result."""

    def __init__(self):
        self.seen = []

    def process(self, prim, args, params):
        self.seen.append(prim.name)
        return Boxed(bind(prim, *[a.value if type(a) is Boxed else a for a in args], **params))

    def unwrap(self, x):
        return x.value


BOXES = BoxTrace()


def test_a_value_kind_plugs_into_bind_through_a_trace():
    assert trace_of(X) is None and trace_of(Boxed(X)) is BOXES and BOXES.level == 0 and BOXES.active
    out = bind(REGISTRY["mul"], Boxed(X), 2.0)
    assert type(out) is Boxed and BOXES.seen == ["mul"]
    np.testing.assert_array_equal(out.value, X * 2)


def test_a_value_wrapping_the_top_traces_value_handles_the_op_first():
    """A box holding a tracer handles an op with another tracer of that trace (it unboxes, then the trace
    records); a box of a plain array is, to the trace, its contents (a captured constant)."""
    BOXES.seen.clear()
    trace = StagingTrace("boxes")
    a = trace.new_input(ShapedArray((3,), np.float32))
    out = bind(REGISTRY["add"], Boxed(a), a)
    assert type(out) is Boxed and BOXES.seen == ["add"] and out.value._dt_trace is trace
    plain = bind(REGISTRY["add"], Boxed(X), a)
    assert type(plain) is Tracer and BOXES.seen == ["add"]
    np.testing.assert_array_equal(trace.captures[0][1], X)


# ---- nesting ------------------------------------------------------------------------------------------
@dt.jit
def scaled_sine(a):
    return dnp.sin(a) * 2.0


def uses_jitted(x):
    y = scaled_sine(x)
    return y + 1.0


def test_jitted_function_called_under_a_trace_is_inlined():
    before = scaled_sine.trace_count
    program = dt.trace(uses_jitted)(X)
    assert prims(program) == ["sin", "mul", "add"]
    assert all(not isinstance(p, dt.Program) for e in program.eqns for p in e.params.values())
    program.check()
    dt.trace(uses_jitted)(X)
    assert scaled_sine.trace_count == before + 1  # the second trace hits the inner cache
    np.testing.assert_allclose(dt.jit(uses_jitted)(X), np.sin(X) * 2 + 1, rtol=1e-6)


def test_function_closing_over_an_outer_tracer_captures_it():
    seen = {}

    def outer(x):
        def body(z):
            return z * x

        seen["inner"] = dt.trace(body)(x + 1)
        seen["x"] = x
        return dt.jit(body)(x)

    program = dt.trace(outer)(X)
    inner = seen["inner"]
    assert [v for v, _ in inner.captures] and inner.captures[0][1] is seen["x"]
    assert str(inner).splitlines()[1] == "  captures x:f32[3]"
    assert prims(program) == ["add", "mul"]
    np.testing.assert_allclose(dt.jit(outer)(X), X * X)


def test_jitted_function_closing_over_an_outer_tracer_is_not_cached():
    def outer(x):
        return dt.jit(lambda z: z + x)(X)

    f = dt.jit(outer)
    np.testing.assert_allclose(f(X), 2 * X)
    np.testing.assert_allclose(f(X + 1), 2 * X + 1)


# ---- escaped tracers ------------------------------------------------------------------------------------
leaked = None


def leaks(x):
    global leaked
    leaked = x * 2
    return x


@pytest.mark.parametrize(
    "use",
    [
        lambda: leaked + 1,
        lambda: dnp.sin(leaked),
        lambda: np.sin(leaked),
        lambda: dt.jit(lambda y: y + leaked)(X),
        lambda: dt.jit(lambda y: leaked * 3)(X),
    ],
    ids=["operator", "dnp", "numpy", "new-trace", "new-trace-alone"],
)
def test_escaped_tracer_raises_naming_it(use):
    dt.jit(leaks)(X)
    assert isinstance(leaked, Tracer)
    with pytest.raises(dt.EscapedTracerError) as info:
        use()
    message = str(info.value)
    assert "Tracer<leaked:f32[3]>" in message and "escaped" in message
    assert f"created at {__file__}:{line_of(leaks, 'leaked = x * 2')} in leaks" in message
    assert "fix: return the value" in message


# ---- concretization -------------------------------------------------------------------------------------
def branches(x):
    if x.sum() > 0:
        return x
    return -x


def counts(x):
    n = int(x[0])
    return x * n


def converts(x):
    return np.asarray(x) + 1


def loops(x):
    while x.max() < 10:
        x = x * 2
    return x


def lists(x):
    return x * len(x.tolist())


def items(x):
    return x * x.sum().item()


@pytest.mark.parametrize(
    "fn, text, what",
    [
        (branches, "if x.sum() > 0:", "bool"),
        (counts, "n = int(x[0])", "int"),
        (converts, "return np.asarray(x) + 1", "NumPy array"),
        (loops, "while x.max() < 10:", "bool"),
        (lists, "return x * len(x.tolist())", "list (.tolist())"),
        (items, "return x * x.sum().item()", "float"),
    ],
)
def test_concretization_errors_name_the_line_and_suggest_control_flow(fn, text, what):
    """(With autograph off: autograph converts the if and the while; tests/autograph covers that.)"""
    with pytest.raises(dt.ConcretizationError) as info:
        dt.jit(fn, autograph=False)(X)
    message = str(info.value)
    assert isinstance(info.value, TypeError)
    assert what in message
    assert f"{__file__}:{line_of(fn, text)} in {fn.__name__}: {text}" in message
    assert "dt.cond" in message and "dt.while_loop" in message
    assert sys.getprofile() is None


def test_float_and_index_of_a_tracer_raise_concretization_errors():
    with pytest.raises(dt.ConcretizationError, match="float"):
        dt.trace(lambda x: float(x.sum()))(X)
    with pytest.raises(dt.ConcretizationError, match="index"):
        dt.trace(lambda x: [1, 2, 3][x.sum()])(X)


# ---- names ------------------------------------------------------------------------------------------------
def test_input_names_come_from_parameters_and_pytree_keys():
    def model(params, data, *extra):
        return params["layer"][0] @ data["x"] + params["layer"][1] + extra[0] + extra[1]

    params = {"layer": (np.ones((2, 3)), np.ones(2))}
    program = dt.trace(model)(params, {"x": np.ones(3)}, 1.0, np.ones(2))
    assert [v.hint for v in program.inputs] == [
        "params_layer_0", "params_layer_1", "data_x", "extra_0", "extra_1",
    ]


def test_input_names_of_keyword_arguments_and_lambdas():
    program = dt.trace(lambda x, *, scale: x * scale)(X, scale=np.float32(2))
    assert str(program).splitlines()[0] == "program f(x:f32[3], scale:f32[]):"
    program = dt.trace(lambda a, b: a + b, static_argnums=0)(2.0, X)
    assert [v.hint for v in program.inputs] == ["b"]


def local_names(x, w):
    hidden = dnp.tanh(x * w)
    scaled = hidden * 3.0
    return scaled.sum()


def test_local_variable_names_are_used_in_the_listing():
    program = dt.trace(local_names)(X, X)
    assert str(program) == """\
program local_names(x:f32[3], w:f32[3]):
  a:f32[3] = mul x w
  hidden:f32[3] = tanh a
  scaled:f32[3] = mul hidden 3.0
  b:f32[] = reduce_sum[axes=(0,), keepdims=False] scaled
  return b"""


def test_a_nested_trace_names_its_own_locals():
    inner_programs = []

    def outer(x):
        inner_programs.append(dt.trace(local_names)(x, x))
        return x

    dt.trace(outer)(X)
    assert [v.hint for e in inner_programs[0].eqns for v in e.outs][1:3] == ["hidden", "scaled"]
    assert sys.getprofile() is None


# ---- the profiler hook ---------------------------------------------------------------------------------------
def test_profiler_hook_is_removed_after_tracing_even_on_error():
    assert sys.getprofile() is None
    dt.trace(local_names)(X, X)
    assert sys.getprofile() is None

    def fails(x):
        y = x + 1  # noqa: F841 - a local the hook reads while the exception propagates
        raise KeyError("boom")

    with pytest.raises(KeyError):
        dt.trace(fails)(X)
    assert sys.getprofile() is None


def test_a_users_profiler_is_never_displaced():
    events = []

    def profiler(frame, event, arg):
        events.append((event, frame.f_code.co_name))

    sys.setprofile(profiler)
    try:
        program = dt.trace(local_names)(X, X)
        during = sys.getprofile()
    finally:
        sys.setprofile(None)
    assert during is profiler
    assert ("call", "local_names") in events and ("return", "local_names") in events
    assert prims(program) == ["mul", "tanh", "mul", "reduce_sum"]  # still traced, only without local names
    program.check()


# ---- scalars and tracer attributes --------------------------------------------------------------------------
def test_python_scalar_arguments_are_weakly_typed():
    program = dt.trace(lambda x, s: x * s)(X, 2.0)
    assert program.inputs[1].aval.weak and str(program.inputs[1].aval) == "f64[]"
    assert program.outputs[0].aval.dtype == np.float32
    out = dt.jit(lambda x, s: x * s)(X, 2.0)
    assert out.dtype == np.float32
    strong = dt.trace(lambda x, s: x * s)(X, np.float64(2.0))
    assert not strong.inputs[1].aval.weak and strong.outputs[0].aval.dtype == np.float64


def test_tracer_reports_shape_dtype_and_iterates_rows():
    seen = {}

    def f(m):
        seen.update(shape=m.shape, dtype=m.dtype, ndim=m.ndim, size=m.size, len=len(m), repr=repr(m))
        rows = list(m)
        return rows[0] + rows[1]

    program = dt.trace(f)(np.ones((2, 3), np.int32))
    assert seen == {"shape": (2, 3), "dtype": np.int32, "ndim": 2, "size": 6, "len": 2, "repr": "Tracer<m:i32[2,3]>"}
    assert prims(program) == ["getitem", "getitem", "add"]


def test_len_and_iteration_of_a_scalar_tracer_raise():
    with pytest.raises(TypeError, match="len"):
        dt.trace(lambda x: len(x.sum()))(X)
    with pytest.raises(TypeError, match="iteration"):
        dt.trace(lambda x: list(x.sum()))(X)


def test_make_program_returns_the_output_structure():
    program, out_tree = make_program(lambda a: {"y": a * 2, "z": (a, None)}, (X,))
    assert repr(out_tree) == "{'y': *, 'z': (*, None)}"
    assert len(program.outputs) == 2 and program.outputs[1] is program.inputs[0]


def test_zero_dim_array_and_numpy_scalars_become_literals():
    program = dt.trace(lambda x: x * np.array(2.0, np.float32) + np.float32(1))(X)
    assert not program.captures
    assert str(program).splitlines()[1:3] == ["  a:f32[3] = mul x 2.0:f32", "  b:f32[3] = add a 1.0:f32"]


def test_a_string_where_an_array_is_expected_is_a_clear_error():
    with pytest.raises(TypeError, match="got a str"):
        dt.jit(lambda x: (x * 2, "aux"))(X)
    with pytest.raises(TypeError, match="got a str"):
        dt.grad(lambda x: (dnp.sum(x), "aux"))(X)  # (in has_aux's aux output it would pass through, as in JAX)


# ---- traced values are immutable ------------------------------------------------------------------------
def assigns(a):
    a[0] = 0.0
    return a


def test_item_assignment_is_a_clear_error_suggesting_index_update():
    with pytest.raises(TypeError) as info:
        dt.jit(assigns)(X)
    message = str(info.value)
    assert "traced values are immutable" in message and "Tracer<a:f32[3]>" in message
    assert f"{__file__}:{line_of(assigns, 'a[0] = 0.0')} in assigns: a[0] = 0.0" in message
    assert "dnp.index_update(x, index, value)" in message and "x.at[index].set(value)" in message
    for transform in (lambda f: dt.grad(lambda a: dnp.sum(f(a))), lambda f: lambda a: dt.jvp(f, (a,), (a,)),
                      dt.vmap):  # (every kind of traced value)
        with pytest.raises(TypeError, match="immutable"):
            transform(assigns)(np.ones((2, 3)))


def test_copy_of_a_traced_value_is_the_value():
    program = dt.trace(lambda a: a.copy() * 2)(X)
    assert prims(program) == ["mul"]
    np.testing.assert_array_equal(dt.jit(lambda a: a.copy())(X), X)
    np.testing.assert_array_equal(dt.grad(lambda a: dnp.sum(a.copy() ** 2))(X), 2 * X)


def test_size_is_numpys_int_attribute():
    sizes = []
    dt.trace(lambda a: sizes.append(a.size) or a)(np.ones((2, 3)))
    assert sizes == [6] and type(sizes[0]) is int



def test_at_set_add_get_as_in_jax(jax):
    """`x.at[index].set(v)` / `.add(v)` / `.get()`: new values (x is unchanged), with JAX's values and
    derivatives, under every transform."""
    x = np.arange(6.0).reshape(2, 3) / 7

    def body(a):
        b = a.at[0, 1].set(a[1, 2] * 3.0)
        c = b.at[:, np.array([2, 2])].add(a[:, 0] ** 2)
        return (c * a).sum() + b.at[1].get().sum() * 0.5 + a[0, 1]

    expected = float(body(jax.numpy.asarray(x)))
    assert np.isclose(dt.jit(body)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(dt.grad(body)(x), jax.grad(body)(x), rtol=1e-13)
    np.testing.assert_allclose(dt.jvp(body, (x,), (np.ones_like(x),))[1],
                               jax.jvp(body, (x,), (np.ones_like(x),))[1], rtol=1e-13)
    np.testing.assert_allclose(dt.vmap(body)(np.stack([x, -x])), jax.vmap(body)(np.stack([x, -x])), rtol=1e-13)


def test_detach_and_clone_on_traced_values_as_on_tensors():
    """A body written for eager tensors works traced: detach() is a stop_gradient, clone() the value."""
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(dt.grad(lambda v: (v * v.detach()).sum())(x), x)
    np.testing.assert_array_equal(dt.grad(lambda v: (v * v.clone()).sum())(x), 2 * x)
    np.testing.assert_array_equal(dt.grad(lambda t: (t * t.detach()).sum())(dt.tensor(x)), x)
