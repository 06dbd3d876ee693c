"""Primitives over sub-programs, and the user functions that make them.

Structured control flow (`cond`, `while_loop`, `fori_loop`, `scan`: flow.py) and the controls of
differentiation (`checkpoint`, `custom_jvp`, `custom_vjp`, `stop_gradient`: checkpoint.py, custom.py). Each
primitive is declared in one module with all its rules (cond.py, loops.py, tape_walk.py, scan.py,
checkpoint.py, custom_rules.py), over what they share: tracing sub-programs (trace.py), the two kinds of
primitive (primitive.py), statement emission (statements.py), tapes (tape.py), the adjoint plan of a loop
body (plan.py) and vmap of sub-programs (vmap.py). Its rules are transforms of sub-programs, so the package
sits above `transforms`; codegen writes its primitives through their `emit_statements` and `inline_param`
without importing it.
"""

from .checkpoint import checkpoint
from .custom import custom_jvp, custom_vjp, stop_gradient
from .flow import cond, fori_loop, scan, while_loop

__all__ = ["checkpoint", "cond", "custom_jvp", "custom_vjp", "fori_loop", "scan", "stop_gradient", "while_loop"]
