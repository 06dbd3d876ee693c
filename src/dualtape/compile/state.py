"""What a compiled eager function reads and writes besides its arguments' values.

While tracing, each tensor the function touches that holds a concrete array (a parameter, optimiser state,
a .grad) is *lifted*: its array is swapped for a tracer, an input of the program. Every `.grad` the function
reads or assigns is noted with its value at entry. When the function returns, each tensor whose array or
.grad now differs has an *effect*: its new value is a program output (or a constant), written back after
each call. Afterwards the swapped arrays and .grads are put back, whatever happened.

Guards: a cached program assumes the same lifted tensors, alive, with the same shapes, dtypes and
requires_grad, and, for each .grad it read before assigning, the same presence, shape and dtype.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..avals import ShapedArray
from ..core.primitive import trace_of
from ..eager.devices import is_device_array
from ..eager.lifting import CompileHooks, grad_of, set_data, set_grad
from ..eager.tensor import Tensor


def _on_host(t: Tensor) -> None:
    """dt.compile emits NumPy programs: a tensor on the GPU gets this error, not a failed conversion."""
    if is_device_array(t._array):
        raise NotImplementedError("dt.compile traces CPU tensors only (so far), and a tensor it reads is on cuda:0: "
                                  "call the function without dt.compile to run it eagerly on the GPU, or move "
                                  "its tensors (and modules) with .cpu()")


class Slot:
    """A tensor whose array is a program input: an argument (`arg`: its leaf position in the call), a tensor
    the function read (`arg` None), or random values it drew (`draw`: draws them anew for each call)."""

    __slots__ = ("tensor", "ref", "original", "tracer", "arg", "draw")

    def __init__(self, tensor: Tensor, tracer, arg: int | None, draw=None):
        self.tensor, self.ref, self.tracer, self.arg = tensor, weakref.ref(tensor), tracer, arg
        self.original, self.draw = tensor._array, draw

    def value(self):
        """The input's value for a call: the tensor's array now, or a fresh draw."""
        return self.draw() if self.draw is not None else self.ref()._array


class GradSeen:
    """A tensor whose .grad the function read or assigned: its .grad at entry, and whether it was read first."""

    __slots__ = ("tensor", "ref", "arg", "before", "read_first")

    def __init__(self, tensor: Tensor, arg: int | None, read_first: bool):
        self.tensor, self.ref, self.arg = tensor, weakref.ref(tensor), arg
        self.before, self.read_first = grad_of(tensor), read_first


class Made:
    """A tensor made while tracing (its weak reference): if it outlives the trace holding a traced array, it
    is new state (an optimiser's buffer), and its array an output."""

    __slots__ = ("ref", "arg")

    def __init__(self, tensor: Tensor):
        self.ref, self.arg = weakref.ref(tensor), None


class Effect:
    """After each call: `.data` or `.grad` (`what`) of a tensor becomes output `index` of the program, a
    constant array (`value`), or for a grad None. The tensor is a call's argument (`arg`, a leaf position)
    or a tensor the function reads (`ref`, a weak reference)."""

    __slots__ = ("ref", "arg", "what", "index", "value")

    def __init__(self, seen, what: str, index=None, value=None):
        self.ref, self.arg = (None, seen.arg) if seen.arg is not None else (seen.ref, None)
        self.what, self.index, self.value = what, index, value

    def apply(self, outs, leaves) -> None:
        t = leaves[self.arg] if self.arg is not None else self.ref()
        if t is None:
            return
        new = outs[self.index] if self.index is not None else (
            None if self.value is None else self.value.copy())
        if self.what == "data":
            set_data(t, new)
        else:
            set_grad(t, None if new is None else Tensor._wrap(new))


class Lifting(CompileHooks):
    """The tensors lifted into one trace, the .grads it saw, and how to undo both (eager code reports to it
    through the hooks of eager.lifting)."""

    def __init__(self, trace, arguments: dict, names=None):
        self.trace, self.names = trace, names  # names: tensor -> a readable hint for its input, or None
        self.arguments = arguments  # id(tensor) -> leaf position, for the call's tensor arguments
        self.slots: list[Slot] = []
        self.grads: dict[int, GradSeen] = {}
        self.made: list[Made] = []
        self.settings: dict[int, object] = {}  # id -> the modules and optimisers the function used

    def saw_settings(self, obj) -> None:
        """A module was called or an optimiser stepped: the program holds its settings as constants."""
        self.settings.setdefault(id(obj), obj)

    def track(self, t: Tensor) -> None:
        self.made.append(Made(t))

    def argument(self, t: Tensor, tracer, position: int) -> None:
        if any(slot.tensor is t for slot in self.slots):
            return  # (the same tensor passed twice: its first input stands for it)
        _on_host(t)
        self.slots.append(Slot(t, tracer, position))
        t._array = tracer

    def __call__(self, t: Tensor) -> None:
        """The lifter (eager.lifting): t's array becomes a new input of the program, unless t was lifted
        before in this trace: then the function itself gave it this array (`.zero_()` writes zeros), a
        constant of the program, not the value t holds when a call starts."""
        if any(slot.tensor is t for slot in self.slots):
            return
        _on_host(t)
        data = np.asarray(t._array)
        if data.dtype == object:
            raise TypeError("dt.compile: a tensor of Python objects cannot be compiled")
        hint = self.names(t) if self.names is not None else None
        tracer = self.trace.new_input(ShapedArray(data.shape, data.dtype), hint)
        self.slots.append(Slot(t, tracer, None))
        t._array = tracer

    def random(self, draw, aval: ShapedArray, requires_grad: bool) -> Tensor:
        """A tensor of random values (dt.randn, dt.rand): an input that each call draws anew with draw(), from
        the same generator and in the same order as the eager function would."""
        tracer = self.trace.new_input(aval, "noise")
        t = Tensor(tracer, requires_grad)  # (made while tracing: if it outlives the call it is state)
        slot = Slot(t, tracer, None, draw)
        slot.original = np.zeros(aval.shape, aval.dtype)  # (until a call's effects write its values)
        slot.tensor = None  # (not kept alive here: whether the function keeps it decides if it is state)
        self.slots.append(slot)
        return t

    def saw_grad(self, t: Tensor, reading: bool) -> None:
        """Tensor.grad was read (or assigned): note its value at entry the first time."""
        if id(t) not in self.grads:
            self.grads[id(t)] = GradSeen(t, self.arguments.get(id(t)), reading)

    def effects(self, n_outputs: int, results) -> tuple[list[Effect], list]:
        """The effects of the function on the tensors it touched or made (but its results), and the traced
        values they output (numbered from n_outputs, after the function's own results)."""
        effects, values, index_of = [], [], {}

        def output(seen, what, value):
            if trace_of(value) is None:  # a concrete array: the same each call
                effects.append(Effect(seen, what, value=np.array(value, copy=True)))
            else:  # (one output per traced value: a .grad and the tensor made for it share their array, as eager)
                if id(value) not in index_of:
                    index_of[id(value)] = n_outputs + len(values)
                    values.append(value)
                effects.append(Effect(seen, what, index=index_of[id(value)]))

        for slot in self.slots:
            if slot.draw is None and slot.tensor._array is not slot.tracer:
                output(slot, "data", slot.tensor._array)
        for seen in self.grads.values():
            now = grad_of(seen.tensor)
            if now is seen.before:
                continue
            if now is None:
                effects.append(Effect(seen, "grad"))
            else:
                output(seen, "grad", now._array)
        skip = {id(r) for r in results} | {id(slot.tensor) for slot in self.slots if slot.draw is None}
        for made in self.made:
            t = made.ref()
            if t is not None and id(t) not in skip and trace_of(t._array) is self.trace:
                output(made, "data", t._array)
        return effects, values

    def restore(self) -> None:
        """Put back every array and .grad the trace replaced (the program has not run yet)."""
        for slot in reversed(self.slots):
            t = slot.tensor if slot.draw is None else slot.ref()
            if t is not None:
                t._array = slot.original
            slot.tensor = None  # (only weak references outlive the trace)
        for seen in self.grads.values():
            set_grad(seen.tensor, seen.before)
            seen.tensor = None

    def made_state(self) -> bool:
        """Whether a tensor made while tracing outlives it (call after restore(), once garbage is collected):
        then the program made state that a later call finds existing, so it must be traced again."""
        return any(m.ref() is not None and trace_of(m.ref()._array) is self.trace
                   for m in self.made)

    def guards(self) -> list:
        """(weak reference, what, expected) for the tensors the program assumes; call after restore()."""
        found = [(s.ref, "tensor", tensor_signature(s.ref())) for s in self.slots
                 if s.arg is None and s.draw is None and s.ref() is not None]
        found += [(g.ref, "grad", grad_signature(g.ref())) for g in self.grads.values()
                  if g.read_first and g.arg is None and g.ref() is not None]
        return found


def tensor_signature(t: Tensor) -> tuple:
    return t.shape, t.dtype, t.requires_grad  # (checked before every call: the dtype itself, not its name)


def grad_signature(t: Tensor):
    grad = grad_of(t)
    return None if grad is None else (grad.shape, grad.dtype)

