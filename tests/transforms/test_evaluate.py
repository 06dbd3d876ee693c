"""eval_program: the same walk computes values on arrays and inlines a program into an enclosing trace."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.trace import make_program
from dualtape.transforms.evaluate import eval_program

OFFSET = np.array([0.5, -1.0, 2.0])


def model(x, y):
    h = dnp.tanh(x * y + OFFSET)
    return h.sum(), h[::2] - 1, 3.0


def reference(x, y):
    h = np.tanh(x * y + OFFSET)
    return h.sum(), h[::2] - 1, 3.0


def test_eval_program_on_arrays_matches_numpy():
    x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 3.0])
    program = dt.trace(model)(x, y)
    outs = eval_program(program, [x, y])
    expected = reference(x, y)
    assert len(outs) == 3 and outs[2] == 3.0
    for got, want in zip(outs[:2], expected[:2]):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_eval_program_reuses_one_program_for_new_values_of_the_same_shape():
    program = dt.trace(model)(np.zeros(3), np.zeros(3))
    x, y = np.array([3.0, 1.0, -2.0]), np.array([0.5, 0.5, 0.5])
    np.testing.assert_allclose(eval_program(program, [x, y])[0], reference(x, y)[0], rtol=1e-15)


def test_eval_program_on_tracers_inlines_the_program():
    inner = dt.trace(model)(np.zeros(3), np.zeros(3))
    outer, _ = make_program(lambda a: eval_program(inner, [a, a])[0] * 2.0, (np.zeros(3),))
    assert [e.prim.name for e in outer.eqns] == [e.prim.name for e in inner.eqns] + ["mul"]
    captured = [v for _, v in outer.captures][0]  # the inner program's capture, captured again, not copied again
    assert captured is inner.captures[0][1] and np.array_equal(captured, OFFSET) and captured is not OFFSET
    outer.check()
    x = np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(eval_program(outer, [x])[0], 2 * reference(x, x)[0], rtol=1e-15)


def test_eval_program_checks_the_number_of_inputs():
    program = dt.trace(model)(np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="program model takes 2 inputs, got 1"):
        eval_program(program, [np.zeros(3)])


def test_eval_program_returns_inputs_and_literals_as_given():
    program = dt.trace(lambda a, b: (b, a, 2))(np.zeros(2), np.ones(3))
    a, b = np.zeros(2), np.ones(3)
    outs = eval_program(program, [a, b])
    assert outs[0] is b and outs[1] is a and outs[2] == 2


def test_replayed_equations_keep_the_source_lines_they_were_written_at():
    inner = dt.trace(model)(np.zeros(3), np.zeros(3))
    outer, _ = make_program(lambda a: eval_program(inner, [a, a])[0] * 2.0, (np.zeros(3),))
    assert [e.where for e in outer.eqns[:-1]] == [e.where for e in inner.eqns]
    assert outer.eqns[-1].where.text.startswith("outer, _ = make_program(lambda a:")


def test_a_failed_replay_leaves_source_lines_to_the_stack_again():
    program = dt.trace(lambda x, i: x[i] + 1.0)(np.zeros(3), np.array([0]))
    with pytest.raises(IndexError):
        eval_program(program, [np.zeros(3), np.array([7])])
    after = dt.trace(model)(np.zeros(3), np.zeros(3))
    assert after.eqns[0].where.function == "model"
