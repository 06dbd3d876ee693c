"""Compiling emitted source: linecache registration (inspect and tracebacks show the generated code) and
backend selection with clear errors."""

import importlib.util
import inspect
import linecache
import traceback

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
