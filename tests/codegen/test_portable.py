"""The portable-function registry (codegen/portable.py) guards the CuPy path on machines without a GPU: every
primitive's value, JVP and VJP programs are emitted and parsed, and each `xp.<path>` they (and the runtime
helpers) use must be listed, with listed keywords, and get an array (never a literal) where CuPy needs one.
The registry itself must name only functions NumPy has, and CuPy too where CuPy is importable."""

import ast
import inspect
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.avals import ShapedArray
from dualtape.codegen import portable
from dualtape.codegen.emit import emit_program
from dualtape.core.ir import Eqn, Program, Var, all_eqns
from dualtape.core.primitive import REGISTRY
from dualtape.ops import elementwise as ew
from primitive_cases import DIFFERENTIABLE, EXAMPLES, draw_case, example_array

F32, F64 = np.float32, np.float64
REACHED_BY_VJP = {"while_loop_tape": "while_loop", "while_loop_adjoint": "while_loop"}  # adjoint-only primitives


def _prims(program) -> set[str]:
    return {eqn.prim.name for eqn in all_eqns(program)}


def _is_literal(node) -> bool:
    """A number or bool written into the source: 2.0, -1, True, xp.float32(0.5), xp.nan, -xp.inf."""
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.Call) and portable._path(node.func) in portable.DTYPES:
        return True
    return isinstance(node, ast.Constant) or portable._path(node) in portable.CONSTANTS


def assert_portable(source: str) -> set[str]:
    """Every xp use in source is listed with listed keywords, no literal sits where CuPy needs an array, and
    every other attribute read is a listed attribute; returns the xp paths used."""
    assert portable.problems(source) == [], source
    tree = ast.parse(source)
    uses = portable.xp_uses(tree)
    for use in uses:
        spec = portable.FUNCTIONS.get(use.path)
        for i in spec.arrays if spec else ():
            operand = use.args[i:i + 1]
            operands = operand[0].elts if operand and isinstance(operand[0], ast.List) else operand
            assert not any(_is_literal(a) for a in operands), f"a literal operand of xp.{use.path}:\n{source}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and portable._path(node) is None and portable._path(node.value) is None:
            assert node.attr in portable.ATTRIBUTES, f".{node.attr} is not a listed attribute:\n{source}"
    return {u.path for u in uses}


def sources(fn, args, derivatives=True) -> tuple[set[str], list[str]]:
    """(primitives, sources) of fn's value program, and of its JVP and VJP programs when derivatives."""
    programs = [dt.trace(fn)(*args)]
    texts = [dt.source(fn, *args, comments=False)]
    if derivatives:
        n = len(args)
        tangents = tuple(np.ones_like(a) for a in args)
        out = np.asarray(fn(*args))
        cotangent = np.linspace(-1.0, 1.0, out.size).reshape(out.shape).astype(out.dtype)
        jvp = lambda *a: dt.jvp(fn, a[:n], a[n:])
        vjp = lambda *a: dt.vjp(fn, *a[:n])[1](a[n])
        for g, g_args in ((jvp, args + tangents), (vjp, args + (cotangent,))):
            programs.append(dt.trace(g)(*g_args))
            texts.append(dt.source(g, *g_args, comments=False))
    return set().union(*map(_prims, programs)), texts


# ---- the registry, walked ----------------------------------------------------------------------------------
def test_every_primitive_is_walked():
    walked = set(DIFFERENTIABLE) | set(EXAMPLES) | set(REACHED_BY_VJP) | {"full"}
    assert sorted(set(REGISTRY) - walked) == [], "primitives whose emitted code no portability test covers"
    assert sorted(walked - set(REGISTRY)) == []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_value_programs_are_portable(name):
    fn, arg_lists = EXAMPLES[name]
    for args in arg_lists:
        with np.errstate(all="ignore"):
            prims, texts = sources(fn, args, derivatives=False)
        assert name in prims, f"{name} is not in the program of its case"
        assert_portable(texts[0])


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_value_jvp_and_vjp_programs_are_portable(name, data):
    case, shape_list, params, dtypes, args = draw_case(data, name)
    if dtypes is None and data.draw(st.booleans(), label="float32"):
        args = tuple(a.astype(F32) for a in args)
    note(f"shapes={shape_list} params={params} dtypes={[a.dtype for a in args]}")
    fn = case.call(params)
    with np.errstate(all="ignore"):
        prims, texts = sources(fn, args)
    assert name in prims, f"the case does not reach {name}"
    if name == "while_loop":
        assert set(REACHED_BY_VJP) <= prims
    for text in texts:
        assert_portable(text)


def test_full_is_portable_for_every_dtype():
    """full has no operands, so tracing evaluates it at once; its emitted form is checked on a hand-made program."""
    for dtype in portable.DTYPES:
        out = Var(ShapedArray((2, 3), getattr(np, dtype)))
        params = {"shape": (2, 3), "fill_value": 1, "dtype": np.dtype(getattr(np, dtype))}
        source = emit_program(Program([], [Eqn(ew.full_p, [], params, [out])], [out])).source
        assert f"xp.full((2, 3), 1, dtype=xp.{dtype})" in source
        assert_portable(source)


def test_dtype_literals_and_conversions_are_portable():
    """Conversions to every listed dtype, and float32 literals, emit only listed names; an unlisted dtype
    (NumPy's longdouble) is reported."""
    seen = set()
    for dtype in portable.DTYPES:
        source_dtype = F32 if dtype == "float64" else F64  # (a conversion to the same dtype records nothing)
        target = getattr(np, dtype)
        text = dt.source(lambda x, d=target: dnp.astype(x, d), example_array(source_dtype), comments=False)
        seen |= assert_portable(text)
    literal = dt.source(lambda x: x * np.float32(0.1), example_array(F32), comments=False)
    assert "xp.float32(0.1)" in literal
    seen |= assert_portable(literal)
    assert set(portable.DTYPES) <= seen
    long_double = dt.source(lambda x: dnp.astype(x, np.longdouble), example_array(F64), comments=False)
    assert [p for p in portable.problems(long_double) if "xp.float128" in p or "xp.longdouble" in p]


def test_scalar_operands_are_wrapped_where_cupy_needs_arrays():
    """A Python-scalar input or a literal reaching an array-only function is passed through xp.asarray."""
    assert "xp.sum(xp.asarray(s), axis=())" in dt.source(lambda s: dnp.sum(s), 2.0)
    assert "xp.where(xp.asarray(True), x, s)" in dt.source(lambda s, x: dnp.where(True, x, s), 2.0, example_array(F64))
    assert "xp.sin(s)" in dt.source(lambda s: dnp.sin(s), 2.0)  # ufuncs take scalars as they are
    assert "xp.sum(x" in dt.source(lambda x: dnp.sum(x), example_array(F64))  # arrays stay bare


def test_runtime_helpers_are_portable():
    helpers = {name: make for prim in REGISTRY.values() for name, make in prim.helpers.items()}
    assert helpers, "the registry declares no runtime helpers"
    on_numbers = {prim.on_numbers for prim in REGISTRY.values()}  # (Python numbers, on the host: no xp)
    for name, make in helpers.items():
        if name in on_numbers or getattr(make, "backend_specific", ""):  # (each backend's own, and says so)
            continue
        used = assert_portable(textwrap.dedent(inspect.getsource(make)))
        assert used, f"helper {name} uses no xp function"


# ---- the list itself ---------------------------------------------------------------------------------------
def _resolve(module, path):
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _check_keywords(module, path, spec):
    fn = _resolve(module, path)
    if not spec.keywords:
        return
    try:
        params = inspect.signature(fn).parameters
    except ValueError:  # (NumPy before 2.3 gives some C functions, e.g. concatenate, no signature)
        return
    for kw in spec.keywords:
        assert kw in params and params[kw].kind != inspect.Parameter.POSITIONAL_ONLY, (
            f"{module.__name__}.{path} takes no keyword {kw}")


def test_every_listed_name_exists_in_numpy():
    for path, spec in portable.FUNCTIONS.items():
        assert callable(_resolve(np, path)), path
        _check_keywords(np, path, spec)
    for name in portable.DTYPES:
        assert issubclass(getattr(np, name), np.generic)
    for name in portable.CONSTANTS:
        assert isinstance(getattr(np, name), float)
    for attr, owner in portable.ATTRIBUTES.items():
        assert hasattr(np.ndarray if owner.startswith("array") else list, attr)


def test_every_listed_name_exists_in_cupy():
    """Importing CuPy needs no GPU, so this runs wherever CuPy is installed."""
    cupy = pytest.importorskip("cupy")
    for path, spec in portable.FUNCTIONS.items():
        assert callable(_resolve(cupy, path)), path
        _check_keywords(cupy, path, spec)
    for name in portable.DTYPES:
        assert getattr(cupy, name) is getattr(np, name)
    for name in portable.CONSTANTS:
        assert getattr(cupy, name) == getattr(np, name) or np.isnan(getattr(cupy, name))
    for attr, owner in portable.ATTRIBUTES.items():
        assert not owner.startswith("array") or hasattr(cupy.ndarray, attr)
