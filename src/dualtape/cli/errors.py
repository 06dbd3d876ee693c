"""The error a command reports in one line (no traceback), and the helper that turns failures into it."""

from __future__ import annotations


class CommandError(Exception):
    """A command cannot do what was asked: printed as `dualtape COMMAND: error: ...`, exit status 2."""


def attempt(what: str, fn, *args):
    """fn(*args), with any error it raises turned into a CommandError that says what was being done."""
    try:
        return fn(*args)
    except CommandError:
        raise
    except Exception as e:  # the user's function or dualtape failed: report it, no traceback
        raise CommandError(f"{what} failed:\n  {type(e).__name__}: {e}") from None
