"""The array method set — operators, NumPy methods and the eager Tensor method names — and NumPy's dispatch
protocols, declared once in ARRAY_METHODS and ARRAY_PROPERTIES, so one function body runs under every API.
`ArrayMethods` is that set as a mixin class (the eager Tensor inherits it and overrides the methods whose
PyTorch meaning differs); `install_array_methods(cls)` gives it to the traced value kinds, which live below
this layer and so cannot inherit it, with JAX's immutable-value extras."""

from __future__ import annotations

import inspect
import math
from collections import namedtuple

import numpy as np

from .._util import normalize_axis, user_source_line
from ..core.primitive import REGISTRY, bind
from ..core.trace import ArrayValue, Tracer
from ..ops.elementwise import stop_gradient_p
from . import elementwise as ew
from . import linalg as la
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
        la.vector_norm(x, dim, keepdim, 2 if p == "fro" else p),
    "softmax": lambda x, dim=-1: red.softmax(x, dim),
    "log_softmax": lambda x, dim=-1: red.log_softmax(x, dim),
    "logsumexp": lambda x, dim=None, keepdim=False: red.logsumexp(x, dim, keepdim),
    "square": ew.square,
    "item": _unsupported_item,
    **{prim.faces.method: _dnp_function(prim) for prim in REGISTRY.values() if prim.faces.method},  # (rows)
}

ARRAY_PROPERTIES = {"T": lambda x: sh.transpose(x), "mT": lambda x: sh.swapaxes(x, -1, -2)}


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


# ---- NumPy protocols ---------------------------------------------------------------------------------
_UFUNCS = {  # NumPy's ufuncs on traced values: each row's ufunc face, and the compositions
    **{getattr(np, prim.faces.ufunc): _dnp_function(prim) for prim in REGISTRY.values() if prim.faces.ufunc},
    np.positive: ew.positive, np.square: ew.square, np.reciprocal: ew.reciprocal,
}
_UFUNC_REDUCE = {np.add: red.sum, np.multiply: red.prod, np.maximum: red.max, np.minimum: red.min}

_FUNCTIONS = {
    np.sum: red.sum, np.mean: red.mean, np.max: red.max, np.min: red.min, np.amax: red.max, np.amin: red.min,
    np.prod: red.prod, np.var: red.var, np.std: red.std, np.argmax: red.argmax, np.argmin: red.argmin,
    np.reshape: sh.reshape, np.transpose: sh.transpose, np.swapaxes: sh.swapaxes, np.moveaxis: sh.moveaxis,
    np.broadcast_to: sh.broadcast_to, np.squeeze: sh.squeeze, np.expand_dims: sh.expand_dims,
    np.concatenate: sh.concatenate, np.stack: sh.stack, np.ravel: sh.ravel, np.where: ew.where,
    np.take_along_axis: sh.take_along_axis,
    np.clip: ew.clip, np.dot: la.dot, np.einsum: la.einsum, np.outer: la.outer, np.inner: la.inner,
    np.vdot: la.vdot, np.linalg.norm: la.norm, np.linalg.vector_norm: la.vector_norm, np.linalg.vecdot: la.vecdot,
    np.zeros_like: ew.zeros_like, np.ones_like: ew.ones_like,
    np.full_like: ew.full_like, np.count_nonzero: red.count_nonzero, np.atleast_1d: sh.atleast_1d,
    np.shape: lambda x: x.shape, np.ndim: lambda x: x.ndim,
    np.size: lambda x, axis=None: x.size if axis is None else x.shape[axis],
    np.round: ew.round, np.around: ew.round,
}


_UFUNC_NO_OPS = {"where": True, "casting": "same_kind", "order": "K", "dtype": None, "subok": True,
                 "signature": None}  # a ufunc call's keywords at the values that change nothing


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy ufuncs on traced values (np.sin(x), ndarray + x) record the matching dualtape op."""
    name = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if kwargs.get("out") is not None:
        raise NotImplementedError(f"{name}(..., out=...) writes in place; traced values are "
                                  "immutable: assign the result instead")
    kwargs.pop("out", None)
    if method == "__call__" and ufunc in _UFUNCS:
        for key, value in kwargs.items():
            if not _is_no_op(value, _UFUNC_NO_OPS.get(key, inspect.Parameter.empty)):
                raise _unsupported_argument(name, key, value)
        return _UFUNCS[ufunc](*inputs)
    if method == "reduce" and ufunc in _UFUNC_REDUCE:
        return _UFUNC_REDUCE[ufunc](*inputs, **kwargs)
    raise NotImplementedError(f"{name} is not supported on traced values; use an equivalent from dualtape.numpy")


def _numpy_name(func) -> str:
    module = getattr(func, "__module__", "numpy") or "numpy"
    module = "numpy" + module[len("numpy._core"):] if module.startswith("numpy._core") else module
    return f"{module}.{func.__name__}"


def array_function(self, func, types, args, kwargs):
    """NumPy functions on traced values (np.sum(x), np.linalg.norm(x)) record the matching dualtape op."""
    fn = _FUNCTIONS.get(func)
    if fn is None:
        raise NotImplementedError(
            f"{_numpy_name(func)} is not supported on traced values: dualtape has no differentiable "
            f"version of it; compute it outside the traced function or build it from dualtape.numpy ops"
        )
    args, kwargs = _numpy_call(func, fn, args, kwargs)
    return fn(*args, **kwargs)


_NO_OPS = {"out": None, "where": True}  # NumPy keywords whose default (np._NoValue) means these values
_USUAL = {"dtype": None, "casting": "same_kind"}  # NumPy's defaults, where its signature is unreadable
_IGNORED = {"optimize", "subok"}  # keywords that only change how NumPy computes or what class it returns
_SIGNATURES: dict = {}


def _numpy_call(func, fn, args, kwargs) -> tuple[list, dict]:
    """A NumPy call's arguments as fn takes them: bound to NumPy's signature, so a positional argument means
    what it means to NumPy; the required ones go to fn by position and the others by name. An argument fn
    has no parameter for is dropped at its default (out=None, where=True, ...) and raises otherwise."""
    if func not in _SIGNATURES:
        ours = inspect.signature(fn).parameters
        try:
            theirs = inspect.signature(func)
        except (TypeError, ValueError):  # (NumPy before 2.3 gives C functions such as concatenate none)
            theirs = None
        _SIGNATURES[func] = theirs, {n for n, p in ours.items() if p.kind is not p.VAR_POSITIONAL}
    theirs, accepted = _SIGNATURES[func]
    if theirs is None:  # positions as they are; keywords fn lacks are dropped at NumPy's usual defaults
        for name in [n for n in kwargs if n not in accepted]:
            value = kwargs[name]
            default = _NO_OPS.get(name, _USUAL.get(name, inspect.Parameter.empty))
            if name not in _IGNORED and not _is_no_op(value, default):
                raise _unsupported_argument(_numpy_name(func), name, value)
        return args, {k: v for k, v in kwargs.items() if k in accepted}
    positional, named = [], {}
    for name, value in theirs.bind(*args, **kwargs).arguments.items():
        param = theirs.parameters[name]
        if param.kind is param.VAR_POSITIONAL:
            positional.extend(value)
        elif param.kind is param.VAR_KEYWORD:
            named.update(value)
        elif param.kind is param.POSITIONAL_ONLY or param.default is param.empty:
            positional.append(value)
        else:
            named[name] = value
    for name in [n for n in named if n not in accepted]:
        value = named.pop(name)
        param = theirs.parameters.get(name)
        default = param.default if param is not None else inspect.Parameter.empty
        if name not in _IGNORED and not _is_no_op(value, default) and \
                not _is_no_op(value, _NO_OPS.get(name, inspect.Parameter.empty)):
            raise _unsupported_argument(_numpy_name(func), name, value)
    return positional, named


def _is_no_op(value, default) -> bool:
    """value is default (compared by identity, or by equality for Python scalars and strings)."""
    if value is default:
        return True
    plain = (bool, int, float, str, np.bool_)
    return isinstance(value, plain) and isinstance(default, plain) and type(value) is type(default) and \
        value == default


def _unsupported_argument(name: str, key: str, value) -> NotImplementedError:
    fix = {"out": "traced values are immutable: assign the result instead",
           "where": "use dnp.where(mask, x, neutral value) on the operand instead"}.get(key, f"leave {key}= out")
    return NotImplementedError(f"{name}(..., {key}={value!r:.40}) is not supported on traced values: dualtape "
                               f"supports only its default; {fix}")


def _namespace() -> dict:
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
