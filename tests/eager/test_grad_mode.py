"""Grad modes: no_grad, enable_grad, set_grad_enabled and inference_mode, as context managers and as
decorators (with or without parentheses, on functions and generators), nested, restoring the previous mode even
when the body raises, and per thread; checked against torch where it is installed."""

import threading

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


def run_in_worker(body):
    """Runs body(inside, release) in a thread; returns (the thread, the event it sets once inside its mode,
    the event that lets it leave, the list it appends what it saw to)."""
    inside, release, seen = threading.Event(), threading.Event(), []
    worker = threading.Thread(target=body, args=(inside, release, seen), daemon=True)
    worker.start()
    assert inside.wait(timeout=10)
    return worker, release, seen


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    def body(inside, release, seen):
        with dt.no_grad():
            seen.append(records())
            inside.set()
            release.wait(timeout=10)
            seen.append(records())

    worker, release, seen = run_in_worker(body)
    try:
        x = dt.tensor([1.0], requires_grad=True)
        y = x * 2  # recorded while the worker sits inside no_grad
        assert dt.is_grad_enabled() and y.requires_grad and y.grad_fn is not None
    finally:
        release.set()
        worker.join(timeout=10)
    assert seen == [False, False]  # and the main thread's mode did not leak into the worker's either
    y.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_a_new_thread_starts_with_grad_enabled():
    seen = []
    with dt.no_grad():
        worker = threading.Thread(target=lambda: seen.append((dt.is_grad_enabled(), records())))
        worker.start()
        worker.join(timeout=10)
        assert not dt.is_grad_enabled()
    assert seen == [(True, True)]


def test_grad_mode_is_per_thread_as_in_torch():
    torch = pytest.importorskip("torch")

    def observe(lib):
        def body(inside, release, seen):
            with lib.no_grad():
                inside.set()
                release.wait(timeout=10)
                seen.append(lib.is_grad_enabled())

        worker, release, seen = run_in_worker(body)
        main = lib.is_grad_enabled()
        with lib.no_grad():
            fresh = []
            thread = threading.Thread(target=lambda: fresh.append(lib.is_grad_enabled()))
            thread.start()
            thread.join(timeout=10)
        release.set()
        worker.join(timeout=10)
        return main, seen, fresh

    assert observe(dt) == observe(torch) == (True, [False], [True])


def test_bare_decorators():
    @dt.no_grad
    def off(t):
        return t * 2

    @dt.inference_mode
    def infer(t):
        return t * 2

    @dt.enable_grad
    def on():
        return records()

    x = dt.tensor([1.0], requires_grad=True)
    assert (off.__name__, infer.__name__, on.__name__) == ("off", "infer", "on")
    assert not off(x).requires_grad and not infer(x).requires_grad
    with dt.no_grad():
        assert on()
        assert not records()
    assert records()


def test_bare_decorators_as_in_torch():
    torch = pytest.importorskip("torch")

    def observe(lib):
        @lib.no_grad
        def off():
            return lib.is_grad_enabled()

        @lib.inference_mode
        def infer():
            return lib.is_grad_enabled()

        @lib.enable_grad
        def on():
            return lib.is_grad_enabled()

        with lib.no_grad():
            inner = on()
        return off(), infer(), inner, lib.is_grad_enabled()

    assert observe(dt) == observe(torch) == (False, False, True, True)


def test_decorated_generators_run_their_body_in_the_mode():
    x = dt.tensor([1.0, 2.0], requires_grad=True)

    @dt.no_grad()
    def scaled(t):
        for k in range(3):
            assert not dt.is_grad_enabled()
            yield t * k

    @dt.no_grad
    def bare(t):
        yield t * 2

    @dt.inference_mode
    def inferred(t):
        yield t * 2

    @dt.set_grad_enabled(False)
    def switched_off(t):
        yield t * 2

    assert scaled.__name__ == "scaled"
    for gen in (scaled(x), bare(x), inferred(x), switched_off(x)):
        for y in gen:
            assert not y.requires_grad and y.grad_fn is None
            assert records()  # the caller's own mode between resumes
    assert records()

    @dt.enable_grad()
    def recorded(t):
        yield t * 2

    with dt.no_grad():
        for y in recorded(x):
            assert y.requires_grad and not records()


def test_decorated_generator_send_throw_close_and_return():
    events = []

    @dt.no_grad()
    def echo():
        try:
            received = yield "ready"
            while received is not None:
                events.append(("sent", received, dt.is_grad_enabled()))
                received = yield received * 2
            return "done"
        except KeyError:
            events.append(("thrown", dt.is_grad_enabled()))
            yield "recovered"
        finally:
            events.append(("finally", dt.is_grad_enabled()))

    gen = echo()
    assert next(gen) == "ready" and gen.send(3) == 6 and dt.is_grad_enabled()
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert stop.value.value == "done" and dt.is_grad_enabled()

    gen = echo()
    next(gen)
    assert gen.throw(KeyError("k")) == "recovered" and dt.is_grad_enabled()
    gen.close()
    assert dt.is_grad_enabled()
    assert events == [("sent", 3, False), ("finally", False), ("thrown", False), ("finally", False)]

    gen = echo()
    next(gen)
    with pytest.raises(ValueError):
        gen.throw(ValueError("not caught"))
    assert dt.is_grad_enabled() and events[-1] == ("finally", False)


def test_decorated_generators_as_in_torch():
    torch = pytest.importorskip("torch")

    def observe(lib):
        seen = []

        @lib.no_grad()
        def gen():
            seen.append(("body", lib.is_grad_enabled()))
            received = yield 1
            seen.append(("sent", received, lib.is_grad_enabled()))
            try:
                yield 2
            except KeyError:
                seen.append(("thrown", lib.is_grad_enabled()))
            return 3

        it = gen()
        seen.append(("caller", next(it), lib.is_grad_enabled()))
        seen.append(("caller", it.send("s"), lib.is_grad_enabled()))
        with pytest.raises(StopIteration) as stop:
            it.throw(KeyError("k"))
        seen.append(("returned", stop.value.value, lib.is_grad_enabled()))
        return seen

    assert observe(dt) == observe(torch)
