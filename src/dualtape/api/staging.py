"""Staging: `jit`, `trace`, `source` — a function traced into a Program, optimised, compiled and cached.

Every entry point traces the user's function into a Program (core.trace), optionally optimises it
(transforms.passes) and either evaluates it through bind() (so transforms nest) or compiles it to source
(codegen). Outputs are NumPy arrays or Python scalars (CuPy arrays for backend="cupy"; for backend="array_api"
arrays of the arguments' library, e.g. torch tensors), never tracers.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, overload

import numpy as np

from .. import tree
from .._util import ProcessCache, ProcessLock
from ..autograph import maybe_convert
from ..avals import aval_of, is_float, is_python_scalar
from ..codegen.array_api_backend import arrays_of, foreign_array_error, stand_ins
from ..codegen.runtime import Compiled, array_module, source_for
from ..config import config, logger
from ..core.ir import Program
from ..core.primitive import trace_of
from ..core.trace import input_hints, make_program
from ..errors import object_array_error
from ..transforms.evaluate import eval_program
from ..transforms.passes import optimize
from .hints import Argnames, Argnums, Fn, SourceText
from .precision import Precision, with_precision


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
                f"{name}: static argument {i if isinstance(i, int) else repr(i)} must be hashable (it keys the "
                f"compile cache), got a {type(v).__name__}; pass a tuple instead of a list, or make it a dynamic "
                "argument"
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
        return "new static arguments " + ", ".join(f"{f'#{i}' if isinstance(i, int) else i}={v!r}"
                                                   for i, _, v in static)
    return "new shapes or dtypes"


def resolve_static(fn, static_argnums=(), static_argnames=()) -> tuple[tuple, tuple]:
    """(static_argnums, static_argnames), each completed from the other through fn's signature as in JAX, so
    that a static parameter is static whether it is passed by position or by keyword."""
    nums = (static_argnums,) if isinstance(static_argnums, (int, np.integer)) else tuple(static_argnums)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    if not all(isinstance(i, (int, np.integer)) for i in nums) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"jit: static_argnums must be ints and static_argnames strings, got {static_argnums!r} "
                        f"and {static_argnames!r}")
    nums = tuple(int(i) for i in nums)
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin or a callable without a readable signature: as given
        return nums, names
    name = getattr(fn, "__name__", "the function")
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_keyword = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = [n for n in names if n not in by_keyword]
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params):
        raise ValueError(f"jit: static_argnames {unknown} are not parameters of "
                         f"{name} (it takes {', '.join(p.name for p in params)})")
    if not any(p.kind is p.VAR_POSITIONAL for p in params):  # a negative position counts from the last parameter
        beyond = [i for i in nums if not -len(positional) <= i < len(positional)]
        if beyond:  # (as JAX: with a known signature, a position past the parameters is a mistake)
            raise ValueError(f"jit: static_argnums {beyond} are out of range for {name}, which takes "
                             f"{len(positional)} positional parameter(s) ({', '.join(positional) or 'none'}); "
                             "count positions from 0, or name the parameter with static_argnames")
        nums = tuple(i + len(positional) if i < 0 else i for i in nums)
    nums += tuple(i for i, n in enumerate(positional) if n in names and i not in nums)
    names += tuple(positional[i] for i in nums if 0 <= i < len(positional) and positional[i] in by_keyword
                   and positional[i] not in names)
    return nums, names


def _split_static(args, kwargs, static_argnums, static_argnames):
    """(dynamic args, dynamic kwargs, ((index or name, value), ...) of the static ones)."""
    n = len(args)
    static = tuple(sorted({i % n for i in static_argnums if -n <= i < n}))
    dynamic = tuple(a for i, a in enumerate(args) if i not in static)
    named = tuple((k, kwargs[k]) for k in tree._dict_keys(kwargs) if k in static_argnames)
    dynamic_kwargs = {k: v for k, v in kwargs.items() if k not in static_argnames}
    return dynamic, dynamic_kwargs, tuple((i, args[i]) for i in static) + named


def _with_static(fn, static):
    """fn as a function of its dynamic arguments only, with the static ones (by position or name) fixed."""
    if not static:
        return fn
    by_position = {i: v for i, v in static if isinstance(i, int)}
    by_name = {k: v for k, v in static if isinstance(k, str)}

    def call(*dynamic, **kwargs):
        args, it = [], iter(dynamic)
        for i in range(len(dynamic) + len(by_position)):
            args.append(by_position[i] if i in by_position else next(it))
        return fn(*args, **kwargs, **by_name)

    return call


def is_object(x) -> bool:
    """A leaf that is neither an array, a number nor a traced value: a string, a function, any other object."""
    if type(x) is np.ndarray:
        return x.dtype.kind in "OUSV" and not is_float(x.dtype)
    try:
        return aval_of(x).dtype.kind in "OUSV" and not is_float(aval_of(x).dtype)
    except TypeError:
        return True


def _objects_static(args, kwargs, static_argnums, static_argnames):
    """The static arguments, plus every argument holding an object leaf (a string, a function, ...); an array
    of objects is not one (it is refused when traced, with what to do)."""
    held = lambda a: any(is_object(x) and type(x) is not np.ndarray for x in tree.leaves(a))
    nums = tuple(static_argnums) + tuple(i for i, a in enumerate(args) if held(a))
    names = tuple(static_argnames) + tuple(k for k, v in kwargs.items() if held(v))
    return nums, names


def arrays_only(fn, results: list):
    """fn returning the list of the leaves of its result that are arrays or numbers; each call appends
    (the result's structure, ((position, leaf), ...) of its other leaves) to results, for with_objects."""

    def arrays(*args, **kwargs):
        leaves, out_tree = tree.flatten(fn(*args, **kwargs))
        objects = tuple((i, x) for i, x in enumerate(leaves) if is_object(x))
        results.append((out_tree, objects))
        return [x for x in leaves if not is_object(x)] if objects else leaves

    return arrays


def with_objects(out_tree, objects, arrays):
    """The result of structure out_tree from its array leaves and its object leaves (see arrays_only)."""
    if not objects:
        return tree.unflatten(out_tree, arrays)
    placed, it = dict(objects), iter(arrays)
    return tree.unflatten(out_tree, [placed[i] if i in placed else next(it) for i in range(out_tree.num_leaves)])


def trace_program(fn, args, kwargs=None, static_argnums=(), autograph=None, static_argnames=()):
    """(Program, out_treedef) for fn at these arguments; static arguments are baked in; fn's Python control
    flow on traced values goes through autograph unless it is switched off."""
    program, out_tree, _ = _trace(fn, args, kwargs, resolve_static(fn, static_argnums, static_argnames), autograph)
    return program, out_tree


def _trace(fn, args, kwargs, statics, autograph=None, keep_objects: bool = False):
    """(Program, out_treedef, object leaves of the result); with keep_objects, leaves of the result that are
    not arrays (strings, objects) are set aside rather than traced, and static_argnums/names grow to cover the
    arguments that hold such leaves."""
    fn = maybe_convert(fn, autograph)
    kwargs = kwargs or {}
    if keep_objects:
        statics = _objects_static(args, kwargs, *statics)
    dynamic, dynamic_kwargs, static = _split_static(args, kwargs, *statics)
    for x in tree.leaves((dynamic, dynamic_kwargs)):
        if type(x) is np.ndarray and x.dtype.kind in "OUSV" and not is_float(x.dtype):
            raise object_array_error(getattr(fn, "__name__", "the function"), x.dtype)
    body = _with_static(fn, static)
    hints = input_hints(fn, args, dynamic_kwargs, skip={i for i, _ in static if isinstance(i, int)})
    name = getattr(fn, "__name__", "f")
    results: list = []
    if keep_objects:
        body = arrays_only(body, results)
    if dynamic_kwargs:
        program, out_tree = make_program(lambda a, k: body(*a, **k), (dynamic, dynamic_kwargs), name=name,
                                         arg_names=hints)
    else:
        program, out_tree = make_program(body, dynamic, name=name, arg_names=hints)
    if results:
        out_tree, objects = results[-1]
        return program, out_tree, objects
    return program, out_tree, ()


def _array_key(args):
    """(shape, dtype) of each argument when all are NumPy arrays (the common case), else None."""
    key = []
    for a in args:
        if type(a) is not np.ndarray:
            return None
        key.append((a.shape, a.dtype))
    return tuple(key)


def _fast_call(compiled, entry):
    if entry.out_tree is tree.LEAF and not entry.objects:
        return compiled.fn
    return lambda *args: entry.result((compiled.fn(*args),) if compiled.n_outputs == 1 else compiled.fn(*args))


class _Entry:
    """A traced program for one signature, and its compiled form once it is called on concrete arrays."""

    __slots__ = ("program", "out_tree", "objects", "compiled", "captures_traced")

    def __init__(self, program, out_tree, objects=()):
        self.program, self.out_tree, self.objects, self.compiled = program, out_tree, objects, None
        self.captures_traced = any(trace_of(v) is not None for _, v in program.captures)

    def result(self, outs):
        """The function's result from the program's outputs (and the object leaves set aside)."""
        return with_objects(self.out_tree, self.objects, outs)


class Jitted:
    """A function compiled once per input signature (shapes, dtypes, pytree structure, static values).

    static_argnums and static_argnames mark static parameters (completed from each other through fn's
    signature, as in JAX). With static_objects (the transforms that JAX runs without jit: grad,
    value_and_grad), arguments holding strings or other objects are static too, and such leaves of the result
    are returned as they are instead of being traced. precision: a mixed-precision policy (api/precision.py)."""

    def __init__(self, fn, backend: str = "numpy", static_argnums=(), autograph=None, to_host: bool = False,
                 static_argnames=(), static_objects: bool = False, precision=None):
        if not callable(fn):
            raise TypeError(f"jit expects a function (or another callable) to compile, got {type(fn).__name__} "
                            f"{fn!r:.60}; use it as dt.jit(f) or as the decorator @dt.jit")
        functools.update_wrapper(self, fn)
        if not hasattr(self, "__name__"):  # a callable object: name it after its class
            self.__name__ = self.__qualname__ = type(fn).__name__
        self.fn = fn
        self.backend, self.to_host = backend, to_host  # (so each cache entry is compiled for this backend)
        self.static_argnums, self.static_argnames = resolve_static(fn, static_argnums, static_argnames)
        self.static_objects = static_objects
        self.autograph = autograph
        self.precision = Precision.of(precision, backend)
        self._cache: dict = ProcessCache()
        self._filling = ProcessLock()  # one trace and one compile per signature, whichever thread calls first
        self._by_arrays: dict = ProcessCache()  # fast path: positional NumPy arrays only, keyed by (shape, dtype)s
        self.trace_count = 0
        if backend != "numpy":
            array_module(backend)  # fail early, with the install hint

    def _entry(self, args, kwargs):
        statics = (self.static_argnums, self.static_argnames)
        if self.backend == "array_api":  # a torch.Tensor (any standard array) is traced by its shape and dtype
            args, kwargs = stand_ins(args, kwargs, *statics)
        if self.static_objects:
            dynamic, dynamic_kwargs, static = _split_static(args, kwargs, *_objects_static(args, kwargs, *statics))
        else:
            dynamic, dynamic_kwargs, static = _split_static(args, kwargs, *statics)
        leaves, treedef = tree.flatten((dynamic, dynamic_kwargs))
        leaves = [x if (t := trace_of(x)) is None else t.unwrap(x) for x in leaves]  # a Tensor is its array
        try:
            signature = tuple(_leaf_signature(x) for x in leaves)
        except TypeError as e:
            raise foreign_array_error(self.__name__, self.backend, leaves, e) or TypeError(
                f"{self.__name__}: {e}; pass non-array arguments with static_argnums or static_argnames") from None
        key = (treedef, _static_key(static, self.__name__), signature)
        entry = self._cache.get(key)
        if entry is None:
            with self._filling:
                entry = self._cache.get(key) or self._new_entry(key, leaves, args, kwargs, statics)
        return entry, (arrays_of(leaves) if self.backend == "array_api" else leaves), static

    def _new_entry(self, key, leaves, args, kwargs, statics) -> _Entry:
        """Trace and optimise fn for a signature the cache lacks (called holding the lock)."""
        self.trace_count += 1
        if config.log_compiles:
            shown = ", ".join(str(aval_of(x)) for x in leaves)
            reason = _retrace_reason(self._cache, key)
            logger.warning("dualtape.jit: tracing %s (%s): (%s)", self.__name__, reason, shown)
        program, out_tree, objects = _trace(self.fn, args, kwargs, statics, self.autograph, self.static_objects)
        if self.precision is not None:
            program = with_precision(program, self.precision)
        if config.optimize:
            program = optimize(program)
        entry = _Entry(program, out_tree, objects)
        if not entry.captures_traced:
            self._cache[key] = entry  # a program capturing outer traced values is used once
        return entry

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            key = _array_key(args)
            if key is not None:
                compiled = self._by_arrays.get(key)
                if compiled is not None:
                    return compiled(*args)
        entry, leaves, static = self._entry(args, kwargs)
        if entry.captures_traced or any(trace_of(x) is not None for x in leaves):
            return entry.result(eval_program(entry.program, leaves))  # inline into the enclosing trace / transform
        compiled = entry.compiled
        if compiled is None:
            with self._filling:
                compiled = entry.compiled
                if compiled is None:
                    compiled = entry.compiled = Compiled(entry.program, self.backend, to_host=self.to_host)
                    if not kwargs and not static and _array_key(args) is not None:
                        self._by_arrays[_array_key(args)] = _fast_call(compiled, entry)
        if entry.out_tree is tree.LEAF and not entry.objects:
            return compiled.fn(*leaves)
        outs = compiled.fn(*leaves)
        return entry.result((outs,) if compiled.n_outputs == 1 else outs)

    def program(self, *args: Any, **kwargs: Any) -> Program:
        """The (optimised) program this function runs for these arguments."""
        return self._entry(args, kwargs)[0].program

    def source(self, *args: Any, **kwargs: Any) -> str:
        """The source this function runs at these arguments, as its backend compiles it."""
        kwargs.setdefault("backend", self.backend if self.backend in ("numba", "auto") else "numpy")
        return source(self, *args, **kwargs)

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def __repr__(self):
        return f"<dualtape.jit of {self.__name__}: {len(self._cache)} compiled signature(s)>"


@overload
def jit(fn: Fn, *, backend: str = ..., static_argnums: Argnums = ..., static_argnames: Argnames = ...,
        autograph: bool | None = ..., to_host: bool = ..., precision: Any = ...) -> Jitted: ...
@overload
def jit(fn: None = None, *, backend: str = ..., static_argnums: Argnums = ..., static_argnames: Argnames = ...,
        autograph: bool | None = ..., to_host: bool = ..., precision: Any = ...) -> Callable[[Fn], Jitted]: ...
def jit(fn: Fn | None = None, *, backend: str = "numpy", static_argnums: Argnums = (), static_argnames: Argnames = (),
        autograph: bool | None = None, to_host: bool = False, precision: Any = None) -> Jitted | Callable[[Fn], Jitted]:
    """Compile fn: traced once per input signature, emitted as Python source, cached. Usable as a decorator
    with or without arguments. static_argnums / static_argnames: parameters (by position / by name, each
    completed from the other as in JAX) passed as Python values, one trace per value. backend="cupy" runs it
    on the GPU: NumPy arguments are moved there on each call and results stay CuPy arrays, or come back as
    NumPy arrays with to_host=True; backend="array_api" runs it on the arguments' own array library (torch
    tensors in, torch tensors out: docs/backends.md). precision: mixed precision, a `dt.Precision` or the name
    of its compute dtype ("bfloat16", "float16"): matrix products in it, reductions in float32 (docs/precision.md)."""
    if fn is None:
        return functools.partial(jit, backend=backend, static_argnums=static_argnums,
                                 static_argnames=static_argnames, autograph=autograph, to_host=to_host,
                                 precision=precision)
    return Jitted(fn, backend, static_argnums, autograph, to_host, static_argnames, precision=precision)


def trace(fn: Fn, static_argnums: Argnums | None = None, autograph: bool | None = None,
          static_argnames: Argnames | None = None) -> Callable[..., Program]:
    """`dt.trace(f)(*args)`: the IR Program of f at these arguments (as traced, before optimisation); a jitted
    f keeps its own static arguments unless others are given."""

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        return _trace_own(fn, args, kwargs, static_argnums, static_argnames, autograph)

    return traced


def source(fn: Fn, *args: Any, comments: bool = True, backend: str = "numpy", **kwargs: Any) -> str:
    """The generated Python source of fn at these arguments (fn may be any transformed function); for
    backend="numba" or "auto", the module Numba compiles (docs/numba.md). Arrays of another library (a
    torch.Tensor) stand for their shape and dtype, as backend="array_api" traces them; dt.compile's, its own."""
    if (own := getattr(fn, "_dt_source", None)) is not None:  # (dt.compile: with the state it reads as inputs)
        return SourceText(own(*args, **kwargs))
    statics = (fn.static_argnums, fn.static_argnames) if isinstance(fn, Jitted) else ((), ())
    args, kwargs = stand_ins(args, kwargs, *statics)
    program = _trace_own(fn, args, kwargs)
    if config.optimize:
        program = optimize(program)
    return SourceText(source_for(program, backend, comments))


def _trace_own(fn, args, kwargs, static_argnums=None, static_argnames=None, autograph=None) -> Program:
    """The program of fn at these arguments; a jitted fn's static arguments stay static (unless others are
    given), and its object leaves (for grad and value_and_grad) stay objects."""
    own = isinstance(fn, Jitted)
    if static_argnums is None and static_argnames is None and own:
        statics = fn.static_argnums, fn.static_argnames
    else:
        statics = resolve_static(fn, () if static_argnums is None else static_argnums,
                                 () if static_argnames is None else static_argnames)
    return _trace(fn, args, kwargs, statics, autograph, own and fn.static_objects)[0]
