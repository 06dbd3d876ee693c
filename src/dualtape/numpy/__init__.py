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

from . import methods as _methods  # noqa: F401  (installs the array method set on tracers)
from .elementwise import (  # noqa: F401
    abs,
    absolute,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    astype,
    ceil,
    clip,
    cos,
    cosh,
    divide,
    equal,
    exp,
    exp2,
    expm1,
    floor,
    floor_divide,
    full_like,
    greater,
    greater_equal,
    isfinite,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    ones_like,
    positive,
    power,
    reciprocal,
    relu,
    remainder,
    round,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    true_divide,
    where,
    zeros_like,
)
from .linalg import dot, einsum, inner, linalg, matmul, norm, outer, vdot  # noqa: F401
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
    moveaxis,
    ravel,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
)


def asarray(x, dtype=None):
    """Traced values pass through (converted if dtype is given); anything else becomes a NumPy array."""
    if getattr(x, "_dt_trace", None) is not None:
        return x if dtype is None else astype(x, dtype)
    return _np.asarray(x, dtype=dtype)


array = asarray
