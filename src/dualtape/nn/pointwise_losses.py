"""The losses computed element by element, then reduced ('mean', 'sum' or 'none'): squared and absolute error,
smooth L1 and Huber, binary cross entropy on probabilities and on logits. Each is a composition of Tensor
operations (it differentiates and traces like any eager code), with PyTorch's values, defaults and checks;
nn.functional re-exports them. Where PyTorch records one node (MseLossBackward0, ...) these record a few."""

from __future__ import annotations

import warnings

import numpy as np

from ..avals import broadcast_shapes
from ..eager import functions as fn
from ..eager.factories import tensor
from ..eager.tensor import Tensor
from ..errors import ShapeError
from ..ops.losses import binary_cross_entropy_p

_REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: use 'mean', 'sum' or 'none'")


def reduce(losses, reduction: str):
    """The losses themselves ('none'), their sum or their mean (reduction already checked)."""
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _as_tensor(value, like):
    """value as a tensor (a number or an array becomes one of like's dtype)."""
    return value if isinstance(value, Tensor) else tensor(value, dtype=like.dtype)


def _warn_if_broadcast(input, target) -> None:
    """PyTorch's warning for a target of another shape than the input: it broadcasts, which is rarely meant."""
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size {tuple(target.shape)} that is different to the input size "
                      f"{tuple(input.shape)}. This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=4)


def _difference(input, target, reduction: str):
    """input - target for the regression losses, once the reduction is checked and a broadcast warned of."""
    check_reduction(reduction)
    target = _as_tensor(target, input)
    _warn_if_broadcast(input, target)
    return input - target


def mse_loss(input, target, reduction: str = "mean"):
    """The mean (or sum, or elementwise) squared error. Targets of another shape broadcast, with PyTorch's
    warning, since that is rarely what was meant."""
    return reduce(fn.square(_difference(input, target, reduction)), reduction)


def l1_loss(input, target, reduction: str = "mean"):
    """The mean (or sum, or elementwise) absolute error |input - target| (gradient sign(input - target): 0 at a
    tie, as PyTorch). Targets of another shape broadcast, with PyTorch's warning."""
    return reduce(fn.abs(_difference(input, target, reduction)), reduction)


def smooth_l1_loss(input, target, *, reduction: str = "mean", beta: float = 1.0):
    """0.5 d² / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta = 0 is l1_loss."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}; beta=0 gives l1_loss")
    d = fn.abs(_difference(input, target, reduction))
    if beta == 0:
        return reduce(d, reduction)
    return reduce(fn.where(d < beta, 0.5 * fn.square(d) / beta, d - 0.5 * beta), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """0.5 d² where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target): smooth_l1_loss times delta."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = fn.abs(_difference(input, target, reduction))
    return reduce(fn.where(d < delta, 0.5 * fn.square(d), delta * (d - 0.5 * delta)), reduction)


def _same_shape_target(op: str, input, target):
    """The target of a binary cross entropy: PyTorch refuses one of another shape than the input (no broadcast)."""
    target = _as_tensor(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(op, f"target of shape {tuple(target.shape)} is not the input's shape {tuple(input.shape)}",
                         fix="give one target per input element (reshape the target, e.g. target.view(input.shape))")
    return target


def _broadcast_weight(op: str, name: str, weight, input):
    """A weight (or pos_weight) that broadcasts to the input's shape without growing it, as PyTorch expands it."""
    if isinstance(weight, str):
        raise TypeError(f"{op}: {name} must be a tensor, got the string {weight!r}; pass the reduction by name: "
                        f"{op}(input, target, reduction={weight!r})")
    weight = _as_tensor(weight, input)
    try:
        fits = broadcast_shapes(op, tuple(weight.shape), tuple(input.shape)) == tuple(input.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(op, f"{name} of shape {tuple(weight.shape)} does not broadcast to the input's shape "
                         f"{tuple(input.shape)}", fix=f"give {name} the input's shape or one that broadcasts to it "
                         "(e.g. one value per class in the last dimension)")
    return weight


def binary_cross_entropy(input, target, weight=None, *, reduction: str = "mean"):
    """-(t log x + (1 - t) log(1 - x)) (times weight) for probabilities x in [0, 1], each log clamped at -100,
    with PyTorch's backward, (x - t) / max(x (1 - x), 1e-12): one BinaryCrossEntropyBackward0 node
    (ops/losses.py)."""
    check_reduction(reduction)
    target = _same_shape_target("binary_cross_entropy", input, target)
    data = input._array
    if isinstance(data, np.ndarray) and data.size and not ((data >= 0) & (data <= 1)).all():
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 and 1, got values from "
                         f"{data.min()} to {data.max()}; for logits use binary_cross_entropy_with_logits "
                         "(or apply sigmoid first)")
    losses = binary_cross_entropy_p(input, target)
    if weight is not None:
        losses = losses * _broadcast_weight("binary_cross_entropy", "weight", weight, input)
    return reduce(losses, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction: str = "mean", pos_weight=None):
    """Binary cross entropy of sigmoid(input), computed stably from the logits: (1 - t) x - w_p log σ(x), with
    w_p = 1 + (pos_weight - 1) t (pos_weight scales the positive term; it broadcasts, e.g. one per class in the
    last dimension), and log σ(x) = -logaddexp(0, -x), exact for huge |x|."""
    check_reduction(reduction)
    op = "binary_cross_entropy_with_logits"
    target = _same_shape_target(op, input, target)
    log_sigmoid = -(-input).logaddexp(0.0)
    if pos_weight is not None:
        log_sigmoid = log_sigmoid * ((_broadcast_weight(op, "pos_weight", pos_weight, input) - 1) * target + 1)
    losses = (1 - target) * input - log_sigmoid
    if weight is not None:
        losses = losses * _broadcast_weight(op, "weight", weight, input)
    return reduce(losses, reduction)
