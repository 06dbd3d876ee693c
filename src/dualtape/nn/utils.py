"""`nn.utils`: `clip_grad_norm_` rescales gradients so their joint norm is at most max_norm, written with
tensor operations only (no Python test on a tensor value), so a traced training step can include it; and
`zero_grads`, what Module.zero_grad and Optimizer.zero_grad both do."""

from __future__ import annotations

from ..eager import functions as fn
from ..eager.factories import tensor
from ..eager.grad_mode import no_grad
from ..eager.tensor import Tensor


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False):
    """Multiply every .grad in place by min(1, max_norm / (total_norm + 1e-6)), where total_norm is the
    norm_type-norm of all gradients together; returns total_norm (a Tensor). `error_if_nonfinite=True` reads
    the norm's value (so it cannot be traced) and raises if it is nan or inf."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return tensor(0.0)
    with no_grad():
        total_norm = fn.stack([g.norm(norm_type) for g in grads]).norm(norm_type)
        if error_if_nonfinite and not abs(float(total_norm)) < float("inf"):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                               "so it cannot be clipped. To disable this error and scale the gradients by the "
                               "non-finite norm anyway, set `error_if_nonfinite=False`")
        clip_coef_clamped = fn.clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(clip_coef_clamped if clip_coef_clamped.dtype == g.dtype else clip_coef_clamped.to(g.dtype))
    return total_norm


def zero_grads(parameters, set_to_none: bool = True) -> None:
    """Reset each parameter's .grad: to None, or to zeros in place (detached from any graph first)."""
    for p in parameters:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if p.grad.grad_fn is not None:
            p.grad.detach_()
        else:
            p.grad.requires_grad_(False)
        p.grad.zero_()
