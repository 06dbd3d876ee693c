"""Primitive and the registry: the closed set of operations, each declared exactly once.

A declaration holds everything about a primitive side by side: its operand names, its shape rule, its NumPy
evaluation and its source template (one template serves both: the evaluator is compiled from it), and the
slots for its JVP and VJP rules. Every face of dualtape (eager, tracing, transforms, codegen) reads it here.
"""

from __future__ import annotations

import ast
import operator
import threading
from typing import Callable

import numpy as np

from ..avals import ShapedArray, result_type
from .faces import Faces, Facts

REGISTRY: dict[str, "Primitive"] = {}
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.Pow: operator.pow, ast.MatMult: operator.matmul, ast.Mod: operator.mod,
              ast.FloorDiv: operator.floordiv}


# values no trace owns: bind skips looking for their trace
PLAIN_TYPES = frozenset({np.ndarray, float, int, bool, np.float64, np.float32})


FROM_STACK = object()  # (TraceState.source_line: read the user's line from the stack)


class TraceState(threading.local):
    """What tracing keeps per thread, so that threads tracing at once never see each other's traces."""

    def __init__(self):
        self.innermost: list = []  # the traces now staging a function, innermost last (core.trace pushes, pops)
        self.naming: list = []  # the traces whose values the naming hook names, outermost first
        self.source_line = FROM_STACK  # while eval_program re-binds an equation: the line that first recorded it


TRACE_STATE = TraceState()


def innermost_trace():
    """The trace now staging a function in this thread, or None."""
    inner = TRACE_STATE.innermost
    return inner[-1] if inner else None


class Trace:
    """What handles the ops on one kind of value. A value kind other than a plain array carries its trace as
    `_dt_trace`; bind() hands an op to the highest `level` among its operands' traces. Level 0 computes at
    once (it is never staged into an enclosing trace); each staging or transform trace takes a new, higher
    level, so traces nest. `active` turns False when the trace ends (its values have then escaped)."""

    level = 0
    active = True

    def process(self, prim: "Primitive", args, params):
        """Apply prim to args (some of them this trace's values); returns the result value(s)."""
        raise NotImplementedError

    def unwrap(self, x):
        """What value x (one of this trace's) stands for to a trace above this one: x itself, or for a value
        kind that wraps another trace's value (an eager tensor holding a tracer), the value inside. Where that
        value belongs to the highest trace among an op's operands, this trace handles the op first."""
        return x


def trace_of(x) -> Trace | None:
    """The trace whose value x is, or None for a plain value (an array, a number)."""
    return getattr(x, "_dt_trace", None)


def bind(prim: "Primitive", *args, **params):
    """Apply prim to args: evaluate plain values, or let the highest-level trace among them handle it."""
    top = None
    for a in args:
        if type(a) not in PLAIN_TYPES:
            t = getattr(a, "_dt_trace", None)  # (trace_of, in line: this is the eager hot path)
            if t is not None and (top is None or t.level > top.level):
                top = t
    if top is None:
        return prim.evaluate(*args, **params)
    if top.level:
        top = _handler(top, args)
    return top.process(prim, args, params)


def _handler(top: Trace, args) -> Trace:
    """Which trace handles an op whose highest operand trace is top (above level 0): a lower trace whose value
    wraps one of top's (or a higher trace's), as it would handle it alone; else the function being staged now,
    where it is above top, so the work of control flow's branches and bodies stays inside them (the operands
    become its captures); else top."""
    for a in args:
        t = trace_of(a)
        if t is not None and t is not top:
            inside = trace_of(t.unwrap(a))
            if inside is not None and inside.level >= top.level:
                return t
    inner = TRACE_STATE.innermost
    if inner and inner[-1].level > top.level:
        return inner[-1]
    return top


class Primitive:
    """One primitive operation. `template` is a Python expression over the operand names, the param names and
    `xp` (the array module); `emit` may replace it with a function (operand ASTs, params) -> ast.expr."""

    def __init__(
        self,
        name: str,
        operands: tuple[str, ...] | str,
        template: str | None,
        shape_rule: Callable,
        *,
        dtype_rule: Callable | None = None,
        impl: Callable | None = None,
        emit: Callable | None = None,
        multiple_results: bool = False,
        differentiable: bool = True,
        helpers: dict | None = None,
        elementwise: bool = False,
        inline_param: str | None = None,
        on_numbers: str | None = None,
        faces: Faces | None = None,
        facts: Facts | None = None,
        unwritten: dict | None = None,
    ):
        self.name = name
        self.variadic = isinstance(operands, str)  # "*xs": any number of operands
        self.operands = (operands.lstrip("*"),) if self.variadic else tuple(operands)
        self.template = template
        self.shape_rule = shape_rule
        self.dtype_rule = dtype_rule
        self.multiple_results = multiple_results
        self.inline_param = inline_param  # the param holding a sub-program that codegen writes in line
        self.elementwise = elementwise  # broadcasting maps elements to elements (optimisation passes use it)
        self.faces = faces or Faces()  # how users reach it (core/faces.py)
        self.facts = facts or Facts()  # what the optimiser may assume of it
        self.helpers = helpers or {}  # name -> (xp -> function) that emitted code calls by that name
        self.unwritten = {**_UNWRITTEN, **(unwritten or {})}  # keyword -> value its emitted call leaves out
        self.non_standard: str | None = None  # why its emitted code goes beyond the array API standard, if it does
        # where every operand is a Python number and Python would raise (1 / 0.0, 0.0 ** -1, 1e40 ** 10.0), bind()
        # computes it as NumPy does, and emitted code calls a helper named so (NumPy's ufunc name)
        self.on_numbers = on_numbers
        if on_numbers is not None:
            self.helpers[on_numbers] = lambda xp: as_numpy_on_numbers(_OPERATORS[type(self._template_ast.op)],
                                                                         on_numbers)
        self.differentiable = differentiable
        self.eager_zero = False  # not differentiable, yet eager mode records it with zero cotangents (PyTorch's floor)
        self.linear_vjp = False  # its VJP reads only the operands' shapes (eager mode skips version checks)
        self.view = False  # its result may share its first operand's memory (reshape, basic indexing, ...)
        self.torch_promotion = self.faces.promotion  # how eager mode promotes its operands' dtypes (eager/promotion.py)
        # what its VJP reads beyond shapes and dtypes, as its rules declare it (ops.rules.declare_reads); the
        # defaults, for a primitive that declares nothing, are that it reads everything
        self.vjp_reads: tuple | None = None  # per operand's rule, the names it reads: operands' and "ans"
        self.vjp_reads_out = True  # whether any rule reads the result
        self.vjp_reads_operands: tuple | None = None  # per operand's rule, which operands it reads (None: all)
        self._unread: dict = {}  # (see unread)
        self.jvp: Callable | None = None  # (primals, tangents, **params) -> (out, out_dot)
        self.vjp: Callable | None = None  # (g, *primals, out, needed=None, **params) -> in_bars
        self.batch: Callable | None = None  # (values, batched, size, **params) -> out with batch axis 0
        self.emit_statements: Callable | None = None  # (emitter, eqn, indent): control flow as statements
        self.vjp_fwd: Callable | None = None  # (*args, **params) -> (outs, residuals): forward sweep that saves
        self.vjp_bwd: Callable | None = None  # (gs, residuals, needed, **params) -> in_bars: its backward sweep
        self.expand: Callable | None = None  # (*args, **params) -> out via other primitives, when rules lack
        self._template_ast = ast.parse(template, mode="eval").body if template else None
        if emit is None and template is None:
            raise ValueError(f"primitive {name} needs a template or an emit function")
        self._emit = emit
        self._impls: dict = {}
        self._explicit_impl = impl
        self.impl = impl if impl is not None else self.impl_for(np)  # (on arrays: eager mode calls it directly)
        # what bind() runs on plain values, Python numbers among them (see on_numbers)
        self.evaluate = self.impl if on_numbers is None else as_numpy_on_numbers(self.impl, on_numbers)
        if name in REGISTRY:
            raise ValueError(f"primitive {name} is declared twice")
        REGISTRY[name] = self

    def __repr__(self):
        return self.name

    __call__ = bind  # `sin_p(x)` is `bind(sin_p, x)`: derivative rules are written with primitives called so

    def unread(self, needed: int) -> tuple:
        """The operand positions no VJP rule reads when the operands whose bits are set in `needed` get
        cotangents, whether the result goes unread too (the eager graph drops such values), and whether the
        rules that run read any value at all (None for a linear rule: it depends on the operands given)."""
        found = self._unread.get(needed)
        if found is None:
            reads = self.vjp_reads_operands
            n = len(self.operands)
            positions = () if reads is None or self.variadic else tuple(
                i for i in range(n)
                if not any(needed >> k & 1 and i < len(mask) and mask[i] for k, mask in enumerate(reads))
                and not (i == 0 and self.view))  # (a view keeps its base: in-place changes rebase it)
            reads = self.vjp_reads
            saves = None if self.linear_vjp else (reads is None or any(
                needed >> k & 1 and names for k, names in enumerate(reads)))
            found = self._unread[needed] = (positions, not self.vjp_reads_out, saves)
        return found

    def impl_for(self, xp) -> Callable:
        """The evaluator for array module xp, compiled once from the template."""
        fn = self._impls.get(xp)
        if fn is None:
            if self._explicit_impl is not None:
                fn = self._explicit_impl
            elif (direct := self._direct_impl(xp)) is not None:
                fn = direct
            else:
                args = f"*{self.operands[0]}" if self.variadic else ", ".join(self.operands)
                params = sorted(_free_names(self._template_ast) - set(self.operands) - {"xp"})
                star = "*" if params and not self.variadic else ""
                sig = ", ".join(filter(None, [args, star, *params]))
                code = compile(f"lambda {sig}: {self.template}", f"<dualtape:{self.name}>", "eval")
                fn = eval(code, {"xp": xp})  # noqa: S307 - our own template
                fn.__name__ = f"{self.name}_impl"
            self._impls[xp] = fn
        return fn

    def _direct_impl(self, xp) -> Callable | None:
        """The function itself when the template only calls it on the operands in order (`xp.sin(x)` is
        xp.sin, `x * y` is operator.mul): eager mode then runs it with no Python frame in between."""
        node, names = self._template_ast, list(self.operands)
        if self.variadic or node is None:
            return None
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            call, args = _OPERATORS[type(node.op)], [node.left, node.right]
        elif (isinstance(node, ast.Call) and not node.keywords and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "xp"):
            call, args = getattr(xp, node.func.attr, None), node.args
        else:
            return None
        if call is None or [getattr(a, "id", None) for a in args] != names:
            return None
        return call

    def abstract_eval(self, *avals: ShapedArray, **params):
        """Output aval(s) for these input avals: shape from the shape rule, dtype from NumPy itself."""
        shape = self.shape_rule(*avals, **params)
        if self.dtype_rule is not None:
            dtype, weak = self.dtype_rule(*avals, **params), False
        else:
            dtype, weak = result_type(self.impl, avals, params)
        if self.multiple_results:
            return [ShapedArray(s, d) for s, d in zip(shape, dtype)]
        return ShapedArray(shape, dtype, weak and shape == ())

    def emit(self, operands: list[ast.expr], params: dict, param_ast: Callable, numbers: bool = False) -> ast.expr:
        """The expression computing this primitive from operand expressions (ASTs); numbers: every operand is a
        Python number at run time (then a primitive declaring on_numbers calls that NumPy function instead)."""
        if numbers and self.on_numbers is not None:
            args = list(operands) + [param_ast(params[k]) for k in sorted(params)]
            return ast.Call(func=ast.Name(self.on_numbers, ast.Load()), args=args, keywords=[])
        if self._emit is not None:
            return self._emit(operands, params)
        names = dict(zip(self.operands, operands)) if not self.variadic else {
            self.operands[0]: ast.List(elts=list(operands), ctx=ast.Load())
        }
        return _tidy(_Substitute(names, params, param_ast).visit(_copy(self._template_ast)), self.unwritten)


def on_numpy_numbers(fn, *args, **params):
    """fn(*args) with its Python-number arguments as NumPy scalars: Python's operators on Python numbers raise
    ZeroDivisionError or OverflowError where NumPy gives inf or nan with a warning, as arrays do. The results
    are Python numbers again when every argument was a number, so they stay weakly typed."""
    numbers = [type(a) in (int, float, complex) for a in args if a is not None]
    as_numpy = lambda a: np.asarray(a)[()] if type(a) in (int, float, complex) else a
    out = fn(*[as_numpy(a) for a in args], **params)
    if not all(numbers):
        return out
    back = lambda a: a.item() if isinstance(a, np.generic) else a
    return type(out)(back(o) for o in out) if type(out) in (tuple, list) else back(out)


def as_numpy_on_numbers(python_fn: Callable, name: str) -> Callable:
    """python_fn, computed as NumPy computes it where Python numbers make Python raise or turn a real power
    complex (see on_numpy_numbers); arrays and NumPy scalars never raise here, so they take the first path."""

    def numpy_on_numbers(*args, **params):
        try:
            out = python_fn(*args, **params)
        except (ZeroDivisionError, OverflowError):
            return on_numpy_numbers(python_fn, *args, **params)
        if type(out) is complex and not any(type(a) is complex for a in args):
            return on_numpy_numbers(python_fn, *args, **params)
        return out

    numpy_on_numbers.__name__ = name
    return numpy_on_numbers


_UNWRITTEN = {"keepdims": False}  # (NumPy's default, left out of every call; a row adds its helper's own)


def _tidy(expr: ast.expr, unwritten: dict) -> ast.expr:
    """Write calls as a person would: drop keywords at their defaults (`keepdims=False`, and those the row
    names), and `axis=(1,)` becomes `axis=1`."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            kept = []
            for kw in node.keywords:
                value = kw.value
                if kw.arg in unwritten and isinstance(value, ast.Constant) and value.value is unwritten[kw.arg]:
                    continue
                if kw.arg == "axis" and isinstance(value, ast.Tuple) and len(value.elts) == 1:
                    kw.value = value.elts[0]
                kept.append(kw)
            node.keywords = kept
    return expr


def _free_names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _copy(node):
    return ast.parse(ast.unparse(node), mode="eval").body


class _Substitute(ast.NodeTransformer):
    def __init__(self, operands: dict, params: dict, param_ast: Callable):
        self.operands, self.params, self.param_ast = operands, params, param_ast

    def visit_Starred(self, node):
        """`*xs` over the variadic operands splices them into the call: xp.einsum(spec, a, b)."""
        if isinstance(node.value, ast.Name) and isinstance(self.operands.get(node.value.id), ast.List):
            return list(self.operands[node.value.id].elts)
        return self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.operands:
            return self.operands[node.id]
        if node.id in self.params:
            return self.param_ast(self.params[node.id])
        return node
