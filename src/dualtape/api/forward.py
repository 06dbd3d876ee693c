"""Forward mode and vectorisation: `jvp`, `linearize`, `jacfwd`, `vmap`.

jvp runs the function on dual values (transforms/jvp.py); under `dt.jit` the same run is staged into one
fused forward-mode program. jacfwd pushes every basis tangent at once, as a batch (transforms/batching.py),
so the program is walked once rather than once per input element.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import tree
from ..autograph import maybe_convert
from ..avals import aval_of, is_float
from ..codegen.runtime import Compiled
from ..config import config
from ..core.primitive import trace_of
from ..core.trace import input_hints, make_program
from ..errors import object_array_error
from ..numpy import moveaxis, reshape
from ..transforms.batching import vmap_call
from ..transforms.jvp import check_tangent, jvp_call
from ..transforms.passes import optimize
from .hints import Argnums, Fn


def untensor(values):
    """Eager tensors given to the functional API count as their (detached) arrays."""
    return tree.tree_map(lambda x: x if (t := trace_of(x)) is None else t.unwrap(x), values)


def check_primals_tangents(primals, tangents, where: str) -> None:
    """primals and tangents are tuples (or lists) with one entry per argument of fn, as jvp and hvp take."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"{where}: primals and tangents must be tuples (one entry per argument of fn), "
                        f"got {type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise ValueError(f"{where}: {len(primals)} primals but {len(tangents)} tangents")


def jvp(fn: Fn, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """(fn(*primals), J·tangents): forward mode. primals and tangents are tuples of matching pytrees."""
    check_primals_tangents(primals, tangents, "jvp")
    return jvp_call(maybe_convert(fn), untensor(tuple(primals)), untensor(tuple(tangents)))


def linearize(fn: Fn, *primals: Any) -> tuple[Any, Fn]:
    """(fn(*primals), f_jvp): f_jvp(*tangents) evaluates the linearised program, compiled once; the primal
    work is done here, once, and its results are constants of the linear program."""
    outputs = []
    fn = maybe_convert(fn)
    primals = untensor(primals)

    def tangent_map(*tangents):
        out, out_dot = jvp_call(fn, primals, tangents)
        outputs.append(out)
        return out_dot

    name = getattr(fn, "__name__", "f")
    tangent_map.__name__ = f"{name if name.isidentifier() else 'f'}_jvp"
    hints = [f"{h}_dot" if h else None for h in input_hints(fn, tuple(primals))]
    program, out_tree = make_program(tangent_map, tuple(primals), arg_names=hints)
    if config.optimize:
        program = optimize(program)
    compiled = Compiled(program)
    primal_leaves, in_tree = tree.flatten(tuple(primals))

    def f_jvp(*tangents):
        leaves, t_tree = tree.flatten(tuple(tangents))
        if t_tree != in_tree:
            raise ValueError(f"linearize: tangents have structure {t_tree!r}, primals {in_tree!r}")
        for p, t in zip(primal_leaves, leaves):
            check_tangent(p, t, "linearize")
        out = compiled.fn(*leaves)
        return tree.unflatten(out_tree, (out,) if compiled.n_outputs == 1 else out)

    f_jvp.program = program  # type: ignore[attr-defined]
    return outputs[0], f_jvp


def vmap(fn: Fn, in_axes: Any = 0, out_axes: Any = 0) -> Fn:
    """fn mapped over an axis of its arguments (in_axes: int, None, or one entry per argument or pytree
    leaf), with the results stacked along out_axes (likewise per output; None for an output that is not
    mapped); keyword arguments are mapped over their axis 0, as in JAX. Primitives with a batch rule run once
    on the whole batch."""

    @functools.wraps(fn)
    def mapped(*args, **kwargs):
        return vmap_call(maybe_convert(fn), untensor(args), in_axes, out_axes, untensor(kwargs))

    return mapped


def _distinct(argnums, n_args: int) -> tuple:
    """The positions argnums names, each once, in the order first named (negative ones counted from the end)."""
    listed = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in listed:
        if not -n_args <= i < n_args:
            raise ValueError(f"argnums {argnums} is out of range for {n_args} positional arguments")
    return tuple(dict.fromkeys(i % n_args for i in listed))


def _selected(args, argnums):
    """(the distinct positions of argnums, the arguments there): a position named twice is differentiated once."""
    nums = _distinct(argnums, len(args))
    return nums, tuple(args[i] for i in nums)


def as_listed(values, argnums, n_args: int):
    """values (one per distinct position of argnums) laid out as argnums lists them: the one value for an int,
    else a tuple with an entry per listed position, a position listed twice getting its derivative twice (JAX)."""
    if isinstance(argnums, int):
        return values[0]
    nums = _distinct(argnums, n_args)
    return tuple(values[nums.index(i % n_args)] for i in argnums)


def _with_args(fn, args, nums, kwargs=None):
    """fn as a function of the arguments at positions nums only, the others (and kwargs) held fixed."""
    kwargs = kwargs or {}

    def partial(*chosen):
        full = list(args)
        for i, v in zip(nums, chosen):
            full[i] = v
        return fn(*full, **kwargs)

    return partial


def float_inputs(values, where: str):
    """Differentiation needs floating inputs (as in JAX): integer or boolean ones raise a TypeError."""
    for x in tree.leaves(values):
        dtype = aval_of(x).dtype
        if dtype.kind == "O":
            raise object_array_error(where)
        if not is_float(dtype):
            raise TypeError(f"{where} requires floating-point inputs, got an input of dtype {dtype}; "
                            "convert it with .astype(float) or leave it out of argnums")


def input_kinds(values, where: str, holomorphic: bool) -> None:
    """JAX's rule for Jacobians: real inputs, or with holomorphic=True complex ones (a non-holomorphic function
    of complex values has no complex Jacobian: differentiate its real and imaginary parts as real inputs)."""
    for x in tree.leaves(values):
        kind = aval_of(x).dtype.kind
        if holomorphic and kind != "c":
            raise TypeError(f"{where} with holomorphic=True requires inputs with complex dtype, but got "
                            f"{aval_of(x).dtype}; convert it with .astype(complex)")
        if not holomorphic and kind == "c":
            raise TypeError(f"{where} requires real-valued inputs (input dtype that is a sub-dtype of np.floating), "
                            f"but got {aval_of(x).dtype}; for holomorphic differentiation pass holomorphic=True, "
                            "else pass the real and imaginary parts as separate real inputs")


def jacfwd(fn: Fn, argnums: Argnums = 0, *, holomorphic: bool = False) -> Fn:
    """The Jacobian by forward mode, shape out.shape + in.shape; all basis tangents in one batched pass.
    Keyword arguments are passed to fn and not differentiated. Inputs must be real, or, with holomorphic=True,
    complex (the Jacobian is then the complex derivative of a holomorphic fn), as in JAX."""

    @functools.wraps(fn)
    def jacobian(*args, **kwargs):
        args = untensor(args)
        nums, chosen = _selected(args, argnums)
        float_inputs(chosen, "jacfwd")
        input_kinds(chosen, "jacfwd", holomorphic)
        leaves, in_tree = tree.flatten(chosen)
        sizes = [aval_of(x).size for x in leaves]
        n = sum(sizes)
        basis, offset = [], 0
        for x, size in zip(leaves, sizes):
            aval = aval_of(x)
            block = np.eye(n, dtype=aval.dtype)[:, offset:offset + size]
            basis.append(block.reshape((n,) + aval.shape))
            offset += size
        f = _with_args(maybe_convert(fn), args, nums, untensor(kwargs))

        def pushforward(*tangent_leaves):
            return jvp_call(f, chosen, tree.unflatten(in_tree, tangent_leaves))[1]

        out_dots = vmap_call(pushforward, tuple(basis))
        out_leaves, out_tree = tree.flatten(out_dots)
        per_output = [_split_columns(o, leaves, sizes) for o in out_leaves]
        result = [as_listed(tree.unflatten(in_tree, cols), argnums, len(args)) for cols in per_output]
        return tree.unflatten(out_tree, result)

    return jacobian


def _split_columns(stacked, in_leaves, sizes):
    """(n, *out_shape) -> one block out_shape + in_shape per input leaf."""
    out_shape = aval_of(stacked).shape[1:]
    moved = moveaxis(stacked, 0, -1) if out_shape else stacked
    blocks, offset = [], 0
    for x, size in zip(in_leaves, sizes):
        block = moved[..., offset:offset + size]
        blocks.append(reshape(block, out_shape + aval_of(x).shape))
        offset += size
    return blocks
