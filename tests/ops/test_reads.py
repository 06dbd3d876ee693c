"""Each VJP row declares what its rules read (`reads=`), and eager mode keeps only those values for the
backward pass. Here every declaration is checked against its rules: each primitive's VJP, on the example
inputs of tests/primitive_cases.py and for every choice of operands that need a cotangent, runs with each
value it does not declare replaced by a stand-in that has only a shape and a dtype (reading anything more
raises), and must give exactly what it gives on the real values."""

from itertools import combinations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape.avals import aval_of
from dualtape.core.ir import Var
from dualtape.core.primitive import REGISTRY
from dualtape.core.trace import ArrayValue
from dualtape.ops.rules import declare_reads, defvjp
from primitive_cases import DIFFERENTIABLE, draw_args


class Undeclared(Exception):
    """A rule read a value its row does not declare."""


class ShapeOnly(ArrayValue):
    """Stands for a value a rule does not declare it reads: its aval (shape, dtype, ndim, size, as every value
    kind has them) and nothing else (its values, arithmetic, comparisons and NumPy's ufuncs and functions all
    raise Undeclared)."""

    __slots__ = ("name", "aval")

    def __init__(self, name: str, value):
        self.name, self.aval = name, aval_of(value)

    def _read(self, *args, **kwargs):
        raise Undeclared(f"read {self.name}")

    __array__ = __array_ufunc__ = __array_function__ = __bool__ = __float__ = __int__ = __index__ = _read
    __len__ = __iter__ = __getitem__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _read
    __neg__ = __pos__ = __abs__ = __invert__ = _read
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _read
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _read
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _read
    __hash__ = None


def _declared(prim, reads, k: int) -> tuple:
    """What operand k's rule declares it reads (a variadic primitive's entries cover all its operands)."""
    if prim.variadic:
        return tuple(name for names in reads for name in names)
    return reads[k] if k < len(reads) else ()  # (an operand past the row's rules has no rule)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def undeclared_reads(prim, reads, ins, params, out) -> list[str]:
    """For each choice of operands needing a cotangent: the VJP with every value `reads` leaves out replaced by
    a ShapeOnly must run, and give what it gives on the real values. The failures found, described."""
    g = np.linspace(-1.0, 1.5, np.size(out)).reshape(np.shape(out)).astype(np.result_type(out))
    failures = []
    for count in range(1, len(ins) + 1):
        for chosen in combinations(range(len(ins)), count):
            needed = tuple(i in chosen for i in range(len(ins)))
            names = {name for k in chosen for name in _declared(prim, reads, k)}
            kept = []
            for i, x in enumerate(ins):
                operand = prim.operands[0] if prim.variadic else prim.operands[i]
                kept.append(x if operand in names else ShapeOnly(f"{operand} (operand {i})", x))
            kept_out = out if "ans" in names else ShapeOnly("ans", out)
            with np.errstate(all="ignore"):
                expected = prim.vjp(g, *ins, out=out, needed=needed, **params)
                try:
                    got = prim.vjp(g, *kept, out=kept_out, needed=needed, **params)
                except Undeclared as e:
                    failures.append(f"with cotangents for operands {chosen}, the rules {e}, declared {sorted(names)}")
                    continue
            if not all(_same(a, b) for a, b in zip(expected, got)):
                failures.append(f"with cotangents for operands {chosen}, the results differ on stand-ins")
    return failures


def _examples(name: str, data) -> list:
    """(operands, params, result) of each equation of primitive `name` in its case of primitive_cases,
    drawn from hypothesis, traced, and evaluated equation by equation."""
    case = DIFFERENTIABLE[name]
    shapes, params, dtypes = data.draw(case.layout, label="layout")
    args = draw_args(data.draw, case, shapes, dtypes)
    with np.errstate(all="ignore"):
        program = dt.trace(case.call(params))(*args)
    env = {v.id: a for v, a in zip(program.inputs, args)}
    env.update((v.id, value) for v, value in program.captures)
    found = []
    for eqn in program.eqns:
        ins = [env[a.id] if type(a) is Var else a.value for a in eqn.inputs]
        with np.errstate(all="ignore"):
            out = eqn.prim.impl(*ins, **eqn.params)
        for var, value in zip(eqn.outs, out if eqn.prim.multiple_results else [out]):
            env[var.id] = value
        if eqn.prim.name == name:
            found.append((ins, eqn.params, out))
    return found


WITH_VJP = sorted(name for name, p in REGISTRY.items() if p.vjp is not None)
DECLARED = [name for name in WITH_VJP if REGISTRY[name].vjp_reads is not None and not REGISTRY[name].eager_zero]
EAGER_ZERO = sorted(name for name, prim in REGISTRY.items() if prim.eager_zero)  # (floor, sign: zeros, reading none)


def test_undeclared_primitives_read_everything():
    """A VJP whose row declares nothing (control flow, custom rules, concatenate) keeps every value."""
    for name in sorted(set(WITH_VJP) - set(DECLARED) - set(EAGER_ZERO)):
        p = REGISTRY[name]
        assert p.vjp_reads_out and p.vjp_reads_operands is None, name
    assert {"sin", "mul", "matmul", "reduce_max", "getitem", "einsum", "index_update"} <= set(DECLARED)
    missing = sorted(set(DECLARED) - set(DIFFERENTIABLE))
    assert not missing, f"primitives declaring reads= without example inputs in primitive_cases.py: {missing}"


@pytest.mark.parametrize("name", EAGER_ZERO)
def test_zero_cotangent_rules_read_nothing(name):
    """floor, ceil, round, sign: eager mode records them with zeros for a cotangent (PyTorch's), which read no
    value: every operand and the result may be shape-only stand-ins."""
    prim = REGISTRY[name]
    assert not prim.differentiable and prim.vjp_reads == ((),)
    x = np.array([[-1.5, 0.5, 2.5]], np.float32)
    out = prim.impl(x)
    assert undeclared_reads(prim, prim.vjp_reads, [x], {}, out) == []
    (bar,) = prim.vjp(np.ones_like(out), ShapeOnly("x", x), out=ShapeOnly("ans", out))
    assert bar.dtype == np.float32 and bar.shape == x.shape and not bar.any()


@pytest.mark.parametrize("name", DECLARED)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_each_vjp_reads_only_what_it_declares(name, data):
    prim = REGISTRY[name]
    examples = _examples(name, data)
    assume(examples)  # (a draw may not reach the primitive: a full slice records no getitem)
    for ins, params, out in examples:
        failures = undeclared_reads(prim, prim.vjp_reads, ins, params, out)
        assert not failures, f"{name} (reads={prim.vjp_reads}): " + "; ".join(failures)


@pytest.mark.parametrize("name, reads", [
    ("sin", ((),)),  # g * cos(x) without x
    ("tanh", (("x",),)),  # g * (1 - ans * ans) without ans
    ("div", (("y",), ("y",))),  # y's rule, -g * ans / y, without ans
    ("mul", (("y",), ())),
    ("where", ((), ("c",), ())),
    ("reduce_max", (("x",),)),
    ("matmul", ((), ("x",))),
])
def test_a_rule_reading_an_undeclared_value_is_caught(name, reads):
    """The check itself: a declaration missing one read fails it."""
    prim = REGISTRY[name]
    x, y = np.array([0.5, -1.5, 2.0]), np.array([1.5, 0.25, -3.0])
    ins = [x > 0, x, y] if name == "where" else [x, y][:len(prim.operands)]
    params = {"axes": (0,), "keepdims": False} if name == "reduce_max" else {}
    assert not undeclared_reads(prim, prim.vjp_reads, ins, params, prim.impl(*ins, **params))
    assert undeclared_reads(prim, reads, ins, params, prim.impl(*ins, **params))


def test_declarations_become_what_eager_mode_keeps():
    """reads= sets the fields eager mode consults (Primitive.unread): per rule, the operands it reads, and
    whether any rule reads the result."""
    sin, tanh, mul, add, where, div = (REGISTRY[n] for n in ("sin", "tanh", "mul", "add", "where", "div"))
    assert (sin.vjp_reads_out, sin.vjp_reads_operands) == (False, ((True,),))  # g * cos(x)
    assert (tanh.vjp_reads_out, tanh.vjp_reads_operands) == (True, ((False,),))  # g * (1 - ans * ans)
    assert mul.vjp_reads_operands == ((False, True), (True, False))  # d/dx reads y, d/dy reads x
    assert add.vjp_reads_out is False and add.vjp_reads_operands == ((False, False), (False, False))
    assert where.vjp_reads_operands == ((False,) * 3, (True, False, False), (True, False, False))  # the condition
    assert div.vjp_reads == (("y",), ("ans", "y")) and div.vjp_reads_out
    assert mul.unread(0b01) == ((0,), True, True) and mul.unread(0b11) == ((), True, True)  # x_bar = g * y: x is
    # not kept; the last field says whether a rule reads any value (a linear rule's: per call, None here)
    assert sin.unread(0b1) == ((), True, True) and add.unread(0b11) == ((0, 1), True, None)
    einsum = REGISTRY["einsum"]
    assert (einsum.vjp_reads_out, einsum.vjp_reads_operands) == (False, None)  # (variadic: all operands)


def test_a_declaration_names_only_operands_and_ans():
    from dualtape.core.primitive import Primitive

    p = Primitive.__new__(Primitive)  # (not registered: the registry stays the closed set)
    p.name, p.operands, p.variadic = "two", ("x", "y"), False
    with pytest.raises(ValueError, match="'z'"):
        declare_reads(p, ("y", "z"), rules=(lambda *a: 0, lambda *a: 0))
    with pytest.raises(ValueError, match="2 rules"):
        declare_reads(p, ("y",), rules=(lambda *a: 0, lambda *a: 0))
    with pytest.raises(ValueError, match="has none"):
        declare_reads(p, ("x", "y"), rules=(None, lambda *a: 0))
    with pytest.raises(TypeError, match="declare what each rule reads"):
        defvjp(p, lambda g, ans, x, y: g * y, None)
    declare_reads(p, "ans x")
    assert p.vjp_reads == (("ans", "x"), ("ans", "x")) and p.vjp_reads_operands == ((True, False), (True, False))
