"""The command line, end to end in a subprocess, as a user runs it."""

import re
import subprocess
import sys

import pytest

from dualtape.cli import main


def run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "dualtape", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_demo_runs_and_shows_the_pipeline():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "program mlp_loss(W1:f32[4,8]" in out  # the IR listing
    assert "def mlp_loss(W1, b1, W2, x, labels):" in out  # the generated source
    assert "hidden = xp.tanh(" in out  # user variable names survive into the source
    assert "equal: True" in out
    assert "def grad_mlp_loss(W1, b1, W2, x, labels):" in out and "W1_bar = " in out  # the adjoint program
    assert "gradient check against central finite differences" in out and "-> ok" in out
    assert "jacfwd (us)" in out and "reverse" in out


def test_demo_banners_fit_the_ruler_and_the_timing_says_what_it_compares():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    banners = [line for line in lines if line.startswith("== ")]
    assert [b[3:5] for b in banners] == ["1.", "2.", "3.", "4.", "5."]
    assert all(len(b) == 76 and re.fullmatch(r"== \S.* ={2,}", b) for b in banners), banners  # whole, ruled
    out = result.stdout
    assert "best of 7 interleaved rounds" in out
    assert "compiled (dt.jit runs the source above)" in out and "eager (each dnp call dispatched" in out
    assert "x faster than eager" in out or "x slower than eager" in out  # in words, not a bare "(0.8x)"


def test_banner_wraps_a_long_title_and_keeps_the_ruler(capsys):
    from dualtape.cli.demo import banner

    title = "forward mode: dt.jvp(a_long_function_name, (alpha, beta, gamma), (alpha_dot, beta_dot, gamma_dot))"
    banner(title)
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 2 and lines[0].startswith("== ") and lines[1].startswith("   ")
    assert all(len(line) <= 76 for line in lines) and len(lines[-1]) == 76 and re.search(r"\) ={2,}$", lines[-1])
    assert " ".join(line[3:] for line in lines).rstrip("= ") == title
    banner("IR: dt.trace(f)")
    assert capsys.readouterr().out == "\n== IR: dt.trace(f) " + "=" * 57 + "\n"


def test_demo_speedup_is_said_in_words():
    from dualtape.cli.demo import speedup

    assert speedup(50e-6, 100e-6) == "2.0x faster than"
    assert speedup(100e-6, 80e-6) == "1.2x slower than"


def test_no_command_prints_help_and_fails():
    result = run()
    assert result.returncode == 2
    assert "demo" in result.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(flag):
    result = run(flag)
    assert result.returncode == 0
    assert "dualtape" in result.stdout and "demo" in result.stdout


def test_unknown_command_is_an_error():
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


# ---- dualtape show ------------------------------------------------------------------------------------------
MODEL = '''
import dualtape as dt
import dualtape.numpy as dnp
from helpers import twice  # a module beside this file


def f(x, y):
    return dnp.sin(x) * y + x ** 2


def layer(x):
    return twice(dnp.tanh(x))


def shapes(x, y):
    return dnp.matmul(x, y)


@dt.custom_jvp
def bad_sin(x):
    return dnp.sin(x)


@bad_sin.defjvp
def bad_sin_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return dnp.sin(x), t * 3.0  # a wrong derivative, for the gradient check to catch
'''

FUNCS = '''
import dualtape.numpy as dnp


def sq(x):
    return x ** 2


def log_of(x):
    return dnp.log(x)


def raises(x):
    y = x * 2.0
    raise ValueError("boom")


def calls_nested(x):
    return nested(x) + 1.0


def nested(x):
    return x + int("zz")


def branchy(x):
    if x > 0:
        raise ValueError("positive")
    return x


class SomeClass:
    def __init__(self, x):
        self.x = x
'''


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("show")
    (folder / "helpers.py").write_text("def twice(v):\n    return v * 2.0\n")
    (folder / "model.py").write_text(MODEL)
    (folder / "broken.py").write_text("raise RuntimeError('broken at import')\n")
    (folder / "funcs.py").write_text(FUNCS)
    return folder


def show(model, target, *args):
    return run("show", f"{model / target}", *args)


def test_show_prints_the_ir_gradient_source_value_and_gradcheck(model):
    result = show(model, "model.py:f", "--at", "0.5, 2.0")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "f from " in out and "at x=0.5, y=2.0" in out
    assert "program f(x:f64[], y:f64[]):" in out and "a:f64[] = sin x" in out
    assert "dt.grad(f, argnums=(0, 1))" in out and "def grad_f(x, y):" in out and "x_bar = " in out
    assert "df/dx = 2.7551651237807455" in out and "df/dy = 0.479425538604203" in out  # 2 cos(.5) + 1, sin(.5)
    assert "gradcheck, reverse mode against central finite differences" in out and "-> ok" in out
    assert "jvp" not in out


def test_show_both_modes_of_a_vector_function(model):
    result = show(model, "model.py:layer", "--at", "[0.5, 1.5]", "--mode", "both")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "def jvp_layer(x, x_dot):" in out and "Jacobian by forward mode (dt.jacfwd)" in out
    assert "def vjp_layer(x, out_bar):" in out and "Jacobian by reverse mode (dt.jacrev)" in out
    assert out.count("[[1.57289547, 0.        ],\n [0.        , 0.36141328]]") == 2  # 2 (1 - tanh(x)^2)
    assert out.count("-> ok") == 2


def test_show_forward_mode_of_scalars(model):
    result = show(model, "model.py:f", "--at", "0.5, 2.0", "--mode", "fwd")
    assert result.returncode == 0, result.stderr
    assert "def jvp_f(x, y, x_dot, y_dot):" in result.stdout and "df/dx = 2.755165123780745" in result.stdout
    assert "gradcheck, forward mode" in result.stdout and "grad_f" not in result.stdout


@pytest.mark.parametrize("flags, shown, hidden", [
    (["--ir"], ["program f(x:f64[], y:f64[]):"], ["def grad_f", "df/dx", "gradcheck"]),
    (["--source"], ["def grad_f(x, y):"], ["program f(", "df/dx", "gradcheck"]),
    (["--ir", "--source"], ["program f(", "def grad_f(x, y):"], ["df/dx", "gradcheck"]),
])
def test_show_ir_and_source_select_what_is_printed(model, flags, shown, hidden):
    result = show(model, "model.py:f", "--at", "0.5, 2.0", *flags)
    assert result.returncode == 0, result.stderr
    assert all(s in result.stdout for s in shown) and not any(h in result.stdout for h in hidden)


def test_show_writes_dot_text(model, tmp_path):
    picture = tmp_path / "f.dot"
    result = show(model, "model.py:f", "--at", "0.5, 2.0", "--ir", "--dot", str(picture))
    assert result.returncode == 0, result.stderr
    assert f"wrote the picture of the program to {picture}" in result.stdout
    text = picture.read_text()
    assert text.startswith('digraph "f" {') and 'label="a = sin"' in text and 'label="x: f64[]"' in text


def test_show_fails_a_wrong_derivative_with_status_1(model):
    result = show(model, "model.py:bad_sin", "--at", "0.5")
    assert result.returncode == 1
    assert "dbad_sin/dx = 3.0" in result.stdout and "-> FAILED" in result.stdout


def test_show_help():
    result = run("show", "--help")
    assert result.returncode == 0
    for text in ("FILE.py:FUNC", "--at ARGS", "--mode {fwd,rev,both}", "--ir", "--source", "--dot PATH", "examples:"):
        assert text in result.stdout


@pytest.fixture
def in_process(capsys):
    """main() called here, the modules and sys.path entries it adds removed afterwards."""
    modules, path = set(sys.modules), list(sys.path)

    def call(*args):
        status = main(list(args))
        return status, *capsys.readouterr()

    yield call
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path


@pytest.mark.parametrize("target, at, message", [
    ("missing.py:f", "0.5", "missing.py: no such file"),
    ("model.py:g", "0.5", "has no function 'g'; it defines bad_sin_jvp, f, layer, shapes"),
    ("model.py", "0.5", "name the function as FILE.py:FUNC"),
    ("broken.py:f", "0.5", "importing {folder}/broken.py failed:\n  RuntimeError: broken at import"),
    ("model.py:f", "0.5, oops", "--at '0.5, oops': not Python literals separated by commas"),
    ("model.py:f", "0.5, 'a'", "--at: argument 2, 'a', is not a number or a rectangular list of numbers"),
    ("model.py:f", "[1.0, [2.0]], 1.0", "argument 1, [1.0, [2.0]], is not a number or a rectangular list"),
    ("model.py:f", "0.5", "--at gives 1 argument for f(x, y): missing a required argument: 'y'"),
    ("model.py:layer", "0.5, 1.0", "--at gives 2 arguments for layer(x): too many positional arguments"),
    ("model.py:shapes", "[1.0, 2.0, 3.0], [1.0, 2.0]",
     "tracing shapes at these arguments failed:\n  ShapeError: matmul: inner dimensions do not match"),
])
def test_show_errors_are_one_message_and_status_2(in_process, model, target, at, message):
    status, out, err = in_process("show", f"{model / target}", "--at", at)
    assert status == 2 and out == ""
    assert err.startswith("dualtape show: error: ") and message.format(folder=model) in err


def test_show_errors_end_to_end_have_no_traceback(model):
    result = show(model, "model.py:shapes", "--at", "[1.0, 2.0, 3.0], [1.0, 2.0]")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("dualtape show: error: tracing shapes at these arguments failed:")
    assert "at " in result.stderr and "fix: " in result.stderr  # dualtape's own message, whole
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("target, at, message", [
    ("funcs.py:sq", "1e400", "--at: argument 1 is not finite (inf)"),
    ("funcs.py:sq", "[1.0, -1e999]", "--at: argument 1 is not finite (-inf)"),
    ("model.py:f", "0.5, [1.0, 1e309]", "--at: argument 2 is not finite (inf)"),
    ("funcs.py:SomeClass", "1.0", "funcs.py: SomeClass is a class, not a function; it defines branchy, "),
])
def test_show_refuses_infinite_arguments_and_classes(in_process, model, target, at, message):
    status, out, err = in_process("show", f"{model / target}", "--at", at)
    assert status == 2 and out == ""
    assert err.startswith("dualtape show: error: ") and message in err


@pytest.mark.parametrize("target, message, line", [
    ("raises", "ValueError: boom", 'in raises: raise ValueError("boom")'),
    ("calls_nested", "ValueError: invalid literal for int()", "in nested: return x + int(\"zz\")"),
    ("branchy", "ValueError: positive", 'in branchy: raise ValueError("positive")'),  # (autograph-converted)
])
def test_show_says_where_the_function_raised(in_process, model, target, message, line):
    status, out, err = in_process("show", f"{model / 'funcs.py'}:{target}", "--at", "1.0")
    assert status == 2 and out == ""
    lines = FUNCS.splitlines()
    lineno = next(i for i, text in enumerate(lines, 1) if text.strip() == line.split(": ", 1)[1])
    assert f"tracing {target} at these arguments failed:\n  {message}" in err
    assert f"\n  at {model / 'funcs.py'}:{lineno} {line}" in err


def test_show_says_where_the_file_raised_at_import(in_process, model):
    status, _, err = in_process("show", f"{model / 'broken.py'}:f", "--at", "1.0")
    assert status == 2
    assert f"RuntimeError: broken at import\n  at {model / 'broken.py'}:1 in <module>: raise RuntimeError(" in err


def test_show_reports_a_nan_difference_as_nan_without_warnings(model):
    result = show(model, "funcs.py:log_of", "--at", "-1.0")  # log is not defined around -1
    assert result.returncode == 1
    assert "dlog_of/dx = -1.0" in result.stdout
    assert "largest |difference| nan (in dlog_of/dx) -> FAILED (a difference is nan" in result.stdout
    assert "0.0e+00" not in result.stdout
    assert result.stderr == ""  # no RuntimeWarning


@pytest.mark.parametrize("picture, said", [
    ("out.xyz", "unknown picture format 'xyz'"),
    ("out", "no suffix naming the picture format"),
])
def test_show_refuses_an_unknown_picture_format_naming_the_text_formats(in_process, model, tmp_path, picture,
                                                                        said):
    status, out, err = in_process("show", f"{model / 'model.py'}:f", "--at", "0.5, 2.0", "--dot",
                                  str(tmp_path / picture))
    assert status == 2 and out == ""  # refused before anything is printed
    assert said in err and ".dot, .gv (the DOT text, no Graphviz needed)" in err and ".svg, .png, .pdf" in err
    assert list(tmp_path.iterdir()) == []


def test_show_writes_gv_text(model, tmp_path):
    picture = tmp_path / "f.gv"
    result = show(model, "model.py:f", "--at", "0.5, 2.0", "--ir", "--dot", str(picture))
    assert result.returncode == 0, result.stderr
    assert picture.read_text().startswith('digraph "f" {')
