"""dnp contractions with NumPy's names and rules: matmul, dot, einsum (numpy/einsum.py), tensordot, inner, outer,
vdot, vecdot, matvec, vecmat, kron, cross, linalg.multi_dot, and NumPy 2's array-API names for them. Each is a
composition of the matmul and einsum primitives and elementwise and shape ops, so its derivatives come from theirs."""

from __future__ import annotations

import math
import operator
import warnings

from ..avals import broadcast_shapes
from ..errors import ShapeError
from ..ops import linalg as la
from . import elementwise as ew
from . import reductions as red
from ._base import NUMPY_VERSION, arr, bind, ndim, shape, shape_error
from .einsum import einsum
from .shapes import concatenate, getitem, moveaxis, ravel, reshape, stack, swapaxes, transpose

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def matmul(x, y):
    """Matrix product with NumPy's rules for 1-D operands and broadcast batch axes."""
    return bind(la.matmul_p, arr(x), arr(y))


def dot(a, b, out=None):
    """NumPy's dot: product for scalars, matmul up to 2-D, sum over a's last and b's second-to-last axis."""
    _no_out("dot", out)
    a, b = arr(a), arr(b)
    na, nb = ndim(a), ndim(b)
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    _check_summed("dot", a, b, na - 1, max(nb - 2, 0))
    x = _LETTERS[:na]
    y = _LETTERS[na:na + nb - 2] + x[-1] + _LETTERS[na + nb - 2] if nb >= 2 else x[-1]
    return einsum(f"{x},{y}->{x[:-1] + y.replace(x[-1], '')}", a, b)


def vdot(a, b, /):
    """Sum of the products of a's and b's elements, both flattened (they must have one size)."""
    a, b = arr(a), arr(b)
    if math.prod(shape(a)) != math.prod(shape(b)):
        raise shape_error("vdot", f"vectors have different lengths: shapes {shape(a)} and {shape(b)}",
                          fix="give both operands the same number of elements")
    return red.sum(ew.multiply(ravel(a), ravel(b)))


def vecdot(x1, x2, /, *, axis=-1):
    """Dot products along `axis` of each operand (as NumPy's gufunc: the axis counts in each operand), the
    other axes broadcast."""
    x1, x2 = arr(x1), arr(x2)
    for k, x in enumerate((x1, x2)):
        if not -ndim(x) <= axis < ndim(x):
            raise shape_error("vecdot", f"axis {axis} is out of bounds for operand {k} of shape {shape(x)}")
    x1, x2 = moveaxis(x1, axis, -1), moveaxis(x2, axis, -1)
    if shape(x1)[-1] != shape(x2)[-1]:
        raise shape_error("vecdot", f"the vectors along axis {axis} have sizes {shape(x1)[-1]} and "
                          f"{shape(x2)[-1]}", fix="give both operands the same size along the axis summed")
    return red.sum(ew.multiply(x1, x2), -1)


def matvec(x1, x2, /):
    """Matrix-vector products (NumPy 2.2's gufunc): x1 (..., m, n) times x2 (..., n), batch axes broadcast."""
    x1, x2 = arr(x1), arr(x2)
    if ndim(x1) < 2 or ndim(x2) < 1:
        raise shape_error("matvec", f"needs a matrix and a vector, got shapes {shape(x1)} and {shape(x2)}")
    return getitem(matmul(x1, reshape(x2, shape(x2) + (1,))), (Ellipsis, 0))


def vecmat(x1, x2, /):
    """Vector-matrix products (NumPy 2.2's gufunc): x1 (..., m) times x2 (..., m, n), batch axes broadcast."""
    x1, x2 = arr(x1), arr(x2)
    if ndim(x1) < 1 or ndim(x2) < 2:
        raise shape_error("vecmat", f"needs a vector and a matrix, got shapes {shape(x1)} and {shape(x2)}")
    return getitem(matmul(reshape(x1, shape(x1)[:-1] + (1,) + shape(x1)[-1:]), x2), (Ellipsis, 0, slice(None)))


def inner(a, b, /):
    """Sum over the last axes of a and b; a's other axes, then b's (a scalar operand multiplies)."""
    a, b = arr(a), arr(b)
    if ndim(a) == 0 or ndim(b) == 0:
        return ew.multiply(a, b)
    _check_summed("inner", a, b, ndim(a) - 1, ndim(b) - 1)
    x = _LETTERS[: ndim(a)]
    y = _LETTERS[ndim(a): ndim(a) + ndim(b) - 1] + x[-1]
    return einsum(f"{x},{y}->{x[:-1] + y[:-1]}", a, b)


def outer(a, b, out=None):
    """out[i, j] = a.ravel()[i] * b.ravel()[j]."""
    _no_out("outer", out)
    return einsum("i,j->ij", ravel(a), ravel(b))


def tensordot(a, b, axes=2):
    """Sum over axes of a and b paired by `axes`: a count N (a's last N with b's first N; 0 is the outer
    product), a pair of axes, or a pair of sequences of axes. The result has a's free axes, then b's."""
    a, b = arr(a), arr(b)
    na, nb = ndim(a), ndim(b)
    if hasattr(axes, "__index__"):
        n = operator.index(axes)
        if not 0 <= n <= min(na, nb):
            raise shape_error("tensordot", f"axes={n} sums over {n} axes, but the operands have shapes {shape(a)} "
                              f"and {shape(b)}", fix=f"give axes between 0 and {min(na, nb)}")
        pairs = list(zip(range(na - n, na), range(n)))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if hasattr(axes_a, "__index__") else list(axes_a)
        axes_b = [axes_b] if hasattr(axes_b, "__index__") else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError(f"tensordot: axes {axes} pair {len(axes_a)} axes of a with {len(axes_b)} of b "
                             "(shape-mismatch for sum)")
        pairs = [(_axis("tensordot", p, na, "a"), _axis("tensordot", q, nb, "b")) for p, q in zip(axes_a, axes_b)]
        if len({p for p, _ in pairs}) != len(pairs) or len({q for _, q in pairs}) != len(pairs):
            raise ValueError(f"tensordot: duplicate axes are not allowed, got axes={axes}")
    for p, q in pairs:
        _check_summed("tensordot", a, b, p, q)
    x = _LETTERS[:na]
    y = [_LETTERS[na + k] for k in range(nb)]
    for p, q in pairs:
        y[q] = x[p]
    summed = {x[p] for p, _ in pairs}
    out = "".join(c for c in x if c not in summed) + "".join(c for c in y if c not in summed)
    return einsum(f"{x},{''.join(y)}->{out}", a, b)


def kron(a, b):
    """The Kronecker product: blocks a[i] * b, for operands of any ranks (the lower-rank one gains leading 1s)."""
    a, b = arr(a), arr(b)
    n = max(ndim(a), ndim(b))
    sa, sb = (1,) * (n - ndim(a)) + shape(a), (1,) * (n - ndim(b)) + shape(b)
    blocks = ew.multiply(reshape(a, tuple(d for s in sa for d in (s, 1))),
                         reshape(b, tuple(d for s in sb for d in (1, s))))
    return reshape(blocks, tuple(p * q for p, q in zip(sa, sb)))


CROSS_2_VECTORS = NUMPY_VERSION < (2, 5)  # (deprecated in NumPy 2.0, refused from 2.5)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross products of the 3-vectors along axisa of a and axisb of b, broadcast over the other axes, placed along
    axisc of the result; `axis` sets all three. Before NumPy 2.5, 2-vectors are taken with z = 0 (two of them give
    the z-component) and warned of, as NumPy does."""
    a, b = arr(a), arr(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, _axis("cross", axisa, ndim(a), "a"), -1)
    b = moveaxis(b, _axis("cross", axisb, ndim(b), "b"), -1)
    m, n = shape(a)[-1], shape(b)[-1]
    sizes = (2, 3) if CROSS_2_VECTORS else (3,)
    if m not in sizes or n not in sizes:
        raise shape_error("cross", f"incompatible dimensions for cross product: vectors of {m} and {n} elements "
                          f"(dimension must be {' or '.join(map(str, sizes))})",
                          fix="choose the axes holding the vectors with axisa/axisb"
                          + ("" if CROSS_2_VECTORS else "; append a zero z-component to 2-vectors (NumPy 2.5 "
                                                         "no longer takes them)"))
    try:
        broadcast_shapes("cross", shape(a)[:-1], shape(b)[:-1])
    except ShapeError:
        raise shape_error("cross", f"the axes besides the vectors do not broadcast: shapes {shape(a)[:-1]} and "
                          f"{shape(b)[:-1]} (after moving the vector axis last)") from None
    if 2 in (m, n):  # (as NumPy 2.0 to 2.4)
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional vectors "
                      "instead. (deprecated in NumPy 2.0)", DeprecationWarning, stacklevel=2)
    a0, a1, b0, b1 = (getitem(v, (Ellipsis, k)) for v in (a, b) for k in (0, 1))
    z = ew.subtract(ew.multiply(a0, b1), ew.multiply(a1, b0))
    if m == n == 2:
        return z
    if m == 3 and n == 3:
        a2, b2 = getitem(a, (Ellipsis, 2)), getitem(b, (Ellipsis, 2))
        x = ew.subtract(ew.multiply(a1, b2), ew.multiply(a2, b1))
        y = ew.subtract(ew.multiply(a2, b0), ew.multiply(a0, b2))
    elif m == 2:
        b2 = getitem(b, (Ellipsis, 2))
        x, y = ew.multiply(a1, b2), ew.negative(ew.multiply(a0, b2))
    else:
        a2 = getitem(a, (Ellipsis, 2))
        x, y = ew.negative(ew.multiply(a2, b1)), ew.multiply(a2, b0)
    c = stack([x, y, z], axis=-1)
    return moveaxis(c, -1, _axis("cross", axisc, ndim(c), "the result"))


def multi_dot(arrays, *, out=None):
    """The product of a chain of matrices in the order that needs the fewest multiplications (NumPy's dynamic
    programme); the first may be a row vector and the last a column vector, as in np.linalg.multi_dot."""
    _no_out("multi_dot", out)
    arrays = [arr(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError(f"multi_dot: expecting at least two arrays, got {len(arrays)}")
    if len(arrays) == 2:
        return dot(*arrays)
    row, column = ndim(arrays[0]) == 1, ndim(arrays[-1]) == 1
    arrays[0] = reshape(arrays[0], (1, -1)) if row else arrays[0]
    arrays[-1] = reshape(arrays[-1], (-1, 1)) if column else arrays[-1]
    for k, m in enumerate(arrays):
        if ndim(m) != 2:
            raise shape_error("multi_dot", f"array {k} has shape {shape(m)}: it must be two-dimensional",
                              fix="pass matrices (only the first and last array may be vectors)")
        if k and shape(m)[0] != shape(arrays[k - 1])[1]:
            raise shape_error("multi_dot", f"arrays {k - 1} and {k} do not chain: shapes {shape(arrays[k - 1])} "
                              f"and {shape(m)}", fix="make each matrix's columns match the next one's rows")
    dims = [shape(arrays[0])[0]] + [shape(m)[1] for m in arrays]
    product = _chain(arrays, _chain_splits(dims), 0, len(arrays) - 1)
    if row or column:
        return reshape(product, () if row and column else (dims[-1],) if row else (dims[0],))
    return product


def _chain_splits(dims: list) -> list:
    """split[i][j]: where the cheapest product of matrices i..j (matrix k is dims[k] x dims[k + 1]) splits;
    the first of equally cheap splits, as NumPy's multi_dot."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(arrays, split, i: int, j: int):
    if i == j:
        return arrays[i]
    k = split[i][j]
    return matmul(_chain(arrays, split, i, k), _chain(arrays, split, k + 1, j))


def _axis(op: str, axis, n: int, what: str) -> int:
    axis = operator.index(axis)
    if not -n <= axis < n:
        raise shape_error(op, f"axis {axis} is out of bounds for {what}, of dimension {n}")
    return axis % n


def _check_summed(op: str, a, b, p: int, q: int) -> None:
    """Axis p of a and axis q of b, summed together, have one size."""
    if shape(a)[p] != shape(b)[q]:
        raise shape_error(op, f"shapes {shape(a)} and {shape(b)} are not aligned: axis {p} of the first has size "
                          f"{shape(a)[p]}, axis {q} of the second {shape(b)[q]}",
                          fix="sum over axes of one size (transpose or reshape an operand)")


def _no_out(op: str, out) -> None:
    if out is not None:
        raise NotImplementedError(f"{op}(..., out=...) writes in place; traced values are immutable: assign the "
                                  "result instead")


# ---- NumPy 2's array-API names --------------------------------------------------------------------------
def matrix_transpose(x, /):
    """x with its last two axes swapped (a stack of matrices, each transposed)."""
    if ndim(x) < 2:
        raise shape_error("matrix_transpose", f"input of shape {shape(x)} must be at least 2-dimensional")
    return swapaxes(x, -1, -2)


def permute_dims(a, axes=None):
    """NumPy 2's name for transpose."""
    return transpose(a, axes)


def concat(arrays, /, axis=0):
    """NumPy 2's name for concatenate (arrays joined along an existing axis)."""
    return concatenate(arrays, axis)


def linalg_outer(x1, x2, /):
    """np.linalg.outer: the outer product of two vectors (1-D only, unlike np.outer)."""
    if ndim(x1) != 1 or ndim(x2) != 1:
        raise shape_error("linalg.outer", f"input arrays must be one-dimensional, got shapes {shape(x1)} and "
                          f"{shape(x2)}", fix="use dnp.outer, which flattens its operands")
    return outer(x1, x2)


def linalg_tensordot(x1, x2, /, *, axes=2):
    """np.linalg.tensordot: tensordot with axes keyword-only."""
    return tensordot(x1, x2, axes)


def linalg_cross(x1, x2, /, *, axis=-1):
    """np.linalg.cross: cross products of 3-vectors along axis (2-vectors are refused, as NumPy)."""
    m = shape(x1)[_axis("linalg.cross", axis, ndim(x1), "x1")]
    n = shape(x2)[_axis("linalg.cross", axis, ndim(x2), "x2")]
    if m != 3 or n != 3:
        raise shape_error("linalg.cross", f"both input arrays must be (arrays of) 3-dimensional vectors, got "
                          f"{m} and {n} elements along axis {axis}", fix="use dnp.cross for 2-vectors")
    return cross(x1, x2, axis=axis)
