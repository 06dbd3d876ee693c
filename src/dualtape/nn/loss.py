"""Loss modules: MSELoss and CrossEntropyLoss (reduction 'mean', 'sum' or 'none'), over nn.functional."""

from __future__ import annotations

from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        F._check_reduction(reduction)
        self.reduction = reduction


class MSELoss(_Loss):
    """Mean squared error between input and target (same shapes)."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross entropy of logits against class indices (integer targets) or class probabilities (float
    targets); log-softmax is computed stably inside."""

    def forward(self, input, target):
        return F.cross_entropy(input, target, reduction=self.reduction)
