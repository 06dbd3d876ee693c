"""The per-primitive table under backend="numba" (skipped without Numba): every primitive's value, JVP and VJP,
compiled by Numba (statements without a Numba lowering in object mode), agree with the NumPy backend in shape,
dtype and value, float64 and float32; the primitives without a derivative layout on their fixed examples over
several dtypes. Numba's cost is per compiled function (about a second), so the cases of a group of primitives
are compiled as ONE program, each case's results compared on their own; every group is checked to have run
on Numba, not on the NumPy fallback."""


import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

import dualtape as dt  # noqa: E402
from dualtape.codegen.numba_lower import HELPERS  # noqa: E402
from dualtape.codegen.numba_runtime import NumbaCompiled  # noqa: E402
from primitive_cases import DIFFERENTIABLE, EXAMPLES, draw_case  # noqa: E402
from testkit import GPU_FLOAT32  # noqa: E402

ONE = settings(max_examples=1, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GROUP = 4  # primitives per compiled program (more make one long function, which LLVM takes longer over)


def groups(names, size=GROUP):
    names = sorted(names)
    return [names[k:k + size] for k in range(0, len(names), size)]


def group_id(names):
    return f"{names[0]}..{names[-1]}"


@pytest.fixture(autouse=True, scope="module")
def numba_cache(tmp_path_factory):
    """Generated modules and Numba's cache in a fresh folder, and LLVM's optimisation off (these tests check
    what the code computes, not how fast: a compile takes a third of the time). The helper kernels' on-disk
    cache is switched off meanwhile, so that no unoptimised helper is saved for later processes."""
    import numba
    from numba.core.caching import NullCache

    from dualtape.codegen import numba_kernels

    folder = tmp_path_factory.mktemp("numba-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DUALTAPE_NUMBA_CACHE", str(folder))
        patch.setattr(numba.core.config, "OPT", type(numba.core.config.OPT)(0))
        for name in HELPERS:
            patch.setattr(getattr(numba_kernels, name), "_cache", NullCache())
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
    """(fn compiled by Numba, fn compiled for NumPy), on the same arguments; Numba must have taken it."""
    on_numba = dt.jit(fn, backend="numba")
    with np.errstate(all="ignore"):
        results = on_numba(*args), dt.jit(fn)(*args)
    assert all(isinstance(e.compiled, NumbaCompiled) for e in on_numba._cache.values()), "ran on NumPy"
    return results


def together(parts):
    """One function computing every part: parts are (fn, number of flat arguments it takes)."""
    def all_parts(*flat):
        results, start = [], 0
        for fn, n in parts:
            results.append(fn(*flat[start:start + n]))
            start += n
        return tuple(results)

    return all_parts


@pytest.mark.parametrize("names", groups(DIFFERENTIABLE), ids=group_id)
@ONE
@given(data=st.data())
def test_value_jvp_and_vjp_match_numpy(names, data):
    parts, flat = [], []
    for name in names:
        case, shape_list, params, dtypes, args = draw_case(data, name)
        if dtypes is None and data.draw(st.booleans(), label=f"{name} float32"):
            args = tuple(a.astype(np.float32) for a in args)
        note(f"{name}: shapes={shape_list} params={params} dtypes={[a.dtype for a in args]}")
        fn, n = case.call(params), len(args)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*args))
        tangents = tuple(np.linspace(-1.0, 1.0, a.size).reshape(a.shape).astype(a.dtype) for a in args)
        cotangent = np.linspace(1.0, -1.0, out.size).reshape(out.shape).astype(out.dtype)

        def all_three(*a, fn=fn, n=n):
            return fn(*a[:n]), dt.jvp(fn, a[:n], a[n:2 * n]), dt.vjp(fn, *a[:n])[1](a[2 * n])

        parts.append((all_three, 2 * n + 1))
        flat += [*args, *tangents, cotangent]
    on_numba, on_numpy = on_both(together(parts), *flat)
    for name, got, want in zip(names, on_numba, on_numpy):
        assert_same(got, want, f"{name} value, jvp, vjp")


@pytest.mark.parametrize("names", groups(EXAMPLES), ids=group_id)
def test_values_of_the_other_primitives_match_numpy(names):
    labels, parts, flat = [], [], []
    for name in names:
        fn, arg_lists = EXAMPLES[name]
        for args in arg_lists:
            labels.append(f"{name} on {args[0].dtype}")
            parts.append((fn, len(args)))
            flat += args
    on_numba, on_numpy = on_both(together(parts), *flat)
    for label, got, want in zip(labels, on_numba, on_numpy):
        assert_same(got, want, label)
