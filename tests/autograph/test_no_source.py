"""Autograph where Python keeps no source: functions from `python -` (standard input, as at the interactive
prompt) or exec'd strings cannot be converted, and a traced if / while in them fails with an error that says
why and what to do; where the source is in linecache (IPython's and Jupyter's cells, exec'd code whose caller
registered it) they are converted as functions in files are. Each test's function has a body of its own:
autograph caches conversions by code object, and equal code compiled from two names compares equal."""

import linecache
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualtape as dt


def defined(src: str, filename: str, register: bool):
    """The function `f` that src defines, compiled under filename, its source in linecache or not."""
    src = textwrap.dedent(src)
    if register:
        linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)
    namespace: dict = {}
    exec(compile(src, filename, "exec"), namespace)  # noqa: S102
    return namespace["f"]


def test_python_minus_names_the_missing_source_and_the_fixes():
    script = textwrap.dedent("""
        import dualtape as dt

        def f(x):
            if x > 0:
                y = x * 3.0
            else:
                y = -x
            return y

        try:
            dt.grad(f)(1.0)
        except dt.ConcretizationError as e:
            print(e)
        """)
    result = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120,
                            env=os.environ)
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert "at <stdin>:5 in f" in message
    assert "cause: autograph could not rewrite f's if / while / for" in message
    assert "its source is not available" in message and "standard input (`python -`)" in message
    assert "fix: define f in a .py file" in message and "dt.cond" in message and "dt.while_loop" in message


def test_exec_without_registered_source_names_exec_and_linecache():
    f = defined("""
        def f(x):
            while x.sum() < 10.0:
                x = x * 2.5
            return x
        """, "<generated model>", register=False)
    with pytest.raises(dt.ConcretizationError) as info:
        dt.jit(f)(np.ones(2))
    message = str(info.value)
    assert "Python bool" in message and "at <generated model>:3 in f" in message
    assert "exec() or compile() with the name '<generated model>'" in message and "not registered in linecache" \
        in message
    assert "linecache.cache[name] = (len(src), None, src.splitlines(True), name)" in message
    assert "dt.while_loop / dt.fori_loop" in message


def test_exec_with_registered_source_is_converted():
    f = defined("""
        def f(x):
            if x > 0:
                y = x * 4.0
            else:
                y = x * -5.0
            return y
        """, "<registered cell>", register=True)
    assert dt.grad(f)(1.0) == 4.0 and dt.grad(f)(-1.0) == -5.0
    fast = dt.jit(f)
    assert fast(2.0) == 8.0 and fast(-2.0) == 10.0 and fast.trace_count == 1  # one trace, both branches
    assert "ag__.if_stmt" in dt.autograph_source(f)


@pytest.mark.parametrize("filename, factor", [
    ("<ipython-input-3-5b2c0a1f9d7e>", 6.0),  # IPython's terminal
    ("/tmp/ipykernel_48213/2871739044.py", 7.0),  # a Jupyter kernel: a file name that is not on disk
])
def test_ipython_and_jupyter_cells_are_converted(filename, factor):
    f = defined(f"""
        def f(x):
            total = x * 0.0
            for i in range(3):
                if x[i] > 0:
                    total = total + x * {factor}
            return total.sum()
        """, filename, register=True)
    x = np.array([1.0, -2.0, 3.0])
    assert np.allclose(dt.grad(f)(x), [2 * factor] * 3)  # two positive entries, each adding x * factor
    assert dt.jit(f)(x) == 2 * factor * x.sum()


def test_without_source_a_function_without_traced_control_flow_still_runs():
    f = defined("""
        def f(x):
            return (x * 8.0).sum() if x.ndim == 1 else x
        """, "<string>", register=False)
    assert np.allclose(dt.grad(f)(np.ones(2)), [8.0, 8.0])


def test_autograph_source_says_why_it_cannot_read_the_source():
    f = defined("""
        def f(x):
            return x * 9.0
        """, "<stdin>", register=False)
    with pytest.raises(ValueError, match=r"interactive prompt or read from standard input"):
        dt.autograph_source(f)


def test_a_function_with_source_and_autograph_off_gets_no_source_cause():
    def f(x):
        if x > 0:
            x = x * 11.0
        return x

    with pytest.raises(dt.ConcretizationError) as info:
        dt.jit(f, autograph=False)(1.0)
    assert "cause:" not in str(info.value) and "dt.cond" in str(info.value)
