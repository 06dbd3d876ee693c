"""NumPy's dispatch protocols on traced values: ufuncs (`np.sin(x)`, `ndarray + x`) through
`__array_ufunc__`, other functions (`np.sum(x)`, `np.linalg.norm(x)`) through `__array_function__`, each
mapped to the dnp function of the same name; anything else raises UnsupportedError naming it."""

from __future__ import annotations

import inspect

import numpy as np

from ..core.primitive import REGISTRY
from . import complex_parts, norms
from . import contractions as la
from . import elementwise as ew
from . import predicates as pred
from . import reductions as red
from . import shapes as sh
from .methods import _dnp_function

_UFUNCS = {  # NumPy's ufuncs on traced values: each row's ufunc face, and the compositions
    **{getattr(np, prim.faces.ufunc): _dnp_function(prim) for prim in REGISTRY.values() if prim.faces.ufunc},
    np.positive: ew.positive, np.square: ew.square, np.reciprocal: ew.reciprocal,
    np.radians: ew.radians, np.degrees: ew.degrees,  # (NumPy's second ufuncs of the deg2rad and rad2deg rows)
    np.isnan: pred.isnan, np.isinf: pred.isinf, np.conjugate: complex_parts.conjugate,
}
_GUFUNCS = {  # NumPy 2's generalized ufuncs of contractions (vecdot takes its axis= keyword along)
    getattr(np, name): fn for name, fn in (("vecdot", la.vecdot), ("matvec", la.matvec), ("vecmat", la.vecmat))
    if isinstance(getattr(np, name, None), np.ufunc)}
_UFUNC_REDUCE = {np.add: red.sum, np.multiply: red.prod, np.maximum: red.max, np.minimum: red.min}

_FUNCTIONS = {
    np.sum: red.sum, np.mean: red.mean, np.max: red.max, np.min: red.min, np.amax: red.max, np.amin: red.min,
    np.prod: red.prod, np.var: red.var, np.std: red.std, np.argmax: red.argmax, np.argmin: red.argmin,
    np.reshape: sh.reshape, np.transpose: sh.transpose, np.swapaxes: sh.swapaxes, np.moveaxis: sh.moveaxis,
    np.broadcast_to: sh.broadcast_to, np.squeeze: sh.squeeze, np.expand_dims: sh.expand_dims,
    np.concatenate: sh.concatenate, np.stack: sh.stack, np.ravel: sh.ravel, np.where: ew.where,
    np.take_along_axis: sh.take_along_axis,
    np.clip: ew.clip, np.dot: la.dot, np.einsum: la.einsum, np.outer: la.outer, np.inner: la.inner,
    np.vdot: la.vdot, np.linalg.norm: norms.norm, np.linalg.vector_norm: norms.vector_norm, np.linalg.vecdot: la.vecdot,
    np.zeros_like: ew.zeros_like, np.ones_like: ew.ones_like,
    np.full_like: ew.full_like, np.count_nonzero: red.count_nonzero,
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
    if method == "__call__" and ufunc in _GUFUNCS:
        for key in set(kwargs) - ({"axis"} if ufunc is np.vecdot else set()):
            raise _unsupported_argument(name, key, kwargs[key])
        return _GUFUNCS[ufunc](*inputs, **kwargs)
    if method == "reduce" and ufunc in _UFUNC_REDUCE:
        return _UFUNC_REDUCE[ufunc](*inputs, **kwargs)
    raise NotImplementedError(f"{name} is not supported on traced values; use an equivalent from dualtape.numpy")


def _numpy_name(func) -> str:
    module = getattr(func, "__module__", "numpy") or "numpy"
    module = "numpy" + module[len("numpy._core"):] if module.startswith("numpy._core") else module
    return f"{module}.{func.__name__}"


def _same_names(numpy_namespace, ours) -> dict:
    """NumPy's function -> ours, for each public name of our namespace (a module) that NumPy also has."""
    table = {}
    for name in dir(ours):
        fn, theirs = getattr(ours, name), getattr(numpy_namespace, name, None)
        if not name.startswith("_") and callable(theirs) and callable(fn) and fn is not theirs \
                and not isinstance(fn, type) and not isinstance(theirs, (type, np.ufunc)):
            table[theirs] = fn
    return table


def _function_table() -> dict:
    """Every dnp function under NumPy's name for it (np.X -> dnp.X, np.linalg.X -> dnp.linalg.X, ...), built
    once on first use (the namespace is complete by then); the explicit entries above take precedence."""
    if not _GENERATED:
        import dualtape.numpy as dnp

        for numpy_namespace, ours in ((np, dnp), (np.linalg, dnp.linalg), (np.fft, dnp.fft)):
            _GENERATED.update(_same_names(numpy_namespace, ours))
        _GENERATED.update(_FUNCTIONS)
    return _GENERATED


_GENERATED: dict = {}


def array_function(self, func, types, args, kwargs):
    """NumPy functions on traced values (np.sum(x), np.linalg.norm(x)) record the matching dualtape op."""
    fn = _function_table().get(func)
    if fn is None:
        import dualtape.numpy as dnp

        from .unsupported import public_names, unsupported

        called = _numpy_name(func)
        namespace = {"numpy.linalg": "linalg", "numpy.fft": "fft"}.get(called.rpartition(".")[0])
        ours = getattr(dnp, namespace) if namespace else dnp
        raise unsupported(func.__name__, f"dnp.{namespace}" if namespace else "dnp", public_names(ours), called)
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


