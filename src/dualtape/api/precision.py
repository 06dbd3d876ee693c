"""Mixed precision: the policy (`dt.Precision`), the dtype each primitive computes in under it, and the
Program -> Program pass behind `dt.jit(f, precision=...)`. Eager `dt.autocast` and `dt.compile(precision=...)`
apply the same rule op by op (eager/autocast.py), so every face computes alike.

The rule is PyTorch autocast's. A matrix product (matmul, einsum) computes in the low `compute` dtype: its
operands are rounded to it, multiplied with float32 accumulation (what bfloat16 / float16 matrix units do;
NumPy has no float16 GEMM and no bfloat16 einsum), and its result is rounded to it. Sums, products and scans
(so mean, softmax, logsumexp, norms and losses), the functions that lose most in few bits (exp, log, pow, ...)
and linear algebra compute in `reductions` (float32). Every other op computes in the dtype its operands
promote to: downstream of a low matmul it stays low, and meeting a float32 value (a bias, a parameter, a
reduction's result) it computes in float32. Like autocast, the policy casts real floating values only, and
never float64.
"""

from __future__ import annotations

import types

import numpy as np

from ..avals import aval_of, is_float
from ..core.faces import FULL, LOW
from ..core.ir import Program, Var, sub_programs
from ..core.primitive import bind
from ..core.trace import make_program
from ..errors import BackendError
from ..ops.elementwise import convert_element_type_p
from ..transforms.evaluate import evaluate_into, initial_env

_NAMES = {"bfloat16": "bfloat16", "bf16": "bfloat16", "float16": "float16", "half": "float16", "fp16": "float16",
          "float32": "float32", "float": "float32", "fp32": "float32", "float64": "float64", "double": "float64"}


def bfloat16():
    """ml_dtypes' bfloat16 (NumPy has none of its own), imported on first use: ml_dtypes is optional."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError("bfloat16 needs the ml_dtypes package, which gives NumPy a bfloat16 dtype: "
                          "pip install ml_dtypes (or compute in float16)") from None
    return ml_dtypes.bfloat16


def float_dtype(spec, what: str = "dtype") -> np.dtype:
    """A real floating dtype from a name ('bfloat16', 'float16', ...), a NumPy type or a dtype."""
    name = _NAMES.get(spec.lower()) if isinstance(spec, str) else None
    if name == "bfloat16":
        return np.dtype(bfloat16())
    try:
        dtype = np.dtype(name or spec)
    except TypeError:
        dtype = None
    if dtype is None or not is_float(dtype) or dtype.kind == "c":
        raise TypeError(f"precision: {what} must be a real floating dtype ('bfloat16', 'float16', 'float32' or a "
                        f"NumPy dtype), got {spec!r}")
    return dtype


class Precision:
    """A mixed-precision policy: matrix products compute in `compute`; sums, products, exp/log and linear
    algebra in `reductions`; floating inputs (parameters) are taken in `params`. Everything else computes in
    the dtype its operands promote to (see the module docstring)."""

    __slots__ = ("compute", "params", "reductions")

    def __init__(self, compute="bfloat16", params="float32", reductions="float32"):
        self.compute = float_dtype(compute, "compute")
        self.params = float_dtype(params, "params")
        self.reductions = float_dtype(reductions, "reductions")

    @classmethod
    def of(cls, spec, backend: str = "numpy") -> Precision | None:
        """The policy a `precision=` argument names: a Precision, a dtype or its name (the compute dtype,
        the rest float32), or None for none; refused for a backend that lacks one of its dtypes."""
        policy = spec if spec is None or isinstance(spec, Precision) else cls(compute=spec)
        if policy is not None and backend != "numpy" and not all(hasattr(np, d.name) for d in policy._key()):
            raise BackendError(f"precision: {backend} has no {policy.compute.name} (NumPy knows it from ml_dtypes); "
                               "on the GPU compute in float16: precision='float16'")
        return policy

    def dtype_for(self, prim) -> np.dtype | None:
        """The dtype prim computes in under this policy (its row's precision fact); None: its operands'
        promoted dtype."""
        kind = prim.facts.precision
        return self.compute if kind == LOW else self.reductions if kind == FULL else None

    def __eq__(self, other):
        return isinstance(other, Precision) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return self.compute, self.params, self.reductions

    def __repr__(self):
        return (f"Precision(compute={self.compute.name!r}, params={self.params.name!r}, "
                f"reductions={self.reductions.name!r})")


def real_float(aval) -> bool:
    """A strongly typed real floating value (not complex, not a Python number)."""
    return not aval.weak and is_float(aval.dtype) and aval.dtype.kind != "c"


def castable(x) -> bool:
    """What a policy casts: real floating values other than float64 (as autocast) and Python numbers."""
    aval = aval_of(x)
    return real_float(aval) and aval.dtype != np.float64


def cast(x, dtype):
    """x converted to dtype: one convert equation (or eager node) unless it already has it."""
    return x if aval_of(x).dtype == dtype else bind(convert_element_type_p, x, dtype=dtype)


def bind_under(policy: Precision, prim, args, params):
    """bind(prim, *args, **params) computing in the dtype the policy gives prim (see the module docstring)."""
    dtype = policy.dtype_for(prim)
    if dtype is None:
        return bind(prim, *args, **params)
    if prim.facts.precision != LOW:
        return bind(prim, *[cast(a, dtype) if castable(a) else a for a in args], **params)
    accumulate = policy.reductions
    out = bind(prim, *[cast(cast(a, dtype), accumulate) if castable(a) else a for a in args], **params)
    return cast(out, dtype) if castable(out) else out


def with_precision(program: Program, policy: Precision) -> Program:
    """The program computing under the policy: floating inputs taken in `params` dtype, each equation bound
    through `bind_under`, and the outputs given back in the dtypes the program had, so its callers see the
    same signature. So are the sub-programs of control flow (branches, loop bodies), whose operands are cast
    back to the dtypes they were traced with."""

    def restored(x, atom):
        return cast(x, atom.aval.dtype) if real_float(atom.aval) else x

    def apply(eqn, args):
        if sub_programs(eqn.params):
            params = {k: _sub_programs_with(p, policy) for k, p in eqn.params.items()}
            return bind(eqn.prim, *[restored(a, i) for a, i in zip(args, eqn.inputs)], **params)
        return bind_under(policy, eqn.prim, args, eqn.params)

    def run(*xs):
        xs = [cast(x, policy.params) if real_float(aval_of(x)) else x for x in xs]
        env = evaluate_into(program, initial_env(program, xs), apply)
        return [restored(env[a.id] if type(a) is Var else a.value, a) for a in program.outputs]

    examples = tuple(types.SimpleNamespace(aval=v.aval) for v in program.inputs)
    return make_program(run, examples, name=program.name, arg_names=[v.hint for v in program.inputs])[0]


def _sub_programs_with(param, policy: Precision):
    if isinstance(param, Program):
        return with_precision(param, policy)
    if isinstance(param, tuple) and any(isinstance(p, Program) for p in param):
        return tuple(with_precision(p, policy) if isinstance(p, Program) else p for p in param)
    return param
