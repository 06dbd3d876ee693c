"""Tracing state is per thread: threads that trace at once never record into each other's programs, and the
compile caches fill once per signature whichever thread calls first. Every result is compared exactly."""

import threading

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp

X = np.linspace(0.1, 1.0, 5)
THREADS = 8


def loss(x):
    y = x
    for _ in range(20):
        y = dnp.sin(y) * x + 0.1
    return dnp.sum(y * y)


def run_together(work, n=THREADS):
    """Run work(k) in n threads released at once; returns the exceptions they raised."""
    barrier, errors = threading.Barrier(n), []

    def run(k):
        try:
            barrier.wait()
            work(k)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_a_trace_paused_in_one_thread_does_not_capture_another_threads_ops():
    """B starts tracing, then A starts (a higher level) and pauses inside its function; B's ops must still be
    recorded by B's own trace, and A's program must hold only A's ops."""
    b_started, a_started, b_done = threading.Event(), threading.Event(), threading.Event()
    results = {}

    def traced_by_a(x):
        y = dnp.cos(x)
        a_started.set()
        b_done.wait(10)
        return dnp.sum(y)

    def traced_by_b(x):
        b_started.set()
        a_started.wait(10)
        return dnp.sum(dnp.exp(x) * x)

    def thread_a():
        b_started.wait(10)
        results["a"] = dt.trace(traced_by_a)(X)

    def thread_b():
        results["b"] = dt.grad(traced_by_b)(X)
        b_done.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(results["b"], dt.grad(traced_by_b)(X))
    np.testing.assert_allclose(results["b"], np.exp(X) * (1 + X))
    assert [e.prim.name for e in results["a"].eqns] == ["cos", "reduce_sum"]


def test_fresh_transforms_in_many_threads_give_exact_results():
    expected_grad = dt.grad(loss)(X)
    expected_jvp = dt.jvp(loss, (X,), (np.ones_like(X),))
    wrong = []

    def work(k):
        for i in range(6):
            g = dt.grad(loss)(X)
            if type(g) is not np.ndarray or not np.array_equal(g, expected_grad):
                wrong.append(("grad", k, i, g))
            out = dt.jvp(loss, (X,), (np.ones_like(X),))
            if out[0] != expected_jvp[0] or out[1] != expected_jvp[1]:
                wrong.append(("jvp", k, i, out))

    assert run_together(work) == []
    assert wrong == []


def test_one_jitted_gradient_called_first_from_many_threads_traces_once():
    expected = dt.grad(loss)(X)
    fast = dt.jit(dt.grad(loss))
    wrong = []

    def work(k):
        for i in range(10):
            g = fast(X)
            if type(g) is not np.ndarray or not np.array_equal(g, expected):
                wrong.append((k, i, g))

    assert run_together(work) == []
    assert wrong == []
    assert fast.trace_count == 1 and fast.cache_size == 1


def test_eager_ops_in_one_thread_stay_eager_while_another_thread_traces():
    """dt.compile lifts the tensors that eager code reads into its program: only in its own thread."""
    paused, resume = threading.Event(), threading.Event()
    seen = {}

    @dt.compile
    def slow(w):
        paused.set()
        resume.wait(10)
        return (w * w).sum()

    def tracer_thread():
        w = dt.tensor(X, requires_grad=True)
        slow(w).backward()
        seen["grad"] = w.grad.numpy()

    t = threading.Thread(target=tracer_thread)
    t.start()
    paused.wait(10)
    try:
        seen["plain"] = dnp.sin(X) + 1.0
        w = dt.tensor(X, requires_grad=True)
        (w * w).sum().backward()
        seen["eager"] = w.grad.numpy()
    finally:
        resume.set()
        t.join()
    assert type(seen["plain"]) is np.ndarray
    np.testing.assert_array_equal(seen["plain"], np.sin(X) + 1.0)
    np.testing.assert_array_equal(seen["eager"], 2 * X)
    np.testing.assert_array_equal(seen["grad"], 2 * X)
