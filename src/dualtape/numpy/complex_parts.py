"""dnp's functions of complex numbers' parts: real, imag, conjugate (conj), angle, isreal, iscomplex,
real_if_close. On complex traced values they bind the complex-parts rows (ops/complex_parts.py, whose
derivatives follow JAX's convention); on real ones they are what NumPy gives a real array (itself, zeros, 0 or
pi), with no op recorded; on arrays they are NumPy's."""

from __future__ import annotations

import math

import numpy as np

from .._util import user_source_line
from ..avals import aval_of
from ..errors import ConcretizationError
from ..ops import complex_parts as cp
from . import elementwise as ew
from ._base import arr, bind


def _traced(x) -> bool:
    return getattr(x, "_dt_trace", None) is not None


def _complex(x) -> bool:
    return aval_of(x).dtype.kind == "c"


def real(val):
    """The real part (a real array itself)."""
    val = arr(val)
    if not _traced(val):
        return np.real(val)
    return bind(cp.real_p, val) if _complex(val) else val


def imag(val):
    """The imaginary part (zeros for a real array: a constant, not depending on val's values)."""
    val = arr(val)
    if not _traced(val):
        return np.imag(val)
    return bind(cp.imag_p, val) if _complex(val) else ew.zeros_like(val)


def conjugate(x):
    """The complex conjugate (a real array itself)."""
    x = arr(x)
    if not _traced(x):
        return np.conjugate(x)
    return bind(cp.conj_p, x) if _complex(x) else x


conj = conjugate


def angle(z, deg=False):
    """The argument of z, arctan2(imag, real), in radians (degrees with deg); of a real array 0 or pi."""
    z = arr(z)
    if not _traced(z):
        return np.angle(z, deg)
    if _complex(z):
        out = ew.arctan2(imag(z), real(z))
    else:  # (NumPy's: pi where negative, piecewise constant)
        out = ew.where(ew.less(z, 0), math.pi, 0.0)
        out = ew.astype(out, np.result_type(aval_of(z).dtype, np.float16))
    return ew.multiply(out, 180 / math.pi) if deg else out


def isreal(x):
    """True where x's imaginary part is zero (everywhere for a real array, a constant)."""
    x = arr(x)
    if not _traced(x):
        return np.isreal(x)
    return ew.equal(imag(x), 0) if _complex(x) else ew.ones_like(x, dtype=np.bool_)


def iscomplex(x):
    """True where x's imaginary part is not zero (nowhere for a real array, a constant)."""
    x = arr(x)
    if not _traced(x):
        return np.iscomplex(x)
    return ew.not_equal(imag(x), 0) if _complex(x) else ew.zeros_like(x, dtype=np.bool_)


def real_if_close(a, tol=100):
    """a's real part if every imaginary part is within tol machine epsilons of zero, else a. Its dtype depends on
    the values, so a traced complex value cannot be decided (a real one is returned as it is)."""
    a = arr(a)
    if not _traced(a):
        return np.real_if_close(a, tol)
    if not _complex(a):
        return a
    raise ConcretizationError("choice of dtype (real_if_close)", aval_of(a), user_source_line(),
                              "call dnp.real(a) where the imaginary parts are known to be zero, or decide outside "
                              "the traced function")
