"""Composite operations recorded as one node with PyTorch's name (MeanBackward0, SoftmaxBackward0, ...):
the composition is traced once per input signature into a small program, evaluated forward, and its
backward is a pullback through that program (the registry's rules again, nothing written twice). A
signature met again is compiled, as dt.compile would (exact: no rewrite that rounds otherwise): its forward
and its pullback become emitted NumPy functions, dead work dropped, so a training loop's log_softmax or mean
costs one call each way instead of an interpreted program."""

from __future__ import annotations

import numpy as np

from ..codegen.runtime import Compiled
from ..core.trace import make_program
from ..ops.rules import zeros
from ..transforms.evaluate import eval_program
from ..transforms.jvp import ShapedArrayExample
from ..transforms.passes import optimize
from ..transforms.vjp import Pullback
from . import autocast as _autocast
from . import grad_mode
from .graph import Node
from .lifting import LIFTING, lift_all
from .tensor import INFERENCE_SAVED, Tensor

_programs: dict = {}
COMPILE_AFTER = 2  # (a signature's uses before it is compiled: one-off shapes stay interpreted)


class Composite:
    """One composition at one input signature: its program, how often it ran, and, once it has run
    COMPILE_AFTER times, its compiled forward and pullbacks (one per set of operands that want a cotangent)."""

    __slots__ = ("program", "uses", "forward", "pullbacks")

    def __init__(self, program):
        self.program, self.uses, self.forward, self.pullbacks = program, 0, None, {}

    def run(self, raw):
        """The program's output at raw (NumPy arrays and numbers: compiled once warm; else interpreted)."""
        self.uses += 1
        if self.uses >= COMPILE_AFTER and _plain(raw):
            if self.forward is None:
                self.forward = Compiled(optimize(self.program, exact=True))
            return self.forward(*raw)
        (out,) = eval_program(self.program, raw)
        return out

    def pullback(self, operands, g, wanted: tuple):
        """The cotangents of the operands at the positions `wanted`, compiled for plain arrays once warm
        (None where it cannot: then the caller pulls back through the program itself)."""
        if self.uses < COMPILE_AFTER or not (_plain(operands) and type(g) is np.ndarray):
            return None
        compiled = self.pullbacks.get(wanted)
        if compiled is None:
            compiled = self.pullbacks[wanted] = Compiled(optimize(self._pullback_program(wanted), exact=True))
        bars = compiled(*operands, g)
        return (bars,) if len(wanted) == 1 else bars

    def _pullback_program(self, wanted):
        program = self.program
        avals = [v.aval for v in program.inputs] + [program.outputs[0].aval]

        def pull(*args):
            bars = Pullback(program, list(args[:-1]))([args[-1]])
            return [zeros(avals[i]) if bars[i] is None else bars[i] for i in wanted]

        return make_program(pull, tuple(ShapedArrayExample(a) for a in avals), name="composite_pullback")[0]


def _plain(values) -> bool:
    return all(type(x) is np.ndarray or type(x) in (int, float, bool) for x in values)


class CompositeNode(Node):
    """The grad_fn of a composite operation: a pullback through its program."""

    __slots__ = ("composite",)

    def __init__(self, name, composite, inputs, out_data, out_tensor):
        super().__init__(name, inputs, out_data, out_tensor)
        self.composite = composite

    def backward(self, g, create_graph: bool):
        operands = list(self.inputs) if create_graph else [getattr(x, "_array", x) for x in self.inputs]
        wanted = tuple(i for i, (edge, x) in enumerate(zip(self.edges, operands))
                       if edge is not None and x.dtype.kind in "fc")
        bars = None if create_graph else self.composite.pullback(operands, g, wanted)
        if bars is None:
            bars = Pullback(self.composite.program, operands)([g])
            return tuple(None if edge is None else bar for edge, bar in zip(self.edges, bars))
        found = dict(zip(wanted, bars))
        return tuple(found.get(i) for i in range(len(self.edges)))


def _composite_for(fn, static, raw) -> Composite:
    key = (fn, static, tuple((getattr(x, "shape", ()), getattr(x, "dtype", type(x))) for x in raw))
    found = _programs.get(key)
    if found is None:
        examples = tuple(ShapedArrayExample(Tensor._wrap(x).aval) for x in raw)
        found = _programs[key] = Composite(make_program(lambda *xs: fn(*xs, *static), examples, name="composite")[0])
    return found


def composite(name: str, fn, tensors, *static):
    """fn(*tensors, *static) computed now and, when recording, one node named `name` in the graph."""
    if _autocast.STATE.policies is not None:  # (dt.autocast: op by op, each in the dtype the policy gives it)
        return fn(*tensors, *static)
    if LIFTING.stack:  # (dt.compile is tracing: tensors holding arrays, such as parameters, become its inputs)
        lift_all(tensors)
    raw = [t._array if isinstance(t, Tensor) else t for t in tensors]
    static = tuple(tuple(s) if type(s) is list else s for s in static)  # (dims as a list: a hashable cache key)
    record = grad_mode.STATE.enabled and any(isinstance(t, Tensor) and t.requires_grad for t in tensors)
    if not record:
        return Tensor._wrap(fn(*raw, *static))
    if any(isinstance(t, Tensor) and t._inference for t in tensors):  # (its pullback would read them)
        raise RuntimeError(INFERENCE_SAVED)
    found = _composite_for(fn, static, raw)
    out = found.run(raw)
    result = Tensor._wrap(out)
    result.grad_fn = CompositeNode(name, found, tensors, out, result)
    result.requires_grad = True
    return result


def one_node(name: str, fn, operands, *static):
    """fn(*operands, *static): on tensors, as one node named `name` (PyTorch's); on arrays and traced values,
    fn itself (each of its ops then recorded by whatever trace holds them)."""
    if any(isinstance(x, Tensor) for x in operands):
        return composite(name, fn, operands, *static)
    return fn(*operands, *static)
