"""PyTorch's selecting and writing methods over dnp's indexing and elementwise functions: gather,
take_along_dim, index_select, masked_select, select, topk, median, kthvalue (and argsort, which sort shares),
scatter, scatter_add, index_add, where, lerp, reciprocal, rsqrt, trunc, frac, bmm, mv, view_as, type_as, isnan
and isinf. Rows as torch_functions.py's (torch_rows.Row), recorded as PyTorch's nodes."""

from __future__ import annotations

import operator
from collections import namedtuple

import numpy as np

from .._util import normalize_axis
from ..numpy import arrange as _ar
from ..numpy import contractions as _la
from ..numpy import elementwise as _ew
from ..numpy import predicates as _pr
from ..numpy import reductions as _red
from ..numpy import scans as _sc
from ..numpy import shapes as _sh
from ..numpy._base import dtype as dtype_of
from ..numpy._base import ndim, shape
from ..numpy.joins import axis_index
from .tensor_methods import scaled
from .torch_rows import Row, _is_tensor, _need, _one, _renamed

topk_result = namedtuple("topk", ["values", "indices"])  # (torch.return_types.topk, ...)
median_result = namedtuple("median", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])


def _index_array(index, op: str):
    """An index tensor (or an array, or a list, as an array), checked to hold integers (its values are not read:
    under dt.compile they are traced)."""
    index = index if hasattr(index, "dtype") else np.asarray(index)
    if np.dtype(dtype_of(index)).kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {dtype_of(index)}; pass indices as an "
                        "integer tensor (e.g. dt.tensor([0, 2]) or index.long())")
    return index


def _gather(node, input, dim, index, *, sparse_grad=False):  # noqa: A002
    """out[i][j] = input[i][index[i][j]] along dim (for dim 1): index has input's rank and, off dim, no larger
    sizes; each value's gradient goes back to where it was read."""
    index = _index_array(index, "gather")
    dim = axis_index(dim, max(ndim(input), 1), "gather")
    _need(ndim(index) == ndim(input), "gather", f"index of shape {shape(index)} must have the input's rank "
          f"({ndim(input)}, shape {shape(input)})", "reshape or unsqueeze the index")
    _need(all(i <= n for d, (i, n) in enumerate(zip(shape(index), shape(input))) if d != dim), "gather",
          f"index of shape {shape(index)} is larger than input of shape {shape(input)} off dimension {dim}",
          "index must not be larger than input in any dimension but dim")
    return _one(node, _gathered, [input, index], dim)


def _gathered(x, index, dim):
    """x (cut to index's sizes off dim) read along dim at index."""
    if ndim(x) == 0:
        return x
    cut = tuple(slice(None) if d == dim else slice(0, i) for d, i in enumerate(shape(index)))
    if any(s.stop is not None and s.stop < n for s, n in zip(cut, shape(x))):
        x = _sh.getitem(x, cut)
    return _sh.take_along_axis(x, index, dim)


def _take_along_dim(node, input, indices, dim=None):  # noqa: A002
    """input read at indices along dim, broadcasting as NumPy's take_along_axis (None: of the flattened input)."""
    indices = _index_array(indices, "take_along_dim")
    if dim is None:
        return _one(node, _sh.take_along_axis, [_sh.reshape(input, (-1,)), _sh.reshape(indices, (-1,))], 0)
    return _one(node, _sh.take_along_axis, [input, indices], axis_index(dim, max(ndim(input), 1), "take_along_dim"))


def _index_select(node, input, dim, index):  # noqa: A002
    """input's entries at index (a 0-d or 1-d integer tensor) along dim, in that order."""
    index = _index_array(index, "index_select")
    _need(ndim(index) <= 1, "index_select", f"index must be 0-d or 1-d, got shape {shape(index)}",
          "flatten the index, or use gather for one index per element")
    dim = axis_index(dim, max(ndim(input), 1), "index_select")
    return _one(node, _selected, [input, _sh.reshape(index, (-1,))], dim)


_selected = lambda x, index, dim: _sh.getitem(x, (slice(None),) * dim + (index,))


def _masked_select(node, input, mask):  # noqa: A002
    """The 1-d tensor of input's entries where mask (broadcast with input) is True, in row-major order."""
    data = np.asarray(getattr(mask, "_array", mask))
    _need(data.dtype == np.bool_, "masked_select", f"mask must be a boolean tensor, got dtype {data.dtype}",
          "compare first, e.g. x.masked_select(x > 0)")
    both = np.broadcast_shapes(shape(input), data.shape)
    picked = _sh.getitem(_sh.broadcast_to(input, both), np.broadcast_to(data, both))
    return _renamed((picked,), node)[0]  # (its size depends on the mask's values: not one cached node)


def _select(node, input, dim, index):  # noqa: A002
    """The view of input at index along dim, that dim removed."""
    dim = axis_index(dim, ndim(input), "select")
    return _sh.getitem(input, (slice(None),) * dim + (operator.index(index),))


def _topk(node, input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """(values, indices) of the k largest (or smallest) entries along dim, largest first (smallest first)."""
    dim = axis_index(dim, max(ndim(input), 1), "topk")
    size = shape(input)[dim] if ndim(input) else 1
    k = operator.index(k)
    _need(0 <= k <= size, "topk", f"k ({k}) out of range for dimension {dim} of size {size}", "take 0 <= k <= size")
    order = _argsort(None, input, dim, largest)
    indices = _sh.getitem(order, (slice(None),) * dim + (slice(0, k),)) if ndim(input) else order
    return topk_result(_one(node, _gathered, [input, indices], dim), indices)


def _argsort(node, input, dim=-1, descending=False, *, stable=False):  # noqa: A002
    """Indices that sort input along dim, always stably (equal values keep their order; NaN counts largest)."""
    x = input.detach() if _is_tensor(input) else input
    if ndim(x) == 0:
        normalize_axis(dim, 1, "argsort")
        return _sh.reshape(_sc.argsort(x, None), ())
    dim = axis_index(dim, ndim(x), "argsort")
    if not descending:
        return _sc.argsort(x, dim)
    backwards = _sc.argsort(_ar.flip(x, dim), dim)  # (stable ascending of the reversed: ties come out reversed)
    return _ew.subtract(shape(x)[dim] - 1, _ar.flip(backwards, dim))


def _order_statistic(node, input, position, dim, keepdim, op, nan_first=False):  # noqa: A002
    """(values, indices) of the position-th smallest along dim (0-based; position(size) for a size), NaN sorting
    last; with nan_first (PyTorch's median), NaN and the first NaN's index where the slice holds one."""
    dim = axis_index(dim, max(ndim(input), 1), op)
    x = input.detach() if _is_tensor(input) else input
    if ndim(x) == 0:
        x, input = _sh.reshape(x, (1,)), _sh.reshape(input, (1,))
    size = shape(x)[dim]
    k = position(size)
    _need(0 <= k < size, op, f"k ({k + 1}) out of range for dimension {dim} of size {size}", "take 1 <= k <= size")
    picked = _sh.getitem(_argsort(None, x, dim), (slice(None),) * dim + (slice(k, k + 1),))
    indices = picked
    if nan_first:
        nan = _pr.isnan(x)
        first_nan = _sh.expand_dims(_red.argmax(nan, dim), dim)
        indices = _ew.where(_pr.any(nan, dim, keepdims=True), first_nan, picked)
    values = _one(node, _gathered_kept, [input, indices], dim, keepdim)
    return values, indices if keepdim else _sh.squeeze(indices, dim)


def _gathered_kept(x, index, dim, keepdim):
    values = _gathered(x, index, dim)
    return values if keepdim else _sh.squeeze(values, dim)


def _median(node, input, dim=None, keepdim=False):  # noqa: A002
    """The lower median ((n - 1) // 2-th smallest) of all elements, or (values, indices) along dim."""
    if dim is None:
        flat = _sh.reshape(input, (-1,))
        return _order_statistic(node[0], flat, lambda n: (n - 1) // 2, 0, False, "median", True)[0]
    return median_result._make(_order_statistic(node[1], input, lambda n: (n - 1) // 2, dim, keepdim, "median",
                                                True))


def _kthvalue(node, input, k, dim=-1, keepdim=False):  # noqa: A002
    """(values, indices) of the k-th smallest (k from 1) along dim."""
    k = operator.index(k)
    return kthvalue_result._make(_order_statistic(node, input, lambda n: k - 1, dim, keepdim, "kthvalue"))


# ---- writing at indices (scatter, index_add) ------------------------------------------------------------
def _scatter_like(op: str, input, dim, index, src):  # noqa: A002
    """PyTorch's checks of scatter / scatter_add: index of input's rank, no larger than src, nor than input off
    dim. Returns dim, normalised."""
    _index_array(index, op)
    dim = axis_index(dim, max(ndim(input), 1), op)
    _need(ndim(index) == ndim(input), op, f"index of shape {shape(index)} must have the input's rank "
          f"({ndim(input)}, shape {shape(input)})", "reshape or unsqueeze the index")
    _need(all(i <= n for i, n in zip(shape(index), shape(src))) and all(
        i <= n for d, (i, n) in enumerate(zip(shape(index), shape(input))) if d != dim), op,
        f"index of shape {shape(index)} must be no larger than src {shape(src)}, nor than input {shape(input)} off "
        f"dimension {dim}", "cut the index to the sizes it writes")
    return dim


def _scattered(x, index, src, dim, accumulate):
    """x with src (cut to index's shape) written (or added, accumulate) at index along dim, each other dim at
    the position itself."""
    grids = list(np.indices(shape(index), sparse=True))
    grids[dim] = index
    values = _sh.getitem(src, tuple(slice(0, n) for n in shape(index))) if shape(src) != shape(index) else src
    return (_sh.index_add if accumulate else _sh.index_update)(x, tuple(grids), values)


def _scatter_add(node, input, dim, index, src):  # noqa: A002
    """input with src's entries added at index along dim (repeated indices accumulate)."""
    dim = _scatter_like("scatter_add", input, dim, index, src)
    return _one(node, _scattered, [input, index, src], dim, True)


def _scatter(node, input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """input with src's entries (or the number value) written at index along dim."""
    _need(reduce is None, "scatter", f"reduce={reduce!r} is not supported", "use scatter_add for sums")
    if src is None or not hasattr(src, "shape"):
        filler = value if src is None else src
        _need(filler is not None, "scatter", "give src (a tensor) or value (a number)", "pass value=0.0, say")
        src = _ew.full_like(index, filler, dtype=input.dtype)  # (on the index's device)
        dim = _scatter_like("scatter", input, dim, index, src)
        return _one(node[1], _scattered, [input, index, src], dim, False)
    dim = _scatter_like("scatter", input, dim, index, src)
    return _one(node[0], _scattered, [input, index, src], dim, False)


def _index_add(node, input, dim, index, source, *, alpha=1):  # noqa: A002
    """input with source's slices along dim added at the positions index names (repeats accumulate)."""
    _index_array(index, "index_add")
    _need(ndim(index) == 1, "index_add", f"index must be 1-d, got shape {shape(index)}", "flatten the index")
    dim = axis_index(dim, max(ndim(input), 1), "index_add")
    expected = tuple(shape(index)[0] if d == dim else n for d, n in enumerate(shape(input)))
    _need(tuple(shape(source)) == expected, "index_add", f"source of shape {shape(source)} must be {expected} (input's "
          f"shape with dimension {dim} of the index's length)", "reshape source")
    return _one(node, _added_at, [input, index, scaled(source, alpha)], dim)


_added_at = lambda x, index, source, dim: _sh.index_add(x, (slice(None),) * dim + (index,), source)
_reciprocal_sqrt = lambda x: _ew.reciprocal(_ew.sqrt(x))
_truncated = lambda x: _ew.where(_ew.less(x, 0), _ew.ceil(x), _ew.floor(x))
_fraction = lambda x: _ew.subtract(x, _truncated(x))


def _lerp(node, input, end, weight):  # noqa: A002
    """input + weight (end - input)."""
    if _is_tensor(weight):
        return _one(node[1], _lerped, [input, end, weight])
    return _one(node[0], _lerped, [input, end], float(weight))  # (a number: static in the cached node)


_lerped = lambda start, end, weight: _ew.add(start, _ew.multiply(weight, _ew.subtract(end, start)))


def _bmm(node, input, mat2):  # noqa: A002
    """Batched matrix products of two (b, n, m) and (b, m, p) tensors."""
    _need(ndim(input) == 3 and ndim(mat2) == 3 and shape(input)[0] == shape(mat2)[0], "bmm",
          f"expected batches of matrices of one batch size, got shapes {shape(input)} and {shape(mat2)}",
          "use matmul to broadcast batch dimensions")
    return _one(node, _la.matmul, [input, mat2])


def _type_as(node, input, other):  # noqa: A002
    """input in other's dtype (input itself where they already agree)."""
    return input if input.dtype == other.dtype else input.to(other.dtype)


SELECTION_ROWS = (
    Row("gather", _gather, "GatherBackward0"),
    Row("take_along_dim", _take_along_dim, "GatherBackward0"),
    Row("index_select", _index_select, "IndexSelectBackward0"),
    Row("masked_select", _masked_select, "MaskedSelectBackward0"),
    Row("select", _select),
    Row("topk", _topk, "TopkBackward0"),
    Row("where", lambda node, input, condition, other: _ew.where(condition, input, other), function=False,
        doc="input where condition is True, else other (condition first in dt.where)."),
    Row("lerp", _lerp, ("LerpBackward0", "LerpBackward1")),  # (by a number, by a tensor)
    Row("reciprocal", lambda node, input: _one(node, _ew.reciprocal, [input]), "ReciprocalBackward0",
        doc="1 / input."),
    Row("rsqrt", lambda node, input: _one(node, _reciprocal_sqrt, [input]), "RsqrtBackward0",
        doc="1 / sqrt(input)."),
    Row("bmm", _bmm, "BmmBackward0"),
    Row("mv", lambda node, input, vec: _la.matmul(input, vec), doc="The product of a matrix and a vector."),
    Row("median", _median, ("MedianBackward0", "MedianBackward1")),  # (of all elements, along dim)
    Row("kthvalue", _kthvalue, "KthvalueBackward0"),
    Row("scatter_add", _scatter_add, "ScatterAddBackward0"),
    Row("scatter", _scatter, ("ScatterBackward0", "ScatterBackward1")),  # (from a tensor, from a number)
    Row("index_add", _index_add, "IndexAddBackward0"),
    Row("trunc", lambda node, input: _one(node, _truncated, [input]), "TruncBackward0",
        doc="input rounded towards zero (gradient 0, as PyTorch's)."),
    Row("frac", lambda node, input: _one(node, _fraction, [input]), "FracBackward0",
        doc="input's fractional part, input - trunc(input), of input's sign."),
    Row("view_as", lambda node, input, other: _sh.reshape(input, shape(other)), function=False,
        doc="input viewed in other's shape."),
    Row("type_as", _type_as, function=False),
    Row("isnan", lambda node, input: _pr.isnan(input), doc="True where input is NaN."),
    Row("isinf", lambda node, input: _pr.isinf(input), doc="True where input is infinite."),
)

