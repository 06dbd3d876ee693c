"""The neural section of the per-primitive table (merged into tests/primitive_cases.py's CASES): softmax and
log_softmax along one axis (0-d and size-0 operands included), nll_loss of class-index targets,
class_scatter (its cotangent: values put at the targets' classes) and binary_cross_entropy. A target
is an integer array of valid class indices, drawn with its layout and passed as a param (as getitem's index
arrays are), so the generic suites differentiate and batch the log-probabilities only; tests/ops/test_neural.py
batches targets too. The NumPy references are independent of the rows: computed in float64 (then cast to the
operand's dtype), nll_loss through a one-hot mask, class_scatter through np.put_along_axis, binary_cross_entropy
with log(1 - x) (the row takes log1p(-x))."""

from __future__ import annotations

import numpy as np
from hypothesis import note
from hypothesis import strategies as st

import dualtape as dt
from case import Case
from layouts import two
from dualtape.ops.losses import binary_cross_entropy_p
from dualtape.ops.neural import class_scatter_p, log_softmax_p, nll_loss_p, softmax_p
from strategies import FLOATS, SMALL, WIDE, Domain, arrays, broadcastable_shapes, operands, shapes

F32, F64, I32, I64 = (np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64))
REDUCTIONS = ("mean", "sum", "none")


# ---- NumPy references --------------------------------------------------------------------------------
def _shifted(x, axis):
    """x in float64 less its max along axis (a 0-d x is one element), and the axis NumPy reduces over."""
    wide = np.asarray(x).astype(np.float64)
    axis = axis if wide.ndim else None
    return wide - wide.max(axis=axis, keepdims=True), axis


def softmax_np(x, axis):
    """exp(x) / sum(exp(x)) along axis in float64, shifted by the max, in x's dtype; a 0-d x is one element."""
    x = np.asarray(x)
    if x.size == 0:
        return np.empty_like(x)
    shifted, axis = _shifted(x, axis)
    e = np.exp(shifted)
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


def log_softmax_np(x, axis):
    x = np.asarray(x)
    if x.size == 0:
        return np.empty_like(x)
    shifted, axis = _shifted(x, axis)
    return (shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))).astype(x.dtype)


def nll_loss_np(log_probs, target, axis, reduction, ignore_index=None):
    """-log_probs at the target classes (a one-hot mask along axis, summed; none for an ignored target), then
    the reduction (the mean over the targets not ignored)."""
    classes = np.arange(log_probs.shape[axis]).reshape((-1,) + (1,) * (log_probs.ndim - axis - 1))
    kept = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    one_hot = (np.expand_dims(target, axis) == classes) & np.expand_dims(kept, axis)
    losses = -np.where(one_hot, log_probs.astype(np.float64), 0.0).sum(axis)
    with np.errstate(invalid="ignore"):  # (the mean of no loss is NaN, as PyTorch's)
        out = {"none": losses, "sum": losses.sum(), "mean": losses.sum() / kept.sum()}[reduction]
    return np.asarray(out).astype(log_probs.dtype)


def class_scatter_np(g, target, axis, classes, reduction="none", ignore_index=None):
    """Zeros with g (broadcast to the targets' shape; for a mean, divided by the count of targets kept)
    written at each target's class by np.put_along_axis (a zero for an ignored target, written at class 0)."""
    g = np.asarray(g)
    out = np.zeros(target.shape[:axis] + (classes,) + target.shape[axis:], g.dtype)
    kept = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    if reduction == "mean":
        g = (g.astype(np.float64) / max(kept.sum(), 1)).astype(g.dtype)
    values = np.broadcast_to(g, target.shape)
    if ignore_index is not None:
        values, target = np.where(kept, values, 0).astype(g.dtype), np.where(kept, target, 0)
    np.put_along_axis(out, np.expand_dims(target, axis), np.expand_dims(values, axis), axis)
    return out


# ---- derivative layouts ------------------------------------------------------------------------------
@st.composite
def along_axis_layout(draw):
    """Any shape (0-d and size-0 included) and a normalised axis (0 for a 0-d operand)."""
    shape = draw(shapes())
    return (shape,), {"axis": draw(st.integers(0, max(len(shape), 1) - 1))}, None


@st.composite
def targets(draw, log_probs_shape, axis, dtype=I64):
    """Class indices in [0, classes) of the log-probabilities' shape without the class axis."""
    shape = log_probs_shape[:axis] + log_probs_shape[axis + 1:]
    classes = log_probs_shape[axis]
    return draw(arrays(dtype, shape, Domain(0, classes - 1)))


@st.composite
def ignoring(draw, target, classes, least=0):
    """(targets, ignore_index): none ignored (None), or some targets set to -100 or to a class, keeping at least
    `least` of them (a mean needs one)."""
    ignore_index = draw(st.sampled_from([None, -100, draw(st.integers(0, classes - 1))]))
    if ignore_index is None or not target.size:
        return target, ignore_index
    flat = target.reshape(-1).copy()
    chosen = draw(st.lists(st.integers(0, flat.size - 1), max_size=flat.size, unique=True))
    flat[chosen] = ignore_index
    if least and (flat != ignore_index).sum() < least:
        kept = next((c for c in range(classes) if c != ignore_index), None)
        if kept is None:  # (one class, and it is the one ignored: ignore none instead)
            return target, None
        flat[0] = kept
    return flat.reshape(target.shape), ignore_index


@st.composite
def nll_loss_layout(draw):
    """Log-probabilities of 1 to 3 dims, 1 to 4 classes along any axis, other sides 0 to 3 (1 to 3 for the
    mean: the mean of no loss is NaN, as PyTorch's); valid targets."""
    ndim = draw(st.integers(1, 3))
    axis = draw(st.integers(0, ndim - 1))
    reduction = draw(st.sampled_from(REDUCTIONS))
    least = 1 if reduction == "mean" else 0
    shape = tuple(draw(st.integers(1, 4)) if i == axis else draw(st.integers(least, 3)) for i in range(ndim))
    target = draw(targets(shape, axis, draw(st.sampled_from([I32, I64]))))
    target, ignore_index = draw(ignoring(target, shape[axis], least=int(reduction == "mean")))
    return (shape,), {"target": target, "axis": axis, "reduction": reduction, "ignore_index": ignore_index}, None


@st.composite
def class_scatter_layout(draw):
    """Targets of 0 to 2 dims (sides 0 to 3), the class axis anywhere in the result, 1 to 4 classes, each
    reduction; one value (0-d), or for "none" also one per target or per trailing position (broadcast over the
    leading ones)."""
    shape = draw(st.lists(st.integers(0, 3), max_size=2).map(tuple))
    axis = draw(st.integers(0, len(shape)))
    classes = draw(st.integers(1, 4))
    target = draw(arrays(draw(st.sampled_from([I32, I64])), shape, Domain(0, classes - 1)))
    target, ignore_index = draw(ignoring(target, classes))
    reduction = draw(st.sampled_from(REDUCTIONS))
    g_shape = draw(st.sampled_from([(), shape, shape[1:]])) if reduction == "none" else ()
    params = {"target": target, "axis": axis, "classes": classes, "reduction": reduction, "ignore_index": ignore_index}
    return (g_shape,), params, None


def binary_cross_entropy_np(x, y):
    """-(y log x + (1 - y) log(1 - x)) in float64, each log at least -100, in the operands' result dtype."""
    wide_x, wide_y = (np.asarray(v, dtype=np.float64) for v in (x, y))
    with np.errstate(divide="ignore"):
        logs = np.maximum(np.log(wide_x), -100.0), np.maximum(np.log(1.0 - wide_x), -100.0)
    return np.asarray(-(wide_y * logs[0] + (1.0 - wide_y) * logs[1])).astype(np.result_type(x, y))


# ---- NumPy agreement ---------------------------------------------------------------------------------
def along_axis_values(dt_fn, np_fn):
    """float32 and float64, 0-d and size-0 operands, wide values (the shift keeps exp finite), any axis,
    negative ones normalised by dt.softmax / dt.log_softmax."""

    @st.composite
    def case(draw):
        shape = draw(shapes())
        side = max(len(shape), 1)
        axis = draw(st.integers(-side, side - 1))
        note(f"axis={axis}")
        x = draw(arrays(draw(st.sampled_from([F32, F64])), shape, draw(st.sampled_from([SMALL, WIDE]))))
        return (lambda x: np_fn(x, axis % side)), (lambda x: dt_fn(x, axis)), (x,)

    return case()


@st.composite
def nll_loss_values(draw):
    """Log-probabilities of any values and floating dtype (empty batches included), int32 or int64 targets,
    each reduction."""
    ndim = draw(st.integers(1, 3))
    axis = draw(st.integers(0, ndim - 1))
    shape = tuple(draw(st.integers(1, 4)) if i == axis else draw(st.integers(0, 3)) for i in range(ndim))
    reduction = draw(st.sampled_from(REDUCTIONS))
    log_probs = draw(arrays(draw(st.sampled_from([F32, F64])), shape, WIDE))
    target = draw(targets(shape, axis, draw(st.sampled_from([I32, I64]))))
    target, ignore_index = draw(ignoring(target, shape[axis]))
    note(f"axis={axis} reduction={reduction} ignore_index={ignore_index}")
    return ((lambda lp, t: nll_loss_np(lp, t, axis, reduction, ignore_index)),
            (lambda lp, t: nll_loss_p(lp, t, axis=axis, reduction=reduction, ignore_index=ignore_index)),
            (log_probs, target))


@st.composite
def class_scatter_values(draw):
    """float32 and float64 values of any size, int32 or int64 targets, empty ones included."""
    (g_shape,), params, _ = draw(class_scatter_layout())
    g = draw(arrays(draw(st.sampled_from([F32, F64])), g_shape, WIDE))
    target = params.pop("target")
    note(str(params))
    return ((lambda g, t: class_scatter_np(g, t, **params)), (lambda g, t: class_scatter_p(g, t, **params)),
            (g, target))


@st.composite
def binary_cross_entropy_values(draw):
    """Probabilities in [0, 1] (0 and 1 themselves, where a log is clamped, included) and targets in [0, 1], of
    broadcasting shapes and float32 or float64 each."""
    x, y = draw(operands(draw(broadcastable_shapes(2)), FLOATS, (Domain(0.0, 1.0),), scalars=False))
    return binary_cross_entropy_np, binary_cross_entropy_p, (x, y)


NEURAL: dict[str, Case] = {
    "softmax": Case(lambda x, axis: softmax_p(x, axis=axis), softmax_np, along_axis_layout(), (SMALL,),
                    values=along_axis_values(dt.softmax, softmax_np)),
    "log_softmax": Case(lambda x, axis: log_softmax_p(x, axis=axis), log_softmax_np, along_axis_layout(), (SMALL,),
                        values=along_axis_values(dt.log_softmax, log_softmax_np)),
    "nll_loss": Case(lambda lp, target, axis, reduction, ignore_index:
                     nll_loss_p(lp, target, axis=axis, reduction=reduction, ignore_index=ignore_index),
                     nll_loss_np, nll_loss_layout(), values=nll_loss_values()),
    "class_scatter": Case(lambda g, target, **params: class_scatter_p(g, target, **params),
                          class_scatter_np, class_scatter_layout(), values=class_scatter_values()),
    # (derivatives away from 0 and 1, where PyTorch's floor on x (1 - x) makes its rule differ from the slope)
    "binary_cross_entropy": Case(binary_cross_entropy_p, binary_cross_entropy_np, two(),
                                 (Domain(0.0625, 0.9375), Domain(0.0, 1.0)), values=binary_cross_entropy_values()),
}
