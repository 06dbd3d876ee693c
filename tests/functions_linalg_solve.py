"""dnp.linalg's solves and factorisations as functions (tests/numpy/test_functions.py runs each entry): the
compositions (matrix_power; the NumPy 2 broadcasting and vector rules of solve and solve_triangular) and every
primitive's dnp function, each with PyTorch's function as the gradient oracle. Each function shifts its drawn
operand by a multiple of the identity inside, so that any draw (vmap's resized ones too) is well conditioned."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import dualtape.numpy as dnp
from cases_linalg import solve_triangular_np
from function_case import FnCase
from strategies import UNIT, arrays, shapes

F64 = np.dtype(np.float64)


def _torch():
    import torch

    return torch


# ---- well-conditioned matrices, in any of the three namespaces ---------------------------------------------
def _eye(a):
    n = a.shape[-1]
    if type(a).__module__.startswith("torch"):
        return _torch().eye(n, dtype=a.dtype)
    return np.eye(n)


def _mT(a):
    if type(a).__module__.startswith("torch"):
        return a.mT
    return np.swapaxes(a, -1, -2)  # (np.swapaxes on a traced value is dnp.swapaxes)


def _spd(a):
    return a @ _mT(a) + a.shape[-1] * _eye(a)


def _dominant(a, shift=1):
    """Entries of a in [-1, 1], so a + shift (n + 1) I is strictly diagonally dominant, det's sign that of
    shift ** n."""
    return a + shift * (a.shape[-1] + 1) * _eye(a)


def _near_identity(a):
    """(a + (n + 1) I) / (n + 1): eigenvalues between 1 / (n + 1) and 2, so its powers stay moderate."""
    return _dominant(a) / (a.shape[-1] + 1)


# ---- draws ---------------------------------------------------------------------------------------------------
@st.composite
def square(draw, **kwargs):
    """((a,), kwargs): a stack (up to one batch axis) of n x n matrices, entries in [-1, 1]."""
    batch, n = draw(shapes(max_dims=1, min_side=1, max_side=3)), draw(st.integers(1, 4))
    a = draw(arrays(F64, batch + (n, n), UNIT))
    return (a,), {k: draw(v) for k, v in kwargs.items()}


@st.composite
def system(draw, **kwargs):
    """((a, b), kwargs): a (..., n, n) and b a vector (n,) or a stack (..., n, k) of a's rank whose batch
    broadcasts with a's."""
    batch, n = draw(shapes(max_dims=1, min_side=1, max_side=3)), draw(st.integers(1, 4))
    a = draw(arrays(F64, batch + (n, n), UNIT))
    if draw(st.booleans()):
        b_shape = (n,)
    else:
        b_batch = tuple(1 if draw(st.booleans()) else d for d in batch)
        b_shape = b_batch + (n, draw(st.integers(1, 3)))
    b = draw(arrays(F64, b_shape, UNIT))
    return (a, b), {k: draw(v) for k, v in kwargs.items()}


# ---- the functions, in dnp, NumPy (and NumPy's names on traced values) and PyTorch -------------------------
def _solve_triangular_torch(a, b, trans, lower, unit_diagonal):
    a = _dominant(a)
    if trans in (1, 2, "T", "C"):
        a, lower = a.mH if trans in (2, "C") else a.mT, not lower
    column = b.ndim == 1
    x = _torch().linalg.solve_triangular(a, b[:, None] if column else b, upper=not lower,
                                         unitriangular=unit_diagonal)
    return x[..., 0] if column else x


TRIANGULAR = dict(trans=st.sampled_from([0, 1, 2, "N", "T", "C"]), lower=st.booleans(),
                  unit_diagonal=st.booleans())
SIGNS = st.sampled_from([-1, 1])

SECTION: dict[str, FnCase] = {
    "linalg.cholesky": FnCase(
        lambda a, upper: dnp.linalg.cholesky(_spd(a), upper=upper),
        lambda a, upper: np.linalg.cholesky(_spd(a), upper=upper), square(upper=st.booleans()),
        numpy=lambda a, upper: np.linalg.cholesky(_spd(a), upper=upper),
        torch=lambda a, upper: _torch().linalg.cholesky(_spd(a), upper=upper)),
    "linalg.solve": FnCase(
        lambda a, b: dnp.linalg.solve(_dominant(a), b), lambda a, b: np.linalg.solve(_dominant(a), b), system(),
        numpy=lambda a, b: np.linalg.solve(_dominant(a), b),
        torch=lambda a, b: _torch().linalg.solve(_dominant(a), b)),
    "linalg.solve_triangular": FnCase(
        lambda a, b, **kw: dnp.linalg.solve_triangular(_dominant(a), b, **kw),
        lambda a, b, **kw: solve_triangular_np(_dominant(a), b, **kw), system(**TRIANGULAR),
        torch=_solve_triangular_torch),
    "linalg.inv": FnCase(
        lambda a: dnp.linalg.inv(_dominant(a)), lambda a: np.linalg.inv(_dominant(a)), square(),
        numpy=lambda a: np.linalg.inv(_dominant(a)), torch=lambda a: _torch().linalg.inv(_dominant(a))),
    "linalg.det": FnCase(
        lambda a, shift: dnp.linalg.det(_dominant(a, shift)), lambda a, shift: np.linalg.det(_dominant(a, shift)),
        square(shift=SIGNS), numpy=lambda a, shift: np.linalg.det(_dominant(a, shift)),
        torch=lambda a, shift: _torch().linalg.det(_dominant(a, shift))),
    "linalg.slogdet": FnCase(
        lambda a, shift: dnp.linalg.slogdet(_dominant(a, shift)),
        lambda a, shift: np.linalg.slogdet(_dominant(a, shift)), square(shift=SIGNS),
        numpy=lambda a, shift: np.linalg.slogdet(_dominant(a, shift)),
        torch=lambda a, shift: tuple(_torch().linalg.slogdet(_dominant(a, shift)))),
    "linalg.matrix_power": FnCase(
        lambda a, n: dnp.linalg.matrix_power(_near_identity(a), n),
        lambda a, n: np.linalg.matrix_power(_near_identity(a), n), square(n=st.integers(-4, 6)),
        numpy=lambda a, n: np.linalg.matrix_power(_near_identity(a), n),
        torch=lambda a, n: _torch().linalg.matrix_power(_near_identity(a), n)),
}
