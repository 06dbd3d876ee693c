"""Staging: `jit`, `trace`, `source` — a function traced into a Program, optimised, compiled and cached.

Every entry point traces the user's function into a Program (core.trace), optionally optimises it
(transforms.passes) and either evaluates it through bind() (so transforms nest) or compiles it to source
(codegen). Outputs are NumPy arrays or Python scalars (CuPy arrays for backend="cupy"), never tracers.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import tree
from ..autograph import maybe_convert
from ..avals import aval_of, is_python_scalar
from ..codegen.emit import emit_program
from ..codegen.runtime import Compiled, array_module
from ..config import config, logger
from ..core.ir import Program
from ..core.trace import input_hints, make_program
from ..transforms.evaluate import eval_program
from ..transforms.passes import optimize


def _leaf_signature(x):
    if type(x) is np.ndarray:
        return (x.shape, x.dtype, False)
    if is_python_scalar(x):
        return type(x)
    aval = aval_of(x)
    return (aval.shape, aval.dtype, aval.weak)  # a weak traced scalar promotes differently from a 0-d array


def _static_key(static, name: str) -> tuple:
    """The cache key of the static arguments: each value with its type, since 2 and 2.0 trace differently."""
    for i, v in static:
        try:
            hash(v)
        except TypeError:
            raise TypeError(
                f"{name}: static argument {i} must be hashable (it keys the compile cache), got a "
                f"{type(v).__name__}; pass a tuple instead of a list, or make it a dynamic argument"
            ) from None
    return tuple((i, type(v), v) for i, v in static)


def _retrace_reason(cache: dict, key: tuple) -> str:
    """Why a call missed the cache, compared with the signatures already traced."""
    treedef, static, _ = key
    if not cache:
        return "first call"
    if all(k[0] != treedef for k in cache):
        return f"new argument structure {treedef}"
    if all(k[1] != static for k in cache if k[0] == treedef):
        return "new static arguments " + ", ".join(f"#{i}={v!r}" for i, _, v in static)
    return "new shapes or dtypes"


def _split_static(args, static_argnums):
    """(dynamic args, ((index, value), ...) of the static ones); static_argnums is an int or a sequence."""
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    n = len(args)
    static = tuple(sorted(i % n for i in static_argnums if -n <= i < n))
    dynamic = tuple(a for i, a in enumerate(args) if i not in static)
    return dynamic, tuple((i, args[i]) for i in static)


def _with_static(fn, static):
    """fn as a function of its dynamic arguments only, with the static ones fixed."""
    if not static:
        return fn

    def call(*dynamic, **kwargs):
        args, it = [], iter(dynamic)
        statics = dict(static)
        for i in range(len(dynamic) + len(static)):
            args.append(statics[i] if i in statics else next(it))
        return fn(*args, **kwargs)

    return call


def trace_program(fn, args, kwargs=None, static_argnums=(), autograph=None):
    """(Program, out_treedef) for fn at these arguments; static arguments are baked in; fn's Python control
    flow on traced values goes through autograph unless it is switched off."""
    fn = maybe_convert(fn, autograph)
    dynamic, static = _split_static(args, static_argnums)
    body = _with_static(fn, static)
    kwargs = kwargs or {}
    hints = input_hints(fn, args, kwargs, skip={i for i, _ in static})
    name = getattr(fn, "__name__", "f")
    if kwargs:
        return make_program(lambda a, k: body(*a, **k), (dynamic, kwargs), name=name, arg_names=hints)
    return make_program(body, dynamic, name=name, arg_names=hints)


def _array_key(args):
    """(shape, dtype) of each argument when all are NumPy arrays (the common case), else None."""
    key = []
    for a in args:
        if type(a) is not np.ndarray:
            return None
        key.append((a.shape, a.dtype))
    return tuple(key)


def _fast_call(compiled, out_tree):
    if out_tree is tree.LEAF:
        return compiled.fn
    n = compiled.n_outputs
    return lambda *args: tree.unflatten(out_tree, (compiled.fn(*args),) if n == 1 else compiled.fn(*args))


class _Entry:
    """A traced program for one signature, and its compiled form once it is called on concrete arrays."""

    __slots__ = ("program", "out_tree", "compiled", "captures_traced")

    def __init__(self, program, out_tree):
        self.program, self.out_tree, self.compiled = program, out_tree, None
        self.captures_traced = any(getattr(v, "_dt_trace", None) is not None for _, v in program.captures)


class Jitted:
    """A function compiled once per input signature (shapes, dtypes, pytree structure, static values)."""

    def __init__(self, fn, backend: str = "numpy", static_argnums=(), autograph=None, to_host: bool = False):
        functools.update_wrapper(self, fn)
        if not hasattr(self, "__name__"):  # a callable object: name it after its class
            self.__name__ = self.__qualname__ = type(fn).__name__
        self.fn = fn
        self.backend, self.to_host = backend, to_host  # (so each cache entry is compiled for this backend)
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self.autograph = autograph
        self._cache: dict = {}
        self._by_arrays: dict = {}  # fast path: positional NumPy arrays only, keyed by (shape, dtype)s
        self.trace_count = 0
        if backend != "numpy":
            array_module(backend)  # fail early, with the install hint

    def _entry(self, args, kwargs):
        dynamic, static = _split_static(args, self.static_argnums)
        leaves, treedef = tree.flatten((dynamic, kwargs))
        leaves = [x.data if getattr(x, "_dt_eager", False) else x for x in leaves]  # a Tensor is its array
        try:
            signature = tuple(_leaf_signature(x) for x in leaves)
        except TypeError as e:
            raise TypeError(f"{self.__name__}: {e}; pass non-array arguments with static_argnums") from None
        key = (treedef, _static_key(static, self.__name__), signature)
        entry = self._cache.get(key)
        if entry is None:
            self.trace_count += 1
            if config.log_compiles:
                shown = ", ".join(str(aval_of(x)) for x in leaves)
                reason = _retrace_reason(self._cache, key)
                logger.warning("dualtape.jit: tracing %s (%s): (%s)", self.__name__, reason, shown)
            program, out_tree = trace_program(self.fn, args, kwargs, self.static_argnums, self.autograph)
            if config.optimize:
                program = optimize(program)
            entry = _Entry(program, out_tree)
            if not entry.captures_traced:
                self._cache[key] = entry  # a program capturing outer traced values is used once
        return entry, leaves

    def __call__(self, *args, **kwargs):
        if not kwargs:
            key = _array_key(args)
            if key is not None:
                compiled = self._by_arrays.get(key)
                if compiled is not None:
                    return compiled(*args)
        entry, leaves = self._entry(args, kwargs)
        if entry.captures_traced or any(getattr(x, "_dt_trace", None) is not None for x in leaves):
            outs = eval_program(entry.program, leaves)  # inline into the enclosing trace / transform
            return tree.unflatten(entry.out_tree, outs)
        compiled = entry.compiled
        if compiled is None:
            compiled = entry.compiled = Compiled(entry.program, self.backend, to_host=self.to_host)
            if not kwargs and not self.static_argnums and _array_key(args) is not None:
                self._by_arrays[_array_key(args)] = _fast_call(compiled, entry.out_tree)
        if entry.out_tree is tree.LEAF:
            return compiled.fn(*leaves)
        outs = compiled.fn(*leaves)
        return tree.unflatten(entry.out_tree, (outs,) if compiled.n_outputs == 1 else outs)

    def program(self, *args, **kwargs) -> Program:
        """The (optimised) program this function runs for these arguments."""
        return self._entry(args, kwargs)[0].program

    def source(self, *args, **kwargs) -> str:
        return source(self, *args, **kwargs)

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def __repr__(self):
        return f"<dualtape.jit of {self.__name__}: {len(self._cache)} compiled signature(s)>"


def jit(fn=None, *, backend: str = "numpy", static_argnums=(), autograph=None, to_host: bool = False):
    """Compile fn: traced once per input signature, emitted as Python source, cached. Usable as a decorator
    with or without arguments. backend="cupy" runs it on the GPU: NumPy arguments are moved there on each call
    and results stay CuPy arrays, or come back as NumPy arrays with to_host=True."""
    if fn is None:
        return functools.partial(jit, backend=backend, static_argnums=static_argnums, autograph=autograph,
                                 to_host=to_host)
    return Jitted(fn, backend, static_argnums, autograph, to_host)


def trace(fn, static_argnums=None, autograph=None):
    """`dt.trace(f)(*args)`: the IR Program of f at these arguments (as traced, before optimisation); a jitted
    f keeps its own static_argnums unless others are given."""

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        static = _own_static_argnums(fn) if static_argnums is None else static_argnums
        return trace_program(fn, args, kwargs, static, autograph)[0]

    return traced


def source(fn, *args, comments: bool = True, **kwargs) -> str:
    """The generated Python source of fn at these arguments (fn may be any transformed function)."""
    program = trace_program(fn, args, kwargs, _own_static_argnums(fn))[0]
    if config.optimize:
        program = optimize(program)
    return emit_program(program, comments=comments).source


def _own_static_argnums(fn) -> tuple:
    """A jitted function's static arguments stay static when it is traced or shown as source."""
    return fn.static_argnums if isinstance(fn, Jitted) else ()
