"""dt.fft: torch.fft's functions, with PyTorch's names and arguments (n / s, dim, norm), on eager tensors (and on
arrays and traced values), each a call of dnp.fft's (four rows: fft, ifft, rfft, irfft; the rest compositions),
so no derivative is written here. As in torch, integer and boolean inputs are transformed in the default float
dtype (float32, so complex64 results); hfft2 / hfftn and ihfft2 / ihfftn, which NumPy lacks, are irfftn and
rfftn of the conjugate with the norm's direction swapped. A name torch.fft has and dt.fft lacks raises
UnsupportedError naming the nearest one it has."""

from __future__ import annotations

import numpy as _np

from ..numpy import elementwise as _ew
from ..numpy import fft as _dnp_fft
from ..numpy._base import arr as _arr
from ..numpy._base import dtype as _dtype
from ..numpy.complex_parts import conjugate as _conjugate
from ..numpy.unsupported import public_names as _public_names
from ..numpy.unsupported import unsupported as _unsupported
from .factories import DEFAULT_DTYPE as _DEFAULT_DTYPE
from .factories import tensor as _tensor

_SWAP = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _floating(input):  # noqa: A002
    """input as torch transforms it: an integer or boolean tensor in the default float dtype."""
    x = _arr(input)
    return _ew.astype(x, _DEFAULT_DTYPE) if _dtype(x).kind in "biu" else x


def _dims(dim):
    return None if dim is None else tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)


def _torch_form(name: str, doc: str, n_dim: bool):
    """torch.fft.<name>: dnp.fft's function of the same name after torch's argument handling (n and one dim, or
    s and dims)."""
    numpy_form = getattr(_dnp_fft, name)
    if n_dim:
        def fn(input, s=None, dim=None, norm=None):  # noqa: A002 - PyTorch's names
            return numpy_form(_floating(input), s, _dims(dim), norm)
    else:
        def fn(input, n=None, dim=-1, norm=None):  # noqa: A002
            return numpy_form(_floating(input), n, dim, norm)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


fft = _torch_form("fft", "The discrete Fourier transform along dim (cropped or zero-padded to n).", False)
ifft = _torch_form("ifft", "The inverse discrete Fourier transform along dim.", False)
rfft = _torch_form("rfft", "The Fourier transform of a real input: its n // 2 + 1 non-negative frequencies.", False)
irfft = _torch_form("irfft", "The inverse of rfft: a real signal of length n (2 (m - 1) by default).", False)
hfft = _torch_form("hfft", "The Fourier transform of a Hermitian-symmetric signal given by its first half: a "
                           "real spectrum.", False)
ihfft = _torch_form("ihfft", "The inverse of hfft: the first half of a Hermitian spectrum of a real input.", False)
fftn = _torch_form("fftn", "The n-D discrete Fourier transform over dim (all dims when both s and dim are None).",
                   True)
ifftn = _torch_form("ifftn", "The n-D inverse discrete Fourier transform.", True)
rfftn = _torch_form("rfftn", "The n-D Fourier transform of a real input (the last dim halved).", True)
irfftn = _torch_form("irfftn", "The inverse of rfftn.", True)


def hfftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The n-D transform of a Hermitian-symmetric signal given by its half (the last dim): a real result."""
    return _dnp_fft.irfftn(_conjugate(_floating(input)), s, _dims(dim), _SWAP[norm])


def ihfftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The inverse of hfftn: the half spectrum of a real input."""
    return _conjugate(_dnp_fft.rfftn(_floating(input), s, _dims(dim), _SWAP[norm]))


def _two_dim(n_dim_form):
    """torch.fft's 2-D form of an n-D one: dim (-2, -1) by default."""
    def fn(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
        return n_dim_form(input, s, dim, norm)
    name = n_dim_form.__name__[:-1] + "2"
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The 2-D {n_dim_form.__name__} (over the last two dims by default)."
    return fn


fft2, ifft2, rfft2, irfft2, hfft2, ihfft2 = map(_two_dim, (fftn, ifftn, rfftn, irfftn, hfftn, ihfftn))


def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The sample frequencies of fft's result for n samples spaced d apart, a tensor (default float dtype)."""
    return _tensor(_np.fft.fftfreq(n, d), dtype or _DEFAULT_DTYPE, requires_grad, device)


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The sample frequencies of rfft's result: the n // 2 + 1 non-negative ones."""
    return _tensor(_np.fft.rfftfreq(n, d), dtype or _DEFAULT_DTYPE, requires_grad, device)


def fftshift(input, dim=None):  # noqa: A002
    """input rolled so the zero frequency is at the centre of each dim (all when None)."""
    return _dnp_fft.fftshift(input, _dims(dim))


def ifftshift(input, dim=None):  # noqa: A002
    """The inverse of fftshift."""
    return _dnp_fft.ifftshift(input, _dims(dim))


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unsupported(name, "dt.fft", _public_names(globals()))
