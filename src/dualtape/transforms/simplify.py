"""Constant folding and algebraic identities, so that a derivative program does no work a hand-written one
would skip: an equation on constants is computed once at compile time; `x * 1`, `x + 0`, `x / 1`,
`-(-x)`, a conversion to the same dtype and a reshape to the same shape disappear; a constant array whose
elements are all equal (the broadcast seed of a gradient, say) becomes a scalar literal where broadcasting
makes that the same; cheaper equations for the same values (transforms/strength.py).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..avals import ShapedArray
from ..core.ir import Eqn, Lit, Program, Var, sub_programs
from ..core.primitive import REGISTRY, trace_of
from . import strength

_FOLD_LIMIT = 1 << 16  # elements: bigger constant results stay as equations (a broadcast is cheaper than a copy)


def _is_concrete(value) -> bool:
    return isinstance(value, (np.ndarray, np.generic)) and trace_of(value) is None


def _literal_value(a):
    return a.value if type(a) is Lit else None


def _equals(a, number) -> bool:
    v = _literal_value(a)
    return v is not None and not isinstance(v, (bool, np.bool_)) and np.ndim(v) == 0 and v == number


class _Rewriter:
    """One forward pass: each equation is folded, simplified to an existing atom, or kept."""

    def __init__(self, program: Program, exact: bool = False):
        self.program, self.exact = program, exact
        self.consts = {v.id: value for v, value in program.captures if _is_concrete(value)}
        self.captures = list(program.captures)
        self.subst: dict[int, object] = {}
        self.producer: dict[int, Eqn] = {}
        self.uses = Counter(a.id for e in program.eqns for a in e.inputs if type(a) is Var)
        self.uses.update(a.id for a in program.outputs if type(a) is Var)

    def atom(self, a):
        return self.subst.get(a.id, a) if type(a) is Var else a

    def run(self) -> Program:
        eqns = []
        for eqn in self.program.eqns:
            eqn = Eqn(eqn.prim, [self.atom(a) for a in eqn.inputs], eqn.params, eqn.outs, eqn.where)
            if not eqn.prim.multiple_results and not _has_subprogram(eqn):
                eqn = strength.exact(self, self.absorb_negation(self.scalarise(eqn)))
                if not self.exact:  # (the same values rounded in another order: another BLAS call, a trace)
                    eqn = strength.to_rounding(self, self.transposed_product(eqn, eqns))
                replacement = self.fold(eqn) or self.identity(eqn) or strength.already_contiguous(self, eqn)
                if replacement is not None:
                    self.subst[eqn.outs[0].id] = replacement
                    continue
            for v in eqn.outs:
                self.producer[v.id] = eqn
            eqns.append(eqn)
        outputs = [self.atom(a) for a in self.program.outputs]
        return Program(self.program.inputs, eqns, outputs, self.captures, self.program.name)

    def value(self, a):
        return a.value if type(a) is Lit else self.consts.get(a.id)

    def fold(self, eqn):
        """All operands known: compute now (small results only)."""
        values = [self.value(a) for a in eqn.inputs]
        if any(v is None for v in values) or eqn.outs[0].aval.size > _FOLD_LIMIT:
            return None
        with np.errstate(all="ignore"):
            result = eqn.prim.evaluate(*values, **eqn.params)
        out = eqn.outs[0]
        if np.ndim(result) == 0:
            return Lit(result if out.aval.weak else np.asarray(result, out.aval.dtype)[()])
        var = Var(out.aval, out.hint)
        self.consts[var.id] = np.asarray(result)
        self.captures.append((var, self.consts[var.id]))
        return var

    def identity(self, eqn):
        """An equation that returns one of its operands unchanged."""
        name, ins, out = eqn.prim.name, eqn.inputs, eqn.outs[0]

        def same(a):
            return a if type(a) is Var and a.aval == out.aval else None  # (weak-typed or not, too)

        if name == "mul":
            return (_equals(ins[1], 1) and same(ins[0])) or (_equals(ins[0], 1) and same(ins[1])) or None
        if name == "add":
            return (_equals(ins[1], 0) and same(ins[0])) or (_equals(ins[0], 0) and same(ins[1])) or None
        if name in ("sub", "div"):
            return (_equals(ins[1], 0 if name == "sub" else 1) and same(ins[0])) or None
        if name == "integer_pow" and eqn.params["y"] == 1:
            return same(ins[0])
        inner = self.producer.get(ins[0].id) if ins and type(ins[0]) is Var else None
        if name in ("reshape", "squeeze", "expand_dims") and inner is not None and \
                inner.prim.name in ("reshape", "squeeze", "expand_dims"):
            return same(inner.inputs[0])  # a round trip through another shape (a reshape's VJP, say)
        if name in ("convert_element_type", "reshape", "broadcast_to", "squeeze", "expand_dims"):
            return same(ins[0])  # (same shape and dtype: these leave every element where it was)
        if name == "transpose" and tuple(eqn.params["perm"]) == tuple(range(len(eqn.params["perm"]))):
            return same(ins[0])
        if name == "transpose" and inner is not None and inner.prim.name == "transpose" and \
                tuple(inner.params["perm"][p] for p in eqn.params["perm"]) == tuple(range(len(eqn.params["perm"]))):
            return same(inner.inputs[0])  # x.T.T
        if name == "neg" and type(ins[0]) is Var:
            inner = self.producer.get(ins[0].id)
            if inner is not None and inner.prim.name == "neg":
                return same(inner.inputs[0])
        return None

    def negated(self, a):
        """x if a = -x (a neg equation's operand), else None."""
        inner = self.producer.get(a.id) if type(a) is Var else None
        return inner.inputs[0] if inner is not None and inner.prim.name == "neg" else None

    def absorb_negation(self, eqn):
        """x + (-y) -> x - y, (-x) + y -> y - x, x - (-y) -> x + y: one operation instead of two."""
        name, ins = eqn.prim.name, eqn.inputs
        if name not in ("add", "sub"):
            return eqn
        x, y = ins
        if self.negated(y) is not None:
            op = REGISTRY["sub" if name == "add" else "add"]
            return Eqn(op, [x, self.negated(y)], eqn.params, eqn.outs, eqn.where)
        if name == "add" and self.negated(x) is not None:
            return Eqn(REGISTRY["sub"], [y, self.negated(x)], eqn.params, eqn.outs, eqn.where)
        return eqn

    def transposed_product(self, eqn, eqns):
        """(a @ b).T -> b.T @ a.T for matrices, the transposes of transposes cancelling: `(x.T @ g).T`, the
        weight cotangent of `x @ W.T`, becomes `g.T @ x`, one product written in row order, so what reads it
        next (an optimiser's update) runs over contiguous memory."""
        name, ins = eqn.prim.name, eqn.inputs
        if name != "transpose" or tuple(eqn.params["perm"]) != (1, 0) or type(ins[0]) is not Var:
            return eqn
        inner = self.producer.get(ins[0].id)
        if inner is None or inner.prim.name != "matmul" or self.uses[ins[0].id] != 1 or any(
                type(a) is not Var or a.aval.ndim != 2 for a in inner.inputs):
            return eqn
        a, b = inner.inputs
        return Eqn(inner.prim, [self.transpose_of(b, eqns), self.transpose_of(a, eqns)], {}, eqn.outs, eqn.where)

    def transpose_of(self, a, eqns):
        """An atom for a.T: the operand of a's own transpose, or a new transpose equation."""
        made = self.producer.get(a.id)
        if made is not None and made.prim.name == "transpose" and tuple(made.params["perm"]) == (1, 0):
            return made.inputs[0]
        t = Var(ShapedArray(a.aval.shape[::-1], a.aval.dtype))
        eqns.append(Eqn(REGISTRY["transpose"], [a], {"perm": (1, 0)}, [t]))
        self.producer[t.id] = eqns[-1]
        return t

    def scalarise(self, eqn):
        """A constant operand whose elements are all equal becomes a scalar literal if that changes nothing."""
        if not eqn.prim.elementwise:
            return eqn
        inputs = list(eqn.inputs)
        for i, a in enumerate(inputs):
            value = self.consts.get(a.id) if type(a) is Var else None
            if value is None or value.size == 0 or value.ndim == 0:
                continue
            first = value.flat[0]
            if not np.all(value == first):
                continue
            # the shortest spelling rounds back only when the result has the constant's own dtype; a comparison
            # (a bool result) hides the dtype it compares in, so there the scalar keeps the constant's dtype
            if eqn.outs[0].aval.dtype == np.bool_ and value.dtype != np.bool_:
                number = first
            else:
                number = shortest(first) if eqn.outs[0].aval.dtype == value.dtype else first.item()
            trial = inputs[:i] + [Lit(number)] + inputs[i + 1:]
            expect = eqn.prim.abstract_eval(*[t.aval for t in trial], **eqn.params)
            if (expect.shape, expect.dtype) == (eqn.outs[0].aval.shape, eqn.outs[0].aval.dtype):
                inputs = trial
        return Eqn(eqn.prim, inputs, eqn.params, eqn.outs, eqn.where)


def shortest(value):
    """A NumPy scalar as the Python number with the shortest repr that rounds back to it in its own dtype
    (np.float32(-0.2) -> -0.2, not -0.20000000298023224): what a person would write."""
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return float(str(value))
    return value.item()


def _has_subprogram(eqn) -> bool:
    return bool(sub_programs(eqn.params))


def simplify(program: Program, exact: bool = False) -> Program:
    """Fold constants and apply the algebraic identities, in one forward pass; with `exact`, only rewrites
    that leave every bit of the results as it was (no reordered product)."""
    return _Rewriter(program, exact).run()
