"""`nn.functional`: activations, linear and losses as functions of tensors. Everything is a composition of
Tensor operations (so it differentiates, and traces, like any other eager code); shape checks read only
static shapes."""

from __future__ import annotations

import warnings

import numpy as np

from .. import numpy as dnp
from ..eager import functions as fn
from ..eager.composite import one_node
from ..eager.factories import arange, tensor
from ..eager.tensor import Tensor
from ..errors import ShapeError
from ..ops.linalg import addmm_p

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


def _check_class_range(target, classes: int) -> None:
    """Class indices must lie in [0, classes) (checked when the values are at hand: not while tracing)."""
    data = target._array
    if isinstance(data, np.ndarray) and data.size:
        low, high = data.min(), data.max()
        if low < 0 or high >= classes:
            raise IndexError(f"cross_entropy: target {low if low < 0 else high} is out of bounds for {classes} "
                             f"classes (class indices run from 0 to {classes - 1})")


def cross_entropy(input, target, reduction: str = "mean"):
    """Cross entropy between logits `input` ((C,), (N, C) or (N, C, d1, ...), classes in dim 1, or dim 0
    for a single sample) and `target`: class indices (an integer tensor of the input's shape without the
    class dimension) or class probabilities (a float tensor of the input's shape)."""
    _check_reduction(reduction)
    target = target if isinstance(target, Tensor) else tensor(target)
    if input.ndim == 0:
        raise ShapeError("cross_entropy", "input is 0-d; it needs a class dimension: (C,), (N, C) or (N, C, d1, ...)")
    class_dim = 1 if input.ndim >= 2 else 0
    classes = input.shape[class_dim]
    expected = input.shape[:class_dim] + input.shape[class_dim + 1:]
    log_probs = fn.log_softmax(input, class_dim)
    if np.issubdtype(target.dtype, np.floating):
        if target.shape != input.shape:
            raise ShapeError("cross_entropy", f"float targets are class probabilities and must have the input's "
                             f"shape {input.shape}, got {target.shape}",
                             fix=f"for class indices pass an integer tensor of shape {expected} "
                             "(e.g. target.to(np.int64))")
        return _reduce(-(log_probs * target).sum(class_dim), reduction)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"cross_entropy: targets must be class indices (an integer tensor) or class probabilities "
                        f"(a float tensor), got dtype {target.dtype}")
    if target.shape != expected:
        raise ShapeError("cross_entropy", f"input of shape {input.shape} ({classes} classes in dim {class_dim}) "
                         f"needs class-index targets of shape {expected}, got {target.shape}",
                         fix="give one class index per sample (drop a trailing dimension of size 1, or use argmax "
                         "of one-hot targets)")
    _check_class_range(target, classes)
    class_ids = arange(classes, device=input.device).reshape((classes,) + (1,) * (input.ndim - class_dim - 1))
    return one_node("NllLossBackward0", _nll_loss, [log_probs, target, class_ids], class_dim, reduction)


def _nll_loss(log_probs, target, class_ids, class_dim: int, reduction: str):
    """The negative log-likelihood of the target classes (one node in the graph, as PyTorch's NllLoss)."""
    picked = dnp.where(dnp.expand_dims(target, class_dim) == class_ids, log_probs, 0.0).sum(class_dim)
    losses = -picked
    return losses.mean() if reduction == "mean" else losses.sum() if reduction == "sum" else losses
