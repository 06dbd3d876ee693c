"""Reverse mode: the backward sweep over a Program, on any kind of value.

`Pullback` runs a program forward (binding each equation, so on arrays it computes and under a staging
trace it records the primal statements), keeps the values the VJP rules will read (the residuals), and
`pullback(out_bars)` walks the equations in reverse, applying each primitive's VJP rule and summing
cotangents where a value fans out. Only *active* values (those that depend on the differentiated inputs)
get cotangents; rules skip operands that are not active (`needed`). Staged under dt.jit, the result is one
program: the primal statements, then the adjoint statements, cotangents named `<primal>_bar`.
"""

from __future__ import annotations

from ..avals import aval_of, is_float
from ..core.ir import Program, Var
from ..core.trace import bind, set_source_line, suggest_name
from ..ops.complex_parts import real_p
from ..ops.rules import add_any, zeros
from .evaluate import evaluate_into, initial_env


def active_vars(program: Program) -> set[int]:
    """Ids of the Vars that depend on the program's inputs through differentiable equations; integer and boolean
    values are flat in every input, so they are never active (no cotangent flows to or through them)."""
    active = {v.id for v in program.inputs if _has_cotangent(v.aval)}
    for eqn in program.eqns:
        if eqn.prim.differentiable and any(type(a) is Var and a.id in active for a in eqn.inputs):
            active.update(v.id for v in eqn.outs if _has_cotangent(v.aval))
    return active


def _has_cotangent(aval) -> bool:
    return is_float(aval.dtype) or _holds_objects(aval)


class Pullback:
    """A program evaluated forward at some inputs, ready to pull cotangents back to those inputs."""

    def __init__(self, program: Program, args):
        self.program = program
        self.active = active_vars(program)
        self.residuals: dict[int, object] = {}  # eqn id -> what its primitive's vjp_fwd saved
        env = evaluate_into(program, initial_env(program, args), self._forward)
        self.outputs = [env[a.id] if type(a) is Var else a.value for a in program.outputs]
        self.env = {k: env[k] for k in self._residual_ids()}

    def _forward(self, eqn, args):
        """Bind the equation; a primitive with a forward sweep of its own (loops) saves its residuals."""
        if eqn.prim.vjp_fwd is not None and any(type(a) is Var and a.id in self.active for a in eqn.inputs):
            out, self.residuals[id(eqn)] = eqn.prim.vjp_fwd(*args, **eqn.params)
            return out
        return bind(eqn.prim, *args, **eqn.params)

    def _residual_ids(self) -> set[int]:
        """The forward values the backward sweep reads: operands and results of active equations."""
        keep = set()
        for eqn in self.program.eqns:
            if any(v.id in self.active for v in eqn.outs):
                keep.update(a.id for a in eqn.inputs if type(a) is Var)
                keep.update(v.id for v in eqn.outs)
        return keep

    def _read(self, a):
        return self.env[a.id] if type(a) is Var else a.value

    def __call__(self, out_bars) -> list:
        """Cotangents of the program's inputs (None where zero) for cotangents of its outputs."""
        program, active = self.program, self.active
        ct: dict[int, object] = {}
        for a, g in zip(program.outputs, out_bars):
            if g is not None and type(a) is Var and a.id in active:
                ct[a.id] = add_any(ct.get(a.id), g)
        previous = set_source_line(None)
        try:
            for eqn in reversed(program.eqns):
                if not any(v.id in ct for v in eqn.outs):
                    continue
                gs = [ct.pop(v.id, None) for v in eqn.outs]
                for v, g in zip(eqn.outs, gs):
                    suggest_name(g, v.hint and f"{v.hint}_bar")
                if eqn.prim.vjp is None and id(eqn) not in self.residuals:
                    raise NotImplementedError(f"reverse-mode differentiation of {eqn.prim.name} is not implemented")
                needed = [type(a) is Var and a.id in active for a in eqn.inputs]
                set_source_line(eqn.where)
                if eqn.prim.multiple_results:  # (a tape, which has no zero, keeps None: a symbolic zero)
                    gs = [zeros(v.aval) if g is None and not _holds_objects(v.aval) else g
                          for v, g in zip(eqn.outs, gs)]
                    g, out = gs, [self._read(v) for v in eqn.outs]
                else:
                    g, out = gs[0], self._read(eqn.outs[0])
                if id(eqn) in self.residuals:
                    bars = eqn.prim.vjp_bwd(g, self.residuals[id(eqn)], needed=needed, **eqn.params)
                else:
                    bars = eqn.prim.vjp(g, *[self._read(a) for a in eqn.inputs], out=out, needed=needed,
                                        **eqn.params)
                for a, bar, need in zip(eqn.inputs, bars, needed):
                    if need and bar is not None:
                        ct[a.id] = _accumulate(ct.get(a.id), _real_for_real(bar, a.aval), a.aval)
        finally:
            set_source_line(previous)
        bars = [ct.get(v.id) for v in program.inputs]
        for v, bar in zip(program.inputs, bars):
            suggest_name(bar, v.hint and f"{v.hint}_bar", force=True)  # the result: named after its input
        return bars

    def input_cotangents(self, out_bars) -> list:
        """Like calling self, with explicit zeros for inputs that got no cotangent."""
        return [zeros(v.aval) if bar is None else bar
                for v, bar in zip(self.program.inputs, self(out_bars))]


def _holds_objects(aval) -> bool:
    """Whether values of this aval are Python objects (a while loop's tapes): they cannot be zeroed or added."""
    return aval.dtype == object


def _accumulate(total, bar, aval):
    """total + bar, the cotangents of one value read twice; a tape's cotangents (tapes) cannot be added."""
    if total is not None and _holds_objects(aval):
        raise NotImplementedError(
            "reverse mode through a while loop's tape read twice (as by one pullback of a while loop called twice "
            "inside the function being differentiated) is not supported: the cotangents of the two reads are tapes, "
            "which cannot be added\n  fix: pull back once, as a pullback is linear (pullback(a) + pullback(b) is "
            "pullback(a + b)), or take a dt.vjp for each pullback")
    return add_any(total, bar)


def _real_for_real(bar, aval):
    """A real value's cotangent is real (the real part of a complex one), whatever rule made it."""
    if aval.dtype.kind in "fV" and not isinstance(bar, (list, tuple)) and aval_of(bar).dtype.kind == "c":
        return real_p(bar)
    return bar


def masked(bars, needed) -> tuple:
    """The cotangents, None where the caller does not need one (`needed[i]` falsy; None: all needed)."""
    return tuple(None if needed is not None and not n else b for b, n in zip(bars, needed or [True] * len(bars)))


def check_cotangent(out, ct, where: str = "vjp"):
    o, c = aval_of(out), aval_of(ct)
    if o.shape != c.shape:
        raise ValueError(f"{where}: cotangent shape {c.shape} does not match output shape {o.shape}; "
                         "pass a cotangent of the same shape as the output")
