"""A compiled forward pass inside eager autograd: its result gets one grad_fn node (PyTorch's name for it,
CompiledFunctionBackward) whose backward runs the program's VJP, itself compiled (dt.jit of dt.vjp of the
program: the registry's rules again), so `loss = compiled(x); loss.backward()` fills the parameters' .grad."""

from __future__ import annotations

from ..api.reverse import vjp
from ..api.staging import jit
from ..eager.graph import Node
from ..eager.tensor import Tensor
from ..transforms.evaluate import eval_program


class CompiledNode(Node):
    """The grad_fn of a compiled function's result: pulls its cotangent back to the tensors it read."""

    __slots__ = ("entry", "values")

    def __init__(self, entry, tensors, values, out_data, out_tensor):
        super().__init__("CompiledFunctionBackward", tensors, out_data, out_tensor)
        self.entry, self.values = entry, values  # values: every program input of this call

    def backward(self, g, create_graph: bool):
        if create_graph:
            raise NotImplementedError("backward(create_graph=True) through a dt.compile'd function is not "
                                      "supported; differentiate the eager function instead")
        return tuple(self.entry.differentiable["vjp"](self.values, g._array if isinstance(g, Tensor) else g))

    def free(self) -> None:
        super().free()
        self.values = None


def plan_backward(entry, needs_grad, leaves, positions, slots) -> None:
    """Record which program inputs are differentiated (tensors requiring grad) and the compiled VJP."""
    output = [i for i, needed in enumerate(needs_grad) if needed]
    if len(output) != 1:
        raise NotImplementedError(f"dt.compile: {len(output)} results require grad; a compiled forward pass can "
                                  "be differentiated for one result tensor (return a tuple of one loss, or run "
                                  "backward() inside the compiled function)")
    tensors = [leaves[i] if isinstance(leaves[i], Tensor) else None for i in positions] + [s.ref for s in slots]
    inputs = [k for k, t in enumerate(tensors) if t is not None and _requires_grad(t)]
    program, k = entry.program, output[0]

    def program_vjp(values, g):
        """The cotangents of the differentiated inputs alone (the others, integer indices among them, held)."""
        def of_differentiated(*xs):
            every = list(values)
            for i, x in zip(inputs, xs):
                every[i] = x
            return eval_program(program, every)[k]

        _, pullback = vjp(of_differentiated, *[values[i] for i in inputs])
        return pullback(g)

    entry.differentiable = {"inputs": inputs, "vjp": jit(program_vjp), "output": k, "n_args": len(positions)}


def _requires_grad(t) -> bool:
    t = t() if callable(t) and not isinstance(t, Tensor) else t  # (a weak reference to a state tensor)
    return t is not None and t.requires_grad


def attach_backward(entry, values, leaves, results) -> None:
    """Give this call's differentiated result a CompiledNode over the tensors it read."""
    plan = entry.differentiable
    dynamic = [x for x in leaves if isinstance(x, Tensor) or hasattr(x, "shape")]
    state = [ref() for ref in entry.lifted]
    tensors = [x if isinstance(x, Tensor) else None for x in dynamic] + state
    read = [tensors[i] for i in plan["inputs"]]
    if not any(t is not None and t.requires_grad for t in read):
        return
    out = results[plan["output"]]
    out.grad_fn = CompiledNode(entry, read, values, out._array, out)
    out.requires_grad = True
