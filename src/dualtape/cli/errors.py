"""The error a command reports in one line (no traceback), and the helper that turns failures into it."""

from __future__ import annotations

import ast
import linecache
import os
import pathlib
import traceback

from .._util import SourceLine


class CommandError(Exception):
    """A command cannot do what was asked: printed as `dualtape COMMAND: error: ...`, exit status 2."""


def attempt(what: str, fn, *args, user_file=None):
    """fn(*args), with any error it raises turned into a CommandError that says what was being done. With
    user_file (the user's Python file), an error raised in that file also says where, as dualtape's own errors
    do: `at FILE:LINE in FUNCTION: SOURCE LINE`."""
    try:
        return fn(*args)
    except CommandError:
        raise
    except Exception as e:  # the user's function or dualtape failed: report it, no traceback
        message = f"{what} failed:\n  {type(e).__name__}: {e}"
        where = None if "\n  at " in str(e) else raised_at(e, user_file)  # (dualtape's errors say where)
        raise CommandError(message + (f"\n  at {where}" if where else "")) from None


def raised_at(error: BaseException, user_file):
    """The innermost frame of error's traceback in user_file, as a SourceLine; None when there is none."""
    if user_file is None:
        return None
    wanted, found = os.path.realpath(user_file), None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if os.path.realpath(frame.f_code.co_filename) == wanted:
            found = frame, lineno
    if found is None:
        return None
    frame, lineno = found
    filename = frame.f_code.co_filename
    text = linecache.getline(filename, lineno).strip()
    return SourceLine(filename, lineno, _enclosing_function(filename, lineno) or frame.f_code.co_name, text)


def _enclosing_function(filename: str, lineno: int) -> str | None:
    """The name of the innermost def around line lineno of the file (a frame's own name can be one dualtape
    made up, for an if or a loop that autograph converted into a function); None outside any def."""
    try:
        module = ast.parse(pathlib.Path(filename).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    name = None
    for node in ast.walk(module):  # (breadth first: an inner def comes after the defs around it)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.lineno <= lineno <= (node.end_lineno or node.lineno):
            name = node.name
    return name
