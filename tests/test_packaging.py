"""Packaging: the py.typed marker ships (and type checkers see the public API's types), the MIT licence is
declared as PEP 639 asks, the classifiers and URLs say what the project is, and the docs, not a missing SPEC, are
where the package and the README point."""

import ast
import importlib.resources
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import dualtape as dt

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = pathlib.Path(dt.__file__).resolve().parent


@pytest.fixture(scope="module")
def project():
    tomllib = pytest.importorskip("tomllib")  # (Python 3.11+)
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_typed_marker_is_in_the_package_and_its_data():
    assert (importlib.resources.files("dualtape") / "py.typed").is_file()


def test_the_typed_marker_is_package_data(project):
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["dualtape"]


def test_the_licence_is_mit_as_pep_639_declares_it(project):
    meta = project["project"]
    assert meta["license"] == "MIT" and meta["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n") and "Copyright (c) the dualtape authors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    assert not [c for c in meta["classifiers"] if c.startswith("License ::")]  # (setuptools refuses both)


def test_the_classifiers_cover_the_python_versions_requires_python_claims(project):
    meta = project["project"]
    oldest = tuple(int(p) for p in re.fullmatch(r">=(\d+)\.(\d+)", meta["requires-python"]).groups())
    versions = sorted(tuple(int(p) for p in c.rsplit(" ", 1)[1].split("."))
                      for c in meta["classifiers"] if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    assert versions[0] == oldest and versions == [(3, minor) for minor in range(oldest[1], 15)]
    for wanted in ("Operating System :: OS Independent", "Topic :: Scientific/Engineering :: Mathematics",
                   "Intended Audience :: Science/Research", "Typing :: Typed"):
        assert wanted in meta["classifiers"]


def test_urls_version_and_extras(project):
    meta = project["project"]
    assert meta["urls"]["Documentation"] == "https://github.com/dualtape/dualtape/tree/main/docs"
    assert all(url.startswith("https://github.com/dualtape/dualtape") for url in meta["urls"].values())
    assert meta["version"] == dt.__version__
    assert meta["optional-dependencies"]["graphviz"] == ["graphviz"]


def test_the_package_and_readme_point_at_the_docs_not_a_spec():
    assert "docs/index.md" in dt.__doc__ and "SPEC" not in dt.__doc__
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "SPEC" not in readme and "(docs/index.md)" in readme and "(docs/jit.md)" in readme
    assert "(jit.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")


def test_no_user_visible_string_mentions_the_spec():
    """Docstrings and messages (every string constant) of the package; comments may cross-reference it."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "SPEC" in node.value:
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []


USER_SCRIPT = '''
import numpy as np

import dualtape as dt
import dualtape.numpy as dnp


def loss(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return dnp.sum(dnp.tanh(x @ w) ** 2)


w, x = np.ones(3), np.ones((2, 3))
g = dt.grad(loss)(w, x)
value, grads = dt.value_and_grad(loss, argnums=(0, 1))(w, x)
y, pullback = dt.vjp(loss, w, x)
out, tangent = dt.jvp(loss, (w, x), (w, x))
jacobian = dt.jacfwd(loss)(w, x) + dt.jacrev(loss, argnums=1)(w, x) + dt.hessian(loss)(w, x)


@dt.jit(static_argnums=1)
def scaled(v: np.ndarray, n: int) -> np.ndarray:
    return v * n


reveal_type(dt.grad(loss))
reveal_type(dt.jit(loss))
reveal_type(scaled)
reveal_type(dt.trace(loss)(w, x))
reveal_type(dt.source(loss, w, x))
print(g, value, grads, y, pullback(1.0), out, tangent, jacobian, scaled(w, 2), scaled.trace_count)
'''


def _mypy(tmp_path, script: str):
    pytest.importorskip("mypy")
    (tmp_path / "user.py").write_text(textwrap.dedent(script))
    return subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-error-summary",
                           "--cache-dir", str(tmp_path / "cache"), "user.py"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)


def test_mypy_sees_the_public_api_types(tmp_path):
    result = _mypy(tmp_path, USER_SCRIPT)
    notes = [line for line in result.stdout.splitlines() if "Revealed type" in line]
    assert result.returncode == 0 and len(notes) == 5, result.stdout
    assert [n.split('Revealed type is "', 1)[1].rstrip('"') for n in notes] == [
        "dualtape.api.staging.Jitted", "dualtape.api.staging.Jitted", "dualtape.api.staging.Jitted",
        "dualtape.core.ir.Program", "str"]


def test_mypy_flags_a_misused_transform(tmp_path):
    result = _mypy(tmp_path, '''
        import dualtape as dt

        gradient = dt.grad(lambda x: x, argnums="first")
        ''')
    assert result.returncode == 1 and 'Argument "argnums" to "grad" has incompatible type "str"' in result.stdout
