"""The mixed_precision workload of `dualtape bench`: float32, bfloat16 and float16 rows for each face (eager,
dt.compile, dt.jit), times and the loss each reaches, and a not-available row where ml_dtypes is missing."""

import importlib.util

from dualtape.bench import WORKLOADS, Settings
from dualtape.bench import precision as workload

TINY = Settings(rounds=2, target_s=0.0005, repeats=1, quick=True, peers=False)


def test_rows_for_each_face_and_precision_with_the_loss_each_reaches():
    assert WORKLOADS["mixed_precision"] is workload.mixed_precision
    result = workload.mixed_precision(TINY)
    (table,) = result.tables
    assert table.columns == ["contender", "time per step", "vs float32", "loss after 10 steps", "vs float32 loss"]
    names = [row[0] for row in table.rows]
    assert names[:3] == ["eager float32", "eager bfloat16", "eager float16 + GradScaler"]
    assert "dt.compile float16 + GradScaler" in names and "dt.jit float16" in names
    losses, times = result.data["losses"], result.data["times_s"]
    for name, loss in losses.items():
        base = losses[f"{name.split()[0]} float32"]
        assert abs(loss - base) < 0.1 * base and times[name] > 0, name  # (the same weights, the same task)
    assert losses["eager float32"] == losses["dt.compile float32"]  # (dt.compile: eager's numbers to the bit)


def test_bfloat16_rows_say_what_to_install_without_ml_dtypes(monkeypatch):
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ml_dtypes" else found(name, *a))
    result = workload.mixed_precision(TINY)
    rows = {row[0]: row for row in result.tables[0].rows}
    assert rows["eager bfloat16"][1] == "not available: pip install ml_dtypes"
    assert "dt.jit bfloat16" not in result.data["losses"] and "dt.jit float16" in result.data["losses"]
