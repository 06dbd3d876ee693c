"""dualtape: automatic differentiation you can read.

`import dualtape as dt`; `import dualtape.numpy as dnp`. The documentation, the contract of the public API, is
in the repository's docs/ folder: start at docs/index.md (https://github.com/dualtape/dualtape/tree/main/docs).
"""

from . import (
    autograd,  # noqa: F401
    nn,  # noqa: F401
    numpy,  # noqa: F401  (installs the array method set on tracers)
    optim,  # noqa: F401
    parallel,  # noqa: F401  (dt.parallel: sharded gradients on Dask, imported when first used)
    viz,  # noqa: F401
)
from .api import (
    Jitted,
    autograph_source,
    checkpoint,
    cond,
    custom_jvp,
    custom_vjp,
    fori_loop,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jit,
    jvp,
    linearize,
    scan,
    source,
    stop_gradient,
    trace,
    value_and_grad,
    vjp,
    vmap,
    while_loop,
)
from .compile import compile  # noqa: A004 - dt.compile (SPEC §2)
from .config import config
from .core.ir import Program
from .eager import (  # (fft, linalg, special: dt.fft, dt.linalg and dt.special, torch.fft's, torch.linalg's, ...)
    Function,
    Generator,
    Tensor,
    arange,
    as_tensor,
    device,
    empty,
    enable_grad,
    eye,
    fft,
    from_numpy,
    full,
    full_like,
    get_printoptions,
    inference_mode,
    is_grad_enabled,
    linalg,
    linspace,
    manual_seed,
    no_grad,
    normal,
    ones,
    ones_like,
    printoptions,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    set_grad_enabled,
    set_printoptions,
    special,
    tensor,
    zeros,
    zeros_like,
)
from .eager.dtypes import (  # PyTorch's dtype names (dt.float32, dt.long, ...) for NumPy's dtypes
    bool,  # noqa: A004
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    float,  # noqa: A004
    float16,
    float32,
    float64,
    half,
    int,  # noqa: A004
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .eager.functions import (
    abs,
    add,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    cos,
    div,
    dot,
    exp,
    expm1,
    flatten,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    neg,
    norm,
    permute,
    pow,
    prod,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tan,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .eager.torch_functions import (  # torch's functions (einsum, outer: torch's forms)
    argsort,
    bmm,
    cholesky,
    chunk,
    cross,
    cumprod,
    cumsum,
    det,
    diag,
    diagonal,
    diff,
    einsum,
    flip,
    fliplr,
    flipud,
    frac,
    gather,
    index_add,
    index_select,
    inner,
    inverse,
    isinf,
    isnan,
    kron,
    kthvalue,
    lerp,
    logdet,
    logit,
    masked_select,
    matrix_power,
    median,
    movedim,
    mv,
    nan_to_num,
    narrow,
    outer,
    polygamma,
    reciprocal,
    repeat_interleave,
    roll,
    rot90,
    row_method_functions,
    rsqrt,
    scatter,
    scatter_add,
    select,
    slogdet,
    sort,
    split,
    take_along_dim,
    tensor_split,
    tensordot,
    tile,
    topk,
    tril,
    triu,
    trunc,
    unbind,
    xlogy,
)
from .errors import BackendError, ConcretizationError, EscapedTracerError, ShapeError, UnsupportedError


def __getattr__(name: str):
    """dt.bfloat16: ml_dtypes' bfloat16, imported on first use (ml_dtypes is an optional dependency)."""
    if name == "bfloat16":
        from .eager import dtypes

        return dtypes.bfloat16
    raise AttributeError(f"module 'dualtape' has no attribute {name!r}")


# mixed precision (docs/precision.md): the policy, eager autocast and dt.amp (GradScaler); dt.bfloat16 above
from . import amp  # noqa: E402, F401
from .api.precision import Precision  # noqa: E402
from .eager.autocast import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "abs", "add", "amax", "amin", "amp", "arange", "argmax", "argmin", "argsort", "autocast", "autograd",
    "autograph_source", "get_autocast_dtype", "is_autocast_enabled", "Precision",
    "BackendError", "bool", "cat", "cdouble", "cfloat", "checkpoint", "cholesky", "chunk", "clamp", "clip",
    "compile", "complex128", "complex64", "ConcretizationError", "cond", "config", "cos", "cross", "cumprod",
    "cumsum", "custom_jvp", "custom_vjp", "det", "device", "diag", "diagonal", "diff", "div", "dot",
    "double", "einsum", "enable_grad", "EscapedTracerError", "exp", "expm1", "eye", "fft", "flatten", "flip",
    "fliplr", "flipud", "float", "float16", "float32", "float64", "fori_loop", "full", "Function", "grad", "half",
    "hessian", "hvp", "inference_mode", "inner", "int", "int16", "int32", "int64", "int8", "inverse",
    "is_grad_enabled", "jacfwd", "jacrev", "jit", "Jitted", "jvp", "kron", "linalg", "linearize",
    "linspace", "log", "log1p", "log_softmax", "logdet", "logit", "logsumexp", "long", "manual_seed", "matmul",
    "matrix_power", "max", "maximum", "mean", "min", "minimum", "mm", "movedim", "mul", "nan_to_num", "narrow",
    "neg", "nn", "no_grad", "norm", "numpy", "ones", "ones_like", "optim", "outer", "permute", "polygamma", "pow",
    "prod", "Program", "rand", "randn", "relu", "repeat_interleave", "reshape", "roll", "rot90", "scan",
    "set_grad_enabled", "ShapeError", "short", "sigmoid", "sign", "sin", "slogdet", "softmax", "sort",
    "source", "special", "split", "sqrt", "square", "squeeze", "stack", "std", "stop_gradient", "sub", "sum", "tan",
    "tanh", "Tensor", "tensor", "tensor_split", "tensordot", "tile", "trace", "transpose", "tril", "triu", "uint16",
    "uint32", "uint64", "uint8", "unbind", "unsqueeze", "UnsupportedError", "value_and_grad", "var", "viz", "vjp",
    "vmap", "where", "while_loop", "xlogy", "zeros", "zeros_like",
    "as_tensor", "empty", "from_numpy", "full_like", "Generator", "get_printoptions", "normal", "printoptions",
    "rand_like", "randint", "randn_like", "set_printoptions",
    "bmm", "gather", "index_select", "isinf", "isnan", "lerp", "masked_select", "mv", "reciprocal", "rsqrt", "select",
    "take_along_dim", "topk", "median", "kthvalue", "scatter_add", "scatter", "index_add", "trunc", "frac",
]

# torch's function form of every row's method that no module above spells its own way (dt.asin, dt.gt, dt.erf, ...),
# read from the rows' `method` faces
_ROW_FUNCTIONS = row_method_functions(globals())
globals().update(_ROW_FUNCTIONS)
__all__ += sorted(_ROW_FUNCTIONS)
del row_method_functions
