"""dt.fft against torch.fft: values and dtypes of every function on tensors (real, complex and integer inputs),
gradients of real losses of real inputs (where PyTorch's complex convention and JAX's agree), node names, shifts
and frequencies; a name it lacks raises UnsupportedError."""

import numpy as np
import pytest

import dualtape as dt
from dualtape.errors import UnsupportedNameError
from testkit import torch_or_skip

RNG = np.random.default_rng(5)
REAL = RNG.standard_normal((3, 4))
COMPLEX = REAL + 1j * RNG.standard_normal((3, 4))

# name: (keywords, whether the input is complex)
CASES = {
    "fft": ({}, True), "fft n dim": ({"n": 6, "dim": 0, "norm": "ortho"}, True), "fft real": ({"n": 3}, False),
    "ifft": ({"norm": "forward"}, True), "rfft": ({}, False), "rfft n": ({"n": 7, "dim": 0}, False),
    "irfft": ({}, True), "irfft n": ({"n": 5, "norm": "ortho"}, True), "hfft": ({"n": 4}, True),
    "ihfft": ({"norm": "forward"}, False), "fft2": ({"s": (2, 5)}, True), "ifft2": ({"dim": (1, 0)}, True),
    "rfft2": ({"norm": "ortho"}, False), "irfft2": ({"s": (3, 5)}, True), "fftn": ({"dim": (0,)}, True),
    "ifftn": ({"s": (4, 4)}, True), "rfftn": ({"s": (2, 6), "dim": (0, 1)}, False),
    "irfftn": ({"norm": "forward"}, True), "hfft2": ({"s": (3, 4)}, True), "hfftn": ({"norm": "ortho"}, True),
    "ihfft2": ({}, False), "ihfftn": ({"s": (3, 5), "norm": "forward"}, False),
}


def _call(module, name, x):
    kwargs, _ = CASES[name]
    return getattr(module, name.split()[0])(x, **kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_dtypes_match_torch(name):
    torch = torch_or_skip()
    x = COMPLEX if CASES[name][1] else REAL
    for value in (x, x.astype(np.complex64 if np.iscomplexobj(x) else np.float32)):
        ours = _call(dt.fft, name, dt.tensor(value))
        theirs = _call(torch.fft, name, torch.tensor(value)).resolve_conj()
        assert ours.dtype == theirs.numpy().dtype and ours.shape == tuple(theirs.shape)
        tol = 1e-5 if value.dtype in (np.float32, np.complex64) else 1e-12
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "fftn", "rfft2"])
def test_integer_tensors_are_transformed_in_the_default_float_dtype(name):
    torch = torch_or_skip()
    x = np.arange(12).reshape(3, 4)
    ours, theirs = getattr(dt.fft, name)(dt.tensor(x)), getattr(torch.fft, name)(torch.tensor(x))
    assert ours.dtype == theirs.numpy().dtype
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-4)


def _real_loss(module, y, w, complex_result: bool):
    """A real loss of a transform's result: a weighted energy of a complex one, a weighted sum of a real one."""
    if complex_result:
        return (y.abs() ** 2 * module.tensor(w[..., :y.shape[-1]])).sum()
    return (y * module.tensor(w[..., :y.shape[-1]])).sum()


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_of_real_losses_of_real_inputs_match_torch(name):
    torch = torch_or_skip()
    x, w = REAL, RNG.uniform(0.5, 1.5, (6, 8))
    t, tt = dt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = _call(dt.fft, name, t), _call(torch.fft, name, tt)
    w = w[:yt.shape[0], :yt.shape[1]] if yt.ndim == 2 else w[0, :yt.shape[0]]
    _real_loss(dt, y, w, yt.is_complex()).backward()
    _real_loss(torch, yt, w, yt.is_complex()).backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_gradients_through_shifts_and_round_trips_match_torch():
    torch = torch_or_skip()
    w = RNG.uniform(0.5, 1.5, (3, 3))

    def loss(module, x):
        half = module.fft.fftshift(module.fft.rfft2(x, s=(3, 4)), dim=0)
        back = module.fft.irfft2(module.fft.ifftshift(half * module.tensor(w), dim=(0,)), s=(3, 4))
        return (back ** 2).sum() + (module.fft.fft(x, dim=0).abs() ** 3).sum()

    t, tt = dt.tensor(REAL, requires_grad=True), torch.tensor(REAL, requires_grad=True)
    loss(dt, t).backward()
    loss(torch, tt).backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_node_names_are_torchs():
    torch = torch_or_skip()
    for name, x in (("rfft", REAL), ("irfft", COMPLEX), ("fft", COMPLEX), ("ifftn", COMPLEX), ("rfftn", REAL)):
        ours = getattr(dt.fft, name)(dt.tensor(x, requires_grad=True))
        theirs = getattr(torch.fft, name)(torch.tensor(x, requires_grad=True))
        assert ours.grad_fn.name() == theirs.grad_fn.name(), name


def test_frequencies_and_shifts_match_torch():
    torch = torch_or_skip()
    for name in ("fftfreq", "rfftfreq"):
        for n, d in ((5, 1.0), (8, 0.25)):
            ours, theirs = getattr(dt.fft, name)(n, d), getattr(torch.fft, name)(n, d)
            assert ours.dtype == theirs.numpy().dtype
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)
        assert getattr(dt.fft, name)(4, dtype=dt.float64).dtype == np.float64
    x = np.arange(12.0).reshape(3, 4)
    for name in ("fftshift", "ifftshift"):
        for dim in (None, 0, (1,), (1, 0)):
            ours = getattr(dt.fft, name)(dt.tensor(x), dim=dim)
            np.testing.assert_array_equal(ours.numpy(), getattr(torch.fft, name)(torch.tensor(x), dim=dim).numpy())


def test_a_name_torch_has_and_dt_lacks_raises():
    with pytest.raises(UnsupportedNameError, match=r"(?s)dt\.fft\.rfft3.*use dt\.fft\.rfft"):
        dt.fft.rfft3  # noqa: B018
