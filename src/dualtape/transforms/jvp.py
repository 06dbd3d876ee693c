"""Forward mode: dual values (primal, tangent), the dual-number interpreter, and `jvp_program`.

A Dual carries a primal and its tangent; binding a primitive on Duals applies the primitive's JVP rule
(ops/), whose dualtape ops run on whatever the primal and tangent are: arrays (one-off jvp), tracers (a
staged, compiled JVP program) or Duals of an outer level (nested derivatives). A tangent of None is a
symbolic zero: no work is done for inputs that are not being differentiated.
"""

from __future__ import annotations

import numpy as np

from .. import tree
from ..avals import ShapedArray, aval_of, is_float
from ..core.ir import Program
from ..core.primitive import on_numpy_numbers
from ..core.trace import ArrayValue, Trace, bind, make_program, new_level, trace_of
from ..errors import EscapedTracerError
from ..numpy.methods import install_array_methods
from .evaluate import eval_program


class JVPTrace(Trace):
    """One level of forward-mode differentiation."""

    def __init__(self):
        self.level = new_level()
        self.active = True

    def lift(self, x):
        """(primal, tangent) of x at this level; values of other levels are constants here."""
        if type(x) is Dual and x._dt_trace is self:
            return x.primal, x.tangent
        trace = trace_of(x)
        if trace is not None and not trace.active:
            raise EscapedTracerError(repr(x))
        return x, None

    def process(self, prim, args, params):
        if not self.active:
            raise EscapedTracerError(f"a dual value of a finished jvp (in {prim.name})")
        primals, tangents = zip(*(self.lift(a) for a in args)) if args else ((), ())
        if all(t is None for t in tangents) or not prim.differentiable:
            return bind(prim, *primals, **params)
        if prim.jvp is None:
            raise NotImplementedError(f"forward-mode differentiation of {prim.name} is not implemented")
        try:
            out, out_dot = prim.jvp(list(primals), list(tangents), **params)
        except (ZeroDivisionError, OverflowError):  # a rule's operators on Python numbers: NumPy's inf and nan
            n = len(primals)
            out, out_dot = on_numpy_numbers(lambda *pt: prim.jvp(list(pt[:n]), list(pt[n:]), **params),
                                            *primals, *tangents)
        if prim.multiple_results:
            return [self.pack(o, t) for o, t in zip(out, out_dot)]
        return self.pack(out, out_dot)

    def pack(self, primal, tangent):
        return primal if tangent is None else Dual(self, primal, tangent)


class Dual(ArrayValue):
    """A value with a tangent, at one JVPTrace level."""

    __slots__ = ("_dt_trace", "primal", "tangent", "__weakref__")

    def __init__(self, trace: JVPTrace, primal, tangent):
        self._dt_trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self) -> ShapedArray:
        return aval_of(self.primal)

    def __bool__(self):
        return bool(self.primal)

    def __float__(self):
        return float(self.primal)

    def __int__(self):
        return int(self.primal)

    def __index__(self):
        return self.primal.__index__()

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"a value being differentiated by jvp ({self.aval}) was converted to a NumPy array, which "
                        "would drop its tangent (and NumPy would make an array of objects); use dualtape.numpy "
                        "functions, or dt.stop_gradient(x) where the derivative is not wanted")

    def __repr__(self):
        return f"Dual({self.primal!r}, tangent={self.tangent!r})"


install_array_methods(Dual)


def check_tangent(primal, tangent, where: str = "jvp"):
    """A tangent must match its primal's shape and (for floating primals) dtype."""
    p, t = aval_of(primal), aval_of(tangent)
    if p.shape != t.shape:
        raise ValueError(f"{where}: tangent shape {t.shape} does not match primal shape {p.shape}; "
                         "pass a tangent of the same shape as its primal")
    if is_float(p.dtype) and not p.weak and t.dtype != p.dtype:
        raise TypeError(f"{where}: tangent dtype {t.dtype} does not match primal dtype {p.dtype}; "
                        f"use tangent.astype({p.dtype.name!r})")


def zeros_tangent(primal):
    """An explicit zero tangent (for outputs that do not depend on the inputs)."""
    aval = aval_of(primal)
    return np.zeros(aval.shape, aval.dtype)


def jvp_call(fn, primals: tuple, tangents: tuple):
    """(fn(*primals), J·tangents) by running fn on Duals; pytrees in and out."""
    p_leaves, p_tree = tree.flatten(tuple(primals))
    t_leaves, t_tree = tree.flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(f"jvp: primals and tangents have different structures: {p_tree!r} vs {t_tree!r}")
    for p, t in zip(p_leaves, t_leaves):
        check_tangent(p, t)
    trace = JVPTrace()
    duals = [trace.pack(p, t) for p, t in zip(p_leaves, t_leaves)]
    try:
        out = fn(*tree.unflatten(p_tree, duals))
        out_leaves, out_tree = tree.flatten(out)
        pairs = [trace.lift(o) for o in out_leaves]
    finally:
        trace.active = False
    out_primals = [p for p, _ in pairs]
    out_tangents = [zeros_tangent(p) if t is None else t for p, t in pairs]
    return tree.unflatten(out_tree, out_primals), tree.unflatten(out_tree, out_tangents)


def jvp_flat(fn, primals: list, tangents: list) -> tuple[list, list]:
    """(fn(*primals), its outputs' tangents) for flat lists of values; a tangent of None is a symbolic zero,
    going in (that input is held constant) and coming out (that output depends on no tangent)."""
    trace = JVPTrace()
    try:
        out = fn(*[trace.pack(p, t) for p, t in zip(primals, tangents)])
        pairs = [trace.lift(o) for o in out]
    finally:
        trace.active = False
    return [p for p, _ in pairs], [t for _, t in pairs]


def jvp_program(program: Program) -> Program:
    """Program -> Program taking (inputs..., input tangents...) and returning (outputs..., tangents...)."""
    n = len(program.inputs)

    def joint(*args):
        out, out_dot = jvp_call(lambda *xs: eval_program(program, xs), tuple(args[:n]), tuple(args[n:]))
        return list(out) + list(out_dot)

    examples = [ShapedArrayExample(v.aval) for v in program.inputs] * 2
    hints = [v.hint for v in program.inputs] + [f"{v.hint}_dot" if v.hint else None for v in program.inputs]
    joint.__name__ = f"{program.name}_jvp"
    return make_program(joint, tuple(examples), arg_names=hints)[0]


class ShapedArrayExample:
    """A stand-in argument that has only an abstract value (to trace a program without concrete data)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval
