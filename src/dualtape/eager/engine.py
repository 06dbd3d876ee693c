"""The backward engine: walks the grad_fn graph from the outputs in reverse topological order (iteratively,
so a 100,000-op chain needs no recursion), applies each node's rule and sums cotangents where values fan
out. All results are computed first and written to `.grad` only at the end, so an error leaves no
half-accumulated gradient. Without retain_graph, the saved values are freed afterwards."""

from __future__ import annotations

import operator
import sys

import numpy as np

from ..core.primitive import trace_of
from ..numpy import shapes as _dnp_shapes
from ..ops.rules import add_any, fit_dtype
from . import devices as _device
from . import grad_mode
from .graph import AccumulateGrad, PrimitiveNode, edge_of, flip_convention
from .lifting import LIFTING, lift
from .tensor import Tensor


def _topological(roots) -> list:
    """Nodes reachable from roots, each before every node it feeds (outputs first): reverse creation order,
    since a node is always made after the nodes of its operands (AccumulateGrad nodes, with none, go last)."""
    seen, stack = {}, [r for r in roots if r is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        for edge in node.edges:
            if edge is not None:
                stack.append(edge)
    return sorted(seen.values(), key=_seq, reverse=True)


_seq = operator.attrgetter("seq")


def _check_versions(node, reads=None) -> None:
    """Raise, as PyTorch does, if a saved operand that a rule about to run reads was changed in place since it
    was recorded (`reads`: per operand's rule, the operand positions it reads; None: all of them)."""
    for i, (x, saved) in enumerate(zip(node.inputs, node.versions)):
        if saved is None or x._version[0] == saved:
            continue
        if reads is not None and not any(edge is not None and k < len(reads) and i < len(reads[k]) and reads[k][i]
                                         for k, edge in enumerate(node.edges)):
            continue  # (no rule that runs reads it)
        made_by = "a leaf" if x.grad_fn is None else f"output 0 of {x.grad_fn.name()}"
        raise _modified(f"[{x.dtype}{list(x.shape)}], which is {made_by} and is saved by {node.name()}, is "
                        f"at version {x._version[0]}; expected version {saved} instead")


def _modified(what: str) -> RuntimeError:
    return RuntimeError(f"one of the variables needed for gradient computation has been modified by an inplace "
                        f"operation: {what}. Hint: do the in-place operation on a clone, or after backward")


def _node_vjp(node, g, create_graph: bool):
    """The cotangents of the node's operands (None where not needed)."""
    if node.freed:
        raise RuntimeError(
            f"Trying to backward through the graph a second time (or directly access saved tensors after they "
            f"have already been freed): the saved values of {node.name()} were freed by the first backward. "
            "Specify retain_graph=True when calling .backward() or autograd.grad() the first time.")
    if type(node) is not PrimitiveNode:
        _check_versions(node)
        return node.backward(g, create_graph)
    prim = node.prim
    if not prim.linear_vjp:  # (a rule reading only shapes is not invalidated by an in-place change)
        for x, saved in zip(node.inputs, node.versions):
            if saved is not None and x._version[0] != saved:  # (then see whether a rule that runs reads it)
                _check_versions(node, prim.vjp_reads_operands)
                break
        if node.out_version is not None and node.out_version[0] != node.out_seen:
            raise _modified(f"output 0 of {node.name()} (through a tensor sharing its storage, e.g. a detach()) "
                            f"is at version {node.out_version[0]}; expected version {node.out_seen} instead")
    if create_graph:
        operands = list(node.inputs)
        out = node.out_ref() if node.out_ref is not None else None
        if out is None:  # (the output tensor is gone, or was never asked for: one with the same node)
            out = Tensor._wrap(node.out_data)
            out.grad_fn, out.requires_grad = node, True
    else:
        operands, out = node.raw, node.out_data
    bars = prim.vjp(g, *operands, out=out, needed=node.edges, **node.params)  # (an edge of None: not needed)
    if node.cast_from is not None:
        bars = tuple(b if was is None or b is None else fit_dtype(b, was) for b, was in zip(bars, node.cast_from))
    return bars


def run(roots, root_grads, retain_graph, create_graph, capture=None):
    """Propagate root_grads back from the root tensors. Returns {id(leaf or captured tensor): (tensor, grad)}:
    the gradients PyTorch gives (for complex values, the conjugate of the rules' cotangents)."""
    grads: dict = {}  # node -> the cotangent summed so far for its output
    captured: dict[int, tuple] = {}
    capture = capture or {}
    by_node = {t.grad_fn: t for t in capture.values() if t.grad_fn is not None}  # inputs inside the graph
    for t, g in zip(roots, root_grads):
        node = edge_of(t)
        if node is None:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        grads[node] = add_any(grads.get(node), flip_convention(g))  # (a captured root gets it there: a leaf's
        # AccumulateGrad or, inside the graph, its node, once, with whatever else flows into it)
    order = _topological([edge_of(t) for t in roots])
    pop, get = grads.pop, grads.get
    with grad_mode.set_grad_enabled(create_graph):
        for node in order:
            g = pop(node, None)
            if g is None:
                continue
            if type(node) is AccumulateGrad:
                leaf = node.variable
                if leaf is not None:
                    g = _in_dtype(flip_convention(g), leaf.dtype)  # (PyTorch's: a leaf's grad has its dtype)
                    if leaf._hooks:
                        g = _apply_hooks(leaf._hooks, g)
                    captured[id(leaf)] = (leaf, add_any(captured.get(id(leaf), (leaf, None))[1], g))
                continue
            if node.out_ref is not None and (out := node.out_ref()) is not None:
                if out._hooks:
                    g = flip_convention(_apply_hooks(out._hooks, flip_convention(g)))
                if out._retains_grad:
                    captured[id(out)] = (out, flip_convention(g))
            if by_node and node in by_node:
                out = by_node[node]
                captured[id(out)] = (out, flip_convention(g))
            bars = _node_vjp(node, g, create_graph)
            if node.hooks:
                bars = _apply_node_hooks(node, bars, g)
            for nxt, bar in zip(node.edges, bars):
                if nxt is not None and bar is not None:
                    previous = get(nxt)
                    grads[nxt] = bar if previous is None else previous + bar
    if not retain_graph:
        for node in order:
            node.free()
    return captured


def _apply_node_hooks(node, bars, g):
    """A grad_fn's hooks see (grad_inputs, grad_outputs) and may return replacement grad_inputs."""
    wrap = lambda x: x if x is None or isinstance(x, Tensor) else Tensor._wrap(x)
    unwrap = lambda new, old: new if isinstance(old, Tensor) or new is None else getattr(new, "_array", new)
    for hook in list(node.hooks):
        result = hook(tuple(wrap(flip_convention(b)) for b in bars), (wrap(flip_convention(g)),))
        if result is not None:
            bars = tuple(flip_convention(unwrap(new, old)) for new, old in zip(result, bars))
    return bars


def _apply_hooks(hooks, g):
    """Each hook sees the gradient as a Tensor and may return a replacement (of its shape and dtype, as PyTorch
    checks)."""
    for hook in list(hooks):
        wrapped = g if isinstance(g, Tensor) else Tensor._wrap(g)
        result = hook(wrapped)
        if result is not None:
            for what, was, got in (("type", wrapped.dtype, getattr(result, "dtype", None)),
                                   ("size", wrapped.shape, tuple(getattr(result, "shape", ())))):
                if was != got:
                    raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the {what} of value "
                                       f"(was {was} got {got})")
            g = result if isinstance(g, Tensor) else (result._array if isinstance(result, Tensor) else result)
    return g


def _in_dtype(g, dtype):
    """Gradient g (an array, a traced value or, building a graph, a tensor) in dtype."""
    if g.dtype == dtype:
        return g
    if isinstance(g, Tensor) or trace_of(g) is not None:
        return g.astype(dtype)
    return _device.cast(g, dtype)


def _as_grad(g, like):
    """A given gradient as a tensor on the output's device (a Tensor on another device is an error)."""
    if isinstance(g, Tensor):
        if g.device != like.device:
            raise RuntimeError(f"invalid gradient at index 0 - expected device {like.device} but got {g.device}")
        return g
    return Tensor._wrap(_device.cast(_device.move(g, like.device), like.dtype))


def _seed(t: Tensor, gradient):
    if gradient is None:
        if t.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs; pass `gradient=` "
                               f"(e.g. dt.ones_like(y)) for an output of shape {t.shape}")
        data = t._array
        return Tensor._wrap((np if type(data) is np.ndarray else _device.module_of(data)).ones(t.shape, t.dtype))
    g = _as_grad(gradient, t)
    if g.shape != t.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] has a "
                           f"shape of {t.shape}.")
    return g


def backward(tensors, grad_tensors, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Tensor.backward: add the gradients into .grad of the leaves (or of `inputs`) and retained tensors."""
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    seeds = [_seed(t, g) for t, g in zip(tensors, grad_tensors)]
    retain = create_graph if retain_graph is None else retain_graph
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    elif inputs is not None:
        inputs = list(inputs)
        if not inputs:
            raise RuntimeError("backward(inputs=...) cannot be empty: pass the tensors to accumulate into, or leave "
                               "inputs out to accumulate into every leaf")
    capture = {id(x): x for x in inputs} if inputs is not None else None
    roots_g = [s if create_graph else s._array for s in seeds]
    found = list(run(tensors, roots_g, retain, create_graph, capture).values())
    del roots_g, seeds  # (so that a seed array reaching a leaf unchanged is held by nobody else either)
    for i in range(len(found)):
        t, g = found[i]
        found[i] = None  # (the array is now held by `g` alone, unless someone else holds it too)
        if capture is not None and id(t) not in capture:
            continue
        if not (t.is_leaf or t._retains_grad or capture is not None):
            continue
        if LIFTING.stack:
            LIFTING.stack[-1].saw_grad(t, reading=True)
        current = t._grad  # (read here without the warning t.grad gives of a non-leaf's)
        if current is None:
            if create_graph:
                t.grad = g if isinstance(g, Tensor) else Tensor._wrap(g)
            else:
                t.grad = Tensor._wrap(g if _refs(g) == _SOLE and _fits(g, t) else _owned(g, t))
            continue
        g = g if isinstance(g, Tensor) else Tensor._wrap(g)
        lift(current)
        if create_graph:
            t.grad = current + g
        elif type(current._array) is np.ndarray and current._array.flags.writeable and type(g._array) is np.ndarray:
            current._array[...] += np.asarray(g._array, dtype=current.dtype)  # in place, as PyTorch accumulates
        else:
            current._array = current._array + g._array


def _refs(data) -> int:
    return sys.getrefcount(data)


def _sole_references() -> tuple[int, int]:
    """What _refs gives for an array one local variable alone holds, and for the base of a view that the view
    alone holds (the counts include the call's own references, which differ between Python versions: measured
    here, in the way backward measures, not assumed)."""
    data = np.empty(1)
    view = np.empty((2, 2)).T
    base = view.base  # (as _fits holds it)
    return _refs(data), _refs(base)


_SOLE, _SOLE_BASE = _sole_references() if hasattr(sys, "getrefcount") else (-1, -1)


def _fits(data, t) -> bool:
    """Whether a gradient array can become t's .grad as it is, as PyTorch steals a gradient buffer no one else
    uses: a writable NumPy array in t's dtype and memory layout, owning its memory or a view of all of an
    array's memory that only the view holds (a transpose of a transpose), and nobody else holding it (the
    caller has checked `_refs(data) == _SOLE`)."""
    if type(data) is not np.ndarray or data.dtype != t.dtype:
        return False
    flags, own = data.flags, getattr(t._array, "flags", None)
    if not flags.writeable or own is None:
        return False
    base = data.base
    if base is not None and not (type(base) is np.ndarray and base.base is None and base.flags.owndata
                                 and base.size == data.size and base.dtype == data.dtype
                                 and _refs(base) == _SOLE_BASE):
        return False
    if own.f_contiguous and not own.c_contiguous:
        return flags.f_contiguous
    return flags.c_contiguous


def _owned(data, t):
    """A gradient array t.grad may own: a copy of an array, on its device, in t's dtype and t's memory layout
    (as PyTorch lays a .grad out like its tensor, so an optimiser's updates run over matching contiguous
    memory, whatever view the last rule produced); a traced value laid out row by row (dt.compile writes what
    eager writes: the same values, in memory an optimiser runs over fast)."""
    dtype = t.dtype
    if type(data) is np.ndarray or trace_of(data) is None:
        flags = getattr(t._array, "flags", None)
        order = "F" if flags is not None and flags.f_contiguous and not flags.c_contiguous else "C"
        return _device.copy(data, dtype, order)
    return _dnp_shapes.contiguous(data if data.dtype == dtype else data.astype(dtype))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d outputs / d inputs as a tuple (outputs' .grad untouched)."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    grad_outputs = [None] * len(outputs) if grad_outputs is None else (
        [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs))
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    seeds = [_seed(t, g) for t, g in zip(outputs, grad_outputs)]
    retain = create_graph if retain_graph is None else retain_graph
    found = run(outputs, [s if create_graph else s._array for s in seeds], retain, create_graph,
                {id(x): x for x in inputs})
    result = []
    for x in inputs:
        if id(x) not in found:
            if not x.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad: call "
                                   ".requires_grad_() on it before computing the outputs")
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
            result.append(None)
            continue
        g = found[id(x)][1]
        g = _in_dtype(g, x.dtype)
        result.append(g if isinstance(g, Tensor) else Tensor._wrap(g))
    return tuple(result)
