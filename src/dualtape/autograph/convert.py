"""Autograph's entry points: `convert(fn)` is the function autograph runs in place of fn (fn's source rewritten by
rewrite.py, compiled once per code object and cached), `maybe_convert` applies it when autograph is on, and
`autograph_source` shows the rewrite.

What is converted: the user's Python functions, lambdas, methods (bound to their object), callable objects
(their class's `__call__`, bound to the object), `functools.partial`s of these, and `functools.wraps`
wrappers (the wrapper itself; the function it calls is converted in turn, when it is called). Code of dualtape,
of the standard library and of installed packages is left as it is. Conversion is lazy: a converted function
converts what it calls when it calls it, so recursion and cycles end where the user's own code does.

The rewritten function keeps the original's file and line numbers (so errors and tracebacks point at the
user's code) and its closure.
"""

from __future__ import annotations

import ast
import collections
import functools
import types

from .._util import is_internal, is_library
from ..config import config
from ..errors import UNCONVERTED
from . import runtime
from .rewrite import Converter
from .source import function_def, function_node, missing_source, placed, unparse

_cache: dict = {}  # code object -> its rewritten code object, or False where the function is left as it is
_rewritten: set = set()  # the code objects autograph made (converted functions and the functions inside them)


def converted_tree(fn):
    """(the rewritten FunctionDef, filename) for the Python function fn, or None where its source cannot be
    read."""
    node = function_node(fn)
    if node is None:
        return None
    cells = {}
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            cells[name] = cell.cell_contents
        except ValueError:  # not assigned yet
            pass
    filename = fn.__code__.co_filename
    return Converter(filename, collections.ChainMap(cells, fn.__globals__)).visit(node), filename


def convert(fn):
    """fn rewritten by autograph, or fn itself where it cannot be or need not be (a builtin, a class, code
    without source, dualtape's or a library's own functions, a function already converted)."""
    if isinstance(fn, functools.partial):
        func = convert(fn.func)
        return fn if func is fn.func else functools.partial(func, *fn.args, **fn.keywords)
    if isinstance(fn, types.MethodType):
        func = convert(fn.__func__)
        return fn if func is fn.__func__ else types.MethodType(func, fn.__self__)
    if not isinstance(fn, types.FunctionType):
        call = _call_method(fn)
        if call is None:
            return fn
        func = convert(call)
        return fn if func is call else types.MethodType(func, fn)
    code = fn.__code__
    if code in _rewritten or "ag__" in code.co_freevars:  # converted, or defined inside a converted function
        return fn
    new_code = _cache.get(code)
    if new_code is None:
        new_code = _cache[code] = _compile(fn) if _is_user_code(code) else False
    if new_code is False:
        return fn
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    cells["ag__"] = types.CellType(_OPERATORS)
    closure = tuple(cells[name] for name in new_code.co_freevars)
    new = types.FunctionType(new_code, fn.__globals__, fn.__name__, fn.__defaults__, closure)
    new.__qualname__, new.__module__, new.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__dict__.update(fn.__dict__)
    new.__wrapped__ = fn
    return new


def _call_method(obj):
    """The plain function that is type(obj).__call__, for a callable object (not a class); else None."""
    if isinstance(obj, type):
        return None
    for klass in type(obj).__mro__:
        if "__call__" in klass.__dict__:
            call = klass.__dict__["__call__"]
            return call if isinstance(call, types.FunctionType) else None
    return None


def _is_user_code(code) -> bool:
    return not (is_internal(code.co_filename) or is_library(code.co_filename))


_OPERATORS = types.SimpleNamespace(
    **{name: getattr(runtime, name) for name in (
        "values_before", "if_stmt", "if_exp", "while_stmt", "for_range", "loop_target", "attr", "item", "and_",
        "or_", "not_", "unsupported")},
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
        reason = missing_source(fn)
        if reason is not None:  # (so a traced if / while in it can say why it was not converted)
            UNCONVERTED[fn.__code__] = reason
        return False
    node, filename = converted
    freevars = list(fn.__code__.co_freevars) + ["ag__"]
    args = ast.arguments(posonlyargs=[], args=[ast.arg(v) for v in freevars], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])
    # the def must not bind its name in the factory: a recursive call reads it where the original does
    declare = [] if node.name in freevars else [ast.Global([node.name])]
    factory = function_def("ag__factory", args, declare + [node, ast.Return(ast.Name(node.name, ast.Load()))])
    module = ast.Module(body=[placed(factory, node)], type_ignores=[])
    ast.fix_missing_locations(module)
    module_code = compile(module, filename, "exec")
    factory_code = next(c for c in module_code.co_consts if isinstance(c, types.CodeType))
    code = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == node.name)
    _remember(code)
    return code


def _remember(code) -> None:
    _rewritten.add(code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _remember(const)


def _function_of(fn):
    """The Python function autograph rewrites for fn (the original of a converted one)."""
    if isinstance(fn, functools.partial):
        return _function_of(fn.func)
    if isinstance(fn, types.MethodType):
        return _function_of(fn.__func__)
    if not isinstance(fn, types.FunctionType):
        return _call_method(fn)
    if fn.__code__ in _rewritten and isinstance(getattr(fn, "__wrapped__", None), types.FunctionType):
        return fn.__wrapped__
    return fn


def autograph_source(fn) -> str:
    """The source autograph runs in place of fn (as `ast.unparse` writes it)."""
    func = _function_of(fn)
    converted = converted_tree(func) if func is not None else None
    if converted is None:
        reason = missing_source(func) if isinstance(func, types.FunctionType) else "it is not a Python function"
        raise ValueError(f"the source of {getattr(fn, '__name__', fn)!r} cannot be read "
                         f"({reason or 'it could not be parsed on its own'}): autograph leaves it as it is")
    return unparse(converted[0])
