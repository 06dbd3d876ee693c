"""The functional API: staging (jit, trace, source), forward mode and vectorisation (jvp, linearize, jacfwd,
vmap). Outputs are NumPy arrays or Python scalars, never tracers."""

from .forward import jacfwd, jvp, linearize, vmap
from .staging import Jitted, jit, source, trace, trace_program

__all__ = ["Jitted", "jacfwd", "jit", "jvp", "linearize", "source", "trace", "trace_program", "vmap"]
