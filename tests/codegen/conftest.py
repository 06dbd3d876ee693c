"""Fixtures of the codegen tests."""

import pytest


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory):
    """Numba (skipping without it), its on-disk cache in a folder of this module's own."""
    pytest.importorskip("numba")
    folder = tmp_path_factory.mktemp("numba-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DUALTAPE_NUMBA_CACHE", str(folder))
        yield folder
