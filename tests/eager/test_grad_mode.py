"""Grad modes: no_grad, enable_grad, set_grad_enabled and inference_mode, as context managers and as
decorators, nested, and restoring the previous mode even when the body raises."""

import pytest

import dualtape as dt


def records():
    """Whether an op on a tensor requiring grad is recorded right now."""
    return (dt.tensor([1.0], requires_grad=True) * 2).requires_grad


@pytest.fixture(autouse=True)
def grad_mode_restored():
    assert dt.is_grad_enabled()
    yield
    assert dt.is_grad_enabled(), "a test left grad mode off"


def test_no_grad_context():
    x = dt.tensor([1.0], requires_grad=True)
    with dt.no_grad():
        assert not dt.is_grad_enabled()
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert records()


def test_no_grad_decorator():
    @dt.no_grad()
    def doubled(t):
        assert not dt.is_grad_enabled()
        return t * 2

    assert doubled.__name__ == "doubled"
    assert not doubled(dt.tensor([1.0], requires_grad=True)).requires_grad
    assert records()


def test_enable_grad_inside_no_grad():
    with dt.no_grad():
        with dt.enable_grad():
            assert records()
        assert not records()

        @dt.enable_grad()
        def inner():
            return records()

        assert inner()
        assert not records()


def test_set_grad_enabled_context_and_function():
    with dt.set_grad_enabled(False):
        assert not records()
        with dt.set_grad_enabled(True):
            assert records()
        assert not records()
    assert records()
    dt.set_grad_enabled(False)  # as a plain call it takes effect at once (as in PyTorch)
    try:
        assert not dt.is_grad_enabled() and not records()
    finally:
        dt.set_grad_enabled(True)


def test_set_grad_enabled_decorator():
    @dt.set_grad_enabled(False)
    def off():
        return records()

    assert dt.is_grad_enabled()  # decorating changes nothing by itself
    assert not off()
    assert dt.is_grad_enabled()


def test_inference_mode():
    with dt.inference_mode():
        assert not records()
    with dt.inference_mode(False):
        assert records()

    @dt.inference_mode()
    def infer():
        return records()

    assert not infer() and records()

    @dt.inference_mode(False)
    def not_inference():
        return records()

    with dt.no_grad():
        assert not_inference()  # as PyTorch: inference_mode(False) turns grad mode on
        assert not records()
    assert not_inference()


def test_modes_restore_after_an_exception():
    for mode in (dt.no_grad, dt.inference_mode, lambda: dt.set_grad_enabled(False)):
        with pytest.raises(ValueError):
            with mode():
                raise ValueError("boom")
        assert dt.is_grad_enabled()

    @dt.no_grad()
    def failing():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        failing()
    assert dt.is_grad_enabled()


def test_a_decorated_function_can_be_reentered():
    @dt.no_grad()
    def countdown(n):
        assert not dt.is_grad_enabled()
        return 0 if n == 0 else countdown(n - 1) + 1

    assert countdown(3) == 3 and dt.is_grad_enabled()


def test_backward_runs_whatever_the_mode():
    """The mode decides what is recorded, not whether a recorded graph can be differentiated."""
    x = dt.tensor(2.0, requires_grad=True)
    y = x ** 2
    with dt.no_grad():
        y.backward()
    assert x.grad.item() == 4.0
