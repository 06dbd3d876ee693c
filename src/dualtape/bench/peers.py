"""The peer libraries the suite compares against (PyTorch, JAX, HIPS autograd), each optional: a loader
returns the module, or None when it is not installed or peers are switched off."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata

NAMES = {"torch": "PyTorch", "jax": "JAX", "autograd": "HIPS autograd"}


@functools.cache
def _load(name: str):
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    if name == "jax":
        module.config.update("jax_enable_x64", True)  # float64 workloads stay float64, as in NumPy
        importlib.import_module("jax.numpy")
    if name == "autograd":
        importlib.import_module("autograd.numpy")
    return module


def load(name: str, settings):
    """The peer module `name` ('torch', 'jax', 'autograd'), or None."""
    return _load(name) if settings.peers else None


def versions(settings) -> dict[str, str]:
    """{display name: version} of the peers that will run."""
    found = {}
    for name, shown in NAMES.items():
        module = load(name, settings)
        if module is not None:
            found[shown] = importlib.metadata.version(name)
    return found


def jax_timed(jax, fn):
    """fn with JAX's asynchronous dispatch waited for, so a timing covers the computation."""
    return lambda *args: jax.block_until_ready(fn(*args))
