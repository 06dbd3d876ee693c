"""Reductions over a tuple of axes (already normalised: sorted, non-negative), with keepdims."""

from __future__ import annotations

from ..avals import aval_of
from ..core.faces import FULL, Faces, Facts
from ..core.primitive import Primitive
from .elementwise import convert_element_type_p, where_p
from .rules import batch_with_params, defjvp, deflinear, defvjp, defzero, shift_axes
from .shape import broadcast_to_p, reshape_p


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


def reduction(name: str, fn: str, torch: str, rule=reduced_shape, differentiable: bool = True,
              precision=None) -> Primitive:
    """A reduction over the `axes` param: always a new array (the optimiser may write into it)."""
    template = f"xp.{fn}(x, axis=axes, keepdims=keepdims)"
    return Primitive(name, ("x",), template, rule, differentiable=differentiable,
                     faces=Faces(torch_node=f"{torch}Backward0"), facts=Facts(new_array=True, precision=precision))


reduce_sum_p = reduction("reduce_sum", "sum", "Sum", precision=FULL)
reduce_prod_p = reduction("reduce_prod", "prod", "Prod", precision=FULL)
reduce_max_p = reduction("reduce_max", "max", "Max", _nonempty_shape("reduce_max"))
reduce_min_p = reduction("reduce_min", "min", "Min", _nonempty_shape("reduce_min"))


def _index_reduction(name: str) -> Primitive:
    """argmax / argmin along one axis (an int param); integer output, so not differentiable."""
    check = _nonempty_shape(name)
    rule = lambda x, axis, keepdims=False: check(x, (axis,), keepdims)
    return Primitive(name, ("x",), f"xp.{name}(x, axis=axis, keepdims=keepdims)", rule, differentiable=False)


argmax_p = _index_reduction("argmax")
argmin_p = _index_reduction("argmin")
argmin_p.non_standard = (
    "the standard's takes real numbers only; NumPy's booleans too")


# ---- derivative and batch rules ----------------------------------------------------------------------
def kept(v, x, axes, keepdims):
    """v (reduced over axes of x) with the reduced axes kept as size 1, ready to broadcast against x."""
    if keepdims:
        return v
    return reshape_p(v, shape=reduced_shape(aval_of(x), axes, keepdims=True))


def _sum_vjp(g, ans, x, axes, keepdims):
    shape = aval_of(x)  # (only x's shape: eager nodes need not keep x)
    return broadcast_to_p(kept(g, shape, axes, keepdims), shape=shape.shape)


def _argmax_share(ans, x, axes, keepdims):
    """Where x attains its max (min): 1/count at each such place, so ties share the derivative."""
    mask = x == kept(ans, x, axes, keepdims)
    mask = convert_to(mask, x)
    return mask / reduce_sum_p(mask, axes=axes, keepdims=True)


def convert_to(mask, like):
    return convert_element_type_p(mask, dtype=aval_of(like).dtype)


def _extremum_jvp(t, ans, x, axes, keepdims):
    return reduce_sum_p(t * _argmax_share(ans, x, axes, keepdims), axes=axes, keepdims=keepdims)


def _extremum_vjp(g, ans, x, axes, keepdims):
    return kept(g, x, axes, keepdims) * _argmax_share(ans, x, axes, keepdims)


def _prod_share(ans, x, axes, keepdims):
    """d prod / d x_i: the product of the other elements. That is prod / x_i where x_i != 0; where x_i is the
    only zero of its slice, the product of the rest; where the slice has another zero, 0 (never 0 / 0)."""
    zero = x == 0
    nonzero = where_p(zero, 1, x)
    others = kept(ans, x, axes, keepdims) / nonzero  # (written with prod(x), so its derivative is exact too)
    single = convert_to(reduce_sum_p(convert_to(zero, x), axes=axes, keepdims=True) == 1, x)
    return where_p(zero, reduce_prod_p(nonzero, axes=axes, keepdims=True) * single, others)


def _shift(params, size):
    return {**params, "axes": shift_axes(params["axes"])}


deflinear(reduce_sum_p)
defvjp(reduce_sum_p, _sum_vjp, reads="")
defjvp(reduce_max_p, _extremum_jvp)
defvjp(reduce_max_p, _extremum_vjp, reads="ans x")
defjvp(reduce_min_p, _extremum_jvp)
defvjp(reduce_min_p, _extremum_vjp, reads="ans x")
defjvp(reduce_prod_p, lambda t, ans, x, axes, keepdims:
       reduce_sum_p(t * _prod_share(ans, x, axes, keepdims), axes=axes, keepdims=keepdims))
defvjp(reduce_prod_p,
       lambda g, ans, x, axes, keepdims: kept(g, x, axes, keepdims) * _prod_share(ans, x, axes, keepdims),
       reads="ans x")
for _prim in (reduce_sum_p, reduce_max_p, reduce_min_p, reduce_prod_p):
    _prim.batch = batch_with_params(_prim, _shift)
defzero(argmax_p, argmin_p)
for _prim in (argmax_p, argmin_p):
    _prim.batch = batch_with_params(_prim, lambda params, size: {**params, "axis": params["axis"] + 1})
