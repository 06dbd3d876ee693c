"""dualtape: automatic differentiation you can read.

`import dualtape as dt`; `import dualtape.numpy as dnp`. See SPEC.md for the public API.
"""

from . import numpy  # noqa: F401  (installs the array method set on tracers)
from .api import (
    Jitted,
    checkpoint,
    custom_jvp,
    custom_vjp,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jit,
    jvp,
    linearize,
    source,
    stop_gradient,
    trace,
    value_and_grad,
    vjp,
    vmap,
)
from .config import config
from .core.ir import Program
from .errors import BackendError, ConcretizationError, EscapedTracerError, ShapeError

__version__ = "0.1.0"

__all__ = [
    "BackendError", "ConcretizationError", "EscapedTracerError", "Jitted", "Program", "ShapeError",
    "checkpoint", "config", "custom_jvp", "custom_vjp", "grad", "hessian", "hvp", "jacfwd", "jacrev", "jit",
    "jvp", "linearize", "numpy", "source", "stop_gradient", "trace", "value_and_grad", "vjp", "vmap",
]
