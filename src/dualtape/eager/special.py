"""dt.special: torch.special's functions, with PyTorch's names and arguments (dim, keepdim, eps), on eager
tensors (and on arrays and traced values), each a call of dnp's function of the same maths (its rows, or a
composition of them), so no derivative is written here. A name torch.special has and dt.special lacks raises
UnsupportedError naming the nearest one it has."""

import math as _math

import numpy as _np

from ..numpy import elementwise as _ew
from ..numpy import reductions as _red
from ..numpy import special as _dnp_special
from ..numpy.elementwise import exp2, expm1, log1p, sinc  # noqa: F401  (torch.special's names for them)
from ..numpy.special import digamma, erf, erfc, expit, gammaln, psi  # noqa: F401
from ..numpy.unsupported import public_names as _public_names
from ..numpy.unsupported import unsupported as _unsupported
from . import functions as _functions
from .composite import one_node as _one_node
from .torch_functions import logit, polygamma, xlogy  # noqa: F401  (torch.special's are torch's)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    """log(sum(exp(input))) over dim (an int or a tuple), without overflow."""
    return _one_node("LogsumexpBackward0", _red.logsumexp, [input], dim, keepdim)


def softmax(input, dim, dtype=None):  # noqa: A002
    """exp(input) / sum(exp(input)) along dim, in dtype if given (the input cast first, as torch)."""
    return _functions.softmax(input if dtype is None else _ew.astype(input, dtype), dim)


def log_softmax(input, dim, dtype=None):  # noqa: A002
    """input - logsumexp(input) along dim, in dtype if given."""
    return _functions.log_softmax(input if dtype is None else _ew.astype(input, dtype), dim)


def xlog1py(input, other):  # noqa: A002
    """input * log1p(other), 0 where input == 0 (unless other is NaN)."""
    return _one_node("SpecialXlog1PyBackward0", _dnp_special.xlog1py, [input, other])


def ndtr(input):  # noqa: A002
    """The standard normal distribution function, erfc(-x / sqrt(2)) / 2 (accurate in the lower tail)."""
    return _ew.multiply(0.5, erfc(_ew.multiply(input, -1 / _math.sqrt(2.0))))


def entr(input):  # noqa: A002
    """The elementwise entropy -x log x: 0 at 0, -inf below 0. At 0 its derivative is finite here (torch's is
    inf): x log x is taken as SciPy's xlogy, which is 0 with a 0 derivative at x == 0."""
    return _one_node("SpecialEntrBackward0", _entr, [input])


def _entr(x):
    return _ew.where(_ew.less(x, 0), -_np.inf, _ew.negative(xlogy(x, x)))


def multigammaln(input, p):  # noqa: A002
    """The log of the multivariate gamma function of dimension p: sum_j gammaln(x - j / 2) + p (p - 1) / 4 log pi
    (every x must exceed (p - 1) / 2, as torch checks)."""
    if not isinstance(p, int) or p < 1:
        raise ValueError(f"multigammaln: p must be a positive integer, got {p!r}")
    total = gammaln(input)
    for j in range(1, p):
        total = _ew.add(total, gammaln(_ew.subtract(input, j / 2)))
    return _ew.add(total, p * (p - 1) / 4 * _math.log(_math.pi))


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unsupported(name, "dt.special", _public_names(globals()))
