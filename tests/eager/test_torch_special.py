"""dt.special against torch.special: values, gradients and node names on tensors; on traced values, derivatives
against finite differences; a name it lacks raises UnsupportedError."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.errors import UnsupportedError
from gradcheck import check_grads
from strategies import Domain, arrays, shapes

RNG = np.random.default_rng(0)
UNIT = RNG.uniform(0.05, 0.95, (3, 4))  # (inside every function's domain: logit's (0, 1), entr's x >= 0)
OTHER = RNG.uniform(0.1, 2.0, (3, 4))

# name: (positional arguments after the tensor, keywords, a second tensor operand)
CASES = {
    "erf": ((), {}, False), "erfc": ((), {}, False), "expit": ((), {}, False), "gammaln": ((), {}, False),
    "digamma": ((), {}, False), "psi": ((), {}, False), "sinc": ((), {}, False), "exp2": ((), {}, False),
    "expm1": ((), {}, False), "log1p": ((), {}, False), "ndtr": ((), {}, False), "entr": ((), {}, False),
    "logit": ((), {}, False), "logit eps": ((), {"eps": 0.2}, False),
    "logsumexp": ((1,), {}, False), "logsumexp keepdim": (((0, 1),), {"keepdim": True}, False),
    "softmax": ((0,), {}, False), "log_softmax": ((1,), {}, False),
    "xlogy": ((), {}, True), "xlog1py": ((), {}, True), "multigammaln": ((2,), {}, False),
}


def _call(module, name, x, other):
    args, kwargs, binary = CASES[name]
    fn = getattr(module, name.split()[0])
    return fn(x, other, *args, **kwargs) if binary else fn(x, *args, **kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_special(name):
    torch = pytest.importorskip("torch")
    x = UNIT + 1.0 if name == "multigammaln" else UNIT  # (multigammaln of p = 2 needs x > 1/2)
    t, tt = dt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = _call(dt.special, name, t, dt.tensor(OTHER)), _call(torch.special, name, tt, torch.tensor(OTHER))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = RNG.uniform(-1, 1, yt.shape)
    (y * dt.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-12)
    if not name.startswith(("ndtr", "multigammaln")):  # (torch writes those two as compositions of its own)
        assert y.grad_fn.name() == yt.grad_fn.name()


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_derivatives_on_traced_values_match_finite_differences(name, data):
    shape = data.draw(shapes(min_dims=2, max_dims=2, min_side=1, max_side=3), label="shape")
    lo, hi = {"multigammaln": (0.6, 1.5), "logit eps": (0.25, 0.75)}.get(name, (0.05, 0.95))  # (eps = 0.2: no kink)
    x = data.draw(arrays(np.float64, shape, Domain(lo, hi)), label="x")
    other = data.draw(arrays(np.float64, shape, Domain(0.1, 2.0)), label="other")
    check_grads(lambda x, o: _call(dt.special, name, x, o), (x, other), order=2, modes=("fwd", "rev"))


def test_logit_eps_clamps_and_stops_the_gradient_outside():
    p = dt.tensor(np.array([0.0, 0.1, 0.5, 1.0]), requires_grad=True)
    y = dt.special.logit(p, eps=0.2)
    np.testing.assert_allclose(y.detach().numpy(), dnp.special.logit(np.array([0.2, 0.2, 0.5, 0.8])))
    y.sum().backward()
    assert p.grad.numpy()[0] == p.grad.numpy()[1] == p.grad.numpy()[3] == 0.0


def test_functions_take_arrays_and_give_arrays():
    assert type(dt.special.ndtr(np.zeros(2))) is np.ndarray
    np.testing.assert_allclose(dt.special.ndtr(np.zeros(2)), [0.5, 0.5])
    np.testing.assert_allclose(dt.special.entr(np.array([-1.0, 0.0, 0.5])), [-np.inf, 0.0, 0.5 * np.log(2)])


def test_a_missing_name_is_unsupported_and_names_the_namespace():
    with pytest.raises(UnsupportedError, match=r"dt\.special\.bessel_j0"):
        dt.special.bessel_j0  # noqa: B018
    assert not hasattr(dt.special, "zeta")  # (an AttributeError too, so hasattr works)
    with pytest.raises(ValueError, match="positive integer"):
        dt.special.multigammaln(np.ones(2), 0)
