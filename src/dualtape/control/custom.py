"""Controlling differentiation: `stop_gradient`, `custom_jvp`, `custom_vjp` (JAX-style).

As in JAX, the arguments at `nondiff_argnums` of a custom rule's function are not differentiated: they go to
the rules first, as they are (a Python int stays an int, a function stays a function). One holding traced
values stays an operand of the call (behind stop_gradient), so the rules always see its current value.
"""

from __future__ import annotations

import functools
import inspect

from .. import tree
from ..core.primitive import trace_of
from ..ops.elementwise import stop_gradient_p
from .custom_rules import custom_jvp_call_p, custom_vjp_call_p
from .trace import fn_name, trace_sub_program


def _traced(x) -> bool:
    return trace_of(x) is not None


def stop_gradient(x):
    """The identity on values, with derivative zero (every leaf of a pytree)."""
    return tree.tree_map(lambda leaf: stop_gradient_p(leaf), x)


def _positional(kind: str, fn, args: tuple, kwargs: dict) -> tuple:
    """The call's arguments, all by position: keyword ones and defaults placed through fn's signature, as JAX
    does."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin: positional arguments only
        if kwargs:
            raise TypeError(f"{kind} function {fn_name(fn)} takes no keyword arguments (its signature is "
                            "unknown)") from None
        return args
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{kind} function {fn_name(fn)}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{kind} function {fn_name(fn)}: keyword arguments {sorted(bound.kwargs)} have no position; "
                        "a custom rule's function takes its arguments by position")
    return bound.args


class _Split:
    """One call's arguments split by nondiff_argnums: `operands` (the differentiable arguments, and the
    nondiff ones holding traced values, behind stop_gradient) and the other nondiff ones, kept as values."""

    def __init__(self, kind: str, fn, args: tuple, nondiff_argnums: tuple):
        n = len(args)
        for i in nondiff_argnums:
            if not -n <= i < n:
                raise ValueError(f"{kind} function {fn_name(fn)}: nondiff_argnums {nondiff_argnums} is out of range "
                                 f"for a call with {n} arguments")
        self.nondiff = sorted({i % n for i in nondiff_argnums})
        self.n = n
        self.positions, self.values, operands = [], {}, []
        for i, a in enumerate(args):
            if i in self.nondiff and not any(map(_traced, tree.leaves(a))):
                self.values[i] = a
            else:
                self.positions.append(i)
                operands.append(stop_gradient(a) if i in self.nondiff else a)
        self.operands = tuple(operands)
        self.diff = [k for k, i in enumerate(self.positions) if i not in self.nondiff]  # among the operands

    def full(self, operands) -> list:
        """All the arguments, from the operands' values."""
        args = [None] * self.n
        for i, v in zip(self.positions, operands):
            args[i] = v
        for i, v in self.values.items():
            args[i] = v
        return args

    def nondiff_args(self, operands) -> list:
        full = self.full(operands)
        return [full[i] for i in self.nondiff]

    def differentiable(self, values) -> tuple:
        """The entries of values (one per operand) that belong to differentiable arguments."""
        return tuple(values[k] for k in self.diff)

    def on_operands(self, fn):
        """fn as a function of the operands, named and signed as fn for readable generated code."""

        @functools.wraps(fn)
        def call(*operands):
            return fn(*self.full(operands))

        try:
            params = list(inspect.signature(fn).parameters.values())
            call.__signature__ = inspect.Signature([params[i] for i in self.positions])
        except (TypeError, ValueError, IndexError):
            call.__signature__ = inspect.Signature()  # (no parameter names for the program's inputs)
        return call


class custom_jvp:
    """`@dt.custom_jvp` then `@f.defjvp`: a rule `(primals, tangents) -> (out, out_tangent)` replaces
    differentiation of f's body, in forward mode and (transposed) in reverse mode. With nondiff_argnums (as
    in JAX), the rule is `rule(*nondiff_args, primals, tangents)`, primals and tangents holding the others."""

    def __init__(self, fn, nondiff_argnums=()):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp_rule = None

    def defjvp(self, jvp_rule):
        self.jvp_rule = jvp_rule
        return jvp_rule

    def __call__(self, *args, **kwargs):
        if self.jvp_rule is None:
            name = fn_name(self.fn)
            raise TypeError(f"custom_jvp function {name} has no rule: decorate one with @{name}.defjvp")
        if kwargs or self.nondiff_argnums:
            args = _positional("custom_jvp", self.fn, args, kwargs)
        fn, rule = self.fn, self.jvp_rule
        if self.nondiff_argnums:
            split = _Split("custom_jvp", self.fn, args, self.nondiff_argnums)
            fn, args = split.on_operands(self.fn), split.operands

            def rule(primals, tangents):
                return self.jvp_rule(*split.nondiff_args(primals), split.differentiable(primals),
                                     split.differentiable(tangents))

        program, operands, in_tree, out_tree = trace_sub_program(fn, args, fn_name(self.fn))
        outs = custom_jvp_call_p(*operands, program=program, jvp_rule=rule, in_tree=in_tree)
        return tree.unflatten(out_tree, outs)


class custom_vjp:
    """`@dt.custom_vjp` then `f.defvjp(f_fwd, f_bwd)`: f_fwd(*args) -> (out, residuals) and
    f_bwd(residuals, out_cotangent) -> tuple of cotangents replace reverse-mode differentiation of f. With
    nondiff_argnums (as in JAX), f_fwd still takes every argument, and f_bwd is
    `f_bwd(*nondiff_args, residuals, out_cotangent)`, returning cotangents for the other arguments only."""

    def __init__(self, fn, nondiff_argnums=()):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            name = fn_name(self.fn)
            raise TypeError(f"custom_vjp function {name} has no rule: call {name}.defvjp(fwd, bwd)")
        if kwargs or self.nondiff_argnums:
            args = _positional("custom_vjp", self.fn, args, kwargs)
        fn, fwd, bwd = self.fn, self.fwd, self.bwd
        if self.nondiff_argnums:
            split = _Split("custom_vjp", self.fn, args, self.nondiff_argnums)
            fn, args = split.on_operands(self.fn), split.operands
            fwd, bwd = self._split_rules(split)
        program, operands, in_tree, out_tree = trace_sub_program(fn, args, fn_name(self.fn))
        outs = custom_vjp_call_p(*operands, program=program, fwd=fwd, bwd=bwd, in_tree=in_tree,
                                 out_tree=out_tree)
        return tree.unflatten(out_tree, outs)

    def _split_rules(self, split: _Split):
        """fwd and bwd over the operands: the nondiff arguments travel with the residuals to the user's bwd,
        whose cotangents (for the differentiable arguments) are spread over the operands."""

        def fwd(*operands):
            out, residuals = self.fwd(*split.full(operands))
            return out, (split.nondiff_args(operands), residuals)

        def bwd(saved, g):
            nondiff_args, residuals = saved
            bars = self.bwd(*nondiff_args, residuals, g)
            n_diff = len(split.diff)
            if not isinstance(bars, tuple) or len(bars) != n_diff:
                raise TypeError(f"custom_vjp: the backward function must return a tuple of {n_diff} cotangents, "
                                f"one per argument not in nondiff_argnums, got {type(bars).__name__}"
                                + (f" of length {len(bars)}" if isinstance(bars, tuple) else ""))
            spread = [None] * len(split.positions)
            for k, bar in zip(split.diff, bars):
                spread[k] = bar
            return tuple(spread)

        fwd.__name__, bwd.__name__ = getattr(self.fwd, "__name__", "fwd"), getattr(self.bwd, "__name__", "bwd")
        return fwd, bwd
