"""The array method set — operators, NumPy methods and the eager Tensor method names — and NumPy's dispatch
protocols, declared once in ARRAY_METHODS and ARRAY_PROPERTIES, so one function body runs under every API.
`ArrayMethods` is that set as a mixin class (the eager Tensor inherits it and overrides the methods whose
PyTorch meaning differs); `install_array_methods(cls)` gives it to the traced value kinds, which live below
this layer and so cannot inherit it, with JAX's immutable-value extras."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .._util import normalize_axis, user_source_line
from ..core.primitive import REGISTRY, bind
from ..core.trace import ArrayValue, Tracer
from ..ops.elementwise import stop_gradient_p
from . import arrange, norms, predicates, scans
from . import complex_parts as cparts
from . import contractions as la
from . import diagonals as dg
from . import elementwise as ew
from . import reductions as red
from . import shapes as sh
from ._base import arr
from ._base import dtype as x_dtype
from ._base import shape as x_shape


def _axis(axis, dim):
    return dim if axis is None else axis


def _keep(keepdims, keepdim):
    return bool(keepdims or keepdim)


def _dims(args):
    return tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else args


def _transpose(x, *axes):
    """NumPy's permutation (`transpose()`, `transpose((1, 0))`, `transpose(2, 0, 1)`), but two separate ints
    are PyTorch's swap of two dimensions, so one body means the same eagerly and traced: `transpose(0, 1)`
    of a matrix is its transpose (NumPy's identity permutation, which nobody writes on purpose)."""
    if len(axes) == 2 and all(hasattr(a, "__index__") for a in axes):
        return sh.swapaxes(x, *axes)
    axes = _dims(axes) if axes else None
    if axes is not None and len(axes) == 2 and x.ndim != 2:
        return sh.swapaxes(x, *axes)
    return sh.transpose(x, axes)


values_indices = namedtuple("return_types_max", ["values", "indices"])  # (the eager Tensor's pair)


def _extreme_method(reduce, arg):
    """x.max / x.min: NumPy's (axis=, positional) give the values; PyTorch's dim= gives (values, indices), as
    the eager Tensor's, each value read at its index so its gradient goes to that one element."""

    def method(x, axis=None, keepdims=False, *, dim=None, keepdim=False, initial=None):
        if dim is None:
            return reduce(x, axis, _keep(keepdims, keepdim), initial)
        if x.ndim == 0:  # (as PyTorch: dim 0 or -1 of a scalar, which stays a scalar)
            normalize_axis(dim, 1, reduce.__name__)
            return values_indices(x, arg(x))
        indices = arg(x, dim, keepdims=True)
        values = sh.take_along_axis(x, indices, dim)
        if keepdim:
            return values_indices(values, indices)
        return values_indices(sh.squeeze(values, dim), sh.squeeze(indices, dim))

    method.__name__ = method.__qualname__ = reduce.__name__
    return method


def _flatten(x, start_dim=0, end_dim=-1):
    """PyTorch's flatten: dimensions start_dim..end_dim merged into one (all of them by default, so NumPy's
    `flatten()` too; NumPy's `flatten("C")` is accepted as well)."""
    if isinstance(start_dim, str):
        if start_dim != "C":
            raise NotImplementedError(f"flatten(order={start_dim!r}) is not supported; only order='C'")
        return sh.ravel(x)
    x = arr(x)
    dims = x_shape(x)
    if not dims:
        return sh.reshape(x, (1,))
    start, end = normalize_axis(start_dim, len(dims), "flatten"), normalize_axis(end_dim, len(dims), "flatten")
    if start > end:
        raise ValueError("flatten() has invalid args: start_dim cannot come after end_dim")
    return sh.reshape(x, dims[:start] + (math.prod(dims[start:end + 1]),) + dims[end + 1:])


def _both_bool(x, y) -> bool:
    return x_dtype(x) == np.bool_ and x_dtype(y) == np.bool_


def _and(x, y):
    """`x & y`: logical on booleans, bitwise on integers (as NumPy and PyTorch)."""
    return ew.logical_and(x, y) if _both_bool(x, y) else ew.bitwise_and(x, y)


def _or(x, y):
    return ew.logical_or(x, y) if _both_bool(x, y) else ew.bitwise_or(x, y)


def _xor(x, y):
    return ew.logical_xor(x, y) if _both_bool(x, y) else ew.bitwise_xor(x, y)


def _invert(x):
    return ew.logical_not(x) if x_dtype(x) == np.bool_ else ew.invert(x)


def _unsupported_item(x):
    return float(x)  # raises the concretization error with the user's line


_SWAPPED = {"__radd__": ew.add, "__rsub__": ew.subtract, "__rmul__": ew.multiply, "__rtruediv__": ew.divide,
            "__rfloordiv__": ew.floor_divide, "__rmod__": ew.mod, "__rpow__": ew.power,
            "__rmatmul__": la.matmul}


def _swapped(fn):
    return lambda x, y: fn(y, x)


def _dnp_function(prim):
    """The dnp function of a row (its first dnp name), wherever in dnp it is written."""
    name = prim.faces.dnp[0]
    return next(getattr(m, name) for m in (ew, la, red, sh) if hasattr(m, name))


ARRAY_METHODS = {
    "__add__": ew.add, "__sub__": ew.subtract, "__mul__": ew.multiply, "__truediv__": ew.divide,
    "__floordiv__": ew.floor_divide, "__mod__": ew.mod, "__pow__": ew.power, "__matmul__": la.matmul,
    **{name: _swapped(fn) for name, fn in _SWAPPED.items()},
    "__neg__": ew.negative, "__pos__": ew.positive, "__abs__": ew.abs, "__invert__": _invert,
    "__and__": _and, "__or__": _or, "__xor__": _xor,
    "__rand__": _swapped(_and), "__ror__": _swapped(_or), "__rxor__": _swapped(_xor),
    "__eq__": ew.equal, "__ne__": ew.not_equal, "__lt__": ew.less, "__le__": ew.less_equal,
    "__gt__": ew.greater, "__ge__": ew.greater_equal,
    "__getitem__": sh.getitem,
    # NumPy-style methods (with PyTorch's dim/keepdim spellings accepted too)
    "sum": lambda x, axis=None, keepdims=False, *, dim=None, keepdim=False, dtype=None:
        red.sum(x, _axis(axis, dim), _keep(keepdims, keepdim), dtype),
    "mean": lambda x, axis=None, keepdims=False, *, dim=None, keepdim=False, dtype=None:
        red.mean(x, _axis(axis, dim), _keep(keepdims, keepdim), dtype),
    "max": _extreme_method(red.max, red.argmax),
    "min": _extreme_method(red.min, red.argmin),
    "prod": lambda x, axis=None, keepdims=False, *, dim=None, keepdim=False, dtype=None:
        red.prod(x, _axis(axis, dim), _keep(keepdims, keepdim), dtype),
    "var": lambda x, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=False:
        red.var(x, _axis(axis, dim), _keep(keepdims, keepdim), ddof),
    "std": lambda x, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=False:
        red.std(x, _axis(axis, dim), _keep(keepdims, keepdim), ddof),
    "argmax": lambda x, axis=None, keepdims=False, *, dim=None, keepdim=False:
        red.argmax(x, _axis(axis, dim), _keep(keepdims, keepdim)),
    "argmin": lambda x, axis=None, keepdims=False, *, dim=None, keepdim=False:
        red.argmin(x, _axis(axis, dim), _keep(keepdims, keepdim)),
    "reshape": lambda x, *shape: sh.reshape(x, *shape),
    "view": lambda x, *shape: sh.reshape(x, *shape),
    "transpose": _transpose,
    "permute": lambda x, *dims: sh.transpose(x, _dims(dims)),
    "swapaxes": sh.swapaxes,
    "squeeze": lambda x, axis=None, *, dim=None: sh.squeeze(x, _axis(axis, dim)),
    "unsqueeze": sh.expand_dims,
    "flatten": _flatten,
    "ravel": sh.ravel,
    "astype": ew.astype,
    "clip": ew.clip,
    "clamp": lambda x, min=None, max=None: ew.clip(x, min, max),
    "dot": la.dot,
    "matmul": la.matmul,
    "mm": la.matmul,
    "norm": lambda x, p="fro", dim=None, keepdim=False:  # PyTorch's: a vector norm over dim (all axes if None)
        norms.vector_norm(x, dim, keepdim, 2 if p == "fro" else p),
    "softmax": lambda x, dim=-1: red.softmax(x, dim),
    "log_softmax": lambda x, dim=-1: red.log_softmax(x, dim),
    "logsumexp": lambda x, dim=None, keepdim=False: red.logsumexp(x, dim, keepdim),
    "square": ew.square,
    "all": lambda x, axis=None, keepdims=False, *, dim=None, keepdim=False:
        predicates.all(x, _axis(axis, dim), _keep(keepdims, keepdim)),
    "any": lambda x, axis=None, keepdims=False, *, dim=None, keepdim=False:
        predicates.any(x, _axis(axis, dim), _keep(keepdims, keepdim)),
    "cumsum": lambda x, axis=None, dtype=None, *, dim=None: scans.cumsum(x, _axis(axis, dim), dtype),
    "cumprod": lambda x, axis=None, dtype=None, *, dim=None: scans.cumprod(x, _axis(axis, dim), dtype),
    "diagonal": dg.diagonal,
    "trace": dg.trace,
    "repeat": arrange.repeat,  # (NumPy's: each element repeated; the eager Tensor's is PyTorch's, a tile)
    "sort": lambda x, axis=-1, *, stable=None: scans.sort(x, axis, stable=stable),  # (JAX's: a sorted copy)
    "argsort": lambda x, axis=-1, *, stable=None: scans.argsort(x, axis, stable=stable),
    "conj": cparts.conjugate,
    "conjugate": cparts.conjugate,
    "angle": cparts.angle,
    "item": _unsupported_item,
    **{prim.faces.method: _dnp_function(prim) for prim in REGISTRY.values() if prim.faces.method},  # (rows)
}

ARRAY_PROPERTIES = {"T": lambda x: sh.transpose(x), "mT": lambda x: sh.swapaxes(x, -1, -2),
                    "real": cparts.real, "imag": cparts.imag}


# ---- immutable values: functional updates ---------------------------------------------------------------
class _At:
    """`x.at[index]`: JAX's functional updates of an immutable value, each returning a new value."""

    __slots__ = ("_x",)

    def __init__(self, x):
        self._x = x

    def __getitem__(self, index):
        return _AtIndex(self._x, index)


class _AtIndex:
    """`x.at[index].set(v)` (dnp.index_update), `.add(v)` (dnp.index_add) and `.get()` (x[index])."""

    __slots__ = ("_x", "_index")

    def __init__(self, x, index):
        self._x, self._index = x, index

    def set(self, value):
        return sh.index_update(self._x, self._index, value)

    def add(self, value):
        return sh.index_add(self._x, self._index, value)

    def get(self):
        return sh.getitem(self._x, self._index)


def _copy(x):
    """x itself: a traced value is immutable, so a copy could never differ from it."""
    return x


def _detach(x):
    """PyTorch's detach() on a traced value: its stop_gradient (a body written for eager tensors, traced)."""
    return bind(stop_gradient_p, x)


def _setitem(x, index, value):
    where = user_source_line()
    raise TypeError(
        f"traced values are immutable: `x[index] = value` cannot change {x!r}" + (f"\n  at {where}" if where else "")
        + "\n  fix: make a new value with value written at index: `x = dnp.index_update(x, index, value)` (JAX's "
        "`x = x.at[index].set(value)`; `.at[index].add(value)` adds), or build it with dnp.where / dnp.concatenate"
    )


def _namespace() -> dict:
    from .protocols import array_function, array_ufunc

    """The array method set and NumPy's protocols, as a class namespace."""
    namespace = dict(ARRAY_METHODS)
    namespace.update({name: property(fn) for name, fn in ARRAY_PROPERTIES.items()})
    namespace["__array_ufunc__"] = array_ufunc
    namespace["__array_function__"] = array_function
    return namespace


ArrayMethods = type("ArrayMethods", (), {
    "__doc__": "The shared array method set (ARRAY_METHODS, ARRAY_PROPERTIES) and NumPy's dispatch protocols.",
    "__module__": __name__, "__slots__": (), "__hash__": object.__hash__, **_namespace()})


def install_array_methods(cls) -> None:
    """Give a traced value kind (a subclass of core's ArrayValue) the array method set and NumPy's dispatch
    protocols, and, as its values are immutable, JAX's `.at[index]` updates, `.copy()` / `.clone()`,
    `.detach()` (stop_gradient), and a clear error for `x[index] = v`."""
    assert issubclass(cls, ArrayValue), cls
    for name, fn in _namespace().items():
        setattr(cls, name, fn)
    cls.at = property(_At)
    cls.copy = cls.clone = _copy
    cls.detach = _detach
    cls.__setitem__ = _setitem


install_array_methods(Tracer)
