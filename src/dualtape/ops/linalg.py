"""Contractions: batched `matmul` with NumPy's 1-D rules, and `einsum` over explicit letters; `contract` writes
an einsum of three or more operands as two-operand einsum equations in the order np.einsum_path chooses."""

from __future__ import annotations

import functools

import numpy as np

from ..avals import aval_of, broadcast_shapes
from ..core.faces import LOW, Faces, Facts
from ..core.primitive import Primitive
from ..errors import ShapeError
from .indexing import Index, Slice, index_add_p
from .rules import add_any, declare_reads, defjvp, defvjp, fit_dtype, move_batch_rank, unbroadcast
from .shape import broadcast_to_p, expand_dims_p, reshape_p, squeeze_p, transpose_p


def _matmul_rule(x, y):
    if x.ndim == 0 or y.ndim == 0:
        raise ShapeError("matmul", f"operands must not be scalars, got shapes {x.shape} and {y.shape}",
                         fix="use * to multiply by a scalar")
    xs = (1,) + x.shape if x.ndim == 1 else x.shape
    ys = y.shape + (1,) if y.ndim == 1 else y.shape
    if xs[-1] != ys[-2]:
        raise ShapeError("matmul", f"inner dimensions do not match: {x.shape} @ {y.shape} ({xs[-1]} != {ys[-2]})",
                         fix="transpose or reshape an operand so that x.shape[-1] == y.shape[-2]")
    try:
        batch = broadcast_shapes("matmul", xs[:-2], ys[:-2])
    except ShapeError:  # name the operands' shapes, not just their batch parts
        raise ShapeError("matmul", f"batch axes do not broadcast: {x.shape} @ {y.shape}",
                         fix="make the leading (batch) axes broadcast together") from None
    out = batch + (xs[-2],) * (x.ndim > 1) + (ys[-1],) * (y.ndim > 1)
    return out


def parse_einsum(spec: str, ndims) -> tuple[list[str], str]:
    """Input terms and output term of an explicit einsum spec ("ij,jk->ik"), checked against operand ranks."""
    if "." in spec:
        raise NotImplementedError(f"einsum primitive: '...' in {spec!r}: the primitive takes explicit letters; "
                                  "dnp.einsum expands an ellipsis into them")
    lhs, _, out = spec.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ShapeError("einsum", f"subscripts {spec!r} name {len(terms)} operands, got {len(ndims)}")
    for t, nd in zip(terms, ndims):
        if len(t) != nd or not (t.isalpha() or t == ""):  # "" is the term of a 0-d operand
            raise ShapeError("einsum", f"term {t!r} of {spec!r} does not match an operand of rank {nd}")
    return terms, out


def _einsum_rule(*xs, spec):
    terms, out = parse_einsum(spec, [x.ndim for x in xs])
    sizes: dict[str, int] = {}
    for t, x in zip(terms, xs):
        for c, d in zip(t, x.shape):
            if sizes.setdefault(c, d) != d:
                shapes = ", ".join(str(x.shape) for x in xs)
                raise ShapeError("einsum", f"axis {c!r} has sizes {sizes[c]} and {d} in {spec!r} ({shapes})")
    return tuple(sizes[c] for c in out)


matmul_p = Primitive("matmul", ("x", "y"), "x @ y", _matmul_rule,
                     faces=Faces(dnp=("matmul",), ufunc="matmul", method="matmul", torch_node="MmBackward0"),
                     facts=Facts(new_array=True, precision=LOW))
einsum_p = Primitive("einsum", "*xs", "xp.einsum(spec, *xs)", _einsum_rule, faces=Faces(torch_node="EinsumBackward0"),
                     facts=Facts(precision=LOW))
einsum_p.non_standard = 'xp.einsum'


# ---- matmul: derivative and batch rules --------------------------------------------------------------
def _mT(x):
    n = aval_of(x).ndim
    return transpose_p(x, perm=tuple(range(n - 2)) + (n - 1, n - 2))


def _unsqueeze(x, axis: int):
    return expand_dims_p(x, axes=(axis % (aval_of(x).ndim + 1),))


def _matmul_x_bar(g, ans, x, y):
    xa, ya = aval_of(x), aval_of(y)
    if ya.ndim == 1:  # out[..., n] = x[..., n, k] y[k]
        return unbroadcast(g * y if xa.ndim == 1 else _unsqueeze(g, -1) * y, xa)
    if xa.ndim == 1 and ya.ndim == 2:  # out[m] = x[k] y[k, m]: x_bar = y @ g
        return fit_dtype(matmul_p(y, g), xa)
    if xa.ndim == 1:  # out[..., m] = x[k] y[..., k, m]
        row = matmul_p(_unsqueeze(g, -2), _mT(y))
        return unbroadcast(squeeze_p(row, axes=(aval_of(row).ndim - 2,)), xa)
    return unbroadcast(matmul_p(g, _mT(y)), xa)


def _matmul_y_bar(g, ans, x, y):
    xa, ya = aval_of(x), aval_of(y)
    if xa.ndim == 1:
        return unbroadcast(g * x if ya.ndim == 1 else _unsqueeze(x, -1) * _unsqueeze(g, -2), ya)
    if ya.ndim == 1 and xa.ndim == 2:  # out[n] = x[n, k] y[k]: y_bar = g @ x
        return fit_dtype(matmul_p(g, x), ya)
    if ya.ndim == 1:
        col = matmul_p(_mT(x), _unsqueeze(g, -1))
        return unbroadcast(squeeze_p(col, axes=(aval_of(col).ndim - 1,)), ya)
    return unbroadcast(matmul_p(_mT(x), g), ya)


def _matmul_batch(values, batched, size):
    """Per-example 1-D operands become matrices, batched operands are aligned to the output's batch rank
    (batch axis first), and the added axes are squeezed out again."""
    (x, y), (bx, by) = values, batched
    if bx and not by and aval_of(x).ndim == 2 and aval_of(y).ndim == 2:  # vectors times a matrix: one GEMM
        return matmul_p(x, y)
    if by and not bx and aval_of(y).ndim == 2 and aval_of(x).ndim == 2:  # a matrix times vectors
        return matmul_p(y, _mT(x))
    x_vec, y_vec = aval_of(x).ndim - bx == 1, aval_of(y).ndim - by == 1
    if x_vec:
        x = _unsqueeze(x, -2)
    if y_vec:
        y = _unsqueeze(y, -1)
    rank = max(aval_of(x).ndim - bx, aval_of(y).ndim - by)
    x = move_batch_rank(x, aval_of(x).ndim - 1, rank, size) if bx else x
    y = move_batch_rank(y, aval_of(y).ndim - 1, rank, size) if by else y
    out = matmul_p(x, y)
    n = aval_of(out).ndim
    drop = ((n - 2,) if x_vec else ()) + ((n - 1,) if y_vec else ())
    return squeeze_p(out, axes=drop) if drop else out


defjvp(matmul_p, lambda t, ans, x, y: matmul_p(t, y), lambda t, ans, x, y: matmul_p(x, t))
defvjp(matmul_p, _matmul_x_bar, _matmul_y_bar, reads=("y", "x"))
matmul_p.batch = _matmul_batch


# ---- addmm: PyTorch's bias + mat1 @ mat2, the product of nn.Linear --------------------------------------
def _addmm_rule(bias, mat1, mat2):
    if mat1.ndim != 2 or mat2.ndim != 2 or mat1.shape[1] != mat2.shape[0]:
        raise ShapeError("addmm", f"mat1 {mat1.shape} and mat2 {mat2.shape} must be matrices with mat1's columns "
                         "as many as mat2's rows", fix="use matmul for vectors and batches of matrices")
    out = (mat1.shape[0], mat2.shape[1])
    if broadcast_shapes("addmm", bias.shape, out) != out:
        raise ShapeError("addmm", f"bias {bias.shape} does not broadcast to the product's shape {out}",
                         fix="give a bias of shape (out_features,) or of the product's shape")
    return out


addmm_p = Primitive("addmm", ("bias", "mat1", "mat2"), "mat1 @ mat2 + bias", _addmm_rule,
                    faces=Faces(torch_node="AddmmBackward0"), facts=Facts(new_array=True, precision=LOW))
defjvp(addmm_p, lambda t, ans, bias, mat1, mat2: t, lambda t, ans, bias, mat1, mat2: matmul_p(t, mat2),
       lambda t, ans, bias, mat1, mat2: matmul_p(mat1, t))
# mat2's cotangent is (g^T mat1)^T, PyTorch's choice for a column-major mat2 such as Linear's weight.t(): the
# weight's gradient then comes out row-major, laid out as the weight is, with no transposing copy into .grad
defvjp(addmm_p, lambda g, ans, bias, mat1, mat2: unbroadcast(g, aval_of(bias)),
       lambda g, ans, bias, mat1, mat2: matmul_p(g, _mT(mat2)),
       lambda g, ans, bias, mat1, mat2: _mT(matmul_p(_mT(g), mat1)), reads=("", "mat2", "mat1"))
addmm_p.expand = lambda bias, mat1, mat2: matmul_p(mat1, mat2) + bias  # (vmap: a matmul and an add)


# ---- einsum of many operands: pairwise, in np.einsum_path's order -------------------------------------
def contract(spec: str, *xs, optimize="greedy"):
    """einsum over explicit letters as one- and two-operand einsum equations, paired in the order
    np.einsum_path chooses (optimize: "greedy", "optimal", or an explicit ["einsum_path", (0, 1), ...]): no
    step loops over every letter at once, and each step's derivatives are two-operand contractions."""
    if len(xs) == 1 and spec.split("->")[0] == spec.split("->")[1]:
        return xs[0]  # (the identity: "ij->ij", as an einsum's cotangent often is; no copy)
    if len(xs) <= 2:
        return einsum_p(*xs, spec=spec)
    terms, out = parse_einsum(spec, [aval_of(x).ndim for x in xs])
    if not isinstance(optimize, (str, bool)) and len(optimize) and optimize[0] == "einsum_path":
        path = tuple(tuple(step) for step in optimize[1:])
    else:
        shapes = tuple(aval_of(x).shape for x in xs)
        path = contraction_path(spec, shapes, optimize if isinstance(optimize, (str, bool)) else tuple(optimize))
    operands = list(enumerate(zip(terms, xs)))  # (position of its first operand, (term, value))
    for step in path:
        operands = _apply_step(operands, step, out)
    if len(operands) > 1:  # (what an explicit path leaves)
        operands = _apply_step(operands, tuple(range(len(operands))), out)
    (_, (term, x)), = operands
    return x if term == out else einsum_p(x, spec=f"{term}->{out}")


def _apply_step(operands: list, step: tuple, out: str) -> list:
    """The operands with those at positions `step` (in np.einsum_path's convention) replaced by their
    contraction, appended; it takes them in the order they were written, so the source reads left to right."""
    picked = sorted(operands[i] for i in step)
    rest = [o for i, o in enumerate(operands) if i not in step]
    later = "".join(t for _, (t, _) in rest) + out
    return rest + [(picked[0][0], _contract_step([o for _, o in picked], later, None if rest else out))]


def _contract_step(picked, later: str, target):
    """(term, value) of the operands `picked` contracted left to right, keeping the letters that `later` (the
    other operands and the output) needs, or exactly `target` on the last step."""
    term, x = picked[0]
    if len(picked) == 1:
        result = target if target is not None else _kept(term, later)
        return result, x if result == term else einsum_p(x, spec=f"{term}->{result}")
    for k, (t, y) in enumerate(picked[1:], 2):
        result = target if target is not None and k == len(picked) else _kept(
            term + t, later + "".join(u for u, _ in picked[k:]))
        x = einsum_p(x, y, spec=f"{term},{t}->{result}")
        term = result
    return term, x


def _kept(letters: str, needed: str) -> str:
    return "".join(dict.fromkeys(c for c in letters if c in needed))


@functools.lru_cache(maxsize=1024)
def contraction_path(spec: str, shapes: tuple, optimize) -> tuple:
    """np.einsum_path's pairing for spec over operands of these shapes (zero-stride stand-ins, no data)."""
    stand_ins = [np.broadcast_to(np.zeros(()), s) for s in shapes]
    path, _ = np.einsum_path(spec, *stand_ins, optimize=optimize)
    return tuple(tuple(step) for step in path[1:])


# ---- einsum: derivative and batch rules --------------------------------------------------------------
def _einsum_jvp(primals, tangents, spec):
    """Multilinear: the tangent is the sum over operands of einsum with that operand's tangent in place."""
    out = einsum_p(*primals, spec=spec)
    out_dot = None
    for i, t in enumerate(tangents):
        if t is not None:
            args = list(primals)
            args[i] = t
            out_dot = add_any(out_dot, contract(spec, *args))
    return out, out_dot


def _einsum_operand_bar(g, xs, spec, k):
    """The cotangent of operand k: contract g with the other operands back to operand k's (distinct) axes;
    axes summed in operand k alone come back by broadcasting, and a repeated index (a diagonal, "ii->i")
    puts the cotangent on that diagonal."""
    terms, out = parse_einsum(spec, [aval_of(x).ndim for x in xs])
    term = terms[k]
    unique = "".join(dict.fromkeys(term))
    sizes = dict(zip(term, aval_of(xs[k]).shape))
    others = [t for i, t in enumerate(terms) if i != k]
    available = "".join(c for c in unique if c in out or any(c in t for t in others))
    sources = [out] + others
    bar = contract(",".join(sources) + "->" + available, g, *[x for i, x in enumerate(xs) if i != k])
    if available != unique:
        bar = reshape_p(bar, shape=tuple(sizes[c] if c in available else 1 for c in unique))
        bar = broadcast_to_p(bar, shape=tuple(sizes[c] for c in unique))
    if unique != term:
        bar = _onto_diagonal(bar, unique, term, sizes, spec)
    return bar


def _onto_diagonal(bar, unique: str, term: str, sizes: dict, spec: str):
    """bar (axes `unique`) spread onto the diagonal of an operand with axes `term`: for a stack of square
    matrices ("...ii"), written into zeros at every (n + 1)-th element of each flattened matrix (no n x n
    product); else each repeat of a letter becomes a fresh letter tied to the first by an identity matrix
    ("i,ij->ij")."""
    if term[-2:] == unique[-1] * 2 and len(term) == len(unique) + 1:
        n, batch = sizes[term[-1]], aval_of(bar).shape[:-1]
        index = Index((Slice(None, None, None),) * len(batch) + (Slice(None, None, n + 1),))
        return reshape_p(index_add_p(bar, index=index, shape=batch + (n * n,)), shape=batch + (n, n))
    fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in spec)
    renamed, ties, eyes, seen = [], [], [], set()
    for c in term:
        if c in seen:
            renamed.append(next(fresh))
            ties.append(c + renamed[-1])
            eyes.append(eye_like(sizes[c], aval_of(bar).dtype, bar))
        else:
            seen.add(c)
            renamed.append(c)
    return einsum_p(bar, *eyes, spec=",".join([unique] + ties) + "->" + "".join(renamed))


def eye_like(n: int, dtype, like):
    """An identity matrix where `like` lives: through NumPy's like=, a GPU (CuPy) array gets a GPU one (by
    identity: np.eye(like=) passes NumPy 2's device= along, which CuPy's eye does not take)."""
    if type(like) is np.ndarray or getattr(like, "_dt_trace", None) is not None or not hasattr(
            like, "__array_function__"):
        return np.eye(n, dtype=dtype)
    return np.identity(n, dtype=dtype, like=like)


def _einsum_vjp(g, *xs, out, needed=None, spec):
    return tuple(
        None if needed is not None and not needed[k] else _einsum_operand_bar(g, xs, spec, k)
        for k in range(len(xs))
    )


def _einsum_batch(values, batched, size, spec):
    lhs, out = spec.split("->")
    letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in spec)
    terms = [letter + t if b else t for t, b in zip(lhs.split(","), batched)]
    return einsum_p(*values, spec=",".join(terms) + "->" + letter + out)


einsum_p.jvp = _einsum_jvp
einsum_p.vjp = _einsum_vjp
declare_reads(einsum_p, "xs")  # (each operand's cotangent contracts g with the other operands)
einsum_p.batch = _einsum_batch
