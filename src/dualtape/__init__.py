"""dualtape: automatic differentiation you can read.

`import dualtape as dt`; `import dualtape.numpy as dnp`. See SPEC.md for the public API.
"""

from . import (
    autograd,  # noqa: F401
    nn,  # noqa: F401
    numpy,  # noqa: F401  (installs the array method set on tracers)
    optim,  # noqa: F401
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
from .eager import (
    Function,
    Tensor,
    arange,
    device,
    enable_grad,
    eye,
    full,
    inference_mode,
    is_grad_enabled,
    linspace,
    manual_seed,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    set_grad_enabled,
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
    einsum,
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
    outer,
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
from .errors import BackendError, ConcretizationError, EscapedTracerError, ShapeError, UnsupportedError

__version__ = "0.1.0"

__all__ = [
    "abs", "arange", "autograd", "autograph_source", "BackendError", "cat", "checkpoint", "clamp", "compile",
    "ConcretizationError", "cond", "config", "cos", "custom_jvp", "custom_vjp", "device", "dot", "einsum",
    "enable_grad", "EscapedTracerError", "exp", "expm1", "eye", "fori_loop", "full", "Function", "grad", "hessian",
    "hvp",
    "inference_mode", "is_grad_enabled", "jacfwd", "jacrev", "jit", "Jitted", "jvp", "linearize", "linspace", "log",
    "log1p", "log_softmax", "logsumexp", "manual_seed", "matmul", "maximum", "mean", "minimum", "mm", "neg", "nn",
    "no_grad", "norm", "numpy", "ones", "ones_like", "optim", "outer", "pow", "prod", "Program", "rand", "randn",
    "relu", "reshape", "scan", "set_grad_enabled", "ShapeError", "sigmoid", "sign", "sin", "softmax", "source",
    "sqrt", "square", "stack", "stop_gradient", "sum", "tan", "tanh", "tensor", "Tensor", "trace", "transpose",
    "UnsupportedError", "value_and_grad", "viz", "vjp", "vmap", "where", "while_loop", "zeros", "zeros_like",
    "add", "amax", "amin", "argmax", "argmin", "clip", "div", "flatten", "max", "min", "mul", "permute", "squeeze",
    "std", "sub", "unsqueeze", "var",
    "bool", "cdouble", "cfloat", "complex64", "complex128", "double", "float", "float16", "float32", "float64", "half",
    "int", "int8", "int16", "int32", "int64", "long", "short", "uint8", "uint16", "uint32", "uint64",
]
