"""NumPy-agreement draws of the per-primitive table (tests/primitive_cases.py, each entry's `values`): each
strategy draws (NumPy function, dualtape function, operands) over random shapes (0-d and size-0 included),
every dtype the primitive takes, broadcasting, Python-scalar operands and the primitive's parameters, for
`opcheck.check_op`. Unlike the derivative layouts (tests/layouts.py), values may sit on kinks and edges."""

import math

import numpy as np
from hypothesis import assume, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from dualtape.numpy.shapes import contiguous
from strategies import (
    ALL,
    ANY,
    NONZERO,
    NUMERIC,
    SMALL,
    WIDE,
    arrays,
    axes,
    broadcastable_shapes,
    dtypes,
    operands,
    shapes,
)


# ---- elementwise -------------------------------------------------------------------------------------
def unary_values(dt_fn, np_fn, domain, choices):
    @st.composite
    def case(draw):
        x = draw(arrays(draw(dtypes(choices)), draw(shapes()), domain))
        return np_fn, dt_fn, (x,)

    return case()


def binary_values(dt_fn, np_fn, x_domain, y_domain, choices, scalar_kinds):
    """Broadcasting operands of independently drawn dtypes; 0-d ones may be Python scalars of scalar_kinds."""

    @st.composite
    def case(draw):
        args = draw(operands(draw(broadcastable_shapes(2)), choices, (x_domain, y_domain)))
        args = tuple(a if isinstance(a, np.ndarray) or type(a) in scalar_kinds else np.asarray(a) for a in args)
        return np_fn, dt_fn, args

    return case()


@st.composite
def integer_pow_values(draw):
    """A Python int exponent (not 1: dnp.power returns x itself then); negative ones only for float bases."""
    dtype = draw(dtypes(NUMERIC))
    k = draw(st.integers(-3, 4).filter(lambda k: k != 1 and (k >= 0 or dtype.kind == "f")))
    x = draw(arrays(dtype, draw(shapes()), NONZERO if k < 0 else ANY))
    return (lambda x: np.power(x, k)), (lambda x: dnp.power(x, k)), (x,)


@st.composite
def where_values(draw):
    c_shape, x_shape, y_shape = draw(broadcastable_shapes(3))
    c = draw(arrays(draw(dtypes(("bool", "bool", "int32"))), c_shape))
    x, y = draw(operands((x_shape, y_shape), ALL))
    return np.where, dnp.where, (c, x, y)


@st.composite
def convert_values(draw):
    src = draw(dtypes())
    dst = draw(dtypes(tuple(d for d in ALL if d != src)))  # dnp.astype records nothing for the same dtype
    x = draw(arrays(src, draw(shapes()), WIDE))
    return (lambda x: x.astype(dst)), (lambda x: dnp.astype(x, dst)), (x,)


@st.composite
def full_values(draw):
    """full_like, zeros_like, ones_like: constants with x's shape (and its dtype unless one is given)."""
    x = draw(arrays(draw(dtypes()), draw(shapes())))
    fill = draw(st.sampled_from([0, 1, 2.5, -3, True]))
    dtype = draw(st.sampled_from([None, *ALL]))
    return (
        (lambda x: np.full_like(x, fill, dtype=dtype) + x),
        (lambda x: dnp.full_like(x, fill, dtype=dtype) + x),
        (x,),
    )


# ---- reductions --------------------------------------------------------------------------------------
def _reduced_axes(shape, axis):
    if axis is None:
        return tuple(range(len(shape)))
    return tuple(a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis))


def reduction_values(dt_fn, np_fn, nonempty):
    @st.composite
    def case(draw):
        shape = draw(shapes())
        axis = draw(axes(len(shape)))
        if nonempty:
            assume(all(shape[a] > 0 for a in _reduced_axes(shape, axis)))
        keepdims = draw(st.booleans())
        x = draw(arrays(draw(dtypes(ALL)), shape, SMALL))
        kwargs = dict(axis=axis, keepdims=keepdims)
        note(f"{kwargs}")
        return (lambda x: np_fn(x, **kwargs)), (lambda x: dt_fn(x, **kwargs)), (x,)

    return case()


def index_reduction_values(dt_fn, np_fn):
    @st.composite
    def case(draw):
        shape = draw(shapes())
        axis = draw(axes(len(shape), allow_tuple=False))
        assume(math.prod(shape[a] for a in _reduced_axes(shape, axis)) > 0)
        keepdims = draw(st.booleans())
        x = draw(arrays(draw(dtypes(ALL)), shape, SMALL))
        kwargs = dict(axis=axis, keepdims=keepdims)
        note(f"{kwargs}")
        return (lambda x: np_fn(x, **kwargs)), (lambda x: dt_fn(x, **kwargs)), (x,)

    return case()


# ---- contractions ------------------------------------------------------------------------------------
@st.composite
def matmul_values(draw):
    """x @ y where each operand is 1-D, 2-D or batched, the batch axes broadcasting together."""
    m, k, n = draw(st.integers(0, 4)), draw(st.integers(0, 4)), draw(st.integers(0, 4))
    x_batch, y_batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    x_shape = (k,) if draw(st.booleans()) else x_batch + (m, k)
    y_shape = (k,) if draw(st.booleans()) else y_batch + (k, n)
    note(f"{x_shape} @ {y_shape}")
    x = draw(arrays(draw(dtypes(ALL)), x_shape, SMALL))
    y = draw(arrays(draw(dtypes(ALL)), y_shape, SMALL))
    return np.matmul, dnp.matmul, (x, y)


@st.composite
def addmm_values(draw):
    """bias + mat1 @ mat2 (empty sizes included), the bias a row, a matrix, a column or a scalar, one dtype."""
    from dualtape.ops.linalg import addmm_p

    n, k, m = draw(st.integers(0, 4)), draw(st.integers(0, 4)), draw(st.integers(0, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    bias = draw(st.sampled_from([(m,), (n, m), (n, 1), ()]))
    note(f"{bias} + {(n, k)} @ {(k, m)}")
    args = tuple(draw(arrays(dtype, shape, SMALL)) for shape in (bias, (n, k), (k, m)))
    return (lambda b, x, y: x @ y + b), addmm_p, args


@st.composite
def einsum_values(draw):
    """A random one- or two-operand spec over letters i..l: repeated letters (diagonals, traces), contracted
    and free letters, 0-d operands, and an implicit or explicit (any order, any subset) output."""
    sizes = {c: draw(st.integers(0, 3)) for c in "ijkl"}
    n_operands = draw(st.integers(1, 2))
    terms = [draw(st.text("ijkl", max_size=3)) for _ in range(n_operands)]
    letters = sorted(set("".join(terms)))
    explicit = draw(st.booleans())
    spec = ",".join(terms)
    if explicit:
        spec += "->" + "".join(draw(st.permutations(letters))[: draw(st.integers(0, len(letters)))])
    note(f"spec={spec!r}")
    xs = tuple(draw(arrays(draw(dtypes(NUMERIC)), tuple(sizes[c] for c in t), SMALL)) for t in terms)
    return (lambda *xs: np.einsum(spec, *xs)), (lambda *xs: dnp.einsum(spec, *xs)), xs


# ---- shapes and indexing -----------------------------------------------------------------------------
def _array(draw, shape, choices=ALL):
    return draw(arrays(draw(dtypes(choices)), shape))


@st.composite
def reshape_values(draw):
    """A new shape for the same elements: the old axes permuted, with 1s added or dropped, maybe one -1."""
    shape = draw(shapes())
    dims = [d for d in draw(st.permutations(shape)) if d != 1 or draw(st.booleans())]
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if math.prod(dims) != math.prod(shape):
        dims.append(math.prod(shape))
    new = tuple(dims)
    assume(new != shape)
    if new and draw(st.booleans()):
        i = draw(st.integers(0, len(new) - 1))
        if math.prod(new[:i] + new[i + 1:]) > 0:
            new = new[:i] + (-1,) + new[i + 1:]
    x = _array(draw, shape)
    if new and draw(st.booleans()):  # the separate-ints spelling
        return (lambda x: np.reshape(x, new)), (lambda x: dnp.reshape(x, *new)), (x,)
    return (lambda x: np.reshape(x, new)), (lambda x: dnp.reshape(x, new)), (x,)


@st.composite
def transpose_values(draw):
    shape = draw(shapes(min_dims=2))
    perm = draw(st.permutations(range(len(shape))))
    assume(perm != list(range(len(shape))))
    perm = tuple(p - len(shape) if draw(st.booleans()) else p for p in perm)
    x = _array(draw, shape)
    if draw(st.booleans()):
        return np.transpose, dnp.transpose, (x,)
    return (lambda x: np.transpose(x, perm)), (lambda x: dnp.transpose(x, perm)), (x,)


@st.composite
def diagonal_values(draw):
    """Every dtype, planes given by negative axes too, offsets past either corner (an empty diagonal)."""
    shape = draw(shapes(min_dims=2))
    axis1, axis2 = (a - len(shape) if draw(st.booleans()) else a for a in draw(st.permutations(range(len(shape))))[:2])
    offset = draw(st.integers(-3, 3))
    return ((lambda x: np.diagonal(x, offset, axis1, axis2)), (lambda x: dnp.diagonal(x, offset, axis1, axis2)),
            (_array(draw, shape),))


@st.composite
def broadcast_to_values(draw):
    target = draw(shapes())
    shape = draw(hnp.broadcastable_shapes(target, min_dims=0, max_dims=len(target), min_side=0))
    assume(shape != target and np.broadcast_shapes(shape, target) == target)
    x = _array(draw, shape)
    return (lambda x: np.broadcast_to(x, target)), (lambda x: dnp.broadcast_to(x, target)), (x,)


@st.composite
def squeeze_values(draw):
    shape = list(draw(shapes(max_dims=2)))
    for _ in range(draw(st.integers(1, 2))):
        shape.insert(draw(st.integers(0, len(shape))), 1)
    ones = [i for i, d in enumerate(shape) if d == 1]
    chosen = draw(st.lists(st.sampled_from(ones), unique=True, min_size=1))
    axis = draw(st.sampled_from([None, tuple(a - len(shape) if a % 2 else a for a in chosen), chosen[0]]))
    x = _array(draw, tuple(shape))
    return (lambda x: np.squeeze(x, axis)), (lambda x: dnp.squeeze(x, axis)), (x,)


@st.composite
def expand_dims_values(draw):
    shape = draw(shapes())
    n = draw(st.integers(1, 2))
    out_ndim = len(shape) + n
    chosen = draw(st.lists(st.integers(0, out_ndim - 1), unique=True, min_size=n, max_size=n))
    chosen = [a - out_ndim if draw(st.booleans()) else a for a in chosen]
    axis = chosen[0] if n == 1 and draw(st.booleans()) else tuple(chosen)
    x = _array(draw, shape)
    return (lambda x: np.expand_dims(x, axis)), (lambda x: dnp.expand_dims(x, axis)), (x,)


@st.composite
def concatenate_values(draw):
    base = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(base), len(base) - 1))
    count = draw(st.integers(2, 3))
    xs = []
    for _ in range(count):
        shape = list(base)
        shape[axis] = draw(st.integers(0, 3))
        xs.append(_array(draw, tuple(shape)))
    if draw(st.booleans()):  # axis=None flattens arrays of any shapes
        xs = [_array(draw, draw(shapes())) for _ in range(count)]
        axis = None
    return (lambda *xs: np.concatenate(xs, axis)), (lambda *xs: dnp.concatenate(xs, axis)), tuple(xs)


# ---- indices -----------------------------------------------------------------------------------------
@st.composite
def _slices(draw, size):
    bound = st.none() | st.integers(-size - 2, size + 2)
    step = st.none() | st.integers(-3, 3).filter(bool)
    return slice(draw(bound), draw(bound), draw(step))


@st.composite
def indices(draw, shape, advanced=True):
    """An index for an array of `shape`: ints (negative too), slices (any step), None, at most one Ellipsis,
    and (if advanced) integer arrays or lists whose shapes broadcast together. Returns (index, arrays) where
    arrays are the ndarray entries, in order, so a test can also pass them as traced arguments."""
    ndim = len(shape)
    ellipsis = draw(st.booleans())
    lead = draw(st.integers(0, ndim))
    trail = draw(st.integers(0, ndim - lead)) if ellipsis else 0
    positions = list(range(lead)) + list(range(ndim - trail, ndim))
    kinds = []
    for axis in positions:
        options = ["slice"] + (["int"] + ["array"] * advanced if shape[axis] > 0 else [])
        kinds.append(draw(st.sampled_from(options)))
    n_arrays = kinds.count("array")
    array_shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n_arrays, max_dims=2, max_side=3)).input_shapes \
        if n_arrays else ()
    entries, arrays, k = [], [], 0
    for axis, kind in zip(positions, kinds):
        size = shape[axis]
        if kind == "int":
            entries.append(draw(st.integers(-size, size - 1).map(draw(st.sampled_from([int, np.int64])))))
        elif kind == "slice":
            entries.append(draw(_slices(size)))
        else:
            values = draw(hnp.arrays(draw(st.sampled_from([np.int64, np.int32])), array_shapes[k],
                                     elements=st.integers(-size, size - 1)))
            k += 1
            if values.ndim == 1 and draw(st.booleans()):
                entries.append(values.tolist())
            else:
                entries.append(values)
                arrays.append(values)
    if ellipsis:
        entries.insert(lead, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        entries.insert(draw(st.integers(0, len(entries))), None)
    index = entries[0] if len(entries) == 1 and draw(st.booleans()) else tuple(entries)
    return index, arrays


def substitute(index, arrays):
    """index with its ndarray entries replaced, in order, by `arrays` (e.g. by traced values)."""
    it = iter(arrays)
    if not isinstance(index, tuple):
        return next(it) if isinstance(index, np.ndarray) else index
    return tuple(next(it) if isinstance(e, np.ndarray) else e for e in index)


@st.composite
def getitem_values(draw):
    shape = draw(shapes(min_dims=1))
    index, _ = draw(indices(shape))
    entries = index if isinstance(index, tuple) else (index,)
    assume(not all(e is Ellipsis or isinstance(e, slice) and e == slice(None) for e in entries))  # x[:, ...] is x
    note(f"index={index!r}")
    x = _array(draw, shape)
    return (lambda x: x[index]), (lambda x: dnp.getitem(x, index)), (x,)


@st.composite
def index_add_values(draw):
    """index_add (getitem's transpose): zeros of x's shape with g added at x[index], duplicates summed."""
    shape = draw(shapes(min_dims=1))
    index, _ = draw(indices(shape))
    program = dt.trace(lambda x: dnp.getitem(x, index))(np.zeros(shape))
    assume(program.eqns)
    (eqn,) = program.eqns
    captured = {v.id: value for v, value in program.captures}
    arrays = [captured.get(getattr(a, "id", None), getattr(a, "value", None)) for a in eqn.inputs[1:]]
    note(f"index={index!r}")
    g = _array(draw, np.zeros(shape)[index].shape)

    def by_numpy(g):
        out = np.zeros(shape, g.dtype)
        np.add.at(out, index, g)
        return out

    prim = REGISTRY["index_add"]
    return by_numpy, (lambda g: prim(g, *arrays, index=eqn.params["index"], shape=shape)), (g,)


@st.composite
def contiguous_values(draw):
    """A transposed array laid out row by row: the same values."""
    x = _array(draw, draw(shapes()))
    return (lambda x: np.asarray(x.T, order="C")), (lambda x: contiguous(dnp.transpose(x))), (x,)


@st.composite
def index_update_values(draw):
    """index_update: a copy of x with a value (of x's dtype, broadcasting to x[index]) written at index; with
    repeated integer indices the last write wins, as NumPy writes."""
    shape = draw(shapes(min_dims=1))
    index, _ = draw(indices(shape, advanced=draw(st.booleans())))
    x = _array(draw, shape)
    target = np.zeros(shape)[index].shape
    value = draw(arrays(x.dtype, target[draw(st.integers(0, len(target))):]))
    note(f"index={index!r}")

    def by_numpy(x, value):
        out = x.copy()
        out[index] = value
        return out

    return by_numpy, (lambda x, value: dnp.index_update(x, index, value)), (x, value)

