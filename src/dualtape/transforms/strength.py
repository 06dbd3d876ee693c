"""Strength reduction, run by simplify's forward pass: the same values from cheaper equations. Exact ones keep
every bit; the others round as NumPy's own spellings of the same thing do (so dt.compile, which must match
eager bit for bit, runs only the exact ones):

- exact: a `broadcast_to` operand of an elementwise equation is read as it is (broadcasting makes the same
  result without the call); a C-layout copy (`contiguous`) of a value the program has just made in that
  layout is that value itself; a stop_gradient inside a computation whose result only stop_gradient reads
  is dropped.
- to rounding: `sum(x * I)` over a matrix's two axes, I a captured identity, is its trace (one strided read
  instead of a product and a sum over n^2 elements; only in a program beyond the array API standard
  already); `(c y) + (c y)` is `(2c) y` (a squared norm's 1/2 cancels with its derivative's 2); a matrix
  product over an inner dimension of length 1 (an outer product of a column and a row) is their broadcast
  product.

Rewrites that count a value's readers run after common subexpressions are merged (transforms/after_cse.py).
"""

from __future__ import annotations

import numpy as np

from ..core.ir import Eqn, Lit, Var, all_eqns, sub_programs
from ..core.primitive import REGISTRY

_BATCH_LETTERS = "abcdefghjklmnopqrstuvwxyz"  # (i: the diagonal's)


def exact(rewriter, eqn: Eqn) -> Eqn:
    """The equation with broadcast_to operands of an elementwise primitive read directly, where that keeps
    its result's shape and dtype, and stop_gradient operands read directly where only stop_gradient reads
    its result."""
    eqn = _inner_stop_gradients(rewriter, eqn)
    if not eqn.prim.elementwise:
        return eqn
    inputs = list(eqn.inputs)
    for i, a in enumerate(inputs):
        made = rewriter.producer.get(a.id) if type(a) is Var else None
        if made is None or made.prim.name != "broadcast_to" or type(made.inputs[0]) is not Var:
            continue
        trial = inputs[:i] + [made.inputs[0]] + inputs[i + 1:]
        if _avals_kept(eqn, trial):
            inputs = trial
    return eqn if inputs == list(eqn.inputs) else Eqn(eqn.prim, inputs, eqn.params, eqn.outs, eqn.where)


def _readers(rewriter) -> dict:
    """Var id -> the names of the primitives reading it in the original program ("" for a program output or
    a sub-program's capture), computed once per pass."""
    found = getattr(rewriter, "_readers", None)
    if found is None:
        found = {}
        for e in rewriter.program.eqns:
            for a in e.inputs:
                if type(a) is Var:
                    found.setdefault(a.id, []).append(e.prim.name)
            for p in sub_programs(e.params):
                for v, _ in p.captures:
                    found.setdefault(v.id, []).append("")
        for a in rewriter.program.outputs:
            if type(a) is Var:
                found.setdefault(a.id, []).append("")
        rewriter._readers = found
    return found


def _inner_stop_gradients(rewriter, eqn: Eqn) -> Eqn:
    """f(stop_gradient(x)) -> f(x) when only stop_gradient reads f's result: the values are the same and
    nothing differentiates through f either way (eager code under no_grad, an optimiser's update traced by
    dt.compile, wraps each result in one; the operand read directly is then a temporary `+=` may reuse)."""
    if eqn.prim.multiple_results or sub_programs(eqn.params):
        return eqn
    readers = _readers(rewriter).get(eqn.outs[0].id)
    if not readers or any(r != "stop_gradient" for r in readers):
        return eqn
    inputs = [made.inputs[0] if made is not None and made.prim.name == "stop_gradient" else a
              for a, made in ((a, rewriter.producer.get(a.id) if type(a) is Var else None) for a in eqn.inputs)]
    return eqn if inputs == list(eqn.inputs) else Eqn(eqn.prim, inputs, eqn.params, eqn.outs, eqn.where)


def already_contiguous(rewriter, eqn: Eqn):
    """x for `contiguous(x)` when x was just made, laid out row by row, by an equation that allocates it (a
    vector or scalar; a matrix product of two matrices): np.asarray(x, order='C') returns x itself; else None."""
    if eqn.prim.name != "contiguous" or type(eqn.inputs[0]) is not Var:
        return None
    x = eqn.inputs[0]
    made = rewriter.producer.get(x.id)
    if made is None or not made.prim.facts.new_array or x.aval != eqn.outs[0].aval:
        return None
    product = made.prim.name == "matmul" and all(type(a) is Var and a.aval.ndim == 2 for a in made.inputs)
    return x if x.aval.ndim <= 1 or product else None


def to_rounding(rewriter, eqn: Eqn) -> Eqn:
    """The equation as a cheaper one computing the same values up to rounding, or itself."""
    name = eqn.prim.name
    if name == "reduce_sum":
        return _trace(rewriter, eqn) or eqn
    if name == "add":
        return _doubled_product(rewriter, eqn) or eqn
    if name == "matmul":
        return _outer_product(eqn) or eqn
    return eqn


def _avals_kept(eqn: Eqn, inputs: list) -> bool:
    expect = eqn.prim.abstract_eval(*[a.aval for a in inputs], **eqn.params)
    out = eqn.outs[0].aval
    return (expect.shape, expect.dtype) == (out.shape, out.dtype)


def _is_identity(value) -> bool:
    return (isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] == value.shape[1]
            and value.dtype != np.bool_ and np.array_equal(value, np.eye(value.shape[0])))


def _beyond_the_standard(rewriter) -> bool:
    """Whether the program already calls what the array API standard lacks: a rewrite may then add such a call
    (einsum), else not, so that a program backend="array_api" runs still runs."""
    found = getattr(rewriter, "_beyond", None)
    if found is None:
        found = rewriter._beyond = any(e.prim.non_standard for e in all_eqns(rewriter.program))
    return found


def _trace(rewriter, eqn: Eqn):
    """sum(x * I) over the last two axes (I an identity matrix, x a stack of square matrices of the result's
    dtype) -> einsum('...ii->...', x): the sum of the diagonals alone."""
    x, = eqn.inputs
    product = rewriter.producer.get(x.id) if type(x) is Var else None
    if product is None or product.prim.name != "mul" or eqn.params.get("keepdims") or \
            not _beyond_the_standard(rewriter):
        return None
    rank = x.aval.ndim
    if rank < 2 or tuple(eqn.params["axes"]) != (rank - 2, rank - 1) or len(eqn.params) != 2:
        return None
    for matrix, eye in (product.inputs, product.inputs[::-1]):
        if type(matrix) is not Var or type(eye) is not Var or not _is_identity(rewriter.consts.get(eye.id)):
            continue
        if matrix.aval.shape != x.aval.shape or matrix.aval.dtype != eqn.outs[0].aval.dtype:
            continue
        batch = _BATCH_LETTERS[:rank - 2]
        return Eqn(REGISTRY["einsum"], [matrix], {"spec": f"{batch}ii->{batch}"}, eqn.outs, eqn.where)
    return None


def _scaled(rewriter, a):
    """(c, y) for a = c * y (either order), c a real floating literal and y a Var; else None."""
    made = rewriter.producer.get(a.id) if type(a) is Var else None
    if made is None or made.prim.name != "mul":
        return None
    for c, y in (made.inputs, made.inputs[::-1]):
        if type(c) is Lit and type(y) is Var and isinstance(c.value, (float, np.floating)) and np.ndim(c.value) == 0:
            return c.value, y
    return None


def _doubled_product(rewriter, eqn: Eqn):
    """(c y) + (c y) -> (2c) y, y of a real floating dtype: doubling is exact, so the two round alike (but
    where c y is subnormal)."""
    left, right = (_scaled(rewriter, a) for a in eqn.inputs)
    if left is None or right is None or left[1] is not right[1] or left[0] != right[0]:
        return None
    c, y = left
    doubled = c * (type(c)(2) if isinstance(c, np.floating) else 2.0)
    if y.aval.dtype.kind != "f" or not np.isfinite(doubled):
        return None
    inputs = [Lit(doubled), y]
    return Eqn(REGISTRY["mul"], inputs, {}, eqn.outs, eqn.where) if _avals_kept(eqn, inputs) else None


def _outer_product(eqn: Eqn):
    """x @ y over an inner dimension of length 1 (x (..., n, 1), y (..., 1, m)) -> x * y: each element is one
    product either way (but for the sign of a zero)."""
    x, y = eqn.inputs
    if any(type(a) is not Var or a.aval.ndim < 2 or a.aval.dtype.kind != "f" for a in (x, y)):
        return None
    if x.aval.shape[-1] != 1 or y.aval.shape[-2] != 1:
        return None
    inputs = [x, y]
    return Eqn(REGISTRY["mul"], inputs, {}, eqn.outs, eqn.where) if _avals_kept(eqn, inputs) else None
