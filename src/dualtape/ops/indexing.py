"""Indexing primitives: getitem (basic and advanced indexing), index_add (its transpose, a scatter-add) and
index_update (`x[index] = v` as a new value). The index is a static param (Index) whose ArrayIndex entries
point at the operands after the first, so index arrays may be traced values.
"""

from __future__ import annotations

import ast
import sys
from typing import NamedTuple

import numpy as np

from ..avals import ShapedArray, aval_of, broadcast_shapes
from ..core.faces import Faces
from ..core.primitive import REGISTRY, Primitive
from ..errors import IndexBoundsError, ShapeError
from .rules import declare_reads, deflinear, defvjp, move_batch_rank, same_dtype, unbroadcast


# ---- getitem ----------------------------------------------------------------------------------------
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


def concrete_index(index: Index, arrays) -> tuple:
    """The index NumPy takes for an `index` param, its ArrayIndex entries the arrays given."""
    return tuple(
        e.to_slice() if type(e) is Slice else arrays[e.k] if type(e) is ArrayIndex else e for e in index
    )


def _getitem_impl(x, *arrays, index):
    return x[concrete_index(index, arrays)]


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
                raise IndexBoundsError("getitem", f"index {e} is out of bounds for axis {axis - 1} with size {size}",
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
    "getitem", "*xs", None, _getitem_rule, dtype_rule=same_dtype, impl=_getitem_impl, emit=_getitem_emit,
    faces=Faces(torch_node="IndexBackward0"),
)
getitem_p.non_standard = (
    "NumPy's indexing: a partial index (x[0] of a matrix, x[None]) and integer arrays beside slices, "
    'which the standard leaves out')


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
    xp = np if isinstance(out, np.ndarray) else sys.modules[type(out).__module__.partition(".")[0]]  # (CuPy's
    return _scatter_add(xp, out, concrete_index(index, arrays), g)  # add.at for its arrays: NumPy's refuses them)


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
    "index_add", "*xs", None, lambda g, *arrays, index, shape: tuple(shape), dtype_rule=same_dtype,
    impl=_index_add_impl, emit=_index_add_emit, helpers={"index_add": _index_add_helper},
    faces=Faces(torch_node="IndexAddBackward0"),
)
index_add_p.non_standard = (
    'a runtime helper: a scatter-add with repeated indices accumulating (xp.add.at)')


# ---- index_update: x with v written at index (`x[index] = v` without changing x) ---------------------------
def _index_update_impl(x, v, *arrays, index):
    out = np.copy(x)  # (np.copy dispatches: a GPU array is copied on the GPU)
    out[concrete_index(index, arrays)] = v
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
    "index_update", "*xs", None, _index_update_rule, dtype_rule=same_dtype, impl=_index_update_impl,
    emit=_index_update_emit, helpers={"index_update": _index_update_helper},
    faces=Faces(torch_node="CopySlices"),
)
index_update_p.non_standard = (
    'a runtime helper: a copy written in place at an index')


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


# ---- derivative rules: linear in the indexed value; each VJP is the transpose -------------------------
def _getitem_vjp(g, ans, x, *arrays, index):
    return index_add_p(g, *arrays, index=index, shape=aval_of(x).shape)


getitem_p.view = True
deflinear(getitem_p, 0)
deflinear(index_add_p, 0)
deflinear(index_update_p, 0, 1)
defvjp(getitem_p, _getitem_vjp, reads="ans xs")  # (ans unread, but kept as before: eager keeps the result)
defvjp(index_add_p, lambda g, ans, g_in, *arrays, index, shape: getitem_p(g, *arrays, index=index),
       reads="ans xs")  # (ans unread, but kept as before: eager keeps the result)


# ---- batch rules -------------------------------------------------------------------------------------
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
        x = REGISTRY["broadcast_to"](x, shape=(size,) + aval_of(x).shape)  # (shape.py builds on this module)
    if batched[1]:
        example = ShapedArray(aval_of(x).shape[1:], aval_of(x).dtype)
        target = _getitem_rule(example, *[aval_of(a) for a in arrays], index=index)
        v = move_batch_rank(v, aval_of(v).ndim - 1, len(target), size)
    return index_update_p(x, v, *arrays, index=_batch_index(index))


getitem_p.batch = lambda values, batched, size, index: _index_batch(getitem_p, values, batched, size, index)
index_add_p.batch = lambda values, batched, size, index, shape: _index_batch(
    index_add_p, values, batched, size, index, shape=shape)
index_update_p.batch = _index_update_batch
