"""The import direction of ARCHITECTURE.md: every module imports only from its own layer or layers below."""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "dualtape"

# Lowest first. A module may import modules of its own rank or lower, never higher.
LAYERS = [
    ("_util", "errors", "config"),
    ("tree",),
    ("avals",),
    ("core", "core.primitive"),
    ("core.ir",),
    ("core.trace",),
    ("ops",),
    ("numpy",),
    ("transforms",),
    ("control",),
    ("codegen",),
    ("autograph",),
    ("api",),
    ("eager",),
    ("autograd", "nn", "optim", "compile", "viz"),
    ("examples", "bench"),
    ("cli", "__main__", "__init__"),
]


def rank(module: str) -> int:
    """The layer of a dotted module path relative to the package ('core.ir', 'numpy.methods', ...)."""
    for i, names in enumerate(LAYERS):
        if module in names:
            return i
    for i, names in enumerate(LAYERS):
        if any(module.startswith(name + ".") for name in names):
            return i
    raise AssertionError(f"module {module!r} is not placed in a layer of tests/test_architecture.py")


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
            found.append(f"{me} (line {line}) imports {target}, a higher layer; see ARCHITECTURE.md")
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
