"""`optim.Adam` with PyTorch's update (L2 weight decay added to the gradient, as torch.optim.Adam):

    t = t + 1;  g = grad + weight_decay * p
    m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
    p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The step count t is a float64 0-d tensor (as in PyTorch), and the bias corrections are tensor operations
on it, so no state value is read back into Python: a traced step stays valid for every t.
"""

from __future__ import annotations

import numpy as np

from .. import numpy as dnp
from ..eager.factories import tensor, zeros_like
from .flat import FlatGroup, flat_arrays
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
        self._flat: dict = {}  # id(group) -> its FlatGroup (foreach-style state), made at its first step

    def init_state(self, p) -> dict:
        """The state of p, created (step 0, zero moments) if it has none yet."""
        state = self.state[p]
        if not state:
            state["step"] = tensor(0.0, dtype=np.float64)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
        return state

    def _update_group(self, group: dict) -> bool:
        """The group's update in one pass over flat buffers (foreach-style), when every parameter has a
        gradient and one floating dtype and the group's state is its own flat buffers (made here at the first
        step); else False, and each parameter is updated by itself."""
        params = group["params"]
        dtype = params[0]._array.dtype if params else None
        if len(params) < 2 or dtype is None or dtype.kind != "f" or not flat_arrays(params, dtype):
            return False
        flat = self._flat.get(id(group))
        if flat is None or flat.ids != tuple(map(id, params)):
            if any(self.state.get(p) for p in params):  # (state made per parameter, or loaded: stay so)
                return False
            flat = self._flat[id(group)] = FlatGroup(list(params), ("exp_avg", "exp_avg_sq"), dtype)
            for p, entry in zip(params, flat.tensors):
                self.state[p].update(entry)
        elif not flat.holds(self.state):
            return False
        flat.steps += 1
        for entry in flat.tensors:
            entry["step"]._version[0] += 1
        m, v = flat.buffers["exp_avg"], flat.buffers["exp_avg_sq"]
        step, new_m, new_v = adam_step(flat.gather([p._array for p in params]),
                                       flat.gather([p._grad._array for p in params]), m, v,
                                       flat.tensors[0]["step"]._array, group, np)
        m[...], v[...] = new_m, new_v
        for entry in flat.tensors:
            entry["exp_avg"]._version[0] += 1
            entry["exp_avg_sq"]._version[0] += 1
        flat.add_into(step, params)
        return True

    def _update(self, p, group: dict) -> None:
        state = self.init_state(p)
        tensors = (p, p.grad, state["exp_avg"], state["exp_avg_sq"], state["step"])
        arrays = self._arrays(*tensors)
        if arrays is not None:  # (eager: the rule on the arrays, written back in place)
            arrays[4] += 1
            state["step"]._version[0] += 1
            step, m, v = adam_step(*arrays, group, np)
            self._write(zip(tensors[2:4], (m, v)))
            self._add_into(p, step)
            return
        p, g, exp_avg, exp_avg_sq, step = tensors
        step.add_(1)
        update, m, v = adam_step(p, g, exp_avg, exp_avg_sq, step, group, dnp)
        exp_avg.copy_(m)
        exp_avg_sq.copy_(v)
        p.copy_(p + update)


def adam_step(p, g, exp_avg, exp_avg_sq, step, group: dict, xp):
    """PyTorch's Adam update of p: (the step to add to p, new exp_avg, new exp_avg_sq) for the step count `step`
    (already advanced), on NumPy arrays (xp: numpy) or on tensors (xp: dualtape.numpy) alike, to the bit."""
    beta1, beta2 = group["betas"]
    if group["maximize"]:
        g = -g
    if group["weight_decay"] != 0:
        g = g + p * group["weight_decay"]
    exp_avg = exp_avg + (g - exp_avg) * (1 - beta1)  # (PyTorch's lerp towards g)
    exp_avg_sq = exp_avg_sq * beta2 + g * (1 - beta2) * g
    bias_correction1 = 1 - xp.power(beta1, step)  # float64 0-d values, rounded to p's dtype where they meet p
    bias_correction2 = 1 - xp.power(beta2, step)
    step_size = xp.astype(xp.divide(group["lr"], bias_correction1), p.dtype)
    denom = xp.sqrt(exp_avg_sq) / xp.astype(xp.sqrt(bias_correction2), p.dtype) + group["eps"]
    return exp_avg * -step_size / denom, exp_avg, exp_avg_sq
