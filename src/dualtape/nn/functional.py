"""`nn.functional`: activations, linear and losses as functions of tensors. Everything is a composition of
Tensor operations (so it differentiates, and traces, like any other eager code). The class-index losses
(cross_entropy, nll_loss) live here; the elementwise ones in pointwise_losses, re-exported."""

from __future__ import annotations

import functools

import numpy as np

from ..avals import ShapedArray
from ..eager import functions as fn
from ..eager.factories import tensor
from ..eager.tensor import Tensor
from ..errors import ShapeError
from ..numpy import shapes as _sh
from ..ops.linalg import addmm_p
from ..ops.neural import nll_loss_p
from . import pointwise_losses as _pointwise
from .layer_functions import (  # noqa: F401 - re-exported: activations, dropout, layer_norm, embedding
    dropout, elu, embedding, gelu, hardtanh, layer_norm, leaky_relu, silu, softplus)
from .pointwise_losses import (  # noqa: F401 - re-exported: nn.functional holds every loss
    binary_cross_entropy, binary_cross_entropy_with_logits, huber_loss, l1_loss, mse_loss, smooth_l1_loss)

_check_reduction, _reduce = _pointwise.check_reduction, _pointwise.reduce


def relu(input):
    return fn.relu(input)


def tanh(input):
    return fn.tanh(input)


def sigmoid(input):
    return fn.sigmoid(input)


def softmax(input, dim: int):
    """exp(x) / sum(exp(x)) along dim, shifted by the max for stability."""
    return fn.softmax(input, dim)


def log_softmax(input, dim: int):
    """x - logsumexp(x) along dim, computed stably."""
    return fn.log_softmax(input, dim)


def linear(input, weight, bias=None):
    """input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ShapeError("linear", f"input of shape {input.shape} cannot be multiplied by the transpose of weight "
                         f"of shape {weight.shape}: the input's last dimension must be in_features = "
                         f"{weight.shape[-1]}", fix="reshape the input so its last dimension is in_features, or "
                         "build the layer with the input's feature size")
    return linear_product(input, weight, bias)


def linear_product(input, weight, bias):
    """input @ weight.T + bias as PyTorch records it, shapes already checked (by linear, or nn.Linear)."""
    if bias is not None and input.ndim == 2 and bias.ndim == 1:  # (PyTorch's addmm: one node, bias first)
        return addmm_p(bias, input, weight.t())
    out = fn.matmul(input, weight.t())
    return out if bias is None else out + bias


def _check_class_range(op: str, target, classes: int, ignore_index: int = -100):
    """Class indices must lie in [0, classes), or equal ignore_index (checked when the values are at hand: not
    while tracing, nor on a GPU). One reduction checks both ends: as unsigned integers of their width, negative
    indices are the largest. Returns whether some target equals ignore_index; None where the values are not read."""
    data = target._array
    if not isinstance(data, np.ndarray):
        return None
    if not data.size:
        return False
    unsigned = data.view(data.dtype.str.replace("i", "u")) if data.dtype.kind == "i" else data
    if unsigned.max() < classes:  # (all in range: only an ignore_index in range can be hit)
        return 0 <= ignore_index < classes and bool((data == ignore_index).any())
    ignored = data == ignore_index
    kept = data[~ignored]
    if kept.size and not (0 <= kept.min() and kept.max() < classes):
        low, high = kept.min(), kept.max()
        raise IndexError(f"{op}: target {low if low < 0 else high} is out of bounds for {classes} "
                         f"classes (class indices run from 0 to {classes - 1}; ignore_index is {ignore_index})")
    return True


def _class_dim(op: str, input) -> int:
    """Where the classes are: dim 1 of (N, C, d1, ...), dim 0 of a single sample (C,)."""
    if input.ndim == 0:
        raise ShapeError(op, "input is 0-d; it needs a class dimension: (C,), (N, C) or (N, C, d1, ...)")
    return 1 if input.ndim >= 2 else 0


def _class_weight(op: str, weight, input, classes: int):
    """A rescaling weight per class: a 1-d tensor of `classes` values of the input's dtype."""
    if isinstance(weight, str):
        raise TypeError(f"{op}: weight must be a tensor of one value per class, got the string {weight!r}; pass "
                        f"the reduction by name: {op}(input, target, reduction={weight!r})")
    weight = weight if isinstance(weight, Tensor) else tensor(weight, dtype=input.dtype)
    if weight.ndim != 1 or weight.shape[0] != classes:
        raise ShapeError(op, f"weight should hold one value for each of the {classes} classes, got a weight of "
                         f"shape {tuple(weight.shape)} (input of shape {tuple(input.shape)})",
                         fix=f"pass a 1-d tensor of {classes} values, or weight=None")
    if weight.dtype != input.dtype:
        raise TypeError(f"{op}: weight has dtype {weight.dtype} but the input has dtype {input.dtype}; convert "
                        f"one (e.g. weight.to(input.dtype))")
    return weight


def _nll(op: str, log_probs, target, class_dim: int, reduction: str, weight=None, ignore_index: int = -100):
    """The negative log-likelihood of class-index targets. Without class weights, nll_loss_p: one
    NllLossBackward0 node, once the row's own shape and dtype rules and the indices' range are checked (eager
    mode runs the row's evaluator without its rules), masking targets equal to ignore_index where some are (or
    may be: under tracing and on a GPU the targets are not read). With class weights, a composition."""
    _check_nll_avals(log_probs.shape, log_probs.dtype, target.shape, target.dtype, class_dim, reduction)
    hit = _check_class_range(op, target, log_probs.shape[class_dim], ignore_index)
    if weight is None:
        return nll_loss_p(log_probs, target, axis=class_dim, reduction=reduction,
                          ignore_index=None if hit is False else int(ignore_index))
    return _weighted_nll(log_probs, target, class_dim, reduction, weight, ignore_index)


@functools.lru_cache(maxsize=64)
def _check_nll_avals(shape, dtype, target_shape, target_dtype, class_dim: int, reduction: str) -> None:
    """The nll_loss row's shape and dtype rules, once per layout (a training loop meets the same few): only a
    layout that passed is remembered, so a bad one raises every time."""
    avals = (ShapedArray(tuple(shape), dtype), ShapedArray(tuple(target_shape), target_dtype))
    nll_loss_p.shape_rule(*avals, axis=class_dim, reduction=reduction, ignore_index=None)
    nll_loss_p.dtype_rule(*avals, axis=class_dim, reduction=reduction, ignore_index=None)


def _target_weights(log_probs, target, weight, ignore_index):
    """(kept, safe, w): where the target is not ignored, the targets with ignored ones read as class 0, and
    each target's weight (its class weight, or 1; 0 where ignored)."""
    kept = target != ignore_index
    safe = fn.where(kept, target, 0)
    w = kept.astype(log_probs.dtype) if weight is None else fn.where(kept, weight[safe], 0)
    return kept, safe, w


def _weighted_total(losses, w, reduction: str):
    """'none': the losses; 'sum': their sum; 'mean': their sum over the summed target weights (PyTorch's
    weighted mean: nan when every target is ignored)."""
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    weights = w.sum()  # (all ignored: 0, and nan = 0/0 as PyTorch, without NumPy's warnings forward or back)
    return total / fn.where(weights == 0, np.nan, weights)


def _weighted_nll(log_probs, target, class_dim: int, reduction: str, weight, ignore_index: int):
    """-w[t] log_probs[t] per target for class weights w, 0 where t == ignore_index, and PyTorch's weighted
    mean: a composition of Tensor operations (several nodes where PyTorch records one NllLossBackward0)."""
    kept, safe, w = _target_weights(log_probs, target, weight, ignore_index)
    picked = _sh.take_along_axis(log_probs, fn.unsqueeze(safe, class_dim), class_dim).squeeze(class_dim)
    losses = fn.where(kept, -picked * w, 0)
    return _weighted_total(losses, w, reduction)


def _check_label_smoothing(label_smoothing: float) -> None:
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")


def _smoothed(log_probs, target, class_dim: int, reduction: str, weight, ignore_index: int, label_smoothing):
    """Label smoothing of class-index targets as PyTorch: (1 - ε) nll + ε/C times the (weighted) sum of -log p
    over all classes, with the nll's weighted mean and 0 where a target is ignored."""
    classes = log_probs.shape[class_dim]
    nll = _nll("cross_entropy", log_probs, target, class_dim, reduction, weight, ignore_index)
    kept, _, w = _target_weights(log_probs, target, weight, ignore_index)
    spread = log_probs if weight is None else log_probs * _along(weight, class_dim, log_probs.ndim)
    smooth = _weighted_total(fn.where(kept, -spread.sum(class_dim), 0), w, reduction)
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / classes)


def _along(weight, class_dim: int, ndim: int):
    """A per-class weight shaped to broadcast along the class dimension of an ndim-d input."""
    return weight.reshape((-1,) + (1,) * (ndim - class_dim - 1))


def _soft_cross_entropy(log_probs, target, class_dim: int, reduction: str, weight, label_smoothing):
    """Cross entropy against class probabilities, as PyTorch: targets smoothed toward uniform, weights per
    class, and the mean over samples (not over weights), whatever the weights."""
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / log_probs.shape[class_dim]
    product = log_probs * target
    if weight is not None:
        product = product * _along(weight, class_dim, log_probs.ndim)
    return _reduce(-product.sum(class_dim), reduction)


def cross_entropy(input, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Cross entropy between logits `input` ((C,), (N, C) or (N, C, d1, ...), classes in dim 1, or dim 0
    for a single sample) and `target`: class indices (an integer tensor of the input's shape without the
    class dimension) or class probabilities (a float tensor of the input's shape). `weight` rescales each
    class; targets equal to `ignore_index` count for nothing (class indices only); `label_smoothing` ε mixes
    the targets with the uniform distribution. The mean is PyTorch's: over the summed weights of the
    non-ignored targets for class indices, over the samples for probabilities."""
    _check_reduction(reduction)
    if label_smoothing:
        _check_label_smoothing(label_smoothing)
    target = target if isinstance(target, Tensor) else tensor(target)
    class_dim = _class_dim("cross_entropy", input)
    if weight is not None:
        weight = _class_weight("cross_entropy", weight, input, input.shape[class_dim])
    log_probs = fn.log_softmax(input, class_dim)
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            expected = input.shape[:class_dim] + input.shape[class_dim + 1:]
            raise ShapeError("cross_entropy", f"float targets are class probabilities and must have the input's "
                             f"shape {input.shape}, got {target.shape}",
                             fix=f"for class indices pass an integer tensor of shape {expected} "
                             "(e.g. target.to(np.int64))")
        if ignore_index >= 0:
            raise ValueError(f"cross_entropy: ignore_index ({ignore_index}) is not supported for class-probability "
                             "(float) targets; give an ignored sample all-zero probabilities instead, or pass "
                             "class indices")
        if weight is None and not label_smoothing:
            return _reduce(-(log_probs * target).sum(class_dim), reduction)
        return _soft_cross_entropy(log_probs, target, class_dim, reduction, weight, label_smoothing)
    if target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be class indices (an integer tensor) or class probabilities "
                        f"(a float tensor), got dtype {target.dtype}")
    if label_smoothing:
        return _smoothed(log_probs, target, class_dim, reduction, weight, ignore_index, label_smoothing)
    return _nll("cross_entropy", log_probs, target, class_dim, reduction, weight, ignore_index)


def nll_loss(input, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean"):
    """The negative log-likelihood of class-index targets: -weight[t] input[t] at each target's class t (0 where
    t == ignore_index), their weighted mean (or sum, or each), with `input` log-probabilities ((C,), (N, C) or
    (N, C, d1, ...), classes in dim 1, or dim 0 for a single sample), such as log_softmax gives; `target` an
    integer tensor of the input's shape without the class dimension."""
    _check_reduction(reduction)
    target = target if isinstance(target, Tensor) else tensor(target)
    class_dim = _class_dim("nll_loss", input)
    if weight is not None:
        weight = _class_weight("nll_loss", weight, input, input.shape[class_dim])
    return _nll("nll_loss", input, target, class_dim, reduction, weight, ignore_index)
