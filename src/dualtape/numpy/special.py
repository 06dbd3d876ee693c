"""`dnp.special`: SciPy's special functions under scipy.special's names and signatures, on every value kind
(SciPy itself is not needed). erf, erfc, gammaln, digamma and polygamma are primitives (ops/special.py), expit
is the sigmoid row; logit, xlogy, xlog1py, logsumexp, softmax and log_softmax are compositions of primitives."""

import operator as _operator

import numpy as _np

from ..ops import special as _special
from ..ops.elementwise import stop_gradient_p as _stop_gradient_p
from . import elementwise as _ew
from . import reductions as _red
from . import shapes as _sh
from ._base import arr as _arr
from ._base import bind as _bind
from ._base import shape as _shape
from .elementwise import digamma, erf, erfc, gammaln  # noqa: F401  (the rows' functions)
from .elementwise import sigmoid as expit  # noqa: F401
from .unsupported import public_names as _public_names
from .unsupported import unsupported as _unsupported

psi = digamma  # (SciPy's other name for it)


def polygamma(n, x):
    """psi^(n)(x), the n-th derivative of digamma, for a static integer order n >= 0 (n = 0 is digamma)."""
    try:
        order = _operator.index(n)
    except TypeError:
        raise TypeError(f"dnp.special.polygamma: the order n must be a Python int (it is static: each order is "
                        f"its own function), got {type(n).__name__}; pass an int, e.g. polygamma(1, x)") from None
    if order < 0:
        raise ValueError(f"dnp.special.polygamma: the order n must be >= 0, got {order}; polygamma(0, x) is "
                         "digamma(x), polygamma(1, x) its derivative")
    return digamma(x) if order == 0 else _bind(_special.polygamma_p, _arr(x), n=order)


def logit(p):
    """log(p / (1 - p)), the inverse of expit: -inf at 0, inf at 1, NaN outside [0, 1] (as SciPy)."""
    p = _arr(p)
    return _ew.log(_ew.divide(p, _ew.subtract(1, p)))


def _x_times(log, x, y, neutral):
    """x * log(y), and 0 where x == 0 (unless y is NaN), as SciPy's xlogy; log never sees y where x == 0
    (it sees `neutral`, whose log is 0), so no inf or NaN reaches a derivative there (the double-where trick)."""
    x, y = _arr(x), _arr(y)
    zero = _ew.logical_and(_ew.equal(x, 0), _ew.equal(y, y))
    return _ew.where(zero, 0, _ew.multiply(x, log(_ew.where(zero, neutral, y))))


def xlogy(x, y):
    """x * log(y), 0 where x == 0 (whatever y is but NaN), with derivatives finite there (0 with respect to x)."""
    return _x_times(_ew.log, x, y, 1)


def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0 (whatever y is but NaN), with derivatives finite there."""
    return _x_times(_ew.log1p, x, y, 0)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) along axis without overflow, as SciPy's: b (broadcast with a) scales the terms; with
    return_sign, (log|sum|, sign of the sum), else NaN where the sum is negative."""
    if b is None and not return_sign:
        return _red.logsumexp(a, axis, keepdims)
    a = _arr(a)
    if b is not None:
        b = _arr(b)
        a = _sh.broadcast_to(a, _np.broadcast_shapes(_shape(a), _shape(b)))
    m = _bind(_stop_gradient_p, _red.max(a, axis, keepdims=True))  # (the shift cancels: no derivative work)
    m = _ew.where(_ew.isfinite(m), m, 0)
    terms = _ew.exp(_ew.subtract(a, m))
    total = _red.sum(terms if b is None else _ew.multiply(b, terms), axis, keepdims=True)
    out = _ew.add(_ew.log(_ew.abs(total) if return_sign else total), m)
    sign = _ew.sign(total)
    if not keepdims:
        axes = tuple(range(len(_shape(out)))) if axis is None else axis
        out, sign = _sh.squeeze(out, axes), _sh.squeeze(sign, axes)
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) along axis (all of x by default, as SciPy's), shifted by the max for stability."""
    return _red.softmax(x, axis)


def log_softmax(x, axis=None):
    """x - logsumexp(x) along axis (all of x by default, as SciPy's), without losing precision."""
    return _red.log_softmax(x, axis)


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unsupported(name, "dnp.special", _public_names(globals()))
