"""PyTorch's tensor methods and `dt.X` functions over dnp's rearrangements, triangles, diagonals, scans, sorts,
contractions, splits, linalg and special functions. ROWS holds one row per PyTorch name: its signature (normalising
PyTorch's arguments, then calling dnp) and the name of the graph node PyTorch records. Both the mixin
TorchFunctionMethods (Tensor's methods) and this module's functions are made from the rows. Where dnp composes
several primitives and PyTorch records one node, one node of that name is recorded (composite.py); where the row's
node is None, dnp's own primitives carry PyTorch's names. On arrays and traced values the dnp functions just run."""

from __future__ import annotations

import itertools
import operator
import warnings

import numpy as np

from ..core.primitive import REGISTRY
from ..numpy import arrange as _ar
from ..numpy import contractions as _la
from ..numpy import diagonals as _dg
from ..numpy import elementwise as _ew
from ..numpy import joins as _jn
from ..numpy import linalg_solve as _ls
from ..numpy import scans as _sc
from ..numpy import shapes as _sh
from ..numpy import special as _sp
from ..numpy._base import dtype as dtype_of
from ..numpy._base import ndim, shape
from ..numpy.einsum import einsum as _dnp_einsum
from ..numpy.joins import axis_index
from ..numpy.methods import ARRAY_METHODS
from .torch_selection import SELECTION_ROWS, _argsort, _gathered
from .torch_rows import (
    Row,
    _at_least,
    _concrete,
    _ints,
    _need,
    _one,
    _renamed,
    _sizes,
    _with_node,
    sort_result,
)

_plain = lambda fn: lambda node, *operands: _one(node, fn, list(operands))  # (a row that is fn on its operands)
_logdet_of = lambda sign, logabsdet: _ew.where(_ew.less(sign, 0), np.array(np.nan, dtype_of(logabsdet)), logabsdet)
_polygamma = lambda node, input, n: _one(node if operator.index(n) == 0 else None, _polygamma_of, [input], n)
# the functions recorded as one node (composite.py caches each one's program: module-level, never made per call)
_cholesky_of = lambda a, upper: _ls.cholesky(a, upper=upper)
_identity_matrices = lambda a: _ew.where(  # (identity matrices of a's shape and dtype; a zero gradient to a)
    np.ones(shape(a), bool), np.broadcast_to(np.eye(shape(a)[-1], dtype=dtype_of(a)), shape(a)), a)
_copied = lambda a: a
_polygamma_of = lambda x, n: _sp.polygamma(n, x)
_logit_of = lambda p, eps: _sp.logit(p if eps is None else _ew.clip(p, eps, 1 - eps))
_xlogy_by = lambda y, x: _sp.xlogy(x, y)


# ---- rearrangements ----------------------------------------------------------------------------------
def _rot90(node, input, k=1, dims=(0, 1)):  # noqa: A002
    """input rotated by 90 degrees k times in the plane of dims, from the first towards the second."""
    _at_least("rot90", input, 2)
    return _one(node, _ar.rot90, [input], operator.index(k), _ints(dims))


def _roll(node, input, shifts, dims=None):  # noqa: A002
    """input's elements shifted along dims (of the flattened tensor when None), wrapping around."""
    shifts, dims = _ints(shifts), None if dims is None else _ints(dims)
    _need(len(shifts) == (1 if dims is None else len(dims)), "roll", f"shifts and dimensions must align: shifts "
          f"{shifts}, dims {dims}", "give one dim per shift (a single shift alone rolls the flattened tensor)")
    return _one(node, _ar.roll, [input], shifts, dims)


def _repeat(node, input, *sizes):  # noqa: A002
    """input repeated sizes[i] times along each dimension i (NumPy's tile); leading sizes add dimensions."""
    sizes = _sizes(sizes)
    _need(len(sizes) >= ndim(input), "repeat", f"{len(sizes)} repeat sizes for a tensor of {ndim(input)} dimensions "
          f"(shape {shape(input)})", "give one size per dimension at least (tile pads with ones)")
    return _one(node, _ar.tile, [input], sizes)


def _repeat_interleave(node, input, repeats, dim=None, *, output_size=None):  # noqa: A002
    """Each element repeated along dim (of the flattened tensor when None): `repeats` times, or repeats[i] times
    for element i (a tensor of counts, recorded as PyTorch's index_select)."""
    counts = _concrete(repeats)  # (output_size: PyTorch's hint to spare a device sync; shapes are known here)
    counts = tuple(counts) if isinstance(counts, list) else counts
    return _one(node if hasattr(repeats, "shape") else None, _ar.repeat, [input], counts, dim)


def _narrow(node, input, dim, start, length):  # noqa: A002
    """The view of input's elements start .. start + length along dim (a negative start counts from the end)."""
    dim = axis_index(dim, ndim(input), "narrow")
    size, start, length = shape(input)[dim], operator.index(start), operator.index(length)
    start = start + size if start < 0 else start
    _need(0 <= start <= size and 0 <= length <= size - start, "narrow", f"start {start} and length {length} do not "
          f"fit dimension {dim} of size {size} (shape {shape(input)})", "keep 0 <= start <= start + length <= size")
    return _sh.getitem(input, (slice(None),) * dim + (slice(start, start + length),))


# ---- triangles and diagonals -------------------------------------------------------------------------
def _triangle(op: str, in_place: bool = False):
    def impl(node, input, diagonal=0):  # noqa: A002
        _at_least(op, input, 2)
        out = _one(node, getattr(_dg, op), [input], operator.index(diagonal))
        return input._inplace(out, f"{op}_") if in_place else out

    side = "above" if op == "tril" else "below"
    impl.__doc__ = (f"{'self' if in_place else 'input'} with the elements {side} the diagonal-th diagonal zeroed (in "
                    f"each matrix of the last two dims){' in place' if in_place else ''}.")
    return impl


def _diag(node, input, diagonal=0):  # noqa: A002
    """A vector's square matrix, zero but for it on the diagonal-th diagonal; a matrix's diagonal-th diagonal."""
    _need(ndim(input) in (1, 2), "diag", f"supports 1-D or 2-D tensors, got shape {shape(input)}",
          "use diagonal(offset, dim1, dim2) for the diagonals of a stack of matrices")
    return _one(node[ndim(input) - 1], _dg.diag, [input], operator.index(diagonal))


def _trace(node, input):  # noqa: A002
    """The sum of a matrix's diagonal."""
    _need(ndim(input) == 2, "trace", f"expected a matrix, got shape {shape(input)}",
          "use x.diagonal(0, -2, -1).sum(-1) for a stack of matrices")
    return _one(node, _dg.trace, [input])


# ---- scans, differences, sorting ---------------------------------------------------------------------
def _scan(fn):
    def impl(node, input, dim, *, dtype=None):  # noqa: A002
        if dtype is None and np.dtype(dtype_of(input)).kind in "biu":  # (PyTorch: integers add up in int64)
            dtype = np.int64
        return _one(None, fn, [input], dim, dtype)

    impl.__doc__ = f"{fn.__doc__.split(' along')[0]} along dim, in dtype if given (int64 for integers)."
    return impl


def _sort(node, input, dim=-1, descending=False, *, stable=None):  # noqa: A002
    """(values, indices) of input sorted along dim (stably); each value's gradient goes to where it came from."""
    indices = _argsort(None, input, dim, descending)
    return sort_result(_one(node[stable is not None], _gathered, [input, indices], dim), indices)


# ---- products -----------------------------------------------------------------------------------------
def _cross(node, input, other, dim=None):  # noqa: A002
    """Cross products of the 3-vectors along dim (by default, with a warning as PyTorch's: the first of size 3)."""
    _need(ndim(input) == ndim(other), "cross", f"inputs must have the same number of dimensions, got shapes "
          f"{shape(input)} and {shape(other)}", "unsqueeze the smaller one")
    if dim is None:
        warnings.warn("cross without dim uses the first dimension of size 3, unlike linalg.cross (the last): pass "
                      "dim explicitly", UserWarning, stacklevel=3)
        dim = next((i for i, size in enumerate(shape(input)) if size == 3), None)
        _need(dim is not None, "cross", f"no dimension of size 3 in input of shape {shape(input)}", "pass dim")
    dim = axis_index(dim, ndim(input), "cross")
    _need(shape(input)[dim] == shape(other)[dim] == 3, "cross", f"inputs dimension {dim} must have length 3, got "
          f"shapes {shape(input)} and {shape(other)}", "choose the dim holding the 3-vectors")
    return _one(node, _la.cross, [input, other], -1, -1, -1, dim)


def _outer(node, input, vec2):  # noqa: A002
    """The outer product of two vectors."""
    _need(ndim(input) == ndim(vec2) == 1, "outer", f"expects two vectors, got shapes {shape(input)} and "
          f"{shape(vec2)}", "flatten them first (x.flatten())")
    return _ew.multiply(_sh.reshape(input, (-1, 1)), vec2)


def _einsum(node, equation, *operands):
    """NumPy's einsum, also with PyTorch's list of operands: einsum("ij,jk", [a, b])."""
    if isinstance(equation, str) and len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _dnp_einsum(equation, *operands)


# ---- splits -------------------------------------------------------------------------------------------
def _pieces(x, dim: int, bounds: list) -> tuple:
    return tuple(_sh.getitem(x, (slice(None),) * dim + (slice(start, stop),))
                 for start, stop in zip(bounds[:-1], bounds[1:]))


def _split(node, tensor, split_size_or_sections, dim=0):
    """Views of tensor along dim: pieces of split_size (the last one smaller), or of the sizes in a list."""
    dim = axis_index(dim, ndim(tensor), "split")
    total = shape(tensor)[dim]
    if hasattr(split_size_or_sections, "__index__"):
        size = operator.index(split_size_or_sections)
        if size < 0 or size == 0 and total:
            raise ValueError(f"split: split_size must be positive, got {size} for a dimension of size {total}")
        return _renamed(_pieces(tensor, dim, [*range(0, total, size), total] if total else [0, 0]), node[0])
    sizes = _ints(split_size_or_sections)
    _need(sum(sizes) == total and min(sizes, default=0) >= 0, "split", f"split sizes {list(sizes)} do not add up to "
          f"{total}, the size of dimension {dim} (shape {shape(tensor)})", "give non-negative sizes summing to it")
    return _renamed(_pieces(tensor, dim, [0, *itertools.accumulate(sizes)]), node[1])


def _chunk(node, input, chunks, dim=0):  # noqa: A002
    """Up to `chunks` views along dim, of equal size but the last (fewer when the size does not allow more)."""
    chunks, dim = operator.index(chunks), axis_index(dim, ndim(input), "chunk")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be greater than 0, got {chunks}")
    total = shape(input)[dim]
    size = -(-total // chunks)
    return _renamed(_pieces(input, dim, [*range(0, total, size), total] if total else [0] * (chunks + 1)), node)


def _tensor_split(node, input, indices_or_sections, dim=0):  # noqa: A002
    """Views along dim: `sections` nearly equal parts (the first ones one longer), or cut before each index."""
    _at_least("tensor_split", input, 1)
    return tuple(_jn.array_split(input, _concrete(indices_or_sections), dim))


def _unbind(node, input, dim=0):  # noqa: A002
    """The views of input at each index along dim (that dim removed)."""
    dim = axis_index(dim, ndim(input), "unbind")
    return _renamed(tuple(_sh.getitem(input, (slice(None),) * dim + (i,)) for i in range(shape(input)[dim])), node)


# ---- linear algebra -----------------------------------------------------------------------------------
def _matrix_power(node, input, n):  # noqa: A002
    """input raised to the integer power n (n < 0: of its inverse; n = 0: identity matrices)."""
    n = operator.index(n)
    if n in (0, 1):
        _need(ndim(input) >= 2 and shape(input)[-1] == shape(input)[-2], "matrix_power", f"expected a square "
              f"matrix or a stack of them, got shape {shape(input)}", "pass a tensor whose last two dims are equal")
        return _one(node[n], (_identity_matrices, _copied)[n], [input])
    return _one(None, _ls.matrix_power, [input], n)


# ---- special functions --------------------------------------------------------------------------------
def _xlogy(node, input, other):  # noqa: A002
    """input * log(other), 0 where input is 0 (unless other is NaN); either may be a Python number."""
    if isinstance(input, (int, float)):
        return _one(node[1], _xlogy_by, [other], input)
    if isinstance(other, (int, float)):
        return _one(node[2], _sp.xlogy, [input], other)
    return _one(node[0], _sp.xlogy, [input, other])


ROWS = (
    Row("flip", lambda node, input, *dims_, dims=None: _one(node, _ar.flip, [input], _sizes(dims_ if dims is None
        else (dims,))), "FlipBackward0", doc="input reversed along dims (given one by one, or as a tuple or list)."),
    Row("fliplr", _plain(_ar.fliplr), "FlipBackward0", doc="input reversed along its second dimension."),
    Row("flipud", _plain(_ar.flipud), "FlipBackward0", doc="input reversed along its first dimension."),
    Row("rot90", _rot90, "Rot90Backward0"),
    Row("roll", _roll, "RollBackward0"),
    Row("repeat", _repeat, "RepeatBackward0", function=False),
    Row("tile", lambda node, input, *dims: _one(node, _ar.tile, [input], _sizes(dims)), "RepeatBackward0",
        doc="input repeated dims[i] times along each dimension i (dims padded with leading ones, unlike repeat)."),
    Row("repeat_interleave", _repeat_interleave, "IndexSelectBackward0"),  # (by a tensor of counts)
    Row("movedim", lambda node, input, source, destination: _sh.moveaxis(input, source, destination),
        doc="input with the dims at source moved to destination (a view)."),
    Row("narrow", _narrow),
    Row("tril", _triangle("tril"), "TrilBackward0"),
    Row("triu", _triangle("triu"), "TriuBackward0"),
    Row("tril_", _triangle("tril", in_place=True), "TrilBackward0", function=False),
    Row("triu_", _triangle("triu", in_place=True), "TriuBackward0", function=False),
    Row("diag", _diag, ("DiagEmbedBackward0", "DiagonalBackward0_copy")),  # (of a vector, of a matrix)
    Row("diagonal", lambda node, input, offset=0, dim1=0, dim2=1: _dg.diagonal(input, *_ints((offset, dim1, dim2))),
        doc="The offset-th diagonal in the plane (dim1, dim2), a view (in-place changes write through to input)."),
    Row("trace", _trace, "TraceBackward0", function=False),  # (dt.trace is the tracing API)
    Row("cumsum", _scan(_sc.cumsum)),
    Row("cumprod", _scan(_sc.cumprod)),
    Row("sort", _sort, ("SortBackward0", "SortBackward1")),  # (PyTorch's overloads: without, with stable=)
    Row("argsort", _argsort),
    Row("diff", lambda node, input, n=1, dim=-1, prepend=None, append=None: _one(None, _sc.diff, [input], n, dim,
        prepend, append), doc="The n-th difference along dim, after prepend / append (tensors, or scalars) if given."),
    Row("nan_to_num", lambda node, input, nan=0.0, posinf=None, neginf=None: _one(
        node, _sc.nan_to_num, [input], True, nan, posinf, neginf), "NanToNumBackward0",
        doc="input with NaN, +inf, -inf replaced (by nan, posinf / neginf, or the dtype's largest finite values)."),
    Row("kron", _plain(_la.kron), doc="The Kronecker product (blocks input[i] * other)."),
    Row("cross", _cross, "LinalgCrossBackward0"),
    Row("inner", _plain(_la.inner), doc="Sum over the last dims of input and other (a number multiplies)."),
    Row("outer", _outer),
    Row("tensordot", lambda node, a, b, dims=2: _one(None, _la.tensordot, [a, b], _concrete(dims)), method=False,
        doc="Sum over dims of a and b: a count (a's last with b's first) or a pair of lists of dims."),
    Row("einsum", _einsum, method=False),
    Row("split", _split, ("SplitBackward0", "SplitWithSizesBackward0")),  # (by a size, by a list of sizes)
    Row("chunk", _chunk, "SplitBackward0"),
    Row("tensor_split", _tensor_split),
    Row("unbind", _unbind, "UnbindBackward0"),
    Row("cholesky", lambda node, input, upper=False: _one(node, _cholesky_of, [input], bool(upper)),
        "CholeskyBackward0", doc="The Cholesky factor of a symmetric positive-definite matrix: lower, or upper."),
    Row("inverse", _plain(_ls.inv), doc="The inverse of a square matrix (or of each in a stack)."),
    Row("det", _plain(_ls.det), doc="The determinant of a square matrix (or of each in a stack)."),
    Row("logdet", lambda node, input: _logdet_of(*_ls.slogdet(input)),
        doc="log det(input): NaN where the determinant is negative, -inf where it is 0."),
    Row("slogdet", _plain(_ls.slogdet), doc="(sign, logabsdet) of the determinant, without overflow."),
    Row("matrix_power", _matrix_power, ("CopyBackwards", "CloneBackward0")),  # (n = 0, n = 1)
    Row("polygamma", _polygamma, "PolygammaBackward0", function=lambda node, n, input: _polygamma(node, input, n),
        doc="psi^(n)(input), the n-th derivative of digamma (the function form: torch.polygamma(n, input))."),
    Row("logit", lambda node, input, eps=None: _one(node, _logit_of, [input], eps), "LogitBackward0",
        doc="log(p / (1 - p)); with eps, p clamped to [eps, 1 - eps] first (its gradient 0 outside)."),
    Row("xlogy", _xlogy, ("XlogyBackward0", "XlogyBackward1", "XlogyBackward2")),  # (tensors, number first, second)
) + SELECTION_ROWS  # (gather, topk, lerp, ...: torch_selection.py)


TorchFunctionMethods = type("TorchFunctionMethods", (), {
    "__doc__": "Tensor's methods made from ROWS (PyTorch's names and arguments over dnp's functions); they take "
               "precedence over the shared NumPy-style methods of the same names (sort, repeat, cumsum, ...).",
    "__module__": __name__, "__slots__": (),
    **{row.name: _with_node(row, row.impl) for row in ROWS if row.method}})

FUNCTIONS = {row.name: _with_node(row, row.impl if row.function is True else row.function)
             for row in ROWS if row.function}
globals().update(FUNCTIONS)  # (dt.flip, dt.cumsum, ...: the rows' function forms)

def row_method_functions(taken) -> dict:
    """{method: its function} for each registry row's `method` face not in `taken`: torch's function forms of the
    methods the rows give tensors (dt.asin(x) as x.asin()), read from the rows, not listed here."""
    return {prim.faces.method: ARRAY_METHODS[prim.faces.method] for prim in REGISTRY.values()
            if prim.faces.method and prim.faces.method not in taken}
