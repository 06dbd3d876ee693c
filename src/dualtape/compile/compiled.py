"""`dt.compile(fn_or_module)`: eager Tensor code traced once per signature into one program and run compiled.

The function runs once with its tensors' arrays swapped for tracers (compile.state), so every eager
operation, including a `loss.backward()` and an optimiser's in-place updates, is recorded into the program.
Each later call with the same signature runs the emitted program and writes the new parameter, gradient and
optimiser-state arrays back into their tensors. A cached program is used only while its guards hold: the
same tensors (alive, same shapes, dtypes, requires_grad, and .grad present or not) as when it was traced, and
the same settings and module trees (settings.SettingsGuard). A call with the last call's signature takes a
lean path: its arguments checked one by one against that signature, without flattening or hashing them.
"""

from __future__ import annotations

import functools
import gc
import logging
import warnings

import numpy as np

from .. import tree
from ..api.precision import Precision
from ..codegen.runtime import Compiled, source_for
from ..config import config
from ..core.ir import Program
from ..core.primitive import innermost_trace
from ..core.trace import input_hints, make_program
from ..eager import autocast as _autocast
from ..eager import grad_mode
from ..eager.lifting import LIFTING, grad_of, set_data, set_grad
from ..eager.tensor import Tensor
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from ..transforms.passes import optimize
from .names import TensorNames
from .node import attach_backward
from .settings import SettingsGuard, referenced
from .state import Lifting, grad_signature, tensor_signature

logger = logging.getLogger("dualtape")


class _Entry:
    """One traced program, its guards, and how its inputs and outputs map onto tensors."""

    def __init__(self, program, out_tree, tensor_outputs, effects, slots, guards, settings, backend):
        self.program, self.out_tree, self.tensor_outputs = program, out_tree, tensor_outputs
        effects = [e for e in effects if e.ref is None or e.ref() is not None]  # (a dead tensor stays dead)
        # split by kind, for guards_hold: (ref, shape, dtype, requires_grad) and (ref, .grad's (shape, dtype) or None)
        self._tensor_guards = [(ref, *expected) for ref, what, expected in guards if what == "tensor"]
        self._grad_guards = [(ref, expected) for ref, what, expected in guards if what == "grad"]
        self.settings = SettingsGuard(settings)  # (the modules and optimisers whose settings it baked in)
        self.lifted = [s.ref for s in slots]  # weak references to the tensors behind its trailing inputs
        self.sources = [s.value for s in slots]  # what each trailing input is at a call
        # (the common case, no random draws: the trailing inputs are the arrays of these tensors)
        self._arrays_of = None if any(s.draw is not None for s in slots) else self.lifted
        # (the common effects, an output becoming a tensor's .data or .grad; the others apply themselves)
        common = [e.ref is not None and e.index is not None for e in effects]
        self._writes = [(e.ref, e.index, e.what == "data") for e, c in zip(effects, common) if c]
        self._other_effects = [e for e, c in zip(effects, common) if not c]
        self.compiled = Compiled(program, backend)
        self.fn, self.single = self.compiled.fn, self.compiled.n_outputs == 1
        self.n_results = len(tensor_outputs)
        self.differentiable = None  # set by node.plan_backward when a result needs a grad_fn

    def guards_hold(self) -> bool:
        """Whether the tensors and settings the program assumes are as traced (the cheapest checks first)."""
        for ref, shape, dtype, requires_grad in self._tensor_guards:
            t = ref()
            if t is None or not _tensor_matches(t, shape, dtype, requires_grad):
                return False
        for ref, expected in self._grad_guards:
            t = ref()
            if t is None or not _grad_matches(t, expected):
                return False
        return self.settings.holds()

    def run(self, leaves, dynamic):
        if self._arrays_of is not None:
            inputs = dynamic + [ref()._array for ref in self._arrays_of]
        else:
            inputs = dynamic + [value() for value in self.sources]
        outs = self.fn(*inputs)
        outs = (outs,) if self.single else outs
        for ref, index, data in self._writes:
            t = ref()
            if t is not None:
                if data:
                    set_data(t, outs[index])
                else:
                    set_grad(t, Tensor._wrap(outs[index]))
        for effect in self._other_effects:
            effect.apply(outs, leaves)
        results = [Tensor._wrap(np.asarray(o)) if is_tensor else o
                   for o, is_tensor in zip(outs[:self.n_results], self.tensor_outputs)]
        if self.differentiable is not None and grad_mode.STATE.enabled:
            attach_backward(self, inputs, leaves, results)
        return tree.unflatten(self.out_tree, results)


class _LastCall:
    """The signature of the last call, when its arguments were all positional leaves (the common case:
    tensors, arrays, numbers), checked without flattening or hashing them; `entries` is that signature's
    cache list, whose first entry the slow path would try first."""

    __slots__ = ("types", "keys", "grad_enabled", "autocast", "entries")

    def __init__(self, args, key, entries):
        self.types = tuple(type(a) for a in args)
        self.keys, self.grad_enabled, self.autocast, self.entries = key[1], key[2], key[3], entries

    @staticmethod
    def of(args, kwargs, treedef, key, entries):
        """A _LastCall for this call, or None where its arguments are not all leaves."""
        if kwargs or not entries or treedef != _flat_treedef(len(args)):
            return None
        return _LastCall(args, key, entries)

    def dynamic(self, args) -> list | None:
        """The arrays of the dynamic arguments if args have the signature of the last call (with the same grad
        mode and autocast state), else None."""
        if (len(args) != len(self.types) or grad_mode.STATE.enabled != self.grad_enabled
                or ((_autocast.STATE.policies or self.autocast) and _autocast.state_key() != self.autocast)):
            return None
        dynamic = []
        for a, kind, key in zip(args, self.types, self.keys):
            if type(a) is not kind:
                return None
            if key[0] == "tensor":
                if not (_tensor_matches(a, key[1], key[2], key[3]) and _grad_matches(a, key[4])):
                    return None
                dynamic.append(a._array)
            elif _leaf_key(a) != key:
                return None
            elif key[0] == "array":
                dynamic.append(a)
        return dynamic


def _tensor_matches(t, shape, dtype, requires_grad) -> bool:
    """Whether tensor t has this shape, dtype and requires_grad (an ndarray's own attributes read directly)."""
    a = t._array
    if type(a) is np.ndarray:
        if a.shape != shape or a.dtype != dtype:
            return False
    elif t.shape != shape or t.dtype != dtype:
        return False
    return t.requires_grad == requires_grad


def _grad_matches(t, expected) -> bool:
    """Whether tensor t's .grad is absent where expected is None, else of expected's (shape, dtype)."""
    grad = grad_of(t)
    if grad is None or expected is None:
        return grad is expected
    return grad.shape == expected[0] and grad.dtype == expected[1]


@functools.cache
def _flat_treedef(n: int):
    """The TreeDef of (args, kwargs) for n positional leaves and no keywords."""
    return tree.flatten((tuple(range(n)), {}))[1]


class CompiledFunction:
    """A function of eager tensors, traced once per input signature and run as one compiled program."""

    def __init__(self, fn, backend: str = "numpy", precision=None):
        functools.update_wrapper(self, fn)
        if not hasattr(self, "__name__"):
            self.__name__ = self.__qualname__ = type(fn).__name__
        self.fn, self.backend = fn, backend
        self.precision = Precision.of(precision, backend)  # (traced under dt.autocast with its compute dtype)
        self._entries: dict = {}
        self.trace_count = 0
        self._made_state_traces = 0  # (traces whose program made tensors that outlive the call)
        self._last: _LastCall | None = None  # (the last call's signature, for the lean path)

    def __call__(self, *args, **kwargs):
        last = self._last
        if last is not None and not kwargs:  # (the lean path: the signature of the last call again)
            dynamic = last.dynamic(args)
            if dynamic is not None:
                entry = last.entries[0]
                if entry.guards_hold():
                    return entry.run(args, dynamic)
        leaves, treedef = tree.flatten((args, kwargs))
        key = (treedef, tuple(_leaf_key(x) for x in leaves), grad_mode.STATE.enabled, _autocast.state_key())
        dynamic = [x._array if isinstance(x, Tensor) else x for x in leaves if _is_dynamic(x)]
        entries = self._entries.get(key, ())
        for i, entry in enumerate(entries):
            if entry.guards_hold():
                if i:  # (the entry that holds now is checked first next time: a training loop settles on one)
                    entries.insert(0, entries.pop(i))
                self._last = _LastCall.of(args, kwargs, treedef, key, entries)
                return entry.run(leaves, dynamic)
        entry = self._trace(leaves, treedef, args)
        if not entry.once:  # (a program that made new state, e.g. momentum buffers, runs once)
            self._entries.setdefault(key, []).append(entry)
            self._last = _LastCall.of(args, kwargs, treedef, key, self._entries[key])
        else:
            self._made_state_traces += 1
            if self._made_state_traces == 3:
                warnings.warn(f"dt.compile: {self.__name__} has traced 3 times because each call makes tensors that "
                              "outlive it (kept on an attribute or in a list, say), so each call starts from new "
                              "state and traces again; return such tensors instead of keeping them, or call the "
                              "function without dt.compile", RuntimeWarning, stacklevel=2)
        return entry.run(leaves, dynamic)

    def _trace(self, leaves, treedef, args) -> _Entry:
        self.trace_count += 1
        if config.log_compiles:
            reason = ("the last program made tensors that outlive the call (new state)" if self._made_state_traces
                      else "no cached program for these arguments, or its guards changed")
            logger.warning("dualtape.compile: tracing %s (trace %d): %s", self.__name__, self.trace_count, reason)
        positions = [i for i, x in enumerate(leaves) if _is_dynamic(x)]
        examples = tuple(leaves[i]._array if isinstance(leaves[i], Tensor) else leaves[i] for i in positions)
        hints = [h for i, h in enumerate(_hints(self.fn, args, len(leaves))) if i in set(positions)]
        found: dict = {}

        def traced(*tracers):
            arguments = {id(leaves[i]): i for i in positions if isinstance(leaves[i], Tensor)}
            lifting = found["lifting"] = Lifting(innermost_trace(), arguments, TensorNames(self.fn))
            call = list(leaves)
            for i, tracer in zip(positions, tracers):
                if isinstance(leaves[i], Tensor):
                    lifting.argument(leaves[i], tracer, i)
                else:
                    call[i] = tracer
            call_args, call_kwargs = tree.unflatten(treedef, call)
            LIFTING.stack.append(lifting)
            try:
                if self.precision is None:
                    out = self.fn(*call_args, **call_kwargs)
                else:
                    with _autocast.under(self.precision):
                        out = self.fn(*call_args, **call_kwargs)
            finally:
                LIFTING.stack.remove(lifting)
            out_leaves, found["out_tree"] = tree.flatten(out)
            found["tensor_outputs"] = [isinstance(o, Tensor) for o in out_leaves]
            found["needs_grad"] = [  # (a result whose graph a backward() inside has used up is a plain value)
                isinstance(o, Tensor) and o.grad_fn is not None and not getattr(o.grad_fn, "freed", False)
                for o in out_leaves]
            values = [o._array if isinstance(o, Tensor) else o for o in out_leaves]
            found["effects"], effect_values = lifting.effects(len(values), out_leaves)
            return values + effect_values

        try:
            program = make_program(traced, examples, name=self.__name__, arg_names=hints)[0]
        finally:
            if "lifting" in found:
                found["lifting"].restore()
        lifting = found.pop("lifting")
        slots = [s for s in lifting.slots if s.arg is None]
        del traced
        gc.collect()  # (tensors made and dropped by the function, e.g. a constant, must be gone now)
        program, slots = _constants_inlined(program, len(positions), slots)
        if config.optimize:
            program = optimize(program, exact=True)  # (the same numbers as eager, to the bit)
        objects = _unique([obj for _, obj in referenced(self.fn)] + [x for x in leaves if _has_settings(x)]
                          + list(lifting.settings.values()))
        entry = _Entry(program, found["out_tree"], found["tensor_outputs"], found["effects"], slots,
                       lifting.guards(), objects, self.backend)
        entry.once = lifting.made_state()
        if any(found["needs_grad"]):
            from .node import plan_backward

            plan_backward(entry, found["needs_grad"], leaves, positions, slots)
        return entry

    def source(self, *args, **kwargs) -> str:
        """The source of the program this call would run, as its backend compiles it (for backend="numba", the
        module Numba compiles, as dt.source shows it; traced now if it is not cached)."""
        leaves, treedef = tree.flatten((args, kwargs))
        key = (treedef, tuple(_leaf_key(x) for x in leaves), grad_mode.STATE.enabled, _autocast.state_key())
        for entry in self._entries.get(key, ()):
            if entry.guards_hold():
                return _source_run(entry, self.backend)
        return _source_run(self._trace(leaves, treedef, args), self.backend)

    _dt_source = source  # (what dt.source(compiled, ...) shows: the program also takes the state it reads)

    @property
    def cache_size(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def __repr__(self):
        return f"<dualtape.compile of {self.__name__}: {self.cache_size} compiled program(s)>"


def compile(fn_or_module=None, *, backend: str = "numpy", precision=None):  # noqa: A001 - the public name (SPEC §2)
    """Compile eager Tensor code (a function, or a Module's forward) into one program per input signature:
    a forward pass, or a whole training step with backward() and optimizer.step(), parameters and optimiser
    state written back after each call. Usable as a decorator. precision ("bfloat16", "float16" or a
    dt.Precision): traced under dt.autocast in its compute dtype (docs/precision.md)."""
    if fn_or_module is None:
        return functools.partial(compile, backend=backend, precision=precision)
    return CompiledFunction(fn_or_module, backend, precision)


def _constants_inlined(program: Program, n_args: int, slots):
    """The program with the lifted tensors that did not outlive the trace (made and dropped by the function,
    e.g. a constant a loss builds) as captured constants instead of inputs, and the slots that remain."""
    dead = {id(s) for s in slots if s.draw is None and s.ref() is None}
    if not dead:
        return program, slots
    lifted_vars = program.inputs[n_args:]
    captures = [(v, s.original) for v, s in zip(lifted_vars, slots) if id(s) in dead]
    inputs = program.inputs[:n_args] + [v for v, s in zip(lifted_vars, slots) if id(s) not in dead]
    kept = [s for s in slots if id(s) not in dead]
    return Program(inputs, program.eqns, program.outputs, program.captures + captures, program.name), kept


def _source_run(entry: _Entry, backend: str) -> str:
    """The source the entry runs; where backend "numba" or "auto" left it to NumPy, that source after the line
    saying why (as dt.source writes it)."""
    if backend in ("numba", "auto") and type(entry.compiled) is Compiled:
        return source_for(entry.program, backend)
    return entry.compiled.source


def _has_settings(x) -> bool:
    return isinstance(x, (Module, Optimizer))


def _unique(objects) -> list:
    seen = {}
    for obj in objects:
        seen.setdefault(id(obj), obj)
    return list(seen.values())


def _is_dynamic(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _leaf_key(x):
    if isinstance(x, Tensor):
        return ("tensor",) + tensor_signature(x) + (grad_signature(x),)
    if isinstance(x, np.ndarray):
        return ("array", x.shape, str(x.dtype))
    try:
        hash(x)
    except TypeError:
        raise TypeError(f"dt.compile: an argument of type {type(x).__name__} is neither a tensor, an array nor a "
                        "hashable value (those are compiled in as constants)") from None
    return ("static", type(x), x)


def _hints(fn, args, n_leaves: int) -> list:
    """Readable names for the leaves (the function's parameter names), padded to n_leaves."""
    try:
        hints = input_hints(fn, args)
    except (TypeError, ValueError):
        hints = []
    return (hints + [None] * n_leaves)[:n_leaves]
