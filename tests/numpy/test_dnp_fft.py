"""dnp.fft as NumPy's np.fft: every function on traced values through NumPy's own name (np.fft.X dispatches to
dnp.fft.X), NumPy's corner cases (repeated axes, no axes, s of -1, s without axes), frequencies and shifts,
derivatives of real functions through the transforms against finite differences to second order, and the errors
(unknown names, bad norm or lengths, complex input to a real transform)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.errors import ShapeError, UnsupportedNameError
from dualtape.numpy.protocols import _function_table
from gradcheck import check_grads
from strategies import SMALL, arrays, shapes

RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 4))
Z = X + 1j * RNG.standard_normal((3, 4))
TRANSFORMS = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
              "rfftn", "irfftn"]


def assert_like_numpy(got, expected, tol=1e-12):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got.dtype, got.shape, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


# ---- NumPy's names on traced values ------------------------------------------------------------------
def test_every_numpy_fft_function_is_dnps():
    names = [n for n in dir(np.fft) if not n.startswith("_") and callable(getattr(np.fft, n)) and n != "test"]
    assert sorted(names) == sorted(TRANSFORMS + ["fftfreq", "rfftfreq", "fftshift", "ifftshift"])
    for name in names:
        assert _function_table()[getattr(np.fft, name)] is getattr(dnp.fft, name)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_numpy_transforms_on_traced_values_record_dnps(name):
    x = X if name in ("rfft", "ihfft", "rfft2", "rfftn") else Z
    kwargs = {"norm": "ortho"} if name.endswith("n") else {"norm": "forward", "axis": 0}
    if name.endswith("2") or name.endswith("n"):
        kwargs = {"norm": "ortho", "axes": (1, 0)}
    traced = dt.jit(lambda v: getattr(np.fft, name)(v, **kwargs))
    assert_like_numpy(traced(x), getattr(np.fft, name)(x, **kwargs))
    assert "fft" in str(dt.trace(lambda v: getattr(np.fft, name)(v, **kwargs))(x))


def test_shifts_and_frequencies_through_numpy_names():
    f = lambda v: np.fft.fftshift(np.fft.ifftshift(v, axes=0), axes=(1,)) * np.fft.rfftfreq(7)[:4]
    assert_like_numpy(dt.jit(f)(X), f(X))
    assert_like_numpy(dt.jit(lambda v: np.fft.fft(v, out=None))(Z), np.fft.fft(Z))  # (out=None: NumPy's default)


# ---- NumPy's corner cases ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs", [
    ("fftn", {"axes": (0, 1, 0), "s": (2, 5, 3)}), ("ifftn", {"axes": (1, 1)}), ("rfftn", {"axes": (1, 0, 1)}),
    ("irfftn", {"axes": (1, 1), "s": (5, 6)}), ("fftn", {"axes": ()}), ("fftn", {"s": (-1, 6), "axes": (0, 1)}),
    ("irfftn", {"s": (2, -1), "axes": (0, 1)}), ("fft", {"n": 1}), ("irfft", {"n": 1}), ("irfftn", {"axes": (0,)}),
])
def test_numpy_corner_cases(name, kwargs):
    x = X if name.startswith("rfft") else Z
    for value in (x, x.astype(np.complex64) if np.iscomplexobj(x) else x.astype(np.float32)):
        tol = 1e-5 if value.dtype in (np.float32, np.complex64) else 1e-12
        assert_like_numpy(getattr(dnp.fft, name)(value, **kwargs), getattr(np.fft, name)(value, **kwargs), tol)
        assert_like_numpy(dt.jit(lambda v: getattr(dnp.fft, name)(v, **kwargs))(value),
                          getattr(np.fft, name)(value, **kwargs), tol)


def test_an_axis_with_no_element_pads_to_zeros_as_numpy_does():
    empty = np.ones((0, 3))
    assert_like_numpy(dnp.fft.fft(empty, n=4, axis=0), np.fft.fft(empty, n=4, axis=0))
    assert_like_numpy(dt.jit(lambda v: dnp.fft.rfftn(v, (5, 3), (0, 1)))(empty), np.fft.rfftn(empty, (5, 3), (0, 1)))
    assert_like_numpy(dnp.fft.fft(empty, axis=1), np.fft.fft(empty, axis=1))  # (an empty untransformed axis)


def test_lengths_without_axes_take_the_last_axes_as_numpy_does():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # (NumPy 2 deprecates s without axes)
        assert_like_numpy(dnp.fft.fftn(Z, s=(5,)), np.fft.fftn(Z, s=(5,)))
        assert_like_numpy(dnp.fft.irfftn(Z, s=(2, 3)), np.fft.irfftn(Z, s=(2, 3)))


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float16])
def test_other_input_dtypes_convert_as_numpy(dtype):
    x = (X > 0).astype(dtype)
    for name in ("fft", "rfft", "irfft", "hfft", "ihfft"):
        assert_like_numpy(getattr(dnp.fft, name)(x), getattr(np.fft, name)(x), 1e-3)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_frequencies_and_shifts_match_numpy(data):
    n, d = data.draw(st.integers(1, 9), label="n"), data.draw(st.sampled_from([1.0, 0.1, 3]), label="d")
    assert_like_numpy(dnp.fft.fftfreq(n, d), np.fft.fftfreq(n, d))
    assert_like_numpy(dnp.fft.rfftfreq(n, d), np.fft.rfftfreq(n, d))
    x = data.draw(arrays(np.float64, shapes(1, 3), SMALL), label="x")
    axes = data.draw(st.none() | st.integers(0, x.ndim - 1) | st.permutations(range(x.ndim)), label="axes")
    for name in ("fftshift", "ifftshift"):
        assert_like_numpy(getattr(dnp.fft, name)(x, axes), getattr(np.fft, name)(x, axes))
        assert_like_numpy(dt.jit(lambda v, name=name: getattr(dnp.fft, name)(v, axes))(x),
                          getattr(np.fft, name)(x, axes))


def test_frequencies_of_a_traced_spacing_differentiate():
    for name in ("fftfreq", "rfftfreq"):
        assert_like_numpy(dt.jit(lambda d, name=name: getattr(dnp.fft, name)(6, d))(0.3), getattr(np.fft, name)(6, 0.3))
        check_grads(lambda d, name=name: getattr(dnp.fft, name)(5, d), (0.7,), order=2, modes=("fwd", "rev"))


# ---- derivatives of real functions through the transforms -----------------------------------------------
def spectrum_energy(x, w):
    """A real function of a real x through every kind of transform, n-D and with crops and pads."""
    half = dnp.fft.rfft2(x, s=(4, 6), norm="ortho")
    full = dnp.fft.fftn(dnp.fft.irfft(half * w, n=5), axes=(1, 0))
    shifted = dnp.fft.fftshift(dnp.fft.ifft2(full, s=(3, 3)))
    return dnp.real(shifted) * dnp.imag(shifted) + dnp.fft.hfft(dnp.fft.ihfft(x, n=3), n=4)[:, :3]


@settings(max_examples=5, deadline=None)
@given(x=arrays(np.float64, (3, 4), SMALL))
def test_derivatives_of_a_real_function_through_transforms_match_finite_differences(x):
    w = np.cos(np.arange(4.0))
    check_grads(lambda x: spectrum_energy(x, w), (x,), order=2, modes=("fwd", "rev"))


# ---- errors ------------------------------------------------------------------------------------------
def test_errors_name_the_function_and_the_fix():
    with pytest.raises(UnsupportedNameError, match=r"(?s)dnp\.fft\.ffft.*use dnp\.fft\.fft"):
        dnp.fft.ffft  # noqa: B018
    assert not hasattr(dnp.fft, "chirp_z") and not hasattr(dnp.fft, "roll")  # (helpers are not public names)
    with pytest.raises(ValueError, match="invalid norm value 'unitary'"):
        dnp.fft.fft(Z, norm="unitary")
    with pytest.raises(ShapeError, match=r"invalid number of FFT data points \(0\)"):
        dnp.fft.fft(Z, n=0)
    with pytest.raises(ShapeError, match=r"invalid number of FFT data points \(0\)"):
        dt.jit(lambda v: dnp.fft.irfft(v))(np.ones(1))
    with pytest.raises(TypeError, match="rfft: its input must be real"):
        dt.jit(lambda v: np.fft.rfft(v))(Z)
    with pytest.raises(ShapeError, match="different lengths"):
        dnp.fft.fftn(Z, s=(2, 3), axes=(0,))
    with pytest.raises(ShapeError, match="at least one axis"):
        dnp.fft.rfftn(X, axes=())
    with pytest.raises(ValueError, match="device"):
        dnp.fft.fftfreq(4, device="cuda")
