"""The command line, end to end in a subprocess, as a user runs it."""

import subprocess
import sys

import pytest


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
