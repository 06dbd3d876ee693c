"""Eager arithmetic promotes dtypes as PyTorch does (eager/promotion.py), not as NumPy: float32 stays
float32 against int64 tensors, NumPy float64 scalars and 0-d float64 tensors; integers meeting a Python
float, true division and float functions of integers give float32."""

import numpy as np
import pytest

import dualtape as dt

CASES = {  # name: (operation on (int tensor i, float32 tensor f, float64 tensor d, library), expected dtype)
    "int / int scalar": (lambda i, f, d, lib: i / 2, np.float32),
    "int + python float": (lambda i, f, d, lib: i + 1.5, np.float32),
    "exp of int": (lambda i, f, d, lib: i.exp(), np.float32),
    "python int / int": (lambda i, f, d, lib: 1 / i, np.float32),
    "float32 * int64 tensor": (lambda i, f, d, lib: f * i, np.float32),
    "float32 * numpy float64": (lambda i, f, d, lib: f * np.float64(2.0), np.float32),
    "numpy float64 * float32": (lambda i, f, d, lib: np.float64(2.0) * f, np.float32),
    "float32 + 0-d float64 tensor": (lambda i, f, d, lib: f + d.sum(), np.float32),
    "float32 + float64 tensor": (lambda i, f, d, lib: f + d, np.float64),
    "where(int, python float)": (lambda i, f, d, lib: lib.where(f > 1, i, 0.5), np.float32),
    "int * int": (lambda i, f, d, lib: i * 2, np.int64),
    "int // int": (lambda i, f, d, lib: i // 2, np.int64),
    "float32 * python float": (lambda i, f, d, lib: f * 2.5, np.float32),
    "comparison int < float": (lambda i, f, d, lib: i < f, np.bool_),
}


def _operands(lib):
    return (lib.tensor([1, 2, 3]), lib.tensor([1.0, 2.0, 3.0]),
            lib.tensor(np.array([0.5, 0.25, 0.125])))


@pytest.mark.parametrize("name", sorted(CASES))
def test_result_dtypes_follow_torch(name):
    op, expected = CASES[name]
    result = op(*_operands(dt), dt)
    assert result.dtype == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_result_dtypes_and_values_match_torch(name):
    torch = pytest.importorskip("torch")
    op, _ = CASES[name]
    ours, theirs = op(*_operands(dt), dt), op(*_operands(torch), torch)
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_gradients_keep_the_promoted_dtype():
    w = dt.tensor([1.0, 2.0], requires_grad=True)  # float32
    (w * np.float64(3.0) * dt.tensor([1, 2])).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 6.0])
