"""The layer map of docs/internals.md, enforced: every module imports only from its own layer or layers below,
every module is placed in a layer, and no file is longer than the limit. The map is read from the document's
`layers` block, so what is written there is exactly what is checked."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dualtape"
MAP = ROOT / "docs" / "internals.md"
MAX_LINES = 400  # a file longer than this has two jobs: split it (no exceptions)


def read_layers(text: str) -> list[tuple[str, ...]]:
    """The layers of the one ```layers block in text, lowest first: one line per layer, its module names (dotted,
    relative to the package) separated by spaces."""
    found = re.findall(r"^```layers\n(.*?)^```", text, re.S | re.M)
    assert len(found) == 1, f"{MAP.name} must hold exactly one ```layers block, found {len(found)}"
    return [tuple(line.split()) for line in found[0].splitlines() if line.strip()]


# Lowest first. A module may import modules of its own rank or lower, never higher.
LAYERS = read_layers(MAP.read_text(encoding="utf-8"))


def rank(module: str) -> int:
    """The layer of a dotted module path relative to the package ('core.ir', 'numpy.methods', ...)."""
    for i, names in enumerate(LAYERS):
        if module in names:
            return i
    for i, names in enumerate(LAYERS):
        if any(module.startswith(name + ".") for name in names):
            return i
    raise AssertionError(f"module {module!r} is not placed in a layer of docs/internals.md")


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(me: str, is_package: bool, text: str):
    """Package-relative names of the dualtape modules that module `me` imports (relative or absolute)."""
    here = me.split(".")
    package = here if is_package else here[:-1]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [".".join(base + [a.name]) for a in node.names]
            elif node.module and node.module.startswith("dualtape"):
                names = [node.module[len("dualtape."):] if node.module != "dualtape" else "__init__"]
            else:
                continue
            for name in names:
                yield name.strip(".") or "__init__", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dualtape."):
                    yield alias.name[len("dualtape."):], node.lineno


def upward_imports(me: str, is_package: bool, text: str) -> list[str]:
    found = []
    for target, line in imported_modules(me, is_package, text):
        if target == "__init__":
            found.append(f"{me} (line {line}) imports the package root; import the module it needs")
        elif rank(target) > rank(me):
            found.append(f"{me} (line {line}) imports {target}, a higher layer; see docs/internals.md")
    return found


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_point_down(path):
    me = module_name(path)
    if me == "__init__":
        return  # the package root re-exports everything
    assert upward_imports(me, path.name == "__init__.py", path.read_text()) == []


def test_layer_table_knows_every_module():
    for path in MODULES:
        rank(module_name(path))


def test_a_violation_is_detected():
    """The checker itself: upward imports (relative and absolute) in core are reported; downward are not."""
    text = "from ..api import jit\nimport dualtape.codegen.emit\nfrom ..avals import aval_of\n"
    found = upward_imports("core.trace", False, text)
    assert len(found) == 2 and "api" in found[0] and "codegen.emit" in found[1]


def test_every_layer_names_a_module():
    """The map lists no module that does not exist, and none twice."""
    names = [name for layer in LAYERS for name in layer]
    assert len(names) == len(set(names)), "a module is placed in two layers of docs/internals.md"
    for name in names:
        path = SRC.joinpath(*name.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), (
            f"docs/internals.md places {name!r} in a layer, but src/dualtape has no such module")


def oversized(paths, limit: int = MAX_LINES) -> list[str]:
    """'path: n lines' for each file longer than limit."""
    found = []
    for path in paths:
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {n} lines")
    return found


def test_no_file_is_over_the_limit():
    found = oversized(MODULES)
    assert not found, f"files over {MAX_LINES} lines (split each by its jobs): {', '.join(found)}"


def test_the_checks_catch_a_long_file_and_read_a_layer_map(tmp_path):
    long, short = tmp_path / "long.py", tmp_path / "short.py"
    long.write_text("x = 1\n" * (MAX_LINES + 1))
    short.write_text("x = 1\n" * MAX_LINES)
    assert oversized([long, short]) == [f"{long}: {MAX_LINES + 1} lines"]
    text = "prose\n```layers\n_util errors\n\ncore core.primitive\n```\n```python\nx = 1\n```\n"
    assert read_layers(text) == [("_util", "errors"), ("core", "core.primitive")]
