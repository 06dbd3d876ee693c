"""Compiling emitted source: linecache registration (inspect and tracebacks show the generated code, for as
long as the code lives, and no longer) and backend selection with clear errors."""

import gc
import importlib.util
import inspect
import linecache
import traceback
import tracemalloc

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen.runtime import Compiled, array_module


def gather(x, i):
    picked = x[i]
    return dnp.exp(picked) * 2.0


def compiled_gather():
    return Compiled(dt.trace(gather)(np.ones(3), np.array([0, 1])), comments=False)


def test_compiled_function_computes_and_counts_outputs():
    compiled = compiled_gather()
    x = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(compiled(x, np.array([2, 0])), np.exp(x[[2, 0]]) * 2.0)
    assert compiled.n_outputs == 1 and compiled.fn.__name__ == "gather"


def test_generated_source_is_registered_with_linecache():
    compiled = compiled_gather()
    assert compiled.filename.startswith("<dualtape:gather#")
    assert compiled.fn.__code__.co_filename == compiled.filename
    assert "".join(linecache.getlines(compiled.filename)) == compiled.source
    assert inspect.getsource(compiled.fn) == compiled.source == """\
def gather(x, i):
    picked = x[i]
    a = xp.exp(picked)
    a *= 2.0
    return a
"""


def test_each_compilation_gets_its_own_file_name():
    assert compiled_gather().filename != compiled_gather().filename


def test_tracebacks_show_the_generated_line():
    f = dt.jit(gather)
    with pytest.raises(IndexError) as info:
        f(np.ones(3), np.array([5]))
    frames = [fr for fr in traceback.extract_tb(info.value.__traceback__) if fr.filename.startswith("<dualtape:")]
    assert len(frames) == 1
    assert frames[0].name == "gather" and frames[0].line == "picked = x[i]"
    assert linecache.getline(frames[0].filename, frames[0].lineno - 1).strip().endswith("picked = x[i]")  # comment
    shown = "".join(traceback.format_exception(info.value))
    assert "picked = x[i]" in shown


def test_the_generated_lines_live_as_long_as_the_code():
    compiled = compiled_gather()
    fn, filename = compiled.fn, compiled.filename
    del compiled
    gc.collect()
    assert inspect.getsource(fn).startswith("def gather(x, i):\n    picked = x[i]\n")
    del fn
    gc.collect()
    assert filename not in linecache.cache


def test_a_traceback_shows_the_generated_line_after_the_function_is_dropped():
    f = dt.jit(gather)
    try:
        f(np.ones(3), np.array([5]))
    except IndexError as e:
        error = e
    del f
    gc.collect()
    (frame,) = [fr for fr in traceback.extract_tb(error.__traceback__) if fr.filename.startswith("<dualtape:")]
    assert frame.line == "picked = x[i]" and "picked = x[i]" in "".join(traceback.format_exception(error))
    del error
    gc.collect()
    assert frame.filename not in linecache.cache


def small_mlp_loss(params, x, y):
    w1, b1, w2 = params
    return dnp.mean((dnp.tanh(x @ w1 + b1) @ w2 - y) ** 2)


def test_a_fresh_gradient_every_call_leaves_nothing_behind():
    """`dt.grad(loss)(params, x, y)` in a training loop builds and drops a function per call: neither
    linecache nor memory may grow with the number of calls (each once leaked its ~2 KB of source here).
    A leak grows in every window of calls; a one-off allocation in the process (a cache filling, a lazy
    import) lands in one, so the least growth of three windows is what is held per call."""
    rng = np.random.default_rng(0)
    args = ((rng.normal(size=(3, 4)), np.zeros(4), rng.normal(size=(4, 2))), rng.normal(size=(5, 3)),
            rng.normal(size=(5, 2)))
    calls = 100

    def generated():
        return sum(name.startswith("<dualtape:grad_small_mlp_loss#") for name in list(linecache.cache))

    tracemalloc.start(8)
    try:
        for _ in range(30):  # the first calls fill CPython's and NumPy's own caches
            dt.grad(small_mlp_loss)(*args)
        gc.collect()
        entries, windows = generated(), []
        for _ in range(3):
            before, start = tracemalloc.get_traced_memory()[0], tracemalloc.take_snapshot()
            for _ in range(calls):
                dt.grad(small_mlp_loss)(*args)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
            windows.append((grown / calls, tracemalloc.take_snapshot().compare_to(start, "traceback")[:3]))
    finally:
        tracemalloc.stop()
    assert generated() == entries == 0
    # what remains is bounded noise: tracemalloc keeps every file name it has seen in a frame (~75 B a call),
    # CPython's attribute cache holds recently looked-up names
    per_call, biggest = min(windows, key=lambda window: window[0])
    where = "\n".join(f"{stat.size_diff} B in {stat.count_diff} blocks at\n" + "\n".join(stat.traceback.format())
                      for stat in biggest)
    grown = [round(window[0]) for window in windows]
    assert per_call < 800, f"{per_call:.0f} bytes per call (windows: {grown}); grew most:\n{where}"


def test_numpy_backend_is_numpy():
    assert array_module("numpy") is np


def test_unknown_backend_is_a_value_error_listing_the_choices():
    with pytest.raises(ValueError, match=r"unknown backend 'torch'.*numpy.*cupy"):
        array_module("torch")
    with pytest.raises(ValueError, match="unknown backend"):
        dt.jit(gather, backend="torch")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_cupy_backend_without_cupy_says_how_to_install_it():
    with pytest.raises(dt.BackendError) as info:
        array_module("cupy")
    assert isinstance(info.value, ImportError)
    assert "pip install 'dualtape[cupy]'" in str(info.value)
    with pytest.raises(dt.BackendError, match="pip install"):
        dt.jit(gather, backend="cupy")  # fails at once, not at the first call
