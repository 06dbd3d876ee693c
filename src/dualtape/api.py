"""The functional API: `jit`, `trace`, `source` (grad, jvp and friends join as their transforms land).

Every entry point traces the user's function into a Program (core.trace), optionally optimises it
(transforms.passes) and either evaluates it through bind() (so transforms nest) or compiles it to source
(codegen). Outputs are NumPy arrays or Python scalars, never tracers.
"""

from __future__ import annotations

import functools

import numpy as np

from . import tree
from .avals import aval_of, is_python_scalar
from .codegen.runtime import Compiled, array_module
from .config import config, logger
from .core.ir import Program
from .core.trace import make_program
from .transforms.evaluate import eval_program
from .transforms.passes import optimize


def _leaf_signature(x):
    if type(x) is np.ndarray:
        return (x.shape, x.dtype)
    if is_python_scalar(x):
        return type(x)
    aval = aval_of(x)
    return (aval.shape, aval.dtype)


def _split_static(args, static_argnums):
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


def _dynamic_names(fn, static):
    import inspect

    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        return None
    skip = {i for i, _ in static}
    return [n for i, n in enumerate(names) if i not in skip]


def trace_program(fn, args, kwargs=None, static_argnums=()):
    """(Program, out_treedef) for fn at these arguments; static arguments are baked in."""
    dynamic, static = _split_static(args, static_argnums)
    body = _with_static(fn, static)
    kwargs = kwargs or {}
    names = _dynamic_names(fn, static)
    if kwargs:
        staged = lambda a, k: body(*a, **k)  # noqa: E731
        hint_source = lambda *a: None  # noqa: E731
        del hint_source
        program, out_tree = make_program(staged, (dynamic, kwargs), name=getattr(fn, "__name__", "f"),
                                         arg_names=_kw_hints(names, dynamic, kwargs))
    else:
        program, out_tree = make_program(body, dynamic, name=getattr(fn, "__name__", "f"),
                                         arg_names=_kw_hints(names, dynamic, {}))
    return program, out_tree


def _kw_hints(names, dynamic, kwargs):
    from .core.trace import _leaf_paths

    hints = []
    for i, a in enumerate(dynamic):
        hints.extend(_leaf_paths(a, names[i] if names and i < len(names) else None))
    for k in tree._dict_keys(kwargs):
        hints.extend(_leaf_paths(kwargs[k], k))
    return hints


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

    def __init__(self, fn, backend: str = "numpy", static_argnums=()):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.backend = backend
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self._cache: dict = {}
        self._by_arrays: dict = {}  # fast path: positional NumPy arrays only, keyed by (shape, dtype)s
        self.trace_count = 0
        if backend != "numpy":
            array_module(backend)  # fail early, with the install hint

    def _entry(self, args, kwargs):
        dynamic, static = _split_static(args, self.static_argnums)
        leaves, treedef = tree.flatten((dynamic, kwargs))
        key = (treedef, static, tuple(_leaf_signature(x) for x in leaves))
        entry = self._cache.get(key)
        if entry is None:
            self.trace_count += 1
            if config.log_compiles:
                shown = ", ".join(str(aval_of(x)) for x in leaves)
                reason = "first call" if not self._cache else "new signature"
                logger.warning("dualtape.jit: tracing %s (%s): (%s)", self.__name__, reason, shown)
            program, out_tree = trace_program(self.fn, args, kwargs, self.static_argnums)
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
            compiled = entry.compiled = Compiled(entry.program, self.backend)
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


def jit(fn=None, *, backend: str = "numpy", static_argnums=()):
    """Compile fn: traced once per input signature, emitted as Python source, cached. Usable as a decorator
    with or without arguments."""
    if fn is None:
        return functools.partial(jit, backend=backend, static_argnums=static_argnums)
    return Jitted(fn, backend, static_argnums)


def trace(fn, static_argnums=()):
    """`dt.trace(f)(*args)`: the IR Program of f at these arguments (as traced, before optimisation)."""

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        return trace_program(fn, args, kwargs, static_argnums)[0]

    return traced


def source(fn, *args, comments: bool = True, **kwargs) -> str:
    """The generated Python source of fn at these arguments (fn may be any transformed function)."""
    from .codegen.emit import emit_program

    program = trace_program(fn, args, kwargs)[0]
    if config.optimize:
        program = optimize(program)
    return emit_program(program, comments=comments).source
