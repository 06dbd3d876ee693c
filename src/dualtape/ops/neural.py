"""Neural-network primitives that PyTorch computes as single ops with their own derivatives: softmax and
log_softmax along one axis, nll_loss (the negative log-likelihood of class-index targets) and class_scatter,
its cotangent (values put at each target's class: PyTorch's nll_loss_backward), each the other's transpose.
Both take PyTorch's ignore_index (None: no target is ignored): a target equal to it counts for nothing, and
the mean is over the targets not ignored (NaN when every one is, as PyTorch's).

As one row each they evaluate in one call, eager mode records one node with PyTorch's name, and their rules
read the result instead of recomputing the forward (max, exp, sum). Each `axis` param arrives normalised (an
int in [0, ndim); 0 for a 0-d operand, which is one element along it). The forward is the numerically stable
shifted form, the same operations as the composition dnp.softmax / dnp.log_softmax, so the values are the
same bit for bit. Emitted code calls a runtime helper per array module, which skips the shift where there is
no element (the max of an empty axis raises; the result is empty).
"""

from __future__ import annotations

import math

import numpy as np

from ..avals import aval_of, broadcast_shapes, is_float
from ..core.faces import FULL, Faces, Facts
from ..core.primitive import Primitive
from ..errors import ShapeError
from .elementwise import convert_element_type_p, eq_p, exp_p, maximum_p, ne_p, where_p
from .reduction import reduce_sum_p
from .rules import defjvp, defvjp, helper_evaluator, materialise_batch, move_batch_rank
from .shape import expand_dims_p, squeeze_p

REDUCTIONS = ("mean", "sum", "none")


# ---- shape and dtype rules ---------------------------------------------------------------------------
def _check_floating(op: str, dtype) -> None:
    if dtype.kind != "f" and (not is_float(dtype) or dtype.kind == "c"):  # (bfloat16 is NumPy's kind "V")
        raise TypeError(f"{op}: expected a real floating point operand, got dtype {np.dtype(dtype)}; convert it "
                        "first (e.g. x.astype(np.float32))")


def _check_axis(op: str, shape: tuple, axis: int) -> None:
    if not 0 <= axis < max(len(shape), 1):
        raise ShapeError(op, f"axis {axis} is out of bounds for an operand of shape {shape}",
                         fix="pass an axis in [0, ndim) (0 for a 0-d operand): dt.softmax and nn.functional "
                         "normalise a negative one")


def _along_axis(op: str):
    """The shape rule of softmax and log_softmax: the operand's shape, once the axis is checked."""

    def shape_rule(x, axis):
        _check_axis(op, x.shape, axis)
        return x.shape

    return shape_rule


def _floating(op: str):
    """The dtype rule of softmax and log_softmax: the operand's, a real floating one."""

    def dtype_rule(x, axis):
        _check_floating(op, x.dtype)
        return x.dtype

    return dtype_rule


def _check_ignore_index(op: str, ignore_index) -> None:
    if ignore_index is not None and type(ignore_index) is not int:
        raise TypeError(f"{op}: ignore_index must be an int (or None), got {ignore_index!r}")


def _nll_loss_shape(log_probs, target, axis, reduction, ignore_index):
    _check_ignore_index("nll_loss", ignore_index)
    if log_probs.ndim == 0:
        raise ShapeError("nll_loss", "log_probs is 0-d; it needs a class axis", fix="pass (C,), (N, C) or (N, C, ...)")
    _check_axis("nll_loss", log_probs.shape, axis)
    expected = log_probs.shape[:axis] + log_probs.shape[axis + 1:]
    if target.shape != expected:
        raise ShapeError("nll_loss", f"log_probs of shape {log_probs.shape} (classes along axis {axis}) needs targets "
                         f"of shape {expected}, got {target.shape}", fix="give one class index per sample (drop a "
                         "trailing dimension of size 1, or use argmax of one-hot targets)")
    if reduction not in REDUCTIONS:
        raise ValueError(f"nll_loss: {reduction!r} is not a valid value for reduction: use 'mean', 'sum' or 'none'")
    return () if reduction != "none" else target.shape


def _check_targets(op: str, dtype) -> None:
    if np.dtype(dtype).kind not in "iu":
        raise TypeError(f"{op}: targets must be class indices (integers), got dtype {dtype}")


def _nll_loss_dtype(log_probs, target, axis, reduction, ignore_index):
    _check_floating("nll_loss", log_probs.dtype)
    _check_targets("nll_loss", target.dtype)
    return log_probs.dtype


def _class_scatter_shape(g, target, axis, classes, reduction, ignore_index):
    _check_ignore_index("class_scatter", ignore_index)
    if not 0 <= axis <= target.ndim:
        raise ShapeError("class_scatter", f"axis {axis} is out of range for targets of shape {target.shape}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"class_scatter: {reduction!r} is not a valid value for reduction: use 'mean', 'sum' or "
                         "'none'")
    if reduction != "none" and g.shape != ():
        raise ShapeError("class_scatter", f"the cotangent of a {reduction} is one value, got shape {g.shape}",
                         fix="give a 0-d value, or reduction='none' for one per target")
    if broadcast_shapes("class_scatter", g.shape, target.shape) != target.shape:
        raise ShapeError("class_scatter", f"values of shape {g.shape} do not broadcast to the targets' shape "
                         f"{target.shape}", fix="give one value, or one per target")
    return target.shape[:axis] + (classes,) + target.shape[axis:]


def _class_scatter_dtype(g, target, axis, classes, reduction, ignore_index):
    _check_floating("class_scatter", g.dtype)
    _check_targets("class_scatter", target.dtype)
    return g.dtype


# ---- the forward, per array module -------------------------------------------------------------------
# NumPy reduces a short last axis one row at a time (an inner loop of a few elements per row): the max over,
# say, 10 classes of 128 rows takes twice as long as on the transposed copy, and 5x for 1,024 rows, where one
# reduction runs across all the rows at once. The max is exact in any order, so its values stay the same bits.
SHORT_AXIS, MANY_ROWS = 16, 64


def _max_along(x, axis):
    """x's max along axis, kept as size 1 (a NumPy array with a short last axis and many rows: transposed first)."""
    size = x.shape[-1] if x.ndim else 0
    if type(x) is np.ndarray and axis == x.ndim - 1 and 0 < size <= SHORT_AXIS and x.size >= MANY_ROWS * size:
        return np.ascontiguousarray(x.reshape(-1, size).T).max(axis=0).reshape(x.shape[:-1] + (1,))
    return x.max(axis=axis, keepdims=True)  # (the array's own methods: eager's hot path)


def _softmax_helper(xp):
    def softmax(x, axis):
        """exp(x - max) / sum(exp(x - max)) along axis (a 0-d x is one element; no element, an empty result)."""
        if x.size == 0:
            return xp.zeros(x.shape, dtype=x.dtype)
        axis = axis if x.ndim else None
        e = xp.exp(x - _max_along(x, axis))
        return e / e.sum(axis=axis, keepdims=True)

    return softmax


def _log_softmax_helper(xp):
    def log_softmax(x, axis):
        """(x - max) - log(sum(exp(x - max))) along axis (a 0-d x is one element; no element, an empty result)."""
        if x.size == 0:
            return xp.zeros(x.shape, dtype=x.dtype)
        axis = axis if x.ndim else None
        shifted = x - _max_along(x, axis)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    return log_softmax


def _nll_loss_helper(xp):
    def nll_loss(log_probs, target, axis, reduction, ignore_index=None):
        """-log_probs at each target's class along axis (0 where the target is ignore_index): each ("none"), their
        sum or their mean over the targets not ignored. One sample and (N, C) pick by indexing, in a fifth of the
        time of take_along_axis (which indexes every axis)."""
        kept = None  # (no target ignored, the common case: the plain pick)
        if ignore_index is not None and (ignored := target == ignore_index).any():
            kept = ~ignored
            target = xp.where(kept, target, 0)
        if log_probs.ndim == 1:
            picked = log_probs[target]
        elif log_probs.ndim == 2 and axis == 1:
            picked = log_probs[xp.arange(log_probs.shape[0]), target]
        else:
            picked = xp.squeeze(xp.take_along_axis(log_probs, xp.expand_dims(target, axis), axis=axis), axis=axis)
        losses = -picked if kept is None else xp.where(kept, -picked, 0)
        if reduction == "none":
            return losses
        total = losses.sum()
        if reduction == "sum":
            return total
        if kept is None:
            return total / losses.size
        count = xp.asarray(kept.sum(), dtype=total.dtype)  # (divided in the losses' dtype, as PyTorch)
        return xp.where(count > 0, total / xp.maximum(count, 1), xp.nan)  # (none kept: NaN, as PyTorch)

    return nll_loss


def _class_scatter_helper(xp):
    def class_scatter(g, target, axis, classes, reduction="none", ignore_index=None):
        """Zeros of the targets' shape with a class axis of `classes` inserted at axis, holding g (one value,
        or one per target; for a mean, divided by the count of targets kept) at each target's class, but for
        targets equal to ignore_index: by indexing for one sample and for (N,) targets."""
        g = xp.asarray(g)
        out = xp.zeros(target.shape[:axis] + (classes,) + target.shape[axis:], dtype=g.dtype)
        if out.size == 0:
            return out
        if ignore_index is not None and (ignored := target == ignore_index).any():
            kept = ~ignored
            if reduction == "mean":
                g = g / xp.maximum(xp.asarray(kept.sum(), dtype=g.dtype), 1)
            target, g = xp.where(kept, target, 0), xp.where(kept, g, 0)  # (g's dtype: 0 is a weak scalar)
        elif reduction == "mean":
            g = g / target.size
        if target.ndim == 0:
            out[target] = g
        elif target.ndim == 1 and axis == 1:
            out[xp.arange(target.shape[0]), target] = g
        else:
            ids = xp.reshape(xp.arange(classes), (classes,) + (1,) * (target.ndim - axis))
            values = xp.expand_dims(xp.broadcast_to(g, target.shape), axis)
            out = xp.where(xp.expand_dims(target, axis) == ids, values, out)
        return out

    return class_scatter


def _floating_operand(op: str):
    """The check eager mode runs before the row's evaluator (it skips the dtype rule): a real floating operand."""
    return lambda x: _check_floating(op, x.dtype)


def _floating_value(g) -> None:
    """class_scatter's check before its evaluator: a real floating value (a Python float among them)."""
    _check_floating("class_scatter", np.result_type(g))


_NEW = Facts(new_array=True, precision=FULL)


def _along_axis_row(name: str, helper, torch_node: str) -> Primitive:
    """softmax or log_softmax: one real floating operand, its shape, along a normalised axis, by a runtime helper."""
    prim = Primitive(name, ("x",), f"{name}(x, axis=axis)", _along_axis(name), dtype_rule=_floating(name),
                     impl=helper_evaluator(helper, _floating_operand(name)), helpers={name: helper},
                     faces=Faces(torch_node=torch_node), facts=_NEW)
    prim.non_standard = "a runtime helper: the max shift, skipped where there is no element (an empty max raises)"
    return prim


softmax_p = _along_axis_row("softmax", _softmax_helper, "SoftmaxBackward0")
log_softmax_p = _along_axis_row("log_softmax", _log_softmax_helper, "LogSoftmaxBackward0")
nll_loss_p = Primitive("nll_loss", ("log_probs", "target"),
                       "nll_loss(log_probs, target, axis=axis, reduction=reduction, ignore_index=ignore_index)",
                       _nll_loss_shape,
                       dtype_rule=_nll_loss_dtype,
                       impl=helper_evaluator(_nll_loss_helper, _floating_operand("nll_loss")),
                       helpers={"nll_loss": _nll_loss_helper}, faces=Faces(torch_node="NllLossBackward0"), facts=_NEW,
                       unwritten={"ignore_index": None})
nll_loss_p.non_standard = "a runtime helper: the targets' entries picked by indexing, then the reduction"
class_scatter_p = Primitive("class_scatter", ("g", "target"),
                            "class_scatter(g, target, axis=axis, classes=classes, reduction=reduction, "
                            "ignore_index=ignore_index)",
                            _class_scatter_shape,
                            dtype_rule=_class_scatter_dtype,
                            impl=helper_evaluator(_class_scatter_helper, _floating_value),
                            helpers={"class_scatter": _class_scatter_helper},
                            faces=Faces(torch_node="NllLossBackwardBackward0"), facts=_NEW,
                            unwritten={"ignore_index": None})
class_scatter_p.non_standard = "a runtime helper: the values written by indexing into zeros"


# ---- derivative rules --------------------------------------------------------------------------------
def _sum_along(v, axis: int):
    """v summed along axis, kept as size 1 (a 0-d v is its own sum)."""
    return reduce_sum_p(v, axes=(axis,) if aval_of(v).ndim else (), keepdims=True)


defjvp(softmax_p, lambda t, ans, x, axis: ans * (t - _sum_along(ans * t, axis)))
defvjp(softmax_p, lambda g, ans, x, axis: ans * (g - _sum_along(g * ans, axis)), reads="ans")
defjvp(log_softmax_p, lambda t, ans, x, axis: t - _sum_along(exp_p(ans) * t, axis))
defvjp(log_softmax_p, lambda g, ans, x, axis: g - exp_p(ans) * _sum_along(g, axis), reads="ans")


def _kept_count(target, ignore_index, axes, dtype):
    """How many targets along axes are not ignore_index (all of them for None), in dtype, at least 1 (where
    none is, nothing is scattered or picked)."""
    if ignore_index is None:
        return max(math.prod(aval_of(target).shape[a] for a in axes), 1)
    kept = reduce_sum_p(ne_p(target, ignore_index), axes=axes, keepdims=False)
    return maximum_p(convert_element_type_p(kept, dtype=dtype), 1)


def _nll_loss_bar(g, ans, log_probs, target, axis, reduction, ignore_index):
    """-g at each target's class along axis (divided by the count of targets kept, for the mean), zero
    elsewhere and for ignored targets: PyTorch's nll_loss_backward, one class_scatter."""
    return class_scatter_p(-g, target, axis=axis, classes=aval_of(log_probs).shape[axis], reduction=reduction,
                           ignore_index=ignore_index)


def _class_scatter_bar(c, ans, g, target, axis, classes, reduction, ignore_index):
    """What was put at each target's class, picked back (nll_loss is class_scatter's transpose): per target,
    summed, or summed over the count kept for the mean (0, not NaN, where no target is kept)."""
    picked = -nll_loss_p(c, target, axis=axis, reduction="sum" if reduction == "mean" else reduction,
                         ignore_index=ignore_index)
    if reduction != "mean":
        return picked
    return picked / _kept_count(target, ignore_index, tuple(range(aval_of(target).ndim)), aval_of(c).dtype)


defjvp(nll_loss_p, lambda t, ans, log_probs, target, axis, reduction, ignore_index:
       nll_loss_p(t, target, axis=axis, reduction=reduction, ignore_index=ignore_index), None)  # (linear)
defvjp(nll_loss_p, _nll_loss_bar, None, reads=("target", ""))
defjvp(class_scatter_p, lambda t, ans, g, target, axis, classes, reduction, ignore_index:
       class_scatter_p(t, target, axis=axis, classes=classes, reduction=reduction, ignore_index=ignore_index),
       None)  # (linear in g)
defvjp(class_scatter_p, _class_scatter_bar, None, reads=("target", ""), broadcasting=True)


# ---- batch rules (vmap): the batch is axis 0 ---------------------------------------------------------
def _along_axis_batch(prim: Primitive):
    """prim along axis + 1; a per-example 0-d operand is given its one-element axis and loses it again."""

    def rule(values, batched, size, axis):
        (x,) = values
        if aval_of(x).ndim == 1:
            return squeeze_p(prim(expand_dims_p(x, axes=(1,)), axis=1), axes=(1,))
        return prim(x, axis=axis + 1)

    return rule


def _nll_loss_batch(values, batched, size, axis, reduction, ignore_index):
    """Each example's losses at once (targets and log-probabilities both batched), then each one's sum or
    mean (over its targets not ignored: NaN where none is)."""
    log_probs, target = materialise_batch(values, batched, size)
    losses = nll_loss_p(log_probs, target, axis=axis + 1, reduction="none", ignore_index=ignore_index)
    if reduction == "none":
        return losses
    per_example = tuple(range(1, aval_of(losses).ndim))
    total = reduce_sum_p(losses, axes=per_example, keepdims=False)
    if reduction == "sum":
        return total
    if ignore_index is None:
        return total / math.prod(aval_of(target).shape[1:])
    kept = reduce_sum_p(ne_p(target, ignore_index), axes=per_example, keepdims=False)
    count = maximum_p(convert_element_type_p(kept, dtype=aval_of(total).dtype), 1)
    return where_p(eq_p(kept, 0), math.nan, total / count)


def _class_scatter_batch(values, batched, size, axis, classes, reduction, ignore_index):
    """Each example's values and targets at once, as one value per target (a mean's divided by each example's
    own count kept); per-example values of lower rank line up after the batch."""
    g, target = materialise_batch(values, batched, size)
    if reduction == "mean":
        g = g / _kept_count(target, ignore_index, tuple(range(1, aval_of(target).ndim)), aval_of(g).dtype)
    g = move_batch_rank(g, aval_of(g).ndim - 1, aval_of(target).ndim - 1, size)
    return class_scatter_p(g, target, axis=axis + 1, classes=classes, reduction="none", ignore_index=ignore_index)


softmax_p.batch = _along_axis_batch(softmax_p)
log_softmax_p.batch = _along_axis_batch(log_softmax_p)
nll_loss_p.batch = _nll_loss_batch
class_scatter_p.batch = _class_scatter_batch
