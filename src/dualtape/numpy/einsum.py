"""dnp.einsum with NumPy's grammar: any number of operands, '...' (broadcast), implicit output and the sublist form.
The call is rewritten into explicit letters over operands whose sizes agree per letter (a size-1 axis that
broadcasts is squeezed out of its operand), then contracted pairwise in np.einsum_path's order (ops.linalg's
`contract`), so every equation is a one- or two-operand einsum with its own derivative rules."""

from __future__ import annotations

import functools

import numpy as np

from ..ops import linalg as la
from ._base import arr, bind, shape, shape_error
from ._base import dtype as dtype_of
from .elementwise import astype
from .shapes import squeeze

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # NumPy's order: sublist index k is LETTERS[k]


def einsum(*operands, out=None, dtype=None, order="K", casting="safe", optimize=False):
    """Einstein summation as np.einsum: "ij,jk->ik" or sublists (a, [0, 1], b, [1, 2], [0, 2]), '...' for
    broadcast axes, implicit output. The order of a contraction of three or more operands is always chosen
    by np.einsum_path ("greedy" for optimize False or True; "optimal" or an explicit path as given); `order`
    (a memory layout) means nothing to dualtape's values."""
    if out is not None:
        raise NotImplementedError("einsum(..., out=...) writes in place; traced values are immutable: assign the "
                                  "result instead")
    if not operands:
        raise ValueError("einsum: no subscripts or operands given")
    subscripts, xs = _from_sublists(operands) if not isinstance(operands[0], str) else (operands[0], operands[1:])
    xs = [arr(x) for x in xs]
    if dtype is not None:
        xs = [_cast(x, np.dtype(dtype), casting, k) for k, x in enumerate(xs)]
    spec, drops = _plan(subscripts, tuple(shape(x) for x in xs))
    xs = [squeeze(x, drop) if drop else x for x, drop in zip(xs, drops)]
    if len(xs) <= 2:
        return bind(la.einsum_p, *xs, spec=spec)
    return la.contract(spec, *xs, optimize="greedy" if optimize in (False, True, None) else optimize)


def _from_sublists(operands) -> tuple[str, list]:
    """(subscripts, operands) of the form einsum(a, [0, 1], b, [1, 2], [0, 2]): index k is NumPy's letter k."""
    pairs, output = operands[: len(operands) // 2 * 2], operands[len(operands) // 2 * 2:]
    xs, terms = list(pairs[0::2]), [_sublist_term(s) for s in pairs[1::2]]
    spec = ",".join(terms)
    return (spec + "->" + _sublist_term(output[0]) if output else spec), xs


def _sublist_term(sublist) -> str:
    if isinstance(sublist, str) or not hasattr(sublist, "__iter__"):
        raise TypeError(f"einsum: subscripts sublist {sublist!r} must be a list of axis indices (ints in "
                        "[0, 52)) and Ellipsis, as in einsum(a, [0, 1], b, [1, 2], [0, 2])")
    term = ""
    for k in sublist:
        if k is Ellipsis:
            term += "..."
        elif not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise TypeError(f"einsum: subscript {k!r} in sublist {list(sublist)!r} must be an int or Ellipsis")
        elif not 0 <= k < len(LETTERS):
            raise ValueError(f"einsum: subscript {k} in sublist {list(sublist)!r} is not within the valid range "
                             f"[0, {len(LETTERS)})")
        else:
            term += LETTERS[k]
    return term


def _cast(x, dtype, casting: str, k: int):
    """Operand k in the dtype einsum was asked to compute in, where NumPy's casting rule allows it."""
    if not np.can_cast(dtype_of(x), dtype, casting):
        raise TypeError(f"einsum: operand {k} of dtype {dtype_of(x)} cannot be cast to dtype={dtype} under "
                        f"casting={casting!r}; pass casting='same_kind' or 'unsafe'")
    return astype(x, dtype)


@functools.lru_cache(maxsize=1024)
def _plan(subscripts: str, shapes: tuple) -> tuple[str, tuple]:
    """The spec in explicit letters ('...' expanded, the output written out) for operands of these shapes, and
    per operand the size-1 axes to squeeze out (and drop from its term) because they broadcast against a
    longer axis of the same letter, so that every letter has one size."""
    lhs, arrow, output = subscripts.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands, but {len(shapes)} were "
                         "given")
    fresh = [c for c in LETTERS if c not in subscripts]
    ranks = [_ellipsis_rank(t, len(s), k, subscripts) for k, (t, s) in enumerate(zip(terms, shapes))]
    if max(ranks, default=0) > len(fresh):
        raise ValueError(f"einsum: {subscripts!r} leaves {len(fresh)} unused letters for {max(ranks)} axes under "
                         "'...'; name some of them")
    broadcast = fresh[:max(ranks, default=0)]
    terms = [t.replace("...", "".join(broadcast[len(broadcast) - r:])) for t, r in zip(terms, ranks)]
    if arrow:
        output = _explicit_output(output, "".join(broadcast), terms, subscripts)
    else:
        written = "".join(terms)
        output = "".join(broadcast) + "".join(sorted(c for c in set(written) - set(broadcast)
                                                     if written.count(c) == 1))
    drops = _broadcast_axes(terms, shapes, subscripts)
    terms = ["".join(c for a, c in enumerate(t) if a not in drop) for t, drop in zip(terms, drops)]
    return ",".join(terms) + "->" + output, drops


def _ellipsis_rank(term: str, rank: int, k: int, subscripts: str) -> int:
    """How many axes of operand k (of this rank) the term's '...' stands for (0 without one), checked."""
    letters = term.replace("...", "", 1)
    if "." in letters:
        raise ValueError(f"einsum: term {term!r} of {subscripts!r} contains a '.' that is not part of one "
                         "ellipsis ('...')")
    if not letters.isalpha() and letters:
        raise ValueError(f"einsum: term {term!r} of {subscripts!r} may hold only letters a-z, A-Z and one '...'")
    if "..." not in term:
        if len(letters) != rank:
            raise shape_error("einsum", f"term {term!r} of {subscripts!r} names {len(letters)} axes, but operand "
                              f"{k} has {rank}", fix="give one letter per axis, or '...' for the leading ones")
        return 0
    if len(letters) > rank:
        raise shape_error("einsum", f"term {term!r} of {subscripts!r} names {len(letters)} axes besides '...', but "
                          f"operand {k} has only {rank}")
    return rank - len(letters)


def _explicit_output(output: str, broadcast: str, terms: list, subscripts: str) -> str:
    letters = output.replace("...", "", 1)
    if "." in letters or (letters and not letters.isalpha()):
        raise ValueError(f"einsum: output {output!r} of {subscripts!r} may hold only letters and one '...'")
    if "..." not in output and broadcast:
        raise ValueError(f"einsum: {subscripts!r} has {len(broadcast)} axes under '...' but its output has no "
                         "'...' to put them in; add '...' to the output")
    written = "".join(terms)
    for c in letters:
        if letters.count(c) > 1:
            raise ValueError(f"einsum: output subscript {c!r} of {subscripts!r} appears more than once")
        if c not in written:
            raise ValueError(f"einsum: output subscript {c!r} of {subscripts!r} names no axis of any operand")
    return output.replace("...", broadcast)


def _broadcast_axes(terms: list, shapes: tuple, subscripts: str) -> tuple:
    """Per operand, its size-1 axes whose letter has size n > 1 elsewhere (they broadcast); other sizes that
    differ raise."""
    sizes: dict[str, int] = {}
    for k, (t, s) in enumerate(zip(terms, shapes)):
        for c, d in zip(t, s):
            if t.count(c) > 1 and d != s[t.index(c)]:
                raise shape_error("einsum", f"axis {c!r} is repeated in term {t!r} of {subscripts!r} with sizes "
                                  f"{s[t.index(c)]} and {d} (operand {k} of shape {s})",
                                  fix="a repeated letter takes a diagonal: its axes must have one size")
            if sizes.get(c, 1) == 1:
                sizes[c] = d
            elif d not in (1, sizes[c]):
                raise shape_error("einsum", f"axis {c!r} has sizes {sizes[c]} and {d} in {subscripts!r} (operand "
                                  f"shapes {', '.join(map(str, shapes))})",
                                  fix=f"give every axis labelled {c!r} the same size (or 1, to broadcast)")
    return tuple(tuple(a for a, (c, d) in enumerate(zip(t, s)) if d == 1 != sizes[c]) for t, s in zip(terms, shapes))
