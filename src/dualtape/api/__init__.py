"""The functional API: staging (jit, trace, source), forward mode and vectorisation (jvp, linearize, jacfwd,
vmap), reverse mode (grad, value_and_grad, vjp, jacrev, hessian, hvp) and its controls (stop_gradient,
checkpoint, custom_jvp, custom_vjp). Outputs are NumPy arrays or Python scalars, never tracers."""

from .custom import checkpoint, custom_jvp, custom_vjp, stop_gradient
from .forward import jacfwd, jvp, linearize, vmap
from .reverse import grad, hessian, hvp, jacrev, value_and_grad, vjp
from .staging import Jitted, jit, source, trace, trace_program

__all__ = [
    "Jitted", "checkpoint", "custom_jvp", "custom_vjp", "grad", "hessian", "hvp", "jacfwd", "jacrev", "jit",
    "jvp", "linearize", "source", "stop_gradient", "trace", "trace_program", "value_and_grad", "vjp", "vmap",
]
