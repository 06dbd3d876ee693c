"""where(c, x, 0) and where(c, 0, y) on float arrays run as a bitwise AND with the mask (no branch per element):
the same bits as np.where, NaN payloads, infinities and signed zeros included, and np.where itself elsewhere."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dualtape.ops.elementwise import _where_impl

DTYPES = [np.float32, np.float64, np.float16, np.int32, np.complex64]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_masked_choice_has_np_wheres_bits(data):
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5), label="shape")
    values = data.draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(np.dtype(dtype), allow_nan=True)
                                  if np.dtype(dtype).kind == "f" else None), label="values")
    c = data.draw(hnp.arrays(np.bool_, data.draw(st.sampled_from([shape, shape[1:]]), label="c shape")), label="c")
    zero = data.draw(st.sampled_from([0, 0.0]), label="zero")
    for x, y in ((values, zero), (zero, values)):
        got, want = _where_impl(c, x, y), np.where(c, x, y)
        assert got.dtype == want.dtype and got.shape == want.shape
        bits = lambda a: np.ascontiguousarray(a).reshape(-1).view(np.uint8)
        np.testing.assert_array_equal(bits(got), bits(want))


def test_other_choices_are_np_wheres():
    c = np.array([True, False])
    np.testing.assert_array_equal(_where_impl(c, np.ones(2), 2.0), [1.0, 2.0])
    np.testing.assert_array_equal(_where_impl(c, np.ones(2), np.zeros(2)), [1.0, 0.0])
