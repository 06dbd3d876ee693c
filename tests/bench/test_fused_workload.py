"""The fused_cpu workload of `dualtape bench`, run tiny (skipped without Numba): a row per program with the
numpy, numba and auto backends timed side by side, first-call times, and the second process's warm-cache call
reported (that measurement itself, two fresh processes, is stood in for here: tests/codegen/test_numba_backend.py
checks that a second process loads the kernel from the cache)."""

import functools
import os

import pytest

from dualtape.bench import WORKLOADS, Settings, eager
from dualtape.bench import fused as workload

TINY = Settings(rounds=2, target_s=0.0005, repeats=1, quick=True, peers=False)


def test_rows_for_each_program_and_backend(monkeypatch, tmp_path):
    pytest.importorskip("numba")
    monkeypatch.setenv("DUALTAPE_NUMBA_CACHE", str(tmp_path))
    monkeypatch.setattr(workload, "STEPS", 5)
    monkeypatch.setattr(workload, "SIZE", 4)
    monkeypatch.setattr(workload, "mlp_init", functools.partial(workload.mlp_init, n_in=12, n_hidden=6, batch=4))
    monkeypatch.setattr(eager, "ROUNDS", 2)
    caches = []
    monkeypatch.setattr(workload, "_second_process", lambda cache: caches.append(list(os.listdir(cache))) or {
        "numba_startup_s": 1.5, "warm_first_call_s": 0.035})
    assert WORKLOADS["fused_cpu"] is workload.fused_cpu
    result = workload.fused_cpu(TINY)
    table, first = result.tables
    assert [row[0] for row in table.rows] == ["chain50", "tiny grad", "ODE grad, fori_loop", "ODE grad, while_loop",
                                             "eager chain grad", "MLP grad"]
    assert all(row[4] == "-" for row in table.rows)  # (no JAX column with peers off)
    for times in result.data["times_s"].values():
        assert set(times) == {"numpy", "numba", "auto"} and min(times.values()) > 0
    assert len(first.rows) == 6 and all(ms.endswith(" ms") for row in first.rows for ms in row[1:2])
    assert any(name.startswith("dualtape_numba_") for name in caches[0])  # (the cache the second process reads)
    assert "first call of the tiny gradient 35.00 ms" in " ".join(result.notes)


def test_skipped_with_the_install_line_without_numba(monkeypatch):
    from dualtape.codegen import numba_runtime

    monkeypatch.setattr(numba_runtime, "numba_available", lambda: False)
    assert workload.fused_cpu(TINY).skipped == 'Numba is not installed: pip install "dualtape[numba]"'
