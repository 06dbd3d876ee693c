"""The spirals example: its data (balanced, reproducible, two arms that no line separates), a short training
run that must reach 95% training accuracy (and generalise to fresh points), and the progress it prints."""

import numpy as np

from dualtape.examples import spirals


def test_data_are_two_balanced_reproducible_arms():
    points, labels = spirals.make_spirals(n_per_class=50, seed=3)
    assert points.shape == (100, 2) and points.dtype == np.float32 and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [50, 50]
    again, _ = spirals.make_spirals(n_per_class=50, seed=3)
    np.testing.assert_array_equal(points, again)
    assert not np.array_equal(points, spirals.make_spirals(n_per_class=50, seed=4)[0])
    # the arms are point reflections of each other (angle + pi), so no straight line separates them well
    features = np.c_[points, np.ones(len(points))]
    w = np.linalg.lstsq(features, 2.0 * labels - 1, rcond=None)[0]
    assert ((features @ w > 0) == labels).mean() < 0.75


def test_training_reaches_95_percent_accuracy():
    result = spirals.main(steps=300, quiet=True)
    assert result.accuracy >= 0.95 and result.test_accuracy >= 0.85
    assert result.loss < 0.1


def test_progress_is_printed(capsys):
    result = spirals.main(steps=20, every=10)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["1", "10", "20"]
    assert all("loss" in line and "accuracy" in line for line in lines)
    assert lines[-1].startswith("final: loss") and f"{result.accuracy:.3f}" in lines[-1]


def test_compiled_training_gives_the_eager_numbers():
    eager = spirals.main(steps=40, quiet=True)
    compiled = spirals.main(steps=40, quiet=True, compiled=True)
    np.testing.assert_allclose(compiled.loss, eager.loss, rtol=1e-5)
    assert compiled.accuracy == eager.accuracy and compiled.test_accuracy == eager.test_accuracy
