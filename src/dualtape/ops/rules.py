"""Helpers that turn short per-argument derivative formulas into a primitive's JVP, VJP and batch rules.

In the spirit of HIPS autograd's `defvjp` tables: a row gives, for each operand, a formula over
(g, ans, *operands, **params), written with dualtape's own ops (primitives are callable), so the same rule
runs on arrays, on tracers, on dual values and on eager tensors. None stands for a symbolic zero.
Broadcasting is undone once, here (`unbroadcast`), not in every rule.
"""

from __future__ import annotations

from ..avals import ShapedArray, aval_of, is_float
from ..core.primitive import Primitive
from .elementwise import convert_element_type_p
from .reduction import reduce_sum_p
from .shape import broadcast_to_p, reshape_p


# ---- shape helpers -------------------------------------------------------------------------------
def unbroadcast(x_bar, aval: ShapedArray):
    """Sum a cotangent of a broadcast result back to an operand's shape (NumPy broadcasting undone)."""
    if x_bar is None:
        return None
    shape = aval_of(x_bar).shape
    if shape != aval.shape:
        lead = len(shape) - len(aval.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, d in enumerate(aval.shape) if d == 1 and shape[lead + i] != 1
        )
        if axes:
            x_bar = reduce_sum_p(x_bar, axes=axes, keepdims=False)
        if aval_of(x_bar).shape != aval.shape:
            x_bar = reshape_p(x_bar, shape=aval.shape)
    return fit_dtype(x_bar, aval)


def fit_dtype(t, aval: ShapedArray):
    """A tangent or cotangent in the dtype of the value it belongs to (float32 stays float32)."""
    if t is None:
        return None
    t_aval = aval_of(t)
    if t_aval.dtype != aval.dtype and is_float(aval.dtype) and not aval.weak:
        return convert_element_type_p(t, dtype=aval.dtype)
    return t


def fit(t, aval: ShapedArray):
    """A tangent broadcast to the output's shape and cast to its dtype."""
    if t is None:
        return None
    if aval_of(t).shape != aval.shape:
        t = broadcast_to_p(t, shape=aval.shape)
    return fit_dtype(t, aval)


def add_any(a, b):
    """Sum of two possibly-zero (None) tangents or cotangents."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


# ---- rule builders --------------------------------------------------------------------------------
def defjvp(prim: Primitive, *rules) -> None:
    """JVP from one formula per operand: out_dot = sum_i rule_i(t_i, ans, *operands)."""

    def jvp(primals, tangents, **params):
        out = prim(*primals, **params)
        out_dot = None
        for rule, t in zip(rules, tangents):
            if t is not None and rule is not None:
                out_dot = add_any(out_dot, rule(t, out, *primals, **params))
        return out, fit(out_dot, aval_of(out))

    prim.jvp = jvp


def deflinear(prim: Primitive) -> None:
    """JVP of a primitive linear in all its operands (reshape, transpose, sum, ...): apply it to tangents."""

    def jvp(primals, tangents, **params):
        out = prim(*primals, **params)
        if len(tangents) == 1:
            return out, prim(tangents[0], **params)
        filled = [t if t is not None else zeros_like_value(p) for p, t in zip(primals, tangents)]
        return out, fit(prim(*filled, **params), aval_of(out))

    prim.jvp = jvp


def zeros_like_value(x):
    from .elementwise import full_p

    aval = aval_of(x)
    return full_p(shape=aval.shape, fill_value=0, dtype=aval.dtype)


def defvjp(prim: Primitive, *rules, broadcasting: bool = False) -> None:
    """VJP from one formula per operand: in_bar_i = rule_i(g, ans, *operands); with `broadcasting`, each
    result is summed back to its operand's shape."""

    def vjp(g, *primals, out, needed=None, **params):
        bars = []
        for i, (rule, x) in enumerate(zip(rules, primals)):
            if rule is None or (needed is not None and not needed[i]):
                bars.append(None)
                continue
            bar = rule(g, out, *primals, **params)
            bars.append(unbroadcast(bar, aval_of(x)) if broadcasting else fit_dtype(bar, aval_of(x)))
        return tuple(bars)

    prim.vjp = vjp
