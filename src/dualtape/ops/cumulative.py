"""Cumulative (scan) primitives along one axis: cumsum and cumprod.

The `axis` param arrives normalised by `dualtape.numpy` (an int in [0, ndim), the operand at least 1-D; axis=None
is a flattened operand there). cumsum is linear: its JVP is itself and its VJP the reverse cumsum, the same
primitive between two flips. cumprod's rules differentiate a Hillis-Steele scan of multiplications, so they are
exact where x holds zeros (no division), and so are their own derivatives; they cost O(n log n) work and memory
per slice of length n (log2(n) levels of the scan), against O(n) for the value.
"""

from __future__ import annotations

from ..avals import aval_of
from ..core.faces import FULL, Faces, Facts
from ..core.primitive import Primitive
from ..errors import ShapeError
from .elementwise import full_p
from .indexing import Index, Slice, getitem_p
from .rules import batch_with_params, defjvp, deflinear, defvjp
from .shape import concatenate_p


def along_axis_shape(op: str):
    """The shape rule of a primitive along one axis: the operand's shape, once the axis is checked."""

    def rule(x, axis):
        if not 0 <= axis < x.ndim:
            raise ShapeError(op, f"axis {axis} is out of bounds for an operand of shape {x.shape}",
                             fix="pass a 1-D or higher operand and an axis in [0, ndim) (dnp normalises both)")
        return x.shape

    return rule


def cumulative(name: str, fn: str, torch: str) -> Primitive:
    """A scan along the `axis` param: the running sum or product, a new array of the operand's shape."""
    return Primitive(name, ("x",), f"xp.{fn}(x, axis=axis)", along_axis_shape(name),
                     faces=Faces(torch_node=f"{torch}Backward0"), facts=Facts(new_array=True, precision=FULL))


cumsum_p = cumulative("cumsum", "cumsum", "Cumsum")
cumsum_p.non_standard = (
    "xp.cumsum: the standard's cumulative_sum is NumPy >= 2.1's, and dualtape supports NumPy 2.0")
cumprod_p = cumulative("cumprod", "cumprod", "Cumprod")
cumprod_p.non_standard = (
    "xp.cumprod: the standard's cumulative_prod is NumPy >= 2.1's, and dualtape supports NumPy 2.0")


# ---- helpers: slices along one axis ------------------------------------------------------------------
def _along(axis: int, entry: Slice) -> Index:
    return Index((Slice(None, None, None),) * axis + (entry,))


def flip(v, axis: int):
    """v reversed along axis (a reversed slice: getitem, so its derivatives are getitem's)."""
    return getitem_p(v, index=_along(axis, Slice(None, None, -1)))


def _block(v, axis: int, size: int, fill):
    aval = aval_of(v)
    shape = aval.shape[:axis] + (size,) + aval.shape[axis + 1:]
    return full_p(shape=shape, fill_value=fill, dtype=aval.dtype)


def _shift(v, axis: int, d: int, fill):
    """v moved d places up along axis, the first d places filled with fill: out[k] = v[k - d]."""
    n = aval_of(v).shape[axis]
    return concatenate_p(_block(v, axis, d, fill), getitem_p(v, index=_along(axis, Slice(0, n - d, None))),
                         axis=axis)


def _unshift(v, axis: int, d: int):
    """The transpose of _shift with fill 0: out[k] = v[k + d], zeros in the last d places."""
    n = aval_of(v).shape[axis]
    return concatenate_p(getitem_p(v, index=_along(axis, Slice(d, n, None))), _block(v, axis, d, 0), axis=axis)


def _scan_levels(x, axis: int) -> list:
    """The levels of a Hillis-Steele scan: y[0] = x, y[l+1][k] = y[l][k] * y[l][k - 2**l] (1 before the start);
    the last level is cumprod(x). Returns [(y[l], 2**l)] for every level that is multiplied further."""
    n = aval_of(x).shape[axis]
    levels, y, d = [], x, 1
    while d < n:
        levels.append((y, d))
        y = y * _shift(y, axis, d, 1)
        d *= 2
    return levels


def _cumprod_jvp(t, ans, x, axis):
    for y, d in _scan_levels(x, axis):
        t = t * _shift(y, axis, d, 1) + y * _shift(t, axis, d, 0)
    return t


def _cumprod_vjp(g, ans, x, axis):
    for y, d in reversed(_scan_levels(x, axis)):
        g = g * _shift(y, axis, d, 1) + _unshift(g * y, axis, d)
    return g


def _shift_axis(params, size):
    return {"axis": params["axis"] + 1}


deflinear(cumsum_p)
defvjp(cumsum_p, lambda g, ans, x, axis: flip(cumsum_p(flip(g, axis), axis=axis), axis), reads="")
defjvp(cumprod_p, _cumprod_jvp)
defvjp(cumprod_p, _cumprod_vjp, reads="x")
for _prim in (cumsum_p, cumprod_p):
    _prim.batch = batch_with_params(_prim, _shift_axis)
