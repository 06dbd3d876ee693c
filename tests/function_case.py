"""`FnCase`: one entry of the per-function table (tests/function_cases.py) for the dnp functions that are
compositions of primitives rather than primitives (flip, pad, split, diff, tensordot, ...). Each entry gives the
dnp function, the same maths in NumPy, and a hypothesis strategy drawing its float64 operands (smooth around the
drawn point, so finite differences are exact) and its static keyword arguments. tests/numpy/test_functions.py
checks every entry's values, its derivatives in both modes, vmap and the compiled form; the family sections live
in tests/functions_<family>.py, which import only this module."""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from hypothesis import strategies as st

from strategies import ANY, Domain, arrays


class FnCase(NamedTuple):
    fn: Callable  # dualtape: fn(*operands, **kwargs)
    ref: Callable  # NumPy: ref(*operands, **kwargs)
    draw: st.SearchStrategy  # -> (operands: tuple of arrays, kwargs: dict of static arguments)
    numpy: Callable | None = None  # NumPy's function, called on traced values (np.X dispatched to dnp.X)
    torch: Callable | None = None  # the same maths on torch tensors (oracle), where PyTorch has it
    differentiable: bool = True  # False: integer or boolean results (sort indices, predicates)
    vmap: bool = True  # vmap over a leading axis of every operand is checked
    rtol: float | None = None
    atol: float | None = None
    h: float | None = None

    def tolerances(self, *keys) -> dict:
        return {k: getattr(self, k) for k in keys or ("rtol", "atol", "h") if getattr(self, k) is not None}


@st.composite
def operands(draw, shape_list, domain: Domain = ANY, kwargs=None):
    """(operands, kwargs): float64 arrays of the given shapes drawn from domain, and kwargs drawn (a dict of
    strategies or plain values)."""
    xs = tuple(draw(arrays(np.dtype(np.float64), tuple(s), domain)) for s in shape_list)
    chosen = {k: draw(v) if isinstance(v, st.SearchStrategy) else v for k, v in (kwargs or {}).items()}
    return xs, chosen


def fixed(*shape_list, domain: Domain = ANY, **kwargs):
    """Operands of fixed shapes (values drawn) and kwargs (strategies drawn, plain values as they are)."""
    return operands(shape_list, domain, kwargs)
