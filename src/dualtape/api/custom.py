"""Controlling differentiation: `stop_gradient`, `checkpoint`, `custom_jvp`, `custom_vjp` (JAX-style)."""

from __future__ import annotations

import functools

from .. import tree
from ..autograph import maybe_convert
from ..ops.elementwise import stop_gradient_p
from ..transforms.subprograms import checkpoint_p, custom_jvp_call_p, custom_vjp_call_p, trace_sub_program


def _name(fn) -> str:
    name = getattr(fn, "__name__", "f")
    return name if name.isidentifier() else "f"


def stop_gradient(x):
    """The identity on values, with derivative zero (every leaf of a pytree)."""
    return tree.tree_map(lambda leaf: stop_gradient_p(leaf), x)


def checkpoint(fn):
    """fn with the same values, whose intermediates reverse mode recomputes in the backward sweep instead of
    storing them: memory for time."""

    @functools.wraps(fn)
    def checkpointed(*args):
        program, operands, _, out_tree = trace_sub_program(maybe_convert(fn), args, _name(fn))
        return tree.unflatten(out_tree, checkpoint_p(*operands, program=program))

    return checkpointed


class custom_jvp:
    """`@dt.custom_jvp` then `@f.defjvp`: a rule `(primals, tangents) -> (out, out_tangent)` replaces
    differentiation of f's body, in forward mode and (transposed) in reverse mode."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.jvp_rule = None

    def defjvp(self, jvp_rule):
        self.jvp_rule = jvp_rule
        return jvp_rule

    def __call__(self, *args):
        if self.jvp_rule is None:
            name = _name(self.fn)
            raise TypeError(f"custom_jvp function {name} has no rule: decorate one with @{name}.defjvp")
        program, operands, in_tree, out_tree = trace_sub_program(self.fn, args, _name(self.fn))
        outs = custom_jvp_call_p(*operands, program=program, jvp_rule=self.jvp_rule, in_tree=in_tree)
        return tree.unflatten(out_tree, outs)


class custom_vjp:
    """`@dt.custom_vjp` then `f.defvjp(f_fwd, f_bwd)`: f_fwd(*args) -> (out, residuals) and
    f_bwd(residuals, out_cotangent) -> tuple of cotangents replace reverse-mode differentiation of f."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            name = _name(self.fn)
            raise TypeError(f"custom_vjp function {name} has no rule: call {name}.defvjp(fwd, bwd)")
        program, operands, in_tree, out_tree = trace_sub_program(self.fn, args, _name(self.fn))
        outs = custom_vjp_call_p(*operands, program=program, fwd=self.fwd, bwd=self.bwd, in_tree=in_tree,
                                 out_tree=out_tree)
        return tree.unflatten(out_tree, outs)
