"""Tensors print as PyTorch prints them, character for character (with `dualtape.` for `torch.` in dtype names):
checked against torch's own str() on hypothesis-drawn arrays and print options where torch is installed, and
against PyTorch's text written out here where it is not."""

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt
import fake_cupy

SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-5, 1e-9, 1e8, 1e9, 123456.5, 0.1, 2.0, -3.0, 1000.0]
DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.uint8, np.bool_, np.complex64]
OPTIONS = st.fixed_dictionaries({}, optional={
    "precision": st.integers(0, 6), "threshold": st.integers(1, 60), "edgeitems": st.integers(0, 4),
    "linewidth": st.integers(20, 100), "sci_mode": st.sampled_from([True, False]),
    "profile": st.sampled_from(["default", "short", "full"])})


def _elements(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(info.min, -10**6), min(info.max, 10**6))
    width = 16 if dtype == np.float16 else 32
    magnitudes = st.builds(lambda m, e: m * 10.0 ** e, st.floats(-9.99, 9.99), st.integers(-7, 9 if width == 32 else 4))
    real = st.one_of(st.sampled_from(SPECIAL), st.integers(-50, 50).map(float), magnitudes).map(
        lambda v: _rounded(v, np.float16 if width == 16 else np.float32))
    return st.builds(complex, real, real) if dtype.kind == "c" else real


def _rounded(value: float, dtype) -> float:
    """value as the nearest number of dtype (inf past its range)."""
    with np.errstate(over="ignore"):
        return float(np.array(value, dtype))


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))


@contextlib.contextmanager
def both_printing(torch, options):
    """The same print options in torch and dualtape, each put back to its defaults after."""
    torch.set_printoptions(**options)
    dt.set_printoptions(**options)
    try:
        yield
    finally:
        torch.set_printoptions(profile="default")
        dt.set_printoptions(profile="default")


def as_torch(text: str) -> str:
    return text.replace("dualtape.", "torch.")


@settings(max_examples=100, deadline=None)
@given(arrays(), OPTIONS)
def test_tensors_print_as_torch_prints_them(values, options):
    torch = pytest.importorskip("torch")
    with both_printing(torch, options):
        expected = str(torch.from_numpy(values.copy()))
        assert as_torch(str(dt.from_numpy(values.copy()))) == expected
        assert as_torch(repr(dt.tensor(values))) == repr(torch.tensor(values))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(min_dims=0, max_dims=2, max_side=40),
                  elements=st.floats(-100, 100, width=32)), st.integers(20, 100))
def test_autograd_suffixes_print_and_wrap_as_torchs(values, linewidth):
    torch = pytest.importorskip("torch")
    with both_printing(torch, {"linewidth": linewidth}):
        leaf, theirs = dt.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        assert as_torch(str(leaf)) == str(theirs)
        assert as_torch(str(leaf * 2)) == str(theirs * 2)
        assert as_torch(str(-(leaf + 1))) == str(-(theirs + 1))  # (exact in both: the values agree)


def test_bfloat16_prints_as_torchs():
    torch = pytest.importorskip("torch")
    bfloat16 = pytest.importorskip("ml_dtypes").bfloat16
    values = [1.5, -2.25, 1e-3, 300.0]
    assert as_torch(str(dt.tensor(np.array(values, bfloat16)))) == str(torch.tensor(values, dtype=torch.bfloat16))


# ---- PyTorch's text, written out (checked without torch) ----------------------------------------------------
@pytest.mark.parametrize("make, text", [
    (lambda: dt.tensor(25.5), "tensor(25.5000)"),
    (lambda: dt.tensor([True, True]), "tensor([True, True])"),
    (lambda: dt.tensor([True, False]), "tensor([ True, False])"),
    (lambda: dt.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: dt.tensor([1, -20, 300]), "tensor([  1, -20, 300])"),
    (lambda: dt.tensor([0.0, -0.0]), "tensor([0., -0.])"),
    (lambda: dt.tensor([1e-5, 1.0, 1e3]), "tensor([1.0000e-05, 1.0000e+00, 1.0000e+03])"),
    (lambda: dt.tensor([np.nan, 1.5, np.inf]), "tensor([   nan, 1.5000,    inf])"),
    (lambda: dt.tensor([1.0, 2.5], dtype=dt.float64), "tensor([1.0000, 2.5000], dtype=dualtape.float64)"),
    (lambda: dt.tensor([1, 2], dtype=dt.int32), "tensor([1, 2], dtype=dualtape.int32)"),
    (lambda: dt.tensor([1 + 2j, -3.5]), "tensor([ 1.0000+2.j, -3.5000+0.j])"),
    (lambda: dt.zeros(0), "tensor([])"),
    (lambda: dt.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: dt.zeros(0, dtype=dt.int64), "tensor([], dtype=dualtape.int64)"),
    (lambda: dt.arange(6).reshape(2, 3), "tensor([[0, 1, 2],\n        [3, 4, 5]])"),
    (lambda: dt.arange(8).reshape(2, 2, 2),
     "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])"),
    (lambda: dt.arange(2000), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    (lambda: dt.ones(2, requires_grad=True), "tensor([1., 1.], requires_grad=True)"),
    (lambda: dt.ones(2, requires_grad=True) * 3, "tensor([3., 3.], grad_fn=<MulBackward0>)"),
])
def test_known_texts(make, text):
    assert str(make()) == repr(make()) == text


def test_summaries_rows_and_columns():
    expected = ("tensor([[   0,    1,    2,  ...,   47,   48,   49],\n"
                "        [  50,   51,   52,  ...,   97,   98,   99],\n"
                "        [ 100,  101,  102,  ...,  147,  148,  149],\n"
                "        ...,\n"
                "        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n"
                "        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n"
                "        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])")
    assert str(dt.arange(2000).reshape(40, 50)) == expected


def test_a_long_vector_wraps_at_the_line_width_and_the_suffixes_after_it():
    text = str(dt.ones(30, dtype=dt.float64, requires_grad=True) * 2)
    assert text == ("tensor([2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2.,\n"
                    "        2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2.], dtype=dualtape.float64,\n"
                    "       grad_fn=<MulBackward0>)")


def test_set_printoptions_and_profiles():
    try:
        dt.set_printoptions(precision=2)
        assert str(dt.tensor([1.12345])) == "tensor([1.12])"
        dt.set_printoptions(threshold=5)
        assert str(dt.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
        dt.set_printoptions(sci_mode=True)
        assert str(dt.tensor([1.5])) == "tensor([1.50e+00])"
        dt.set_printoptions(profile="default")
        assert str(dt.tensor([1.12345])) == "tensor([1.1235])" and str(dt.arange(10)).count(",") == 9
        with dt.printoptions(edgeitems=1, threshold=2):
            assert str(dt.arange(5)) == "tensor([0,  ..., 4])"
        assert dt.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                                         "sci_mode": None}
        with pytest.raises(ValueError, match="profile"):
            dt.set_printoptions(profile="long")
    finally:
        dt.set_printoptions(profile="default")


def test_f_strings_format_a_0d_tensors_value():
    loss = dt.tensor(0.123456)
    assert f"{loss:.3f}" == "0.123" and f"{loss}" == str(loss.item()) and f"{dt.ones(1)}" == "tensor([1.])"


def test_device_and_traced_suffixes(monkeypatch):
    fake_cupy.install(monkeypatch)
    assert str(dt.zeros(2, device="cuda")) == "tensor([0., 0.], device='cuda:0')"
    seen = []
    dt.compile(lambda t: seen.append(repr(t)) or t * 2)(dt.ones(2, dtype=dt.float64))
    assert seen[0].startswith("tensor(<traced") and seen[0].endswith(", dtype=dualtape.float64)")
