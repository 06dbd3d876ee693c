"""Builders that turn short per-operand derivative formulas into a primitive's JVP, VJP and batch rules.

In the spirit of HIPS autograd's `defvjp` tables: a row gives, for each operand, a formula over
(g, ans, *operands, **params) written with dualtape's own ops (primitives are callable: `cos_p(x)`), so the
same rule runs on arrays, tracers, dual values and eager tensors. None is a symbolic zero. Broadcasting is
undone once, here (`unbroadcast`), not in every rule. For an elementwise primitive the formula is
`g * (partial derivative)`, so one formula per operand serves both modes. Each VJP row declares what its
rules read (`reads=`), so eager nodes keep only those values (Primitive.unread).
"""

from __future__ import annotations

import sys

import numpy as np

from ..avals import ShapedArray, aval_of, is_float
from ..core.primitive import REGISTRY, Primitive, on_numpy_numbers


def _p(name: str) -> Primitive:
    """A primitive of another family, looked up when a rule runs (the families import this module)."""
    return REGISTRY[name]


def same_dtype(x, *_, **__):
    """The dtype rule of a primitive whose result has its first operand's dtype (shape primitives)."""
    return x.dtype


# ---- shape and dtype fitting -------------------------------------------------------------------------
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
            x_bar = _p("reduce_sum")(x_bar, axes=axes, keepdims=False)
        if aval_of(x_bar).shape != aval.shape:
            x_bar = _p("reshape")(x_bar, shape=aval.shape)
    return fit_dtype(x_bar, aval)


def fit_dtype(t, aval: ShapedArray):
    """A tangent or cotangent in the dtype of the value it belongs to (float32 stays float32); a real value's is
    real: the real part of a complex one (the pairing Re(sum(c * t)) sees nothing else of it)."""
    if t is None:
        return None
    dtype = aval_of(t).dtype
    if dtype == aval.dtype:  # (the common case: nothing to do)
        return t
    if dtype.kind == "c" and aval.dtype.kind != "c":
        t = _p("real")(t)
        dtype = aval_of(t).dtype
    if dtype != aval.dtype and is_float(aval.dtype) and not aval.weak:
        return _p("convert_element_type")(t, dtype=aval.dtype)
    return t


def fit(t, aval: ShapedArray):
    """A tangent broadcast to the output's shape and cast to its dtype."""
    if t is None:
        return None
    if aval_of(t).shape != aval.shape:
        t = _p("broadcast_to")(t, shape=aval.shape)
    return fit_dtype(t, aval)


def _matches(t, x) -> bool:
    """t already has x's shape and dtype (False when either is a Python scalar: then check properly)."""
    try:
        return t.shape == x.shape and t.dtype == x.dtype
    except AttributeError:
        return False


def add_any(a, b):
    """Sum of two possibly-zero (None) tangents or cotangents."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def zeros(aval: ShapedArray):
    return _p("full")(shape=aval.shape, fill_value=0, dtype=aval.dtype)



# ---- evaluators ---------------------------------------------------------------------------------------
def helper_evaluator(make_helper, check=None):
    """What bind() and eager mode run for a row whose template calls a runtime helper (xp -> function): the
    helper built once for NumPy, or CuPy's where an operand is a CuPy array (the first may be a number, as
    class_scatter's value); `check(first operand)` runs first (eager mode calls the evaluator without the row's
    dtype rule)."""
    on_cpu, on_gpu = make_helper(np), []  # (CuPy's built at its first array: [module, helper])

    def impl(x, *rest, **params):
        if check is not None:
            check(x)
        cupy = sys.modules.get("cupy") if type(x) is not np.ndarray else None
        if cupy is not None and any(isinstance(a, cupy.ndarray) for a in (x, *rest)):
            if not on_gpu or on_gpu[0] is not cupy:  # (a module imported again: its own helper)
                on_gpu[:] = [cupy, make_helper(cupy)]
            return on_gpu[1](x, *rest, **params)
        return on_cpu(x, *rest, **params)

    return impl


# ---- JVP builders ------------------------------------------------------------------------------------
def defjvp(prim: Primitive, *rules) -> None:
    """out_dot = sum_i rule_i(t_i, ans, *operands) over the operands whose tangent is not zero."""

    def jvp(primals, tangents, **params):
        out = prim(*primals, **params)
        out_dot = None
        for rule, t in zip(rules, tangents):
            if t is not None and rule is not None:
                out_dot = add_any(out_dot, rule(t, out, *primals, **params))
        return out, fit(out_dot, aval_of(out))

    prim.jvp = jvp


def deflinear(prim: Primitive, *linear_in: int) -> None:
    """JVP of a primitive linear in the operands `linear_in` (all when empty): apply it to the tangents,
    passing the other operands (e.g. index arrays) as they are."""

    def jvp(primals, tangents, **params):
        out = prim(*primals, **params)
        which = linear_in or range(len(primals))
        if all(tangents[i] is None for i in which):
            return out, None
        args = list(primals)
        for i in which:
            args[i] = tangents[i] if tangents[i] is not None else zeros(aval_of(primals[i]))
        return out, fit(prim(*args, **params), aval_of(out))

    prim.jvp = jvp
    prim.linear_vjp = True


# ---- VJP builders ------------------------------------------------------------------------------------
def declare_reads(prim: Primitive, reads, rules=None) -> None:
    """Record what prim's VJP reads beyond shapes and dtypes: per operand's rule, the names among its operands
    and "ans" (the result) whose values it reads, space-separated ("" for none), as a tuple with one string
    per rule or one string for every rule; a variadic primitive's operands go by one name ("xs": any of them).
    Eager mode keeps only these values for the backward pass (Primitive.unread); tests/ops/test_reads.py
    checks every declaration against its rules."""
    count = len(rules) if rules is not None else 1 if prim.variadic else len(prim.operands)
    entries = (reads,) * count if isinstance(reads, str) else tuple(reads)
    if len(entries) != count:
        raise ValueError(f"{prim.name}: reads= has {len(entries)} entries for {count} rules")
    known = set(prim.operands) | {"ans"}
    declared = tuple(tuple(entry.split()) for entry in entries)
    for i, names in enumerate(declared):
        if not known.issuperset(names):
            raise ValueError(f"{prim.name}: reads= names {sorted(set(names) - known)}, not among {sorted(known)}")
        if names and rules is not None and rules[i] is None:
            raise ValueError(f"{prim.name}: reads= says operand {i}'s rule reads {names}, but it has none")
    prim.vjp_reads = declared
    prim.vjp_reads_out = any("ans" in names for names in declared)
    if prim.variadic:  # (one name for all the operands: either the rules read none, or any of them)
        reads_any = any(prim.operands[0] in names for names in declared)
        prim.vjp_reads_operands = None if reads_any else tuple(() for _ in declared)
    else:
        prim.vjp_reads_operands = tuple(tuple(x in names for x in prim.operands) for names in declared)


def defvjp(prim: Primitive, *rules, reads=None, broadcasting: bool = False) -> None:
    """in_bar_i = rule_i(g, ans, *operands), skipped where `needed[i]` is falsy (False, or None: eager passes
    its graph edges); `reads` declares what each rule reads (see declare_reads; it may be left out only when
    every rule is None); with `broadcasting`, each result is summed back to its operand's shape."""
    if reads is None:
        if any(rule is not None for rule in rules):
            raise TypeError(f"defvjp({prim.name}): declare what each rule reads, e.g. reads=('y', 'ans x')")
        reads = ""
    declare_reads(prim, reads, rules)

    if len(rules) == 1 and rules[0] is not None and len(prim.operands) == 1 and not prim.variadic:
        rule = rules[0]

        def unary_vjp(g, x, *, out, needed=None, **params):  # (one operand: no loop, eager's common case)
            if needed is not None and not needed[0]:
                return (None,)
            try:
                bar = rule(g, out, x, **params)
            except (ZeroDivisionError, OverflowError):
                bar = on_numpy_numbers(rule, g, out, x, **params)
            if not _matches(bar, x):
                bar = unbroadcast(bar, aval_of(x)) if broadcasting else fit_dtype(bar, aval_of(x))
            return (bar,)

        prim.vjp = unary_vjp
        return

    def vjp(g, *primals, out, needed=None, **params):
        bars = []
        for i, x in enumerate(primals):
            rule = rules[i] if i < len(rules) else None
            if rule is None or (needed is not None and not needed[i]):
                bars.append(None)
                continue
            try:
                bar = rule(g, out, *primals, **params)
            except (ZeroDivisionError, OverflowError):
                bar = on_numpy_numbers(rule, g, out, *primals, **params)
            if not _matches(bar, x):  # (the common case needs no fitting: skip building avals)
                bar = unbroadcast(bar, aval_of(x)) if broadcasting else fit_dtype(bar, aval_of(x))
            bars.append(bar)
        return tuple(bars)

    prim.vjp = vjp


def defelementwise(prim: Primitive, *rules, reads=None) -> None:
    """An elementwise primitive: each rule is `g * d out / d operand`, which serves as JVP contribution
    (g a tangent) and as VJP (g a cotangent, then un-broadcast; `reads` as in defvjp); batching aligns ranks."""
    defjvp(prim, *rules)
    defvjp(prim, *rules, reads=reads, broadcasting=True)
    prim.batch = batch_elementwise(prim)


def defzero(*prims: Primitive) -> None:
    """Piecewise-constant or integer-valued primitives: derivative zero; batching as elementwise."""
    for prim in prims:
        prim.differentiable = False
        prim.batch = batch_elementwise(prim)


def defconstant(*prims: Primitive) -> None:
    """Piecewise-constant elementwise primitives of one operand (floor, ceil, round, sign): derivative zero, as
    defzero's, for every transform; eager mode still records them, as PyTorch's graph keeps them (FloorBackward0),
    with a cotangent of zeros, so their results require grad and a backward through them gives zeros."""

    def zero_vjp(g, x, *, out, needed=None, **params):  # (zeros made from g: on its device, whatever g holds)
        if needed is not None and not needed[0]:
            return (None,)
        return (fit_dtype(_p("where")(_p("isfinite")(g), 0.0, 0.0), aval_of(x)),)

    for prim in prims:
        defzero(prim)
        prim.vjp, prim.eager_zero = zero_vjp, True
        declare_reads(prim, "")


# ---- batch builders (vmap) ---------------------------------------------------------------------------
def move_batch_rank(value, per_example_ndim: int, out_ndim: int, size: int):
    """A batched value (batch on axis 0) reshaped so its per-example part has rank out_ndim, so that NumPy's
    right-aligned broadcasting lines it up with unbatched operands."""
    shape = aval_of(value).shape
    if per_example_ndim == out_ndim:
        return value
    return _p("reshape")(value, shape=(size,) + (1,) * (out_ndim - per_example_ndim) + shape[1:])


def batch_elementwise(prim: Primitive):
    def rule(values, batched, size, **params):
        ranks = [aval_of(v).ndim - b for v, b in zip(values, batched)]
        out_ndim = max(ranks)
        aligned = [move_batch_rank(v, r, out_ndim, size) if b else v for v, b, r in zip(values, batched, ranks)]
        return prim(*aligned, **params)

    return rule


def shift_axes(axes, by: int = 1) -> tuple:
    return tuple(a + by for a in axes)


def batch_with_params(prim: Primitive, update):
    """A batch rule for single-operand primitives: the batched operand keeps axis 0 and `update(params,
    size)` rewrites the params (axes shifted by one, shapes prefixed by the batch size)."""

    def rule(values, batched, size, **params):
        return prim(*values, **update(params, size))

    return rule


def materialise_batch(values, batched, size):
    """Every operand batched: unbatched ones broadcast along a new axis 0."""
    out = []
    for v, b in zip(values, batched):
        if not b:
            shape = aval_of(v).shape
            v = _p("broadcast_to")(_p("reshape")(v, shape=(1,) + shape), shape=(size,) + shape)
        out.append(v)
    return out
