"""Compile emitted source into a callable: register it with linecache (so tracebacks and inspect show it),
bind the array module `xp` (NumPy, or CuPy on a GPU) and the captured values, and wrap the result."""

from __future__ import annotations

import importlib
import itertools
import linecache

import numpy as np

from ..core.ir import Program, sub_programs
from ..errors import BackendError
from .emit import emit_program

_serial = itertools.count(1)
BACKENDS = ("numpy", "cupy")


def array_module(backend: str):
    """The array module for a backend name, or a clear error saying what is missing."""
    if backend == "numpy":
        return np
    if backend == "cupy":
        try:
            cupy = importlib.import_module("cupy")
        except ImportError as e:
            raise BackendError(
                "backend='cupy' needs CuPy, which is not installed: pip install 'dualtape[cupy]' "
                "(or the cupy-cudaXXx wheel matching your CUDA version)"
            ) from e
        try:
            cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver or device missing
            raise BackendError(f"backend='cupy' needs an NVIDIA GPU, but CUDA reports none: {e}") from e
        return cupy
    raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")


class Compiled:
    """A program compiled to a Python function over arrays of one backend."""

    __slots__ = ("fn", "source", "filename", "n_outputs", "program")

    def __init__(self, program: Program, backend: str = "numpy", comments: bool = True):
        xp = array_module(backend)
        emitted = emit_program(program, comments=comments)
        self.filename = f"<dualtape:{emitted.name}#{next(_serial)}>"
        self.source = emitted.source
        lines = self.source.splitlines(keepends=True)
        linecache.cache[self.filename] = (len(self.source), None, lines, self.filename)
        namespace = {"xp": xp, **helpers_for(program, xp)}
        namespace.update((k, _to_backend(v, xp)) for k, v in emitted.globals.items())
        exec(compile(self.source, self.filename, "exec"), namespace)  # noqa: S102 - our own generated code
        self.fn = namespace[emitted.name]
        self.n_outputs = len(program.outputs)
        self.program = program

    def __call__(self, *args):
        return self.fn(*args)


def helpers_for(program: Program, xp) -> dict:
    """The runtime helpers (e.g. index_add) that the program's primitives emit calls to, built for xp."""
    found = {}
    for eqn in program.eqns:
        for name, make in eqn.prim.helpers.items():
            if name not in found:
                found[name] = make(xp)
        for sub in sub_programs(eqn.params):
            found.update(helpers_for(sub, xp))
    return found


def _to_backend(value, xp):
    if xp is np or not isinstance(value, np.ndarray):
        return value
    return xp.asarray(value)
