"""The arguments every PyTorch factory takes, read as PyTorch reads them: the size (ints one by one, one
sequence, or size=), out= (refused: dualtape's factories always make a new tensor), and the new leaf's
requires_grad (floating point and complex tensors only); the default dtype, float32."""

from __future__ import annotations

import operator

import numpy as np

from .._util import user_source_line
from ..avals import is_float
from ..errors import UnsupportedError
from .tensor import Tensor

DEFAULT_DTYPE = np.float32


def refuse_out(name: str, out) -> None:
    """PyTorch's out= writes the result into a given tensor; dualtape's factories always make a new one."""
    if out is not None:
        raise UnsupportedError(f"dt.{name}(..., out=...)", where=user_source_line(),
                               fix=f"assign the result instead: `t = dt.{name}(...)` (or copy it in: "
                                   f"`t.copy_(dt.{name}(...))`)")


def _is_int(x) -> bool:
    return hasattr(x, "__index__") and getattr(x, "ndim", 0) == 0 and not isinstance(x, bool)


def shape_of(name: str, sizes: tuple, size=None) -> tuple:
    """The shape PyTorch's size arguments give: ints one by one (zeros(2, 3)), one sequence (zeros((2, 3)),
    zeros([]) for 0-d), or size= (size=() too)."""
    if size is not None:
        if sizes:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        sizes = (size,)
    if not sizes:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    if len(sizes) == 1 and not _is_int(sizes[0]) and hasattr(sizes[0], "__iter__"):
        sizes = tuple(sizes[0])
    bad = [type(s).__name__ for s in sizes if not _is_int(s)]
    if bad:
        raise TypeError(f"{name}(): argument 'size' must be a tuple of ints, but found element of type {bad[0]}")
    shape = tuple(operator.index(s) for s in sizes)
    if any(n < 0 for n in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    return shape


def leaf(array, requires_grad) -> Tensor:
    """A new leaf tensor holding array (checked: only floating point and complex tensors can require grad)."""
    t = Tensor._wrap(array)
    if requires_grad:
        if not is_float(t.dtype):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t._requires_grad = True
    return t
