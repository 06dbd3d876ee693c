"""pytest's root conftest: its presence puts tests/ on sys.path, so test modules import the shared helpers
by name: `testkit` (tolerances, `leaf`, `torch_or_skip`), `primitive_cases` (the one per-primitive table, with
its `layouts` and `value_cases`), `corpus`, `strategies`, `opcheck`, `gradcheck`. Its fixtures act only on the
tests that ask for them: `jax`, the JAX oracle with 64-bit floats (as NumPy's), skipped where JAX is not
installed."""

import pytest


@pytest.fixture
def jax():
    """JAX with float64 enabled for the test, put back after it."""
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", previous)

