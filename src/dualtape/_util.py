"""Small stdlib-only helpers shared by every layer: user source locations, library files, axis checks."""

from __future__ import annotations

import functools
import operator
import os
import sys
import sysconfig
import threading
from typing import NamedTuple

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
EXAMPLES_DIR = os.path.join(PACKAGE_DIR, "examples")


_LIBRARY_DIRS = tuple(
    os.path.realpath(p) for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
)


@functools.lru_cache(maxsize=4096)
def is_library(filename: str) -> bool:
    """True for the standard library and installed packages (NumPy's Python code, say): not the user's."""
    return os.path.realpath(filename).startswith(_LIBRARY_DIRS) and not filename.startswith(PACKAGE_DIR)


def is_internal(filename: str) -> bool:
    """True for dualtape's own modules and generated code; the bundled examples count as user code."""
    if filename.startswith("<dualtape"):
        return True
    return filename.startswith(PACKAGE_DIR) and not filename.startswith(EXAMPLES_DIR)


class SourceLine(NamedTuple):
    """Where in the user's code something happened."""

    filename: str
    lineno: int
    function: str
    text: str

    def __str__(self) -> str:
        where = f"{self.filename}:{self.lineno} in {self.function}"
        return f"{where}: {self.text}" if self.text else where


def user_source_line(skip: int = 1) -> SourceLine | None:
    """The innermost stack frame outside the dualtape package (the user's line), or None. Called for every
    recorded op, so the frames' verdicts and the lines read are cached (by file name and line)."""
    frame = sys._getframe(skip)
    while frame is not None:
        code = frame.f_code
        if not _skipped(code.co_filename):
            return _source_line(code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


@functools.lru_cache(maxsize=4096)
def _skipped(filename: str) -> bool:
    return is_internal(filename) or "importlib" in filename


@functools.lru_cache(maxsize=4096)
def _source_line(filename: str, lineno: int, function: str) -> SourceLine:
    import linecache

    return SourceLine(filename, lineno, function, linecache.getline(filename, lineno).strip())


def normalize_axis(axis: int, ndim: int, op: str = "op") -> int:
    """A non-negative Python int axis, or a ValueError naming the op."""
    axis = operator.index(axis)
    if not -ndim <= axis < max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise ValueError(f"{op}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim if ndim else 0


def normalize_axes(axis, ndim: int, op: str = "op") -> tuple[int, ...]:
    """axis=None|int|sequence -> sorted tuple of distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int) or hasattr(axis, "__index__"):
        axis = (int(axis),)
    axes = tuple(sorted(normalize_axis(int(a), ndim, op) for a in axis))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {tuple(axis)}")
    return axes


class ProcessCache(dict):
    """A cache of what this process compiled, pickled empty: another process (a dask.distributed or Ray worker)
    compiles its own on first use."""

    def __reduce__(self):
        return type(self), ()


class ProcessLock:
    """A re-entrant lock that pickles as a new one (a lock belongs to its process)."""

    def __init__(self):
        self._lock = threading.RLock()

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def __reduce__(self):
        return type(self), ()
