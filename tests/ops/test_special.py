"""NumPy's further ufuncs (ops/elementwise_more.py) and dnp.special (ops/special.py, numpy/special.py) beyond the
generic per-primitive suites: evaluation accuracy against high-precision references (exact values always, mpmath
and SciPy where installed), float32, poles and infinities as SciPy gives them, derivatives of every order where
a formula needs care (sinc at 0, xlogy at x == 0, hypot at the origin, NaN in fmax), every NumPy ufunc on traced
values, the GPU helpers (on a stand-in cupyx), and the eager Tensor methods against PyTorch."""

import math
import sys
import types

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.core.primitive import REGISTRY
from dualtape.errors import UnsupportedError
from functions_ufuncs import erfc_reference, gammaln_reference, polygamma_reference
from opcheck import assert_like_numpy, quiet
from testkit import torch_or_skip

EULER = 0.57721566490153286060651209  # the Euler-Mascheroni constant
ZETA3, ZETA5 = 1.2020569031595942853997382, 1.0369277551433699263313655
RTOL = 1e-13  # float64 evaluation against high-precision values
SPECIAL = dnp.special
RNG = np.random.default_rng(7)
DRAWN = np.concatenate([RNG.uniform(-30, 0, 200), RNG.uniform(0, 40, 200), np.exp(RNG.uniform(-20, 20, 100))])
DRAWN = DRAWN[np.abs(DRAWN - np.round(DRAWN)) > 1e-6]  # (clear of the poles at 0, -1, -2, ...)


def assert_relative(actual, expected, rtol=RTOL, floor=1e-15):
    """Relative error below rtol, measured against max(|expected|, floor) (near a root, absolute)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    error = np.abs(actual - expected) / np.maximum(np.abs(expected), floor)
    assert error.max(initial=0) < rtol, f"relative error {error.max():.2e} at x index {np.argmax(error)}"


# ---- exact values ---------------------------------------------------------------------------------------------
def test_digamma_at_integers_and_half_integers():
    n = np.arange(1, 30)
    harmonic = np.cumsum(1 / n)
    assert_relative(SPECIAL.digamma(n + 1.0), harmonic - EULER)
    assert_relative(SPECIAL.digamma(1.0), -EULER)
    odd = np.cumsum(2 / (2 * n - 1))
    assert_relative(SPECIAL.digamma(n + 0.5), -EULER - 2 * math.log(2) + odd)
    assert_relative(SPECIAL.psi(0.5), -EULER - 2 * math.log(2))
    assert_relative(SPECIAL.digamma(-0.5), -EULER - 2 * math.log(2) + 2)  # (reflection: psi(x + 1) = psi(x) + 1/x)


def test_polygamma_at_one_and_one_half():
    pi = math.pi
    assert_relative(SPECIAL.polygamma(1, 1.0), pi ** 2 / 6)
    assert_relative(SPECIAL.polygamma(1, 0.5), pi ** 2 / 2)
    assert_relative(SPECIAL.polygamma(2, 1.0), -2 * ZETA3)
    assert_relative(SPECIAL.polygamma(3, 1.0), pi ** 4 / 15)
    assert_relative(SPECIAL.polygamma(4, 1.0), -24 * ZETA5)
    assert_relative(SPECIAL.polygamma(5, 1.0), 120 * pi ** 6 / 945)
    assert_relative(SPECIAL.polygamma(1, -0.5), pi ** 2 / 2 + 4)  # (psi'(x) = psi'(x + 1) + 1/x^2)
    assert_relative(SPECIAL.polygamma(3, 0.5), pi ** 4)  # (psi'''(1/2) = pi^4)
    n = np.arange(2, 12)  # psi'(n) = pi^2/6 - sum of 1/k^2 below n
    assert_relative(SPECIAL.polygamma(1, n.astype(float)), pi ** 2 / 6 - np.cumsum(1 / (n - 1.0) ** 2))


def test_gammaln_at_integers_and_half_integers():
    n = np.arange(1, 60)
    assert_relative(SPECIAL.gammaln(n.astype(float)), [math.log(math.factorial(k - 1)) for k in n])
    half = [0.5 * math.log(math.pi) + math.log(math.factorial(2 * k)) - math.log(4 ** k * math.factorial(k))
            for k in range(1, 41)]  # (Gamma(k + 1/2) = sqrt(pi) (2k)! / (4^k k!), in exact integers)
    assert_relative(SPECIAL.gammaln(np.arange(1, 41) + 0.5), half)
    assert_relative(SPECIAL.gammaln(-0.5), math.log(2 * math.sqrt(math.pi)))  # |Gamma(-1/2)| = 2 sqrt(pi)


def test_erfc_keeps_its_precision_where_one_minus_erf_loses_it():
    x = np.concatenate([np.linspace(-10, 27, 400), [0.0, 5.0, 10.0, 26.5]])
    assert_relative(SPECIAL.erfc(x), erfc_reference(x), rtol=2e-13)
    assert SPECIAL.erfc(0.0) == 1.0 and SPECIAL.erfc(30.0) == 0.0 and SPECIAL.erfc(-30.0) == 2.0
    assert_relative(SPECIAL.erfc(-x) + SPECIAL.erfc(x), np.full_like(x, 2.0), rtol=1e-15)
    assert SPECIAL.erfc(10.0) > 0 and 1 - SPECIAL.erf(10.0) == 0  # (what erfc is for)


def test_the_rows_agree_with_the_independent_references():
    x = np.linspace(0.125, 30, 300)
    assert_relative(SPECIAL.gammaln(x), gammaln_reference(x), rtol=1e-12)
    for n in range(5):
        assert_relative(SPECIAL.polygamma(n, x), polygamma_reference(n, x), rtol=1e-12)


# ---- high-precision references, where installed -------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 6])
def test_polygamma_against_mpmath(n):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    far = [-1e15 + 0.5, -1e6 + 0.25] if n == 0 else [-999.75]  # (mpmath's polygamma takes minutes further out)
    x = np.concatenate([DRAWN, far, [1e10, 171.5]])
    assert_relative(SPECIAL.polygamma(n, x), [float(mp.polygamma(n, mp.mpf(float(v)))) for v in x])


def test_gammaln_and_erfc_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    assert_relative(SPECIAL.gammaln(DRAWN), [float(mp.log(abs(mp.gamma(mp.mpf(float(v)))))) for v in DRAWN])
    x = np.linspace(-10, 27, 300)
    assert_relative(SPECIAL.erfc(x), [float(mp.erfc(mp.mpf(float(v)))) for v in x])


EDGES = np.array([0.0, -0.0, -1.0, -2.0, -7.0, np.inf, -np.inf, np.nan, 1e-300, 1e300, 171.5, 2.5])  # (not
# -1e15 + 0.5: SciPy's polygamma runs for ever there)


@pytest.mark.parametrize("name", ["erfc", "gammaln", "digamma", "polygamma1", "polygamma2", "polygamma3"])
def test_against_scipy_edges_included(name):
    """SciPy's values, poles and infinities: digamma -inf at +0, +inf at -0, NaN at -1, -2, ...; polygamma
    (-1)^(n+1) inf at the poles; gammaln inf at them (-inf at -inf is SciPy's own choice and left out)."""
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([DRAWN, EDGES])
    if name == "gammaln":
        x = x[x != -np.inf]
    if name.startswith("polygamma"):
        n = int(name[-1])
        ours, theirs = SPECIAL.polygamma(n, x), special.polygamma(n, x)
    else:
        ours, theirs = getattr(SPECIAL, name)(x), getattr(special, name)(x)
    with quiet():  # (atol: SciPy's erfc flushes its subnormal results, 3e-314 at 26.5, to 0)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300, equal_nan=True)


def test_float32_and_integer_operands():
    """Computed in float64, returned in the operand's floating dtype (float64 for integers), as a ufunc."""
    x = np.linspace(0.25, 8, 20)
    for fn in (SPECIAL.erfc, SPECIAL.gammaln, SPECIAL.digamma, lambda v: SPECIAL.polygamma(2, v)):
        low = fn(x.astype(np.float32))
        assert low.dtype == np.float32
        np.testing.assert_allclose(low, fn(x.astype(np.float32).astype(np.float64)), rtol=1e-6)
        assert fn(np.arange(1, 5)).dtype == np.float64 and fn(np.int32(3)).dtype == np.float64
        assert fn(np.float32(2.5)).dtype == np.float32 and np.ndim(fn(np.float32(2.5))) == 0
        assert dt.jit(fn)(x.astype(np.float32)).dtype == np.float32


# ---- derivatives --------------------------------------------------------------------------------------------
def _derivative(fn, order, mode):
    make = dt.grad if mode == "rev" else (lambda f: lambda x: dt.jvp(f, (x,), (1.0,))[1])
    for _ in range(order):
        fn = make(fn)
    return fn


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_each_special_function_differentiates_into_the_next(mode):
    x = 1.7
    for order in range(1, 4):
        assert_relative(_derivative(SPECIAL.gammaln, order, mode)(x), SPECIAL.polygamma(order - 1, x), rtol=1e-14)
        assert_relative(_derivative(SPECIAL.digamma, order, mode)(x), SPECIAL.polygamma(order, x), rtol=1e-14)
    slope = -2 / math.sqrt(math.pi) * math.exp(-(x * x))
    assert_relative(_derivative(SPECIAL.erfc, 1, mode)(x), slope)
    assert_relative(_derivative(SPECIAL.erfc, 2, mode)(x), -2 * x * slope)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_sinc_derivatives_are_exact_at_zero_and_continuous_around_the_series(mode):
    """sinc = 1 - (pi x)^2/6 + (pi x)^4/120 - ...: at 0 its derivatives are 0, -pi^2/3, 0, pi^4/5."""
    at_zero = [_derivative(dnp.sinc, k, mode)(0.0) for k in range(1, 5)]
    np.testing.assert_allclose(at_zero, [0.0, -math.pi ** 2 / 3, 0.0, math.pi ** 4 / 5], rtol=1e-14, atol=1e-14)

    def slope(v):  # d sinc / dx: in closed form, and below 0.01 (where that cancels) by the series' first terms
        if abs(v) < 0.01:
            return sum((-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1) * v ** (2 * k - 1)
                       for k in range(1, 5))
        return (math.cos(math.pi * v) - math.sin(math.pi * v) / (math.pi * v)) / v

    for v in (1e-8, 1e-3, 0.05, 0.0999, 0.1001, 0.3, -2.5, 7.25):  # (|x| < 0.1: the series; above: the formula)
        assert_relative(_derivative(dnp.sinc, 1, mode)(v), slope(v), rtol=1e-12)
    below, above = (_derivative(dnp.sinc, 2, mode)(v) for v in (0.1 - 1e-12, 0.1 + 1e-12))
    assert abs(below - above) < 1e-9


def test_sign_matches_numpy_and_has_no_derivative():
    x = np.array([-0.0, 0.0, np.nan, -np.inf, 3.5, -2.0], np.float64)
    for values in (x, x.astype(np.float32), np.array([-3, 0, 4])):
        assert_like_numpy(dnp.sign(values), np.sign(values))
        assert_like_numpy(dt.jit(np.sign)(values), np.sign(values))
    assert np.signbit(dnp.sign(-0.0)) == np.signbit(np.sign(-0.0))
    assert not REGISTRY["sign"].differentiable
    np.testing.assert_array_equal(dt.grad(lambda v: dnp.sum(dnp.sign(v) * 2))(x[3:]), np.zeros(3))
    np.testing.assert_array_equal(dt.jvp(dnp.sign, (x[3:],), (np.ones(3),))[1], np.zeros(3))


def test_xlogy_and_xlog1py_at_zero():
    """0 where x == 0, whatever y is (but NaN), with finite derivatives there: 0 with respect to x and y."""
    x, y = np.array([0.0, 0.0, 0.0, 0.0, 2.0]), np.array([0.0, -1.0, 3.0, np.nan, 3.0])
    with quiet():
        for values in (SPECIAL.xlogy(x, y), SPECIAL.xlog1py(x, y - 1)):
            np.testing.assert_allclose(values, [0.0, 0.0, 0.0, np.nan, 2 * math.log(3)], rtol=1e-15)
    a, b, ones = x[:3], y[:3], np.ones(3)
    for fn in (SPECIAL.xlogy, lambda u, v: SPECIAL.xlog1py(u, v - 1)):
        gradients = [*dt.grad(lambda u, v, f=fn: dnp.sum(f(u, v)), argnums=(0, 1))(a, b),
                     dt.jvp(lambda u, f=fn: f(u, b), (a,), (ones,))[1],
                     dt.jvp(lambda v, f=fn: f(a, v), (b,), (ones,))[1]]
        for g in gradients:
            np.testing.assert_array_equal(g, np.zeros(3))
    assert SPECIAL.xlogy(np.float32(2), np.float32(3)).dtype == np.float32


def test_logit_edges_and_inverse():
    with quiet():
        np.testing.assert_array_equal(SPECIAL.logit(np.array([0.0, 1.0, -0.5, 1.5])), [-np.inf, np.inf, np.nan, np.nan])
    p = np.linspace(0.01, 0.99, 9)
    assert_relative(SPECIAL.expit(SPECIAL.logit(p)), p, rtol=1e-15)
    assert_relative(dt.grad(lambda v: dnp.sum(SPECIAL.logit(v)))(p), 1 / (p * (1 - p)))


def test_logsumexp_with_weights_and_sign():
    a, b = np.array([[1.0, 2.0, 3.0], [0.5, 2.0, 0.5]]), np.array([1.0, -1.0, 0.5])  # (the second sum < 0)
    total = np.sum(b * np.exp(a), axis=1)
    out, sign = SPECIAL.logsumexp(a, axis=1, b=b, return_sign=True)
    assert_relative(out, np.log(np.abs(total)))
    np.testing.assert_array_equal(sign, np.sign(total))
    with quiet():
        plain = SPECIAL.logsumexp(a, axis=1, b=b)
    assert np.isnan(plain[1]) and np.isclose(plain[0], np.log(total[0]))
    assert_relative(SPECIAL.logsumexp(a), np.log(np.sum(np.exp(a))))
    kept = SPECIAL.logsumexp(a, b=np.abs(b), keepdims=True)
    assert kept.shape == (1, 1) and np.isclose(kept[0, 0], np.log(np.sum(np.abs(b) * np.exp(a))))
    assert_relative(SPECIAL.logsumexp(np.array([1e4, 1e4]), b=np.array([1.0, 1.0])), 1e4 + math.log(2))
    grad_b = dt.grad(lambda w: SPECIAL.logsumexp(a[0], b=w))(np.abs(b))
    assert_relative(grad_b, np.exp(a[0]) / np.sum(np.abs(b) * np.exp(a[0])))


def test_softmax_defaults_to_every_element_as_scipy():
    x = np.arange(6.0).reshape(2, 3)
    assert_relative(SPECIAL.softmax(x), np.exp(x) / np.exp(x).sum())
    assert_relative(SPECIAL.log_softmax(x, axis=0), x - np.log(np.exp(x).sum(0)))


# ---- the two-operand ufuncs' derivatives where a formula needs care ------------------------------------------
def _grads(fn, x, y):
    return dt.grad(lambda a, b: dnp.sum(fn(a, b)), argnums=(0, 1))(x, y)


def test_fmax_and_fmin_give_the_gradient_to_the_operand_chosen_never_a_nan():
    x, y = np.array([np.nan, 1.0, 3.0, np.nan, 2.0]), np.array([1.0, np.nan, 2.0, np.nan, 2.0])
    for fn in (dnp.fmax, dnp.fmin):
        gx, gy = _grads(fn, x, y)
        np.testing.assert_array_equal(gx[:4], [0.0, 1.0, fn is dnp.fmax, 0.0])
        np.testing.assert_array_equal(gy[:4], [1.0, 0.0, fn is dnp.fmin, 0.0])
        assert gx[4] == gy[4] == 0.5  # (a tie splits evenly, as maximum's)


def test_copysign_hypot_logaddexp_and_heaviside_gradients():
    x, y = np.array([2.0, -2.0, 0.0, 3.0]), np.array([-1.0, -1.0, 5.0, 4.0])
    gx, gy = _grads(dnp.copysign, x, y)
    np.testing.assert_array_equal(gx, [-1.0, 1.0, 0.0, 1.0])  # (0 at x == 0, as abs's derivative)
    np.testing.assert_array_equal(gy, np.zeros(4))
    gx, gy = _grads(dnp.hypot, np.array([0.0, 3.0]), np.array([0.0, 4.0]))
    np.testing.assert_array_equal(gx, [0.0, 0.6])
    np.testing.assert_array_equal(gy, [0.0, 0.8])
    for fn, scale in ((dnp.logaddexp, 1.0), (dnp.logaddexp2, math.log(2))):
        gx, gy = _grads(fn, np.array([np.inf, -np.inf, 0.0]), np.array([0.0, 1.0, 0.0]))
        np.testing.assert_array_equal(gx, [1.0, 0.0, 0.5])
        np.testing.assert_array_equal(gy, [0.0, 1.0, 0.5])
        assert_relative(_grads(fn, np.array([1.0]), np.array([0.0]))[0], [1 / (1 + math.exp(-scale))])
    gx, gy = _grads(dnp.heaviside, x, y)
    np.testing.assert_array_equal(gx, np.zeros(4))
    np.testing.assert_array_equal(gy, np.zeros(4))
    assert not REGISTRY["heaviside"].differentiable


# ---- NumPy's ufuncs on traced values --------------------------------------------------------------------------
def _ufunc_operands(ufunc):
    name = ufunc.__name__
    if name.startswith(("logical_", "bitwise_")):
        return [np.array([True, False, True]), np.array([False, False, True])][: ufunc.nin]
    if name == "invert":
        return [np.array([1, 2, -3], np.int32)]
    x = np.array([1.2, 1.5, 3.0]) if name == "arccosh" else np.array([0.2, -0.5, 0.8])
    return [x, np.array([0.3, 0.6, -0.7])][: ufunc.nin]


def _every_ufunc():
    from dualtape.numpy.protocols import _UFUNCS

    return sorted(_UFUNCS, key=lambda u: u.__name__)


@pytest.mark.parametrize("ufunc", _every_ufunc(), ids=lambda u: u.__name__)
def test_every_numpy_ufunc_runs_on_traced_values(ufunc):
    """Each row's ufunc face and each composition NumPy's ufunc dispatches to (np.square, np.radians, ...):
    np.X on traced values records equations (but for identities: np.positive, np.conjugate of reals) and gives
    np.X's values and dtype."""
    args = _ufunc_operands(ufunc)
    with quiet():
        program = dt.trace(lambda *a: ufunc(*a))(*args)
        assert program.eqns or ufunc in (np.positive, np.conjugate), f"np.{ufunc.__name__} recorded nothing"
        assert_like_numpy(dt.jit(lambda *a: ufunc(*a))(*args), ufunc(*args), f"np.{ufunc.__name__}")


def test_the_new_ufuncs_and_functions_are_reached_by_numpys_names():
    names = ["arcsinh", "arccosh", "arctanh", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "cbrt", "copysign",
             "heaviside", "fabs", "deg2rad", "rad2deg", "degrees", "radians", "sign", "sin", "exp2", "expm1", "log2"]
    reached = {u.__name__ for u in _every_ufunc()}
    assert set(names) <= reached, sorted(set(names) - reached)
    x = np.array([0.2, -0.5, 0.8])
    assert_like_numpy(dt.jit(np.sinc)(x), np.sinc(x))  # (np.sinc is a function: __array_function__)
    assert "sinc" in str(dt.trace(np.sinc)(x))


# ---- the namespace ---------------------------------------------------------------------------------------------
def test_special_namespace_errors():
    with pytest.raises(UnsupportedError, match="dnp.special.gammaln"):
        SPECIAL.gamma  # noqa: B018  (the nearest name is suggested)
    assert not hasattr(SPECIAL, "kv") and hasattr(SPECIAL, "expit")
    with pytest.raises(ValueError, match="polygamma.*>= 0"):
        SPECIAL.polygamma(-1, 1.0)
    with pytest.raises(TypeError, match="polygamma.*Python int"):
        SPECIAL.polygamma(1.5, 1.0)
    with pytest.raises(TypeError):
        dt.jit(lambda n, x: SPECIAL.polygamma(n, x))(np.int64(1), 1.0)  # (a traced order)
    assert_relative(SPECIAL.polygamma(np.int64(0), 1.0), -EULER)


# ---- the GPU helpers, on stand-ins for cupy and cupyx.scipy.special ------------------------------------------------
def _stand_in_cupyx(monkeypatch, scipy_special):
    """cupyx.scipy.special for fake_cupy's device arrays: SciPy's values, and CuPy's float64 polygamma (whose
    order must be a device array, as cupy.broadcast_arrays needs)."""
    from fake_cupy import DeviceArray

    def on_device(fn):
        return lambda *args: np.asarray(fn(*[np.asarray(a.view(np.ndarray)) for a in args])).view(DeviceArray)

    def polygamma(n, x):
        assert isinstance(n, DeviceArray) and isinstance(x, DeviceArray), "CuPy's polygamma takes device arrays"
        return on_device(lambda k, v: scipy_special.polygamma(k, v.astype(np.float64)))(n, x)

    special = types.ModuleType("cupyx.scipy.special")
    for name in ("erf", "erfc", "gammaln", "digamma"):
        setattr(special, name, on_device(getattr(scipy_special, name)))
    special.polygamma = polygamma
    package, scipy_package = types.ModuleType("cupyx"), types.ModuleType("cupyx.scipy")
    package.scipy, scipy_package.special = scipy_package, special
    for name, module in (("cupyx", package), ("cupyx.scipy", scipy_package), ("cupyx.scipy.special", special)):
        monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_rows_compile_for_the_device(monkeypatch, dtype):
    import fake_cupy

    scipy_special = pytest.importorskip("scipy.special")
    x = np.linspace(0.3, 4.0, 6).astype(dtype)
    functions = [SPECIAL.erf, SPECIAL.erfc, SPECIAL.gammaln, SPECIAL.digamma, lambda v: SPECIAL.polygamma(2, v),
                 lambda v: dnp.sum(SPECIAL.gammaln(v) * SPECIAL.erfc(v))]
    expected = [dt.jit(f)(x) for f in functions] + [dt.grad(functions[-1])(x)]
    fake_cupy.install(monkeypatch)
    _stand_in_cupyx(monkeypatch, scipy_special)
    got = [dt.jit(f, backend="cupy", to_host=True)(x) for f in functions]
    got.append(dt.grad(functions[-1], backend="cupy", to_host=True)(x))
    for g, e in zip(got, expected):
        assert np.asarray(g).dtype == np.asarray(e).dtype == dtype
        np.testing.assert_allclose(g, e, rtol=2e-6 if dtype == np.float32 else 1e-13)


# ---- eager tensors ---------------------------------------------------------------------------------------------
METHODS = {  # Tensor method -> its second operand's value, or None for a method of one operand
    "asinh": None, "acosh": None, "atanh": None, "sinc": None, "deg2rad": None, "rad2deg": None, "erfc": None,
    "lgamma": None, "digamma": None, "hypot": 0.7, "logaddexp": 0.7, "logaddexp2": 0.7, "fmax": 0.7, "fmin": 0.7,
    "copysign": -0.7,
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_tensor_methods_match_pytorch(method):
    torch = torch_or_skip()
    x = np.array([1.3, 0.4, 0.9]) if method != "acosh" else np.array([1.3, 2.4, 1.9])
    x = x * 0.5 if method == "atanh" else x
    other = METHODS[method]
    ours, theirs = dt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args = () if other is None else (np.full(3, other),)
    out = getattr(ours, method)(*[dt.tensor(a) for a in args])
    ref = getattr(theirs, method)(*[torch.tensor(a) for a in args])
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    assert out.grad_fn.name() == ref.grad_fn.name()
    out.sum().backward()
    ref.sum().backward()
    loose = method == "digamma"  # (PyTorch's trigamma is accurate to about 1e-9; ours to 1e-15, see above)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-8 if loose else 1e-12)
