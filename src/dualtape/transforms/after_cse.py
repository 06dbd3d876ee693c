"""Rewrites that count a value's readers, so they run once common subexpressions are merged (before, a value
read twice can look like two values read once each), in one forward pass:

- exact: a reduction reshaped to keep its reduced axes as 1s keeps them itself (a softmax's derivative sums
  its cotangent, then reshapes the sum to broadcast it back).
- the same values but a NaN's sign (negation is exact), not under dt.compile: a negation read once moves past
  the products, quotients and sums it feeds, `(-x) * y -> -(x * y)`, `sum(-x) -> -(sum(x))`, while what it
  negates gets no bigger, and goes into an add or a subtraction that absorbs it (`x + (-y) -> x - y`); the
  rule of a quotient, `-g * ans / y`, then negates the one number its sum makes instead of a whole array.
"""

from __future__ import annotations

from collections import Counter

from ..core.ir import Eqn, Program, Var, sub_programs
from ..core.primitive import REGISTRY

_REDUCTIONS = ("reduce_sum", "reduce_prod", "reduce_max", "reduce_min")
_SINKS = ("mul", "div", "reduce_sum")


def after_cse(program: Program, exact: bool = False) -> Program:
    """The program with the rewrites above applied (without `exact`, the negations moved too)."""
    return _Pass(program, exact).run()


class _Pass:
    def __init__(self, program: Program, exact: bool):
        self.program, self.exact = program, exact
        self.producer = {v.id: e for e in program.eqns for v in e.outs}
        self.uses = Counter(a.id for e in program.eqns for a in e.inputs if type(a) is Var)
        self.uses.update(a.id for a in program.outputs if type(a) is Var)
        for p in (p for e in program.eqns for p in sub_programs(e.params)):
            self.uses.update(v.id for v, _ in p.captures)

    def run(self) -> Program:
        eqns, changed = [], False
        for eqn in self.program.eqns:
            rewritten = self.kept_dims(eqn)
            if not self.exact and rewritten is eqn:
                rewritten = self.sink_negation(eqn, eqns)
            changed |= rewritten is not eqn
            for v in rewritten.outs:
                self.producer[v.id] = rewritten
            eqns.append(rewritten)
        return Program(self.program.inputs, eqns, self.program.outputs, self.program.captures,
                       self.program.name) if changed else self.program

    def kept_dims(self, eqn: Eqn) -> Eqn:
        x = eqn.inputs[0] if eqn.prim.name == "reshape" else None
        made = self.producer.get(x.id) if type(x) is Var else None
        if made is None or made.prim.name not in _REDUCTIONS or set(made.params) != {"axes", "keepdims"} or \
                made.params["keepdims"] or self.uses[x.id] != 1:
            return eqn
        source = made.inputs[0]
        kept = tuple(1 if i in made.params["axes"] else d for i, d in enumerate(source.aval.shape))
        if tuple(eqn.params["shape"]) != kept:
            return eqn
        return Eqn(made.prim, [source], {**made.params, "keepdims": True}, eqn.outs, eqn.where)

    def negated(self, a, out=None) -> Var | None:
        """x if a = -x, read here alone, of a's dtype (and no smaller than the result out, if given); else None."""
        made = self.producer.get(a.id) if type(a) is Var else None
        if made is None or made.prim.name != "neg" or self.uses[a.id] != 1 or type(made.inputs[0]) is not Var:
            return None
        x = made.inputs[0]
        return x if x.aval.dtype == a.aval.dtype and (out is None or a.aval.size >= out.aval.size) else None

    def sink_negation(self, eqn: Eqn, eqns: list) -> Eqn:
        name, out = eqn.prim.name, eqn.outs[0]
        if eqn.prim.multiple_results or out.aval.dtype.kind not in "fc" or name not in _SINKS + ("add", "sub"):
            return eqn
        if name in ("add", "sub"):
            return self.absorbed(eqn, eqns)
        plain = [self.negated(a, out) for a in eqn.inputs]
        if not any(x is not None for x in plain):
            return eqn
        inputs = [a if x is None else x for a, x in zip(eqn.inputs, plain)]
        if sum(x is not None for x in plain) == 2:  # (-x) * (-y) = x * y
            return Eqn(eqn.prim, inputs, eqn.params, eqn.outs, eqn.where)
        return self.negation_of(Eqn(eqn.prim, inputs, eqn.params, [Var(out.aval)], eqn.where), eqn, eqns)

    def absorbed(self, eqn: Eqn, eqns: list) -> Eqn:
        """x + (-y) -> x - y, (-x) + y -> y - x, x - (-y) -> x + y, (-x) - y -> -(x + y) (where -x is no
        smaller than the result)."""
        (x, y), out = eqn.inputs, eqn.outs[0]
        px, py = self.negated(x), self.negated(y)
        add, sub = REGISTRY["add"], REGISTRY["sub"]
        if eqn.prim.name == "sub" and px is not None and py is None and self.negated(x, out) is None:
            return eqn
        if eqn.prim.name == "add" and (py is not None or px is not None):
            operands = [x, py] if py is not None else [y, px]
            return Eqn(sub, operands, eqn.params, eqn.outs, eqn.where)
        if eqn.prim.name == "sub" and py is not None:
            return Eqn(add, [x, py], eqn.params, eqn.outs, eqn.where)
        if eqn.prim.name == "sub" and px is not None:
            return self.negation_of(Eqn(add, [px, y], eqn.params, [Var(eqn.outs[0].aval)], eqn.where), eqn, eqns)
        return eqn

    def negation_of(self, positive: Eqn, eqn: Eqn, eqns: list) -> Eqn:
        """positive appended; the equation negating its result into eqn's."""
        eqns.append(positive)
        self.producer[positive.outs[0].id] = positive
        self.uses[positive.outs[0].id] = 1
        return Eqn(REGISTRY["neg"], [positive.outs[0]], {}, eqn.outs, eqn.where)
