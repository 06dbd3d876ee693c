"""Compile emitted source into a callable: register it with linecache (so tracebacks and inspect show it, for as
long as its code lives and no longer), bind the array module `xp` (NumPy, or CuPy on a GPU) and the captured
values, and wrap the result. On a device backend the captured arrays move to the device once, here, and the
callable moves NumPy arguments there on each call and (with to_host) its results back."""

from __future__ import annotations

import functools
import importlib
import itertools
import linecache
import types
import weakref

import numpy as np

from ..core.ir import Program, all_eqns
from ..errors import BackendError
from .emit import ArrayAPIEmitter, emit_program
from .portable import problems

_serial = itertools.count(1)
BACKENDS = ("numpy", "cupy", "numba", "auto", "dask", "array_api")  # (numba, auto: numba_runtime.py; <name>_backend.py)


def array_module(backend: str):
    """The array module for a backend name, or a clear error saying what is missing (for array_api,
    array_api_compat, which picks each call's namespace from its arguments)."""
    if backend in ("numpy", "auto"):
        return np
    if backend == "array_api":
        from .array_api_backend import compat

        return compat()
    if backend == "numba":
        from .numba_runtime import require_numba

        require_numba()
        return np
    if backend == "dask":
        from .dask_backend import DaskNamespace

        return DaskNamespace()
    if backend == "cupy":
        try:
            cupy = importlib.import_module("cupy")
        except ImportError as e:
            raise BackendError(
                "backend='cupy' needs CuPy, which is not installed: pip install 'dualtape[cupy]' "
                "(or the cupy-cudaXXx wheel matching your CUDA version)"
            ) from e
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # no driver, or one too old for this CuPy build
            raise BackendError(f"backend='cupy' needs an NVIDIA GPU with a working CUDA driver, but CUDA reports: "
                               f"{e}; use backend='numpy' on this machine") from e
        if count < 1:
            raise BackendError("backend='cupy' needs an NVIDIA GPU, but the CUDA driver finds no device; use "
                               "backend='numpy' on this machine")
        return cupy
    raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")


class Compiled:
    """A program compiled to a Python function over arrays of one backend."""

    __slots__ = ("fn", "source", "filename", "n_outputs", "program")

    def __new__(cls, program: Program, backend: str = "numpy", comments: bool = True, to_host: bool = False):
        if backend in ("numba", "auto"):  # (a NumbaCompiled, or a NumPy Compiled where Numba does not pay)
            from .numba_runtime import compile_for

            compiled = compile_for(program, backend, comments)
            if compiled is not None:
                return compiled
        if backend == "array_api":  # (an ArrayAPICompiled: bound to each call's namespace)
            from .array_api_backend import ArrayAPICompiled

            return ArrayAPICompiled(program, comments, to_host)
        return super().__new__(cls)

    def __init__(self, program: Program, backend: str = "numpy", comments: bool = True, to_host: bool = False):
        xp = array_module(backend)
        emitted = _emit_for(program, backend, comments)
        trouble = _problems(program, emitted.source, backend, xp)
        if trouble:
            shown = "\n  ".join(trouble)
            raise BackendError(f"the program {emitted.name} cannot run on backend={backend!r}:\n  {shown}")
        self.filename = f"<dualtape:{emitted.name}#{next(_serial)}>"
        self.source = emitted.source
        if backend == "dask":
            from .dask_backend import namespace_for

            namespace = namespace_for(program, xp)
        else:
            namespace = {"xp": numpy_as_emitted() if xp is np else xp, **helpers_for(program, xp)}
        namespace.update((k, v if backend == "dask" else _to_backend(v, xp)) for k, v in emitted.globals.items())
        exec(compile(self.source, self.filename, "exec"), namespace)  # noqa: S102 - our own generated code
        fn = namespace.pop(emitted.name)  # (no cycle fn -> its globals -> fn: freed as soon as it is dropped)
        register_source(self.filename, self.source, fn.__code__)
        self.n_outputs = len(program.outputs)
        if backend == "dask":
            from .dask_backend import lazy

            self.fn = lazy(fn, xp, self.n_outputs, to_host)
        else:
            self.fn = fn if xp is np else on_device(fn, xp, self.n_outputs, to_host)
        self.program = program

    def __call__(self, *args):
        return self.fn(*args)


@functools.cache
def numpy_as_emitted():
    """NumPy as emitted code sees it: the module's own names, except `where`, which is the where row's NumPy
    evaluator (np.where's bits; a float array chosen against zero without np.where's branch per element)."""
    from ..core.primitive import REGISTRY

    module = types.ModuleType("numpy")
    module.__dict__.update(np.__dict__)
    module.where = REGISTRY["where"].impl
    return module


def _emit_for(program: Program, backend: str, comments: bool):
    """The emitted function for a backend: NumPy's (CuPy runs the same), dask's with its NumPy tasks, or the
    array API standard's spelling (ArrayAPIEmitter's)."""
    if backend == "dask":
        from .dask_backend import emit, refuse_control_flow

        refuse_control_flow(program)
        return emit(program, comments)
    if backend == "array_api":
        return emit_program(program, comments=comments, emitter=ArrayAPIEmitter)
    return emit_program(program, comments=comments)


def _problems(program: Program, source: str, backend: str, xp) -> list[str] | None:
    """Why the emitted source cannot run on the backend (calls its array module lacks), or None; for dask, a
    program with loops or branches is refused outright."""
    if backend == "dask":
        from .dask_backend import missing_calls

        return missing_calls(source, xp)
    return problems(source) if xp is not np else None


def source_for(program: Program, backend: str = "numpy", comments: bool = True) -> str:
    """The source a backend runs: NumPy's emitted function, or for numba / auto the module Numba compiles."""
    if backend in ("numba", "auto"):
        from .numba_runtime import numba_source

        return numba_source(program, backend, comments)
    return _emit_for(program, backend, comments).source


def register_source(filename: str, source: str, code) -> None:
    """Let linecache show source as filename's lines while code lives: a traceback holds its frames' code, so
    tracebacks and inspect.getsource work as long as they could be asked for, and the entry goes with the code
    (`dt.grad(f)(x)` in a loop builds a fresh function every call; its lines must not pile up)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    weakref.finalize(code, linecache.cache.pop, filename, None).atexit = False


def helpers_for(program: Program, xp) -> dict:
    """The runtime helpers (e.g. index_add) that the program's primitives emit calls to, built for xp."""
    found = {}
    for eqn in all_eqns(program):
        for name, make in eqn.prim.helpers.items():
            if name not in found:
                found[name] = make(xp)
    return found


def on_device(fn, xp, n_outputs: int, to_host: bool):
    """fn over arrays of xp, callable with NumPy arguments (copied to the device on each call; xp arrays are
    used in place, Python scalars stay weakly typed scalars); its results stay xp arrays, or come back as NumPy
    arrays with to_host."""
    device, host = xp.ndarray, (np.ndarray, np.generic)

    def result(value):
        if isinstance(value, device):
            return xp.asnumpy(value) if to_host else value
        if isinstance(value, host) and not to_host:  # a constant result (a literal): put it on the device too
            return xp.asarray(value)
        return value

    @functools.wraps(fn)  # (its name, and inspect.getsource shows the generated code)
    def call(*args):
        outs = fn(*[xp.asarray(a) if isinstance(a, host) and not isinstance(a, device) else a for a in args])
        return result(outs) if n_outputs == 1 else tuple(result(o) for o in outs)

    return call


def _to_backend(value, xp):
    """A captured value as the program reads it: NumPy arrays are copied to xp's device (once, at compile time)."""
    if xp is np or not isinstance(value, np.ndarray) or isinstance(value, xp.ndarray):
        return value
    return xp.asarray(value)
