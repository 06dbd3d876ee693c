"""The data_parallel workload of `dualtape bench`: one process beside local Dask clusters of 1 and 2 workers, the
sharded gradients checked against the one-process gradient, and a not-available row without Dask."""

import importlib.util

import pytest

from dualtape.bench import WORKLOADS, Settings
from dualtape.bench import parallel as workload

TINY = Settings(rounds=2, target_s=0.0005, repeats=1, quick=True, peers=False)


def test_rows_for_one_process_and_one_and_two_workers():
    pytest.importorskip("distributed")
    assert WORKLOADS["data_parallel"] is workload.data_parallel_grad
    result = workload.data_parallel_grad(TINY)
    names = [row[0] for row in result.tables[0].rows]
    assert names == ["one process (dt.grad)", "1 worker, 8 shards", "2 workers, 8 shards"]
    assert all(t > 0 for t in result.data["times_s"].values())
    assert result.notes[0].startswith("Scaling from 1 to 2 workers: ")
    (row,) = result.tables[1].rows  # (backend="dask" over 100,000 generated rows, quick)
    assert row[:2] == ["MLP 784-256-10 gradient", "100,000"] and row[3].endswith(" s")


def test_without_dask_the_row_says_what_to_install(monkeypatch):
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else found(name, *a))
    result = workload.data_parallel_grad(TINY)
    assert result.tables[0].rows == [["dask clusters", "not available: pip install 'dualtape[dask]'", "", ""]]
