"""Loop pass: a scan carry that only sums outer products, `acc = acc + u[:, None] * v`, becomes one matrix
product after the loop, `acc = acc0 + U.T @ V`, with u and v stacked by the loop (or read from an array the
loop already indexes). This is the weight cotangent of `A @ x` inside a loop: per step an outer product and
an add over the whole matrix, afterwards one GEMM over two thin stacks."""

from __future__ import annotations

from collections import Counter

from ..avals import ShapedArray
from ..core.ir import Eqn, Program, Var
from ..core.primitive import REGISTRY


def hoist_outer_products(program: Program) -> Program:
    """Rewrite every top-level scan whose carries qualify (see the module docstring); others stay as they are."""
    eqns, changed = [], False
    for eqn in program.eqns:
        if eqn.prim.name == "scan":
            rewritten = _hoisted_scan(eqn)
            if rewritten is not None:
                eqns.extend(rewritten)
                changed = True
                continue
        eqns.append(eqn)
    if not changed:
        return program
    return Program(program.inputs, eqns, program.outputs, program.captures, program.name)


def _uses(body: Program) -> Counter:
    counts = Counter(a.id for e in body.eqns for a in e.inputs if type(a) is Var)
    counts.update(a.id for a in body.outputs if type(a) is Var)
    return counts


class _Outer:
    """An accumulating carry k of a scan body: acc_out = acc + expand_dims(u, 1) * v, u (n,), v (m,)."""

    def __init__(self, k: int, eqns: list[Eqn], u: Var, v: Var):
        self.k, self.eqns, self.u, self.v = k, eqns, u, v  # eqns: the add, the product, the expand_dims


def _find(body: Program, n_consts: int, n_carry: int) -> list[_Outer]:
    producer = {v.id: e for e in body.eqns for v in e.outs}
    uses = _uses(body)
    consts = {v.id for v in body.inputs[:n_consts]}
    found = []
    for k in range(n_carry):
        acc, new = body.inputs[n_consts + 1 + k], body.outputs[k]
        add = producer.get(getattr(new, "id", None))
        if add is None or add.prim.name != "add" or uses[acc.id] != 1 or uses[new.id] != 1:
            continue
        terms = [a for a in add.inputs if a is not acc]
        if len(terms) != 1 or type(terms[0]) is not Var or uses[terms[0].id] != 1:
            continue
        factors = _outer_factors(terms[0], producer, uses)
        if factors is None:
            continue
        u, v, made = factors
        if acc.aval.shape != (u.aval.shape[0], v.aval.shape[0]) or u.id in consts or v.id in consts:
            continue
        if len({acc.aval.dtype, u.aval.dtype, v.aval.dtype, terms[0].aval.dtype}) != 1:
            continue
        found.append(_Outer(k, [add, *made], u, v))
    return found


def _outer_factors(term: Var, producer: dict, uses: Counter):
    """(u, v, [the mul and expand_dims equations]) when term = expand_dims(u, (1,)) * v (either order), u and
    v vectors; else None."""
    mul = producer.get(term.id)
    if mul is None or mul.prim.name != "mul" or any(type(a) is not Var for a in mul.inputs):
        return None
    for column, row in (mul.inputs, mul.inputs[::-1]):
        made = producer.get(column.id)
        if (made is not None and made.prim.name == "expand_dims" and made.params["axes"] == (1,)
                and uses[column.id] == 1 and type(made.inputs[0]) is Var and made.inputs[0].aval.ndim == 1
                and row.aval.ndim == 1):
            return made.inputs[0], row, [mul, made]
    return None


def _hoisted_scan(eqn: Eqn):
    """The scan without the accumulating carries, followed by their matrix products; None if none qualify."""
    p = eqn.params
    body, n_consts, n_carry, length = p["body"], p["n_consts"], p["n_carry"], p["length"]
    found = _find(body, n_consts, n_carry)
    if not found:
        return None
    gone = {f.k for f in found}
    x_vars = body.inputs[n_consts + 1 + n_carry:]
    outer_xs = eqn.inputs[n_consts + n_carry:]
    stacked_out, new_ys = {}, []  # body var id -> the outer stacked Var holding it per step
    for f in found:
        for v in (f.u, f.v):
            if v.id in stacked_out:
                continue
            if v in x_vars:  # the loop reads it from an array already: use that array
                stacked_out[v.id] = outer_xs[x_vars.index(v)]
                continue
            stacked_out[v.id] = Var(ShapedArray((length,) + v.aval.shape, v.aval.dtype), v.hint)
            new_ys.append(v)
    dropped = {id(e) for f in found for e in f.eqns}
    carry_in = [v for i, v in enumerate(body.inputs[n_consts + 1:n_consts + 1 + n_carry]) if i not in gone]
    carry_out = [a for i, a in enumerate(body.outputs[:n_carry]) if i not in gone]
    new_body = Program(body.inputs[:n_consts + 1] + carry_in + x_vars, [e for e in body.eqns if id(e) not in dropped],
                       carry_out + body.outputs[n_carry:] + new_ys, body.captures, body.name)
    inits = eqn.inputs[n_consts:n_consts + n_carry]
    outs = [v for i, v in enumerate(eqn.outs[:n_carry]) if i not in gone] + eqn.outs[n_carry:] + [
        stacked_out[v.id] for v in new_ys]
    scan = Eqn(eqn.prim, eqn.inputs[:n_consts] + [a for i, a in enumerate(inits) if i not in gone] + outer_xs,
               {**p, "body": new_body, "n_carry": n_carry - len(found)}, outs, eqn.where)
    after = [scan]
    for f in found:
        us, vs, result = stacked_out[f.u.id], stacked_out[f.v.id], eqn.outs[f.k]
        result.hint = result.hint or body.inputs[n_consts + 1 + f.k].hint
        us_t = Var(ShapedArray(us.aval.shape[::-1], us.aval.dtype), us.hint and us.hint + "_T")
        product = Var(result.aval, result.hint)
        after.append(Eqn(REGISTRY["transpose"], [us], {"perm": (1, 0)}, [us_t], eqn.where))
        after.append(Eqn(REGISTRY["matmul"], [us_t, vs], {}, [product], eqn.where))
        after.append(Eqn(REGISTRY["add"], [inits[f.k], product], {}, [result], eqn.where))
    return after
