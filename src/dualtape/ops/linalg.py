"""Contractions: batched `matmul` with NumPy's 1-D rules, and one- or two-operand `einsum`."""

from __future__ import annotations

from ..avals import broadcast_shapes
from ..core.primitive import Primitive
from ..errors import ShapeError


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
    if "..." in spec:
        raise NotImplementedError("einsum: '...' (ellipsis) in the subscripts is not supported; spell out the axes")
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


matmul_p = Primitive("matmul", ("x", "y"), "x @ y", _matmul_rule)
einsum_p = Primitive("einsum", "*xs", "xp.einsum(spec, *xs)", _einsum_rule)
