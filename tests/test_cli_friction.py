"""The command line's rough edges, smoothed: `dualtape --version`; `dualtape show` on functions written with
tensor methods (its gradient check evaluates the traced program, not the function on bare arrays); `--dot
x.svg` without Graphviz prints everything else and a note; `dualtape bench --quick` says its numbers are rough,
and its results never show as untracked files in a git checkout."""

import inspect
import pathlib
import shutil
import subprocess
import sys

import pytest

import dualtape as dt
from dualtape.bench import report, runner
from dualtape.bench.result import Result, Table
from dualtape.cli import main
from testkit import d2l

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ---- --version -------------------------------------------------------------------------------------------
def test_version_end_to_end():
    result = subprocess.run([sys.executable, "-m", "dualtape", "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout == f"dualtape {dt.__version__}\n"


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"dualtape {dt.__version__}\n"


# ---- show: tensor methods, and --dot without Graphviz ------------------------------------------------------
TENSOR_STYLE = inspect.getsource(d2l) + '''
def methods(x):
    return (x.exp() * x.sin()).sum()
'''


@pytest.fixture
def in_process(capsys, tmp_path):
    """main() on a file of tensor-style functions; the modules and sys.path entries it adds removed after."""
    (tmp_path / "tensor_style.py").write_text(TENSOR_STYLE)
    modules, path = set(sys.modules), list(sys.path)

    def call(*args):
        status = main(list(args))
        return status, *capsys.readouterr()

    yield call
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path


def test_show_checks_a_function_with_tensor_methods_and_a_data_dependent_loop(in_process, tmp_path):
    status, out, err = in_process("show", f"{tmp_path / 'tensor_style.py'}:d2l", "--at", "[0.5, -1.0, 2.0]")
    assert status == 0, err
    assert "b_1:f64[3] = while_loop" in out and "= cond " in out
    assert "[[512.,   0.,   0.]," in out  # |2a| = 4.58: eight doublings reach 1173, so c = 2^9 a
    assert "gradcheck, reverse mode against central finite differences" in out and "-> ok" in out


def test_show_checks_exp_and_sin_methods_in_both_modes(in_process, tmp_path):
    status, out, err = in_process("show", f"{tmp_path / 'tensor_style.py'}:methods", "--at", "[0.5, -1.0]",
                                  "--mode", "both")
    assert status == 0, err
    assert out.count("-> ok") == 2


def test_show_without_graphviz_prints_everything_and_a_note(in_process, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    picture = tmp_path / "d2l.svg"
    status, out, err = in_process("show", f"{tmp_path / 'tensor_style.py'}:methods", "--at", "[0.5, -1.0]",
                                  "--dot", str(picture))
    assert status == 0 and err == ""
    assert f"note: no picture written to {picture}: drawing it needs Graphviz's `dot` program" in out
    assert f"`--dot {tmp_path / 'd2l.dot'}` writes the DOT text" in out
    assert "program methods(x:f64[2]):" in out and "def grad_methods(x):" in out and "-> ok" in out
    assert not picture.exists()


# ---- bench: --quick says so; results stay out of git's way --------------------------------------------------
def _tiny(settings):
    """A stand-in workload: one table, instantly."""
    return Result("tiny", "a stand-in workload", tables=[Table(["contender", "time"], [["dualtape", "1.00 us"]])])


@pytest.fixture
def tiny_suite(monkeypatch):
    monkeypatch.setitem(runner.WORKLOADS, "tiny", _tiny)


def test_quick_runs_say_their_numbers_are_rough(tiny_suite, tmp_path):
    import io

    stdout = io.StringIO()
    assert runner.main(quick=True, out=tmp_path, only=["tiny"], stdout=stdout, stderr=io.StringIO()) == 0
    said = stdout.getvalue()
    assert "Quick run (--quick): few rounds of short samples" in said and "10-100x off" in said
    markdown = next(tmp_path.glob("*-tiny-quick.md")).read_text()
    assert "**Quick run (`--quick`):**" in markdown and "compare and quote only full runs" in markdown


def test_full_runs_do_not_carry_the_quick_note(tiny_suite, tmp_path):
    import io

    stdout = io.StringIO()
    assert runner.main(quick=False, out=tmp_path, only=["tiny"], stdout=stdout, stderr=io.StringIO()) == 0
    assert "Quick run" not in stdout.getvalue()
    assert "Quick run" not in next(tmp_path.glob("*-tiny.md")).read_text()


def test_the_default_folder_ignores_itself_in_a_git_checkout(tiny_suite, tmp_path, monkeypatch):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    import io

    assert runner.main(quick=True, only=["tiny"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    folder = tmp_path / runner.OWN_FOLDER
    assert any(folder.glob("*-tiny-quick.md")) and (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    status = subprocess.run([git, "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True,
                            check=True, cwd=tmp_path)
    assert status.stdout == ""


def test_a_chosen_folder_is_left_as_the_user_made_it(tiny_suite, tmp_path):
    import io

    assert runner.main(quick=True, out=tmp_path / "mine", only=["tiny"], stdout=io.StringIO(),
                       stderr=io.StringIO()) == 0
    assert not (tmp_path / "mine" / ".gitignore").exists()


def test_this_checkout_ignores_new_results_in_benchmarks_results():
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    new = ["benchmarks/results/2099-01-01-x86_64-suite.md", "benchmarks/results/2099-01-01-x86_64-suite.json",
           "benchmarks/results/2099-01-01-x86_64-suite-grad_over_f.png", "dualtape-bench-results/a.md"]
    ignored = subprocess.run([git, "check-ignore", *new], capture_output=True, text=True, cwd=ROOT)
    assert ignored.stdout.split() == new
    kept = subprocess.run([git, "check-ignore", "benchmarks/results/README.md"], capture_output=True, cwd=ROOT)
    assert kept.returncode == 1  # (not ignored)


def test_results_and_tables_render_as_markdown_in_notebooks():
    result = _tiny(None)
    text = result._repr_markdown_()
    assert text == report.workload_markdown(__import__("dataclasses").asdict(result))
    assert text.startswith("## tiny: a stand-in workload") and "| dualtape | 1.00 us |" in text
    table = Table(["case", "ratio (target <= 3)"], [["a", "2.00"]], title="ratios")
    assert table._repr_markdown_() == "ratios:\n\n| case | ratio (target <= 3) |\n|---|---|\n| a | 2.00 met |"
