"""Helpers shared by the dnp namespace: argument preparation and static-value checks."""

from __future__ import annotations

import operator

import numpy as np

from .._util import user_source_line
from ..avals import aval_of
from ..core.trace import bind  # noqa: F401  (re-exported for the namespace modules)
from ..errors import ShapeError


def arr(x):
    """Lists and tuples become NumPy arrays; arrays, scalars and traced values pass through."""
    if type(x) in (list, tuple):
        return np.asarray(x)
    return x


def ndim(x) -> int:
    return len(aval_of(x).shape)


def shape(x) -> tuple:
    return aval_of(x).shape


def dtype(x):
    return aval_of(x).dtype


def static_int(v, what: str):
    """A concrete Python int (or None); a traced value here raises the concretization error."""
    return None if v is None else operator.index(v)


def shape_error(op: str, message: str, fix: str | None = None) -> ShapeError:
    """A ShapeError found by a dnp function itself (not a primitive's rule), located at the user's line too."""
    return ShapeError(op, message, user_source_line(), fix)
