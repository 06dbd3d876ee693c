"""The fused_cpu workload of `dualtape bench`, run tiny (skipped without Numba): a row per program with the
numpy, numba and auto backends timed side by side, first-call times, and the second process's warm-cache call."""

import functools

import pytest

from dualtape.bench import WORKLOADS, Settings
from dualtape.bench import fused as workload

TINY = Settings(rounds=2, target_s=0.0005, repeats=1, quick=True, peers=False)


def test_rows_for_each_program_and_backend(monkeypatch, tmp_path):
    pytest.importorskip("numba")
    monkeypatch.setenv("DUALTAPE_NUMBA_CACHE", str(tmp_path))
    monkeypatch.setattr(workload, "STEPS", 5)
    monkeypatch.setattr(workload, "SIZE", 4)
    monkeypatch.setattr(workload, "mlp_init", functools.partial(workload.mlp_init, n_in=12, n_hidden=6, batch=4))
    assert WORKLOADS["fused_cpu"] is workload.fused_cpu
    result = workload.fused_cpu(TINY)
    table, first = result.tables
    assert [row[0] for row in table.rows] == ["chain50", "tiny grad", "ODE grad, fori_loop", "ODE grad, while_loop",
                                             "eager chain grad", "MLP grad"]
    assert all(row[4] == "-" for row in table.rows)  # (no JAX column with peers off)
    for times in result.data["times_s"].values():
        assert set(times) == {"numpy", "numba", "auto"} and min(times.values()) > 0
    second = result.data["second_process"]
    assert 0 < second["warm_first_call_s"] < 1.0 and len(first.rows) == 6


def test_skipped_with_the_install_line_without_numba(monkeypatch):
    from dualtape.codegen import numba_runtime

    monkeypatch.setattr(numba_runtime, "numba_available", lambda: False)
    assert workload.fused_cpu(TINY).skipped == 'Numba is not installed: pip install "dualtape[numba]"'
