"""The Fourier section of the per-primitive table (merged into tests/primitive_cases.py's CASES): the four rows of
ops/fft.py. The generic suites draw real float64 operands and compare real results, so each entry reaches its
row through real parts: a complex operand is built as x + 1j * y from two drawn operands (both parts perturbed by
the finite differences), and a complex result is returned as its real and imaginary parts stacked. NumPy-agreement
draws cover every dnp.fft function reaching the row, float32 / float64 / complex / integer inputs, n and s that
crop or zero-pad, negative and reordered axes, every norm, and size-0 axes that are not transformed."""

from __future__ import annotations

import numpy as np
from hypothesis import note
from hypothesis import strategies as st

import dualtape.numpy as dnp
from case import Case
from strategies import SMALL, arrays, shapes

F32, F64, C64, C128, I64 = (np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128, np.int64))
NORMS = (None, "backward", "ortho", "forward")


# ---- real views of complex operands and results --------------------------------------------------------
def parts(z, xp):
    """A complex result as one real array: its real and imaginary parts, stacked."""
    return xp.stack([xp.real(z), xp.imag(z)])


def joined(x, y):
    return x + 1j * y


def _c2c(dnp_fn, np_fn):
    return (lambda x, y, **p: parts(dnp_fn(joined(x, y), **p), dnp),
            lambda x, y, **p: parts(np_fn(joined(x, y), **p), np))


def _rfft():
    return (lambda x, **p: parts(dnp.fft.rfftn(x, **p), dnp), lambda x, **p: parts(np.fft.rfftn(x, **p), np))


def _irfft():
    return (lambda x, y, **p: dnp.fft.irfftn(joined(x, y), **p), lambda x, y, **p: np.fft.irfftn(joined(x, y), **p))


# ---- derivative layouts ------------------------------------------------------------------------------
@st.composite
def transform_axes(draw, ndim: int):
    """A non-empty set of distinct axes, in any order, each maybe negative."""
    chosen = draw(st.permutations(range(ndim)))[:draw(st.integers(1, ndim))]
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


@st.composite
def fft_layout(draw, operands: int = 2):
    """(shapes, {axes, norm} and maybe s): one or two operands of a 1-3 dimensional shape, every side 1 or more;
    s crops or zero-pads each transformed axis."""
    shape = draw(shapes(1, 3, min_side=1))
    params = {"axes": draw(transform_axes(len(shape))), "norm": draw(st.sampled_from(NORMS))}
    if draw(st.booleans()):
        params["s"] = tuple(draw(st.integers(1, shape[a] + 2)) for a in params["axes"])
    return (shape,) * operands, params, None


@st.composite
def irfft_layout(draw):
    """(shapes, {s, axes, norm}): a half spectrum whose last transformed axis has n // 2 + 1 points for an output
    of length n (sometimes more or fewer: cropped or zero-padded first)."""
    shape, params, _ = draw(fft_layout())
    shape, _ = list(shape[0]), params.pop("s", None)
    n = draw(st.integers(1, 6))
    last = params["axes"][-1]
    shape[last] = n // 2 + 1 if draw(st.booleans()) else draw(st.integers(1, 4))
    params["s"] = tuple(shape[a] for a in params["axes"][:-1]) + (n,)
    return (tuple(shape),) * 2, params, None


# ---- NumPy agreement ---------------------------------------------------------------------------------
def _input(draw, shape, dtypes):
    dtype = draw(st.sampled_from(dtypes))
    if dtype.kind == "c":
        real = draw(arrays(F64, shape, SMALL))
        return (real + 1j * draw(arrays(F64, shape, SMALL))).astype(dtype)
    return draw(arrays(dtype, shape, SMALL))


@st.composite
def _lengths_and_axes(draw, shape, one_axis: bool):
    """NumPy's keywords of a 1-D (n, axis) or n-D (s, axes) call: lengths that crop, pad or keep (-1)."""
    ndim = len(shape)
    if one_axis:
        axis = draw(st.integers(-ndim, ndim - 1))
        n = draw(st.none() | st.integers(1, 6))
        return ({} if n is None else {"n": n}) | ({} if axis == -1 else {"axis": axis}), [axis]
    axes = list(draw(transform_axes(ndim)))
    kwargs = {"axes": tuple(axes)}
    if draw(st.booleans()):
        kwargs["s"] = tuple(draw(st.sampled_from([-1, 1, 2, 3, 5])) for _ in axes)
    return kwargs, axes


def fft_values(names, dtypes, half_input=False):
    """A call of one of dnp.fft's `names` against NumPy's, on an input whose transformed axes have at least one
    point (other axes may be empty)."""

    @st.composite
    def case(draw):
        name = draw(st.sampled_from(names))
        one_axis = name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
        shape = list(draw(shapes(1, 3)))
        kwargs, axes = draw(_lengths_and_axes(tuple(shape), one_axis))
        for a in axes:
            shape[a] = max(shape[a], 2 if half_input else 1)  # (a default irfft length 2 (m - 1) needs m >= 2)
        if draw(st.booleans()):
            kwargs["norm"] = draw(st.sampled_from(NORMS))
        note(f"{name}{kwargs}")
        x = _input(draw, tuple(shape), dtypes)
        return (lambda x: getattr(np.fft, name)(x, **kwargs)), (lambda x: getattr(dnp.fft, name)(x, **kwargs)), (x,)

    return case()


_REAL, _ANY = (F32, F64, I64), (F32, F64, I64, C64, C128)
FFT: dict[str, Case] = {
    "fft": Case(*_c2c(dnp.fft.fftn, np.fft.fftn), fft_layout(),
                values=fft_values(("fft", "fftn", "fft2"), _ANY)),
    "ifft": Case(*_c2c(dnp.fft.ifftn, np.fft.ifftn), fft_layout(),
                 values=fft_values(("ifft", "ifftn", "ifft2"), _ANY)),
    "rfft": Case(*_rfft(), fft_layout(1), values=fft_values(("rfft", "rfftn", "rfft2", "ihfft"), _REAL)),
    "irfft": Case(*_irfft(), irfft_layout(), values=fft_values(("irfft", "irfftn", "irfft2", "hfft"), _ANY, True)),
}
