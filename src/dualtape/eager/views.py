"""Views as in PyTorch. A tensor a view primitive makes from another tensor's memory remembers its base (the
tensor owning that memory, never itself a view) and how it was made (a chain of ViewOf steps from the base),
and shares the base's version counter. When the counter has moved since the view's grad_fn was set, the base
or another view of it was changed in place: the view's grad_fn is made again by replaying the steps on the
base's current history (lazily, when the view is used or its grad_fn read; named AsStridedBackward0, as
PyTorch names it). An in-place change through a view gives the base a CopySlices grad_fn: its old history
with the view's new values written in, back through every step."""

from __future__ import annotations

import weakref

import numpy as np

from ..ops.indexing import concrete_index, getitem_p, index_update_p
from ..ops.shape import diagonal_index, diagonal_positions, reshape_p, transpose_p
from . import grad_mode
from .graph import PrimitiveNode, Unread

_NO_GRAD_VIEW = ("A view was created in no_grad mode and {what} inplace with grad mode enabled. Given that this use "
                 "case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the "
                 "view and the inplace either both inside the no_grad block (if you don't want the inplace to be "
                 "tracked) or both outside (if you want the inplace to be tracked).")


class ViewOf:
    """How a view was made: its base, the step before (None: made from the base itself), the primitive with
    its params and further operands, the shape it was applied to; the version its view's grad_fn is of."""

    __slots__ = ("base", "parent", "prim", "params", "operands", "shape", "version", "no_grad")

    def steps(self) -> list:
        """The chain of steps from the base to this view, base first."""
        chain, step = [], self
        while step is not None:
            chain.append(step)
            step = step.parent
        return chain[::-1]


def make_view(result, prim, params, source, out, raw, no_grad: bool) -> None:
    """If `out` (prim applied to tensor source, whose array is raw[0]; made under no_grad or not) shares
    source's memory, result is a view of source's base. One element picked by integers or 0-d integer arrays
    (`x[1, 2]`, `x[i]`), which NumPy gives as a scalar, is a 0-d view of it instead, as PyTorch's."""
    if type(out) is not np.ndarray:
        if not (isinstance(out, np.generic) and prim is getitem_p and type(raw[0]) is np.ndarray):
            return
        index = params["index"] if len(raw) == 1 else [  # (0-d integer arrays pick one element too, as ints)
            int(e) if type(e) is np.ndarray else e for e in concrete_index(params["index"], raw[1:])]
        out = result._array = raw[0][(*index, Ellipsis)]
    owner, data = out.base, raw[0]
    if owner is None or not (owner is data or owner is getattr(data, "base", None)):
        return
    result._version = version = source._version
    parent = source._view
    view = result._view = ViewOf.__new__(ViewOf)
    view.base, view.parent, view.prim, view.params = source if parent is None else parent.base, parent, prim, params
    view.operands, view.shape, view.version = tuple(raw[1:]) if len(raw) > 1 else (), data.shape, version[0]
    view.no_grad = no_grad or (parent is not None and parent.no_grad)


def regenerate(t) -> None:
    """t's grad_fn made again from its base's current history (t's version counter moved since it was set)."""
    view = t._view
    base = view.base
    if not base.requires_grad:
        view.version = t._version[0]
        return
    if view.no_grad:  # (PyTorch's refusal; under no_grad the view is used as it is, nothing being recorded)
        if grad_mode.STATE.enabled:
            raise RuntimeError(_NO_GRAD_VIEW.format(what="its base or another view of its base has been modified"))
        return
    node = _replay(view.steps(), base._grad_fn or base._leaf_node(), t.dtype, t.shape, t._version)[-1]
    node._name = "AsStridedBackward0"
    _move_hooks(t, node)
    t._grad_fn, t._requires_grad = node, True
    view.version = t._version[0]


def check_inplace(t, recorded: bool, op: str) -> None:
    """PyTorch's refusals of in-place change `op` of view t (`recorded`: whether the change is recorded)."""
    data = t._array
    if type(data) is np.ndarray and any(s == 0 and n > 1 for s, n in zip(data.strides, data.shape)):
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    view = t._view
    if grad_mode.STATE.enabled and (recorded or view.base.requires_grad):
        if view.no_grad:
            raise RuntimeError(_NO_GRAD_VIEW.format(what="is being modified"))
        if view.base.requires_grad and view.base._grad_fn is None:
            raise RuntimeError(f"a view of a leaf Variable that requires grad is being used in an in-place operation "
                               f"({op}); change the leaf under `with dt.no_grad():`, or compute a new tensor out of "
                               f"place")


def rebase(t, node) -> None:
    """After an in-place change of view t recorded as `node` (t's new values): the base's new history is its
    old one with those values written in where t lies (CopySlices), and t's grad_fn is node, up to date."""
    view = t._view
    base = view.base
    steps = view.steps()
    old = base._grad_fn or (base._leaf_node() if base._requires_grad else None)
    below = [old]  # (the histories of the values each step was applied to)
    if len(steps) > 1:
        below += [None] * (len(steps) - 1) if old is None else _replay(steps[:-1], old, t.dtype, steps[-1].shape,
                                                                        t._version)
    shapes = [step.shape for step in steps] + [t.shape]
    for i in range(len(steps) - 1, -1, -1):
        node = _written(steps[i], below[i], node, shapes[i + 1], t.dtype, t._version)
    node._name = "CopySlices"
    _move_hooks(base, node)
    base._grad_fn, base._requires_grad = node, True
    view.version = t._version[0]


def _replay(steps, edge, dtype, shape, version) -> list:
    """The nodes of the steps applied in turn from `edge` (the last one's result of shape `shape`)."""
    nodes, shapes = [], [step.shape for step in steps[1:]] + [shape]
    for step, out_shape in zip(steps, shapes):
        inputs = [_unread(step.shape, dtype), *step.operands]
        edge = PrimitiveNode(step.prim, step.params, inputs, list(inputs), [edge] + [None] * len(step.operands),
                             [None] * len(inputs), out_shape, version)
        nodes.append(edge)
    return nodes


def _written(step, below, new, out_shape, dtype, version):
    """The node of step's input with `new` (the values of its output) written in; `below` its old history."""
    name = step.prim.name
    if name == "getitem":
        inputs = [_unread(step.shape, dtype), _unread(out_shape, dtype), *step.operands]
        return PrimitiveNode(index_update_p, {"index": step.params["index"]}, inputs, list(inputs),
                             [below, new] + [None] * len(step.operands), [None] * len(inputs), step.shape, version)
    if name == "diagonal":  # (written onto the diagonal of the last two axes, as a getitem of its positions)
        positions = diagonal_positions(*step.shape[-2:], step.params["offset"])
        inputs = [_unread(step.shape, dtype), _unread(out_shape, dtype), *positions]
        return PrimitiveNode(index_update_p, {"index": diagonal_index(len(step.shape))}, inputs, list(inputs),
                             [below, new, None, None], [None] * 4, step.shape, version)
    if name == "transpose":
        prim, params = transpose_p, {"perm": tuple(int(i) for i in np.argsort(step.params["perm"]))}
    elif name == "broadcast_to" and int(np.prod(out_shape)) != int(np.prod(step.shape)):
        raise RuntimeError("an in-place change through a view of an expanded tensor (expand / broadcast_to) is not "
                           "supported; clone() the expanded tensor first")
    elif name in ("reshape", "squeeze", "expand_dims", "broadcast_to"):  # (the same values, in the input's shape)
        prim, params = reshape_p, {"shape": step.shape}
    else:
        raise NotImplementedError(f"an in-place change through a view made by {name}")
    inputs = [_unread(out_shape, dtype)]
    return PrimitiveNode(prim, params, inputs, list(inputs), [new], [None], step.shape, version)


def _unread(shape, dtype) -> Unread:
    kept = Unread.__new__(Unread)
    kept.shape, kept.dtype = shape, dtype
    return kept


def _move_hooks(t, node) -> None:
    """t's hooks and retained grad see its gradient at its new grad_fn `node`, no longer at the old one."""
    old = t._grad_fn
    if old is not None and getattr(old, "out_ref", None) is not None and old.out_ref() is t:
        old.out_ref = None
    if t._hooks or t._retains_grad:
        node.out_ref = weakref.ref(t)
