"""`optim.SGD`: stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight
decay, with PyTorch's update:

    g = grad + weight_decay * p
    b = g on the first step, else momentum * b + (1 - dampening) * g        (with momentum)
    g = g + momentum * b (Nesterov) or b
    p = p - lr * g

The rule gives the step (-lr * g) and the caller adds it to p: in place into a NumPy parameter (one pass, no
temporary the size of p), or as p + step on tensors under dt.compile; either way the same addition, to the bit.
"""

from __future__ import annotations

from ..eager.factories import tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, group: dict) -> None:
        state = self.state[p]
        buf = state.get("momentum_buffer") if group["momentum"] != 0 else None
        tensors = (p, p.grad) if buf is None else (p, p.grad, buf)
        arrays = self._arrays(*tensors)
        if arrays is not None:  # (eager: the rule on the arrays, written back in place)
            step, new_buf = sgd_step(*arrays[:2], None if buf is None else arrays[2], group)
            if new_buf is not None and buf is None:
                state["momentum_buffer"] = tensor(new_buf)
            elif new_buf is not None:
                self._write([(buf, new_buf)])
            self._add_into(p, step)
            return
        step, new_buf = sgd_step(p, p.grad, buf, group)
        if new_buf is not None and buf is None:
            state["momentum_buffer"] = new_buf.detach().clone()
        elif new_buf is not None:
            buf.copy_(new_buf)
        p.copy_(p + step)


def sgd_step(p, g, buf, group: dict):
    """PyTorch's SGD update of p as (the step to add to p, the new momentum buffer or None), from the buffer
    (None before the first step), on NumPy arrays or on tensors alike."""
    if group["maximize"]:
        g = -g
    if group["weight_decay"] != 0:
        g = g + p * group["weight_decay"]
    momentum = group["momentum"]
    if momentum != 0:
        buf = g if buf is None else buf * momentum + g * (1 - group["dampening"])
        g = g + buf * momentum if group["nesterov"] else buf
    return g * -group["lr"], buf
