"""Cutting a batch into shards and combining the shards' results (no cluster needed): the arithmetic that makes a
sharded gradient equal the full-batch one."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualtape import tree
from dualtape.errors import ShapeError
from dualtape.parallel.shards import batch_size, combine, per_argument, split


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), shards=st.integers(1, 9), axis=st.integers(0, 1))
def test_shards_partition_the_batch_and_mean_of_means_is_the_mean(n, shards, axis):
    shards = min(shards, n)
    x = np.random.default_rng(n).standard_normal((n, 3) if axis == 0 else (3, n))
    w = np.arange(3.0)
    pieces, sizes = split((w, {"x": x}), (None, axis), shards)
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1 and len(pieces) == shards
    np.testing.assert_array_equal(np.concatenate([p[1]["x"] for p in pieces], axis=axis), x)
    assert all(p[0] is w for p in pieces)
    means = [(p[1]["x"].mean(), p[1]["x"].sum(axis=axis)) for p in pieces]
    mean, total = combine(means, sizes, ("mean", "sum"), "test")
    np.testing.assert_allclose(mean, x.mean(), rtol=1e-12)
    np.testing.assert_allclose(total, x.sum(axis=axis), rtol=1e-12)
    rows = combine([p[1]["x"] if axis == 0 else p[1]["x"].T for p in pieces], sizes, "concat", "test")
    np.testing.assert_array_equal(rows, x if axis == 0 else x.T)


def test_scalar_results_stay_python_scalars_and_dtypes_stay():
    loss, grads = combine([(1.0, [np.float32([1, 2])]), (3.0, [np.float32([3, 4])])], [1, 3], "mean", "test")
    assert type(loss) is float and loss == 2.5
    assert grads[0].dtype == np.float32 and grads[0].tolist() == [2.5, 3.5]


def test_batch_length_is_checked_with_a_fix():
    with pytest.raises(ShapeError, match=r"differ in batch length.*\n.*fix: shard"):
        batch_size((np.ones((4, 2)), np.ones(5)), (0, 0), "dt.parallel.data_parallel")
    with pytest.raises(ShapeError, match="no argument is sharded"):
        batch_size((np.ones(4),), (None,), "w")
    with pytest.raises(ShapeError, match="has no axis 2"):
        batch_size((np.ones(4),), (2,), "w")
    with pytest.raises(ShapeError, match="in_axes has 1 entries for 2 arguments"):
        per_argument((0,), 2, "in_axes", "w")


def test_reduce_must_fit_the_output():
    with pytest.raises(ShapeError, match="does not fit the output's structure"):
        combine([(1.0, 2.0)], [1], ("mean",), "w")
    with pytest.raises(ValueError, match="unknown reduce 'max'"):
        combine([1.0], [1], "max", "w")
    assert tree.leaves(combine([(1.0, [2.0])], [1], ("sum", "concat"), "w")) == [1.0, np.array([2.0])]
