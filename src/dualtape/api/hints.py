"""The types of the functional API's signatures (dualtape ships py.typed: type checkers read them), and
`SourceText`, the str that dt.source returns: every str operation and comparison works on it as on any str, and
Jupyter shows it as highlighted Python rather than as a quoted string full of `\n`s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

Fn: TypeAlias = Callable[..., Any]  # a function the transforms take, or the transformed function they return
Argnums: TypeAlias = int | Sequence[int]  # which positional arguments: one index or several
Argnames: TypeAlias = str | Sequence[str]  # which keyword arguments: one name or several


class SourceText(str):
    """Python source: a str that notebooks render as a Python code block."""

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.rstrip()}\n```"
