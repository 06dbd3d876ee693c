"""Per-function table, contractions: einsum of any number of operands ('...', implicit output, sublists,
diagonals, 0-d operands, size-1 axes that broadcast), tensordot in every axes form, kron of any ranks, cross
(3- and 2-vectors, every axis keyword), linalg.multi_dot, and dot / inner / outer / vdot / vecdot over ranks 0-3;
PyTorch (torch.einsum, tensordot, kron, linalg.cross, linalg.multi_dot, inner, outer, vdot, linalg.vecdot) as
the oracle where it has the same function."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape.numpy as dnp
from dualtape.numpy.contractions import CROSS_2_VECTORS
from function_case import FnCase, fixed, operands


def _torch():
    return importlib.import_module("torch")


@st.composite
def _for_spec(draw, spec: str, kwargs=None):
    """Operands for an einsum spec: each letter a size in 1..3 (a repeated letter, a diagonal, one size), each
    '...' a batch shape, those of all operands mutually broadcastable."""
    terms = spec.split("->")[0].split(",")
    sizes = {c: draw(st.integers(1, 3)) for c in sorted(set(spec) - set(",->."))}
    batches = iter(draw(hnp.mutually_broadcastable_shapes(num_shapes=max(1, sum("..." in t for t in terms)),
                                                          min_dims=0, max_dims=2, min_side=1, max_side=3)).input_shapes)
    shapes = []
    for t in terms:
        before, ellipsis, after = t.partition("...")
        lead = next(batches) if ellipsis else ()
        shapes.append(tuple(sizes[c] for c in before) + tuple(lead) + tuple(sizes[c] for c in after))
    return draw(operands(shapes, kwargs=kwargs))


def _einsum(spec: str, **kwargs) -> FnCase:
    """np.einsum(spec, *operands) with kwargs drawn (optimize=...)."""
    call = lambda *xs, **kw: np.einsum(spec, *xs, **kw)
    return FnCase(lambda *xs, **kw: dnp.einsum(spec, *xs, **kw), call, _for_spec(spec, kwargs), numpy=call,
                  torch=lambda *xs, **kw: _torch().einsum(spec, *xs))


def _sublists(terms: list, output=None) -> FnCase:
    """np.einsum(a, terms[0], b, terms[1], ..., output) (no output: implicit)."""
    def interleave(xs):
        return [v for pair in zip(xs, terms) for v in pair] + ([output] if output is not None else [])

    spec = ",".join("".join("..." if k is Ellipsis else "abcdefgh"[k] for k in t) for t in terms)
    call = lambda *xs: np.einsum(*interleave(xs))
    return FnCase(lambda *xs: dnp.einsum(*interleave(xs)), call, _for_spec(spec), numpy=call,
                  torch=lambda *xs: _torch().einsum(*interleave(xs)))


def _ranked(min_rank=0, max_rank=3, shared=True):
    """Two operands of ranks in [min_rank, max_rank]; with `shared`, a's last axis and b's last (or b's
    second-to-last, when b has two or more axes and shared == "dot") have one size."""
    @st.composite
    def draw_pair(draw):
        ra, rb = draw(st.integers(min_rank, max_rank)), draw(st.integers(min_rank, max_rank))
        a = tuple(draw(st.lists(st.integers(1, 3), min_size=ra, max_size=ra)))
        b = list(draw(st.lists(st.integers(1, 3), min_size=rb, max_size=rb)))
        if shared and ra and rb:
            b[-2 if shared == "dot" and rb >= 2 else -1] = a[-1]
        return draw(operands([a, tuple(b)]))
    return draw_pair()


def _torch_tensordot(a, b, axes=2):
    if isinstance(axes, int):
        return _torch().tensordot(a, b, dims=axes)
    pa, pb = ([p] if isinstance(p, int) else list(p) for p in axes)
    return _torch().tensordot(a, b, dims=(pa, pb))


def _tensordot(shapes, axes) -> FnCase:
    return FnCase(dnp.tensordot, np.tensordot, fixed(*shapes, axes=axes), numpy=np.tensordot, torch=_torch_tensordot)


def _torch_cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    torch = _torch()
    c = torch.linalg.cross(*torch.broadcast_tensors(torch.movedim(a, axisa, -1), torch.movedim(b, axisb, -1)))
    return torch.movedim(c, -1, axisc)


def _quietly(fn):
    """fn with NumPy 2's deprecation of 2-vectors in cross silenced (tests/numpy/test_contractions.py checks it)."""
    def call(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return fn(*args, **kwargs)
    return call


def _cross(shapes, torch=True, **kwargs) -> FnCase:
    return FnCase(_quietly(dnp.cross), _quietly(np.cross), fixed(*shapes, **kwargs), numpy=_quietly(np.cross),
                  torch=_torch_cross if torch else None)


def _multi_dot(*shapes) -> FnCase:
    call = lambda *xs: np.linalg.multi_dot(list(xs))
    return FnCase(lambda *xs: dnp.linalg.multi_dot(list(xs)), call, fixed(*shapes), numpy=call,
                  torch=lambda *xs: _torch().linalg.multi_dot(list(xs)))


def _kron(*shapes) -> FnCase:
    return FnCase(dnp.kron, np.kron, fixed(*shapes), numpy=np.kron, torch=lambda a, b: _torch().kron(a, b))


SECTION: dict[str, FnCase] = {
    # einsum: three and four operands, contracted pairwise in np.einsum_path's order
    "einsum 3 operands": _einsum("ij,jk,kl->li", optimize=st.sampled_from([False, True, "greedy", "optimal"])),
    "einsum 4 operands": _einsum("ij,jk,kl,lm->mi", optimize=st.sampled_from([True, "greedy"])),
    "einsum 4 operands, implicit output": _einsum("ab,bc,cd,da"),
    "einsum 3 operands, batch letter": _einsum("bij,bjk,bk->bi"),
    "einsum outer product of 3": _einsum("i,j,k->kji"),
    # ellipsis: broadcast batch axes, explicit and implicit output
    "einsum ellipsis": _einsum("...ij,...jk->...ik"),
    "einsum ellipsis, implicit output": _einsum("...j,j...,j"),
    "einsum ellipsis, 3 operands": _einsum("...i,...ij,...j->..."),
    # diagonals (a letter repeated within a term) and 0-d operands, in one- and many-operand calls
    "einsum diagonal then sum": _einsum("iij->j"),
    "einsum diagonals, 3 operands": _einsum("iij,jk,kk->i"),
    "einsum scalars": _einsum(",ij,->ij"),
    "einsum size-1 axes broadcast": FnCase(lambda *xs: dnp.einsum("ij,jk,k->i", *xs),
                                           lambda *xs: np.einsum("ij,jk,k->i", *xs), fixed((2, 1), (3, 2), (1,)),
                                           numpy=lambda *xs: np.einsum("ij,jk,k->i", *xs),
                                           torch=lambda *xs: _torch().einsum("ij,jk,k->i", *xs)),
    # the sublist form
    "einsum sublists": _sublists([[0, 1], [1, 2]], [0, 2]),
    "einsum sublists, 3 operands, implicit": _sublists([[0, 1], [1, 2], [2, 3]]),
    "einsum sublists with Ellipsis": _sublists([[Ellipsis, 0], [0, 1]], [Ellipsis, 1]),
    # tensordot: a count (0 is the outer product), a pair of ints, a pair of sequences
    "tensordot axes=N": _tensordot([(2, 3, 3), (3, 3, 2)], st.sampled_from([0, 1, 2])),
    "tensordot axes=(-1, 0)": _tensordot([(2, 3), (3, 2)], (-1, 0)),
    "tensordot axes=([0, 2], [2, 0])": _tensordot([(2, 3, 4), (4, 1, 2)], ([0, 2], [2, 0])),
    "tensordot 0-d, axes=0": _tensordot([(), (2, 3)], 0),
    # kron of different ranks
    "kron matrix and vector": _kron((2, 3), (4,)),
    "kron vector and 3-d": _kron((2,), (2, 1, 3)),
    "kron 0-d": _kron((), (3, 2)),
    # cross: 3-vectors broadcast, the axis keywords, 2-vectors (z = 0) where NumPy takes them (before 2.5)
    "cross 3-vectors": _cross([(4, 3), (3,)]),
    "cross axisa, axisb, axisc": _cross([(3, 2), (2, 3)], axisa=0, axisb=-1, axisc=0),
    "cross axis": _cross([(2, 3, 2), (1, 3, 1)], axis=1),
    "linalg.cross": FnCase(lambda a, b: dnp.linalg.cross(a, b), np.linalg.cross, fixed((2, 3), (3,)),
                           numpy=np.linalg.cross, torch=_torch_cross),
    **({"cross 2-vectors": _cross([(4, 2), (2,)], torch=False),
        "cross 2- and 3-vectors": _cross([(2,), (4, 3)], torch=False),
        "cross 3- and 2-vectors, axisc": _cross([(3, 2), (2,)], torch=False, axisa=0, axisc=0)}
       if CROSS_2_VECTORS else {}),  # (NumPy refuses 2-vectors from 2.5)
    # multi_dot: the cheapest order, vectors at the ends
    "linalg.multi_dot": _multi_dot((3, 1), (1, 4), (4, 2), (2, 3)),
    "linalg.multi_dot vectors at the ends": _multi_dot((3,), (3, 4), (4, 2), (2,)),
    # dot, inner, outer, vdot, vecdot over ranks 0-3
    "dot": FnCase(dnp.dot, np.dot, _ranked(shared="dot"), numpy=np.dot),
    "inner": FnCase(dnp.inner, np.inner, _ranked(), numpy=np.inner, torch=lambda a, b: _torch().inner(a, b)),
    "outer": FnCase(dnp.outer, np.outer, _ranked(shared=False), numpy=np.outer,
                    torch=lambda a, b: _torch().outer(a.reshape(-1), b.reshape(-1))),
    "linalg.outer": FnCase(dnp.linalg.outer, np.linalg.outer, fixed((3,), (2,)), numpy=np.linalg.outer,
                           torch=lambda a, b: _torch().outer(a, b)),
    "vdot": FnCase(dnp.vdot, np.vdot, fixed((2, 3), (3, 2)), numpy=np.vdot,
                   torch=lambda a, b: _torch().vdot(a.reshape(-1), b.reshape(-1))),
    "linalg.vecdot": FnCase(lambda a, b, axis: dnp.linalg.vecdot(a, b, axis=axis),
                            lambda a, b, axis: np.linalg.vecdot(a, b, axis=axis), fixed((3, 2), (4, 3, 2), axis=-2),
                            numpy=lambda a, b, axis: np.linalg.vecdot(a, b, axis=axis),
                            torch=lambda a, b, axis: _torch().linalg.vecdot(a, b, dim=axis)),
    "vecdot axis=": FnCase(lambda a, b, axis: dnp.vecdot(a, b, axis=axis),
                           lambda a, b, axis: np.vecdot(a, b, axis=axis), fixed((3, 2), (4, 3, 2), axis=-2),
                           numpy=lambda a, b, axis: np.vecdot(a, b, axis=axis),
                           torch=lambda a, b, axis: _torch().linalg.vecdot(a, b, dim=axis)),
    **({"matvec": FnCase(dnp.matvec, np.matvec, fixed((2, 3, 4), (4,)), numpy=np.matvec,
                         torch=lambda a, v: _torch().matmul(a, v)),
        "vecmat": FnCase(dnp.vecmat, np.vecmat, fixed((2, 3), (1, 3, 4)), numpy=np.vecmat,
                         torch=lambda v, a: _torch().matmul(v.unsqueeze(-2), a).squeeze(-2))}
       if hasattr(np, "matvec") else {}),  # (gufuncs new in NumPy 2.2)
    "tensordot via linalg": FnCase(lambda a, b, axes: dnp.linalg.tensordot(a, b, axes=axes),
                                   lambda a, b, axes: np.linalg.tensordot(a, b, axes=axes),
                                   fixed((3, 3), (3, 3), axes=st.sampled_from([0, 1, 2])),
                                   numpy=lambda a, b, axes: np.linalg.tensordot(a, b, axes=axes),
                                   torch=_torch_tensordot),
    "matrix_transpose": FnCase(dnp.matrix_transpose, np.matrix_transpose, fixed((2, 3, 4)),
                               numpy=np.linalg.matrix_transpose, torch=lambda x: x.mT),
}
