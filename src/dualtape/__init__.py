"""dualtape: automatic differentiation you can read.

`import dualtape as dt`; `import dualtape.numpy as dnp`. See SPEC.md for the public API.
"""

from . import numpy  # noqa: F401  (installs the array method set on tracers)
from .api import (
    Jitted, grad, hessian, hvp, jacfwd, jacrev, jit, jvp, linearize, source, trace, value_and_grad, vjp, vmap,
)
from .config import config
from .core.ir import Program
from .errors import BackendError, ConcretizationError, EscapedTracerError, ShapeError

__version__ = "0.1.0"

__all__ = [
    "BackendError", "ConcretizationError", "EscapedTracerError", "Jitted", "Program", "ShapeError", "config",
    "grad", "hessian", "hvp", "jacfwd", "jacrev", "jit", "jvp", "linearize", "numpy", "source", "trace",
    "value_and_grad", "vjp", "vmap",
]
