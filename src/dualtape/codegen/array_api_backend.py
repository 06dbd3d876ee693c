"""backend="array_api": the program emitted in the array API standard's spelling (emit.ArrayAPIEmitter) and run on
the namespace of each call's arguments (array-api-compat's array_namespace), so PyTorch tensors in give PyTorch
tensors out, NumPy arrays NumPy arrays, CuPy arrays CuPy arrays. The source is compiled once; each namespace (and
device) gets its own function over it, with the captured NumPy constants converted to that namespace once. A
program that calls anything a row declares non_standard is refused. array-api-compat is imported only here, and
only when the backend is used."""

from __future__ import annotations

import functools
import importlib
import itertools
import os

import numpy as np

from .. import tree
from ..avals import ShapedArray, is_python_scalar
from ..core.ir import Program, all_eqns
from ..core.primitive import trace_of
from ..errors import BackendError, optional_module
from .emit import ArrayAPIEmitter, emit_program
from .runtime import helpers_for, register_source

INSTALL = "pip install 'dualtape[array-api]'"
_serial = itertools.count(1)


def compat():
    """The array_api_compat module, or a BackendError naming the extra that installs it."""
    return optional_module("array_api_compat", "backend='array_api'", "array-api-compat", INSTALL)


# ---- arguments: arrays of any standard library, seen by jit through their shape and dtype ---------------------
class StandardArray:
    """An argument array of a library other than NumPy (a torch.Tensor, a CuPy array) as jit sees it: its
    abstract value, which keys the compile cache and is traced, and the array itself, which the call gets."""

    __slots__ = ("aval", "array")

    def __init__(self, array):
        self.aval, self.array = ShapedArray(tuple(int(n) for n in array.shape), numpy_dtype(array)), array


@functools.cache
def _dtype_names(xp) -> dict:
    """{dtype: name} of the standard's dtypes in the namespace xp (torch.float32 -> 'float32')."""
    return {dtype: name for name, dtype in xp.__array_namespace_info__().dtypes().items()}


def numpy_dtype(array) -> np.dtype:
    """The NumPy dtype of the same name as a standard array's dtype; one outside the standard's list (torch's
    float16, bfloat16) by the last part of its name."""
    name = _dtype_names(compat().array_namespace(array)).get(array.dtype) or str(array.dtype).rpartition(".")[2]
    try:
        return np.dtype(name)
    except TypeError:
        raise BackendError(f"backend='array_api': an argument of dtype {array.dtype} has no NumPy dtype of that "
                           "name, which dualtape's programs are typed in (bfloat16 needs ml_dtypes: pip install "
                           "'dualtape[precision]'); convert it to a standard dtype first") from None


def _stand_in(x):
    if type(x) is np.ndarray or isinstance(x, np.generic) or is_python_scalar(x) or trace_of(x) is not None:
        return x
    return StandardArray(x) if compat().is_array_api_obj(x) else x


def stand_ins(args: tuple, kwargs: dict, static_argnums: tuple, static_argnames: tuple) -> tuple[tuple, dict]:
    """args and kwargs with each array of another library in a dynamic argument as its StandardArray."""
    n = len(args)
    static = {i % n for i in static_argnums if -n <= i < n}
    args = tuple(a if i in static else tree.tree_map(_stand_in, a) for i, a in enumerate(args))
    return args, {k: v if k in static_argnames else tree.tree_map(_stand_in, v) for k, v in kwargs.items()}


def foreign_array_error(name: str, backend: str, leaves: list, error: Exception) -> TypeError | None:
    """The error for an array of another library (a torch.Tensor: its dtype means nothing to NumPy) among a
    function's leaves, naming backend="array_api" as the fix; None when there is none."""
    for x in leaves:
        library = type(x).__module__.partition(".")[0]
        if hasattr(x, "__dlpack__") and library not in ("numpy", "dualtape"):
            return TypeError(f"{name}: backend={backend!r} cannot take a {library}.{type(x).__name__} ({error}); "
                             "use backend='array_api' to run on its own library, or pass NumPy arrays (x.numpy())")
    return None


def arrays_of(leaves: list) -> list:
    """The leaves with each StandardArray as its array again."""
    return [x.array if type(x) is StandardArray else x for x in leaves]


# ---- programs: refused when they call beyond the standard, else compiled once and bound per namespace --------
def non_standard_statements(program: Program) -> list[str]:
    """'primitive (the user's line): reason' for each statement of the program (and of its sub-programs) whose
    emitted code goes beyond the array API standard."""
    found: dict = {}
    for eqn in all_eqns(program):
        reason = eqn.prim.non_standard
        if reason is not None:
            where = eqn.where
            at = (f"{os.path.basename(where.filename)}:{where.lineno}: {where.text.strip()}"
                  if where is not None and where.text else "no source line")
            found.setdefault(f"{eqn.prim.name} ({at})", reason)
    return [f"{what}: {reason}" for what, reason in found.items()]


def refuse_non_standard(program: Program) -> None:
    found = non_standard_statements(program)
    if found:
        shown = "\n  ".join(found)
        raise BackendError(f"the program {program.name} cannot run on backend='array_api': these statements call "
                           f"what the array API standard lacks:\n  {shown}\nrun it with backend='numpy' (or "
                           "'cupy' on a GPU), or write those lines with functions of the standard")


def numpy_namespace():
    """array-api-compat's namespace over NumPy."""
    return importlib.import_module("array_api_compat.numpy")


def namespace_of(args) -> tuple:
    """(namespace, device) of a call: those of its arrays of a library other than NumPy (a torch.Tensor), else
    array-api-compat's NumPy namespace on the CPU."""
    api = compat()
    foreign = [a for a in args if not isinstance(a, (np.ndarray, np.generic)) and not is_python_scalar(a)]
    if not foreign:
        return numpy_namespace(), "cpu"
    try:
        xp = api.array_namespace(*foreign)
    except TypeError as e:
        raise TypeError(f"backend='array_api' runs a call on its arguments' array library, and these mix "
                        f"{sorted({type(a).__module__ + '.' + type(a).__name__ for a in foreign})} ({e}); pass "
                        "arrays of one library (NumPy arrays are converted to it)") from None
    return xp, api.device(foreign[0])


def _in_namespace(value, xp, device):
    """A NumPy array or scalar as an array of xp on device (from a C-ordered copy of its own: PyTorch shares a
    NumPy array's memory, which may be read-only or have negative strides); anything else as it is."""
    if not isinstance(value, (np.ndarray, np.generic)):
        return value
    return xp.asarray(np.array(value, order="C"), device=device)


class ArrayAPICompiled:
    """A program compiled for the array API standard: the same interface as runtime.Compiled (fn, source,
    filename, n_outputs, program); fn runs it on the namespace of its arguments."""

    __slots__ = ("fn", "source", "filename", "n_outputs", "program")

    def __init__(self, program: Program, comments: bool = True, to_host: bool = False):
        compat()
        refuse_non_standard(program)
        emitted = emit_program(program, comments=comments, emitter=ArrayAPIEmitter)
        self.source, self.program, self.n_outputs = emitted.source, program, len(program.outputs)
        self.filename = f"<dualtape:{emitted.name}#array_api{next(_serial)}>"
        self.fn = _dispatcher(compile(self.source, self.filename, "exec"), emitted, program, to_host)
        register_source(self.filename, self.source, self.fn.__wrapped__.__code__)  # (one code for every binding)

    def __call__(self, *args):
        return self.fn(*args)


def _dispatcher(code, emitted, program: Program, to_host: bool):
    """The compiled function over the namespace of its arguments: the emitted function bound (once per
    namespace and device) to that namespace and its captured constants converted to it. The first call on a
    namespace other than NumPy's checks its results' dtypes against the program's (see DIFFERENCES)."""
    n_outputs = len(program.outputs)

    def bind(xp, device):
        namespace = {"xp": xp, **helpers_for(program, xp)}
        namespace.update((k, _in_namespace(v, xp, device)) for k, v in emitted.globals.items())
        exec(code, namespace)  # noqa: S102 - our own generated code
        return namespace.pop(emitted.name)

    on_numpy = bind(numpy_namespace(), "cpu")
    bound: dict = {(numpy_namespace(), "cpu"): on_numpy}

    @functools.wraps(on_numpy)  # (its name, and inspect.getsource shows the generated code)
    def call(*args):
        xp, device = namespace_of(args)
        if xp is not numpy_namespace():  # NumPy arrays beside another library's: converted to it
            args = [_in_namespace(a, xp, device) for a in args]
        fn = bound.get((xp, device))
        if fn is not None:
            outs = fn(*args)
        else:
            fn = bind(xp, device)
            outs = fn(*args)
            check_dtypes(program, outs if n_outputs != 1 else (outs,), xp)
            bound[xp, device] = fn
        if not to_host:
            return outs
        return _to_host(outs) if n_outputs == 1 else tuple(_to_host(o) for o in outs)

    return call


# Where a library's arrays differ from the standard (or from NumPy's choice, where the standard leaves one to
# each library) in a way array-api-compat does not paper over: it wraps the library's functions, but Python's
# operators on its arrays (`a * b`, `a @ b`, `a / b`) stay the library's own. Programs whose operands share one
# dtype meet none of these; tests/codegen/test_array_api_backend.py shows each entry on the library itself.
DIFFERENCES: dict[str, dict[str, str]] = {
    "torch": {
        "0-d operand": "a tensor and a 0-d tensor of another dtype of the same kind (float32 and a float64 scalar) "
                       "give the tensor's dtype; the standard and NumPy promote both (float64)",
        "mixed kinds": "an integer tensor with a floating one, or with a Python float, gives float32 (PyTorch's "
                       "default dtype) or the floating operand's dtype where NumPy gives float64 (the standard "
                       "leaves mixed kinds to each library)",
        "integer true division": "int / int gives float32 (PyTorch's default dtype) where NumPy gives float64 (the "
                                 "standard leaves it to each library)",
        "matmul of two dtypes": "a @ b of float32 and float64 tensors raises RuntimeError; the standard promotes",
    },
}


def check_dtypes(program: Program, outs, xp) -> None:
    """A BackendError when a result's dtype is not the program's: the library promoted an operation
    differently from NumPy (DIFFERENCES), so its values are not what the program computes either."""
    wrong = [f"result {i} is {out.dtype} where the program computes {atom.aval.dtype}"
             for i, (out, atom) in enumerate(zip(outs, program.outputs))
             if not is_python_scalar(out) and hasattr(out, "dtype") and numpy_dtype(out) != atom.aval.dtype]
    if wrong:
        library = xp.__name__.rpartition(".")[2]
        known = "".join(f"\n  {k}: {v}" for k, v in DIFFERENCES.get(library, {}).items())
        raise BackendError(f"backend='array_api': {program.name} on {library} arrays: {'; '.join(wrong)}. "
                           f"{library} promotes some mixed dtypes differently:{known}\ngive the operands one dtype "
                           "(dnp.astype in the function, or convert the arguments), or use backend='numpy'")


def _to_host(value):
    """A result as a NumPy array (a Python number as it is)."""
    if is_python_scalar(value) or isinstance(value, (np.ndarray, np.generic)):
        return value
    return np.asarray(compat().to_device(value, "cpu"))
