"""The staging trace that records a function into a Program, and the tracing helpers around it.

bind() (core.primitive, re-exported here) is the one dispatch point: every value kind that is not a plain array
(tracers here; dual values, batched values and eager tensors in later layers) carries its `_dt_trace`, a
`Trace` with a numeric `level` and a `process(prim, args, params)` method, and bind() hands the op to the
highest level among its operands, so `core` never imports the value kinds built on top of it. Levels grow with
each new trace, so an inner trace sees the values of an outer one as captured inputs and traces nest. Each
equation keeps the user's source line that recorded it; `set_source_line` lets a replay (eval_program) keep the
line an op was first written at.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import os
import re
import sys
from contextlib import contextmanager

import numpy as np

from .. import tree
from .._util import SourceLine, is_internal, is_library, user_source_line
from ..avals import ShapedArray, aval_of, is_float, is_python_scalar
from ..errors import (
    ARRAY_FIX,
    CONTROL,
    INDEX_FIX,
    NUMBER_FIX,
    ConcretizationError,
    EscapedTracerError,
    ShapeError,
    conversion_fix,
    unconverted_cause,
)
from .ir import Eqn, Lit, Program, Var
from .primitive import FROM_STACK, TRACE_STATE, Primitive, Trace, bind, trace_of  # noqa: F401  (re-exported)

_levels = itertools.count(1)


def new_level() -> int:
    return next(_levels)


def set_source_line(where=FROM_STACK):
    """Attribute the ops bound from now on to `where` (a SourceLine or None) instead of the innermost user
    frame, as when replaying an equation recorded elsewhere; no argument reads the stack again. Returns the
    previous setting, to restore."""
    previous = TRACE_STATE.source_line
    TRACE_STATE.source_line = where
    return previous


def source_line():
    """The user's line for the op being recorded now."""
    where = TRACE_STATE.source_line
    return user_source_line() if where is FROM_STACK else where


def suggest_name(value, hint: str | None, force: bool = False) -> None:
    """Name a traced value that has no name yet (a transform re-binding the user's named values keeps the
    names readable), or rename it with force; other values are left alone."""
    if hint and type(value) is Tracer:
        var, trace = value._var, value._dt_trace
        if force or var.hint is None or var.id in trace.renameable:
            var.hint = hint
            trace.renameable.discard(var.id)


class StagingTrace(Trace):
    """Records each bound op as an equation; its values are Tracers."""

    def __init__(self, name: str = "f"):
        self.level = new_level()
        self.name = name
        self.active = True
        self.inputs: list[Var] = []
        self.eqns: list[Eqn] = []
        self.captures: list[tuple[Var, object]] = []
        self._captured: dict[int, Var] = {}
        self._alive: list = []
        self.renameable: set[int] = set()

    def new_input(self, aval: ShapedArray, hint: str | None = None) -> "Tracer":
        var = Var(aval, hint)
        self.inputs.append(var)
        return Tracer(self, var)

    def to_atom(self, x):
        """The Var or Lit standing for x in this trace; other values are captured."""
        if type(x) is Tracer and x._dt_trace is self:
            return x._var
        trace = trace_of(x)
        if trace is not None:
            inside = trace.unwrap(x)
            if inside is not x:  # (an eager tensor here is its detached array)
                return self.to_atom(inside)
            if not trace.active:
                raise escaped(x)
        if is_python_scalar(x) or isinstance(x, np.generic):
            return Lit(x)
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype != object:
            return Lit(x[()])
        var = self._captured.get(id(x))
        if var is None:
            value = x if trace is not None else snapshot(x)
            if isinstance(value, np.ndarray) and value.dtype.kind in "OUSV" and not is_float(value.dtype):
                raise TypeError(f"dualtape works with arrays, numbers and pytrees of them; got a "
                                f"{type(x).__name__} ({x!r:.60}) where an array is expected (in a traced "
                                "function's arguments, results or operands); keep it outside the function, or "
                                "pass it as a static argument")
            var = Var(aval_of(value), getattr(getattr(x, "_var", None), "hint", None))  # an outer tracer's name
            self._captured[id(x)] = var
            self._alive.append(x)  # (so no other value takes its id while this trace is open)
            self.captures.append((var, value))
        return var

    def process(self, prim: Primitive, args, params):
        if not self.active:
            raise escaped(next(a for a in args if trace_of(a) is self))
        atoms = [self.to_atom(a) for a in args]
        try:
            out = prim.abstract_eval(*[a.aval for a in atoms], **params)
        except ShapeError as e:
            raise e.at(source_line()) from None
        where = source_line()
        if prim.multiple_results:
            outs = [Var(av) for av in out]
            self.eqns.append(Eqn(prim, atoms, params, outs, where))
            return [Tracer(self, v) for v in outs]
        var = Var(out)
        self.eqns.append(Eqn(prim, atoms, params, [var], where))
        return Tracer(self, var)


def snapshot(x):
    """A captured array's values as they are now, as in JAX: a later in-place change of x is not seen by the
    program. The copy is read-only, so capturing it again (a transform of a transform) needs no new copy."""
    if not hasattr(x, "__array_namespace__"):
        return np.asarray(x)
    if type(x) is np.ndarray and not x.flags.writeable and x.base is None:
        return x  # (an array that owns its memory and is read-only: nothing can change it)
    copy = x.copy()
    if type(copy) is np.ndarray:
        copy.flags.writeable = False
    return copy


def escaped(x) -> EscapedTracerError:
    """The error for a value used after its trace ended: it names the value and the line that made it."""
    trace, var = x._dt_trace, getattr(x, "_var", None)
    created = next((e.where for e in getattr(trace, "eqns", ()) if var in e.outs), None)
    return EscapedTracerError(f"{x!r} of trace '{getattr(trace, 'name', '?')}'", created, user_source_line())


_NUMPY_DIR = os.path.dirname(np.__file__) + os.sep


def conversion_error(what: str, aval, fix: str | None = None) -> ConcretizationError:
    """The error for a traced value turned into a Python or NumPy value: it names the user's expression that
    did it (`np.mean([x, y])`, read from Python's column positions) at the user's line, past NumPy's own code."""
    frame = sys._getframe(1)
    while frame is not None and (is_internal(frame.f_code.co_filename)
                                 or frame.f_code.co_filename.startswith(_NUMPY_DIR)):
        frame = frame.f_back
    if frame is None:
        return ConcretizationError(what, aval, user_source_line(), fix)
    code, line = frame.f_code, frame.f_lineno
    text = linecache.getline(code.co_filename, line)
    positions = code.co_positions() if hasattr(code, "co_positions") else iter(())  # (Python 3.11+)
    start, end, column, end_column = next(itertools.islice(positions, frame.f_lasti // 2, None), (None,) * 4)
    call = text.encode()[column:end_column].decode(errors="replace").strip() \
        if start == end == line and column is not None else ""
    cause = unconverted_cause(code) if what.startswith("bool") else None  # (an if / while autograph could not see)
    fix = cause[1] if cause else conversion_fix(fix, call or text) if fix else fix
    return ConcretizationError(f"{what}, in `{call}`" if call else what, aval,
                               SourceLine(code.co_filename, line, code.co_name, text.strip()), fix,
                               cause[0] if cause else None)


class ArrayValue:
    """What every value kind that stands for an array shares: shape, dtype, ndim, size read from `aval`,
    len() and iteration over the first axis, identity hashing, and priority over NumPy's operators."""

    __slots__ = ()
    __array_priority__ = 1000
    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: self.aval.size)
    __hash__ = object.__hash__

    def __len__(self):
        if not self.shape:
            raise TypeError(f"len() of a 0-d value ({type(self).__name__})")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError(f"iteration over a 0-d value ({type(self).__name__})")
        return (self[i] for i in range(self.shape[0]))


class Tracer(ArrayValue):
    """A value inside a trace: carries an abstract value; operators and methods are installed by
    `dualtape.numpy` (the same method set as eager tensors)."""

    __slots__ = ("_dt_trace", "_var", "__weakref__")

    def __init__(self, trace: StagingTrace, var: Var):
        self._dt_trace = trace
        self._var = var

    @property
    def aval(self) -> ShapedArray:
        return self._var.aval

    def __bool__(self):
        raise conversion_error("bool (in an if, while, and/or, or assert)", self.aval)

    def __int__(self):
        raise conversion_error("int", self.aval, NUMBER_FIX)

    def __float__(self):
        raise conversion_error("float", self.aval, NUMBER_FIX)

    def __index__(self):
        raise conversion_error("index", self.aval, INDEX_FIX)

    def __complex__(self):
        raise conversion_error("complex", self.aval, NUMBER_FIX)

    def __array__(self, dtype=None, copy=None):
        raise conversion_error("NumPy array (np.asarray)", self.aval, ARRAY_FIX)

    def tolist(self):
        raise conversion_error("list (.tolist())", self.aval, f"iterate over it (its elements are traced values "
                               f"too), use {CONTROL}, or pass the argument as static (static_argnums)")

    def __repr__(self):
        name = self._var.hint or f"#{self._var.id}"
        return f"Tracer<{name}:{self.aval}>"


@contextmanager
def _naming(trace: StagingTrace):
    """While tracing, name Vars after the user's local variables (read when each user function returns).
    Nested traces share one hook; a profiler the user is running is never displaced (no names then)."""
    current = sys.getprofile()
    if current is not None and current is not _on_profile_event:
        yield
        return
    naming = TRACE_STATE.naming
    naming.append(trace)
    if current is None:
        sys.setprofile(_on_profile_event)
    try:
        yield
    finally:
        naming.remove(trace)
        if current is None:
            sys.setprofile(None)


def _on_profile_event(frame, event, arg):
    if event != "return":
        return
    code = frame.f_code
    if is_internal(code.co_filename) or is_library(code.co_filename):
        return
    for name, value in frame.f_locals.items():
        _name_value(name, value)
    globs = frame.f_globals
    for name in code.co_names:
        if name in globs:
            _name_value(name, globs[name])


_POSITIONAL_HINT = re.compile(r"_\d+$")


def _name_value(name: str, value) -> None:
    if type(value) is Tracer:
        var, trace = value._var, value._dt_trace
        if trace in TRACE_STATE.naming and (var.hint is None or var.id in trace.renameable):
            var.hint = name
            trace.renameable.discard(var.id)
    elif isinstance(value, np.ndarray):
        for trace in TRACE_STATE.naming:
            var = trace._captured.get(id(value))
            if var is not None and var.hint is None:
                var.hint = name


def suggest_capture_name(value, hint: str | None) -> None:
    """Name the captured-constant Var that stands for value in the traces being named (a constant that a
    transform re-binds keeps the user's name for it)."""
    if hint and isinstance(value, np.ndarray):
        for trace in TRACE_STATE.naming:
            var = trace._captured.get(id(value))
            if var is not None and var.hint is None:
                var.hint = hint


def make_program(fn, args: tuple, name: str | None = None, arg_names=None):
    """Trace fn(*args) into a Program; args is a tuple of pytrees. Returns (program, out_treedef)."""
    name = name or getattr(fn, "__name__", "f")
    leaves, in_tree = tree.flatten(args)
    trace = StagingTrace(name if name.isidentifier() else "f")
    hints = input_hints(fn, args) if arg_names is None else arg_names
    tracers = [trace.new_input(_input_aval(x), h) for x, h in zip(leaves, hints)]
    # positions in a tuple or list (`params_0`) give way to the name the user unpacks them to (`W1`)
    trace.renameable = {t._var.id for t in tracers if t._var.hint and _POSITIONAL_HINT.search(t._var.hint)}
    replayed = set_source_line()  # the user's function records its own lines, even when traced during a replay
    try:
        innermost = TRACE_STATE.innermost
        innermost.append(trace)
        try:
            with _naming(trace):
                out = fn(*tree.unflatten(in_tree, tracers))
        finally:
            innermost.remove(trace)
        out_leaves, out_tree = tree.flatten(out)
        outputs = [trace.to_atom(o) for o in out_leaves]
    finally:
        trace.active = False
        set_source_line(replayed)
    program = Program(trace.inputs, trace.eqns, outputs, trace.captures, name=trace.name)
    return program, out_tree


def _input_aval(x) -> ShapedArray:
    aval = aval_of(x)
    if aval.weak:  # Python scalars stay weak, as NumPy treats them
        return aval
    return ShapedArray(aval.shape, aval.dtype)


def input_hints(fn, args: tuple, kwargs: dict | None = None, skip=()) -> list[str | None]:
    """Readable names for the flattened leaves of args (but those at positions in skip), then of kwargs:
    parameter names (`xs_0, xs_1, ...` for `*xs`), with pytree keys appended."""
    hints: list[str | None] = []
    for i, (arg, base) in enumerate(zip(args, _param_names(fn, len(args)))):
        if i not in skip:
            hints.extend(_leaf_paths(arg, base))
    for k in tree._dict_keys(kwargs or {}):
        hints.extend(_leaf_paths(kwargs[k], k))
    return hints


def _param_names(fn, n_args: int) -> list[str | None]:
    """The parameter names that n_args positional arguments of fn bind to (None where unknown)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        params = []
    names: list[str | None] = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            names.extend(f"{p.name}_{i}" for i in range(n_args - len(names)))
    return (names + [None] * n_args)[:n_args]


def _leaf_paths(x, base):
    if type(x) in (tuple, list) or (isinstance(x, tuple) and hasattr(type(x), "_fields")):
        fields = getattr(type(x), "_fields", None)
        for i, c in enumerate(x):
            key = fields[i] if fields else str(i)
            yield from _leaf_paths(c, f"{base}_{key}" if base else None)
    elif type(x) is dict:
        for k in tree._dict_keys(x):
            yield from _leaf_paths(x[k], f"{base}_{k}" if base else str(k))
    elif x is not None:
        yield base
