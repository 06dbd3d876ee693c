"""`optim.Adam` with PyTorch's update (L2 weight decay added to the gradient, as torch.optim.Adam):

    t = t + 1;  g = grad + weight_decay * p
    m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
    p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The step count t is a float64 0-d tensor (as in PyTorch), and the bias corrections are tensor operations
on it, so no state value is read back into Python: a traced step stays valid for every t.
"""

from __future__ import annotations

import numpy as np

from ..eager.factories import tensor, zeros_like
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False)."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 *, maximize: bool = False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta} (betas must lie in [0, 1))")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, p) -> dict:
        """The state of p, created (step 0, zero moments) if it has none yet."""
        state = self.state[p]
        if not state:
            state["step"] = tensor(0.0, dtype=np.float64)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
        return state

    def _update(self, p, group: dict) -> None:
        beta1, beta2 = group["betas"]
        state = self.init_state(p)
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        g = -p.grad if group["maximize"] else p.grad
        step.add_(1)
        if group["weight_decay"] != 0:
            g = g + p * group["weight_decay"]
        exp_avg.add_(g - exp_avg, alpha=1 - beta1)  # (PyTorch's lerp_ towards g)
        exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step  # float64 0-d tensors, rounded to p's dtype where they meet p
        bias_correction2 = 1 - beta2 ** step
        step_size = (group["lr"] / bias_correction1).to(p.dtype)
        denom = exp_avg_sq.sqrt() / bias_correction2.sqrt().to(p.dtype) + group["eps"]
        p.addcdiv_(exp_avg, denom, value=-step_size)
