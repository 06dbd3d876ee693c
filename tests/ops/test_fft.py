"""The Fourier rows (ops/fft.py: fft, ifft, rfft, irfft) against NumPy (each case's `values`: every dnp.fft function
reaching the row, every dtype, n / s crop and pad, axes, norms); their derivatives along complex directions, by
central differences for the JVP and by the pairing identity Re(sum(c * J t)) = Re(sum(vjp(c) * t)) for the VJP
(a real input's cotangent real); both against JAX's, to second order; shapes, dtypes, batching, emitted source,
what the rules read, and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from cases_fft import FFT
from dualtape.core.primitive import REGISTRY
from dualtape.errors import ShapeError
from dualtape.ops.fft import fft_p, ifft_p, irfft_p, rfft_p
from opcheck import check_op

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

TOLERANCES = {np.dtype(np.complex64): dict(rtol=2e-5, atol=2e-5), np.dtype(np.float32): dict(rtol=2e-5, atol=2e-5),
              np.dtype(np.complex128): dict(rtol=1e-11, atol=1e-11), np.dtype(np.float64): dict(rtol=1e-11, atol=1e-11)}


@pytest.mark.parametrize("name", sorted(FFT))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matches_numpy(name, data):
    np_fn, dt_fn, args = data.draw(FFT[name].values, label="case")
    expected = np.asarray(np_fn(*args))
    tol = TOLERANCES.get(expected.dtype, {})
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    check_op(np_fn, dt_fn, args, prim=REGISTRY[name], rtol=tol.get("rtol"),
             atol=tol["atol"] * scale if tol else None)


# ---- derivatives along complex directions, and JAX's ---------------------------------------------------------------
RNG = np.random.default_rng(0)


def complex_array(shape, rng=RNG):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def like(x, rng=RNG):
    """A random array of x's shape, complex where x is (both parts random), real where x is real."""
    return complex_array(np.shape(x), rng) if np.iscomplexobj(x) else rng.standard_normal(np.shape(x))


def central_difference(f, x, t, h=1e-3):
    """J t by the fourth-order central stencil, along the (complex) direction t."""
    values = [np.asarray(f(x + s * h * t)) for s in (-2, -1, 1, 2)]
    return (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)


def pairing(c, t) -> float:
    """<c, t> = Re(sum(c * t)), the real pairing of JAX's convention (no conjugation)."""
    return float(np.real(np.sum(np.asarray(c) * np.asarray(t))))


def check_complex_derivatives(f, x, g=None):
    """f's JVP along a random direction matches central differences; its VJP satisfies the pairing identity
    with the JVP, gives a real input a real cotangent, and (with g, JAX's spelling of f) equals JAX's."""
    t = like(x)
    out, out_dot = dt.jvp(f, (x,), (t,))
    np.testing.assert_allclose(out, f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_dot, central_difference(f, x, t), rtol=1e-7, atol=1e-8)
    c = like(out)
    _, pullback = dt.vjp(f, x)
    (x_bar,) = pullback(c)
    assert x_bar.shape == np.shape(x) and x_bar.dtype == np.asarray(x).dtype, x_bar.dtype
    lhs, rhs = pairing(c, out_dot), pairing(x_bar, t)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)), (lhs, rhs)
    if g is not None:
        theirs, their_pullback = jax.vjp(g, jnp.asarray(x))
        np.testing.assert_allclose(out, theirs, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(x_bar, their_pullback(jnp.asarray(c))[0], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(out_dot, jax.jvp(g, (jnp.asarray(x),), (jnp.asarray(t),))[1], rtol=1e-10,
                                   atol=1e-10)


def _both(name, **kwargs):
    return (lambda x: getattr(dnp.fft, name)(x, **kwargs)), (lambda x: getattr(jnp.fft, name)(x, **kwargs))


# (function name, keywords, input shape, complex input): every row, each norm, odd and even lengths, n / s that
# crop and pad, several axes
CONFIGS = [
    ("fft", {}, (5,), True), ("fft", {"n": 7, "norm": "ortho"}, (3, 5), True), ("fft", {"axis": 0}, (4, 3), False),
    ("ifft", {"norm": "forward"}, (6,), True), ("ifft", {"n": 3, "axis": 0}, (5, 2), True),
    ("fftn", {"axes": (2, 0), "norm": "ortho"}, (3, 2, 4), True), ("ifft2", {"s": (3, 6)}, (4, 4), True),
    ("rfft", {}, (6,), False), ("rfft", {"norm": "ortho"}, (2, 7), False), ("rfft", {"n": 9, "axis": 0}, (4, 3), False),
    ("rfftn", {"norm": "forward"}, (3, 4, 5), False), ("rfft2", {"s": (2, 6), "axes": (1, 0)}, (4, 5), False),
    ("irfft", {}, (4,), True), ("irfft", {"n": 7, "norm": "ortho"}, (3, 4), True), ("irfft", {"n": 2}, (3,), True),
    ("irfftn", {"norm": "forward"}, (3, 4, 5), True), ("irfft2", {"s": (4, 6)}, (3, 4), True),
    ("irfft", {"n": 5}, (3,), False), ("hfft", {"n": 6, "norm": "ortho"}, (4,), True), ("ihfft", {}, (7,), False),
]


@pytest.mark.parametrize("name, kwargs, shape, is_complex", CONFIGS, ids=[f"{c[0]}{c[1]}" for c in CONFIGS])
def test_derivatives_along_complex_directions_and_against_jax(name, kwargs, shape, is_complex):
    f, g = _both(name, **kwargs)
    x = complex_array(shape) if is_complex else RNG.standard_normal(shape)
    check_complex_derivatives(f, x, g)
    check_complex_derivatives(dt.jit(f), x)


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft"])
def test_each_row_is_its_own_derivative_and_its_rules_read_nothing(name):
    prim = REGISTRY[name]
    assert prim.vjp_reads == ((),) and prim.linear_vjp
    assert prim.unread(0b1)[:2] == ((0,), True)  # (eager mode keeps neither the operand nor the result)


def _loss(x, m):
    spectrum = m.fft.fft2(x * (1.0 + 0.5j), norm="ortho")
    return m.sum(m.abs(spectrum) ** 3) + m.sum(m.real(m.fft.irfft(m.fft.ifft(x, axis=0), n=5)) ** 2)


def test_second_derivatives_of_a_real_loss_of_complex_input_match_jax():
    """grad (JAX's conjugate-Wirtinger form), forward over reverse and reverse over reverse."""
    x, t, v = complex_array((3, 4)), complex_array((3, 4)), complex_array((3, 4))

    def derivatives(m, grad, jvp, wrap=lambda f: f):
        g = grad(lambda y: _loss(y, m))
        return wrap(lambda x, t, v: (g(x), jvp(g, (x,), (t,))[1], grad(lambda x: m.sum(m.real(g(x) * v)))(x)))

    ours = derivatives(dnp, dt.grad, dt.jvp)(x, t, v)
    theirs = derivatives(jnp, jax.grad, jax.jvp, jax.jit)(x, t, v)  # (compiled: JAX op by op is slow)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_hessian_of_a_real_loss_of_real_input_matches_jax():
    def loss(x, m):
        half = m.fft.rfft(x, n=7)
        return m.sum(m.abs(half) ** 2 * m.arange(4.0)) + m.sum(m.fft.hfft(half ** 2)) + m.sum(m.fft.fft(x).imag ** 3)

    x = RNG.standard_normal(6)
    expected = jax.jit(jax.hessian(lambda x: loss(x, jnp)))(x)
    np.testing.assert_allclose(dt.hessian(lambda x: loss(x, dnp))(x), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(dt.jacfwd(dt.grad(lambda x: loss(x, dnp)))(x), expected, rtol=1e-9, atol=1e-9)


# ---- shapes, dtypes, batching, emitted source -------------------------------------------------------
@pytest.mark.parametrize("dtype, complex_dtype, real_dtype", [
    (np.float32, np.complex64, np.float32), (np.float64, np.complex128, np.float64),
    (np.complex64, np.complex64, np.float32), (np.complex128, np.complex128, np.float64)])
def test_result_dtypes_follow_the_operand_precision(dtype, complex_dtype, real_dtype):
    x = np.ones((2, 4), dtype)
    assert fft_p(x, s=(4,), axes=(1,), norm="backward").dtype == complex_dtype
    assert ifft_p(x, s=(3, 5), axes=(0, 1), norm="ortho").dtype == complex_dtype
    assert irfft_p(x, s=(6,), axes=(1,), norm="backward").dtype == real_dtype
    if dtype in (np.float32, np.float64):
        assert rfft_p(x, s=(4,), axes=(1,), norm="forward").dtype == complex_dtype
    traced = dt.trace(lambda v: dnp.fft.irfft(dnp.fft.rfft(v)))(np.ones(4, np.float32))
    assert [str(a.dtype) for a in traced.out_avals] == ["float32"]


def test_vmap_shifts_the_transformed_axes_and_jit_agrees():
    x = complex_array((3, 4, 5))
    f = lambda v: dnp.fft.irfft2(dnp.fft.fft(v, axis=0), s=(4, 6))
    expected = np.stack([np.fft.irfft2(np.fft.fft(x[:, :, k], axis=0), s=(4, 6)) for k in range(5)], axis=-1)
    np.testing.assert_allclose(dt.vmap(f, in_axes=2, out_axes=-1)(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dt.jit(dt.vmap(f, in_axes=2, out_axes=-1))(x), expected, rtol=1e-12, atol=1e-12)
    per_example = dt.vmap(dt.grad(lambda v: dnp.sum(dnp.abs(dnp.fft.rfft(v)) ** 2)))(x.real)
    full = dt.grad(lambda v: dnp.sum(dnp.abs(dnp.fft.rfft(v)) ** 2))(x.real)
    np.testing.assert_allclose(per_example, full, rtol=1e-12, atol=1e-12)


def test_emitted_source_calls_the_array_modules_transforms():
    source = dt.source(dt.grad(lambda x: dnp.sum(dnp.abs(dnp.fft.rfft(x, norm="ortho")) ** 2)), np.ones(6))
    assert "xp.fft.rfftn(x, s=(6,), axes=(0,), norm='ortho')" in source
    assert "xp.fft.irfftn(" in source and "s=(6,), axes=(0,), norm='ortho')" in source
    assert "xp.fft.ifftn(x, s=(2, 5), axes=(0, 1), norm='forward')" in dt.source(  # (s zero-pads in the call)
        lambda x: dnp.fft.ifft2(x, s=(2, 5), norm="forward"), np.ones((2, 3), np.complex128))


# ---- errors ------------------------------------------------------------------------------------------
def test_the_rows_refuse_operands_that_do_not_fit_naming_the_op():
    """(The shape rules run where a row is staged; dnp.fft always hands them operands that fit.)"""
    staged = lambda prim, x, **params: dt.trace(lambda v: prim(v, **params))(x)
    with pytest.raises(ShapeError, match=r"irfft.*lengths \(4,\).*fit lengths \(3,\) \(s=\(5,\)\)"):
        staged(irfft_p, np.ones(4, np.complex128), s=(5,), axes=(0,), norm="backward")
    with pytest.raises(ShapeError, match=r"(?s)fft.*fix: crop the operand"):
        staged(fft_p, np.ones((2, 3)), s=(2, 2), axes=(0, 1), norm="backward")
    with pytest.raises(ShapeError, match=r"fft.*axes \(0, 0\)"):
        staged(fft_p, np.ones((2, 2)), s=(2, 2), axes=(0, 0), norm="backward")
    with pytest.raises(ShapeError, match=r"rfft.*axes \(2,\)"):
        staged(rfft_p, np.ones((2, 2)), s=(2,), axes=(2,), norm="backward")
    with pytest.raises(ShapeError, match=r"ifft.*s=\(2,\) does not give one length"):
        staged(ifft_p, np.ones((2, 2)), s=(2,), axes=(0, 1), norm="backward")
    with pytest.raises(ShapeError, match=r"fft.*norm='unitary'"):
        staged(fft_p, np.ones(3), s=(3,), axes=(0,), norm="unitary")
    with pytest.raises(ShapeError, match="does not fit"):
        staged(ifft_p, np.ones((0, 3)), s=(2,), axes=(0,), norm="ortho")
