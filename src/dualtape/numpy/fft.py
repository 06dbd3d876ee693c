"""`dnp.fft`: NumPy's discrete Fourier transforms on every value kind, with NumPy's signatures (n / s, axis / axes,
norm) and result dtypes. Every transform is one of four rows (ops/fft.py: fft, ifft, rfft, irfft over a set of
axes, zero-padding to the transform's lengths), the operand cropped first where it is longer; hfft and ihfft are
irfft and rfft of the conjugate, fftshift and ifftshift rolls, fftfreq and rfftfreq constants (fftfreq of a
traced spacing d differentiates). Repeated axes are transformed one after another in NumPy's order, as NumPy
does."""

from __future__ import annotations

import operator as _operator

import numpy as _np

from ..avals import aval_of as _aval_of
from ..ops.elementwise import convert_element_type_p as _convert_p
from ..ops.elementwise import full_p as _full_p
from ..ops.fft import fft_p as _fft_p
from ..ops.fft import ifft_p as _ifft_p
from ..ops.fft import irfft_p as _irfft_p
from ..ops.fft import rfft_p as _rfft_p
from ..ops.indexing import Index as _Index
from ..ops.indexing import Slice as _Slice
from ..ops.indexing import getitem_p as _getitem_p
from . import elementwise as _ew
from ._base import arr as _arr
from ._base import bind as _bind
from ._base import shape_error as _shape_error
from .arrange import roll as _roll
from .complex_parts import conjugate as _conjugate
from .joins import axis_index as _axis_index
from .unsupported import public_names as _public_names
from .unsupported import unsupported as _unsupported

_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# ---- arguments ---------------------------------------------------------------------------------------
def _norm(norm, op: str) -> str:
    """NumPy's norm names: None is "backward"."""
    norm = "backward" if norm is None else norm
    if norm not in _SWAP:
        raise ValueError(f'dnp.fft.{op}: invalid norm value {norm!r}; should be "backward", "ortho" or "forward"')
    return norm


def _operand(a, op: str, real: bool):
    """a as the rows take it: float32 / float64 / complex64 / complex128, converted as NumPy converts (integers
    and booleans to float64, float16 to float32); a real transform refuses complex input, as NumPy does."""
    x = _arr(a)
    dtype = _aval_of(x).dtype
    if dtype.kind == "c" and real:
        raise TypeError(f"dnp.fft.{op}: its input must be real, got {dtype} (NumPy refuses complex input too); "
                        "use dnp.fft.fft / fftn for a complex input")
    if dtype.kind in "biu":
        target = _np.dtype(_np.float64)
    elif dtype == _np.float16:
        target = _np.dtype(_np.float32)
    elif dtype.kind in "fc":
        target = dtype
    else:
        raise TypeError(f"dnp.fft.{op}: unsupported input dtype {dtype}")
    return x if target == dtype and not _aval_of(x).weak else _bind(_convert_p, x, dtype=target)


def _lengths(x, op: str, s, axes, inverse_real: bool = False) -> tuple[list, list]:
    """NumPy's (s, axes) of an n-D transform: axes normalised; each length an int (None: the 1-D transform's
    default; -1: the operand's own length)."""
    shape = _aval_of(x).shape
    if s is None:
        axes = list(range(len(shape))) if axes is None else [_operator.index(a) for a in _sequence(axes)]
        s = [None] * len(axes)
    else:
        s = [None if n is None else _operator.index(n) for n in _sequence(s)]
        axes = list(range(-len(s), 0)) if axes is None else [_operator.index(a) for a in _sequence(axes)]
    if len(s) != len(axes):
        raise _shape_error(op, f"s={tuple(s)} and axes={tuple(axes)} have different lengths",
                           fix="pass one length in s per axis in axes")
    axes = [_axis_index(a, len(shape), f"dnp.fft.{op}") for a in axes]
    lengths = []
    for i, (n, a) in enumerate(zip(s, axes)):
        inverse = inverse_real and i == len(axes) - 1
        if n is None:
            n = (shape[a] - 1) * 2 if inverse else shape[a]
        elif n == -1:
            n = shape[a]
        if n < 1:
            raise _shape_error(op, f"invalid number of FFT data points ({n}) along axis {a}",
                               fix="pass n / s of 1 or more (or transform a longer axis)")
        lengths.append(n)
    return lengths, axes


def _sequence(v) -> tuple:
    try:
        return tuple(v)
    except TypeError:
        return (v,)


def _transform(prim, x, axes, lengths, norm: str):
    """prim over axes with lengths s: x cropped first where it is longer (the row zero-pads where it is shorter);
    an axis with no element gives zeros, what padding nothing gives."""
    shape, half_in = _aval_of(x).shape, prim is _irfft_p
    room = list(lengths[:-1]) + [lengths[-1] // 2 + 1 if half_in else lengths[-1]]
    if any(shape[a] == 0 for a in axes):
        out = list(shape)
        for a, n in zip(axes, lengths):
            out[a] = n
        if prim is _rfft_p:
            out[axes[-1]] = lengths[-1] // 2 + 1
        return _full_p(shape=tuple(out), fill_value=0, dtype=prim.dtype_rule(_aval_of(x)))
    if any(shape[a] > r for a, r in zip(axes, room)):
        entries = [_Slice(None, None, None)] * len(shape)
        for a, r in zip(axes, room):
            entries[a] = _Slice(0, r, None) if shape[a] > r else entries[a]
        x = _getitem_p(x, index=_Index(tuple(entries)))
    return _bind(prim, x, s=tuple(lengths), axes=tuple(axes), norm=norm)


# ---- the transforms ----------------------------------------------------------------------------------
def _complex_to_complex(prim, op: str, a, s, axes, norm):
    norm = _norm(norm, op)
    x = _operand(a, op, real=False)
    lengths, axes = _lengths(x, op, s, axes)
    if not axes:
        return _arr(a)  # (NumPy: no axis, no transform)
    if len(set(axes)) < len(axes):  # (NumPy's order: the last axis first)
        for axis, n in reversed(list(zip(axes, lengths))):
            x = _transform(prim, x, [axis], [n], norm)
        return x
    return _transform(prim, x, axes, lengths, norm)


def _real_to_half(op: str, a, s, axes, norm):
    norm = _norm(norm, op)
    x = _operand(a, op, real=True)
    lengths, axes = _lengths(x, op, s, axes)
    if not axes:
        raise _shape_error(op, "a real transform needs at least one axis", fix="pass a non-empty axes")
    if len(set(axes)) < len(axes):  # (NumPy's order: rfft along the last axis, then fft along the others)
        x = _transform(_rfft_p, x, axes[-1:], lengths[-1:], norm)
        return _complex_to_complex(_fft_p, op, x, lengths[:-1], axes[:-1], norm) if len(axes) > 1 else x
    return _transform(_rfft_p, x, axes, lengths, norm)


def _half_to_real(op: str, a, s, axes, norm):
    norm = _norm(norm, op)
    x = _operand(a, op, real=False)
    lengths, axes = _lengths(x, op, s, axes, inverse_real=True)
    if not axes:
        raise _shape_error(op, "a real transform needs at least one axis", fix="pass a non-empty axes")
    if len(set(axes)) < len(axes):  # (NumPy's order: ifft along the others, first to last, then irfft)
        for axis, n in zip(axes[:-1], lengths[:-1]):
            x = _transform(_ifft_p, x, [axis], [n], norm)
        axes, lengths = axes[-1:], lengths[-1:]
    out = _transform(_irfft_p, x, axes, lengths, norm)
    if _aval_of(_arr(a)).dtype == _np.float16:  # (NumPy gives float16 back)
        out = _bind(_convert_p, out, dtype=_np.dtype(_np.float16))
    return out


def _one(n, axis):
    return None if n is None else (n,), (axis,)


def fft(a, n=None, axis=-1, norm=None):
    """The discrete Fourier transform along axis (cropped or zero-padded to n)."""
    return _complex_to_complex(_fft_p, "fft", a, *_one(n, axis), norm)


def ifft(a, n=None, axis=-1, norm=None):
    """The inverse discrete Fourier transform along axis."""
    return _complex_to_complex(_ifft_p, "ifft", a, *_one(n, axis), norm)


def fftn(a, s=None, axes=None, norm=None):
    """The n-D discrete Fourier transform over axes (all when None)."""
    return _complex_to_complex(_fft_p, "fftn", a, s, axes, norm)


def ifftn(a, s=None, axes=None, norm=None):
    """The n-D inverse discrete Fourier transform over axes."""
    return _complex_to_complex(_ifft_p, "ifftn", a, s, axes, norm)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D discrete Fourier transform over axes."""
    return _complex_to_complex(_fft_p, "fft2", a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D inverse discrete Fourier transform over axes."""
    return _complex_to_complex(_ifft_p, "ifft2", a, s, axes, norm)


def rfft(a, n=None, axis=-1, norm=None):
    """The discrete Fourier transform of a real input along axis: the n // 2 + 1 non-negative frequencies."""
    return _real_to_half("rfft", a, *_one(n, axis), norm)


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of rfft: a real output of length n (2 (m - 1) for m input points when None)."""
    return _half_to_real("irfft", a, *_one(n, axis), norm)


def rfftn(a, s=None, axes=None, norm=None):
    """The n-D discrete Fourier transform of a real input (the last axis halved)."""
    return _real_to_half("rfftn", a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of rfftn: a real output of shape s along axes."""
    return _half_to_real("irfftn", a, s, axes, norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D discrete Fourier transform of a real input."""
    return _real_to_half("rfft2", a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of rfft2."""
    return _half_to_real("irfft2", a, s, axes, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """The transform of a signal with Hermitian symmetry, given by its first half: a real spectrum of length n."""
    return irfft(_conjugate(_arr(a)), n, axis, _SWAP[_norm(norm, "hfft")])


def ihfft(a, n=None, axis=-1, norm=None):
    """The inverse of hfft: the first half of a Hermitian spectrum, from a real input."""
    return _conjugate(rfft(a, n, axis, _SWAP[_norm(norm, "ihfft")]))


# ---- frequencies and shifts --------------------------------------------------------------------------
def _frequencies(name: str, n, d, device):
    if device not in (None, "cpu"):
        raise ValueError(f"dnp.fft.{name}: device={device!r}; dnp computes on the host (device None or 'cpu')")
    n = _operator.index(n)
    if getattr(d, "_dt_trace", None) is None:
        return getattr(_np.fft, name)(n, d)
    if name == "rfftfreq":
        steps = _np.arange(n // 2 + 1)
    else:
        steps = _np.concatenate([_np.arange((n - 1) // 2 + 1), _np.arange(-(n // 2), 0)])
    return _ew.multiply(steps, _ew.divide(1.0, _ew.multiply(n, d)))  # (NumPy's k * (1 / (n d)))


def fftfreq(n, d=1.0, device=None):
    """The sample frequencies of fft's result for n samples spaced d apart (d may be traced)."""
    return _frequencies("fftfreq", n, d, device)


def rfftfreq(n, d=1.0, device=None):
    """The sample frequencies of rfft's result: the n // 2 + 1 non-negative ones."""
    return _frequencies("rfftfreq", n, d, device)


def _shifts(x, axes, sign: int):
    shape = _aval_of(x).shape
    axes = tuple(range(len(shape))) if axes is None else axes
    if isinstance(axes, int) or _np.ndim(axes) == 0:
        return sign * (shape[_operator.index(axes)] // 2), axes
    return [sign * (shape[_operator.index(a)] // 2) for a in axes], tuple(axes)


def fftshift(x, axes=None):
    """x rolled so the zero frequency is at the centre of each axis (all when None)."""
    x = _arr(x)
    return _roll(x, *_shifts(x, axes, 1))


def ifftshift(x, axes=None):
    """The inverse of fftshift."""
    x = _arr(x)
    return _roll(x, *_shifts(x, axes, -1))


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unsupported(name, "dnp.fft", _public_names(globals()))
