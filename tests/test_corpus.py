"""Every corpus function gives the same numbers eagerly, traced-and-evaluated, and compiled."""

import numpy as np
import pytest

import dualtape as dt
from corpus import CORPUS
from dualtape import tree
from dualtape.api import trace_program
from dualtape.transforms.evaluate import eval_program


def _close(a, b):
    for x, y in zip(tree.leaves(a), tree.leaves(b), strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_modes_agree(case):
    args = case.make_args(np.random.default_rng(0))
    eager = case.fn(*args)
    program, out_tree = trace_program(case.fn, args)
    program.check()
    evaluated = tree.unflatten(out_tree, eval_program(program, tree.leaves(args)))
    compiled = dt.jit(case.fn)(*args)
    _close(evaluated, eager)
    _close(compiled, eager)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_float32_stays_float32(case):
    args = tree.tree_map(
        lambda a: a.astype(np.float32) if a.dtype == np.float64 else a, case.make_args(np.random.default_rng(1))
    )
    out = dt.jit(case.fn)(*args)
    for leaf in tree.leaves(out):
        assert np.asarray(leaf).dtype == np.float32
    np.testing.assert_allclose(out, case.fn(*args), rtol=1e-5, atol=1e-5)
