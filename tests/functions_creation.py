"""Per-function cases (tests/function_case.py) for arrays built from lists and tuples holding traced values
(dnp.array, dnp.asarray, and dnp functions given such lists), and for the predicates and queries of
dnp/predicates.py that are compositions. NumPy's own np.array / np.mean of a list cannot see traced values (no
`numpy=` there: tests/numpy/test_creation.py checks that they are refused with a clear error)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import dualtape.numpy as dnp
from function_case import FnCase, fixed
from strategies import NONFINITE, arrays


def _torch():
    import torch

    return torch


def _stack(*xs):
    return _torch().stack(list(xs))


@st.composite
def _near_pairs(draw, shape=(3, 2)):
    """(a, b) with some elements of b equal, close (within a few rtol), far or non-finite, and kwargs."""
    a = draw(arrays(np.dtype(np.float64), shape, NONFINITE))
    how = draw(arrays(np.dtype(np.int64), shape).map(lambda k: np.abs(k) % 4))
    with np.errstate(all="ignore"):
        b = np.select([how == 0, how == 1, how == 2], [a, a * (1 + 3e-6), a + 1.0], np.nan)
    kwargs = {"rtol": draw(st.sampled_from([1e-5, 1e-7])), "atol": draw(st.sampled_from([1e-8, 0.0, 1e-3])),
              "equal_nan": draw(st.booleans())}
    return (a, b), kwargs


SECTION = {
    # ---- arrays from lists and tuples holding traced values ----
    "array_of_traced_scalars": FnCase(
        lambda x, y: dnp.array([[x, 1.0], [0.0, 2 * y]]), lambda x, y: np.array([[x, 1.0], [0.0, 2 * y]]),
        fixed((), ()),
        torch=lambda x, y: _stack(_stack(x, x * 0 + 1), _stack(y * 0, 2 * y))),
    "array_of_vectors": FnCase(
        lambda x, y: dnp.array([x, y * y, np.ones(3)]), lambda x, y: np.array([x, y * y, np.ones(3)]),
        fixed((3,), (3,)),
        torch=lambda x, y: _stack(x, y * y, _torch().ones(3, dtype=x.dtype))),
    "asarray_of_mixed_depths": FnCase(
        lambda x, y: dnp.asarray([[x, [1.0, y[0]]], [np.zeros(2), y]]),
        lambda x, y: np.asarray([[x, [1.0, y[0]]], [np.zeros(2), y]]),
        fixed((2,), (2,)),
        torch=lambda x, y: _stack(_stack(x, _stack(y[0] * 0 + 1, y[0])), _stack(y * 0, y))),
    "mean_of_a_list": FnCase(
        lambda x, y: dnp.mean([x, y], axis=0), lambda x, y: np.mean([x, y], axis=0), fixed((2, 3), (2, 3)),
        torch=lambda x, y: _stack(x, y).mean(0)),
    "sum_of_a_tuple": FnCase(
        lambda x, y: dnp.sum((x, 3 * y)), lambda x, y: np.sum((x, 3 * y)), fixed((), ()),
        torch=lambda x, y: _stack(x, 3 * y).sum()),
    "stack_of_traced_and_plain": FnCase(
        lambda x: dnp.stack([x, np.ones(3)], axis=1), lambda x: np.stack([x, np.ones(3)], axis=1), fixed((3,)),
        numpy=lambda x: np.stack([x, np.ones(3)], axis=1),
        torch=lambda x: _stack(x, _torch().ones(3, dtype=x.dtype)).T),
    # ---- predicates (boolean results) ----
    "isclose": FnCase(dnp.isclose, np.isclose, _near_pairs(), numpy=np.isclose, differentiable=False),
    "isnan": FnCase(dnp.isnan, np.isnan, fixed((2, 3), domain=NONFINITE), numpy=np.isnan, differentiable=False),
    "isinf": FnCase(dnp.isinf, np.isinf, fixed((2, 3), domain=NONFINITE), numpy=np.isinf, differentiable=False),
    "isposinf": FnCase(dnp.isposinf, np.isposinf, fixed((4,), domain=NONFINITE), numpy=np.isposinf,
                       differentiable=False),
    "isneginf": FnCase(dnp.isneginf, np.isneginf, fixed((4,), domain=NONFINITE), numpy=np.isneginf,
                       differentiable=False),
    "all": FnCase(lambda x, **kw: dnp.all(x > 0, **kw), lambda x, **kw: np.all(x > 0, **kw),
                  fixed((3, 2), axis=st.sampled_from([None, 0, 1, (0, 1)]), keepdims=st.booleans()),
                  numpy=lambda x, **kw: np.all(x > 0, **kw), differentiable=False),
    "any": FnCase(lambda x, **kw: dnp.any(x > 1, **kw), lambda x, **kw: np.any(x > 1, **kw),
                  fixed((3, 2), axis=st.sampled_from([None, 0, -1]), keepdims=st.booleans()),
                  numpy=lambda x, **kw: np.any(x > 1, **kw), differentiable=False),
    # ---- parts and copies of real arrays ----
    "real": FnCase(dnp.real, np.real, fixed((2, 3)), numpy=np.real, torch=lambda x: _torch().real(x)),
    "conjugate": FnCase(dnp.conjugate, np.conjugate, fixed((2, 3)), numpy=np.conjugate,
                        torch=lambda x: _torch().conj(x).resolve_conj()),
    "copy": FnCase(dnp.copy, np.copy, fixed((2, 3)), numpy=np.copy, torch=lambda x: x.clone()),
}
