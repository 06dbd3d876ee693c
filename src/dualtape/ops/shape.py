"""Shape primitives: reshape, transpose, broadcast_to, squeeze, expand_dims, concatenate, indexing.

Params arrive normalised by `dualtape.numpy` (axes sorted and non-negative, -1 resolved, Ellipsis expanded),
so every rule here is exact. broadcast_to is explicit so that un-broadcasting lives in its derivative rules.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

import numpy as np

from ..avals import ShapedArray, aval_of, broadcast_shapes
from ..core.faces import Faces
from ..core.primitive import Primitive
from ..errors import ShapeError
from .rules import (
    batch_with_params,
    declare_reads,
    deflinear,
    defvjp,
    materialise_batch,
    move_batch_rank,
    shift_axes,
    unbroadcast,
)


def _same_dtype(x, *_, **__):
    return x.dtype


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


reshape_p = Primitive("reshape", ("x",), "xp.reshape(x, shape)", _reshape_rule, dtype_rule=_same_dtype,
                      faces=Faces(torch_node="ViewBackward0"))
# x's values laid out row by row (a copy only where they are not): the same numbers, faster to run over
contiguous_p = Primitive("contiguous", ("x",), "xp.asarray(x, order='C')", lambda x: x.shape, dtype_rule=_same_dtype)
def _transpose_emit(operands, params):
    """`x.T` for a matrix transpose, as a person writes it; `x.transpose((2, 0, 1))` otherwise."""
    (x,), perm = operands, params["perm"]
    if perm == (1, 0):
        return ast.Attribute(value=x, attr="T", ctx=ast.Load())
    perm_ast = ast.Tuple(elts=[ast.Constant(int(p)) for p in perm], ctx=ast.Load())
    return ast.Call(func=ast.Attribute(value=x, attr="transpose", ctx=ast.Load()), args=[perm_ast], keywords=[])


transpose_p = Primitive("transpose", ("x",), "x.transpose(perm)", _transpose_rule, dtype_rule=_same_dtype,
                        emit=_transpose_emit, faces=Faces(torch_node="PermuteBackward0"))
broadcast_to_p = Primitive(
    "broadcast_to", ("x",), "xp.broadcast_to(x, shape)", _broadcast_to_rule, dtype_rule=_same_dtype,
    faces=Faces(torch_node="ExpandBackward0"),
)
squeeze_p = Primitive("squeeze", ("x",), "xp.squeeze(x, axis=axes)", _squeeze_rule, dtype_rule=_same_dtype,
                      faces=Faces(torch_node="SqueezeBackward0"))
expand_dims_p = Primitive(
    "expand_dims", ("x",), "xp.expand_dims(x, axes)", _expand_dims_rule, dtype_rule=_same_dtype,
    faces=Faces(torch_node="UnsqueezeBackward0"),
)
concatenate_p = Primitive("concatenate", "*xs", "xp.concatenate(xs, axis=axis)", _concatenate_rule,
                          faces=Faces(torch_node="CatBackward0"))


# ---- indexing ----------------------------------------------------------------------------------------
class Slice(NamedTuple):
    """A hashable slice with concrete bounds (Python's slice is unhashable before 3.12)."""

    start: int | None
    stop: int | None
    step: int | None

    def to_slice(self) -> slice:
        return slice(self.start, self.stop, self.step)

    def __str__(self):
        parts = ["" if self.start is None else str(self.start), "" if self.stop is None else str(self.stop)]
        if self.step is not None:
            parts.append(str(self.step))
        return ":".join(parts)


class ArrayIndex(NamedTuple):
    """Stands for the k-th integer index array, passed as the (k+1)-th operand of getitem."""

    k: int

    def __str__(self):
        return f"<index {self.k}>"


class Index(tuple):
    """getitem's `index` param: ints, Slices, None (new axis), ArrayIndex placeholders, and Ellipsis only where
    it spans no axis (it then still separates advanced indices, which moves their axes first)."""

    _dt_format = True

    def __str__(self):
        return "[" + ", ".join("..." if e is Ellipsis else str(e) for e in self) + "]"


def _concrete_index(index: Index, arrays) -> tuple:
    return tuple(
        e.to_slice() if type(e) is Slice else arrays[e.k] if type(e) is ArrayIndex else e for e in index
    )


def _getitem_impl(x, *arrays, index):
    return x[_concrete_index(index, arrays)]


def _getitem_rule(x, *arrays, index):
    advanced = any(type(e) is ArrayIndex for e in index)
    pieces, adv_pos, adv_shapes, axis = [], [], [], 0
    for pos, e in enumerate(index):
        if e is None:
            pieces.append((1,))
            continue
        if e is Ellipsis:
            pieces.append(())
            continue
        if axis >= x.ndim:
            raise ShapeError("getitem", f"too many indices for an array of shape {x.shape}")
        size = x.shape[axis]
        axis += 1
        if type(e) is Slice:
            pieces.append((len(range(*e.to_slice().indices(size))),))
        elif type(e) is ArrayIndex:
            adv_pos.append(pos)
            adv_shapes.append(arrays[e.k].shape)
            pieces.append(None)
        else:
            if not -size <= e < size:
                raise ShapeError("getitem", f"index {e} is out of bounds for axis {axis - 1} with size {size}",
                                 fix="index within the axis length")
            if advanced:
                adv_pos.append(pos)
                adv_shapes.append(())
            pieces.append(None if advanced else ())
    rest = x.shape[axis:]
    if not adv_pos:
        return tuple(d for p in pieces for d in p) + rest
    bshape = broadcast_shapes("getitem", *adv_shapes)
    basic = [p for p in pieces if p is not None]
    if adv_pos == list(range(adv_pos[0], adv_pos[-1] + 1)):  # adjacent: the broadcast dims stay in place
        before = [p for p in pieces[: adv_pos[0]] if p is not None]
        after = [p for p in pieces[adv_pos[-1] + 1:] if p is not None]
        return tuple(d for p in before for d in p) + bshape + tuple(d for p in after for d in p) + rest
    return bshape + tuple(d for p in basic for d in p) + rest


def _getitem_emit(operands, params):
    entries = []
    for e in params["index"]:
        if e is None:
            entries.append(ast.Constant(None))
        elif type(e) is Slice:
            entries.append(ast.Slice(*(None if v is None else ast.Constant(v) for v in e)))
        elif type(e) is ArrayIndex:
            entries.append(operands[1 + e.k])
        else:
            entries.append(ast.Constant(e))
    index = entries[0] if len(entries) == 1 else ast.Tuple(elts=entries, ctx=ast.Load())
    return ast.Subscript(value=operands[0], slice=index, ctx=ast.Load())


getitem_p = Primitive(
    "getitem", "*xs", None, _getitem_rule, dtype_rule=_same_dtype, impl=_getitem_impl, emit=_getitem_emit,
    faces=Faces(torch_node="IndexBackward0"),
)


# ---- scatter-add: the transpose of getitem -----------------------------------------------------------
def _scatter_add(xp, out, index, g):
    """out with g added at index (zeros there before); repeated integer indices accumulate."""
    if any(not isinstance(e, (int, slice, type(None), type(Ellipsis))) for e in index):
        xp.add.at(out, index, g)
    else:
        out[index] = g
    return out


def _index_add_helper(xp):
    def index_add(g, shape, index):
        """zeros(shape) with g added at index; repeated integer indices accumulate."""
        return _scatter_add(xp, xp.zeros(shape, dtype=getattr(g, "dtype", None) or xp.asarray(g).dtype), index, g)

    return index_add


def _index_add_impl(g, *arrays, index, shape):
    """The zeros are made like g (np.zeros_like dispatches: a GPU cotangent gets GPU zeros)."""
    out = np.zeros_like(g, shape=shape) if hasattr(g, "shape") else np.zeros(shape, np.asarray(g).dtype)
    return _scatter_add(np, out, _concrete_index(index, arrays), g)


def _index_argument(index, arrays) -> ast.Tuple:
    """An index as a tuple expression a helper takes (`(slice(1, 3), i)`), the k-th array index arrays[k]."""
    entries = []
    for e in index:
        if type(e) is Slice:
            values = [e.stop] if e.start is None and e.step is None else list(e) if e.step is not None else [
                e.start, e.stop]
            args = [ast.Constant(v) for v in values]
            entries.append(ast.Call(func=ast.Name("slice", ast.Load()), args=args, keywords=[]))
        elif type(e) is ArrayIndex:
            entries.append(arrays[e.k])
        else:
            entries.append(ast.Constant(e))
    return ast.Tuple(elts=entries, ctx=ast.Load())


def _index_add_emit(operands, params):
    index = _index_argument(params["index"], operands[1:])
    shape = ast.Tuple(elts=[ast.Constant(d) for d in params["shape"]], ctx=ast.Load())
    return ast.Call(func=ast.Name("index_add", ast.Load()), args=[operands[0], shape, index], keywords=[])


index_add_p = Primitive(
    "index_add", "*xs", None, lambda g, *arrays, index, shape: tuple(shape), dtype_rule=_same_dtype,
    impl=_index_add_impl, emit=_index_add_emit, helpers={"index_add": _index_add_helper},
    faces=Faces(torch_node="IndexAddBackward0"),
)


# ---- index_update: x with v written at index (`x[index] = v` without changing x) ---------------------------
def _index_update_impl(x, v, *arrays, index):
    out = np.copy(x)  # (np.copy dispatches: a GPU array is copied on the GPU)
    out[_concrete_index(index, arrays)] = v
    return out


def _index_update_rule(x, v, *arrays, index):
    target = _getitem_rule(x, *arrays, index=index)
    if len(v.shape) > len(target) or any(d != 1 and d != t for d, t in zip(v.shape[::-1], target[::-1])):
        raise ShapeError("index_update", f"cannot write a value of shape {v.shape} into x[index] of shape {target}",
                         fix="give a value that broadcasts to the indexed region")
    return x.shape


def _index_update_helper(xp):
    def index_update(x, v, index):
        """A copy of x with v written at index."""
        out = xp.copy(x)
        out[index] = v
        return out

    return index_update


def _index_update_emit(operands, params):
    index = _index_argument(params["index"], operands[2:])
    return ast.Call(func=ast.Name("index_update", ast.Load()), args=[operands[0], operands[1], index], keywords=[])


index_update_p = Primitive(
    "index_update", "*xs", None, _index_update_rule, dtype_rule=_same_dtype, impl=_index_update_impl,
    emit=_index_update_emit, helpers={"index_update": _index_update_helper},
    faces=Faces(torch_node="CopySlices"),
)


def _index_update_vjp(g, *primals, out, needed=None, index):
    """x's cotangent is g with zeros where v was written; v's is g there, summed back to v's shape."""
    v, arrays = primals[1], primals[2:]
    x_bar = v_bar = None
    if needed is None or needed[0]:
        x_bar = index_update_p(g, 0.0, *arrays, index=index)
    if needed is None or needed[1]:
        v_bar = unbroadcast(getitem_p(g, *arrays, index=index), aval_of(v))
    return (x_bar, v_bar) + (None,) * len(arrays)


index_update_p.vjp = _index_update_vjp
declare_reads(index_update_p, "xs")  # (the index arrays; of x and v, only their shapes)


# ---- derivative rules: these primitives are linear; their VJPs are their transposes -------------------
def _inverse(perm):
    return tuple(int(i) for i in np.argsort(perm))


def _concatenate_vjp_rule(k):
    def rule(g, ans, *xs, axis):
        start = sum(aval_of(x).shape[axis] for x in xs[:k])
        stop = start + aval_of(xs[k]).shape[axis]
        index = (Slice(None, None, None),) * axis + (Slice(start, stop, None),)
        return getitem_p(g, index=Index(index))

    return rule


def _getitem_vjp(g, ans, x, *arrays, index):
    return index_add_p(g, *arrays, index=index, shape=aval_of(x).shape)


for _prim in (reshape_p, transpose_p, broadcast_to_p, squeeze_p, expand_dims_p, concatenate_p, contiguous_p):
    deflinear(_prim)
for _prim in (reshape_p, transpose_p, broadcast_to_p, squeeze_p, expand_dims_p, getitem_p):
    _prim.view = True
deflinear(getitem_p, 0)
deflinear(index_add_p, 0)
deflinear(index_update_p, 0, 1)
defvjp(reshape_p, lambda g, ans, x, shape: reshape_p(g, shape=aval_of(x).shape), reads="")
defvjp(contiguous_p, lambda g, ans, x: g, reads="")
defvjp(transpose_p, lambda g, ans, x, perm: transpose_p(g, perm=_inverse(perm)), reads="")
defvjp(broadcast_to_p, lambda g, ans, x, shape: unbroadcast(g, aval_of(x)), reads="")
defvjp(squeeze_p, lambda g, ans, x, axes: reshape_p(g, shape=aval_of(x).shape), reads="")
defvjp(expand_dims_p, lambda g, ans, x, axes: reshape_p(g, shape=aval_of(x).shape), reads="")
defvjp(getitem_p, _getitem_vjp, reads="ans xs")  # (ans unread, but kept as before: eager keeps the result)
defvjp(index_add_p, lambda g, ans, g_in, *arrays, index, shape: getitem_p(g, *arrays, index=index),
       reads="ans xs")  # (ans unread, but kept as before: eager keeps the result)


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


def _index_batch(prim, values, batched, size, index, **params):
    """Prefix the index with a full slice for the batch axis. Only valid when every index array is
    unbatched and the advanced indices (if any) stay adjacent; otherwise NotImplemented (map per example)."""
    if any(batched[1:]) or not batched[0] or not _keeps_axes_in_place(index):
        return NotImplemented
    extra = {"shape": (size,) + tuple(params["shape"])} if "shape" in params else {}
    return prim(*values, index=_batch_index(index), **{**params, **extra})


def _keeps_axes_in_place(index) -> bool:
    """The advanced entries (if any) are adjacent, so a leading full slice for the batch axis stays first."""
    positions = [i for i, e in enumerate(index) if type(e) is ArrayIndex or (type(e) is int and any(
        type(f) is ArrayIndex for f in index))]
    return not positions or positions == list(range(positions[0], positions[-1] + 1))


def _batch_index(index) -> Index:
    return Index((Slice(None, None, None),) + tuple(index))


def _index_update_batch(values, batched, size, index):
    """Write along the batch axis too: x (and v, when batched) get the batch axis first, v lined up with the
    written region's axes."""
    x, v, arrays = values[0], values[1], values[2:]
    if any(batched[2:]) or not _keeps_axes_in_place(index):
        return NotImplemented
    if not batched[0]:
        x = broadcast_to_p(x, shape=(size,) + aval_of(x).shape)
    if batched[1]:
        example = ShapedArray(aval_of(x).shape[1:], aval_of(x).dtype)
        target = _getitem_rule(example, *[aval_of(a) for a in arrays], index=index)
        v = move_batch_rank(v, aval_of(v).ndim - 1, len(target), size)
    return index_update_p(x, v, *arrays, index=_batch_index(index))


reshape_p.batch = batch_with_params(reshape_p, lambda p, size: {"shape": (size,) + tuple(p["shape"])})
transpose_p.batch = batch_with_params(transpose_p, lambda p, size: {"perm": (0,) + shift_axes(p["perm"])})
squeeze_p.batch = batch_with_params(squeeze_p, lambda p, size: {"axes": shift_axes(p["axes"])})
expand_dims_p.batch = batch_with_params(expand_dims_p, lambda p, size: {"axes": shift_axes(p["axes"])})
broadcast_to_p.batch = _broadcast_to_batch
contiguous_p.batch = lambda values, batched, size: contiguous_p(values[0])
concatenate_p.batch = _concatenate_batch
getitem_p.batch = lambda values, batched, size, index: _index_batch(getitem_p, values, batched, size, index)
index_add_p.batch = lambda values, batched, size, index, shape: _index_batch(
    index_add_p, values, batched, size, index, shape=shape)
index_update_p.batch = _index_update_batch
