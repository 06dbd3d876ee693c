"""dualtape: automatic differentiation you can read.

`import dualtape as dt`; `import dualtape.numpy as dnp`. See SPEC.md for the public API.
"""

from . import numpy  # noqa: F401  (installs the array method set on tracers)
from .api import (
    Jitted,
    autograph_source,
    checkpoint,
    cond,
    custom_jvp,
    custom_vjp,
    fori_loop,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jit,
    jvp,
    linearize,
    scan,
    source,
    stop_gradient,
    trace,
    value_and_grad,
    vjp,
    vmap,
    while_loop,
)
from .config import config
from .core.ir import Program
from .errors import BackendError, ConcretizationError, EscapedTracerError, ShapeError

__version__ = "0.1.0"

__all__ = [
    "autograph_source", "BackendError", "checkpoint", "ConcretizationError", "cond", "config", "custom_jvp",
    "custom_vjp", "EscapedTracerError", "fori_loop", "grad", "hessian", "hvp", "jacfwd", "jacrev", "jit",
    "Jitted", "jvp", "linearize", "numpy", "Program", "scan", "ShapeError", "source", "stop_gradient", "trace",
    "value_and_grad", "vjp", "vmap", "while_loop",
]
