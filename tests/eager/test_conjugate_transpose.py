"""Tensor.mH and Tensor.H, PyTorch's conjugate transposes: values, node names and gradients as PyTorch's
(complex and real, a batch of matrices for mH); H refuses what is not a matrix."""

import numpy as np
import pytest

import dualtape as dt

Z = np.array([[[1 + 2j, 3 - 1j, 0.5j], [2, -1j, 1]], [[0.3, 1j, -2 + 1j], [1 - 1j, 2j, 0.7]]])
W = np.array([[0.5 - 1j, 2 + 0.5j], [1j, -1], [0.25, 1 + 1j]])


@pytest.mark.parametrize("array", [Z, Z.real], ids=["complex", "real"])
def test_mh_is_the_conjugate_transpose_of_each_matrix(array):
    t = dt.tensor(array, requires_grad=True)
    np.testing.assert_array_equal(t.mH.detach().numpy(), np.conj(np.swapaxes(array, -1, -2)))
    np.testing.assert_array_equal(t[0].H.detach().numpy(), np.conj(array[0]).T)
    assert t.mH.grad_fn.name() == ("ConjBackward0" if array.dtype.kind == "c" else "TransposeBackward0")
    with pytest.raises(RuntimeError, match=r"tensor.H is only supported on matrices .*use .mH"):
        t.H  # noqa: B018


@pytest.mark.parametrize("array", [Z, Z.real], ids=["complex", "real"])
def test_gradients_through_mh_match_pytorch(array):
    torch = pytest.importorskip("torch")
    grads = []
    for m in (dt, torch):
        t = m.tensor(array, requires_grad=True)
        (t.mH * m.tensor(W)).real.sum().backward() if array.dtype.kind == "c" else (
            t.mH * m.tensor(W.real)).sum().backward()
        grads.append(np.array(t.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
