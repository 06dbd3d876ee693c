"""One case per differentiable primitive, for the derivative and vmap suites: a dualtape function that
reaches the primitive (through `dnp`, a method or an operator), the same maths in plain NumPy, and a
hypothesis strategy of layouts (operand shapes, params, dtypes) whose values keep the function smooth
around the drawn point (away from kinks, ties, poles and domain edges), so finite differences are exact.

`CASES[name]` is a `Case`; `draw_args(draw, case, shapes, dtypes)` draws its operands. Each operand is
drawn from its own `Domain` and then passed through its own `post` map (elementwise or whole-array, one
operand at a time), so that a batch of examples can be drawn operand by operand for vmap.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from dualtape.numpy.shapes import contiguous
from dualtape.ops import shape as sh
from strategies import ANY, EXPONENT, NONZERO, NUMPY_POWER, POSITIVE, Domain, arrays, axes, broadcastable_shapes, shapes

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
TAN = Domain(-1.3, 1.3)  # clear of the poles at ±pi/2
INNER_UNIT = Domain(-0.9, 0.9)  # arcsin / arccos: clear of the infinite slopes at ±1
LOG1P = Domain(-0.75, 10.0)
MODERATE = Domain(-3.0, 3.0)


class Case(NamedTuple):
    fn: Callable  # dualtape: fn(*operands, **params)
    ref: Callable  # NumPy: ref(*operands, **params)
    layout: st.SearchStrategy  # -> (operand shapes, params, operand dtypes or None for float64)
    domains: tuple = (ANY,)  # per operand (the last one repeats)
    post: tuple = ()  # per operand: a map applied after drawing (None: none)
    rtol: float | None = None  # overrides for the finite-difference comparison
    atol: float | None = None
    h: float | None = None


def _at(seq, i, default=None):
    return seq[min(i, len(seq) - 1)] if seq else default


@st.composite
def operand(draw, case: Case, i: int, shape, dtype=F64):
    x = draw(arrays(dtype, tuple(shape), _at(case.domains, i, ANY)))
    post = _at(case.post, i)
    return x if post is None else np.asarray(post(x), dtype)


def draw_args(draw, case: Case, shape_list, dtypes=None) -> tuple:
    return tuple(draw(operand(case, i, s, (dtypes or [F64] * len(shape_list))[i])) for i, s in enumerate(shape_list))


def draw_case(data, name: str):
    """(case, shapes, params, dtypes, args) drawn for one primitive's case (hypothesis `data`). custom_vjp_call's
    rule returns (g, g), so its two operands get one shape."""
    case = CASES[name]
    shape_list, params, dtypes = data.draw(case.layout, label="layout")
    args = draw_args(data.draw, case, shape_list, dtypes)
    if name == "custom_vjp_call":
        args = (args[0], np.full_like(args[0], 0.5))
    return case, shape_list, params, dtypes, args


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
def _integer_pow(draw):
    return (draw(shapes()),), {"k": draw(st.sampled_from([-2, -1, 0, 2, 3, 4]))}, None


@st.composite
def _where(draw):
    c_shape, x_shape, y_shape = draw(broadcastable_shapes(3))
    return (x_shape, y_shape), {"c": draw(hnp.arrays(np.bool_, c_shape))}, None


@st.composite
def _reduction(draw, min_side=0):
    shape = draw(shapes(min_side=min_side))
    return (shape,), {"axis": draw(axes(len(shape))), "keepdims": draw(st.booleans())}, None


@st.composite
def _convert(draw):
    source, target = draw(st.sampled_from([(F64, F32), (F32, F64)]))
    return (draw(shapes()),), {"dtype": target}, (source,)


@st.composite
def _reshape(draw):
    shape = draw(shapes())
    options = [(-1,), shape[::-1], (1,) + shape, shape + (1,)]
    if len(shape) >= 2:
        options.append((shape[0] * shape[1],) + shape[2:])
    size = int(np.prod(shape))
    new = draw(st.sampled_from([o for o in options if (o if o != (-1,) else (size,)) != shape]))
    return (shape,), {"shape": new}, None


@st.composite
def _transpose(draw):
    shape = draw(shapes(min_dims=2))
    perm = draw(st.permutations(range(len(shape))))
    if list(perm) == sorted(perm):
        perm = perm[::-1]
    return (shape,), {"axes": tuple(perm)}, None


@st.composite
def _broadcast_to(draw):
    target = draw(shapes())
    lead = draw(st.integers(0, len(target)))
    shape = tuple(1 if draw(st.booleans()) else d for d in target[lead:])
    if shape == target:
        target = (2,) + target
    return (shape,), {"shape": target}, None


@st.composite
def _squeeze(draw):
    shape = list(draw(shapes(max_dims=2)))
    for _ in range(draw(st.integers(1, 2))):
        shape.insert(draw(st.integers(0, len(shape))), 1)
    ones = [i for i, d in enumerate(shape) if d == 1]
    chosen = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    axis = None if draw(st.booleans()) else tuple(a - len(shape) if draw(st.booleans()) else a for a in chosen)
    return (tuple(shape),), {"axis": axis}, None


@st.composite
def _expand_dims(draw):
    shape = draw(shapes())
    return (shape,), {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}, None


@st.composite
def _concatenate(draw):
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
def _getitem(draw):
    shape = draw(shapes(min_dims=1))
    return (shape,), {"index": draw(indices(shape))}, None


def index_params(shape, index):
    """getitem's (Index param, index-array operands) for x[index] with x of `shape`, as dnp normalises them."""
    entries, arrays = [], []
    consumed = sum(e is not None and e is not Ellipsis for e in index)
    for e in index:
        if e is Ellipsis:
            width = len(shape) - consumed
            entries.extend([sh.Slice(None, None, None)] * width if width > 0 else [Ellipsis])
        elif isinstance(e, slice):
            entries.append(sh.Slice(e.start, e.stop, e.step))
        elif isinstance(e, np.ndarray):
            entries.append(sh.ArrayIndex(len(arrays)))
            arrays.append(e)
        else:
            entries.append(e)
    return sh.Index(entries), arrays


@st.composite
def _index_update(draw):
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


def _index_update_np(x, v, index):
    out = np.array(x, copy=True)
    out[index] = v
    return out


@st.composite
def _index_add(draw):
    shape = draw(shapes(min_dims=1))
    index = draw(indices(shape, newaxis=False, ellipsis=False))
    return (np.zeros(shape)[index].shape,), {"index": index, "shape": shape}, None


def _index_add_dt(g, index, shape):
    entries, arrays = index_params(shape, index)
    return REGISTRY["index_add"](g, *arrays, index=entries, shape=shape)


def _index_add_np(g, index, shape):
    out = np.zeros(shape, np.asarray(g).dtype)
    np.add.at(out, index, g)
    return out


@st.composite
def _matmul(draw):
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    bx, by = draw(broadcastable_shapes(2, max_dims=2, min_side=1, max_side=3))
    x_kind, y_kind = draw(st.sampled_from(["vector", "matrix", "batched"])), draw(
        st.sampled_from(["vector", "matrix", "batched"]))
    x = {"vector": (k,), "matrix": (m, k), "batched": tuple(bx) + (m, k)}[x_kind]
    y = {"vector": (k,), "matrix": (k, n), "batched": tuple(by) + (k, n)}[y_kind]
    return (x, y), {}, None


EINSUM_SPECS = ["ij,jk->ik", "i,i->", "i,j->ij", "bij,bjk->bik", "ijk,ik->j", "ij,ij->i", "ij->ji", "ijk->ki",
                "ij->", "i,->i", "ab,cb->ca"]


@st.composite
def _einsum(draw):
    spec = draw(st.sampled_from(EINSUM_SPECS))
    sizes = {c: draw(st.integers(1, 3)) for c in sorted(set(spec) - set(",->"))}
    terms = spec.split("->")[0].split(",")
    return tuple(tuple(sizes[c] for c in t) for t in terms), {"spec": spec}, None


# ---- the cases ---------------------------------------------------------------------------------------
def unary(fn, ref, domain=ANY, post=None, **tol):
    return Case(lambda x: fn(x), lambda x: ref(x), one(), (domain,), (post,), **tol)


def binary(fn, ref, dx=ANY, dy=ANY, px=None, py=None, **tol):
    return Case(fn, ref, two(), (dx, dy), (px, py), **tol)


# ---- sub-program primitives, through the public decorators ------------------------------------------
def _body(x, y):
    return dnp.sin(x) * y + dnp.exp(0.5 * y)


def _body_np(x, y):
    return np.sin(x) * y + np.exp(0.5 * y)


@dt.custom_jvp
def _custom_jvp_body(x, y):
    return _body(x, y)


@_custom_jvp_body.defjvp
def _custom_jvp_rule(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return _body(x, y), dnp.cos(x) * y * tx + (dnp.sin(x) + 0.5 * dnp.exp(0.5 * y)) * ty


@dt.custom_vjp
def _custom_vjp_body(x, y):
    return _body(x, y)


_custom_vjp_body.defvjp(lambda x, y: (_body(x, y), (x, y)), lambda res, g: (g, g))  # forward mode ignores it


# ---- control flow, through the public functions -----------------------------------------------------
def _branch_pred(x):
    return dnp.sum(dnp.floor(x)) > -1  # piecewise constant: x is drawn in Z + 1/2, clear of its jumps


_cond = dt.jit(lambda x, y: dt.cond(_branch_pred(x), lambda a, b: dnp.sin(a) * b,
                                    lambda a, b: a * dnp.exp(0.5 * b), x, y))  # jit stages the traced predicate


def _cond_np(x, y):
    return np.sin(x) * y if np.sum(np.floor(x)) > -1 else x * np.exp(0.5 * y)


def _while_body(state, sin=dnp.sin):
    i, v = state
    return i + 1, sin(v) * 1.1 + v * 0.5


def _while(x):
    return dt.while_loop(lambda s: s[0] < 3, _while_body, (0, x))[1]


def _while_np(x):
    state = (0, x)
    while state[0] < 3:
        state = _while_body(state, np.sin)
    return state[1]


def _scan_step(c, a, cos=dnp.cos):
    return c * cos(a) + a, c * a


def _scan(c, xs):
    carry, ys = dt.scan(_scan_step, c, xs)
    return carry + ys[-1]


def _scan_np(c, xs):
    ys = []
    for a in xs:
        c, y = _scan_step(c, a, np.cos)
        ys.append(y)
    return c + ys[-1]


@st.composite
def _scan_layout(draw):
    carry = draw(shapes(max_dims=2))
    return (carry, (draw(st.integers(1, 3)),) + carry), {}, None


def _pow_np(x, k):
    with np.errstate(divide="ignore"):
        return np.power(x, float(k))


CASES: dict[str, Case] = {
    "neg": unary(lambda x: -x, np.negative),
    "sin": unary(dnp.sin, np.sin),
    "cos": unary(dnp.cos, np.cos),
    "tan": unary(dnp.tan, np.tan, TAN),
    "arcsin": unary(dnp.arcsin, np.arcsin, INNER_UNIT),
    "arccos": unary(dnp.arccos, np.arccos, INNER_UNIT),
    "arctan": unary(dnp.arctan, np.arctan),
    "sinh": unary(dnp.sinh, np.sinh),
    "cosh": unary(dnp.cosh, np.cosh),
    "tanh": unary(dnp.tanh, np.tanh, MODERATE),
    "exp": unary(dnp.exp, np.exp),
    "exp2": unary(dnp.exp2, np.exp2),
    "expm1": unary(dnp.expm1, np.expm1),
    "log": unary(dnp.log, np.log, POSITIVE),
    "log2": unary(dnp.log2, np.log2, POSITIVE),
    "log10": unary(dnp.log10, np.log10, POSITIVE),
    "log1p": unary(dnp.log1p, np.log1p, LOG1P),
    "sqrt": unary(dnp.sqrt, np.sqrt, POSITIVE),
    "sigmoid": unary(dnp.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "abs": unary(abs, np.abs, NONZERO),
    "relu": unary(dnp.relu, lambda x: np.maximum(x, 0), NONZERO),
    "integer_pow": Case(lambda x, k: x ** k, _pow_np, _integer_pow(), (NONZERO,)),
    "add": binary(lambda x, y: x + y, np.add),
    "sub": binary(dnp.subtract, np.subtract),
    "mul": binary(lambda x, y: x * y, np.multiply),
    "div": binary(lambda x, y: x / y, np.divide, dy=NONZERO),
    "pow": binary(dnp.power, NUMPY_POWER, POSITIVE, EXPONENT),
    "maximum": binary(dnp.maximum, np.maximum, px=below_half, py=above_half),
    "minimum": binary(dnp.minimum, np.minimum, px=above_half, py=below_half),
    "arctan2": binary(dnp.arctan2, np.arctan2, NONZERO, ANY),
    "mod": binary(lambda x, y: x % y, np.mod, ANY, NONZERO, odd_halves, powers_of_two),
    "where": Case(lambda x, y, c: dnp.where(c, x, y), lambda x, y, c: np.where(c, x, y), _where()),
    "convert_element_type": Case(lambda x, dtype: dnp.astype(x, dtype), lambda x, dtype: x.astype(dtype),
                                 _convert(), rtol=1e-5, atol=1e-5, h=1.0),  # linear: a wide step is exact
    "reshape": Case(lambda x, shape: x.reshape(shape), lambda x, shape: np.reshape(x, shape), _reshape()),
    "contiguous": unary(lambda x: contiguous(dnp.transpose(x)), lambda x: np.asarray(x.T, order="C")),
    "transpose": Case(lambda x, axes: dnp.transpose(x, axes), lambda x, axes: np.transpose(x, axes),
                      _transpose()),
    "broadcast_to": Case(lambda x, shape: dnp.broadcast_to(x, shape), lambda x, shape: np.broadcast_to(x, shape),
                         _broadcast_to()),
    "squeeze": Case(lambda x, axis: dnp.squeeze(x, axis), lambda x, axis: np.squeeze(x, axis), _squeeze()),
    "expand_dims": Case(lambda x, axis: dnp.expand_dims(x, axis), lambda x, axis: np.expand_dims(x, axis),
                        _expand_dims()),
    "concatenate": Case(lambda *xs, axis: dnp.concatenate(xs, axis), lambda *xs, axis: np.concatenate(xs, axis),
                        _concatenate()),
    "getitem": Case(lambda x, index: x[index], lambda x, index: x[index], _getitem()),
    "index_add": Case(_index_add_dt, _index_add_np, _index_add()),
    "index_update": Case(lambda x, v, index: dnp.index_update(x, index, v), _index_update_np, _index_update()),
    "matmul": Case(lambda x, y: x @ y, np.matmul, _matmul()),
    "einsum": Case(lambda *xs, spec: dnp.einsum(spec, *xs), lambda *xs, spec: np.einsum(spec, *xs), _einsum()),
    "reduce_sum": Case(lambda x, axis, keepdims: dnp.sum(x, axis, keepdims=keepdims),
                       lambda x, axis, keepdims: np.sum(x, axis, keepdims=keepdims), _reduction()),
    "reduce_prod": Case(lambda x, axis, keepdims: x.prod(axis, keepdims=keepdims),
                        lambda x, axis, keepdims: np.prod(x, axis, keepdims=keepdims), _reduction(),
                        (Domain(-2.0, 2.0, away=0.5),)),
    "checkpoint": binary(dt.checkpoint(_body), _body_np),
    "custom_jvp_call": binary(_custom_jvp_body, _body_np),
    "custom_vjp_call": binary(_custom_vjp_body, _body_np),
    "cond": binary(_cond, _cond_np, MODERATE, MODERATE, odd_halves),
    "while_loop": unary(_while, _while_np, MODERATE),
    "scan": Case(_scan, _scan_np, _scan_layout(), (MODERATE,)),
    "reduce_max": Case(lambda x, axis, keepdims: dnp.max(x, axis, keepdims=keepdims),
                       lambda x, axis, keepdims: np.max(x, axis, keepdims=keepdims), _reduction(min_side=1),
                       post=(distinct,)),
    "reduce_min": Case(lambda x, axis, keepdims: dnp.min(x, axis, keepdims=keepdims),
                       lambda x, axis, keepdims: np.min(x, axis, keepdims=keepdims), _reduction(min_side=1),
                       post=(distinct,)),
}
