"""Reductions over a tuple of axes (already normalised: sorted, non-negative), with keepdims."""

from __future__ import annotations

from ..core.primitive import Primitive


def reduced_shape(x, axes, keepdims=False, **_):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _nonempty_shape(op):
    def rule(x, axes, keepdims=False):
        if any(x.shape[a] == 0 for a in axes):
            from ..errors import ShapeError

            raise ShapeError(op, f"zero-size reduction over axes {axes} of shape {x.shape} has no identity",
                             fix="reduce over non-empty axes, or use a reduction with an initial value")
        return reduced_shape(x, axes, keepdims)

    return rule


def reduction(name: str, fn: str, rule=reduced_shape, differentiable: bool = True) -> Primitive:
    template = f"xp.{fn}(x, axis=axes, keepdims=keepdims)"
    return Primitive(name, ("x",), template, rule, differentiable=differentiable)


reduce_sum_p = reduction("reduce_sum", "sum")
reduce_prod_p = reduction("reduce_prod", "prod")
reduce_max_p = reduction("reduce_max", "max", _nonempty_shape("reduce_max"))
reduce_min_p = reduction("reduce_min", "min", _nonempty_shape("reduce_min"))


def _index_reduction(name: str) -> Primitive:
    """argmax / argmin along one axis (an int param); integer output, so not differentiable."""
    check = _nonempty_shape(name)
    rule = lambda x, axis, keepdims=False: check(x, (axis,), keepdims)
    return Primitive(name, ("x",), f"xp.{name}(x, axis=axis, keepdims=keepdims)", rule, differentiable=False)


argmax_p = _index_reduction("argmax")
argmin_p = _index_reduction("argmin")
