"""What dualtape lacks fails clearly (SPEC §3): `dnp.X`, `dnp.linalg.X` and `np.X` on traced values raise
UnsupportedError (a NotImplementedError) naming the function, the user's line and the nearest alternative."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp


def _message(fn) -> tuple[type, str]:
    with pytest.raises(dt.UnsupportedError) as info:
        fn()
    return info.type, str(info.value)


def test_a_missing_dnp_name_names_itself_and_the_nearest_function():
    kind, message = _message(lambda: dnp.meen)
    assert issubclass(kind, NotImplementedError) and issubclass(kind, AttributeError)
    assert "dnp.meen is not supported" in message and "fix: use dnp.mean" in message
    assert "test_unsupported.py" in message  # the user's line
    assert not hasattr(dnp, "meen") and getattr(dnp.linalg, "lu", None) is None  # probing still works


def test_a_missing_linalg_name_and_one_with_no_near_spelling():
    _, message = _message(lambda: dnp.linalg.matrix_exponential_of_everything)
    assert "dnp.linalg.matrix_exponential_of_everything is not supported" in message and "docs/dnp.md" in message


def test_numpy_functions_on_traced_values_name_the_numpy_function():
    _, message = _message(lambda: dt.jit(lambda v: np.histogram(v))(np.ones(4)))
    assert message.startswith("numpy.histogram on traced values is not supported") and "outside" in message
    _, message = _message(lambda: dt.grad(lambda v: np.convolve(v, v).sum())(np.ones(4)))
    assert "numpy.convolve on traced values" in message


def test_an_unconvertible_construct_is_an_unsupported_error():
    def early_exit(v):
        if v.sum() > 0:
            return v
        return -v

    _, message = _message(lambda: dt.grad(lambda v: dnp.sum(early_exit(v)))(np.ones(3)))
    assert "`return` inside an if depends on a traced value" in message and "fix:" in message
