"""The spiral_epoch workload of `dualtape bench`: eager, dt.compile, NumPy by hand (and PyTorch eager where
installed) train the same epoch from the same weights to the same loss, timed at default threads and one thread."""

import importlib.util

import numpy as np

from dualtape.bench import WORKLOADS, Settings
from dualtape.bench import training as workload

TINY = Settings(rounds=1, target_s=0.0005, repeats=1, quick=True, peers=False)


def test_every_contender_trains_the_same_epoch():
    batches = workload._batches()
    assert len(batches) == 20 and all(len(x) == workload.BATCH for x, _ in batches)
    eager, model = workload.dualtape_epoch(batches, compiled=False)
    by_hand = workload.numpy_epoch(model, batches)
    compiled, _ = workload.dualtape_epoch(batches, compiled=True)
    first = eager()
    np.testing.assert_allclose(by_hand(), first, rtol=2e-3)
    np.testing.assert_allclose(compiled(), first, rtol=1e-5)


def test_tables_at_default_threads_and_one_thread():
    assert WORKLOADS["spiral_epoch"] is workload.spiral_epoch
    result = workload.spiral_epoch(TINY)
    names = [row[0] for row in result.tables[0].rows]
    assert names == ["dualtape eager", "dualtape dt.compile", "NumPy by hand"]
    assert result.tables[0].columns[1] == "epoch (default threads)"
    if importlib.util.find_spec("threadpoolctl") is not None:
        assert result.tables[1].columns[1] == "epoch (one thread)"
    else:
        assert len(result.tables) == 1 and "threadpoolctl" in result.notes[0]
