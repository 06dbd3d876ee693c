"""Program -> Python source: one statement per equation, readable names, a comment per user source line.

Each equation's expression comes from its primitive's template (core/primitive.py) as an AST; statements are
unparsed one by one with `ast.unparse` so comments can sit between them. The source calls the array module
through the name `xp`, by the array API standard's names where NumPy 2 and CuPy 14 have them (codegen/portable.py
lists what else it calls), so one emitter serves NumPy, CuPy and, with ArrayAPIEmitter, any standard namespace.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
import os
import re
from typing import Callable, NamedTuple

import numpy as np

from ..core.ir import Lit, Namer, Program, Var, sub_programs
from ..core.primitive import REGISTRY
from ..transforms.simplify import shortest
from .portable import arrays_where_needed


class Emitted(NamedTuple):
    """Generated source, its function's name, and the captured values it reads as globals."""

    source: str
    name: str
    globals: dict


def _xp_attr(name: str) -> ast.expr:
    return ast.Attribute(value=ast.Name("xp", ast.Load()), attr=name, ctx=ast.Load())


def dtype_ast(dtype) -> ast.expr:
    """A dtype as source: xp.float32, xp.bool (the standard's names, NumPy 2's too); one without a NumPy name
    (ml_dtypes' bfloat16) as xp.dtype("bfloat16")."""
    name = dtype.name
    if hasattr(np, name):
        return _xp_attr(name)
    return ast.Call(func=_xp_attr("dtype"), args=[ast.Constant(name)], keywords=[])


def param_ast(value) -> ast.expr:
    """A static param as source: dtypes become xp.<name>, tuples stay tuples, NumPy scalars Python numbers."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return dtype_ast(np.dtype(value))
    if isinstance(value, np.generic):  # np.int64(1) would unparse as `np.int64(1)`, a name the code lacks
        value = value.item()
    if isinstance(value, tuple):
        return ast.Tuple(elts=[param_ast(v) for v in value], ctx=ast.Load())
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        return number_ast(value)
    return ast.Constant(value)


def number_ast(value) -> ast.expr:
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return _xp_attr("nan")
        inf = _xp_attr("inf")
        return inf if value > 0 else ast.UnaryOp(ast.USub(), inf)
    if not isinstance(value, complex) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def literal_ast(lit: Lit, standard: bool = False) -> ast.expr:
    """A literal keeps its exact type: Python scalars inline, NumPy scalars as xp.float32(2.0) (on CuPy a
    kernel argument, never a copy to the device); standard: as xp.asarray(2.0, dtype=xp.float32), since the
    array API standard has dtypes but no scalar types."""
    value = lit.value
    if isinstance(value, np.generic) and standard and hasattr(np, value.dtype.name):
        return ast.Call(func=_xp_attr("asarray"), args=[number_ast(shortest(value))],
                        keywords=[ast.keyword("dtype", dtype_ast(value.dtype))])
    if isinstance(value, np.generic):
        scalar_type = dtype_ast(value.dtype)
        if isinstance(scalar_type, ast.Call):  # (xp.dtype("bfloat16").type(1.5))
            scalar_type = ast.Attribute(value=scalar_type, attr="type", ctx=ast.Load())
        return ast.Call(func=scalar_type, args=[number_ast(shortest(value))], keywords=[])
    if isinstance(value, bool):
        return ast.Constant(value)
    return number_ast(value)


_RESERVED = {"xp", *dir(builtins)}


def _helpers_used(program: Program) -> set[str]:
    """The runtime helpers the program's primitives (those of its sub-programs too) may call by name."""
    return {name for eqn in program.eqns for name in eqn.prim.helpers} | {
        name for eqn in program.eqns for sub in sub_programs(eqn.params) for name in _helpers_used(sub)}


def _helper_names() -> set[str]:
    return {name for prim in REGISTRY.values() for name in prim.helpers}


def _last_uses(program: Program) -> dict[int, int]:
    """For each Var id, the index of the last equation reading it (outputs count as read after the end)."""
    last = {}
    for i, eqn in enumerate(program.eqns):
        for a in eqn.inputs:
            if type(a) is Var:
                last[a.id] = i
    for a in program.outputs:
        if type(a) is Var:
            last[a.id] = len(program.eqns)
    return last


def _reuse_dying_name(eqn, i: int, last_use: dict[int, int], local: set[int], namer: Namer) -> None:
    """`a = xp.sin(a)`: an unnamed result takes the name of an unnamed operand read for the last time here,
    as hand-written code does; the old array is then freed at once (NumPy reuses its memory). Only names of
    values defined in this same block are reused (an inlined block must not clobber its caller's)."""
    if len(eqn.outs) != 1 or eqn.outs[0].hint is not None or eqn.outs[0].id in namer.names:
        return
    for a in eqn.inputs:
        if type(a) is Var and a.hint is None and last_use.get(a.id) == i and a.id in local and a.id in namer.names:
            namer.names[eqn.outs[0].id] = namer.names[a.id]
            return


_AUGMENTED = {ast.Add: True, ast.Mult: True, ast.Sub: False, ast.Div: False}  # op -> commutative


def _owned_temporaries(program: Program) -> set[int]:
    """The Vars of this block whose array nothing else can see: made here by an operation that allocates a
    new array, read by exactly one equation, and not an output (so no view or name shares its memory)."""
    uses: dict[int, int] = {}
    for e in program.eqns:
        for a in e.inputs:
            if type(a) is Var:
                uses[a.id] = uses.get(a.id, 0) + 1
    outputs = {a.id for a in program.outputs if type(a) is Var}
    return {v.id for e in program.eqns if e.prim.facts.new_array
            for v in e.outs if uses.get(v.id) == 1 and v.id not in outputs}


_SYMBOLS = {ast.Add: "+", ast.Mult: "*", ast.Sub: "-", ast.Div: "/"}


def _in_place(eqn, pattern: "_Pattern", names: list, namer: Namer, owned: set[int]) -> str | None:
    """`a = a + b` as `a += b` when a is an owned temporary of the result's shape and dtype (NumPy writes into
    a's memory instead of allocating); for + and * the temporary may be the right operand. Else None."""
    if pattern.binop is None or len(eqn.outs) != 1:
        return None
    out = eqn.outs[0]
    target = namer.names.get(out.id)
    op, left, right, left_source, right_source = pattern.binop
    candidates = [(left, right_source)] + ([(right, left_source)] if _AUGMENTED[op] else [])
    for mine, other in candidates:
        if mine is None or names[mine] != target:
            continue
        var = next((a for a in eqn.inputs if type(a) is Var and namer.names.get(a.id) == target), None)
        if var is not None and var.id in owned and var.aval.shape == out.aval.shape and (
                var.aval.dtype == out.aval.dtype):
            return f"{target} {_SYMBOLS[op]}= {_fill(other, names)}"
    return None


class _Pattern(NamedTuple):
    """An equation's expression with a hole for each Var operand: the same primitive, params and literals give
    the same source whatever the operands are named, so an unrolled loop builds each kind of statement once."""

    parts: tuple  # its source split at the holes: (text, operand index, text, ...)
    binop: tuple | None  # (op, left hole, right hole, left source, right source) of an augmentable `l op r`


_HOLE = re.compile(r"__dt(\d+)__")


def _pattern(eqn, literal: Callable = literal_ast) -> _Pattern | None:
    """The equation's expression as source with a hole for each Var operand (literal: how a Lit is written);
    None in the odd case that a param's own text looks like a hole."""
    operands = [ast.Name(f"__dt{i}__", ast.Load()) if type(a) is Var else literal(a)
                for i, a in enumerate(eqn.inputs)]
    scalars = {id(node) for a, node in zip(eqn.inputs, operands) if type(a) is not Var or a.aval.weak}
    expr = eqn.prim.emit(operands, eqn.params, param_ast, numbers=len(scalars) == len(operands))
    if scalars:
        expr = arrays_where_needed(expr, scalars)
    holes = sum(isinstance(n, ast.Name) and _HOLE.fullmatch(n.id) is not None for n in ast.walk(expr))
    parts = _split(ast.unparse(expr))
    if len(parts) // 2 != holes:  # a param's text looks like a hole: not a pattern to reuse
        return None
    binop = None
    if isinstance(expr, ast.BinOp) and type(expr.op) in _AUGMENTED:
        left, right = (_hole_of(side) for side in (expr.left, expr.right))
        binop = (type(expr.op), left, right, _split(ast.unparse(expr.left)), _split(ast.unparse(expr.right)))
    return _Pattern(parts, binop)


def _hole_of(node) -> int | None:
    match = _HOLE.fullmatch(node.id) if isinstance(node, ast.Name) else None
    return int(match[1]) if match else None


def _split(source: str) -> tuple:
    return tuple(int(p) if i % 2 else p for i, p in enumerate(_HOLE.split(source)))


def _fill(parts: tuple, names: list) -> str:
    return "".join(names[p] if type(p) is int else p for p in parts)


_PLAIN = (bool, int, float, complex, str, type(None), type(Ellipsis), np.dtype, np.generic)


def _static_key(value):
    """A hashable key telling apart values that emit differently (1, 1.0 and True; 0.0 and -0.0); None for
    values it cannot vouch for (arrays, programs, other objects)."""
    if isinstance(value, tuple):
        keys = tuple(_static_key(v) for v in value)
        return None if any(k is None for k in keys) else (type(value), keys)
    if isinstance(value, _PLAIN) or (isinstance(value, type) and issubclass(value, np.generic)):
        return type(value), repr(value)
    return None


def _pattern_key(eqn):
    """What an equation's expression depends on besides its operands' names; None when that is not clear."""
    params = _static_key(tuple(eqn.params.items())) if eqn.params else ()
    operands = tuple(a.aval.weak if type(a) is Var else _static_key(a.value) for a in eqn.inputs)
    if params is None or None in operands:
        return None
    return eqn.prim, params, operands


class _Emitter:
    """Writes the statements of a program (and of sub-programs inlined into it) as source lines."""

    standard = False  # literals and copies in the array API standard's spelling (ArrayAPIEmitter)

    def __init__(self, namer: Namer, comments: bool):
        self.namer, self.comments = namer, comments
        self.lines: list[str] = []
        self.globals: dict = {}
        self.last_line = None
        self.patterns: dict = {}  # _pattern_key -> _Pattern, for this function's source only

    param_ast = staticmethod(param_ast)

    def atom(self, a) -> ast.expr:
        return ast.Name(self.namer(a), ast.Load()) if type(a) is Var else self.literal(a)

    def literal(self, lit: Lit) -> ast.expr:
        return literal_ast(lit, self.standard)

    def copy(self, text: str) -> str:
        """A copy of an array: xp.copy (NumPy's and CuPy's, and Numba's too), or the standard's spelling."""
        return f"xp.asarray({text}, copy=True)" if self.standard else f"xp.copy({text})"

    def capture(self, program: Program) -> None:
        for v, value in program.captures:
            if v.hint is None:
                v.hint = f"const{len(self.globals)}"
            self.globals[self.namer(v)] = value

    def assign(self, targets: list[Var], expr: ast.expr, multiple: bool, indent: str) -> None:
        target = ", ".join(self.namer(v) for v in targets) + ("," if multiple and len(targets) == 1 else "")
        self.lines.append(f"{indent}{target} = {ast.unparse(expr)}")  # (`a, b = ...` on every Python version)

    def block(self, program: Program, indent: str = "    ") -> None:
        self.capture(program)
        last_use = _last_uses(program)
        local = {v.id for e in program.eqns for v in e.outs}
        owned = _owned_temporaries(program)
        for i, eqn in enumerate(program.eqns):
            self.comment(eqn.where, indent)
            source = eqn.inputs[0] if eqn.inputs else None
            if eqn.prim.template == "x" and type(source) is Var and last_use.get(source.id) == i and (
                    eqn.outs[0].id not in self.namer.names):
                self.namer.names[eqn.outs[0].id] = self.namer(source)  # an identity (stop_gradient): alias
                continue
            if eqn.prim.emit_statements is None:  # (a loop's results must not take its operands' names)
                _reuse_dying_name(eqn, i, last_use, local, self.namer)
            if eqn.prim.emit_statements is not None:  # control flow: real if / while / for statements
                eqn.prim.emit_statements(self, eqn, indent)
                continue
            inline = eqn.prim.inline_param
            if inline is not None:
                outputs = self.run_block(eqn.params[inline], eqn.inputs, indent)
                for v, a in zip(eqn.outs, outputs):  # results of a block written in line: alias, no copy
                    if type(a) is Var and v.id not in self.namer.names:
                        self.namer.names[v.id] = self.namer(a)
                    else:
                        self.assign([v], self.atom(a), False, indent)
                continue
            self.statement(eqn, owned, indent)

    def statement(self, eqn, owned: set[int], indent: str) -> None:
        """`outs = expression` (or `a += b`) for an equation of a primitive with an expression."""
        names = [self.namer(a) if type(a) is Var else None for a in eqn.inputs]
        key = _pattern_key(eqn)
        pattern = self.patterns.get(key) if key is not None else None
        if pattern is None:
            pattern = _pattern(eqn, self.literal)
            if pattern is None:  # (no holes to fill: the expression written with the names themselves)
                atoms = [self.atom(a) for a in eqn.inputs]
                scalars = {id(n) for a, n in zip(eqn.inputs, atoms) if type(a) is not Var or a.aval.weak}
                expr = eqn.prim.emit(atoms, eqn.params, param_ast, numbers=len(scalars) == len(atoms))
                self.assign(eqn.outs, arrays_where_needed(expr, scalars), eqn.prim.multiple_results, indent)
                return
            if key is not None:
                self.patterns[key] = pattern
        updated = _in_place(eqn, pattern, names, self.namer, owned)
        if updated is not None:  # `a += b`: the dying temporary's own memory takes the result
            self.lines.append(indent + updated)
            return
        targets = ", ".join(self.namer(v) for v in eqn.outs)
        if eqn.prim.multiple_results and len(eqn.outs) == 1:
            targets += ","
        self.lines.append(f"{indent}{targets} = {_fill(pattern.parts, names)}")

    def run_block(self, sub: Program, operands, indent: str) -> list:
        """Write sub's statements with its inputs bound to operands (atoms); returns its output atoms."""
        for v, a in zip(sub.inputs, operands):
            if type(a) is Var:
                self.namer.names[v.id] = self.namer(a)
            else:
                self.assign([v], self.literal(a), False, indent)
        self.block(sub, indent)
        return list(sub.outputs)

    def assign_all(self, targets: list[Var], sources: list, indent: str) -> None:
        """targets = sources, skipping `a = a`; one tuple assignment when several change (a swap is safe)."""
        pairs = [(t, s) for t, s in zip(targets, sources) if not (type(s) is Var and self.namer(s) == self.namer(t))]
        if not pairs:
            return
        if len(pairs) == 1:
            self.assign([pairs[0][0]], self.atom(pairs[0][1]), False, indent)
            return
        value = ast.Tuple(elts=[self.atom(s) for _, s in pairs], ctx=ast.Load())
        self.assign([t for t, _ in pairs], value, True, indent)

    def comment(self, where, indent: str) -> None:
        if self.comments and where is not None and where.text and (where.filename, where.lineno) != self.last_line:
            self.last_line = (where.filename, where.lineno)
            self.lines.append(f"{indent}# {os.path.basename(where.filename)}:{where.lineno}: {where.text}")


class ArrayAPIEmitter(_Emitter):
    """The emitter for any namespace of the array API standard (array-api-strict's, in the tests): the same
    source but for NumPy scalar literals, written as 0-d arrays of their dtype, and copies, written
    xp.asarray(x, copy=True) (the standard has no copy function; Numba no copy=)."""

    standard = True


def _fresh_results(emitter: _Emitter, program: Program) -> list[str]:
    """The returned expressions, each a writable array of its own as a NumPy function's results are: a
    captured constant (the same array every call), a result already returned (common subexpressions merge
    two results into one) and a broadcast (a read-only view) are returned as copies; a Python number (a weak
    scalar) is immutable and returned as it is."""
    broadcasts = {v.id for e in program.eqns if e.prim.name == "broadcast_to" for v in e.outs}
    results, seen = [], set()
    for a in program.outputs:
        text = ast.unparse(emitter.atom(a))
        if type(a) is Var and not a.aval.weak and (text in emitter.globals or text in seen or a.id in broadcasts):
            text = emitter.copy(text)
        seen.add(text)
        results.append(text)
    return results


def emit_program(program: Program, name: str | None = None, comments: bool = True, emitter=None) -> Emitted:
    """The program as the source of one Python function taking the program's inputs (emitter: a subclass of
    _Emitter that writes some statements differently for a backend, e.g. codegen/dask_backend.py's)."""
    fn_name = name or program.name
    if fn_name == "xp" or keyword.iskeyword(fn_name) or fn_name in _helpers_used(program):  # (nor a helper)
        fn_name += "_"
    namer = Namer(_RESERVED | _helper_names() | {fn_name})
    emitter = (emitter or _Emitter)(namer, comments)
    arg_names = [namer(v) for v in program.inputs]
    emitter.lines.append(f"def {fn_name}({', '.join(arg_names)}):")
    emitter.block(program)
    results = _fresh_results(emitter, program)
    if len(results) == 1:
        emitter.lines.append(f"    return {results[0]}")
    else:
        emitter.lines.append(f"    return ({', '.join(results)})")
    return Emitted("\n".join(emitter.lines) + "\n", fn_name, emitter.globals)
