"""The faces of a primitive: how users reach it and what the optimiser may assume of it, declared in its row.

Every table of a face is generated from the rows: the `dnp` functions (numpy/), NumPy's ufuncs dispatching to
them and the array methods (numpy/methods.py), PyTorch's node names, promotion and in-place methods (eager/),
the functions emitted code may call (codegen/portable.py) and the optimiser's facts (transforms/passes.py,
codegen/emit.py). So a new primitive is one row, and no table keyed by name repeats it elsewhere.
"""

from __future__ import annotations

from typing import NamedTuple

# PyTorch's type promotion of a primitive's operands: (the operand positions promoted together, whether the
# result is floating anyway). Read by eager/promotion.py on every eager op.
SAME_KIND = ((0, 1), False)  # binary arithmetic and comparisons: the operands promoted together
TO_FLOAT = ((0, 1), True)  # true division, arctan2: integers give the default float
FLOAT_FUNCTION = ((0,), True)  # sin, exp, ...: an integer tensor gives the default float
CHOICE = ((1, 2), False)  # where: the two values promoted together, the condition apart


class Faces(NamedTuple):
    """How users reach a primitive. Each name is optional: a primitive only the library binds has none."""

    dnp: tuple[str, ...] = ()  # its dualtape.numpy names: the first its own, the others aliases (absolute)
    doc: str = ""  # the dnp function's docstring
    ufunc: str | None = None  # the NumPy ufunc that dispatches to it on traced values (np.sin(tracer))
    method: str | None = None  # the array method (traced values and Tensors: x.sin())
    torch_node: str | None = None  # PyTorch's name for its grad_fn (SinBackward0)
    torch_inplace: str | None = None  # the Tensor's in-place method (sin_)
    promotion: tuple | None = None  # PyTorch's promotion of its operands (see SAME_KIND, ...)


LOW, FULL = "low", "full"  # (Facts.precision)


class Facts(NamedTuple):
    """What the optimiser and the emitter may assume of a primitive's result."""

    commutative: bool = False  # f(x, y) == f(y, x), bit for bit (common-subexpression elimination merges both)
    new_array: bool = False  # its result is always a new array, never a view nor an operand (`a += b` may
    # write into it)
    precision: str | None = None  # under a mixed-precision policy (api/precision.py, dt.autocast): LOW (it
    # computes in the low compute dtype: matrix products), FULL (in float32: sums, products, exp / log, linear
    # algebra), or None (in the dtype its operands promote to)
    libm: bool = False  # its scalar form calls the C maths library (exp, log, sin, tanh, ...): a fused Numba loop
    # pays for it per element as NumPy's loop does (codegen/numba_auto.py's rule counts these)
