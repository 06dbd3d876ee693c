"""Composite operations recorded as one node with PyTorch's name (MeanBackward0, SoftmaxBackward0, ...):
the composition is traced once per input signature into a small program, evaluated forward, and its
backward is a pullback through that program (the registry's rules again, nothing written twice)."""

from __future__ import annotations

from ..core.trace import make_program
from ..transforms.evaluate import eval_program
from ..transforms.jvp import ShapedArrayExample
from ..transforms.vjp import Pullback
from . import autocast as _autocast
from . import grad_mode
from .graph import Node
from .tensor import INFERENCE_SAVED, Tensor

_programs: dict = {}


class CompositeNode(Node):
    """The grad_fn of a composite operation: a pullback through its program."""

    __slots__ = ("program",)

    def __init__(self, name, program, inputs, out_data, out_tensor):
        super().__init__(name, inputs, out_data, out_tensor)
        self.program = program

    def backward(self, g, create_graph: bool):
        operands = list(self.inputs) if create_graph else [getattr(x, "_array", x) for x in self.inputs]
        bars = Pullback(self.program, operands)([g])
        return tuple(None if edge is None else bar for edge, bar in zip(self.edges, bars))


def _program(fn, static, raw):
    key = (fn, static, tuple((getattr(x, "shape", ()), getattr(x, "dtype", type(x))) for x in raw))
    program = _programs.get(key)
    if program is None:
        examples = tuple(ShapedArrayExample(Tensor._wrap(x).aval) for x in raw)
        program = make_program(lambda *xs: fn(*xs, *static), examples, name="composite")[0]
        _programs[key] = program
    return program


def composite(name: str, fn, tensors, *static):
    """fn(*tensors, *static) computed now and, when recording, one node named `name` in the graph."""
    if _autocast.STATE.policies is not None:  # (dt.autocast: op by op, each in the dtype the policy gives it)
        return fn(*tensors, *static)
    raw = [t._array if isinstance(t, Tensor) else t for t in tensors]
    static = tuple(tuple(s) if type(s) is list else s for s in static)  # (dims as a list: a hashable cache key)
    record = grad_mode.STATE.enabled and any(isinstance(t, Tensor) and t.requires_grad for t in tensors)
    if not record:
        return Tensor._wrap(fn(*raw, *static))
    if any(isinstance(t, Tensor) and t._inference for t in tensors):  # (its pullback would read them)
        raise RuntimeError(INFERENCE_SAVED)
    program = _program(fn, static, raw)
    (out,) = eval_program(program, raw)
    result = Tensor._wrap(out)
    result.grad_fn = CompositeNode(name, program, tensors, out, result)
    result.requires_grad = True
    return result


def one_node(name: str, fn, operands, *static):
    """fn(*operands, *static): on tensors, as one node named `name` (PyTorch's); on arrays and traced values,
    fn itself (each of its ops then recorded by whatever trace holds them)."""
    if any(isinstance(x, Tensor) for x in operands):
        return composite(name, fn, operands, *static)
    return fn(*operands, *static)
