"""Reading a function back as an AST for autograph: its `def` (or its lambda, as a `def`) parsed from its source
file, with the line and column numbers it has there, so the rewritten code reports the user's locations.

Source is found through the code object, never through `__wrapped__`: a `functools.wraps` wrapper is read as
the wrapper it is, not as the function it wraps."""

from __future__ import annotations

import ast
import copy
import inspect
import linecache
import textwrap


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


def function_node(fn):
    """The FunctionDef of fn (a lambda becomes one), from its source file, with its original line numbers;
    None if unavailable or ambiguous (two lambdas with the same arguments on one line)."""
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
    return placed(function_def("lambda_", node.args, [placed(ast.Return(node.body), node)]), node)
