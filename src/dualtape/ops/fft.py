"""Discrete Fourier transforms over a set of axes: fft and ifft (complex to complex), rfft (real to the half
spectrum) and irfft (a half spectrum to real), one row each, whose template calls the array module's n-D
transform (xp.fft.fftn, ...), so NumPy and CuPy compute it alike.

Params: `s`, the transform's lengths along `axes` (distinct, normalised to [0, ndim), at least one), and `norm`
("backward", "ortho" or "forward"). The operand is zero-padded to s by the transform itself, never cropped
(dnp.fft crops first, with getitem): along axes it has at most s's lengths, and at least one element; irfft's
operand is a half spectrum, at most n // 2 + 1 long on the last axis for an output n = s[-1] long, and rfft's
result is such a half spectrum. Results are complex64 / complex128 (fft, ifft, rfft) or float32 / float64
(irfft), by the operand's precision.

Derivatives (JAX's convention: a VJP is the transpose of the R-linear JVP under <c, t> = Re(sum(c * t))). All
four are R-linear: each JVP is the row itself, applied to the tangent. fft's and ifft's matrices are symmetric
(F[j, k] = exp(-+2 pi i j k / n), scaled by norm), so each is its own transpose; the zero-padding's transpose
crops the result back to the operand's lengths. For rfft and irfft, write W for the weights of a half spectrum
along the last axis (2 on the entries 0 < k < n/2, which stand for two of the full spectrum's; 1 on k = 0 and,
for even n, k = n/2). irfft reads the half spectrum d as irfft(d) = Re(IFFT(W d)) (d zero-padded to the full
length; that is how the imaginary parts at k = 0 and n/2 drop out), so with the norms swapped (the scale of
rfft "backward" is irfft "forward"'s, and so on: `DUAL_NORM`):

    rfft:  c -> Re(FFT(c)) = irfft(conj(c) / W, norm=dual)        irfft:  g -> W conj(rfft(g, norm=dual))

each a real FFT of the other kind (then cropped), so a real operand gets a real cotangent and second derivatives
are the rows' own. No rule makes a constant array, so every rule runs where the operand lives (a GPU too).
"""

from __future__ import annotations

import numpy as np

from ..avals import aval_of
from ..core.faces import Faces, Facts
from ..core.primitive import Primitive
from ..errors import ShapeError
from .complex_parts import conj_p, real_p
from .indexing import Index, Slice, getitem_p
from .rules import batch_with_params, deflinear, defvjp, shift_axes
from .shape import concatenate_p

NORMS = ("backward", "ortho", "forward")
DUAL_NORM = {"backward": "forward", "ortho": "ortho", "forward": "backward"}  # the transpose's scaling


# ---- shape and dtype rules ---------------------------------------------------------------------------
def _shape_rule(op: str, half_in: bool = False, half_out: bool = False):
    """The shape rule of a transform: the operand's lengths along axes at most s's (n // 2 + 1 on the last axis
    for a half spectrum in), the result's s (n // 2 + 1 on the last axis for a half spectrum out)."""

    def rule(x, *, s, axes, norm):
        if norm not in NORMS:
            raise ShapeError(op, f"norm={norm!r} is not one of {NORMS}",
                             fix="pass norm='backward', 'ortho' or 'forward'")
        if not axes or len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
            raise ShapeError(op, f"axes {axes} are not distinct axes of an operand of shape {x.shape}",
                             fix="pass at least one axis in [0, ndim), each once (dnp.fft normalises them)")
        if len(s) != len(axes) or min(s) < 1:
            raise ShapeError(op, f"s={s} does not give one length of 1 or more per axis of {axes}",
                             fix="pass one length per transformed axis")
        room = tuple(s[:-1]) + (s[-1] // 2 + 1 if half_in else s[-1],)
        lengths = tuple(x.shape[a] for a in axes)
        if any(not 1 <= n <= r for n, r in zip(lengths, room)):
            raise ShapeError(op, f"an operand of lengths {lengths} along axes {axes} does not fit lengths {room} "
                             f"(s={s})", fix="crop the operand to at most those lengths first (dnp.fft does)")
        shape = list(x.shape)
        for a, n in zip(axes, s):
            shape[a] = n
        if half_out:
            shape[axes[-1]] = s[-1] // 2 + 1
        return tuple(shape)

    return rule


def _complex_dtype(x, **_):
    return np.result_type(x.dtype, np.complex64)


def _real_dtype(x, **_):
    return np.empty(0, _complex_dtype(x)).real.dtype


def transform(name: str, fn: str, shape_rule, dtype_rule, torch: str) -> Primitive:
    """A row calling xp.fft.<fn> over the `axes` param, with PyTorch's node name FftXXXBackward0."""
    return Primitive(name, ("x",), f"xp.fft.{fn}(x, s=s, axes=axes, norm=norm)", shape_rule, dtype_rule=dtype_rule,
                     faces=Faces(torch_node=f"{torch}Backward0"), facts=Facts(new_array=True))


fft_p = transform("fft", "fftn", _shape_rule("fft"), _complex_dtype, "FftC2C")
ifft_p = transform("ifft", "ifftn", _shape_rule("ifft"), _complex_dtype, "FftC2C")
rfft_p = transform("rfft", "rfftn", _shape_rule("rfft", half_out=True), _complex_dtype, "FftR2C")
irfft_p = transform("irfft", "irfftn", _shape_rule("irfft", half_in=True), _real_dtype, "FftC2R")


# ---- the half spectrum's weights ---------------------------------------------------------------------
def _part(v, axis: int, start: int, stop: int):
    return getitem_p(v, index=Index((Slice(None, None, None),) * axis + (Slice(start, stop, None),)))


def _times_doubled(v, axis: int, n: int, factor: float):
    """v, a half spectrum along axis of a length-n transform, with the entries standing for two of the full
    spectrum's (0 < k < n/2) multiplied by factor."""
    m, stop = aval_of(v).shape[axis], (n + 1) // 2  # (entries 1 .. stop-1 are doubled; m = n // 2 + 1)
    if stop <= 1:
        return v
    pieces = [_part(v, axis, 0, 1), _part(v, axis, 1, stop) * factor]
    if stop < m:
        pieces.append(_part(v, axis, stop, m))
    return concatenate_p(*pieces, axis=axis)


def _cropped(v, x, axes):
    """v cropped to x's lengths along axes: the transpose of the transform's zero-padding of x."""
    shape, lengths = aval_of(v).shape, aval_of(x).shape
    if all(shape[a] == lengths[a] for a in axes):
        return v
    entries = [Slice(None, None, None)] * len(shape)
    for a in axes:
        entries[a] = Slice(0, lengths[a], None)
    return getitem_p(v, index=Index(tuple(entries)))


def _fft_vjp(g, ans, x, *, s, axes, norm):
    return _cropped(fft_p(g, s=s, axes=axes, norm=norm), x, axes)


def _ifft_vjp(g, ans, x, *, s, axes, norm):
    return _cropped(ifft_p(g, s=s, axes=axes, norm=norm), x, axes)


def _rfft_vjp(g, ans, x, *, s, axes, norm):
    halved = _times_doubled(conj_p(g), axes[-1], s[-1], 0.5)
    return _cropped(irfft_p(halved, s=s, axes=axes, norm=DUAL_NORM[norm]), x, axes)


def _irfft_vjp(g, ans, x, *, s, axes, norm):
    if aval_of(g).dtype.kind == "c":  # (a real output's cotangent is real; only its real part pairs with it)
        g = real_p(g)
    spectrum = conj_p(rfft_p(g, s=s, axes=axes, norm=DUAL_NORM[norm]))
    return _cropped(_times_doubled(spectrum, axes[-1], s[-1], 2.0), x, axes)


def _shift_axes(params, size):
    return {**params, "axes": shift_axes(params["axes"])}


defvjp(fft_p, _fft_vjp, reads="")
defvjp(ifft_p, _ifft_vjp, reads="")
defvjp(rfft_p, _rfft_vjp, reads="")
defvjp(irfft_p, _irfft_vjp, reads="")
for _prim in (fft_p, ifft_p, rfft_p, irfft_p):
    deflinear(_prim)
    _prim.batch = batch_with_params(_prim, _shift_axes)
