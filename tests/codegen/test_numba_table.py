"""The per-primitive table under backend="numba" (skipped without Numba): every primitive's value, JVP and VJP,
compiled by Numba as one program per primitive (statements without a Numba lowering in object mode), agree with
the NumPy backend in shape, dtype and value, float64 and float32; the primitives without a derivative layout
on their fixed examples over several dtypes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

import dualtape as dt  # noqa: E402
from primitive_cases import DIFFERENTIABLE, EXAMPLES, draw_case  # noqa: E402
from testkit import GPU_FLOAT32  # noqa: E402

ONE = settings(max_examples=1, deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True, scope="module")
def numba_cache(tmp_path_factory):
    """Generated modules and Numba's cache in a fresh folder, for this module's tests."""
    folder = tmp_path_factory.mktemp("numba-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DUALTAPE_NUMBA_CACHE", str(folder))
        yield folder


def assert_same(on_numba, on_numpy, what=""):
    numba_leaves, numpy_leaves = dt.tree.leaves(on_numba), dt.tree.leaves(on_numpy)
    assert len(numba_leaves) == len(numpy_leaves), what
    for got, want in zip(numba_leaves, numpy_leaves):
        got, want = np.asarray(got), np.asarray(want)
        assert got.shape == want.shape and got.dtype == want.dtype, f"{what}: {got.dtype}{got.shape} vs " \
                                                                    f"{want.dtype}{want.shape}"
        if want.dtype.kind in "fc":
            tolerance = GPU_FLOAT32 if want.dtype in (np.float32, np.complex64) else dict(rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got, want, **tolerance, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(got, want, err_msg=what)


def on_both(fn, *args):
    """(fn compiled by Numba, fn compiled for NumPy), on the same arguments."""
    with np.errstate(all="ignore"):
        return dt.jit(fn, backend="numba")(*args), dt.jit(fn)(*args)


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
@ONE
@given(data=st.data())
def test_value_jvp_and_vjp_match_numpy(name, data):
    case, shape_list, params, dtypes, args = draw_case(data, name)
    if dtypes is None and data.draw(st.booleans(), label="float32"):
        args = tuple(a.astype(np.float32) for a in args)
    note(f"shapes={shape_list} params={params} dtypes={[a.dtype for a in args]}")
    fn = case.call(params)
    n = len(args)
    with np.errstate(all="ignore"):
        out = np.asarray(fn(*args))
    tangents = tuple(np.linspace(-1.0, 1.0, a.size).reshape(a.shape).astype(a.dtype) for a in args)
    cotangent = np.linspace(1.0, -1.0, out.size).reshape(out.shape).astype(out.dtype)

    def all_three(*a):
        return fn(*a[:n]), dt.jvp(fn, a[:n], a[n:2 * n]), dt.vjp(fn, *a[:n])[1](a[2 * n])

    assert_same(*on_both(all_three, *args, *tangents, cotangent), f"{name} value, jvp, vjp")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_values_of_the_other_primitives_match_numpy(name):
    fn, arg_lists = EXAMPLES[name]
    for args in arg_lists:
        assert_same(*on_both(fn, *args), f"{name} on {args[0].dtype}")
