"""Emitted code under array-api-strict, the array API standard's reference namespace, which refuses what the
standard leaves out (NumPy's own functions and methods, scalar types, partial indices, mixed dtypes): each
primitive's equation alone, and its case's value, JVP and VJP programs, run with `xp = array_api_strict` and
agree with NumPy. The primitives `codegen/portable.py` lists in NON_STANDARD (per-backend helpers, NumPy
functions the standard lacks) are skipped by that list, and each must really fail there, so it cannot go stale.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, note, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.avals import ShapedArray
from dualtape.codegen import portable
from dualtape.codegen.emit import ArrayAPIEmitter, emit_program
from dualtape.codegen.runtime import Compiled
from dualtape.core.ir import Eqn, Program, Var, all_eqns
from dualtape.core.primitive import REGISTRY
from dualtape.ops import elementwise as ew
from dualtape.transforms.evaluate import eval_program
from dualtape.transforms.passes import optimize
from primitive_cases import CASES, DIFFERENTIABLE, EXAMPLES, draw_args
from testkit import derivative_programs

strict = pytest.importorskip("array_api_strict")

NON_STANDARD = portable.non_standard()
BOUNDED = settings(max_examples=3, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REACHED_BY_VJP = {"while_loop_tape", "while_loop_adjoint"}  # (the while_loop case's VJP program runs them)


def _prims(program) -> set[str]:
    return {eqn.prim.name for eqn in all_eqns(program)}


def _to_strict(value):
    return strict.asarray(value) if isinstance(value, (np.ndarray, np.generic)) else value


def on_strict(program: Program, args) -> list:
    """The program's emitted source (ArrayAPIEmitter's) run with xp = array_api_strict on its arrays; its
    results as NumPy arrays (or Python scalars)."""
    emitted = emit_program(program, comments=False, emitter=ArrayAPIEmitter)
    namespace = {"xp": strict, **{k: _to_strict(v) for k, v in emitted.globals.items()}}
    exec(compile(emitted.source, "<array_api_strict>", "exec"), namespace)  # noqa: S102 - our own emitted code
    outs = namespace[emitted.name](*map(_to_strict, args))
    outs = outs if len(program.outputs) != 1 else (outs,)
    return [np.asarray(o) if hasattr(o, "__array_namespace__") else o for o in outs]


def on_numpy(program: Program, args) -> list:
    outs = Compiled(program)(*args)
    return list(outs) if len(program.outputs) != 1 else [outs]


def assert_agree(program: Program, args, what: str) -> None:
    """Strict's results match NumPy's in shape, dtype and value."""
    with np.errstate(all="ignore"):
        expected = on_numpy(program, args)
        got = on_strict(program, args)
    source = emit_program(program, comments=False, emitter=ArrayAPIEmitter).source
    for g, e in zip(got, expected):
        g_arr, e_arr = np.asarray(g), np.asarray(e)
        assert (g_arr.shape, g_arr.dtype) == (e_arr.shape, e_arr.dtype), f"{what}: {g_arr.dtype}{g_arr.shape}\n{source}"
        np.testing.assert_allclose(g_arr, e_arr, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=f"{what}\n{source}")


def fails_on_strict(program: Program, args) -> bool:
    try:
        with np.errstate(all="ignore"):
            on_strict(program, args)
    except Exception:  # noqa: BLE001 - any refusal (a missing name, a keyword, a dtype, an index) counts
        return True
    return False


def alone(name: str, fn, args) -> tuple[Program, list]:
    """A program of the first equation of primitive `name` in fn's value program, with its operands' values:
    what emitted code does for that primitive, apart from every other one."""
    with np.errstate(all="ignore"):
        traced = dt.trace(fn)(*args)
        program = optimize(traced)
    if not any(e.prim.name == name for e in program.eqns):  # (rewritten away, e.g. a (1, 1) @ (1, 1) product)
        program = traced
    i = next(i for i, e in enumerate(program.eqns) if e.prim.name == name)
    eqn = program.eqns[i]
    inputs = list({a.id: a for a in eqn.inputs if type(a) is Var}.values())
    before = Program(program.inputs, program.eqns[:i], inputs, program.captures)
    with np.errstate(all="ignore"):
        values = eval_program(before, list(args))
    return Program(inputs, [eqn], list(eqn.outs), name="alone"), values


@st.composite
def case_args(draw, name: str):
    """(fn, args) of the primitive's derivative case, drawn as its suites draw them."""
    case = CASES[name]
    shape_list, params, dtypes = draw(case.layout)
    args = draw_args(draw, case, shape_list, dtypes)
    if name == "custom_vjp_call":  # (its rule returns (g, g): one shape)
        args = (args[0], np.full_like(args[0], 0.5))
    return case.call(params), args


# ---- each primitive alone ----------------------------------------------------------------------------------
def test_every_primitive_is_run():
    walked = set(DIFFERENTIABLE) | set(EXAMPLES) | REACHED_BY_VJP | {"full"}
    assert sorted(set(REGISTRY) - walked) == [], "primitives whose emitted code this file does not run"
    assert sorted(set(NON_STANDARD) - set(REGISTRY)) == [], "NON_STANDARD names primitives that do not exist"


STANDARD_DIFFERENTIABLE = sorted(set(DIFFERENTIABLE) - set(NON_STANDARD))
STANDARD_EXAMPLES = sorted(set(EXAMPLES) - set(NON_STANDARD))


@pytest.mark.parametrize("name", STANDARD_DIFFERENTIABLE)
@BOUNDED
@given(data=st.data())
def test_each_primitive_alone_runs_on_strict(name, data):
    fn, args = data.draw(case_args(name))
    note(f"args={[(np.shape(a), np.asarray(a).dtype) for a in args]}")
    assert_agree(*alone(name, fn, args), f"{name} alone")


@pytest.mark.parametrize("name", STANDARD_EXAMPLES)
def test_each_other_primitive_alone_runs_on_strict(name):
    fn, arg_lists = EXAMPLES[name]
    for args in arg_lists:
        assert_agree(*alone(name, fn, args), f"{name} on {[np.asarray(a).dtype for a in args]}")


def test_full_runs_on_strict_for_every_dtype():
    """full has no operands (tracing evaluates it at once): a hand-made program per dtype (the standard's: it
    has no float16)."""
    for dtype in (d for d in portable.DTYPES if hasattr(strict, d)):
        out = Var(ShapedArray((2, 3), getattr(np, dtype)))
        params = {"shape": (2, 3), "fill_value": 1, "dtype": np.dtype(getattr(np, dtype))}
        assert_agree(Program([], [Eqn(ew.full_p, [], params, [out])], [out]), [], f"full {dtype}")


@pytest.mark.parametrize("name", sorted(NON_STANDARD))
def test_each_listed_primitive_fails_on_strict(name):
    """The list names only primitives whose emitted code strict refuses, for some operands of its case."""
    if name in EXAMPLES:
        fn, arg_lists = EXAMPLES[name]
        assert any(fails_on_strict(*alone(name, fn, args)) for args in arg_lists), f"{name} runs on strict"
        return
    find(case_args(name), lambda drawn: fails_on_strict(*alone(name, *drawn)),
         settings=settings(max_examples=40, deadline=None, database=None, phases=[Phase.generate],
                           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]))


# ---- whole programs: value, JVP and VJP ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@settings(max_examples=2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_value_jvp_and_vjp_programs_run_on_strict(name, data):
    """Each of the case's programs that calls nothing NON_STANDARD lists runs on strict as on NumPy."""
    fn, args = data.draw(case_args(name))
    for kind, program, program_args in derivative_programs(fn, args):
        if _prims(program) & set(NON_STANDARD):
            continue  # (skipped by the list: it calls a per-backend helper or a NumPy-only function)
        assert_agree(program, program_args, f"{name} {kind}")


# ---- what the array API emitter writes ---------------------------------------------------------------------
def test_typed_literals_are_zero_d_arrays_of_their_dtype():
    """The standard has no scalar types: a float32 literal is xp.asarray(0.1, dtype=xp.float32) there, and
    stays xp.float32(0.1) for NumPy and CuPy (a kernel argument on a GPU, not a copy to the device)."""
    x = np.linspace(-1.0, 1.0, 6, dtype=np.float32)
    program = optimize(dt.trace(lambda v: v * np.float32(0.1))(x))
    assert "xp.asarray(0.1, dtype=xp.float32)" in emit_program(program, emitter=ArrayAPIEmitter).source
    assert "xp.float32(0.1)" in emit_program(program).source
    assert_agree(program, [x], "float32 literal")


def test_standard_names_in_emitted_source():
    x = np.linspace(-0.5, 0.5, 6).reshape(2, 3)
    text = dt.source(lambda a: dnp.concatenate([dnp.arcsin(a), dnp.arctan2(a, a)]).transpose(), x)
    assert "xp.asin(a)" in text and "xp.atan2(a, a)" in text and "xp.concat(" in text and ".T" in text
    assert "xp.permute_dims(a, (2, 0, 1))" in dt.source(lambda a: dnp.transpose(a, (2, 0, 1)), x.reshape(1, 2, 3))
    assert "xp.bool" in dt.source(lambda a: dnp.astype(a, bool), x) and "bool_" not in dt.source(
        lambda a: dnp.astype(a, bool), x)


def test_the_numpy_names_of_the_standard_ones_are_numpys():
    """NUMPY_NAMES (dask.array's spellings) pairs each standard name with the same NumPy function."""
    for standard, numpy_name in portable.NUMPY_NAMES.items():
        assert getattr(np, standard) is getattr(np, numpy_name), standard
