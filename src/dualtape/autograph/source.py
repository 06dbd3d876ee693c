"""Reading a function back as an AST for autograph: its `def` (or its lambda, as a `def`) parsed from its source
file, with the line and column numbers it has there, so the rewritten code reports the user's locations.

Source is found through the code object, never through `__wrapped__`: a `functools.wraps` wrapper is read as
the wrapper it is, not as the function it wraps."""

from __future__ import annotations

import ast
import copy
import inspect
import linecache
import sys
import textwrap
import types


def stamp(node, ref):
    """Give every generated node (one without a location) the first line of ref, the user's statement, so
    the rewritten code reports that line; the user's own nodes keep theirs."""
    line, col = ref.lineno, ref.col_offset
    for child in ast.walk(node):
        if "lineno" in child._attributes and getattr(child, "lineno", None) is None:
            child.lineno, child.end_lineno, child.col_offset, child.end_col_offset = line, line, col, col
    return node


def placed(node, ref):
    """node at ref's location, with its generated children there too."""
    return stamp(ast.copy_location(node, ref), ref)


def function_def(name: str, args: ast.arguments, body) -> ast.FunctionDef:
    extra = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
    return ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None, **extra)


if sys.version_info >= (3, 11):
    unparse = ast.unparse
else:
    class _Unparser(ast._Unparser):
        """ast.unparse as Python 3.11 writes it: `lambda: x`, not `lambda : x`; a tuple assigned to or looped
        over without parentheses (`a, b = f()`, `b, = f()`, `for i, x in ...`), so the rewrite reads the same
        on every version."""

        def visit_Lambda(self, node):
            if node.args.posonlyargs or node.args.args or node.args.vararg or node.args.kwonlyargs or \
                    node.args.kwarg:
                return super().visit_Lambda(node)
            with self.require_parens(ast._Precedence.TEST, node):
                self.write("lambda: ")
                self.set_precedence(ast._Precedence.TEST, node.body)
                self.traverse(node.body)

        def visit_Tuple(self, node):
            with self.delimit_if("(", ")", not node.elts or self.get_precedence(node) > ast._Precedence.TUPLE):
                self.items_view(self.traverse, node.elts)

        def visit_Assign(self, node):
            self.set_precedence(ast._Precedence.TUPLE, *node.targets)
            super().visit_Assign(node)

        def _for_helper(self, fill, node):
            self.set_precedence(ast._Precedence.TUPLE, node.target)
            super()._for_helper(fill, node)

    def unparse(node) -> str:
        return _Unparser().visit(node)


def function_node(fn):
    """The FunctionDef of fn (a lambda becomes one), from its source file, with its original line numbers;
    None if unavailable or ambiguous (on Python 3.10, whose code has no columns: lambdas on one line with the same
    arguments and the same code but different source, as `lambda x: x * (1 + 1)` and `lambda x: x * 2`)."""
    code = fn.__code__
    if code.co_name == "<lambda>":  # a lambda may sit in a statement that inspect cuts short: read its file
        lambdas = _file_lambdas(fn)
        if lambdas is not None:
            return _lambda_node(fn, lambdas.get(code.co_firstlineno, []))
    try:
        lines, first = inspect.getsourcelines(code)
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
    if code.co_name == "<lambda>":
        return _lambda_node(fn, list(ast.walk(module)))
    node = module.body[0] if module.body else None
    if not isinstance(node, ast.FunctionDef) or node.name != code.co_name:
        return None
    node.decorator_list = []
    return node


_PROMPTS = ("<stdin>", "<python-input-", "<pyshell#", "<console")  # the interactive prompts' (and python -'s) names


def missing_source(fn) -> str | None:
    """Why fn's source cannot be read (None when it can): where it was defined, and that Python keeps no source
    for it there. Source registered in linecache (IPython's and Jupyter's cells, exec'd code registered by its
    caller) counts as readable."""
    filename = fn.__code__.co_filename
    if linecache.getlines(filename, fn.__globals__):
        return None
    if filename.startswith(_PROMPTS):
        return (f"it was defined at the interactive prompt or read from standard input (`python -`), as "
                f"{filename!r}, and Python keeps no source for those")
    if filename.startswith("<"):
        return (f"it was compiled from a string (exec() or compile() with the name {filename!r}) whose source was "
                "not registered in linecache")
    return f"its file {filename} cannot be read"


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
    arguments, and among several such on one line, the one whose body holds the columns of fn's code (Python
    3.11+), or the one that compiles to fn's code (3.10, whose code objects carry no columns)."""
    code = fn.__code__
    params = list(code.co_varnames[:code.co_argcount])
    found = [n for n in candidates if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno
             and [a.arg for a in n.args.args] == params]
    if len(found) > 1 and hasattr(code, "co_positions"):
        cols = [c for line, _, c, end in code.co_positions()
                if line == code.co_firstlineno and c is not None and end is not None and end > c]
        start = min(cols, default=-1)
        found = [n for n in found if n.body.lineno == code.co_firstlineno and n.body.col_offset <= start and
                 (n.body.end_lineno > n.body.lineno or start < n.body.end_col_offset)]
    elif len(found) > 1:
        found = [n for n in found if _compiles_to(n, code)]
        if len({ast.dump(n) for n in found}) == 1:  # the same lambda written twice: either one is fn's
            found = found[:1]
    if len(found) != 1:
        return None
    node = copy.deepcopy(found[0])  # the converter rewrites it in place; the file's parse is kept for others
    return placed(function_def("lambda_", node.args, [placed(ast.Return(node.body), node)]), node)


def _compiles_to(node, code) -> bool:
    """Whether the Lambda node compiles to code: node compiled on its own lines, inside a function that gives it
    code's free variables as cells (so names read the same way, as globals, locals or cells), and its code
    compared with code part by part."""
    lam = copy.deepcopy(node)
    if code.co_freevars:
        cells = [ast.Name(id=name, ctx=ast.Store()) for name in code.co_freevars]
        body = [ast.Assign(targets=cells, value=ast.Constant(None)), ast.Return(lam)]
        tree = ast.Module(body=[function_def("_", _no_arguments(), body)], type_ignores=[])
    else:
        tree = ast.Module(body=[ast.Expr(lam)], type_ignores=[])
    for child in ast.walk(tree):  # the wrapper's nodes at the lambda's place; the lambda's own keep theirs
        if "lineno" in child._attributes and getattr(child, "lineno", None) is None:
            child.lineno, child.end_lineno, child.col_offset, child.end_col_offset = lam.lineno, lam.lineno, 0, 0
    try:
        module = compile(tree, code.co_filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return False
    for _ in range(2 if code.co_freevars else 1):  # the lambda's code, in the module's or the wrapper's
        module = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return _same_code(module, code)


def _no_arguments() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                         defaults=[])


_FLAGS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR | inspect.CO_COROUTINE


def _same_code(a, b) -> bool:
    """Whether code objects a and b hold the same instructions over the same names and constants (nested code
    compared the same way, the qualified names of nested functions by their last part: a and b may sit in
    different functions)."""
    return (a.co_code == b.co_code and a.co_names == b.co_names and a.co_varnames == b.co_varnames
            and a.co_freevars == b.co_freevars and a.co_cellvars == b.co_cellvars
            and (a.co_argcount, a.co_posonlyargcount, a.co_kwonlyargcount, a.co_flags & _FLAGS)
            == (b.co_argcount, b.co_posonlyargcount, b.co_kwonlyargcount, b.co_flags & _FLAGS)
            and len(a.co_consts) == len(b.co_consts)
            and all(_same_constant(x, y) for x, y in zip(a.co_consts, b.co_consts)))


def _same_constant(x, y) -> bool:
    if isinstance(x, types.CodeType) or isinstance(y, types.CodeType):
        return isinstance(x, types.CodeType) and isinstance(y, types.CodeType) and _same_code(x, y)
    if isinstance(x, str) and isinstance(y, str) and "<locals>." in x and "<locals>." in y:  # a qualified name
        return x.rsplit("<locals>.", 1)[1] == y.rsplit("<locals>.", 1)[1]
    return type(x) is type(y) and repr(x) == repr(y)  # 1 and 1.0, 0.0 and -0.0 told apart; nan equal to nan
