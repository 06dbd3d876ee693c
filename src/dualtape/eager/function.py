"""`autograd.Function`: a user-defined operation with its own forward and backward (PyTorch's API)."""

from __future__ import annotations

from . import devices as _device
from . import grad_mode
from .graph import Node
from .tensor import Tensor


class FunctionCtx:
    """The `ctx` of forward/backward: save_for_backward, saved_tensors, needs_input_grad, free attributes."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = tuple(needs_input_grad)
        self._saved = ()
        self._freed = False

    def save_for_backward(self, *tensors) -> None:
        self._saved = tuple(tensors)
        self._versions = [t._version[0] if isinstance(t, Tensor) else None for t in tensors]

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved "
                               "tensors after they have already been freed). Specify retain_graph=True.")
        for t, v in zip(self._saved, getattr(self, "_versions", [])):
            if isinstance(t, Tensor) and v is not None and t._version[0] != v:
                raise RuntimeError(f"one of the variables needed for gradient computation has been modified by an "
                                   f"inplace operation: a tensor saved by {getattr(self, 'node_name', 'a Function')} "
                                   f"is at version {t._version[0]}; expected version {v} instead")
        return self._saved


class FunctionNode(Node):
    """The grad_fn of a Function's output: calls the user's backward."""

    __slots__ = ("fn_class", "ctx")

    def __init__(self, fn_class, ctx, inputs, out_data, out_tensor):
        super().__init__(f"{fn_class.__name__}Backward", inputs, out_data, out_tensor)
        self.fn_class, self.ctx = fn_class, ctx
        ctx.node_name = self._name  # (for the ctx's error messages)
        self.versions = [None] * len(self.inputs)  # the ctx checks what it saved

    def backward(self, g, create_graph: bool):
        g_tensor = g if isinstance(g, Tensor) else Tensor._wrap(g)
        with grad_mode.set_grad_enabled(create_graph):
            grads = self.fn_class.backward(self.ctx, g_tensor)
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(self.inputs):
            raise RuntimeError(f"function {self.fn_class.__name__}Backward returned an incorrect number of "
                               f"gradients (expected {len(self.inputs)}, got {len(grads)})")
        return tuple(None if gr is None else (gr if create_graph else getattr(gr, "data", gr)) for gr in grads)

    def free(self) -> None:
        super().free()
        self.ctx._freed = True
        self.ctx._saved = ()


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`; call with `.apply(*args)`."""

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads) to be differentiated")

    @classmethod
    def apply(cls, *args):
        needs = [isinstance(a, Tensor) and a.requires_grad for a in args]
        ctx = FunctionCtx(needs)
        with grad_mode.no_grad():
            out = cls.forward(ctx, *args)
        if isinstance(out, (tuple, list)):
            raise NotImplementedError(f"{cls.__name__}.forward returned {len(out)} outputs; dualtape's "
                                      "autograd.Function supports one output tensor so far")
        out = out if isinstance(out, Tensor) else Tensor._wrap(_device.as_array(out))
        if grad_mode.STATE.enabled and any(needs):
            result = Tensor._wrap(out.data)
            result.grad_fn = FunctionNode(cls, ctx, args, out.data, result)
            result.requires_grad = True
            return result
        return out
