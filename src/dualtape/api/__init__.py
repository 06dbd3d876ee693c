"""The functional API: staging (jit, trace, source), forward mode and vectorisation (jvp, linearize, jacfwd,
vmap), reverse mode (grad, value_and_grad, vjp, jacrev, hessian, hvp) and its controls (stop_gradient,
checkpoint, custom_jvp, custom_vjp), and control flow (cond, while_loop, fori_loop, scan); the last two
groups come from control/ (checkpoint through reverse.py, which converts its function with autograph).
Outputs are NumPy arrays or Python scalars, never tracers."""

from ..autograph import autograph_source
from ..control import cond, custom_jvp, custom_vjp, fori_loop, scan, stop_gradient, while_loop
from .forward import jacfwd, jvp, linearize, vmap
from .reverse import checkpoint, grad, hessian, hvp, jacrev, value_and_grad, vjp
from .staging import Jitted, jit, source, trace, trace_program

__all__ = [
    "autograph_source", "checkpoint", "cond", "custom_jvp", "custom_vjp", "fori_loop", "grad", "hessian", "hvp",
    "jacfwd", "jacrev", "jit", "Jitted", "jvp", "linearize", "scan", "source", "stop_gradient", "trace",
    "trace_program", "value_and_grad", "vjp", "vmap", "while_loop",
]
