"""`dnp.linalg`: NumPy's linear-algebra namespace on every value kind. Each function differentiates in both
modes; the decompositions are primitives (ops/linalg_*.py), the rest compositions of them."""

from __future__ import annotations

from .contractions import matmul, vecdot  # noqa: F401
from .norms import norm, vector_norm  # noqa: F401
from .unsupported import public_names, unsupported


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(name, "dnp.linalg", public_names(globals()))
