"""Autograph: rewrite a Python function's `if`, `while`, `for i in range(...)`, `and`/`or`/`not`, conditional
expressions, `break` and `continue` into calls of the runtime operators (runtime.py), which run ordinary
Python on concrete values and record cond / while_loop / fori_loop on traced ones.

Each statement becomes small local functions over the variables it assigns (its carried state) and one call:

    if x > 0:                    def if_true_1(y):          def if_false_1(y):
        y = x                        y = x                      y = -x
    else:            ->              return (y,)                return (y,)
        y = -x                   (y,) = ag__.if_stmt(x > 0, if_true_1, if_false_1,
                                                     ag__.values_before(locals(), ('y',)), ('y',))

The rewritten function keeps the original's file and line numbers (so errors and tracebacks point at the
user's code) and its closure; user functions it calls are converted too, when they are called.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import linecache
import textwrap
import types

from .._util import is_internal, is_library
from ..config import config
from . import runtime

_cache: dict = {}


class _Counter:
    def __init__(self):
        self.n = 0
        self.generated: set[str] = set()

    def name(self, base: str) -> str:
        """A fresh name for a generated function (never carried as loop or branch state)."""
        name = self.flag(base)
        self.generated.add(name)
        return name

    def flag(self, base: str) -> str:
        """A fresh name for a generated variable (a break / continue flag): carried like the user's own."""
        self.n += 1
        return f"{base}_{self.n}"


def _assigned(statements, skip: set[str]) -> list[str]:
    """Names the statements assign in the enclosing scope (not in nested functions or comprehensions)."""
    found: list[str] = []

    def add(name):
        if name not in found and name not in skip:
            found.append(name)

    def walk(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            add(node.id)
        for child in ast.iter_child_nodes(node):
            walk(child)

    for s in statements:
        walk(s)
    return found


def _contains(statements, kinds, into_loops: bool = False) -> bool:
    """Whether a statement of these kinds occurs (not inside nested functions; nor nested loops unless asked)."""
    def walk(node):
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return False
        if not into_loops and isinstance(node, (ast.For, ast.While)):
            return False
        return any(walk(c) for c in ast.iter_child_nodes(node))

    return any(walk(s) for s in statements)


_JUMPS = {ast.Return: "return", ast.Yield: "yield", ast.Break: "break", ast.Continue: "continue",
          ast.Nonlocal: "nonlocal", ast.Global: "global"}


def _named(statements, kinds, where: str) -> str:
    """The construct for an error message: e.g. "`return` inside an if"."""
    found = [f"`{_JUMPS[k]}`" for k in kinds if _contains(statements, k)]
    return f"{' / '.join(found)} inside {where}"


def _stamp(node, ref):
    """Give every generated node (one without a location) the first line of ref, the user's statement, so
    the rewritten code reports that line; the user's own nodes keep theirs."""
    line, col = ref.lineno, ref.col_offset
    for child in ast.walk(node):
        if "lineno" in child._attributes and getattr(child, "lineno", None) is None:
            child.lineno, child.end_lineno, child.col_offset, child.end_col_offset = line, line, col, col
    return node


def _placed(node, ref):
    """node at ref's location, with its generated children there too."""
    return _stamp(ast.copy_location(node, ref), ref)


def _names_tuple(names, ctx):
    return ast.Tuple(elts=[ast.Name(n, ctx()) for n in names], ctx=ctx())


def _call(func: str, args) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=ast.Name("ag__", ast.Load()), attr=func, ctx=ast.Load()),
                    args=list(args), keywords=[])


def _state_args(names):
    strings = ast.Tuple(elts=[ast.Constant(n) for n in names], ctx=ast.Load())
    before = _call("values_before", [ast.Call(func=ast.Name("locals", ast.Load()), args=[], keywords=[]), strings])
    return before, strings


def _function(name: str, params, body, returns) -> ast.FunctionDef:
    args = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])
    body = list(body)
    if returns is not None:
        body.append(ast.Return(value=returns))
    body = body or [ast.Pass()]
    extra = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
    return ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None, **extra)


class _Lower:
    """break / continue in one loop body -> flag variables, with the statements after them guarded by
    `if not flag:` (those ifs are then converted like any other)."""

    def __init__(self, brk: str | None, cnt: str | None):
        self.brk, self.cnt = brk, cnt
        self.kinds = tuple(k for k, f in ((ast.Break, brk), (ast.Continue, cnt)) if f)  # the jumps lowered

    def flag(self, name, node):
        return _placed(ast.Assign(targets=[ast.Name(name, ast.Store())], value=ast.Constant(True)), node)

    def block(self, statements):
        out = []
        for k, s in enumerate(statements):
            jumps = _contains([s], self.kinds)
            if isinstance(s, ast.Break) and self.brk:
                s = self.flag(self.brk, s)
            elif isinstance(s, ast.Continue) and self.cnt:
                s = self.flag(self.cnt, s)
            elif isinstance(s, ast.If):
                s.body, s.orelse = self.block(s.body), self.block(s.orelse)
            out.append(s)
            rest = statements[k + 1:]
            if jumps and rest:
                flags = [ast.Name(f, ast.Load()) for f in (self.brk, self.cnt) if f]
                either = flags[0] if len(flags) == 1 else ast.BoolOp(ast.Or(), flags)
                guard = ast.If(test=ast.UnaryOp(ast.Not(), either), body=self.block(rest), orelse=[])
                out.append(_placed(guard, rest[0]))
                break
        return out


class _Converter(ast.NodeTransformer):
    def __init__(self, filename: str):
        self.filename = filename
        self.names = _Counter()

    # -- statements ----------------------------------------------------------------------------------------
    def visit_FunctionDef(self, node):
        node.body = self.statements(node.body)
        return node

    def statements(self, body):
        out = []
        for s in body:
            r = self.visit(s)
            out.extend(r if isinstance(r, list) else [r])
        return out

    def visit_If(self, node):
        if _contains(node.body + node.orelse, tuple(_JUMPS)):
            node.test = self.unsupported(_named(node.body + node.orelse, tuple(_JUMPS), "an if"), node)
            node.body, node.orelse = self.statements(node.body), self.statements(node.orelse)
            return node
        test = self.visit(node.test)
        body, orelse = self.statements(node.body), self.statements(node.orelse)
        names = _assigned(body + orelse, self.names.generated)
        t, f = self.names.name("if_true"), self.names.name("if_false")
        before, strings = _state_args(names)
        call = _call("if_stmt", [test, ast.Name(t, ast.Load()), ast.Name(f, ast.Load()), before, strings])
        result = ast.Assign(targets=[_names_tuple(names, ast.Store)], value=call) if names else ast.Expr(call)
        returns = _names_tuple(names, ast.Load)
        out = [_function(t, names, body, returns), _function(f, names, orelse, returns), result]
        return [_stamp(n, node) for n in out]

    def visit_While(self, node):
        if node.orelse or _contains(node.body, (ast.Return, ast.Yield)):
            construct = ("a while loop with an else clause" if node.orelse else
                         _named(node.body, (ast.Return, ast.Yield), "a while loop"))
            node.test = self.unsupported(construct, node)
            node.body = self.statements(node.body)
            return node
        pre, body, test = self.lower_jumps(node.body, node.test, node)
        test = self.visit(test)
        body = self.statements(body)
        names = _assigned(body, self.names.generated)
        c, b = self.names.name("loop_test"), self.names.name("loop_body")
        before, strings = _state_args(names)
        call = _call("while_stmt", [ast.Name(c, ast.Load()), ast.Name(b, ast.Load()), before, strings])
        out = pre + [_function(c, names, [], test), _function(b, names, body, _names_tuple(names, ast.Load)),
                     ast.Assign(targets=[_names_tuple(names, ast.Store)], value=call) if names else ast.Expr(call)]
        return [_stamp(n, node) for n in out]

    def visit_For(self, node):
        it = node.iter
        is_range = (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                    and 1 <= len(it.args) <= 3 and not it.keywords and isinstance(node.target, ast.Name))
        if not is_range or node.orelse or _contains(node.body, (ast.Return, ast.Yield)):
            if is_range:
                node.iter = self.unsupported("a for loop with an else clause" if node.orelse else
                                             _named(node.body, (ast.Return, ast.Yield), "a for loop"), node)
            node.body = self.statements(node.body)
            return node
        if _contains(node.body, (ast.Break, ast.Continue)):
            if len(it.args) == 3:
                node.iter = self.unsupported("a for loop over range with a step and break or continue", node)
                node.body = self.statements(node.body)
                return node
            return self.visit_While(self.range_as_while(node))
        args = [self.visit(a) for a in it.args]
        body = self.statements(node.body)
        names = _assigned(body, self.names.generated | {node.target.id})
        b = self.names.name("for_body")
        before, strings = _state_args(names)
        call = _call("for_range", [ast.Tuple(elts=args, ctx=ast.Load()), ast.Name(b, ast.Load()), before, strings])
        fn = _function(b, [node.target.id] + names, body, _names_tuple(names, ast.Load))
        out = [fn, ast.Assign(targets=[_names_tuple(names, ast.Store)], value=call) if names else ast.Expr(call)]
        return [_stamp(n, node) for n in out]

    def range_as_while(self, node):
        """for i in range(a, b): body  ->  i = a; while i < b: body; i = i + 1 (continue still counts)."""
        i = node.target.id
        args = node.iter.args
        start, stop = (ast.Constant(0), args[0]) if len(args) == 1 else (args[0], args[1])
        count = ast.Assign(targets=[ast.Name(i, ast.Store())],
                           value=ast.BinOp(ast.Name(i, ast.Load()), ast.Add(), ast.Constant(1)))
        body = list(node.body)
        if _contains(node.body, ast.Continue):
            cnt = self.names.flag("continue_")
            body = [ast.Assign(targets=[ast.Name(cnt, ast.Store())], value=ast.Constant(False))]
            body += _Lower(None, cnt).block(node.body)
        loop = ast.While(test=ast.Compare(ast.Name(i, ast.Load()), [ast.Lt()], [stop]), body=body + [count],
                         orelse=[])
        start_stmt = ast.Assign(targets=[ast.Name(i, ast.Store())], value=start)
        self.pending_pre = [_placed(start_stmt, node)]
        return _placed(loop, node)

    def lower_jumps(self, body, test, node):
        """break -> a flag tested with the loop condition; continue -> a flag reset each iteration."""
        pre = getattr(self, "pending_pre", [])
        self.pending_pre = []
        has_break, has_continue = _contains(body, ast.Break), _contains(body, ast.Continue)
        if not (has_break or has_continue):
            return pre, body, test
        brk = self.names.flag("break_") if has_break else None
        cnt = self.names.flag("continue_") if has_continue else None
        new_body = _Lower(brk, cnt).block(body)
        if cnt:
            new_body.insert(0, ast.Assign(targets=[ast.Name(cnt, ast.Store())], value=ast.Constant(False)))
        if brk:
            pre = pre + [_placed(ast.Assign(targets=[ast.Name(brk, ast.Store())], value=ast.Constant(False)),
                                           node)]
            test = _placed(ast.BoolOp(ast.And(), [ast.UnaryOp(ast.Not(), ast.Name(brk, ast.Load())), test]), node)
        return pre, [_stamp(s, node) for s in new_body], test

    def unsupported(self, construct, node):
        """node's test (or, for a `for` over range, each bound) through ag__.unsupported: fine when concrete, an
        error naming the construct when traced."""
        if isinstance(node, ast.For):
            node.iter.args = [self.guard(construct, a, node) for a in node.iter.args]
            return node.iter
        return self.guard(construct, node.test, node)

    def guard(self, construct, expr, node):
        return _placed(_call("unsupported", [ast.Constant(construct), self.visit(expr), ast.Constant(node.lineno),
                                             ast.Constant(self.filename)]), node)

    # -- expressions ---------------------------------------------------------------------------------------
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        op = "and_" if isinstance(node.op, ast.And) else "or_"
        result = node.values[-1]
        for left in reversed(node.values[:-1]):
            result = _call(op, [left, ast.Lambda(args=_no_args(), body=result)])
        return _placed(result, node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return _placed(_call("not_", [node.operand]), node)
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        call = _call("if_exp", [node.test, ast.Lambda(args=_no_args(), body=node.body),
                                ast.Lambda(args=_no_args(), body=node.orelse)])
        return _placed(call, node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id not in _BUILTIN_NAMES) or _is_own_method(node.func):
            node.func = _placed(_call("converted", [node.func]), node.func)  # user functions and methods
        return node

    def visit_Lambda(self, node):
        return node  # a lambda's body is an expression: left as written


_BUILTIN_NAMES = set(dir(__builtins__) if isinstance(__builtins__, dict) else dir(__builtins__)) | {"locals"}


def _is_own_method(func) -> bool:
    """`self.method` / `cls.method`: a method of the user's class, converted like a function (other attribute
    calls, `np.sum(x)` or `x.sum()`, are left as written, so the rewritten source stays close to the user's)."""
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls")


def _no_args():
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                         defaults=[])


def _function_node(fn):
    """The FunctionDef of fn (a lambda becomes one), from its source file, with its original line numbers;
    None if unavailable or ambiguous (two lambdas with the same arguments on one line)."""
    if fn.__name__ == "<lambda>":  # a lambda may sit in a statement that inspect cuts short: read its file
        lambdas = _file_lambdas(fn)
        if lambdas is not None:
            return _lambda_node(fn, lambdas.get(fn.__code__.co_firstlineno, []))
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    source = textwrap.dedent("".join(lines))
    indent = _indent(lines[0]) - _indent(source.splitlines()[0])
    first_indent = indent
    try:
        module = ast.parse(source)
    except SyntaxError:
        try:
            module = ast.parse("(" + source.strip().rstrip(",") + ")")  # a lambda inside a larger expression
        except SyntaxError:
            return None
        first_indent = _indent(lines[0]) - 1
    _shift_columns(module, first_indent, indent)
    ast.increment_lineno(module, first - 1)
    if fn.__name__ == "<lambda>":
        return _lambda_node(fn, list(ast.walk(module)))
    node = module.body[0] if module.body else None
    if not isinstance(node, ast.FunctionDef) or node.name != fn.__name__:
        return None
    node.decorator_list = []
    return node


_files: dict = {}  # filename -> (its lines as linecache holds them, {line: [Lambda nodes]} or None)


def _file_lambdas(fn):
    """The lambdas of the file fn was defined in, by line, from parsing it whole once (None where its source is
    not valid Python on its own)."""
    filename = fn.__code__.co_filename
    lines = linecache.getlines(filename, fn.__globals__)
    cached = _files.get(filename)
    if cached is None or cached[0] is not lines:
        try:
            module = ast.parse("".join(lines)) if lines else None
        except (SyntaxError, ValueError):
            module = None
        index = None if module is None else {}
        for node in ast.walk(module) if module is not None else ():
            if isinstance(node, ast.Lambda):
                index.setdefault(node.lineno, []).append(node)
        cached = _files[filename] = (lines, index)
    return cached[1]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _shift_columns(module, first: int, rest: int) -> None:
    """Give the nodes parsed from dedented source the columns they have in the file (the first line moved by
    `first`, the others by `rest`), so tracebacks point at the right characters and lambdas can be told apart."""
    for node in ast.walk(module):
        if "col_offset" in node._attributes:
            node.col_offset += first if node.lineno == 1 else rest
            if getattr(node, "end_col_offset", None) is not None:
                node.end_col_offset += first if node.end_lineno == 1 else rest


def _lambda_node(fn, candidates):
    """The Lambda node (among candidates) that compiled to fn, as a FunctionDef of its own: its line and
    arguments, and among several such on one line, the one whose body holds the columns of fn's code."""
    code = fn.__code__
    params = list(code.co_varnames[:code.co_argcount])
    found = [n for n in candidates if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno
             and [a.arg for a in n.args.args] == params]
    if len(found) > 1:
        cols = [c for line, _, c, end in code.co_positions()
                if line == code.co_firstlineno and c is not None and end is not None and end > c]
        start = min(cols, default=-1)
        found = [n for n in found if n.body.lineno == code.co_firstlineno and n.body.col_offset <= start and
                 (n.body.end_lineno > n.body.lineno or start < n.body.end_col_offset)]
    if len(found) != 1:
        return None
    node = copy.deepcopy(found[0])  # the converter rewrites it in place; the file's parse is kept for others
    return _placed(ast.FunctionDef(name="lambda_", args=node.args, body=[_placed(ast.Return(node.body), node)],
                                   decorator_list=[], returns=None,
                                   **({"type_params": []} if "type_params" in ast.FunctionDef._fields else {})), node)


def converted_tree(fn):
    """(the rewritten FunctionDef, filename) for fn, or None where its source cannot be read."""
    node = _function_node(fn)
    if node is None:
        return None
    filename = fn.__code__.co_filename
    return _Converter(filename).visit(node), filename


def convert(fn):
    """fn rewritten by autograph (cached per code object), or fn itself where it cannot be (a builtin, a
    lambda, code without source, dualtape's or a library's own functions)."""
    if isinstance(fn, functools.partial):
        return functools.partial(convert(fn.func), *fn.args, **fn.keywords)
    if isinstance(fn, types.MethodType):
        return types.MethodType(convert(fn.__func__), fn.__self__)
    if not isinstance(fn, types.FunctionType) or getattr(fn, "__wrapped__", None):
        return fn
    filename = fn.__code__.co_filename
    if is_internal(filename) or is_library(filename) or getattr(fn, "_dt_autograph", False):
        return fn
    if "ag__" in fn.__code__.co_freevars:  # defined inside a converted function: converted with it
        return fn
    code = _cache.get(fn.__code__)
    if code is None:
        code = _compile(fn)
        _cache[fn.__code__] = code
    if code is False:
        return fn
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    cells["ag__"] = types.CellType(_OPERATORS)
    closure = tuple(cells[name] for name in code.co_freevars)
    new = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, closure)
    new.__qualname__ = fn.__qualname__
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__dict__.update(fn.__dict__)
    new._dt_autograph = True
    new.__wrapped__ = fn
    return new


_OPERATORS = types.SimpleNamespace(
    **{name: getattr(runtime, name) for name in (
        "values_before", "if_stmt", "if_exp", "while_stmt", "for_range", "and_", "or_", "not_", "unsupported")},
    converted=convert,
)  # `ag__` in rewritten code


def maybe_convert(fn, enabled=None):
    """fn through autograph when it is on (the `autograph` argument, else dt.config.autograph)."""
    on = config.autograph if enabled is None else enabled
    return convert(fn) if on else fn


def _compile(fn):
    """The code object of the rewritten function, made inside a factory so that its free variables (the
    original closure, and `ag__`) stay free; False if the function cannot be converted."""
    converted = converted_tree(fn)
    if converted is None:
        return False
    node, filename = converted
    freevars = list(fn.__code__.co_freevars) + ["ag__"]
    factory = _function("ag__factory", freevars, [node], ast.Name(node.name, ast.Load()))
    module = ast.Module(body=[_placed(factory, node)], type_ignores=[])
    ast.fix_missing_locations(module)
    module_code = compile(module, filename, "exec")
    factory_code = next(c for c in module_code.co_consts if isinstance(c, types.CodeType))
    return next(c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == node.name)


def autograph_source(fn) -> str:
    """The source autograph runs in place of fn (as `ast.unparse` writes it)."""
    converted = converted_tree(getattr(fn, "__wrapped__", fn))
    if converted is None:
        raise ValueError(f"the source of {getattr(fn, '__name__', fn)!r} cannot be read (a REPL function or a "
                         "builtin?): autograph leaves it as it is")
    return ast.unparse(converted[0])
