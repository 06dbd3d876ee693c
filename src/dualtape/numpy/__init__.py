"""`dualtape.numpy` (dnp): the NumPy-like namespace. Each function works on arrays (evaluates now), on
traced values (records equations) and on any other value kind bind() knows. softmax and logsumexp are
numerically stable compositions of primitives, not primitives."""

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
    nan,
    newaxis,
    ones,
    pi,
    uint8,
    zeros,
)

from . import fft, linalg, special  # noqa: F401  (dnp.fft, dnp.linalg, dnp.special)
from . import methods as _methods  # noqa: F401  (installs the array method set on tracers)
from .arrange import flip, fliplr, flipud, repeat, roll, rollaxis, rot90, tile  # noqa: F401
from .complex_parts import angle, conj, conjugate, imag, iscomplex, isreal, real, real_if_close  # noqa: F401
from .contractions import (  # noqa: F401
    concat,
    cross,
    dot,
    einsum,
    inner,
    kron,
    matmul,
    matrix_transpose,
    matvec,
    outer,
    permute_dims,
    tensordot,
    vdot,
    vecdot,
    vecmat,
)
from .creation import array, asanyarray, asarray, ascontiguousarray  # noqa: F401
from .diagonals import (  # noqa: F401
    diag,
    diag_indices,
    diag_indices_from,
    diagflat,
    diagonal,
    trace,
    tri,
    tril,
    tril_indices,
    tril_indices_from,
    triu,
    triu_indices,
    triu_indices_from,
)
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
from .joins import (  # noqa: F401
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    c_,
    column_stack,
    dsplit,
    dstack,
    hsplit,
    hstack,
    r_,
    row_stack,
    split,
    vsplit,
    vstack,
)
from .norms import norm  # noqa: F401
from .padding import pad  # noqa: F401
from .predicates import (  # noqa: F401
    all,
    allclose,
    any,
    array_equal,
    array_equiv,
    can_cast,
    copy,
    empty_like,
    isclose,
    iscomplexobj,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isrealobj,
    isscalar,
    ndim,
    result_type,
    shape,
    size,
)
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
from .scans import (  # noqa: F401
    argpartition,
    argsort,
    cumprod,
    cumsum,
    cumulative_prod,
    cumulative_sum,
    diff,
    ediff1d,
    gradient,
    linspace,
    nan_to_num,
    partition,
    searchsorted,
    select,
    sort,
)
from .shapes import (  # noqa: F401
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


def __getattr__(name: str):
    """A NumPy name dnp lacks: UnsupportedError naming it and the nearest supported alternative."""
    if name.startswith("__"):
        raise AttributeError(name)
    from .unsupported import public_names, unsupported

    raise unsupported(name, "dnp", public_names(globals()))
