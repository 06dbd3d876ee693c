"""Vectorisation (`vmap`): values with a leading batch axis, and the batch-rule dispatch.

A Batched value holds an array (or traced value) whose axis 0 is the batch; its aval is the per-example
one. Binding a primitive on Batched values applies the primitive's `batch` rule (ops/), or, for a primitive
without one, maps it over the batch one example at a time (correct, just slower). jacfwd uses this to push
every basis tangent through a program in one pass.
"""

from __future__ import annotations

import numpy as np

from .. import tree
from .._util import user_source_line
from ..avals import ShapedArray, aval_of
from ..core.trace import ArrayValue, Trace, bind, new_level, trace_of
from ..errors import ConcretizationError, EscapedTracerError
from ..numpy import broadcast_to, moveaxis, stack
from ..numpy.methods import install_array_methods


class BatchTrace(Trace):
    """One level of vectorisation over a batch of `size` examples."""

    def __init__(self, size: int):
        self.level = new_level()
        self.size = size
        self.active = True

    def lift(self, x):
        """(value, is_batched) of x at this level."""
        if type(x) is Batched and x._dt_trace is self:
            return x.value, True
        trace = trace_of(x)
        if trace is not None and not trace.active:
            raise EscapedTracerError(repr(x))
        return x, False

    def process(self, prim, args, params):
        if not self.active:
            raise EscapedTracerError(f"a batched value of a finished vmap (in {prim.name})")
        values, batched = zip(*(self.lift(a) for a in args)) if args else ((), ())
        if not any(batched):
            return bind(prim, *values, **params)
        if prim.batch is None and prim.expand is not None:  # a sub-program: vectorise its equations
            return prim.expand(*args, **params)
        out = NotImplemented
        if prim.batch is not None:
            out = prim.batch(list(values), list(batched), self.size, **params)
        if out is NotImplemented:
            out = self.map_examples(prim, values, batched, params)
        if prim.multiple_results:
            return [Batched(self, o) for o in out]
        return Batched(self, out)

    def map_examples(self, prim, values, batched, params):
        """The fallback: bind prim on each example and stack the results along axis 0."""
        if self.size == 0:  # no example to run: empty results of the shapes prim would give
            example = [ShapedArray(aval_of(v).shape[1:], aval_of(v).dtype) if b else aval_of(v)
                       for v, b in zip(values, batched)]
            out = prim.abstract_eval(*example, **params)
            empty = lambda a: np.zeros((0,) + a.shape, a.dtype)
            return [empty(a) for a in out] if prim.multiple_results else empty(out)
        results = []
        for i in range(self.size):
            example = [v[i] if b else v for v, b in zip(values, batched)]
            results.append(bind(prim, *example, **params))
        if prim.multiple_results:
            return [stack(r) for r in zip(*results)]
        return stack(results)


class Batched(ArrayValue):
    """A value with a leading batch axis at one BatchTrace level."""

    __slots__ = ("_dt_trace", "value", "__weakref__")

    def __init__(self, trace: BatchTrace, value):
        self._dt_trace = trace
        self.value = value

    @property
    def aval(self) -> ShapedArray:
        full = aval_of(self.value)
        return ShapedArray(full.shape[1:], full.dtype)

    def _concrete(self, what):
        """A batched value has one value per example, never the one Python value `what` needs."""
        raise ConcretizationError(f"{what} inside vmap (it has one value per example)", self.aval,
                                  user_source_line())

    __bool__ = lambda self: self._concrete("bool (in an if, while, and/or, or assert)")
    __int__ = lambda self: self._concrete("int")
    __float__ = lambda self: self._concrete("float")
    __index__ = lambda self: self._concrete("index")
    __complex__ = lambda self: self._concrete("complex")
    __array__ = lambda self, dtype=None, copy=None: self._concrete("NumPy array (np.asarray)")

    def __repr__(self):
        return f"Batched({self.value!r})"


install_array_methods(Batched)


def _axes_tree(axes, values, name: str = "in_axes") -> list:
    """One axis (or None) per leaf of values. axes (in_axes or out_axes) is a prefix of values' structure: an
    int or None stands for every leaf below it (None is an axis here, not an empty subtree as in a pytree)."""
    if axes is None or isinstance(axes, (int, np.integer)):
        return [axes] * len(tree.leaves(values))
    if type(axes) is dict and type(values) is dict and set(axes) == set(values):
        keys = tree._dict_keys(values)
        return [a for k in keys for a in _axes_tree(axes[k], values[k], name)]
    if isinstance(axes, (tuple, list)) and isinstance(values, (tuple, list)) and len(axes) == len(values):
        return [a for axis, value in zip(axes, values) for a in _axes_tree(axis, value, name)]
    what = "arguments" if name == "in_axes" else "results"
    raise ValueError(f"vmap: {name} {axes!r} does not match the structure of the {what} "
                     f"{tree.flatten(values)[1]!r}; give an int or None per {what[:-1]} (or per pytree leaf)")


def _leaf_names(args: tuple, kwargs: dict) -> list[str]:
    """How an error names each leaf of (args, kwargs): 'an argument', or "keyword argument 'k'"."""
    names = ["an argument"] * len(tree.leaves(args))
    for k in tree._dict_keys(kwargs):
        names += [f"keyword argument {k!r}"] * len(tree.leaves(kwargs[k]))
    return names


def vmap_call(fn, args: tuple, in_axes=0, out_axes=0, kwargs=None):
    """fn mapped over axis `in_axes` of its arguments (and axis 0 of its keyword arguments, as in JAX);
    results stacked along `out_axes` (a prefix of the results' structure; None for an unmapped result)."""
    kwargs = kwargs or {}
    leaves, in_tree = tree.flatten((args, kwargs))
    axes = _axes_tree(in_axes, args) + [0] * (len(leaves) - len(tree.leaves(args)))
    for x, a, name in zip(leaves, axes, _leaf_names(args, kwargs)):
        if a is not None and not -aval_of(x).ndim <= a < aval_of(x).ndim:
            if name.startswith("keyword"):
                raise ValueError(f"vmap maps keyword arguments over their axis 0 (as JAX does), but {name} has "
                                 f"shape {aval_of(x).shape}; pass it positionally with None in in_axes, or bind it "
                                 "with functools.partial, to give every example the same value")
            raise ValueError(f"vmap: in_axes {a} is out of range for {name} of shape {aval_of(x).shape}; "
                             "map an existing axis, or pass None for an argument that is not mapped")
    sizes = {aval_of(x).shape[a] for x, a in zip(leaves, axes) if a is not None}
    if len(sizes) != 1:
        raise ValueError(f"vmap: mapped axes must have one size, got sizes {sorted(sizes)}" if sizes
                         else "vmap: at least one argument must be mapped (in_axes not all None)")
    trace = BatchTrace(sizes.pop())
    wrapped = [x if a is None else Batched(trace, moveaxis(x, a, 0) if a != 0 else x)
               for x, a in zip(leaves, axes)]
    try:
        args, kwargs = tree.unflatten(in_tree, wrapped)
        out = fn(*args, **kwargs)
        out_leaves, out_tree = tree.flatten(out)
        lifted = [trace.lift(o) for o in out_leaves]
    finally:
        trace.active = False
    out_axes = _axes_tree(out_axes, out, "out_axes")
    return tree.unflatten(out_tree, [_placed(v, b, axis, trace.size) for (v, b), axis in zip(lifted, out_axes)])


def _placed(value, is_batched: bool, axis, size: int):
    """One result with its batch axis at `axis` (broadcast if it does not depend on the mapped inputs), or
    as it is for axis None, which only an unmapped result may have."""
    if axis is None:
        if is_batched:
            raise ValueError("vmap: out_axes is None for a result that depends on the mapped inputs (it has one "
                             "value per example); give it an axis")
        return value
    if not is_batched:
        value = broadcast_to(value, (size,) + aval_of(value).shape)
    ndim = aval_of(value).ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"vmap: out_axes {axis} is out of range for a result of shape {aval_of(value).shape[1:]} "
                         f"(with the batch axis, {ndim} axes)")
    return value if axis == 0 else moveaxis(value, 0, axis)
