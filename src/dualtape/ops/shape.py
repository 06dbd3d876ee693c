"""Shape primitives: reshape, transpose, broadcast_to, squeeze, expand_dims, concatenate, and diagonal (the
diagonal of the last two axes: a view, as NumPy's and PyTorch's) (indexing: indexing.py).

Params arrive normalised by `dualtape.numpy` (axes sorted and non-negative, -1 resolved, Ellipsis expanded),
so every rule here is exact. broadcast_to is explicit so that un-broadcasting lives in its derivative rules.
"""

from __future__ import annotations

import ast

import numpy as np

from ..avals import aval_of, broadcast_shapes
from ..core.faces import Faces
from ..core.primitive import Primitive
from ..errors import ShapeError
from .indexing import ArrayIndex, Index, Slice, getitem_p, index_add_p
from .rules import (
    batch_with_params,
    deflinear,
    defvjp,
    materialise_batch,
    move_batch_rank,
    same_dtype,
    shift_axes,
    unbroadcast,
)


def _reshape_rule(x, shape):
    if int(np.prod(shape, dtype=np.int64)) != x.size:
        raise ShapeError("reshape", f"cannot reshape an array of shape {x.shape} (size {x.size}) into {shape}",
                         fix="the new shape must have the same number of elements; use -1 for one inferred axis")
    return tuple(shape)


def _transpose_rule(x, perm):
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError("transpose", f"axes {perm} are not a permutation of the {x.ndim} axes of {x.shape}")
    return tuple(x.shape[p] for p in perm)


def _broadcast_to_rule(x, shape):
    shape = tuple(shape)
    if len(shape) < x.ndim or broadcast_shapes("broadcast_to", x.shape, shape) != shape:
        raise ShapeError("broadcast_to", f"cannot broadcast an array of shape {x.shape} to shape {shape}",
                         fix="each axis of the operand must be 1 or equal to the target's trailing axes")
    return shape


def _squeeze_rule(x, axes):
    bad = [a for a in axes if x.shape[a] != 1]
    if bad:
        raise ShapeError("squeeze", f"cannot squeeze axes {tuple(bad)} of shape {x.shape}: their size is not 1")
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _expand_dims_rule(x, axes):
    out, dims = [], iter(x.shape)
    for i in range(x.ndim + len(axes)):
        out.append(1 if i in axes else next(dims))
    return tuple(out)


def _concatenate_rule(*xs, axis):
    first = xs[0]
    for x in xs[1:]:
        if x.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != axis):
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ShapeError("concatenate", f"all shapes must match except along axis {axis}: {shapes}")
    return first.shape[:axis] + (sum(x.shape[axis] for x in xs),) + first.shape[axis + 1:]


reshape_p = Primitive("reshape", ("x",), "xp.reshape(x, shape)", _reshape_rule, dtype_rule=same_dtype,
                      faces=Faces(torch_node="ViewBackward0"))
# x's values laid out row by row (a copy only where they are not): the same numbers, faster to run over
contiguous_p = Primitive("contiguous", ("x",), "xp.asarray(x, order='C')", lambda x: x.shape, dtype_rule=same_dtype)
contiguous_p.non_standard = (
    "xp.asarray(x, order='C'): a memory layout, which the standard leaves to each library")
def _transpose_emit(operands, params):
    """`x.T` for a matrix transpose, as a person writes it; `xp.permute_dims(x, (2, 0, 1))` otherwise (the array
    API standard's name: its arrays have no transpose method)."""
    (x,), perm = operands, params["perm"]
    if perm == (1, 0):
        return ast.Attribute(value=x, attr="T", ctx=ast.Load())
    perm_ast = ast.Tuple(elts=[ast.Constant(int(p)) for p in perm], ctx=ast.Load())
    permute_dims = ast.Attribute(value=ast.Name("xp", ast.Load()), attr="permute_dims", ctx=ast.Load())
    return ast.Call(func=permute_dims, args=[x, perm_ast], keywords=[])


transpose_p = Primitive("transpose", ("x",), "x.transpose(perm)", _transpose_rule, dtype_rule=same_dtype,
                        emit=_transpose_emit, faces=Faces(torch_node="PermuteBackward0"))
broadcast_to_p = Primitive(
    "broadcast_to", ("x",), "xp.broadcast_to(x, shape)", _broadcast_to_rule, dtype_rule=same_dtype,
    faces=Faces(torch_node="ExpandBackward0"),
)
squeeze_p = Primitive("squeeze", ("x",), "xp.squeeze(x, axis=axes)", _squeeze_rule, dtype_rule=same_dtype,
                      faces=Faces(torch_node="SqueezeBackward0"))
expand_dims_p = Primitive(
    "expand_dims", ("x",), "xp.expand_dims(x, axes)", _expand_dims_rule, dtype_rule=same_dtype,
    faces=Faces(torch_node="UnsqueezeBackward0"),
)
concatenate_p = Primitive("concatenate", "*xs", "xp.concat(xs, axis=axis)", _concatenate_rule,
                          faces=Faces(torch_node="CatBackward0"))


def diagonal_positions(rows: int, cols: int, offset: int) -> tuple:
    """Row and column indices of the offset-th diagonal of a rows x cols matrix (above the main one if > 0)."""
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    steps = np.arange(length)
    return steps + max(-offset, 0), steps + max(offset, 0)


def _diagonal_rule(x, offset):
    if x.ndim < 2:
        raise ShapeError("diagonal", f"needs an array of at least two dimensions, got shape {x.shape}")
    return x.shape[:-2] + (len(diagonal_positions(*x.shape[-2:], offset)[0]),)


def _diagonal_impl(x, offset):
    """The diagonal of the last two axes as a view of x, writable where x is (NumPy's is read-only): PyTorch's
    diagonal is a view that in-place changes write through to its base."""
    d = x.diagonal(offset, -2, -1)
    if type(d) is np.ndarray and not d.flags.writeable and x.flags.writeable:
        d.flags.writeable = True
    return d


diagonal_p = Primitive("diagonal", ("x",), "xp.diagonal(x, offset=offset, axis1=-2, axis2=-1)", _diagonal_rule,
                       dtype_rule=same_dtype, impl=_diagonal_impl, faces=Faces(torch_node="DiagonalBackward0"),
                       unwritten={"offset": 0})
diagonal_p.non_standard = "NumPy's diagonal (the standard's linalg.diagonal is not in CuPy)"


# ---- derivative rules: these primitives are linear; their VJPs are their transposes -------------------
def _inverse(perm):
    """The permutation undoing perm (in Python: np.argsort costs microseconds per eager transpose)."""
    return tuple(sorted(range(len(perm)), key=perm.__getitem__))


def _concatenate_vjp_rule(k):
    def rule(g, ans, *xs, axis):
        start = sum(aval_of(x).shape[axis] for x in xs[:k])
        stop = start + aval_of(xs[k]).shape[axis]
        index = (Slice(None, None, None),) * axis + (Slice(start, stop, None),)
        return getitem_p(g, index=Index(index))

    return rule


for _prim in (reshape_p, transpose_p, broadcast_to_p, squeeze_p, expand_dims_p, concatenate_p, contiguous_p,
              diagonal_p):
    deflinear(_prim)
for _prim in (reshape_p, transpose_p, broadcast_to_p, squeeze_p, expand_dims_p, diagonal_p):
    _prim.view = True
defvjp(reshape_p, lambda g, ans, x, shape: reshape_p(g, shape=aval_of(x).shape), reads="")
defvjp(contiguous_p, lambda g, ans, x: g, reads="")
defvjp(transpose_p, lambda g, ans, x, perm: transpose_p(g, perm=_inverse(perm)), reads="")
defvjp(broadcast_to_p, lambda g, ans, x, shape: unbroadcast(g, aval_of(x)), reads="")
defvjp(squeeze_p, lambda g, ans, x, axes: reshape_p(g, shape=aval_of(x).shape), reads="")
defvjp(expand_dims_p, lambda g, ans, x, axes: reshape_p(g, shape=aval_of(x).shape), reads="")


def _diagonal_vjp(g, ans, x, offset):
    """g added onto the offset-th diagonal of zeros of x's shape (its last two axes)."""
    shape = aval_of(x).shape
    rows, cols = diagonal_positions(*shape[-2:], offset)
    return index_add_p(g, rows, cols, index=diagonal_index(len(shape)), shape=shape)


def diagonal_index(ndim: int) -> Index:
    """The getitem index of a diagonal of the last two axes, its row and column positions the two index arrays."""
    return Index((Slice(None, None, None),) * (ndim - 2) + (ArrayIndex(0), ArrayIndex(1)))


defvjp(diagonal_p, _diagonal_vjp, reads="")


def _concatenate_vjp(g, *xs, out, needed=None, axis):
    """Variadic, so one slice of g per operand rather than a fixed row of rules."""
    return tuple(
        None if needed is not None and not needed[k] else _concatenate_vjp_rule(k)(g, out, *xs, axis=axis)
        for k in range(len(xs))
    )


concatenate_p.vjp = _concatenate_vjp


# ---- batch rules -------------------------------------------------------------------------------------
def _broadcast_to_batch(values, batched, size, shape):
    (x,) = values
    x = move_batch_rank(x, aval_of(x).ndim - 1, len(shape), size)
    return broadcast_to_p(x, shape=(size,) + tuple(shape))


def _concatenate_batch(values, batched, size, axis):
    return concatenate_p(*materialise_batch(values, batched, size), axis=axis + 1)


reshape_p.batch = batch_with_params(reshape_p, lambda p, size: {"shape": (size,) + tuple(p["shape"])})
transpose_p.batch = batch_with_params(transpose_p, lambda p, size: {"perm": (0,) + shift_axes(p["perm"])})
squeeze_p.batch = batch_with_params(squeeze_p, lambda p, size: {"axes": shift_axes(p["axes"])})
expand_dims_p.batch = batch_with_params(expand_dims_p, lambda p, size: {"axes": shift_axes(p["axes"])})
broadcast_to_p.batch = _broadcast_to_batch
contiguous_p.batch = lambda values, batched, size: contiguous_p(values[0])
diagonal_p.batch = batch_with_params(diagonal_p, lambda p, size: p)  # (the last two axes: the batch axis is before)
concatenate_p.batch = _concatenate_batch
