"""Elementwise loss rows that PyTorch computes as one op with a backward of its own, which is not the derivative
of its forward everywhere: binary_cross_entropy of probabilities x and targets y.

Its forward clamps each log below at -100 (log 0 is -100, so a prediction of exactly 0 or 1 gives a finite
loss); its backward is PyTorch's (x - y) / max(x (1 - x), 1e-12), the derivative wherever x (1 - x) > 1e-12,
and still pushing x away from a wrong 0 or 1 where a composition of clamped logs would give 0. The target's
cotangent is PyTorch's too, -logit(x).
"""

from __future__ import annotations

import numpy as np

from ..core.faces import FULL
from .elementwise import binary, log_p, maximum_p
from .rules import defelementwise, helper_evaluator

EPSILON = float(np.float32(1e-12))  # PyTorch's floor on x (1 - x), the divisor of the input's cotangent (a float
# constant there, so 1e-12 rounded to float32 in float64 arithmetic too)


def _clamped_logs(xp, x):
    """log x and log(1 - x) (as log1p(-x)), each at least -100."""
    floor = xp.asarray(-100.0, dtype=x.dtype)
    return xp.maximum(xp.log(x), floor), xp.maximum(xp.log1p(-x), floor)


def _numpy_clamped_logs(xp, x):
    with np.errstate(divide="ignore"):  # (log 0 is -inf, then -100: no warning, as PyTorch gives none)
        return _clamped_logs(xp, x)


def _binary_cross_entropy_helper(xp):
    logs = _numpy_clamped_logs if xp is np else _clamped_logs

    def binary_cross_entropy(x, y):
        """(y - 1) max(log(1 - x), -100) - y max(log x, -100), elementwise: PyTorch's loss, in its order, in the
        operands' common dtype."""
        dtype = xp.result_type(x, y)
        x, y = (v if getattr(v, "dtype", None) == dtype else xp.asarray(v, dtype=dtype) for v in (x, y))
        log_x, log_not_x = logs(xp, x)
        return (y - 1) * log_not_x - y * log_x

    return binary_cross_entropy


binary_cross_entropy_p = binary(
    "binary_cross_entropy", "binary_cross_entropy(x, y)",
    "Binary cross entropy of probabilities x and targets y, each log clamped at -100 (as PyTorch's).",
    dnp=(), torch="BinaryCrossEntropy", promotion=None, precision=FULL, libm=True,
    impl=helper_evaluator(_binary_cross_entropy_helper), helpers={"binary_cross_entropy": _binary_cross_entropy_helper})
binary_cross_entropy_p.non_standard = (
    "a runtime helper: both logs clamped at -100 (NumPy's without its log-of-0 warning)")

defelementwise(
    binary_cross_entropy_p,
    lambda g, ans, x, y: g * ((x - y) / maximum_p((1 - x) * x, EPSILON)),
    lambda g, ans, x, y: g * -log_p(x / (1 - x)),
    reads=("x y", "x"),
)
