"""Derivative layouts of the per-primitive table (tests/primitive_cases.py, each entry's `layout`): hypothesis
strategies of (operand shapes, params, operand dtypes or None for float64) for the derivative and vmap suites,
the value maps (an entry's `post`) that keep a drawn point clear of kinks and ties, and the index helpers the
indexing entries need."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dualtape.core.primitive import REGISTRY
from dualtape.ops import indexing as ix
from strategies import axes, broadcastable_shapes, shapes

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)


# ---- value maps: keep the drawn point clear of kinks and ties -----------------------------------------
def below_half(x):
    """floor(x) + 1/4: with `above_half` on the other operand, |x - y| >= 1/2 (no ties for max / min)."""
    return np.floor(x) + 0.25


def above_half(x):
    return np.floor(x) + 0.75


def odd_halves(x):
    return np.floor(x) + 0.5


def powers_of_two(y):
    """±1, ±2 or ±4: with x in Z + 1/2, x / y is at least 1/8 from an integer, clear of mod's jumps."""
    return np.where(y < 0, -1.0, 1.0) * 2.0 ** (np.floor(np.abs(y)) % 3)


def distinct(x):
    """Values at least 0.3 apart (ranks times 1/2, nudged by x), so a max or min has no ties."""
    ranks = np.argsort(np.argsort(x.ravel(), kind="stable"), kind="stable").reshape(x.shape)
    return ranks * 0.5 + 0.1 * np.sin(x) - 3.0


# ---- layouts -----------------------------------------------------------------------------------------
def one(shape_strategy=None):
    return st.tuples(shape_strategy or shapes()).map(lambda s: (s, {}, None))


def two():
    return broadcastable_shapes(2).map(lambda s: (tuple(s), {}, None))


@st.composite
def integer_pow_layout(draw):
    return (draw(shapes()),), {"k": draw(st.sampled_from([-2, -1, 0, 2, 3, 4]))}, None


@st.composite
def where_layout(draw):
    c_shape, x_shape, y_shape = draw(broadcastable_shapes(3))
    return (x_shape, y_shape), {"c": draw(hnp.arrays(np.bool_, c_shape))}, None


@st.composite
def reduction_layout(draw, min_side=0):
    shape = draw(shapes(min_side=min_side))
    return (shape,), {"axis": draw(axes(len(shape))), "keepdims": draw(st.booleans())}, None


@st.composite
def convert_layout(draw):
    source, target = draw(st.sampled_from([(F64, F32), (F32, F64)]))
    return (draw(shapes()),), {"dtype": target}, (source,)


@st.composite
def reshape_layout(draw):
    shape = draw(shapes())
    options = [(-1,), shape[::-1], (1,) + shape, shape + (1,)]
    if len(shape) >= 2:
        options.append((shape[0] * shape[1],) + shape[2:])
    size = int(np.prod(shape))
    new = draw(st.sampled_from([o for o in options if (o if o != (-1,) else (size,)) != shape]))
    return (shape,), {"shape": new}, None


@st.composite
def transpose_layout(draw):
    shape = draw(shapes(min_dims=2))
    perm = draw(st.permutations(range(len(shape))))
    if list(perm) == sorted(perm):
        perm = perm[::-1]
    return (shape,), {"axes": tuple(perm)}, None


@st.composite
def diagonal_layout(draw):
    """A diagonal of any plane of a 2-d or 3-d array (sides 0 to 4), offsets past either corner included."""
    shape = draw(shapes(min_dims=2))
    axis1, axis2 = draw(st.permutations(range(len(shape))))[:2]
    return (shape,), {"offset": draw(st.integers(-3, 3)), "axis1": axis1, "axis2": axis2}, None


@st.composite
def broadcast_to_layout(draw):
    target = draw(shapes())
    lead = draw(st.integers(0, len(target)))
    shape = tuple(1 if draw(st.booleans()) else d for d in target[lead:])
    if shape == target:
        target = (2,) + target
    return (shape,), {"shape": target}, None


@st.composite
def squeeze_layout(draw):
    shape = list(draw(shapes(max_dims=2)))
    for _ in range(draw(st.integers(1, 2))):
        shape.insert(draw(st.integers(0, len(shape))), 1)
    ones = [i for i, d in enumerate(shape) if d == 1]
    chosen = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    axis = None if draw(st.booleans()) else tuple(a - len(shape) if draw(st.booleans()) else a for a in chosen)
    return (tuple(shape),), {"axis": axis}, None


@st.composite
def expand_dims_layout(draw):
    shape = draw(shapes())
    return (shape,), {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}, None


@st.composite
def concatenate_layout(draw):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    count = draw(st.integers(2, 3))
    sizes = [draw(st.integers(0, 3)) for _ in range(count)]
    shape_list = tuple(shape[:axis % len(shape)] + (n,) + shape[axis % len(shape) + 1:] for n in sizes)
    return shape_list, {"axis": axis}, None


@st.composite
def _slice(draw, size):
    bound = st.none() | st.integers(-size - 1, size + 1)
    return slice(draw(bound), draw(bound), draw(st.none() | st.sampled_from([-2, -1, 1, 2, 3])))


@st.composite
def indices(draw, shape, advanced=True, newaxis=True, ellipsis=True):
    """A NumPy index for an array of `shape`: ints (negative too), slices (any step), None, an Ellipsis,
    and (if advanced) integer arrays, with repeats and negative entries, whose shapes broadcast together;
    never the identity (x[:, ...] records no getitem)."""
    ndim = len(shape)
    use_ellipsis = ellipsis and draw(st.booleans())
    lead = draw(st.integers(0, ndim))
    trail = draw(st.integers(0, ndim - lead)) if use_ellipsis else 0
    positions = list(range(lead)) + list(range(ndim - trail, ndim))
    kinds = [draw(st.sampled_from(["slice"] + (["int"] + ["array"] * advanced if shape[a] else [])))
             for a in positions]
    n_arrays = kinds.count("array")
    array_shapes = draw(broadcastable_shapes(n_arrays, max_dims=2, max_side=3)) if n_arrays else ()
    entries, arrays = [], iter(array_shapes)
    for axis, kind in zip(positions, kinds):
        size = shape[axis]
        if kind == "int":
            entries.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            entries.append(draw(_slice(size)))
        else:
            entries.append(draw(hnp.arrays(np.int64, next(arrays), elements=st.integers(-size, size - 1))))
    if use_ellipsis:
        entries.insert(lead, Ellipsis)
    if newaxis:
        for _ in range(draw(st.integers(0, 1))):
            entries.insert(draw(st.integers(0, len(entries))), None)
    full = lambda e: e is Ellipsis or isinstance(e, slice) and e == slice(None)
    if newaxis and all(full(e) for e in entries):
        entries.insert(0, None)
    return tuple(entries)


@st.composite
def getitem_layout(draw):
    shape = draw(shapes(min_dims=1))
    return (shape,), {"index": draw(indices(shape))}, None


def index_params(shape, index):
    """getitem's (Index param, index-array operands) for x[index] with x of `shape`, as dnp normalises them."""
    entries, arrays = [], []
    consumed = sum(e is not None and e is not Ellipsis for e in index)
    for e in index:
        if e is Ellipsis:
            width = len(shape) - consumed
            entries.extend([ix.Slice(None, None, None)] * width if width > 0 else [Ellipsis])
        elif isinstance(e, slice):
            entries.append(ix.Slice(e.start, e.stop, e.step))
        elif isinstance(e, np.ndarray):
            entries.append(ix.ArrayIndex(len(arrays)))
            arrays.append(e)
        else:
            entries.append(e)
    return ix.Index(entries), arrays


@st.composite
def index_update_layout(draw):
    """x, a value broadcasting to x[index] (some of its axes 1 or dropped), and a basic index, or one whose
    integer array has no repeats (with repeats, which write wins is unspecified, so the derivative too)."""
    shape = draw(shapes(min_dims=1))
    if draw(st.booleans()) and shape[0]:
        rows = draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=shape[0], unique=True))
        index = (np.array(rows),) + tuple(draw(_slice(d)) for d in shape[1:draw(st.integers(1, len(shape)))])
    else:
        index = draw(indices(shape, advanced=False, newaxis=False))
    target = np.zeros(shape)[index].shape
    value = tuple(1 if draw(st.booleans()) else d for d in target)[draw(st.integers(0, len(target))):]
    return (shape, value), {"index": index}, None


def index_update_np(x, v, index):
    out = np.array(x, copy=True)
    out[index] = v
    return out


@st.composite
def index_add_layout(draw):
    shape = draw(shapes(min_dims=1))
    index = draw(indices(shape, newaxis=False, ellipsis=False))
    return (np.zeros(shape)[index].shape,), {"index": index, "shape": shape}, None


def index_add_dt(g, index, shape):
    entries, arrays = index_params(shape, index)
    return REGISTRY["index_add"](g, *arrays, index=entries, shape=shape)


def index_add_np(g, index, shape):
    out = np.zeros(shape, np.asarray(g).dtype)
    np.add.at(out, index, g)
    return out


@st.composite
def matmul_layout(draw):
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    bx, by = draw(broadcastable_shapes(2, max_dims=2, min_side=1, max_side=3))
    x_kind, y_kind = draw(st.sampled_from(["vector", "matrix", "batched"])), draw(
        st.sampled_from(["vector", "matrix", "batched"]))
    x = {"vector": (k,), "matrix": (m, k), "batched": tuple(bx) + (m, k)}[x_kind]
    y = {"vector": (k,), "matrix": (k, n), "batched": tuple(by) + (k, n)}[y_kind]
    return (x, y), {}, None


@st.composite
def addmm_layout(draw):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    bias = draw(st.sampled_from([(m,), (n, m), (1, m), ()]))
    return (bias, (n, k), (k, m)), {}, None


EINSUM_SPECS = ["ij,jk->ik", "i,i->", "i,j->ij", "bij,bjk->bik", "ijk,ik->j", "ij,ij->i", "ij->ji", "ijk->ki",
                "ij->", "i,->i", "ab,cb->ca"]


@st.composite
def einsum_layout(draw):
    spec = draw(st.sampled_from(EINSUM_SPECS))
    sizes = {c: draw(st.integers(1, 3)) for c in sorted(set(spec) - set(",->"))}
    terms = spec.split("->")[0].split(",")
    return tuple(tuple(sizes[c] for c in t) for t in terms), {"spec": spec}, None



@st.composite
def scan_layout(draw):
    carry = draw(shapes(max_dims=2))
    return (carry, (draw(st.integers(1, 3)),) + carry), {}, None

