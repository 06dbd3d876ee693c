"""`autograd.Function`: a user-defined operation with its own forward and backward (PyTorch's API).

A forward may return one tensor or a tuple of outputs (values that are not tensors are passed through).
One output's grad_fn is the Function's node itself. With a tuple, the Function gets one node that runs the
user's backward once, fed by a small node per differentiable output: each hands its output's summed
cotangent on as an `OutputGrads` (a slot per output), and the engine sums those with `+` where they meet,
so the Function's node sees every output's gradient together, as PyTorch's backward does."""

from __future__ import annotations

import numbers
import weakref

import numpy as np

from ..avals import is_float
from . import devices as _device
from . import grad_mode
from .graph import Node, OutputGrads, OutputNode, _Handle, flip_convention
from .tensor import Tensor
from .views import check_inplace, rebase


class FunctionCtx:
    """The `ctx` of forward/backward: save_for_backward, saved_tensors, needs_input_grad, mark_dirty,
    mark_non_differentiable, set_materialize_grads, free attributes."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = tuple(needs_input_grad)
        self._saved = ()
        self._freed = False
        self.dirty_tensors = ()
        self.non_differentiable = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._saved = tuple(tensors)
        self._versions = [t._version[0] if isinstance(t, Tensor) else None for t in tensors]

    def mark_dirty(self, *tensors) -> None:
        """The forward modified these inputs in place (and returns them): they become outputs of the node."""
        self.dirty_tensors = tuple(tensors)

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs do not require grad; backward still gets a gradient for each (zeros, or None)."""
        self.non_differentiable = tuple(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether backward gets zeros (True, the default) or None for an output that got no gradient."""
        self.materialize_grads = bool(value)

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
    """The node of a Function: calls the user's backward with one gradient per output (zeros where an output
    got none, unless ctx.set_materialize_grads(False)) and checks what it returns, as PyTorch does."""

    __slots__ = ("fn_class", "ctx", "outputs", "in_meta", "fn_hooks")

    def __init__(self, fn_class, ctx, inputs, out_data, out_tensor, outputs=None):
        super().__init__(f"{fn_class.__name__}Backward", inputs, out_data, out_tensor)
        self.fn_class, self.ctx = fn_class, ctx
        ctx.node_name = self._name  # (for the ctx's error messages)
        self.versions = [None] * len(self.inputs)  # the ctx checks what it saved
        # per output: (shape, dtype, device) of a tensor, None for a value passed through
        self.outputs = outputs if outputs is not None else [_meta(out_tensor)]
        # per input: (shape, dtype, device) of a tensor, None for another argument
        self.in_meta = [_meta(x) if isinstance(x, Tensor) else None for x in self.inputs]
        self.fn_hooks = None

    @property
    def next_functions(self):
        """As PyTorch: one entry per tensor argument of apply (other arguments have no edge)."""
        return tuple((edge, 0) for edge, meta in zip(self.edges, self.in_meta) if meta is not None)

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> None or replacement grad_inputs, called after the backward runs
        (one entry per tensor argument, and per output: None where that output got no gradient)."""
        if self.fn_hooks is None:
            self.fn_hooks = []
        self.fn_hooks.append(fn)
        return _Handle(self.fn_hooks, fn)

    def backward(self, g, create_graph: bool):
        given = [g.grads.get(i) for i in range(len(self.outputs))] if isinstance(g, OutputGrads) else [g]
        given = [x if x is None or isinstance(x, Tensor) else Tensor._wrap(x) for x in map(flip_convention, given)]
        grad_outputs = tuple(given)
        if self.ctx.materialize_grads:
            given = [_zeros(meta) if x is None and meta is not None else x for x, meta in zip(given, self.outputs)]
        with grad_mode.set_grad_enabled(create_graph):
            grads = self.fn_class.backward(self.ctx, *given)
            grads = self._checked(grads if isinstance(grads, tuple) else (grads,))
        if self.fn_hooks:
            grads = self._run_hooks(grads, grad_outputs)
        return tuple(None if gr is None or self.edges[i] is None else flip_convention(gr if create_graph else gr._array)
                     for i, gr in enumerate(grads))

    def _checked(self, grads):
        """PyTorch's checks of what backward returned: one gradient per argument of apply (more only if
        None), None for an argument that is not a tensor, and for one that needs a gradient a tensor of a
        shape that is its shape or sums to it (then summed), cast to its dtype, on its device."""
        n, name = len(self.inputs), self._name
        if len(grads) > n and all(gr is None for gr in grads[n:]):
            grads = grads[:n]
        if len(grads) != n:
            raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected {n}, got "
                               f"{len(grads)})")
        out, index = [], 0
        for position, (gr, meta, edge) in enumerate(zip(grads, self.in_meta, self.edges)):
            if meta is None:
                if gr is not None:
                    raise RuntimeError(f"function {name} returned a gradient different than None at position "
                                       f"{position + 1}, but the corresponding forward input was not a Variable")
                out.append(None)
                continue
            if gr is not None and not isinstance(gr, Tensor):
                kind = type(gr)
                kind = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
                raise RuntimeError(f"expected Variable or None (got {kind})")
            if gr is not None and edge is not None:
                gr = _fitted(gr, meta, index, name)
            out.append(gr)
            index += 1
        return out

    def _run_hooks(self, grads, grad_outputs):
        tensor_positions = [i for i, meta in enumerate(self.in_meta) if meta is not None]
        grad_inputs = tuple(grads[i] for i in tensor_positions)
        for hook in list(self.fn_hooks):
            result = hook(grad_inputs, grad_outputs)
            if result is not None:
                grad_inputs = tuple(result)
        grads = list(grads)
        for i, gr in zip(tensor_positions, grad_inputs):
            grads[i] = gr if gr is None or isinstance(gr, Tensor) else Tensor._wrap(gr)
        return grads

    def free(self) -> None:
        super().free()
        self.ctx._freed = True
        self.ctx._saved = ()


def _meta(t: Tensor):
    return t.shape, t.dtype, t.device


def _zeros(meta) -> Tensor:
    shape, dtype, device = meta
    return Tensor._wrap(_device.module_for(device).zeros(shape, dtype=dtype))


def _fitted(gr: Tensor, meta, index: int, name: str) -> Tensor:
    """gr as the gradient of an input of (shape, dtype, device) `meta`, or PyTorch's error."""
    shape, dtype, device = meta
    got = gr.shape
    if got != shape:
        if len(shape) > len(got) or any(s != 1 and s != n for s, n in zip(reversed(shape), reversed(got))):
            raise RuntimeError(f"Function {name} returned an invalid gradient at index {index} - got {list(got)} "
                               f"but expected shape compatible with {list(shape)}")
        lead = len(got) - len(shape)  # (sum_to_size: over the leading axes and the axes broadcast from 1)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and got[lead + i] != 1)
        if axes:
            gr = gr.sum(axis=axes, keepdims=True)
        gr = gr.reshape(shape)
    if gr.device != device:
        raise RuntimeError(f"Function {name} returned an invalid gradient at index {index} - expected device "
                           f"{device} but got {gr.device}")
    if gr.dtype != dtype:
        gr = gr.astype(dtype)
    return gr


def _rebase(t: Tensor, node) -> None:
    """A dirty input (modified in place by forward, and returned) becomes an output of `node`; its hooks and
    retained grad move with it; a view's base gets the new values written in (CopySlices)."""
    producer = t.grad_fn
    if producer is not None and producer.out_ref is not None and producer.out_ref() is t:
        producer.out_ref = None
    if t._hooks or t._retains_grad:
        node.out_ref = weakref.ref(t)
    t.grad_fn, t.requires_grad = node, True
    if t._view is not None:
        rebase(t, node)


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
        several = isinstance(out, tuple)
        if not several and not isinstance(out, Tensor) and (
                isinstance(out, (numbers.Number, np.ndarray, np.generic)) or _device.is_device_array(out)):
            out = Tensor._wrap(_device.as_array(out))  # (an array or a number: a tensor of it)
        outs = out if several else (out,)
        dirty = {id(t): t for t in ctx.dirty_tensors}
        returned = {id(o) for o in outs}
        if any(key not in returned for key in dirty):
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as "
                               "output. The inputs that are modified inplace must all be outputs of the Function.")
        record = grad_mode.STATE.enabled and any(needs)
        if record:
            for t in dirty.values():
                if t.is_leaf and t.requires_grad:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
                if t._view is not None:
                    check_inplace(t, True, f"{cls.__name__}.apply")
        for t in dirty.values():
            t._version[0] += 1  # (as PyTorch bumps the version of a dirty tensor once more)
        if not record:
            return out
        fixed = {id(t) for t in ctx.non_differentiable}
        # (as in PyTorch, an integer or boolean output never requires grad)
        differentiable = [isinstance(o, Tensor) and id(o) not in fixed and is_float(o.dtype) for o in outs]
        if not any(differentiable):
            results = tuple(_output(o, id(o) in dirty) for o in outs)
            return results if several else results[0]
        meta = [_meta(o) if isinstance(o, Tensor) else None for o in outs]
        if not several:
            result = out if id(out) in dirty else _output(out, False)
            node = FunctionNode(cls, ctx, args, out._array, result, meta)
            if result is out:
                _rebase(out, node)
            else:
                result.grad_fn, result.requires_grad = node, True
            _refresh_saved(ctx)
            return result
        node = FunctionNode(cls, ctx, args, None, None, meta)
        results = []
        for i, (o, wanted) in enumerate(zip(outs, differentiable)):
            result = _output(o, id(o) in dirty)
            if wanted:
                grad_fn = OutputNode(node, i, o._array)
                if result is o and id(o) in dirty:
                    _rebase(o, grad_fn)
                else:
                    result.grad_fn, result.requires_grad = grad_fn, True
            results.append(result)
        _refresh_saved(ctx)
        return tuple(results)


def _output(o, is_dirty: bool):
    """What apply returns for an output of forward: a dirty input itself, a new tensor sharing a tensor's
    storage and version counter, or any other value as it is."""
    if not isinstance(o, Tensor) or is_dirty:
        return o
    result = Tensor._wrap(o._array)
    result._version = o._version
    return result


def _refresh_saved(ctx) -> None:
    """As PyTorch saves what save_for_backward named at the end of apply: the versions checked later are
    those after forward (and after marking dirty tensors)."""
    saved = ctx._saved
    if saved:
        ctx._versions = [t._version[0] if isinstance(t, Tensor) else None for t in saved]
