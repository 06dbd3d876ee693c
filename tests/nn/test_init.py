"""nn.init: in-place fills from the eager generator (reproducible under dt.manual_seed), the bounds and moments
of each distribution, PyTorch's gains and fans, and the errors for tensors without fans."""

import math

import numpy as np
import pytest

import dualtape as dt
from dualtape.nn import init


def test_fills_are_in_place_reproducible_and_keep_the_dtype():
    t = dt.zeros(50, 40)
    dt.manual_seed(3)
    assert init.uniform_(t, -2.0, 3.0) is t
    first = t.numpy().copy()
    assert t.dtype == np.float32 and first.min() >= -2.0 and first.max() <= 3.0 and first.std() > 1.0
    dt.manual_seed(3)
    init.uniform_(t, -2.0, 3.0)
    np.testing.assert_array_equal(t.numpy(), first)
    init.uniform_(t, -2.0, 3.0)
    assert not np.array_equal(t.numpy(), first)


def test_normal_moments_and_constant_fills():
    dt.manual_seed(0)
    t = init.normal_(dt.zeros(200, 100, dtype=np.float64), mean=1.5, std=0.5)
    assert t.numpy().mean() == pytest.approx(1.5, abs=0.01) and t.numpy().std() == pytest.approx(0.5, rel=0.02)
    assert init.zeros_(t) is t and not t.numpy().any()
    assert (init.ones_(t).numpy() == 1).all() and (init.constant_(t, 0.25).numpy() == 0.25).all()


def test_fills_work_on_parameters_without_recording():
    p = dt.nn.Parameter(dt.zeros(3, 4))
    assert init.xavier_uniform_(p) is p
    assert p.grad_fn is None and p.requires_grad and p.detach().numpy().any()
    init.normal_(p)
    assert p.grad_fn is None and p._version[0] == 2


@pytest.mark.parametrize("fan_out, fan_in", [(300, 50), (64, 400)])
def test_kaiming_and_xavier_bounds(fan_out, fan_in):
    dt.manual_seed(1)
    w = dt.zeros(fan_out, fan_in)
    for fill, bound in [
        (lambda: init.kaiming_uniform_(w), math.sqrt(6 / fan_in)),  # a=0: leaky_relu's gain is relu's, sqrt(2)
        (lambda: init.kaiming_uniform_(w, a=math.sqrt(5)), 1 / math.sqrt(fan_in)),
        (lambda: init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"), math.sqrt(6 / fan_out)),
        (lambda: init.xavier_uniform_(w, gain=2.0), 2.0 * math.sqrt(6 / (fan_in + fan_out))),
    ]:
        values = fill().numpy()
        assert np.abs(values).max() <= bound * (1 + 1e-6) and np.abs(values).max() > 0.95 * bound
        assert values.var() == pytest.approx(bound ** 2 / 3, rel=0.05)  # the variance of U(-b, b)


def test_gains_and_fans():
    assert init.calculate_gain("tanh") == 5 / 3 and init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04) and init.calculate_gain("sigmoid") == 1
    assert init._calculate_fan_in_and_fan_out(dt.zeros(5, 3, 2, 2)) == (12, 20)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(dt.zeros(4))
    with pytest.raises(ValueError, match="Unsupported nonlinearity softsign"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(dt.zeros(2, 2), mode="fan_avg")
