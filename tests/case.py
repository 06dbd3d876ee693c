"""`Case`: one entry of the per-primitive table (tests/primitive_cases.py), and drawing its operands. The
table's sections live in primitive_cases.py and, for the larger families, in tests/cases_<family>.py files,
which import only this module."""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from hypothesis import strategies as st

from layouts import F64
from strategies import ANY, arrays


class Case(NamedTuple):
    fn: Callable  # dualtape: fn(*operands, **params)
    ref: Callable  # NumPy: ref(*operands, **params)
    layout: st.SearchStrategy | None = None  # -> (operand shapes, params, operand dtypes or None for float64)
    domains: tuple = (ANY,)  # derivatives: per operand (the last one repeats)
    post: tuple = ()  # derivatives: per operand, a map applied after drawing (None: none)
    rtol: float | None = None  # overrides for the finite-difference comparison
    atol: float | None = None
    h: float | None = None
    operator: Callable | None = None  # the Python-operator spelling (the derivative suites differentiate it)
    values: st.SearchStrategy | None = None  # -> (NumPy function, dualtape function, operands)
    value_domains: tuple = ()  # elementwise: the operands' domains and dtypes for NumPy agreement
    dtypes: tuple = ()
    examples: tuple | None = None  # (fn, [operand tuples]) where there is no layout

    def tolerances(self, *keys) -> dict:
        """The finite-difference overrides this entry sets, of rtol, atol and h (or of `keys` only)."""
        return {k: getattr(self, k) for k in keys or ("rtol", "atol", "h") if getattr(self, k) is not None}

    def call(self, params: dict) -> Callable:
        """The function the derivative, vmap and emitted-code suites run: the operator spelling if any."""
        fn = self.operator or self.fn
        return lambda *xs: fn(*xs, **params)


def _at(seq, i, default=None):
    return seq[min(i, len(seq) - 1)] if seq else default


@st.composite
def operand(draw, case: Case, i: int, shape, dtype=F64):
    x = draw(arrays(dtype, tuple(shape), _at(case.domains, i, ANY)))
    post = _at(case.post, i)
    return x if post is None else np.asarray(post(x), dtype)


def draw_args(draw, case: Case, shape_list, dtypes=None) -> tuple:
    return tuple(draw(operand(case, i, s, (dtypes or [F64] * len(shape_list))[i])) for i, s in enumerate(shape_list))
