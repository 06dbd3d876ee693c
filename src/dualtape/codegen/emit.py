"""Program -> Python source: one statement per equation, readable names, a comment per user source line.

Each equation's expression comes from its primitive's template (core/primitive.py) as an AST; statements are
unparsed one by one with `ast.unparse` so comments can sit between them. The source calls the array module
through the name `xp`, so one emitter serves NumPy and CuPy.
"""

from __future__ import annotations

import ast
import builtins
import math
import os
from typing import NamedTuple

import numpy as np

from ..core.ir import Lit, Namer, Program, Var


class Emitted(NamedTuple):
    """Generated source, its function's name, and the captured values it reads as globals."""

    source: str
    name: str
    globals: dict


def _xp_attr(name: str) -> ast.expr:
    return ast.Attribute(value=ast.Name("xp", ast.Load()), attr=name, ctx=ast.Load())


def param_ast(value) -> ast.expr:
    """A static param as source: dtypes become xp.<name>, tuples stay tuples."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return _xp_attr(np.dtype(value).name if np.dtype(value) != np.bool_ else "bool_")
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


def literal_ast(lit: Lit) -> ast.expr:
    """A literal keeps its exact type: Python scalars inline, NumPy scalars as xp.float32(2.0) etc."""
    value = lit.value
    if isinstance(value, np.generic):
        dtype_name = value.dtype.name if value.dtype != np.bool_ else "bool_"
        return ast.Call(func=_xp_attr(dtype_name), args=[number_ast(value.item())], keywords=[])
    if isinstance(value, bool):
        return ast.Constant(value)
    return number_ast(value)


_RESERVED = {"xp", *dir(builtins)}


def emit_program(program: Program, name: str | None = None, comments: bool = True) -> Emitted:
    """The program as the source of one Python function taking the program's inputs."""
    fn_name = name or program.name
    namer = Namer(_RESERVED | {fn_name})
    arg_names = [namer(v) for v in program.inputs]
    env: dict = {}
    for i, (v, value) in enumerate(program.captures):
        if v.hint is None:
            v.hint = f"const{i}"
        env[namer(v)] = value

    def atom(a) -> ast.expr:
        return ast.Name(namer(a), ast.Load()) if type(a) is Var else literal_ast(a)

    lines = [f"def {fn_name}({', '.join(arg_names)}):"]
    last_line = None
    for eqn in program.eqns:
        where = eqn.where
        if comments and where is not None and where.text and (where.filename, where.lineno) != last_line:
            last_line = (where.filename, where.lineno)
            lines.append(f"    # {os.path.basename(where.filename)}:{where.lineno}: {where.text}")
        expr = eqn.prim.emit([atom(a) for a in eqn.inputs], eqn.params, param_ast)
        outs = [ast.Name(namer(v), ast.Store()) for v in eqn.outs]
        target = outs[0] if not eqn.prim.multiple_results else ast.Tuple(elts=outs, ctx=ast.Store())
        stmt = ast.Assign(targets=[target], value=expr, lineno=0)
        lines.append("    " + ast.unparse(stmt))
    results = [ast.unparse(atom(a)) for a in program.outputs]
    if len(results) == 1:
        lines.append(f"    return {results[0]}")
    else:
        lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    return Emitted("\n".join(lines) + "\n", fn_name, env)
