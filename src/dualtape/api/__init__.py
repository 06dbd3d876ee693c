"""The functional API: staging (jit, trace, source), forward mode and vectorisation (jvp, linearize, jacfwd,
vmap), reverse mode (grad, value_and_grad, vjp, jacrev, hessian, hvp). Outputs are NumPy arrays or Python scalars, never tracers."""

from .forward import jacfwd, jvp, linearize, vmap
from .reverse import grad, hessian, hvp, jacrev, value_and_grad, vjp
from .staging import Jitted, jit, source, trace, trace_program

__all__ = [
    "Jitted", "grad", "hessian", "hvp", "jacfwd", "jacrev", "jit", "jvp", "linearize", "source", "trace",
    "trace_program", "value_and_grad", "vjp", "vmap",
]
