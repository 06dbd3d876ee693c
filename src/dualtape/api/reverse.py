"""Reverse mode: `grad`, `value_and_grad`, `vjp`, `jacrev`, the compositions `hessian` and `hvp`, and
`checkpoint` (control/checkpoint.py, with autograph's conversion of the checkpointed function).

`grad` stages the forward and backward sweeps of transforms/vjp.py into one program, compiled and cached
per input signature like dt.jit (and inlined like dt.jit when called under another transform, which is how
grad(grad(f)) and jacfwd(grad(f)) work). `jacrev` pulls back all output basis vectors at once as a batch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import tree
from ..autograph import maybe_convert
from ..avals import aval_of, is_float
from ..control.checkpoint import checkpoint as _checkpoint
from ..core.trace import input_hints, make_program
from ..transforms.batching import vmap_call
from ..transforms.vjp import Pullback, check_cotangent
from .forward import (
    _selected,
    _with_args,
    as_listed,
    check_primals_tangents,
    float_inputs,
    input_kinds,
    jacfwd,
    jvp,
    untensor,
)
from .hints import Argnums, Fn
from .staging import Jitted, arrays_only, is_object, with_objects


def _name(fn) -> str:
    name = getattr(fn, "__name__", "f")
    return name if name.isidentifier() else "f"


def _pullback(fn, args, argnums, where: str, kwargs=None, keep_objects: bool = False):
    """Trace fn as a function of args[argnums] (kwargs passed through, not differentiated), run it forward,
    and return (pullback, fn's result, its out_tree, in_tree). With keep_objects, leaves of the result that are
    not arrays (strings, objects in aux) are returned as they are instead of being traced."""
    args = untensor(args)
    nums, chosen = _selected(args, argnums)
    float_inputs(chosen, where)
    f = _with_args(maybe_convert(fn), args, nums, untensor(kwargs or {}))
    results: list = []
    if keep_objects:
        f = arrays_only(f, results)
    program, out_tree = make_program(f, chosen, name=_name(fn), arg_names=_hints(fn, args, nums))
    out_tree, objects = results[-1] if results else (out_tree, ())
    leaves, in_tree = tree.flatten(chosen)
    pullback = Pullback(program, leaves)
    return pullback, with_objects(out_tree, objects, pullback.outputs), out_tree, in_tree


def _hints(fn, args, nums):
    """The readable names of the leaves of the chosen arguments (the user's parameter names)."""
    hints = input_hints(fn, args)
    per_arg, i = [], 0
    for a in args:
        n = len(tree.leaves(a))
        per_arg.append(hints[i:i + n])
        i += n
    return [h for k in nums for h in per_arg[k]]


def _scalar_seed(value, fn, holomorphic: bool = False):
    aval = aval_of(value)
    if aval.shape != ():
        raise TypeError(f"grad requires a function with a scalar output, but {_name(fn)} returned an array of "
                        f"shape {aval.shape}; use dt.jacrev for the full Jacobian or dt.vjp for a "
                        "vector-Jacobian product")
    if not is_float(aval.dtype):
        raise TypeError(f"grad requires a floating-point output, but {_name(fn)} returned {aval.dtype}")
    if aval.dtype.kind == "c" and not holomorphic:
        raise TypeError(f"grad requires real-valued outputs (output dtype that is a sub-dtype of np.floating), "
                        f"but {_name(fn)} returned {aval.dtype}; for holomorphic differentiation pass "
                        "holomorphic=True, for a real function of complex values return its real part, abs or "
                        "norm, or use dt.vjp")
    if holomorphic and aval.dtype.kind != "c":
        raise TypeError(f"grad with holomorphic=True requires complex-valued outputs, but {_name(fn)} returned "
                        f"{aval.dtype}")
    return 1.0 if aval.dtype == np.float64 or aval.weak else aval.dtype.type(1)


def complex_inputs(values, where: str) -> None:
    """holomorphic=True differentiates complex functions of complex inputs (as JAX): real ones raise."""
    for x in tree.leaves(values):
        if aval_of(x).dtype.kind != "c":
            raise TypeError(f"{where} with holomorphic=True requires inputs with complex dtype, but got "
                            f"{aval_of(x).dtype}; convert it with .astype(complex)")


def value_and_grad(fn: Fn, argnums: Argnums = 0, has_aux: bool = False, *, holomorphic: bool = False,
                   backend: str = "numpy", to_host: bool = False) -> Jitted:
    """(fn(*args), gradient of fn with respect to args[argnums]); with has_aux fn returns (value, aux) and
    the result is ((value, aux), gradient); aux may hold any Python values. Keyword arguments are passed to
    fn and not differentiated. fn's value must be real, or, with holomorphic=True, complex (of complex
    inputs: the gradient is then the complex derivative). backend and to_host: as for dt.jit."""

    def value_and_gradient(*args, **kwargs):
        if holomorphic:
            complex_inputs(_selected(untensor(args), argnums)[1], "grad")
        pullback, outputs, _, in_tree = _pullback(fn, args, argnums, "grad", kwargs, keep_objects=has_aux)
        if has_aux:
            if not (isinstance(outputs, (tuple, list)) and len(outputs) == 2):
                raise TypeError("has_aux=True requires the function to return a pair (value, aux)")
            value, aux = outputs
        else:
            value = outputs
        if len(tree.leaves(value)) != 1:
            raise TypeError(f"grad requires a scalar output, but {_name(fn)} returned a {type(value).__name__}")
        seed = _scalar_seed(value, fn, holomorphic)
        bars = pullback.input_cotangents([seed] + [None] * (len(pullback.outputs) - 1))
        grads = as_listed(tree.unflatten(in_tree, bars), argnums, len(args))
        return ((value, aux) if has_aux else value), grads

    value_and_gradient.__name__ = f"value_and_grad_{_name(fn)}"
    return _staged(fn, value_and_gradient, backend, to_host)


def grad(fn: Fn, argnums: Argnums = 0, has_aux: bool = False, *, holomorphic: bool = False, backend: str = "numpy",
         to_host: bool = False) -> Jitted:
    """The gradient of scalar-valued fn with respect to args[argnums] (an int or a tuple of ints); the result
    mirrors that argument's pytree. With has_aux: (gradient, aux). Keyword arguments are passed to fn and not
    differentiated. fn's value must be real; of complex inputs the gradient is JAX's (the conjugate of
    d f / d conj(z) times 2, so that gradient descent steps along -conj(grad)); holomorphic=True differentiates a
    complex-valued holomorphic fn (its complex derivative). backend and to_host: as for dt.jit."""
    both = value_and_grad(fn, argnums, has_aux, holomorphic=holomorphic)

    def gradient(*args, **kwargs):
        (value, *aux), grads = _split_aux(both.fn(*args, **kwargs), has_aux)
        return (grads, aux[0]) if has_aux else grads

    gradient.__name__ = f"grad_{_name(fn)}"
    return _staged(fn, gradient, backend, to_host)


def _split_aux(result, has_aux):
    out, grads = result
    return ((out[0], out[1]) if has_aux else (out,)), grads


def _staged(fn, body, backend: str = "numpy", to_host: bool = False):
    """body compiled and cached like dt.jit, for backend, and named after fn; as JAX's un-jitted transforms,
    it takes strings and other objects in its arguments and returns them in its result (aux) as they are."""
    jitted = Jitted(body, backend, to_host=to_host, static_objects=True)
    functools.update_wrapper(jitted, fn, assigned=("__module__", "__doc__"), updated=())
    jitted.__name__ = jitted.__qualname__ = body.__name__
    return jitted


def vjp(fn: Fn, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """(fn(*primals), vjp_fn): vjp_fn(cotangent) returns a tuple with one cotangent per primal. The forward
    sweep runs now and keeps only the residuals the backward sweep needs."""
    pullback, outputs, _, in_tree = _pullback(fn, primals, tuple(range(len(primals))), "vjp",
                                              keep_objects=has_aux)
    if has_aux:
        outputs, aux = outputs
        n_main = len(tree.leaves(outputs))
        strays = [x for x in tree.leaves(outputs) if is_object(x)]
        if strays:
            raise TypeError(f"vjp: {_name(fn)} returned {strays[0]!r:.60} outside its aux; only aux may hold "
                            "values that are not arrays")
    else:
        n_main = len(pullback.outputs)
    main_tree = tree.flatten(outputs)[1]

    def vjp_fn(cotangent):
        ct_leaves, ct_tree = tree.flatten(cotangent)
        if ct_tree != main_tree:
            raise ValueError(f"vjp: cotangent structure {ct_tree!r} does not match the output's {main_tree!r}")
        for out, ct in zip(pullback.outputs, ct_leaves):
            check_cotangent(out, ct)
        bars = pullback.input_cotangents(ct_leaves + [None] * (len(pullback.outputs) - n_main))
        return tuple(tree.unflatten(in_tree, bars))

    return (outputs, vjp_fn, aux) if has_aux else (outputs, vjp_fn)


def jacrev(fn: Fn, argnums: Argnums = 0, *, holomorphic: bool = False) -> Fn:
    """The Jacobian by reverse mode, shape out.shape + in.shape: all output basis cotangents are pulled back
    in one batched pass. Keyword arguments are passed to fn and not differentiated. Outputs must be real, or,
    with holomorphic=True, fn holomorphic of complex inputs (as in JAX)."""

    @functools.wraps(fn)
    def jacobian(*args, **kwargs):
        if holomorphic:
            input_kinds(_selected(untensor(args), argnums)[1], "jacrev", True)
        pullback, _, out_tree, in_tree = _pullback(fn, args, argnums, "jacrev", kwargs)
        outs = pullback.outputs
        for o in outs:
            if (aval_of(o).dtype.kind == "c") != holomorphic:
                raise TypeError(f"jacrev requires {'complex' if holomorphic else 'real'}-valued outputs"
                                f"{' with holomorphic=True' if holomorphic else ''}, but {_name(fn)} returned "
                                f"{aval_of(o).dtype}" + ("" if holomorphic else "; for holomorphic "
                                                         "differentiation pass holomorphic=True"))
        sizes = [aval_of(o).size for o in outs]
        m = sum(sizes)
        basis, offset = [], 0
        for o, size in zip(outs, sizes):
            aval = aval_of(o)
            basis.append(np.eye(m, dtype=aval.dtype)[offset:offset + size].reshape((aval.shape + (m,))))
            offset += size
        basis = [np.moveaxis(b, -1, 0) for b in basis]
        rows = vmap_call(lambda *cts: pullback.input_cotangents(list(cts)), tuple(basis))
        in_leaves = tree.leaves(_selected(untensor(args), argnums)[1])
        # rows[j]: (m, *in_shape_j); the Jacobian block of output i is its rows, reshaped out_i + in_j
        per_output, offset = [], 0
        for o, size in zip(outs, sizes):
            blocks = [r[offset:offset + size].reshape(aval_of(o).shape + aval_of(x).shape)
                      for r, x in zip(rows, in_leaves)]
            per_output.append(as_listed(tree.unflatten(in_tree, blocks), argnums, len(args)))
            offset += size
        return tree.unflatten(out_tree, per_output)

    return jacobian


def hessian(fn: Fn, argnums: Argnums = 0, *, holomorphic: bool = False) -> Fn:
    """The Hessian, forward-over-reverse: jacfwd(jacrev(fn))."""
    return jacfwd(jacrev(fn, argnums, holomorphic=holomorphic), argnums, holomorphic=holomorphic)


def hvp(fn: Fn, primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian-vector product H·v (forward over reverse) without forming H; structured like primals."""
    check_primals_tangents(primals, tangents, "hvp")
    return jvp(grad(fn, argnums=tuple(range(len(primals)))), tuple(primals), tuple(tangents))[1]


def checkpoint(fn: Fn) -> Fn:
    """fn with the same values, whose intermediates reverse mode recomputes in the backward sweep instead of
    storing them: memory for time. Keyword arguments are passed to fn (and differentiated, as in JAX)."""
    return _checkpoint(fn, convert=maybe_convert)
