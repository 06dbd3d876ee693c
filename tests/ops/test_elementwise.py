"""Elementwise primitives against NumPy: eager, per-equation impl and abstract_eval, and dt.jit, over random
shapes (0-d and size-0 included), dtypes, broadcasting and Python-scalar operands."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from dualtape.ops import elementwise as ew
from opcheck import check_op, prim_names
from primitive_cases import BINARY, ELEMENTWISE
from strategies import FLOATS, INTS, broadcastable_shapes, operands, power_by_value

EMITTED_AS_CONSTANT = {"full"}  # no operands, so bind() evaluates it even under a trace: a captured constant


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(ELEMENTWISE[name].values, label="case")
    assume(not power_by_value(name, args))
    prim = None if name in EMITTED_AS_CONSTANT else REGISTRY[name]
    check_op(np_fn, dt_fn, args, prim=prim)


@pytest.mark.parametrize("name", sorted(name for name, case in BINARY.items() if case.operator))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_operators_match_numpy(name, data):
    case = BINARY[name]
    x, y = data.draw(operands(data.draw(broadcastable_shapes(2)), case.dtypes, case.value_domains, scalars=False))
    assume(not power_by_value(name, (x, y)))
    check_op(case.ref, case.operator, (x, y), prim=REGISTRY[name])


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("scalar", [2.0, 3, True], ids=["float", "int", "bool"])
def test_python_scalar_takes_the_array_dtype(name, scalar):
    """x32 op 2.0, 2.0 op x32 (closed over and passed as an argument) give what NumPy gives: float32."""
    dt_fn, np_fn = BINARY[name].fn, BINARY[name].ref
    x = np.array([[0.5, 1.5, 2.5]], np.float32)
    for args, fn_np, fn_dt in [
        ((x,), lambda x: np_fn(x, scalar), lambda x: dt_fn(x, scalar)),
        ((x,), lambda x: np_fn(scalar, x), lambda x: dt_fn(scalar, x)),
        ((x, scalar), np_fn, dt_fn),
        ((scalar, x), np_fn, dt_fn),
    ]:
        program = check_op(fn_np, fn_dt, args)
        if name not in ("eq", "ne", "lt", "le", "gt", "ge") and not name.startswith("logical"):
            assert program.out_avals[0].dtype == np.float32


def test_float32_chain_with_python_scalars_stays_float32():
    """Every intermediate of an expression mixing float32 arrays and Python scalars is float32."""

    def f(x):
        y = (x * 2.0 + 1) / 3.0 - x ** 2 + 0.5 ** x
        return dnp.where(y > 0.1, dnp.exp(-y) * 1e-3, dnp.maximum(y, -1.0)) % 2.0

    x = np.linspace(-2, 2, 7, dtype=np.float32)
    program = check_op(lambda x: _numpy_f(x), f, (x,))
    assert all(v.aval.dtype in (np.float32, np.bool_) for e in program.eqns for v in e.outs), str(program)


def _numpy_f(x):
    y = (x * 2.0 + 1) / 3.0 - x ** 2 + 0.5 ** x
    return np.where(y > 0.1, np.exp(-y) * 1e-3, np.maximum(y, -1.0)) % 2.0


@pytest.mark.parametrize("dtype", [*FLOATS, *INTS])
def test_python_int_power_is_integer_pow(dtype):
    x = np.arange(-3, 4).astype(dtype)
    program = check_op(lambda x: x ** 3, lambda x: x ** 3, (x,), prim=ew.integer_pow_p)
    assert prim_names(program) == ["integer_pow"]


def test_power_of_one_is_a_new_value_that_compiled_code_drops():
    x = np.arange(3.0)
    y = dnp.power(x, 1)
    assert y is not x and np.array_equal(y, x)  # (a new array, as NumPy's: changing it leaves x alone)
    code = [line for line in dt.source(lambda x: dnp.power(x, 1) * 2.0, x).splitlines() if "#" not in line]
    assert not any("**" in line for line in code)  # (simplify drops x ** 1)


def test_sigmoid_does_not_overflow():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], np.float32)
    with np.errstate(over="raise"):
        out = dt.jit(dnp.sigmoid)(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 1.9287498e-22, 0.5, 1.0, 1.0], rtol=1e-6)


def test_full_impl_abstract_eval_and_template():
    """full has no operands: check its impl and shape/dtype rule directly, and its emitted template by
    compiling a one-equation program."""
    from dualtape.codegen.runtime import Compiled
    from dualtape.core.ir import Eqn, Program, Var

    params = dict(shape=(2, 0, 3), fill_value=1.5, dtype=np.dtype(np.float32))
    expected = np.full((2, 0, 3), 1.5, np.float32)
    value = ew.full_p.impl(**params)
    aval = ew.full_p.abstract_eval(**params)
    assert value.dtype == expected.dtype and value.shape == expected.shape
    assert (aval.shape, aval.dtype) == (expected.shape, expected.dtype)
    for shape, fill, dtype in [((2, 3), 1.5, np.float32), ((), -2, np.int64), ((4,), True, np.bool_)]:
        params = dict(shape=shape, fill_value=fill, dtype=np.dtype(dtype))
        out = Var(ew.full_p.abstract_eval(**params))
        compiled = Compiled(Program([], [Eqn(ew.full_p, [], params, [out])], [out]))
        result = compiled.fn()
        np.testing.assert_array_equal(result, np.full(shape, fill, dtype))
        assert np.asarray(result).dtype == dtype


def test_shape_mismatch_names_op_shapes_and_user_line():
    x, y = np.ones((2, 3), np.float32), np.ones((4,), np.float32)

    def f(x, y):
        return x * y  # the failing line

    line = f.__code__.co_firstlineno + 1
    with pytest.raises(ValueError) as info:
        dt.jit(f)(x, y)
    message = str(info.value)
    assert "mul" in message and "(2, 3)" in message and "(4,)" in message
    assert f"test_elementwise.py:{line}" in message, message


def test_where_three_way_shape_mismatch():
    def f(c, x, y):
        return dnp.where(c, x, y)

    with pytest.raises(ValueError, match=r"where.*\(2,\).*\(3,\).*\(1,\)"):
        dt.jit(f)(np.ones(2, bool), np.ones(3), np.ones(1))


def test_astype_of_a_python_scalar():
    """dnp.astype accepts Python scalars like np.asarray(...).astype does."""
    out = dnp.astype(2.5, np.float32)
    assert np.asarray(out).dtype == np.float32 and out == np.float32(2.5)
    jitted = dt.jit(lambda x: dnp.astype(x, np.float64) * np.float32(2))(1.5)
    assert np.asarray(jitted).dtype == (np.asarray(1.5).astype(np.float64) * np.float32(2)).dtype


@pytest.mark.parametrize(
    "fn, reference",
    [
        (dnp.sin, np.sin),
        (dnp.exp, np.exp),
        (dnp.abs, np.abs),
        (lambda s: dnp.astype(s, np.float64), lambda s: np.asarray(s, np.float64)),
    ],
    ids=["sin", "exp", "abs", "astype"],
)
def test_numpy_function_of_a_python_scalar_is_strongly_typed(fn, reference):
    """np.sin(1.5) is a float64 NumPy scalar, not a weak Python float, so np.sin(s) * x32 is float64. With s a
    Python-float argument of dt.jit, the traced avals must say the same as the values computed."""
    x = np.array([1.0, 2.0], np.float32)
    check_op(lambda s, x: reference(s) * x, lambda s, x: fn(s) * x, (1.5, x))


def test_relu_keeps_nan_and_has_derivative_zero_at_zero_in_every_mode():
    x = np.array([-1.0, 0.0, 2.0, np.nan])
    np.testing.assert_array_equal(dnp.relu(x)[:3], [0.0, 0.0, 2.0])
    assert np.isnan(dnp.relu(x)[3]) and np.isnan(dt.jit(dnp.relu)(x)[3])  # as PyTorch: relu(nan) is nan
    finite = x[:3]
    np.testing.assert_array_equal(dt.grad(lambda v: dnp.sum(dnp.relu(v)))(finite), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(dt.jvp(dnp.relu, (finite,), (np.ones(3),))[1], [0.0, 0.0, 1.0])
    t = dt.tensor(finite, requires_grad=True)
    y = t.relu()
    y.sum().backward()
    assert y.grad_fn.name() == "ReluBackward0" and t.grad.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_bitwise_operators_on_traced_values_match_numpy(dtype):
    """& | ^ ~ are bitwise on integers (as NumPy and PyTorch) and stay the logical primitives on booleans."""
    x = np.array([1, 2, 4, 7, 0]).astype(dtype)
    y = np.array([3, 1, 6, 0, 0]).astype(dtype)
    ops = {"bitwise_and": lambda a, b: a & b, "bitwise_or": lambda a, b: a | b,
           "bitwise_xor": lambda a, b: a ^ b, "invert": lambda a, b: ~a, "reflected": lambda a, b: 3 & a}
    for name, op in ops.items():
        program = check_op(op, op, (x, y), eager=False)
        if dtype is np.bool_ and name != "reflected":
            assert prim_names(program) == ["logical_" + {"invert": "not"}.get(name, name[8:])]
        else:
            assert prim_names(program) == [name if name != "reflected" else "bitwise_and"]
