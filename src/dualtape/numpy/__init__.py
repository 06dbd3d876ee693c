"""`dualtape.numpy` (dnp): the NumPy-like namespace. Each function works on arrays (evaluates now), on
traced values (records equations) and on any other value kind bind() knows. softmax and logsumexp are
numerically stable compositions of primitives, not primitives."""

import numpy as _np
from numpy import (  # noqa: F401  constants, dtypes and array constructors come straight from NumPy
    arange,
    bool_,
    complex128,
    e,
    empty,
    eye,
    float16,
    float32,
    float64,
    full,
    inf,
    int8,
    int16,
    int32,
    int64,
    linspace,
    nan,
    newaxis,
    ones,
    pi,
    uint8,
    zeros,
)

from . import linalg  # noqa: F401  (dnp.linalg)
from . import methods as _methods  # noqa: F401  (installs the array method set on tracers)
from .contractions import dot, einsum, inner, matmul, outer, vdot  # noqa: F401
from .elementwise import ROW_FUNCTIONS as _ROW_FUNCTIONS
from .elementwise import (  # noqa: F401
    astype,
    clip,
    full_like,
    ones_like,
    positive,
    power,
    reciprocal,
    round,
    square,
    where,
    zeros_like,
)
from .norms import norm  # noqa: F401
from .reductions import (  # noqa: F401
    amax,
    amin,
    argmax,
    argmin,
    count_nonzero,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    softmax,
    std,
    sum,
    var,
)
from .shapes import (  # noqa: F401
    atleast_1d,
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    index_add,
    index_update,
    moveaxis,
    ravel,
    reshape,
    squeeze,
    stack,
    swapaxes,
    take_along_axis,
    transpose,
)

globals().update(_ROW_FUNCTIONS)  # sin, add, ...: one function per elementwise row that names one (its dnp face)


def asarray(x, dtype=None):
    """Traced values pass through (converted if dtype is given); anything else becomes a NumPy array."""
    if getattr(x, "_dt_trace", None) is not None:
        return x if dtype is None else astype(x, dtype)
    return _np.asarray(x, dtype=dtype)


array = asarray


def __getattr__(name: str):
    """A NumPy name dnp lacks: UnsupportedError naming it and the nearest supported alternative."""
    if name.startswith("__"):
        raise AttributeError(name)
    from .unsupported import public_names, unsupported

    raise unsupported(name, "dnp", public_names(globals()))
