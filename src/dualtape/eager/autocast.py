"""`dt.autocast`: PyTorch's automatic mixed precision for eager tensor code, and for dt.compile's traces of it.

Inside `with dt.autocast("cpu", dtype=dt.bfloat16):` matrix products run in the low dtype and sums, products,
exp/log and linear algebra in float32; every other op runs in the dtype its operands promote to (the rule is
api/precision.py's, shared with `dt.jit(precision=...)`). The casts are ordinary differentiable conversions, so
backward() brings each gradient back to its tensor's dtype. The state is per thread (as PyTorch's), one policy
per device type; EagerTrace.process reads `STATE.policies` on every op and hands the ops whose rows declare a
precision (Facts.precision) to `run`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings

from ..api.precision import Precision, bind_under, float_dtype
from ..core.primitive import bind
from . import devices as _device

_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}  # (PyTorch's defaults)


class _State(threading.local):
    policies = None  # {device type: Precision} while some autocast is enabled, else None (read on every op)


STATE = _State()


def run(prim, args, params):
    """prim on args under the policy of their device (EagerTrace.process calls this for the rows declaring a
    precision)."""
    policies = STATE.policies
    policy = policies.get(_device_type(args))
    if policy is None and _traced(args):  # (dt.compile is tracing: the enabled policy, whatever its device)
        policy = next(iter(policies.values()))
    STATE.policies = None  # (the casts and the op itself run as plain eager ops)
    try:
        return bind(prim, *args, **params) if policy is None else bind_under(policy, prim, args, params)
    finally:
        STATE.policies = policies


def _data(x):
    return x._array if getattr(x, "_dt_eager", False) else x


def _device_type(args) -> str:
    return "cuda" if any(_device.is_device_array(_data(a)) for a in args) else "cpu"


def _traced(args) -> bool:
    return any(getattr(_data(a), "_dt_trace", None) is not None for a in args)


class autocast:
    """`with dt.autocast(device_type="cpu", dtype=dt.bfloat16, enabled=True):` or `@dt.autocast(...)`:
    PyTorch's autocast. device_type "cpu" (NumPy arrays) or "cuda" (CuPy arrays); dtype defaults to bfloat16
    on the CPU and float16 on CUDA, as in PyTorch; cache_enabled is accepted and has no effect."""

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True, cache_enabled=None):
        if device_type not in _DEFAULT_DTYPE:
            raise RuntimeError(f"User specified an unsupported autocast device_type {device_type!r}: use 'cpu' or "
                               "'cuda'")
        self.device_type, self.enabled, self.cache_enabled = device_type, bool(enabled), cache_enabled
        self.fast_dtype = float_dtype(_DEFAULT_DTYPE[device_type] if dtype is None else dtype, "autocast dtype")
        if self.fast_dtype.itemsize != 2:
            warnings.warn(f"In {device_type} autocast, but the target dtype {self.fast_dtype} is not supported "
                          "(use bfloat16 or float16). Disabling autocast.", UserWarning, stacklevel=2)
            self.enabled = False

    def __enter__(self):
        self._previous = STATE.policies
        policies = dict(self._previous or {})
        if self.enabled:
            policies[self.device_type] = Precision(compute=self.fast_dtype)
        else:
            policies.pop(self.device_type, None)
        STATE.policies = policies or None
        return self

    def __exit__(self, *exc):
        STATE.policies = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled, self.cache_enabled):
                return fn(*args, **kwargs)  # (a fresh context per call: calls may nest or recurse)

        return wrapper

    def __repr__(self):
        return f"autocast(device_type={self.device_type!r}, dtype={self.fast_dtype.name}, enabled={self.enabled})"


@contextlib.contextmanager
def under(policy: Precision):
    """The policy in force inside the block (dt.compile(precision=...) traces the function under it)."""
    previous = STATE.policies
    STATE.policies = {"cpu": policy}
    try:
        yield
    finally:
        STATE.policies = previous


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for device_type ("cpu" or "cuda"), or for any device when it is None."""
    policies = STATE.policies or {}
    return bool(policies) if device_type is None else device_type in policies


def get_autocast_dtype(device_type: str = "cpu"):
    """The low dtype autocast computes in on device_type (its default when autocast is off, as in PyTorch)."""
    policy = (STATE.policies or {}).get(device_type)
    return policy.compute.type if policy is not None else float_dtype(_DEFAULT_DTYPE[device_type]).type


def state_key() -> tuple:
    """The autocast state as a hashable value (dt.compile keeps one program per state)."""
    return tuple(sorted((STATE.policies or {}).items()))
