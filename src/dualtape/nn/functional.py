"""`nn.functional`: activations, linear and losses as functions of tensors. Everything is a composition of
Tensor operations (so it differentiates, and traces, like any other eager code); shape checks read only
static shapes."""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ..avals import ShapedArray
from ..eager import functions as fn
from ..eager.factories import tensor
from ..eager.tensor import Tensor
from ..errors import ShapeError
from ..ops.linalg import addmm_p
from ..ops.neural import nll_loss_p

_REDUCTIONS = ("none", "mean", "sum")


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


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: use 'mean', 'sum' or 'none'")


def _reduce(losses, reduction: str):
    _check_reduction(reduction)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def mse_loss(input, target, reduction: str = "mean"):
    """The mean (or sum, or elementwise) squared error. Targets of another shape broadcast, with PyTorch's
    warning, since that is rarely what was meant."""
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size {tuple(target.shape)} that is different to the input size "
                      f"{tuple(input.shape)}. This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=2)
    return _reduce(fn.square(input - target), reduction)


def _check_class_range(op: str, target, classes: int) -> None:
    """Class indices must lie in [0, classes) (checked when the values are at hand: not while tracing). One
    reduction checks both ends: as unsigned integers of their width, negative indices are the largest."""
    data = target._array
    if isinstance(data, np.ndarray) and data.size:
        if data.dtype.kind == "i":
            data = data.view(data.dtype.str.replace("i", "u"))
        if data.max() >= classes:
            data = target._array
            low, high = data.min(), data.max()
            raise IndexError(f"{op}: target {low if low < 0 else high} is out of bounds for {classes} "
                             f"classes (class indices run from 0 to {classes - 1})")


def _class_dim(op: str, input) -> int:
    """Where the classes are: dim 1 of (N, C, d1, ...), dim 0 of a single sample (C,)."""
    if input.ndim == 0:
        raise ShapeError(op, "input is 0-d; it needs a class dimension: (C,), (N, C) or (N, C, d1, ...)")
    return 1 if input.ndim >= 2 else 0


def _nll(op: str, log_probs, target, class_dim: int, reduction: str):
    """nll_loss_p of class-index targets (one NllLossBackward0 node), once the row's own shape and dtype rules
    and the indices' range are checked (eager mode runs the row's evaluator without its rules)."""
    _check_nll_avals(log_probs.shape, log_probs.dtype, target.shape, target.dtype, class_dim, reduction)
    _check_class_range(op, target, log_probs.shape[class_dim])
    return nll_loss_p(log_probs, target, axis=class_dim, reduction=reduction)


@functools.lru_cache(maxsize=64)
def _check_nll_avals(shape, dtype, target_shape, target_dtype, class_dim: int, reduction: str) -> None:
    """The nll_loss row's shape and dtype rules, once per layout (a training loop meets the same few): only a
    layout that passed is remembered, so a bad one raises every time."""
    avals = (ShapedArray(tuple(shape), dtype), ShapedArray(tuple(target_shape), target_dtype))
    nll_loss_p.shape_rule(*avals, axis=class_dim, reduction=reduction)
    nll_loss_p.dtype_rule(*avals, axis=class_dim, reduction=reduction)


def cross_entropy(input, target, reduction: str = "mean"):
    """Cross entropy between logits `input` ((C,), (N, C) or (N, C, d1, ...), classes in dim 1, or dim 0
    for a single sample) and `target`: class indices (an integer tensor of the input's shape without the
    class dimension) or class probabilities (a float tensor of the input's shape)."""
    _check_reduction(reduction)
    target = target if isinstance(target, Tensor) else tensor(target)
    class_dim = _class_dim("cross_entropy", input)
    log_probs = fn.log_softmax(input, class_dim)
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            expected = input.shape[:class_dim] + input.shape[class_dim + 1:]
            raise ShapeError("cross_entropy", f"float targets are class probabilities and must have the input's "
                             f"shape {input.shape}, got {target.shape}",
                             fix=f"for class indices pass an integer tensor of shape {expected} "
                             "(e.g. target.to(np.int64))")
        return _reduce(-(log_probs * target).sum(class_dim), reduction)
    if target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be class indices (an integer tensor) or class probabilities "
                        f"(a float tensor), got dtype {target.dtype}")
    return _nll("cross_entropy", log_probs, target, class_dim, reduction)


def nll_loss(input, target, *, reduction: str = "mean"):
    """The negative log-likelihood of class-index targets: -input at each target's class, their mean (or sum,
    or each), with `input` log-probabilities ((C,), (N, C) or (N, C, d1, ...), classes in dim 1, or dim 0 for
    a single sample), such as log_softmax gives; `target` an integer tensor of the input's shape without the
    class dimension. (PyTorch's class weights and ignore_index are not supported.)"""
    _check_reduction(reduction)
    target = target if isinstance(target, Tensor) else tensor(target)
    return _nll("nll_loss", input, target, _class_dim("nll_loss", input), reduction)
