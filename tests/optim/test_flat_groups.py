"""Adam updates a group at once (foreach-style) over flat state buffers, each parameter's state a view of its
slice; whenever that cannot hold (a parameter without a gradient, state loaded from a dict, mixed dtypes) it
updates parameter by parameter, with the same bits either way."""

import numpy as np
import pytest

import dualtape as dt
from dualtape import optim

SHAPES = [(3, 4), (4,), (2, 3)]


def _model(dtypes=(np.float64,) * 3, seed=0):
    rng = np.random.default_rng(seed)
    return [dt.tensor(rng.standard_normal(s).astype(d), requires_grad=True) for s, d in zip(SHAPES, dtypes)]


def _loss(params, skip=()):
    total = None
    for i, p in enumerate(params):
        if i not in skip:
            term = (dt.tanh(p) ** 2).sum() * (i + 1)
            total = term if total is None else total + term.to(total.dtype)
    return total


def _run(params, steps, flat: bool, skip_at=None, reload_at=None):
    opt = optim.Adam(params, lr=0.1, weight_decay=0.01)
    if not flat:
        opt._update_group = lambda group: False
    for k in range(steps):
        opt.zero_grad()
        _loss(params, skip=(1,) if k == skip_at else ()).backward()
        opt.step()
        if k == reload_at:
            opt.load_state_dict(opt.state_dict())
    return opt


def _values(params, opt):
    return [p.detach().numpy().copy() for p in params] + [
        t.numpy().copy() for p in params for t in opt.state[p].values()]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_a_group_is_updated_over_flat_buffers_with_the_per_parameter_bits():
    flat_params, ref_params = _model(), _model()
    opt = _run(flat_params, 5, flat=True)
    ref = _run(ref_params, 5, flat=False)
    bases = {id(opt.state[p][kind]._array.base) for p in flat_params for kind in ("exp_avg",)}
    assert len(bases) == 1  # (one buffer holds every parameter's exp_avg)
    _same(_values(flat_params, opt), _values(ref_params, ref))
    assert float(opt.state[flat_params[0]]["step"]) == 5.0


@pytest.mark.parametrize("case", ["skip", "reload"])
def test_when_the_group_cannot_go_flat_each_parameter_goes_alone_with_the_same_bits(case):
    kwargs = {"skip_at": 2} if case == "skip" else {"reload_at": 1}
    flat_params, ref_params = _model(), _model()
    opt = _run(flat_params, 5, flat=True, **kwargs)
    ref = _run(ref_params, 5, flat=False, **kwargs)
    _same(_values(flat_params, opt), _values(ref_params, ref))


def test_mixed_dtypes_go_parameter_by_parameter():
    dtypes = (np.float32, np.float64, np.float32)
    flat_params, ref_params = _model(dtypes), _model(dtypes)
    opt = _run(flat_params, 3, flat=True)
    ref = _run(ref_params, 3, flat=False)
    _same(_values(flat_params, opt), _values(ref_params, ref))


def test_a_flat_step_advances_versions_so_a_stale_graph_refuses_to_backward():
    params = _model()
    opt = optim.Adam(params, lr=0.1)
    _loss(params).backward()
    stale = (params[0] * params[0]).sum()  # (saves params[0])
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        stale.backward()


def test_a_large_group_goes_parameter_by_parameter():
    from dualtape.optim.flat import FLAT_BYTES

    params = [dt.tensor(np.ones(FLAT_BYTES // 8), requires_grad=True), dt.tensor(np.ones(3), requires_grad=True)]
    opt = optim.Adam(params, lr=0.1)
    (params[0].sum() + params[1].sum()).backward()
    opt.step()
    assert opt.state[params[0]]["exp_avg"]._array.base is None  # (its own array, not a flat buffer's slice)
